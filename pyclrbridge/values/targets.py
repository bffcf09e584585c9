"""The .NET side of a conversion: integer ranges, target types (``Nullable<T>`` unwrapped),
the generic collections Python sequences and mappings become, and the .NET types Python types
stand for (``int`` is System.Int32)."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

from ..host import typeinfo as _typeinfo

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1

#: Range of every .NET integer type, by type code.
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "SByte": (-(2**7), 2**7 - 1),
    "Byte": (0, 2**8 - 1),
    "Int16": (-(2**15), 2**15 - 1),
    "UInt16": (0, 2**16 - 1),
    "Int32": (-(2**31), 2**31 - 1),
    "UInt32": (0, 2**32 - 1),
    "Int64": (INT64_MIN, INT64_MAX),
    "UInt64": (0, UINT64_MAX),
}
SINGLE_MAX = 3.4028234663852886e38
DECIMAL_MAX = 2**96 - 1  # largest |mantissa| of System.Decimal; scale is 0..28
DECIMAL_MAX_SCALE = 28
#: array.array type codes whose items have exactly the layout of the .NET element type.
_BUFFER_CODES: dict[str, str] = {
    "SByte": "b",
    "Byte": "B",
    "Int16": "h",
    "UInt16": "H",
    "Int32": "i",
    "UInt32": "I",
    "Int64": "q",
    "UInt64": "Q",
    "Single": "f",
    "Double": "d",
}
_EPOCH = datetime.datetime(1, 1, 1)
_TICKS_PER_SECOND = 10_000_000
_TICKS_PER_DAY = 86_400 * _TICKS_PER_SECOND
_TIMESPAN_TICKS = (INT64_MIN, INT64_MAX)
SEQUENCE_DEFS = frozenset(
    {
        "System.Collections.Generic.List`1",
        "System.Collections.Generic.IList`1",
        "System.Collections.Generic.ICollection`1",
        "System.Collections.Generic.IEnumerable`1",
        "System.Collections.Generic.IReadOnlyList`1",
        "System.Collections.Generic.IReadOnlyCollection`1",
        "System.Collections.Generic.HashSet`1",
        "System.Collections.Generic.ISet`1",
    }
)
MAP_DEFS = frozenset(
    {
        "System.Collections.Generic.Dictionary`2",
        "System.Collections.Generic.IDictionary`2",
        "System.Collections.Generic.IReadOnlyDictionary`2",
    }
)

#: Sequences a Mapping's items fill as ``KeyValuePair<K, V>`` pairs, in order (a ``List`` of them).
PAIR_SEQUENCE_DEFS = frozenset(
    {
        "System.Collections.Generic.IEnumerable`1",
        "System.Collections.Generic.ICollection`1",
        "System.Collections.Generic.IReadOnlyCollection`1",
        "System.Collections.Generic.IList`1",
        "System.Collections.Generic.IReadOnlyList`1",
        "System.Collections.Generic.List`1",
    }
)
_PAIR_DEF = "System.Collections.Generic.KeyValuePair`2"


def pair_types(t: _typeinfo.TypeInfo | None) -> tuple[int, int] | None:
    """The key and value type ids when ``t`` is a sequence of ``KeyValuePair<K, V>`` that a
    Mapping's items fill (``IEnumerable<KeyValuePair<string, string>>``); None otherwise."""
    if t is None or not t.generic_def_id or len(t.generic_args) != 1:
        return None
    if _typeinfo.info(t.generic_def_id).full_name not in PAIR_SEQUENCE_DEFS:
        return None
    pair = _typeinfo.info(t.generic_args[0])
    if not pair.generic_def_id or len(pair.generic_args) != 2:
        return None
    if _typeinfo.info(pair.generic_def_id).full_name != _PAIR_DEF:
        return None
    return pair.generic_args[0], pair.generic_args[1]


#: Span definitions -> whether .NET may write through them.
_SPAN_DEFS = {"System.Span`1": True, "System.ReadOnlySpan`1": False}
_PRIMITIVE_CODES = frozenset(
    {"Boolean", "Char", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Single", "Double"}
)
# span_of per type id: a pure memo (type infos never change), published with setdefault.
_spans: dict[int, tuple[int, bool] | None] = {}


def span_of(t: _typeinfo.TypeInfo | None) -> tuple[int, bool] | None:
    """``(T[] type id, writable)`` when ``t`` is ``Span<T>`` (writable) or ``ReadOnlySpan<T>`` of a
    primitive ``T``: a parameter the shim passes as a ``T[]`` made from the value, wrapped in the
    span for the call. None for any other type."""
    if t is None or not t.generic_def_id:
        return None
    found = _spans.get(t.id, ())
    if found != ():
        return found  # type: ignore[return-value]
    result: tuple[int, bool] | None = None
    writable = _SPAN_DEFS.get(_typeinfo.info(t.generic_def_id).full_name)
    if writable is not None and len(t.generic_args) == 1:
        element = _typeinfo.info(t.generic_args[0])
        if element.kind != "enum" and element.type_code in _PRIMITIVE_CODES:
            result = (_typeinfo.array_type(element.id), writable)
    return _spans.setdefault(t.id, result)


def datetime_to_ticks(dt: datetime.datetime) -> int:
    """.NET ticks (100 ns since 0001-01-01) of a datetime; aware values count in UTC."""
    if dt.tzinfo is not None and dt.utcoffset() is not None:
        dt = dt.astimezone(datetime.UTC)
    return timedelta_to_ticks(dt.replace(tzinfo=None) - _EPOCH)


def timedelta_to_ticks(td: datetime.timedelta) -> int:
    return td.days * _TICKS_PER_DAY + td.seconds * _TICKS_PER_SECOND + td.microseconds * 10


# ---- target types -------------------------------------------------------------------------

# _target per type id: a pure memo (type infos never change), published with setdefault.
_targets: dict[int, tuple[_typeinfo.TypeInfo | None, bool]] = {}


def _target(type_id: int) -> tuple[_typeinfo.TypeInfo | None, bool]:
    """The parameter type to check against (Nullable<T> unwrapped), and whether null is allowed."""
    found = _targets.get(type_id)
    if found is None:
        found = _targets.setdefault(type_id, _find_target(type_id))
    return found


def _find_target(type_id: int) -> tuple[_typeinfo.TypeInfo | None, bool]:
    if not type_id:
        return None, True
    t = _typeinfo.info(type_id)
    if t.nullable_of:
        return _typeinfo.info(t.nullable_of), True
    if t.kind == "generic-param" or t.open:
        return None, True
    return t, not t.value_type


def type_label(t: _typeinfo.TypeInfo) -> str:
    return f"{t.namespace}.{t.display}" if t.namespace else t.display


def _element_of(t: _typeinfo.TypeInfo | None) -> int:
    """Element type id of an array or generic sequence target (0: unknown / object)."""
    if t is None:
        return 0
    if t.kind == "array":
        return t.element
    if t.generic_def_id and t.generic_args and _typeinfo.info(t.generic_def_id).full_name in SEQUENCE_DEFS:
        return t.generic_args[0]
    return 0


def _integer_range_error(x: int, t: _typeinfo.TypeInfo) -> OverflowError:
    if t.type_code == "Enum":
        lo, hi = INTEGER_RANGES[t.enum_underlying]
        return OverflowError(f"{x} is out of range for {type_label(t)} (a System.{t.enum_underlying}: {lo} to {hi})")
    lo, hi = INTEGER_RANGES[t.type_code]
    return OverflowError(f"{x} is out of range for {type_label(t)} ({lo} to {hi})")


#: Python types that stand for .NET types in generic arguments and Type parameters.
PYTHON_TYPE_NAMES: dict[type, str] = {
    int: "System.Int32",
    float: "System.Double",
    str: "System.String",
    bool: "System.Boolean",
    object: "System.Object",
    bytes: "System.Byte[]",
    decimal.Decimal: "System.Decimal",
    datetime.datetime: "System.DateTime",
    datetime.timedelta: "System.TimeSpan",
    uuid.UUID: "System.Guid",
}


def type_id_for(t: Any) -> int:
    """The .NET type id a Python type argument stands for (``int`` -> System.Int32...)."""
    if isinstance(t, type) and t.__dict__.get("__clr_type_id__"):  # a proxy class
        return int(t.__dict__["__clr_type_id__"])
    if isinstance(t, type) and t in PYTHON_TYPE_NAMES:
        return _typeinfo.id_by_name(PYTHON_TYPE_NAMES[t])
    if isinstance(t, str):
        found = _typeinfo.id_by_name(t)
        if found:
            return found
        raise LookupError(f"no .NET type named {t!r}")
    raise TypeError(f"{t!r} does not name a .NET type (use a .NET class or int, float, str, bool, object)")


def _decimal_text(d: decimal.Decimal) -> str:
    """Invariant text of a Decimal that System.Decimal holds exactly; else a clear error."""
    if not d.is_finite():
        raise ValueError(f"System.Decimal has no {d} (only finite values)")
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits)) or "0")
    if mantissa == 0:
        return "0"  # 0E-1000000 or 0E+99: no need to scale anything
    if exponent > DECIMAL_MAX_SCALE + 1:  # at least 10**30 > 2**96: decided without building it
        raise OverflowError(f"{d} is out of range for System.Decimal (±{DECIMAL_MAX})")
    scale = -exponent
    while scale > DECIMAL_MAX_SCALE and mantissa % 10 == 0:  # 1.000...0 with trailing zeros
        mantissa //= 10
        scale -= 1
    if scale < 0:
        mantissa *= 10**-scale
        scale = 0
    if mantissa > DECIMAL_MAX:
        if scale == 0:
            raise OverflowError(f"{d} is out of range for System.Decimal (±{DECIMAL_MAX})")
        raise ValueError(
            f"{d} has more significant digits than System.Decimal holds exactly (a 96-bit integer scaled by 10**-0..28)"
        )
    if scale > DECIMAL_MAX_SCALE:
        raise ValueError(f"{d} has more than {DECIMAL_MAX_SCALE} decimal places: System.Decimal cannot hold it exactly")
    text = str(mantissa)
    if scale:
        text = text.rjust(scale + 1, "0")
        text = f"{text[:-scale]}.{text[-scale:]}"
    return ("-" if sign else "") + text
