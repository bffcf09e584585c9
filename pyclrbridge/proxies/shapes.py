""".NET shapes that behave as their Python counterparts: tuples and enumerators.

- ``ValueTuple``/``Tuple`` (anything implementing ``ITuple``) unpack, index, compare and hash
  like Python tuples: ``a, b = Fit.Line(xs, ys)``, ``ValueTuple.Create(1, "a") == (1, "a")``.
- An ``IEnumerator``/``IEnumerator<T>`` is a Python iterator: ``list(xs.GetEnumerator())``.
- An ``ExpandoObject``'s members are attributes (get, set, delete, ``dir()``, call), except
  names its class has (``ToString``, ``keys``...): those are items only (``e["ToString"]``).
- So are the dynamic members of any other ``IDynamicMetaObjectProvider`` (``DynamicObject``
  subclasses, Json.NET's ``JObject``), reached through the DLR as C#'s ``dynamic`` reaches them.
  The type's real .NET members win: Python finds them first, and only a name the class does
  not have asks the object.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..host import bridge as _bridge
from ..host.shim import Value, utf16
from ..values import exports as _exports
from ..values.convert import to_value
from .base import ClrObject
from .missing import ExtensionAttribute, missing_attribute
from .protocols import _call, _get, _read, _set, implementation_for

_ITUPLE = "System.Runtime.CompilerServices.ITuple"


@implementation_for(_ITUPLE, rank=5)
class _Tuple:
    def __len__(self: Any) -> int:
        return int(_read(self, _ITUPLE, "Length"))

    def __iter__(self: Any) -> Iterator[Any]:
        for i in range(len(self)):
            yield _get(self, _ITUPLE, i)

    def __getitem__(self: Any, i: Any) -> Any:
        return tuple(self)[i]  # negative indices and slices as a tuple has them

    def __eq__(self: Any, other: object) -> bool:
        if isinstance(other, tuple):
            return tuple(self) == other
        if getattr(type(other), "__len__", None) is _Tuple.__len__:  # another .NET tuple
            return tuple(self) == tuple(other)  # type: ignore[arg-type]
        return NotImplemented

    def __ne__(self: Any, other: object) -> bool:
        equal = _Tuple.__eq__(self, other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self: Any) -> int:
        return hash(tuple(self))


def _next(self: Any, iface: str) -> Any:
    if not _call(self, iface, "MoveNext"):
        raise StopIteration
    return _read(self, iface, "Current")


@implementation_for("System.Collections.Generic.IEnumerator`1", rank=45)  # after IEnumerable: a yield iterator is both
class _GenericEnumerator:
    def __iter__(self: Any) -> Any:
        return self

    def __next__(self: Any) -> Any:
        return _next(self, "System.Collections.Generic.IEnumerator`1")


@implementation_for("System.Collections.IEnumerator", rank=46)
class _Enumerator:
    def __iter__(self: Any) -> Any:
        return self

    def __next__(self: Any) -> Any:
        return _next(self, "System.Collections.IEnumerator")


_EXPANDO_ITEMS = "System.Collections.Generic.IDictionary`2"


@implementation_for("System.Dynamic.ExpandoObject", rank=1)
class _Expando:
    """An ExpandoObject's members as attributes: ``e.name = 1``, ``e.name``, ``del e.name``,
    ``dir(e)``; a delegate stored in it is called as a method (``e.greet()``)."""

    def __getattr__(self: Any, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        found, value = _call(self, _EXPANDO_ITEMS, "TryGetValue", name)
        if not found:
            raise AttributeError(f"the ExpandoObject has no member {name!r}")
        return value

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)  # the bridge's own slots (_h)
            return
        if _is_class_member(type(self), name):
            raise _shadowed(name)
        _set(self, _EXPANDO_ITEMS, name, value)

    def __delattr__(self: Any, name: str) -> None:
        if not name.startswith("_") and _is_class_member(type(self), name):
            raise _shadowed(name)
        if name.startswith("_") or not _call(self, _EXPANDO_ITEMS, "Remove", name):
            raise AttributeError(f"the ExpandoObject has no member {name!r}")

    def __dir__(self: Any) -> list[str]:
        return sorted(str(k) for k in _read(self, _EXPANDO_ITEMS, "Keys"))


# ---- any IDynamicMetaObjectProvider -----------------------------------------------------------

_DYNAMIC = "System.Dynamic.IDynamicMetaObjectProvider"
_GET, _SET, _INVOKE, _DELETE = 0, 1, 2, 3  # DynamicMembers in managed_shim/Values/Dynamic.cs
_NO_SUCH_MEMBER = 3  # DynamicMember's answer when the object has no such dynamic member


def _dynamic(obj: Any, op: int, name: str, args: tuple[Any, ...] = ()) -> tuple[bool, Any]:
    """One DLR member operation: (False, None) when the object has no such dynamic member."""
    n = len(args)
    values = (Value * max(n, 1))()
    keep: list[Any] = []  # what the argument values point at, alive until the call returns
    shim = _bridge.shim()
    abandon = shim.AbandonValues
    try:
        for i, arg in enumerate(args):
            to_value(arg, values[i], keep)
        data, length = utf16(name)
        found = _exports.call_result(shim.DynamicMember, obj._h, op, data, length, values, n, absent=_NO_SUCH_MEMBER)
    except BaseException:
        abandon(values, n)  # ids no call took (see bridge.Frame.abandon)
        raise
    return (False, None) if found is _exports.ABSENT else (True, found)


def dynamic_names(obj: Any) -> list[str]:
    """The names ``obj`` lists as its dynamic members (``GetDynamicMemberNames``), sorted."""
    return [str(n) for n in _bridge.json_call(_bridge.shim().DynamicMemberNames, obj._h)]


def _shadowed(name: str) -> AttributeError:
    """An attribute that names a member of the ExpandoObject's class (``ToString``, ``keys``):
    Python reads that member, so storing an expando member of that name as an attribute would
    never read back. The item syntax reaches the expando's own members by any name."""
    return AttributeError(
        f"{name!r} is a member of the ExpandoObject's class, which the attribute reads: "
        f"store and read an expando member of that name as an item, e[{name!r}]",
        name=name,
    )


def _is_class_member(cls: type, name: str) -> bool:
    """Whether ``name`` is a real member of the proxy class (a .NET property, field, method), not
    the name of an extension method every proxy answers to (ExtensionAttribute)."""
    return any(name in k.__dict__ and type(k.__dict__[name]) is not ExtensionAttribute for k in cls.__mro__)


def _missing(obj: Any, name: str) -> AttributeError:
    return AttributeError(
        f"the {type(obj).__clr_name__} object has no member {name!r} (neither a .NET member nor a dynamic one)",
        name=name,
        obj=obj,
    )


class _DynamicMethod:
    """A dynamic member the object invokes but does not hand out as a value (a DynamicObject's
    TryInvokeMember): calling it is C#'s ``((dynamic)obj).Name(args)``."""

    __slots__ = ("name", "target")

    def __init__(self, target: Any, name: str) -> None:
        self.target = target
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(f"the dynamic member {self.name!r} takes positional arguments only")
        found, value = _dynamic(self.target, _INVOKE, self.name, args)
        if not found:
            raise TypeError(
                f"the {type(self.target).__clr_name__} object cannot call {self.name!r} with {len(args)} arguments"
            )
        return value

    def __repr__(self) -> str:
        return f"<dynamic member {self.name!r} of {self.target!r}>"


@implementation_for(_DYNAMIC, rank=2)  # after ExpandoObject's own entry: it reads its dictionary
class _Dynamic:
    """Dynamic members as attributes. Reached only for names ordinary lookup did not find, so
    the real .NET members of the type win and the normal attribute path pays nothing.

    A member the object answers with null but does not list in ``GetDynamicMemberNames`` is
    missing (``JObject`` answers null for any key it lacks): AttributeError, so ``hasattr`` and
    ``getattr(obj, name, default)`` work."""

    def __getattr__(self: Any, name: str) -> Any:
        if name[:1] == "_":
            return missing_attribute(self, name)  # the bridge's own names: never dynamic
        found, value = _dynamic(self, _GET, name)
        if found and value is not None:
            return value
        listed = name in dynamic_names(self)
        if found and listed:
            return value  # a listed member whose value is null
        if listed:
            return _DynamicMethod(self, name)  # listed but not readable: it is called
        try:
            return missing_attribute(self, name)  # extension methods in scope
        except AttributeError:
            raise _missing(self, name) from None

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if name[:1] == "_" or type(self).__dictoffset__ or _is_class_member(type(self), name):
            # A .NET property or field, the bridge's _h, or any attribute of a Python subclass
            # (it has a __dict__: its own attributes stay Python's; .NET code reaches its
            # TryGetMember/TrySetMember overrides through dynamic).
            object.__setattr__(self, name, value)
            return
        found, _ = _dynamic(self, _SET, name, (value,))
        if not found:
            raise AttributeError(
                f"the {type(self).__clr_name__} object does not accept a dynamic member {name!r}", name=name, obj=self
            )

    def __delattr__(self: Any, name: str) -> None:
        if name[:1] == "_" or type(self).__dictoffset__ or _is_class_member(type(self), name):
            object.__delattr__(self, name)
            return
        found, _ = _dynamic(self, _DELETE, name)
        if not found:
            raise AttributeError(
                f"the {type(self).__clr_name__} object has no dynamic member {name!r} to delete", name=name, obj=self
            )

    def __dir__(self: Any) -> list[str]:
        own = vars(self) if type(self).__dictoffset__ else {}  # a Python subclass's attributes
        return sorted(set(ClrObject.__dir__(self)) | set(own) | set(dynamic_names(self)))
