"""Base classes of every proxy: the metaclass, the object base, enums, and ``wrap``."""

from __future__ import annotations

import ctypes
import functools
import inspect
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..host.errors import ClrError
from ..host.locks import SignalSafeLock
from ..host.shim import Kind, Value
from ..values.objects import HandleOwner, handle_of
from . import exceptions as _exceptions
from .binder import arg_kind as _arg_kind
from .catalog import class_by_name, class_for, instantiate
from .construction import construct
from .member_errors import member_error

__all__ = [
    "ClassMember",
    "ClrEnum",
    "ClrError",
    "ClrMeta",
    "ClrObject",
    "enum_value",
    "handle_of",
    "install_derived",
    "release",
    "wrap",
]


def _no_derived(*args: Any) -> Any:
    raise RuntimeError("Python subclasses of .NET types are not installed (import pyclrbridge first)")


# How a Python class statement deriving from a .NET type emits its .NET type, and how a handle
# of such a type becomes the Python object itself: the callbacks layer installs them at package
# import (install_derived); module globals written once, then read.
_prepare_derived: Callable[[Any], None] = _no_derived
_adopt_derived: Callable[[int], Any] = _no_derived


def install_derived(prepare: Callable[[Any], None], adopt: Callable[[int], Any]) -> None:
    """Registration from the callbacks layer: Python classes deriving from .NET types."""
    global _prepare_derived, _adopt_derived
    _prepare_derived, _adopt_derived = prepare, adopt


class ClassMember:
    """Base of the descriptors that assigning on a class must not replace (properties, fields,
    events): ``Cls.Static = x`` sets a static member through .NET, an instance one is refused."""

    __slots__ = ()
    static: bool

    def set_static(self, value: Any) -> None:
        raise NotImplementedError


_UNSET = object()
# Per proxy class: its constructor group when ``Cls(...)`` with other than one positional
# argument is always a plain constructor call, else None. A pure memo (populated classes
# never change) published with setdefault.
_plain_ctors: dict[type, Any] = {}


def _plain_ctor(cls: Any) -> Any:
    """The constructor group ``construction.construct`` would call for ``cls`` whatever the
    arguments (other than exactly one positional), or None when another rule may apply."""
    d = cls.__dict__
    info = d.get("__clr_info__")
    if info is None or "__clr_derived__" in d or info.kind not in ("class", "struct") or issubclass(cls, BaseException):
        return None  # (an exception also keeps its constructor arguments: construction.construct)
    if info.generic_def or info.open or info.static or info.abstract:
        return None
    return d.get("__clr_ctor_group__")


def _refuse_rebinding(klass: type, name: str, verb: str) -> None:
    """A member of a .NET class itself (an enum value, a method group, a nested type) cannot be
    rebound or deleted: it would change the type for every user. Python subclasses' own
    attributes, and attributes a user added, stay free."""
    member = klass.__dict__[name]
    bridged = isinstance(member, (ClrEnum, ClrMeta)) or type(member).__module__.startswith("pyclrbridge.")
    # A protocol member the bridge gave the class (__getitem__ of an indexer, __len__...): deleting
    # it would break every instance too.
    protocol = (
        verb == "delete"
        and name.startswith("__")
        and name.endswith("__")
        and str(getattr(member, "__module__", "")).startswith("pyclrbridge.")
    )
    if klass.__dict__.get("__clr_type_id__") and (protocol or (not name.startswith("_") and bridged)):
        raise member_error(
            f"cannot {verb} {klass.__dict__.get('__clr_name__', klass.__name__)}.{name}: "
            "it is a member of the .NET type"
        )


class _FixedClass:
    """``__class__`` on instances of a Python class deriving from .NET: read as usual, never
    reassigned. .NET holds such an instance as an object of the class's emitted type, which
    lives only while the Python class does; ``a.__class__ = B`` would let that class die
    while .NET still calls into ``a`` (and make ``a`` claim a .NET type it is not)."""

    __slots__ = ()

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        return type(obj) if obj is not None else cls

    def __set__(self, obj: Any, value: Any) -> None:
        raise TypeError(
            f"cannot change the class of a {type(obj).__qualname__} instance: it is a .NET object of "
            f"the type emitted for its class, which .NET may still hold"
        )

    def __delete__(self, obj: Any) -> None:
        self.__set__(obj, None)


_FIXED_CLASS = _FixedClass()


def _member(klass: type, name: str) -> Any:
    """The .NET member ``name`` of ``klass``: its Python descriptor, even once something else
    took its place in the class dict (``__clr_members__``: a constant's value, see
    properties.Property._freeze, or a native member, see proxies.native)."""
    d = klass.__dict__
    replaced = d.get("__clr_members__")
    if replaced is not None and name in replaced:
        return replaced[name]
    return d.get(name)


#: ClrMeta's blank-instance makers: each resolves only on the classes it fits (reading one
#: elsewhere raises TypeError), so they are left out of ``dir()`` of the metaclass, which
#: completers walk (rlcompleter offers every name it lists and stops at the first that raises).
_BLANK_MAKERS = frozenset({"__clr_blank__", "__clr_blank_error__", "__clr_blank_oserror__"})


class _ClrMetaType(type):
    """The type of :class:`ClrMeta`: its ``dir()`` leaves out :data:`_BLANK_MAKERS`."""

    def __dir__(cls) -> list[str]:
        return [name for name in super().__dir__() if name not in _BLANK_MAKERS]


class ClrMeta(type, metaclass=_ClrMetaType):
    """Metaclass of every proxy class: ``isinstance``/``issubclass`` follow .NET, ``cls[...]``
    instantiates generics, calling the class constructs (or casts to an interface)."""

    __clr_type_id__: int
    __clr_name__: str
    __clr_info__: Any

    #: A new instance with an empty handle slot, made by reading this attribute of the class:
    #: the property calls ``object.__new__`` from C, and an attribute read checks for no signals
    #: where a call's return does. So a proxy made this way has its slot set before anything
    #: checks for signals (:func:`wrap_value`). (One dropped with an empty slot anyway, by a
    #: failed construction, is freed silently: see :func:`install_finalizer`.)
    __clr_blank__ = property(object.__new__)
    #: The same for a .NET exception class (a Python exception): ``BaseException.__new__``,
    #: or ``OSError.__new__`` for one that is also an OSError.
    __clr_blank_error__ = property(BaseException.__new__)
    __clr_blank_oserror__ = property(OSError.__new__)

    def __instancecheck__(cls, obj: Any) -> bool:
        t = type(obj)
        if t is cls or cls in t.__mro__:
            return True
        tid = getattr(t, "__clr_type_id__", 0)
        mine = cls.__dict__.get("__clr_type_id__", 0)
        return bool(tid and mine) and _typeinfo.assignable(mine, tid) == 1

    def __subclasscheck__(cls, sub: Any) -> bool:
        if not isinstance(sub, type):
            raise TypeError("issubclass() arg 1 must be a class")
        if cls in sub.__mro__:
            return True
        tid = sub.__dict__.get("__clr_type_id__", 0) if isinstance(sub, ClrMeta) else 0
        mine = cls.__dict__.get("__clr_type_id__", 0)
        return bool(tid and mine) and _typeinfo.assignable(mine, tid) == 1

    def __getitem__(cls, args: Any) -> Any:
        if isinstance(args, str) and issubclass(cls, ClrEnum):
            return _enum_member(cls, args)  # Color["Green"], like a Python Enum
        return instantiate(cls, args if isinstance(args, tuple) else (args,))

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        if "__clr_info__" not in namespace and any(isinstance(b, ClrMeta) for b in bases):
            namespace["__class__"] = _FIXED_CLASS  # a Python class deriving from .NET (see __init__)
        return super().__new__(mcls, name, bases, namespace, **kwargs)

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(name, bases, namespace, **kwargs)
        if (
            "__clr_info__" not in namespace
            and not issubclass(cls, BaseException)
            and any(isinstance(b, ClrMeta) and getattr(b, "__clr_type_id__", 0) for b in bases)
        ):
            # A class statement deriving from a .NET class or interface: emit its .NET type.
            _prepare_derived(cls)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) != 1 or kwargs:  # the hot path: a plain constructor call (see _plain_ctor)
            group = _plain_ctors.get(cls, _UNSET)
            if group is _UNSET and "__clr_ctors__" in cls.__dict__:  # the class is populated
                group = _plain_ctor(cls)
                if "__clr_mentions__" not in cls.__dict__:  # (such a class must stay free to die)
                    group = _plain_ctors.setdefault(cls, group)
            if group is not None and group is not _UNSET:
                if not kwargs:  # the constructor invoker for these argument kinds, as group.call does
                    kinds = () if not args else tuple(map(_arg_kind, args))
                    run = group._static_invokers.get(kinds)
                    if run is not None:
                        return run(0, args)
                return group.call(None, args, kwargs)
        if len(args) == 1 and not kwargs and issubclass(cls, ClrEnum) and cls.__dict__.get("__clr_type_id__"):
            return _enum_from(cls, args[0])  # Color(1), Perms(3), Color("Green")
        derived = cls.__dict__.get("__clr_derived__")
        if derived is not None:
            return derived.construct(cls, args, kwargs)
        return construct(cls, args, kwargs)

    # A class is not iterable (only an enum class is: ClrEnumMeta), though cls[...] exists for
    # generics: None stops iter() from falling back to __getitem__, and Iterable from claiming it.
    __iter__ = None

    def __setattr__(cls, name: str, value: Any) -> None:
        for klass in cls.__mro__:
            member = _member(klass, name)
            if isinstance(member, ClassMember):
                if member.static:
                    set_on = getattr(member, "set_static_on", None)  # protected: depends on the class
                    if set_on is not None:
                        set_on(cls, value)
                    else:
                        member.set_static(value)
                    return
                # Assigning would replace the descriptor and break every instance.
                raise member_error(f"{member!r} is an instance member: set it on an object, not on the class")
            if member is not None:
                _refuse_rebinding(klass, name, "assign")
                break
        super().__setattr__(name, value)

    def __delattr__(cls, name: str) -> None:
        for klass in cls.__mro__:
            member = _member(klass, name)
            if member is not None:
                if isinstance(member, ClassMember):
                    raise member_error(f"cannot delete {member!r}: .NET members stay for the life of the process")
                _refuse_rebinding(klass, name, "delete")
                break
        super().__delattr__(name)

    def __repr__(cls) -> str:
        kind = cls.__dict__.get("__clr_kind__", "type")
        return f"<.NET {kind} {cls.__dict__.get('__clr_name__', cls.__name__)}>"

    def __dir__(cls) -> list[str]:
        # .NET members plus Python's own dunders; never the bridge's internals (__clr_*, _h), nor
        # protected members the class cannot reach: a completer (rlcompleter) offers an object
        # every name its class lists, so each must work on the class's objects too.
        found: dict[str, Any] = {}
        for k in cls.__mro__:
            for n, v in k.__dict__.items():
                if not n.startswith("_") and type(v) is not ExtensionAttribute:  # no class has those
                    found.setdefault(n, v)  # the member attribute lookup finds: the first in the MRO
        return sorted(
            {n for n, v in found.items() if not _hidden_from(v, cls)}
            | {n for n in type.__dir__(cls) if n.startswith("__") and n.endswith("__") and not n.startswith("__clr")}
        )


def _hidden_from(member: Any, cls: type) -> bool:
    """Whether ``member`` is a protected .NET member that ``cls`` and its objects cannot reach."""
    hidden = getattr(type(member), "__clr_hidden_from__", None)
    return hidden is not None and bool(hidden(member, cls))


# help(SomeClass) and inspect.signature(SomeClass) show "(*args, **kwargs)": any arguments, for
# the overloaded .NET constructors listed in the class's __doc__ (not __call__'s annotations).
ClrMeta.__call__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("cls", inspect.Parameter.POSITIONAL_ONLY),
        inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
        inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
    ]
)


# Member ids of System.Object's ToString / Equals / GetHashCode, found once at first use.
# Owner: _object_members_lock guards the one-time lookup.
_object_members_lock = SignalSafeLock("pyclrbridge.proxies.base._object_members_lock")
_object_members: dict[str, Any] = {}


def _object_member(name: str) -> Any:
    found = _object_members.get(name)
    if found is None:
        _ = _object_members_lock.taken
        try:
            if not _object_members:
                obj = class_by_name("System.Object")
                _object_members.update(
                    ToString=obj.__dict__["ToString"],
                    Equals=obj.__dict__["Equals"],
                    GetHashCode=obj.__dict__["GetHashCode"],
                )
            found = _object_members[name]
        finally:
            _object_members_lock.release()
    return found


def _call_object_member(name: str, obj: Any) -> Any:
    return _object_member(name).call(obj, (), {})


# How str() and hash() call Object.ToString / GetHashCode: through the method group, or the
# quicker per-class path proxies.direct installs (install_object_calls). Written once at import.
_object_call: Callable[[str, Any], Any] = _call_object_member


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


def install_object_calls(call: Callable[[str, Any], Any]) -> None:
    """Registration from :mod:`.direct`: ``call(name, obj)`` runs ``ToString`` or ``GetHashCode``."""
    global _object_call
    _object_call = call


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


def _missing_hook(self: Any, name: str) -> Any:
    return missing_attribute(self, name)


def install_missing_hook() -> None:
    """Give every proxy class a ``__getattr__`` that runs the missing-attribute lookup (what
    pyclrbridge.compat needs for pythonnet's ``obj.get_X()`` accessors, names no class lists).
    Every attribute read of every proxy then pays for the hook: only compat installs it."""
    _ = _extension_names_lock.taken
    try:
        type.__setattr__(ClrObject, "__getattr__", _missing_hook)
    finally:
        _extension_names_lock.release()


class ExtensionAttribute:
    """The attribute ``name`` of every proxy, installed on :class:`ClrObject` for each name an
    extension method of a loaded assembly has (see :mod:`.extensions`): reading it binds the
    extension in scope that fits the object, or raises the AttributeError a missing name
    raises. It sits on the root of every proxy class, so each .NET member of that name (on any
    class of the object's) comes first in the MRO and wins, as C# prefers instance members; a
    non-data descriptor, so an instance attribute of a Python subclass wins too. A class with a
    ``__getattr__`` of its own (dynamic objects) gets the name there, as before."""

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


def _after_root(klass: type, name: str) -> Any:
    """``name`` in a class that follows ClrObject in ``klass``'s MRO (_NOTHING: none has it)."""
    mro = klass.__mro__
    try:
        start = mro.index(ClrObject) + 1
    except ValueError:
        return _NOTHING
    for k in mro[start:]:
        if name in k.__dict__:
            return k.__dict__[name]
    return _NOTHING


# Owner: _extension_names_lock guards installing ExtensionAttribute entries on ClrObject (each
# name once; entries are only ever added, and each is stateless, so readers need no lock).
_extension_names_lock = SignalSafeLock("pyclrbridge.proxies.base._extension_names_lock")


def install_extension_names(names: Any) -> int:
    """Give every proxy the attribute ``name`` for each of ``names`` that no proxy has yet
    (see :class:`ExtensionAttribute`); how many were added. Names starting with ``_`` are never
    extensions, and a name ``type`` or the metaclass has is left to them."""
    added = 0
    _ = _extension_names_lock.taken
    try:
        for name in names:
            if not isinstance(name, str) or not name.isidentifier() or name[:1] == "_":
                continue
            if name in ClrObject.__dict__ or hasattr(ClrMeta, name):
                continue
            type.__setattr__(ClrObject, name, ExtensionAttribute(name))
            added += 1
    finally:
        _extension_names_lock.release()
    return added


def object_member(name: str) -> Any:
    """The method group of System.Object's ``ToString``, ``Equals`` or ``GetHashCode``."""
    return _object_member(name)


def clr_str(obj: Any) -> str:
    return str(_object_call("ToString", obj))


def clr_repr(obj: Any) -> str:
    """``<Full.TypeName: ToString()>``; just ``<Full.TypeName>`` when ToString is the default
    (the type's own name); exceptions show their message instead of ToString's stack trace."""
    cls = type(obj)
    name = cls.__dict__.get("__clr_name__") or cls.__clr_name__
    if isinstance(obj, BaseException):
        return f"<{name}: {obj.args[0] if obj.args else ''}>"
    try:
        text = clr_str(obj)
    except Exception:
        text = "?"
    info = getattr(cls, "__clr_info__", None)
    if text == name or (info is not None and _is_default_to_string(text, info)):
        return f"<{name}>"
    return f"<{name}: {text}>"


def _is_default_to_string(text: str, info: Any) -> bool:
    """Object.ToString() gives Type.ToString(): the full name, generic arguments in brackets."""
    if text == info.full_name:
        return True
    if info.generic_def_id:
        return text.startswith(_typeinfo.info(info.generic_def_id).full_name + "[")
    return False


def _enum_member(cls: Any, name: str) -> Any:
    member = cls.__dict__.get(name)
    if type(member) is not cls:
        raise KeyError(f"{cls.__clr_name__} has no member {name!r}; members: " + ", ".join(str(v) for v in cls))
    return member


def _enum_from(cls: Any, value: Any) -> Any:
    """An enum value from its number (any value the underlying type holds) or member name."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        return _enum_member(cls, value)
    if isinstance(value, (ClrEnum, bool)) or not isinstance(value, int):
        raise TypeError(f"{cls.__clr_name__}(...) takes an int or a member name, not {type(value).__name__}")
    underlying = cls.__clr_info__.enum_underlying
    bits = 8 * _SIZES.get(underlying, 4)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if underlying in _SIGNED else (0, (1 << bits) - 1)
    if not lo <= value <= hi:
        raise OverflowError(f"{value} is out of range for {cls.__clr_name__} (a System.{underlying}: {lo} to {hi})")
    return enum_value(cls.__clr_type_id__, value)


# Exactly-once release. __del__ runs when no other reference exists, so it needs no lock;
# release() can race with itself on two threads, so it claims the slot under this lock.
_release_lock = SignalSafeLock("pyclrbridge.proxies.base._release_lock")


def release(obj: Any) -> None:
    """Free the .NET object behind a proxy now, instead of when Python collects it.

    A second release of the same proxy does nothing. Using a released proxy raises an error;
    it never reaches another object.

    Args:
        obj: A .NET object proxy (an instance, not a class).

    Raises:
        TypeError: ``obj`` is a class, an enum value (those are shared, one object per value),
            or not a .NET object at all.

    Examples:
        >>> from System.Text import StringBuilder
        >>> sb = StringBuilder("big")
        >>> pyclrbridge.release(sb)
    """
    if isinstance(obj, type) or not isinstance(obj, ClrObject) or isinstance(obj, ClrEnum):
        what = f"the class {obj.__name__}" if isinstance(obj, type) else f"an object of type {type(obj).__name__}"
        why = " (enum values are shared; there is nothing to release)" if isinstance(obj, ClrEnum) else ""
        raise TypeError(f"pyclrbridge.release() takes a .NET object proxy, not {what}{why}")
    shim = _bridge.SHIM
    if shim is None or _bridge.SHUTTING_DOWN.is_set():
        shim = None  # nothing may be called in .NET any more (see free_handle)
    _ = _release_lock.taken
    try:
        h = getattr(obj, "_h", 0)
        # Claim and free with nothing between that checks for signals (a store, a test and a
        # jump, then the export itself): a signal handler that raises here cannot separate
        # the proxy giving up its handle from .NET freeing it (the handle would leak).
        obj._h = 0
        if shim is not None:
            shim.FreeHandle(h)
    finally:
        _release_lock.release()


class ClrObject(metaclass=ClrMeta):
    """Base of every .NET object proxy. ``_h`` is the GCHandle this Python object owns."""

    __slots__ = ("__weakref__", "_h")
    __clr_type_id__ = 0
    __clr_name__ = "object"
    # What ctypes passes for a proxy given to an export taking an int64: its handle. No proxy
    # class has a __getattr__ (it would send every attribute read through a Python-level hook
    # that CPython 3.12+ cannot specialise): extension methods are attributes of this class
    # (ExtensionAttribute), and a missing name is CPython's own AttributeError.
    _as_parameter_: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Reached only by Python subclasses (proxies are made by wrap): construct the .NET base.
        derived = getattr(type(self), "__clr_derived__", None)
        if derived is not None:
            derived.init_base(self, args, kwargs)

    # _free is bound at class creation: at interpreter teardown this module's globals may
    # already be None while proxies still die (objects kept alive by caches until then).
    def __del__(self, _free: Any = _bridge.free_handle) -> None:
        h = getattr(self, "_h", 0)
        if h:
            self._h = 0
            _free(h)

    def __str__(self) -> str:
        return clr_str(self)

    def __repr__(self) -> str:
        return clr_repr(self)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if handle_of(other) is None:
            return NotImplemented
        return bool(_object_member("Equals").call(self, (other,), {}))

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return int(_object_call("GetHashCode", self))

    def __dir__(self) -> list[str]:
        # Class-only helpers (``Widget.overloads``) say so with __clr_class_only__.
        return sorted(
            {
                n
                for k in type(self).__mro__
                for n, v in k.__dict__.items()
                if not n.startswith("_")
                and type(v) is not ExtensionAttribute  # listed below when one applies
                and not getattr(v, "__clr_class_only__", False)
                and not (hasattr(v, "__clr_hidden_from__") and v.__clr_hidden_from__(type(self)))  # protected
            }
            | set(_extension_names(self))
            | {n for n in object.__dir__(self) if n[:2] == "__" == n[-2:] and not n.startswith("__clr")}  # dunders
        )


class ClrEnumMeta(ClrMeta):
    """Metaclass of the enum classes: only they are iterable (their members), so only they
    claim ``collections.abc.Iterable`` (``isinstance(StringBuilder, Iterable)`` is False)."""

    def __iter__(cls) -> Any:  # type: ignore[override]  # None in ClrMeta: not iterable
        """The members of an enum, in declaration order."""
        if not cls.__dict__.get("__clr_type_id__"):
            raise TypeError(f"{cls.__name__} is the base of .NET enums, not an enum (iterate an enum class)")
        return iter([v for v in cls.__dict__.values() if type(v) is cls])


# The same member descriptor as ``_h``: reading ``proxy._as_parameter_`` reads its handle slot.
ClrObject._as_parameter_ = ClrObject.__dict__["_h"]


def install_finalizer(shim: Any) -> None:
    """Make the shim's own exports the proxies' finalizers (at load, once the shim is bound). A
    finalizer written in Python can be cut short by a signal handler that raises at its first
    instruction (CPython checks for pending signals on entering every Python function), and then
    the handle leaks: ``Exception ignored in __del__``, and the .NET object lives for ever.
    ``functools.lru_cache(maxsize=0)`` binds like a method and calls the export directly from C
    (no cache, no Python frame): no bytecode runs between the object dying and its handle being
    freed.

    ``ClrObject.__del__`` is ``FreeProxy``, which takes the proxy itself and reads its handle
    slot through the slot's own C descriptor (an empty slot, left by a signal between allocation
    and the slot's store or by a failed construction, frees nothing and reports nothing). So no
    proxy class needs a ``__getattr__`` to answer for an empty slot. ``HandleOwner.__del__`` is
    ``FreeHandle``, reading ``_as_parameter_`` (a class default of 0 under it), bound with a
    pointer-sized parameter: ctypes converts an object to an int64 through its ``__index__``
    first, while a pointer parameter takes only a real ``int`` or ``_as_parameter_``. Both free
    nothing for 0 (a released proxy), in a forked child or once shutdown began (as Python's own
    free_handle). Where a pointer cannot hold a handle (32-bit), the Python finalizers stay."""
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        return
    api = ctypes.pythonapi
    slot = ClrObject.__dict__["_h"]
    addresses = [
        ctypes.cast(api.PyType_GetSlot, ctypes.c_void_p).value or 0,
        ctypes.cast(api.PyErr_Clear, ctypes.c_void_p).value or 0,
        ctypes.cast(api.Py_DecRef, ctypes.c_void_p).value or 0,
        ctypes.cast(api.PyObject_Type, ctypes.c_void_p).value or 0,
        ctypes.cast(api.PyLong_AsLongLongAndOverflow, ctypes.c_void_p).value or 0,
    ]
    get_slot = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_int)(addresses[0])
    try:
        slot_get = get_slot(type(slot), _TP_DESCR_GET) or 0
    except SystemError:  # before 3.10, PyType_GetSlot reads no static type
        slot_get = 0
    if 0 in addresses or not slot_get:
        return  # the Python finalizer stays
    if shim.ProxyFinalizerSetup(slot_get, id(slot), *addresses[1:], id(int)) != 0:
        return
    address = ctypes.cast(shim.FreeHandle, ctypes.c_void_p).value or 0
    free = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)(address)
    ClrObject.__del__ = _native_finalizer(shim) or _ctypes_finalizer(shim)  # type: ignore[method-assign]
    HandleOwner.__del__ = functools.lru_cache(maxsize=0)(free)  # type: ignore[attr-defined]


def _native_finalizer(shim: Any) -> Any:
    """``ClrObject.__del__`` as a method descriptor of ClrObject made by the shim (a C function,
    see ``managed_shim/Calls/ProxyFinalizer.cs``), or None where the shim cannot make it. CPython
    calls it with the dying proxy straight from the finalizer slot: no ctypes call, so no
    argument conversion and no shared ctypes object written by every dying proxy (on a
    free-threaded build each such write is contended between threads)."""
    try:
        new_method = ctypes.cast(ctypes.pythonapi.PyDescr_NewMethod, ctypes.c_void_p).value or 0
        incref = ctypes.cast(ctypes.pythonapi.Py_IncRef, ctypes.c_void_p).value or 0
        made = shim.ProxyFinalizerDescriptor(new_method, id(ClrObject), incref, id(None))
    except (AttributeError, OSError):  # no such symbol, an old shim
        return None
    if not made:
        return None
    # The shim keeps the reference it made (the descriptor lives for the process).
    return ctypes.cast(ctypes.c_void_p(made), ctypes.py_object).value


def _ctypes_finalizer(shim: Any) -> Any:
    """``ClrObject.__del__`` as ``FreeProxy`` called through ctypes (``functools.lru_cache(
    maxsize=0)`` binds like a method and calls it from C, with no Python frame)."""
    address = ctypes.cast(shim.FreeProxy, ctypes.c_void_p).value or 0
    free_proxy = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.py_object)(address)
    return functools.lru_cache(maxsize=0)(free_proxy)


# typeslots.h: Py_tp_descr_get (the stable ABI's slot numbering).
_TP_DESCR_GET = 54


class ClrEnum(ClrObject, metaclass=ClrEnumMeta):
    """Base of .NET enum values: int-like, combinable when the enum is ``[Flags]``."""

    __slots__ = ("_value",)
    _value: int

    def __int__(self) -> int:
        return int(self._value)

    def __index__(self) -> int:
        return int(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ClrEnum):
            return type(other) is type(self) and other._value == self._value
        if isinstance(other, int) and not isinstance(other, bool):
            return bool(other == self._value)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __lt__(self, other: Any) -> bool:
        return int(self) < int(other)

    def __le__(self, other: Any) -> bool:
        return int(self) <= int(other)

    def __gt__(self, other: Any) -> bool:
        return int(self) > int(other)

    def __ge__(self, other: Any) -> bool:
        return int(self) >= int(other)

    def _combine(self, other: Any, op: Any) -> Any:
        if isinstance(other, ClrEnum) and type(other) is not type(self):
            return NotImplemented
        if not isinstance(other, (int, ClrEnum)):
            return NotImplemented
        return enum_value(type(self).__clr_type_id__, op(int(self), int(other)))

    def __or__(self, other: Any) -> Any:
        return self._combine(other, int.__or__)

    __ror__ = __or__

    def __and__(self, other: Any) -> Any:
        return self._combine(other, int.__and__)

    __rand__ = __and__

    def __xor__(self, other: Any) -> Any:
        return self._combine(other, int.__xor__)

    __rxor__ = __xor__

    def __invert__(self) -> Any:
        mask = (1 << (8 * _SIZES.get(type(self).__clr_info__.enum_underlying, 4))) - 1
        inverted = ~int(self) & mask
        if type(self).__clr_info__.enum_underlying in ("SByte", "Int16", "Int32", "Int64"):
            bits = 8 * _SIZES[type(self).__clr_info__.enum_underlying]
            if inverted >= 1 << (bits - 1):
                inverted -= 1 << bits
        return enum_value(type(self).__clr_type_id__, inverted)

    def __contains__(self, flag: Any) -> bool:
        f = int(flag)
        return (int(self) & f) == f

    def __bool__(self) -> bool:
        return int(self) != 0

    def __repr__(self) -> str:
        return f"<{type(self).__clr_name__}.{self}: {int(self)}>"

    def __reduce__(self) -> Any:
        return (enum_value, (type(self).__clr_type_id__, int(self)))


_SIGNED = frozenset({"SByte", "Int16", "Int32", "Int64"})
_SIZES = {"SByte": 1, "Byte": 1, "Int16": 2, "UInt16": 2, "Int32": 4, "UInt32": 4, "Int64": 8, "UInt64": 8}


def wrap(handle: int, type_id: int) -> Any:
    """A proxy for a handle returned by .NET (the proxy now owns the handle)."""
    if type_id in DERIVED_TYPE_IDS:
        return _adopt_derived(handle)  # an instance of a Python class: the Python object itself
    cls = class_for(type_id)
    if type_id in EXCEPTION_TYPE_IDS:
        try:
            obj = cls.__clr_blank_oserror__ if OSError in cls.__mro__ else cls.__clr_blank_error__
        except TypeError:  # a builtin base with a __new__ of its own (none is mapped today)
            obj = cls.__new__(cls)
        obj._h = handle
        return _exceptions.adopt(obj)  # one Python object per .NET exception, a Python exception
    obj = cls.__clr_blank__
    obj._h = handle
    return obj


def wrap_value(v: Value) -> Any:
    """:func:`wrap` for an OBJECT result value, claiming its handle: the proxy is made (by an
    attribute read, see ``ClrMeta.__clr_blank__``), takes ``v.i`` and ``v.i`` becomes 0 with
    nothing between that checks for signals, so whoever holds the value after an exception frees
    exactly the handle no proxy owns, and no proxy dies with an empty slot. A handle for a
    Python-derived object is claimed before it is adopted (an exception inside adopt may leak
    it, never free the handle the object keeps)."""
    type_id = v.extra
    if type_id in DERIVED_TYPE_IDS:
        handle = v.i
        v.i = 0
        return _adopt_derived(handle)
    cls = class_for(type_id)
    if type_id in EXCEPTION_TYPE_IDS:
        try:
            obj = cls.__clr_blank_oserror__ if OSError in cls.__mro__ else cls.__clr_blank_error__
        except TypeError:  # a builtin base with a __new__ of its own (none is mapped today)
            obj = cls.__new__(cls)
        obj._h = v.i
        v.i = 0
        return _exceptions.adopt(obj)
    obj = cls.__clr_blank__
    obj._h = v.i
    v.i = 0
    return obj


#: .NET types emitted for Python classes (written by _derived; set.add is atomic).
DERIVED_TYPE_IDS: set[int] = set()

#: Emitted type id -> weak reference to its Python class (each instance keeps its class alive).
#: Written once per class by callbacks.derived.prepare before any instance exists, popped by
#: its drain hook once the type is forgotten; single dict writes and pops are atomic.
DERIVED_CLASSES: dict[int, Any] = {}

#: .NET exception types (their classes derive from ClrError; written by classes.create as each
#: class is made, before any instance is wrapped; set.add is atomic).
EXCEPTION_TYPE_IDS: set[int] = set()


# Enum values are immutable: one Python object per (enum type, value), boxed once.
# Pure memo published with setdefault, so two threads always end up with the same object.
_enum_values: dict[tuple[int, int], Any] = {}


def enum_value(type_id: int, value: int) -> Any:
    if value < 0 and class_for(type_id).__clr_info__.enum_underlying == "UInt64":
        value += 1 << 64  # a UInt64 enum's payload above Int64.MaxValue arrives as its two's complement
    key = (type_id, value)
    found = _enum_values.get(key)
    if found is not None:
        return found
    cls = class_for(type_id)
    v = Value()
    v.kind = Kind.ENUM
    v.i = value
    v.extra = type_id
    boxed = Value()
    boxed_at = ctypes.addressof(boxed)
    error = Value()
    shim = _bridge.shim()
    free_unclaimed = shim.FreeUnclaimedValues
    try:
        if shim.Convert(ctypes.byref(v), type_id, ctypes.byref(boxed), ctypes.byref(error)) != 0:
            _bridge.raise_error(error)
        # Made by an attribute read and given the boxed value's handle, which is zeroed, with
        # no signal check between (as wrap_value): the proxy owns it from there on.
        obj = cls.__clr_blank__
        obj._value = value
        obj._h = boxed.i
        boxed.i = 0
    except BaseException:
        # The boxed value no proxy took (a signal handler raising as Convert returned): the
        # export itself, its arguments ready, so nothing before it checks for signals.
        free_unclaimed(boxed_at, 1)
        raise
    # One object per value: a loser of a race dies here, and its finalizer frees its handle.
    return _enum_values.setdefault(key, obj)
