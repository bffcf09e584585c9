"""pythonnet's interface views under `pyclrbridge.compat`: a .NET object a member declares as an
interface comes back as a view of that interface (``type(ob.GetShape()).__name__ == "IShape"``),
as ``IShape(obj)`` gives it, with the object behind it in ``__implementation__``.

pythonnet converts every result by its declared type: method results and ``out`` values,
properties and fields, array items and the items of an ``IEnumerable<IShape>``. Natively
pyclrbridge gives the object's own class (all its members reachable). Under compat:

- methods ask `pyclrbridge.proxies.declared` for the view of a result or ``out`` value of an
  interface type, or of an array of one (pythonnet sees an ``IShape[]`` result as that array
  type, whatever the array's own type): a path only such members take;
- properties and fields of an interface type (or an array of one), arrays of an interface
  element type and classes enumerating an interface type get a viewing ``__get__``,
  ``__getitem__`` or ``__iter__`` when their class is built (classes built before compat was
  switched on are adapted then).

A string or number behind an interface-typed member (an ``IComparable`` that is an ``Int32``)
stays the Python value, as every .NET string and number does; an exception stays itself. A
view's ``__raw_implementation__`` is the .NET object unconverted, as in pythonnet (a kept
``System.Int32`` where ``__implementation__`` is ``100``).
Each view is a new proxy with its own handle (one ``Convert`` call), as ``IShape(obj)`` makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from . import _compat_classes
from .host import typeinfo as _typeinfo
from .proxies import catalog as _catalog
from .proxies import construction as _construction
from .proxies import declared as _declared
from .proxies.members import MethodGroup
from .proxies.properties import Property

_ENUMERABLE = "System.Collections.Generic.IEnumerable`1"
_on = _compat_classes.ON  # read on each access: switching compat off gives the objects as they are


def _is_interface(type_id: int) -> bool:
    return bool(type_id) and _typeinfo.info(type_id).kind == "interface"


def view(obj: Any, type_id: int) -> Any:
    """``obj`` seen as ``type_id`` (an interface, or an array of one: see
    `pyclrbridge.proxies.declared.viewed`): a view, unless it is one already, or not a .NET object
    proxy (None, a Python value, a Python object .NET held), or an exception."""
    own = getattr(type(obj), "__clr_type_id__", 0)
    if not own or own == type_id or isinstance(obj, BaseException):
        return obj
    return _construction.convert(obj, type_id, as_class=_catalog.class_for(type_id))


class _ViewedProperty(Property):
    """A property or field of an interface type (the class of such a `Property`, switched
    in place: the same slots)."""

    __slots__ = ()

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        value = Property.__get__(self, obj, cls)
        if value is None or value is self or not _on[0]:
            return value
        return view(value, self._type_id)


def _raw_implementation(self: Any) -> Any:
    """pythonnet's ``view.__raw_implementation__``: the .NET object behind the view, unconverted
    (a ``System.Int32`` object where ``__implementation__`` gives ``100``; kept primitive
    objects, see `pyclrbridge.compat.keep_primitive_objects`)."""
    implementation = self.__implementation__
    own: int = getattr(type(implementation), "__clr_type_id__", 0)
    if implementation is None or not _on[0] or own:
        return implementation  # a .NET object (or a Python object .NET held) is itself already
    type_id = _typeinfo.id_by_name(str(self.GetType().AssemblyQualifiedName))
    return _construction.convert(self, type_id) if type_id else implementation


def _viewing_getitem(original: Callable[..., Any], element: int) -> Callable[..., Any]:
    def __getitem__(self: Any, key: Any) -> Any:
        got = original(self, key)
        if not _on[0]:
            return got
        if isinstance(key, slice) or (isinstance(key, tuple) and any(isinstance(k, slice) for k in key)):
            return [view(item, element) for item in got]  # a slice of items
        return view(got, element)

    return __getitem__


def _viewing_iter(original: Callable[[Any], Iterator[Any]], element: int) -> Callable[[Any], Iterator[Any]]:
    def __iter__(self: Any) -> Iterator[Any]:
        items = original(self)
        if not _on[0]:
            return items
        return (view(item, element) for item in items)

    return __iter__


def _enumerated_interface(info: _typeinfo.TypeInfo) -> int:
    """The interface type the class enumerates (``IEnumerable<IShape>``), or 0."""
    for type_id in (info.id, *info.interfaces):
        t = _typeinfo.info(type_id)
        if (
            t.generic_def_id
            and t.generic_args
            and _typeinfo.info(t.generic_def_id).full_name == _ENUMERABLE
            and _is_interface(t.generic_args[0])
        ):
            return t.generic_args[0]
    return 0


def _adapt(cls: Any) -> None:
    """Give one class its viewing members (the first time), and make its methods returning an
    array of an interface type view it again (an adapter of `_compat_classes`)."""
    if not cls.__dict__.get("__clr_views__"):
        _add_views(cls)
    for group in cls.__dict__.get("__clr_array_view_groups__", ()):
        _forget_array_invokers(group)


def _add_views(cls: Any) -> None:
    info: _typeinfo.TypeInfo | None = cls.__dict__.get("__clr_info__")
    if info is None:
        return
    groups: list[MethodGroup] = []
    for member in list(cls.__dict__.values()):
        if type(member) is Property and _declared.viewed(member._type_id):
            member.__class__ = _ViewedProperty  # one store; the same layout: the slots stay
        elif isinstance(member, MethodGroup) and any(_returns_array_view(o) for o in member.overloads_list):
            groups.append(member)
    type.__setattr__(cls, "__clr_array_view_groups__", tuple(groups))
    if info.kind == "interface":
        type.__setattr__(cls, "__raw_implementation__", property(_raw_implementation))
    element = info.element if info.kind == "array" else 0
    if _is_interface(element) and "__getitem__" in dir(cls):
        type.__setattr__(cls, "__getitem__", _viewing_getitem(cls.__getitem__, element))
    else:
        element = _enumerated_interface(info)
    if element and getattr(cls, "__iter__", None) is not None:
        type.__setattr__(cls, "__iter__", _viewing_iter(cls.__iter__, element))
    type.__setattr__(cls, "__clr_views__", True)


def _returns_array_view(overload: Any) -> bool:
    return not overload.returns_interface and _declared.viewed(overload.ret)


def _forget_array_invokers(group: MethodGroup) -> None:
    """Drop the invokers a group returning an array of an interface type cached while views were
    off (they give the array as it is; the next call makes one that views it). The caches are
    memos: dropping one only redoes pure work."""
    for g in (group, *(n for n in list(group._narrowed.values()) if isinstance(n, MethodGroup))):
        g._invokers.clear()
        g._static_invokers.clear()


def pythonnet_views(enabled: bool) -> None:
    """Interface-typed results as views of their interface (``enabled``), or the objects as
    they are (pyclrbridge's rule). Members are adapted by `_compat_classes` (switched with the
    other class rules)."""
    _declared.view_interfaces(view if enabled else None)
    _compat_classes.add_adapter(_adapt)
