"""Conversion operators as Python's conversion protocols (issue 29.8).

A .NET type's user-defined conversions (``op_Implicit``, ``op_Explicit``, and C# 11's
``op_CheckedExplicit``) from the type to a .NET type that stands for a Python one give the
matching protocol, so ``int(jvalue)`` is C#'s ``(long)jvalue``:

========================================  ===============================  ====================
conversion from the type to               Python protocol                  which conversions
========================================  ===============================  ====================
``Int64``, ``UInt64``, ... ``Byte``       ``int()`` (``__int__``)          explicit or implicit
the same                                  ``operator.index()``,            implicit only
                                          ``xs[obj]`` (``__index__``)      (lossless)
``Double``, ``Single``, ``Half``,         ``float()`` (``__float__``)      explicit or implicit
``Decimal``
``Boolean`` (or ``operator true``)        ``bool()``, ``if obj:``          implicit only
``byte[]``                                ``bytes()`` (``__bytes__``)      explicit or implicit
========================================  ===============================  ====================

``int()`` tries the widest integer conversion first (a checked one when the type has it) and
falls back to the next on ``OverflowError`` (a value above ``Int64.MaxValue`` through
``UInt64``). ``BigInteger``, ``Int128`` and ``UInt128`` are integers of any size: their
``int()`` and ``operator.index()`` are exact. ``bool()`` and ``operator.index()`` follow C#,
which uses only implicit conversions where it needs a ``bool`` (``if (x)``) or an integer
(``xs[x]``): an explicit conversion may lose information or throw (a Newtonsoft ``JValue``
holding text), so it is never called implicitly. ``str()`` stays ``ToString()``: a conversion
to ``String`` is reached as a cast, ``System.String(obj)``. A protocol the class already
defines is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..host import typeinfo as _typeinfo
from .catalog import class_by_name
from .members import MethodGroup
from .signatures import Overload

#: Integer targets, widest first; signed before unsigned of the same width. Read-only.
_INTEGERS = ("Int64", "UInt64", "Int32", "UInt32", "Int16", "UInt16", "SByte", "Byte")
#: Floating-point targets by full name, most precise binary type first. Read-only.
_FLOATS = ("System.Double", "System.Single", "System.Half", "System.Decimal")
#: .NET integers wider than 64 bits: int() reads their decimal digits. Read-only.
_BIG_INTEGERS = frozenset({"System.Numerics.BigInteger", "System.Int128", "System.UInt128"})
#: Which operator wins when a type declares several to one target. Read-only.
_PREFERENCE = {"op_CheckedExplicit": 0, "op_Implicit": 1, "op_Explicit": 2}


def _target_key(ret: int) -> str:
    t = _typeinfo.info(ret)
    if t.kind == "array" and t.rank == 1 and _typeinfo.info(t.element).full_name == "System.Byte":
        return "bytes"
    if t.kind == "struct" and t.type_code in _INTEGERS and not t.nullable_of:
        return t.type_code
    return t.full_name


def _conversions(
    info: _typeinfo.TypeInfo, groups: Mapping[str, Sequence[Overload]]
) -> dict[str, tuple[Overload, bool]]:
    """Target key -> (the conversion operator from ``info``'s type to it, implicit?)."""
    found: dict[str, tuple[Overload, bool]] = {}
    for name in _PREFERENCE:
        for o in groups.get(name, ()):
            if not o.static or len(o.params) != 1 or not o.ret or o.params[0].byref:
                continue
            source = o.params[0].type_id
            if source != info.id and _typeinfo.assignable(source, info.id) != 1:
                continue  # a conversion *to* this type (op_Implicit(double): Meters)
            key = _target_key(o.ret)
            prior = found.get(key)
            if prior is None or _PREFERENCE[name] < _PREFERENCE[prior[0].name]:
                found[key] = (o, name == "op_Implicit")
    return found


def conversion_plan(info: _typeinfo.TypeInfo, groups: Mapping[str, Sequence[Overload]]) -> dict[str, list[Overload]]:
    """Protocol name -> the operators it calls, in the order it tries them (an empty list:
    ``int()`` of a big integer from its digits). ``groups``: the type's own overloads of
    ``op_Implicit``, ``op_Explicit``, ``op_CheckedExplicit`` and ``op_True`` by name. Shared by
    the proxies and the stub generator, so stubs promise exactly what a proxy has."""
    plan: dict[str, list[Overload]] = {}
    if info.full_name in _BIG_INTEGERS:
        plan["__int__"] = plan["__index__"] = []
    ops = _conversions(info, groups)
    ints = [ops[k] for k in _INTEGERS if k in ops]
    if ints:
        plan.setdefault("__int__", [o for o, _ in ints])
    lossless = [o for o, implicit in ints if implicit]
    if lossless:
        plan.setdefault("__index__", lossless)
    floats = [ops[k][0] for k in _FLOATS if k in ops]
    if floats:
        plan["__float__"] = floats[:1]
    if "bytes" in ops:
        plan["__bytes__"] = [ops["bytes"][0]]
    boolean = ops.get("System.Boolean")
    if boolean is not None and boolean[1]:
        plan["__bool__"] = [boolean[0]]
    else:
        truth = [o for o in groups.get("op_True", ()) if o.static and len(o.params) == 1]
        if truth:
            plan["__bool__"] = truth[:1]
    return plan


def _caller(cls: Any, o: Overload) -> Callable[[Any], Any]:
    group = MethodGroup(o.name, cls.__clr_name__, (o,))  # only this overload: no choice by result type
    return lambda obj: group.call(None, (obj,), {})


def _first_fitting(calls: list[Callable[[Any], Any]], name: str) -> Callable[[Any], int]:
    """``int()`` through the first conversion whose range holds the value."""

    def convert(self: Any) -> int:
        try:
            return int(calls[0](self))
        except OverflowError as first:
            for call in calls[1:]:  # out of the widest type's range: an unsigned one may hold it
                try:
                    return int(call(self))
                except OverflowError:
                    continue
            raise first from None  # the widest type's message

    convert.__name__ = name
    return convert


def _big_integer(self: Any) -> int:
    invariant = class_by_name("System.Globalization.CultureInfo").InvariantCulture
    return int(str(self.ToString("D", invariant)))


def _float_of(call: Callable[[Any], Any]) -> Callable[[Any], float]:
    def __float__(self: Any) -> float:
        return float(call(self))  # Half comes back as a .NET Half: its own __float__ (Double)

    return __float__


def _bytes_of(call: Callable[[Any], Any]) -> Callable[[Any], bytes]:
    def __bytes__(self: Any) -> bytes:
        return bytes(call(self))

    return __bytes__


def _bool_of(call: Callable[[Any], Any]) -> Callable[[Any], bool]:
    def __bool__(self: Any) -> bool:
        return bool(call(self))

    return __bool__


#: The operators conversion_plan reads, by name. Read-only.
CAST_OPERATORS = (*_PREFERENCE, "op_True")
#: What each protocol returns, for the stub generator too. Read-only.
RESULTS = {"__int__": "int", "__index__": "int", "__float__": "float", "__bytes__": "bytes", "__bool__": "bool"}


def apply_casts(cls: Any, info: _typeinfo.TypeInfo) -> None:
    """Give a freshly built proxy class the conversion protocols of its conversion operators."""
    groups = {
        name: group.overloads_list
        for name in CAST_OPERATORS
        if isinstance(group := cls.__dict__.get(name), MethodGroup)
    }
    for dunder, ops in conversion_plan(info, groups).items():
        if dunder in cls.__dict__:
            continue  # the class's own
        calls = [_caller(cls, o) for o in ops]
        if not ops:
            fn: Any = _big_integer
        elif dunder in ("__int__", "__index__"):
            fn = _first_fitting(calls, dunder)
        elif dunder == "__float__":
            fn = _float_of(calls[0])
        elif dunder == "__bytes__":
            fn = _bytes_of(calls[0])
        else:
            fn = _bool_of(calls[0])
        type.__setattr__(cls, dunder, fn)
