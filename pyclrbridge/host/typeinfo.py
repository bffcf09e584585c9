"""What the shim says about a .NET type, cached per type id (plain immutable data)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

from . import bridge as _bridge


@dataclass(frozen=True)
class TypeInfo:
    id: int
    name: str
    full_name: str
    namespace: str
    assembly: str
    display: str
    kind: str  # class, struct, interface, enum, delegate, array, generic-param, byref, pointer
    type_code: str
    value_type: bool
    abstract: bool
    static: bool
    generic_def: bool
    open: bool
    generic_def_id: int
    generic_args: tuple[int, ...]
    base: int
    interfaces: tuple[int, ...]
    element: int
    rank: int
    nullable_of: int
    declaring: int
    position: int
    method_param: bool
    enum_underlying: str
    flags: bool
    visible: bool = True  # public, and nested only in public types (else only its public face is shown)
    invoke_return: int = 0  # delegates: the return type of Invoke (0 for void)
    enumerable_pattern: bool = False  # not IEnumerable, but has C#'s foreach pattern (GetEnumerator)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TypeInfo:
        return cls(
            id=d["id"],
            name=d["name"],
            full_name=d["fullName"],
            namespace=d["namespace"],
            assembly=d["assembly"],
            display=d["display"],
            kind=d["kind"],
            type_code=d["typeCode"],
            value_type=d["valueType"],
            abstract=d["abstract"],
            static=d["static"],
            generic_def=d["genericDef"],
            open=d["open"],
            generic_def_id=d.get("genericDefId", 0),
            generic_args=tuple(d["genericArgs"]),
            base=d.get("base", 0),
            interfaces=tuple(d["interfaces"]),
            element=d.get("element", 0),
            rank=d.get("rank", 0),
            nullable_of=d.get("nullableOf", 0),
            declaring=d.get("declaring", 0),
            position=d.get("position", -1),
            method_param=d.get("methodParam", False),
            enum_underlying=d.get("enumUnderlying", ""),
            flags=d.get("flags", False),
            visible=d.get("visible", True),
            invoke_return=d.get("invokeReturn", 0),
            enumerable_pattern=d.get("enumerablePattern", False),
        )


# Pure memo of immutable data: a lost race computes the same value and setdefault keeps one.
_infos: dict[int, TypeInfo] = {}
_assignable: dict[tuple[int, int], int] = {}
_by_name: dict[str, int] = {}


def info(type_id: int) -> TypeInfo:
    found = _infos.get(type_id)
    if found is None:
        s = _bridge.shim()
        found = TypeInfo.from_json(_bridge.json_call(s.DescribeType, type_id, 0))
        found = _infos.setdefault(type_id, found)
    return found


def members(type_id: int) -> dict[str, Any]:
    """The member table (not cached here: the class builder reads it once per type)."""
    return dict(_bridge.json_call(_bridge.shim().DescribeType, type_id, 1))


def assignable(to_id: int, from_id: int) -> int:
    """1: a ``from_id`` value is a ``to_id``; 2: only through an implicit conversion; 0: no."""
    key = (to_id, from_id)
    found = _assignable.get(key)
    if found is None:
        found = _assignable.setdefault(key, int(_bridge.shim().IsAssignable(to_id, from_id)))
    return found


def id_by_name(name: str) -> int:
    """Type id for a full or assembly-qualified name; 0 when no loaded assembly has it."""
    found = _by_name.get(name)
    if found is None:
        found = _bridge.find_type_id(name)
        if found:
            found = _by_name.setdefault(name, found)
    return found


def make_generic(def_id: int, arg_ids: list[int], *, method: bool = False) -> int:
    arr = (ctypes.c_int32 * max(len(arg_ids), 1))(*arg_ids)
    out = ctypes.c_int32()
    try:
        _bridge.call_export(
            _bridge.shim().MakeGeneric, def_id, 1 if method else 0, arr, len(arg_ids), ctypes.byref(out)
        )
    except ValueError as refused:  # an ArgumentException: type arguments that break a constraint
        raise TypeError(str(refused)) from refused
    return out.value


def array_type(element_id: int, rank: int = 1) -> int:
    return int(_bridge.shim().MakeArrayType(element_id, rank))


def substitute(type_id: int, method_args: tuple[int, ...]) -> int:
    """``type_id`` with the generic method parameters (``T`` of ``M<T>``) replaced by ``method_args``."""
    t = info(type_id)
    if not t.open:
        return type_id
    if t.kind == "generic-param":
        if t.method_param and 0 <= t.position < len(method_args):
            return method_args[t.position]
        return type_id
    if t.kind == "array":
        return array_type(substitute(t.element, method_args), t.rank)
    if t.generic_def_id:
        return make_generic(t.generic_def_id, [substitute(a, method_args) for a in t.generic_args])
    return type_id
