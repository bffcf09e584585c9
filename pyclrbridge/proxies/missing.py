"""What reading a name no proxy class defines gives: an extension method in scope, else the
AttributeError a missing name raises. :class:`ExtensionAttribute` is the attribute installed on
the proxies' root class (``base.ClrObject``) for each extension method name; the lookups are
registered by :mod:`.extensions` (and chained by pyclrbridge.compat)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _no_extension(obj: Any, name: str) -> Any:
    return None


def _no_extension_names(obj: Any) -> tuple[str, ...]:
    return ()


# Extension methods in scope (registered by proxies.extensions at import; written once).
_extension_lookup: Callable[[Any, str], Any] = _no_extension
_extension_names: Callable[[Any], tuple[str, ...]] = _no_extension_names


def install_extensions(lookup: Callable[[Any, str], Any], names: Callable[[Any], tuple[str, ...]]) -> None:
    """Registration from :mod:`.extensions`: ``lookup(obj, name)`` is ``obj.name`` as an
    extension method (or None); ``names(obj)`` lists those ``dir(obj)`` shows."""
    global _extension_lookup, _extension_names
    _extension_lookup, _extension_names = lookup, names


def missing_attribute(obj: Any, name: str, refusal: str | None = None) -> Any:
    """``obj.name`` once ordinary lookup found no member that answers: an extension method in
    scope, else AttributeError (``refusal``: a protected member's message). What a ``__getattr__``
    of a proxy class (dynamic objects, pyclrbridge.compat) and a refusing member call."""
    if name == "_as_parameter_":
        return 0  # the handle slot was never set (a signal landed before wrap set it)
    if name[:1] != "_":
        found = _extension_lookup(obj, name)
        if found is not None:
            return found
        if refusal is None:  # reached from a __getattr__: a protected member refused from outside says so
            for klass in type(obj).__mro__:
                member = klass.__dict__.get(name)
                if member is not None:
                    if hasattr(member, "__clr_hidden_from__"):
                        refusal = member.refusal()
                    break
    if refusal is not None:
        raise AttributeError(refusal, name=name, obj=obj)
    raise AttributeError(f"{type(obj).__name__!r} object has no attribute {name!r}", name=name, obj=obj)


class ExtensionAttribute:
    """The attribute ``name`` of every proxy, installed on ``base.ClrObject`` for each name an
    extension method of a loaded assembly has (see :mod:`.extensions` and
    ``base.install_extension_names``): reading it binds the extension in scope that fits the
    object, or raises the AttributeError a missing name raises. It sits on the root of every
    proxy class, so each .NET member of that name (on any class of the object's) comes first in
    the MRO and wins, as C# prefers instance members; a non-data descriptor, so an instance
    attribute of a Python subclass wins too. A class with a ``__getattr__`` of its own (dynamic
    objects) gets the name there, as before."""

    __slots__ = ("__name__",)
    __clr_class_only__ = True  # dir() lists the extensions that apply, not every name

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        name = self.__name__
        klass = type(obj) if obj is not None else cls
        if klass is not None:
            # A Python base after ClrObject in the MRO (class C(NetClass, Mixin)) is ordinary lookup's.
            later = _after_root(klass, name)
            if later is not _NOTHING:
                get = getattr(type(later), "__get__", None)
                return later if get is None else get(later, obj, klass)
        if obj is None:
            raise AttributeError(f"type object {getattr(cls, '__name__', '?')!r} has no attribute {name!r}", name=name)
        if getattr(klass, "__getattr__", None) is not None:
            raise AttributeError(name, name=name, obj=obj)  # the class's own __getattr__ decides
        return missing_attribute(obj, name)

    def __repr__(self) -> str:
        return f"<.NET extension method name {self.__name__!r}>"


_NOTHING = object()

#: The root of every proxy class, whose dict holds the ExtensionAttribute entries: base.ClrObject,
#: given by base as soon as it is made (install_root; written once at import, then read).
_root: type = object


def install_root(root: type) -> None:
    """Registration from :mod:`.base`: the proxies' root class (``ClrObject``)."""
    global _root
    _root = root


def _after_root(klass: type, name: str) -> Any:
    """``name`` in a class that follows ClrObject in ``klass``'s MRO (_NOTHING: none has it)."""
    mro = klass.__mro__
    try:
        start = mro.index(_root) + 1
    except ValueError:
        return _NOTHING
    for k in mro[start:]:
        if name in k.__dict__:
            return k.__dict__[name]
    return _NOTHING
