"""pythonnet's attribute rules on .NET objects under `pyclrbridge.compat`: the accessor methods
(``obj.get_X()``, ``obj.set_X(v)``, ``obj.set_Item(k, v)``, ``obj.add_E(d)``), pythonnet's
TypeError for assigning or deleting a read-only member, its ``del obj[i]`` and its iteration of
dictionaries (pairs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _compat_classes
from .proxies import base as _base
from .proxies import events as _events
from .proxies import member_errors as _member_errors
from .proxies import missing as _missing
from .proxies import properties as _properties
from .proxies import protocols as _protocols
from .proxies.catalog import class_by_name
from .values import bulk as _bulk

_ACCESSOR_PREFIXES = ("get_", "set_", "add_", "remove_")


def _member_of(obj: Any, name: str) -> Any:
    """The Python descriptor of ``name`` (a native member or a constant's value keeps it in
    ``__clr_members__``)."""
    for klass in type(obj).__mro__:
        replaced = klass.__dict__.get("__clr_members__") or {}
        found = replaced.get(name, klass.__dict__.get(name))
        if found is not None:
            return found
    return None


def _event_accessor(obj: Any, event: Any, subscribe: bool) -> Callable[[Any], None]:
    def accessor(handler: Any) -> None:
        if not getattr(type(handler), "__clr_type_id__", 0):
            # pythonnet's accessors are the .NET methods, which take a delegate only.
            verb = "add" if subscribe else "remove"
            raise TypeError(
                f"{type(obj).__name__}.{verb}_{event.__name__}() takes a .NET delegate, not "
                f"{type(handler).__name__}: wrap the callable (EventHandler(f)) or use "
                f"obj.{event.__name__} {'+=' if subscribe else '-='} f"
            )
        binding = event.__get__(obj, type(obj))
        if subscribe:
            binding += handler
        else:
            binding -= handler

    return accessor


def _reflected_accessor(obj: Any, name: str) -> Callable[..., Any] | None:
    """The public instance method ``name`` (an indexer's ``get_Item``/``set_Item``, a property
    getter or setter), called through reflection with the arguments given."""
    methods = [m for m in obj.GetType().GetMethods() if m.Name == name and m.IsSpecialName and not m.IsStatic]
    if not methods:
        return None
    object_array = class_by_name("System.Array")
    invocation_error = class_by_name("System.Reflection.TargetInvocationException")

    def accessor(*args: Any) -> Any:
        fitting = [m for m in methods if len(m.GetParameters()) == len(args)]
        if len(fitting) != 1:
            counts = sorted({len(m.GetParameters()) for m in methods})
            raise TypeError(f"{name}() takes {' or '.join(map(str, counts))} arguments, not {len(args)}")
        values = object_array.CreateInstance(class_by_name("System.Object"), len(args))
        for i, arg in enumerate(args):
            values[i] = arg
        try:
            return fitting[0].Invoke(obj, values)
        except invocation_error as error:  # the accessor itself threw: that exception, as a call gives it
            raise error.InnerException from None

    return accessor


def _accessor_lookup(obj: Any, name: str) -> Any:
    """pythonnet's ``obj.get_X()`` / ``set_X(v)`` / ``get_Item(k)`` / ``add_E(d)`` / ``remove_E(d)``:
    the .NET accessor methods of a property, indexer or event (None: ``name`` is not one)."""
    prefix = next((p for p in _ACCESSOR_PREFIXES if name.startswith(p)), None)
    if prefix is None or len(name) == len(prefix):
        return None
    member = _member_of(obj, name[len(prefix) :])
    if prefix in ("add_", "remove_"):
        if isinstance(member, _events.Event) and not member.static:
            return _event_accessor(obj, member, prefix == "add_")
        return None
    if isinstance(member, _properties.Property):
        if member.field:
            return None  # a field has no accessor methods in .NET either
        if prefix == "get_":
            return lambda: getattr(obj, name[4:])
        return lambda value: setattr(obj, name[4:], value)
    return _reflected_accessor(obj, name)  # an indexer (get_Item, set_Item) or other special method


def install_accessors() -> None:
    """Chain the accessor lookup after the extension-method lookup for missing attributes."""
    extensions, names = _missing._extension_lookup, _missing._extension_names

    def lookup(obj: Any, name: str) -> Any:
        found = extensions(obj, name)
        if found is None and name[:1] in "gsar":
            found = _accessor_lookup(obj, name)
        return found

    _missing.install_extensions(lookup, names)
    _base.install_missing_hook()  # get_X and the like are no attribute of any class


def _refused_as_member_error(obj: Any, name: str, action: Callable[[], None]) -> None:
    """Run an attribute assignment or deletion; CPython's own refusal for a .NET member (a
    constant or static read-only value kept on the class, a method group: "object attribute is
    read-only") becomes pythonnet's TypeError (a `MemberError`)."""
    try:
        action()
    except AttributeError as refused:
        if type(refused) is AttributeError and _member_of(obj, name) is not None:
            raise _member_errors.member_error(str(refused), name=name, obj=obj) from None
        raise


def _compat_setattr(self: Any, name: str, value: Any) -> None:
    _refused_as_member_error(self, name, lambda: object.__setattr__(self, name, value))


def _compat_delattr(self: Any, name: str) -> None:
    _refused_as_member_error(self, name, lambda: object.__delattr__(self, name))


def member_errors_on_objects(enabled: bool) -> None:
    """pythonnet's TypeError for assigning or deleting a read-only member on an object: on the
    base class (a Python subclass's own ``__setattr__`` still wins); ``enabled=False`` removes it."""
    for name, function in (("__setattr__", _compat_setattr), ("__delattr__", _compat_delattr)):
        if enabled:
            type.__setattr__(_base.ClrObject, name, function)
        elif name in _base.ClrObject.__dict__:
            type.__delattr__(_base.ClrObject, name)


def _pythonnet_delitem(native: Callable[[Any, Any], None], array: bool) -> Callable[[Any, Any], None]:
    """pythonnet's ``del obj[i]``: an array refuses it (TypeError, as for a tuple); a list calls
    its ``RemoveAt(i)``, so an index out of range raises .NET's ArgumentOutOfRangeException
    (also an IndexError). A negative index counts from the end, as in Python; a slice and any
    use with compat off take pyclrbridge's own deletion."""

    def __delitem__(self: Any, key: Any) -> None:
        if not _compat_classes.ON[0]:
            return native(self, key)
        if array:
            raise TypeError(f"{type(self).__name__!r} object does not support item deletion (a .NET array)")
        if isinstance(key, slice) or not hasattr(key, "__index__"):
            return native(self, key)
        index = key.__index__()
        self.RemoveAt(index + len(self) if index < 0 else index)
        return None

    return __delitem__


def _adapt_deletion(cls: Any) -> None:
    """Give a list or array class pythonnet's ``del obj[i]`` (once; an adapter of `_compat_classes`)."""
    if cls.__dict__.get("__clr_deletion__"):
        return
    type.__setattr__(cls, "__clr_deletion__", True)
    info = cls.__dict__.get("__clr_info__")
    native = cls.__dict__.get("__delitem__")
    if info is None or native is None:
        return
    array = info.kind == "array"
    if not array and not getattr(getattr(cls, "RemoveAt", None), "overloads_list", None):
        return  # no public RemoveAt (an explicit IList implementation): pyclrbridge's deletion
    type.__setattr__(cls, "__delitem__", _pythonnet_delitem(native, array))


def pythonnet_deletion(enabled: bool) -> None:
    """pythonnet's ``del obj[i]`` (`_pythonnet_delitem`), adapted onto each class by
    `_compat_classes` (switched with the other class rules)."""
    _compat_classes.add_adapter(_adapt_deletion)


#: The dictionary protocols whose iteration gives keys natively. Read-only.
_MAPPINGS = (
    "System.Collections.Generic.IDictionary`2",
    "System.Collections.Generic.IReadOnlyDictionary`2",
    "System.Collections.IDictionary",
)


def _pythonnet_iter(native: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """pythonnet's iteration of a dictionary: what .NET enumerates (``KeyValuePair`` objects,
    ``DictionaryEntry`` for a ``Hashtable``), not the keys; ``keys()``, ``items()`` and ``in``
    stay. With compat off, pyclrbridge's (the keys)."""

    def __iter__(self: Any) -> Any:
        return _bulk.iterate(self) if _compat_classes.ON[0] else native(self)

    return __iter__


def _adapt_iteration(cls: Any) -> None:
    """Give a dictionary class pythonnet's iteration (once; an adapter of `_compat_classes`)."""
    if cls.__dict__.get("__clr_pair_iteration__"):
        return
    type.__setattr__(cls, "__clr_pair_iteration__", True)
    native = cls.__dict__.get("__iter__")
    mapping_iters = [vars(p).get("__iter__") for n in _MAPPINGS if (p := _protocols._PROTOCOLS.get(n)) is not None]
    if native is not None and any(native is it for it in mapping_iters):
        type.__setattr__(cls, "__iter__", _pythonnet_iter(native))


def pythonnet_iteration(enabled: bool) -> None:
    """pythonnet's iteration of dictionaries (`_pythonnet_iter`), adapted onto each class by
    `_compat_classes` (switched with the other class rules)."""
    _compat_classes.add_adapter(_adapt_iteration)
