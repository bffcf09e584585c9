"""Python protocols from .NET interfaces: one table keyed by interface (DESIGN section 6).

Each entry is a small prototype class whose methods are copied onto every proxy class whose
.NET type implements that interface (unless the class already defines the method). The
methods call the interface's own members, so explicit implementations work too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from . import _typeinfo

_PROTOCOLS: dict[str, type] = {}


def implementation_for(*interface_names: str) -> Callable[[type], type]:
    """Register a prototype class for .NET interfaces (generic ones by definition name)."""

    def register(proto: type) -> type:
        for name in interface_names:
            _PROTOCOLS[name] = proto
        return proto

    return register


def _iface(obj: Any, full_name: str) -> Any:
    """The proxy class of the interface ``full_name`` (or its constructed form) ``obj`` implements."""
    from ._types import class_for

    info = type(obj).__clr_info__
    for candidate in (info.id, *info.interfaces):
        c = _typeinfo.info(candidate)
        def_name = _typeinfo.info(c.generic_def_id).full_name if c.generic_def_id else c.full_name
        if def_name == full_name:
            return class_for(candidate)
    raise TypeError(f"{type(obj).__clr_name__} does not implement {full_name}")


def _member(obj: Any, iface: str, name: str) -> Any:
    return _iface(obj, iface).__dict__[name]


@implementation_for("System.Collections.IEnumerable")
class _Enumerable:
    def __iter__(self) -> Iterator[Any]:
        enumerator = _member(self, "System.Collections.IEnumerable", "GetEnumerator").call(self, (), {})
        move_next = _member(enumerator, "System.Collections.IEnumerator", "MoveNext")
        current = _member(enumerator, "System.Collections.IEnumerator", "Current")
        while move_next.call(enumerator, (), {}):
            yield current.read(enumerator)


@implementation_for("System.Collections.Generic.IEnumerable`1")
class _GenericEnumerable:
    def __iter__(self) -> Iterator[Any]:
        enumerator = _member(self, "System.Collections.Generic.IEnumerable`1", "GetEnumerator").call(self, (), {})
        move_next = _member(enumerator, "System.Collections.IEnumerator", "MoveNext")
        current = _member(enumerator, "System.Collections.Generic.IEnumerator`1", "Current")
        try:
            while move_next.call(enumerator, (), {}):
                yield current.read(enumerator)
        finally:
            dispose = _member(enumerator, "System.IDisposable", "Dispose")
            dispose.call(enumerator, (), {})


def _count(iface: str) -> Callable[[Any], int]:
    def __len__(self: Any) -> int:
        return int(_member(self, iface, "Count").read(self))

    return __len__


@implementation_for("System.Collections.ICollection")
class _Collection:
    __len__ = _count("System.Collections.ICollection")


@implementation_for("System.Collections.Generic.ICollection`1")
class _GenericCollection:
    __len__ = _count("System.Collections.Generic.ICollection`1")

    def __contains__(self, item: Any) -> bool:
        return bool(_member(self, "System.Collections.Generic.ICollection`1", "Contains").call(self, (item,), {}))


@implementation_for("System.Collections.Generic.IReadOnlyCollection`1")
class _ReadOnlyCollection:
    __len__ = _count("System.Collections.Generic.IReadOnlyCollection`1")


def _index(self: Any, i: int) -> int:
    n = len(self)
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError(f"index {i} is out of range for a {type(self).__clr_name__} of length {n}")
    return i


@implementation_for("System.Collections.Generic.IList`1")
class _GenericList:
    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return [self[i] for i in range(*key.indices(len(self)))]
        return _member(self, "System.Collections.Generic.IList`1", "__getitem__")(self, _index(self, key))

    def __setitem__(self, key: int, value: Any) -> None:
        _member(self, "System.Collections.Generic.IList`1", "__setitem__")(self, _index(self, key), value)

    def __delitem__(self, key: int) -> None:
        _member(self, "System.Collections.Generic.IList`1", "RemoveAt").call(self, (_index(self, key),), {})


@implementation_for("System.Collections.Generic.IReadOnlyList`1")
class _ReadOnlyList:
    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return [self[i] for i in range(*key.indices(len(self)))]
        return _member(self, "System.Collections.Generic.IReadOnlyList`1", "__getitem__")(self, _index(self, key))


@implementation_for("System.Collections.IList")
class _List:
    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return [self[i] for i in range(*key.indices(len(self)))]
        return _member(self, "System.Collections.IList", "__getitem__")(self, _index(self, key))

    def __setitem__(self, key: int, value: Any) -> None:
        _member(self, "System.Collections.IList", "__setitem__")(self, _index(self, key), value)

    def __contains__(self, item: Any) -> bool:
        return bool(_member(self, "System.Collections.IList", "Contains").call(self, (item,), {}))


def _mapping(iface: str) -> type:
    class _Mapping:
        def __getitem__(self, key: Any) -> Any:
            return _member(self, iface, "__getitem__")(self, key)

        def __contains__(self, key: Any) -> bool:
            return bool(_member(self, iface, "ContainsKey").call(self, (key,), {}))

        def __iter__(self) -> Iterator[Any]:
            return iter(list(_member(self, iface, "Keys").read(self)))

        def keys(self) -> list[Any]:
            return list(_member(self, iface, "Keys").read(self))

        def values(self) -> list[Any]:
            return list(_member(self, iface, "Values").read(self))

        def items(self) -> list[tuple[Any, Any]]:
            return [(k, self[k]) for k in self.keys()]

        def get(self, key: Any, default: Any = None) -> Any:
            return self[key] if key in self else default

    if iface != "System.Collections.Generic.IReadOnlyDictionary`2":
        def __setitem__(self: Any, key: Any, value: Any) -> None:
            _member(self, iface, "__setitem__")(self, key, value)

        def __delitem__(self: Any, key: Any) -> None:
            if not _member(self, iface, "Remove").call(self, (key,), {}):
                raise KeyError(key)

        _Mapping.__setitem__ = __setitem__  # type: ignore[attr-defined]
        _Mapping.__delitem__ = __delitem__  # type: ignore[attr-defined]
    return _Mapping


for _name in ("System.Collections.Generic.IDictionary`2", "System.Collections.Generic.IReadOnlyDictionary`2"):
    implementation_for(_name)(_mapping(_name))


@implementation_for("System.Collections.Generic.KeyValuePair`2")
class _KeyValuePair:
    def __iter__(self) -> Iterator[Any]:
        cls = type(self)
        yield cls.__dict__["Key"].read(self)
        yield cls.__dict__["Value"].read(self)

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> Any:
        return tuple(self)[i]


@implementation_for("System.IDisposable")
class _Disposable:
    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        _member(self, "System.IDisposable", "Dispose").call(self, (), {})


def _compare(self: Any, other: Any) -> int:
    for iface in ("System.IComparable`1", "System.IComparable"):
        try:
            group = _member(self, iface, "CompareTo")
        except TypeError:
            continue
        return int(group.call(self, (other,), {}))
    raise TypeError(f"{type(self).__clr_name__} is not comparable")


@implementation_for("System.IComparable", "System.IComparable`1")
class _Comparable:
    def __lt__(self, other: Any) -> bool:
        return _compare(self, other) < 0

    def __le__(self, other: Any) -> bool:
        return _compare(self, other) <= 0

    def __gt__(self, other: Any) -> bool:
        return _compare(self, other) > 0

    def __ge__(self, other: Any) -> bool:
        return _compare(self, other) >= 0


@implementation_for("System.Array")
class _Array:
    def __len__(self) -> int:
        return int(type(self).__dict__["Length"].read(self))

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return [self[i] for i in range(*key.indices(len(self)))]
        if isinstance(key, tuple):
            return type(self).__dict__["GetValue"].call(self, (list(key),), {})
        return type(self).__dict__["GetValue"].call(self, (_index(self, key),), {})

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, tuple):
            type(self).__dict__["SetValue"].call(self, (value, list(key)), {})
            return
        type(self).__dict__["SetValue"].call(self, (value, _index(self, key)), {})

    def __bytes__(self) -> bytes:
        return bytes(list(self))


# Operators from op_* methods.
_OPERATORS = {
    "op_Addition": ("__add__", "__radd__"), "op_Subtraction": ("__sub__", "__rsub__"),
    "op_Multiply": ("__mul__", "__rmul__"), "op_Division": ("__truediv__", "__rtruediv__"),
    "op_Modulus": ("__mod__", "__rmod__"), "op_BitwiseAnd": ("__and__", "__rand__"),
    "op_BitwiseOr": ("__or__", "__ror__"), "op_ExclusiveOr": ("__xor__", "__rxor__"),
    "op_Equality": ("__eq__", None), "op_Inequality": ("__ne__", None),
    "op_LessThan": ("__lt__", None), "op_LessThanOrEqual": ("__le__", None),
    "op_GreaterThan": ("__gt__", None), "op_GreaterThanOrEqual": ("__ge__", None),
}
_UNARY = {"op_UnaryNegation": "__neg__", "op_OnesComplement": "__invert__", "op_UnaryPlus": "__pos__"}


def _binary(group: Any, reflected: bool) -> Callable[[Any, Any], Any]:
    def op(self: Any, other: Any) -> Any:
        args = (other, self) if reflected else (self, other)
        try:
            return group(*args)
        except TypeError:
            return NotImplemented

    return op


def _unary(group: Any) -> Callable[[Any], Any]:
    def op(self: Any) -> Any:
        return group(self)

    return op


def apply_protocols(cls: Any, info: _typeinfo.TypeInfo) -> None:
    names = [info.full_name] + [
        (_typeinfo.info(c.generic_def_id).full_name if c.generic_def_id else c.full_name)
        for c in (_typeinfo.info(i) for i in info.interfaces)
    ]
    if info.generic_def_id:  # a constructed generic struct (ValueTask<int>) by its definition too
        names.insert(1, _typeinfo.info(info.generic_def_id).full_name)
    if info.kind == "array":  # after the array's own name (System.Byte[]), before its interfaces
        names.insert(1, "System.Array")
    own = dict(cls.__dict__)
    for name in names:
        proto = _PROTOCOLS.get(name)
        if proto is None:
            continue
        for attr, fn in vars(proto).items():
            if attr.startswith("__") and attr not in ("__dict__", "__module__", "__weakref__", "__doc__",
                                                      "__qualname__") or attr in ("keys", "values", "items", "get"):
                if attr not in own:
                    type.__setattr__(cls, attr, fn)
                    own[attr] = fn
    for op_name, (forward, backward) in _OPERATORS.items():
        group = cls.__dict__.get(op_name)
        if group is None:
            continue
        type.__setattr__(cls, forward, _binary(group, False))
        if forward == "__eq__":
            type.__setattr__(cls, "__hash__", cls.__mro__[1].__hash__)
        if backward:
            type.__setattr__(cls, backward, _binary(group, True))
    for op_name, dunder in _UNARY.items():
        group = cls.__dict__.get(op_name)
        if group is not None:
            type.__setattr__(cls, dunder, _unary(group))


# Feature modules that register more prototypes (imported last: they use the helpers above).
from . import _async, _buffers  # noqa: E402, F401
