"""The conversion rules for single values (:mod:`.convert` holds the table and the rules for
collections): ``None``, ``bool``, ``int`` (range-checked against the parameter's integer type;
a ``Char`` code point under pythonnet's rule), ``float``, ``str``, ``Decimal``, ``datetime``,
``timedelta``, ``UUID`` and a Python type standing for a .NET one."""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable
from typing import Any

from ..host import typeinfo as _typeinfo
from ..host.shim import KindInt as Kind  # plain ints: IntEnum member reads are slow on every call
from ..host.shim import Value, utf16
from .targets import (
    _TIMESPAN_TICKS,
    INT64_MAX,
    INT64_MIN,
    INTEGER_RANGES,
    SINGLE_MAX,
    UINT64_MAX,
    _decimal_text,
    _integer_range_error,
    datetime_to_ticks,
    timedelta_to_ticks,
    type_id_for,
    type_label,
)

#: A conversion rule: ``rule(obj, v, keep, t, nullable)`` writes ``obj`` into ``v`` for the
#: parameter type ``t`` (None: not known), keeping what ``v`` points at alive in ``keep``.
Rule = Callable[[Any, Value, list[Any], "_typeinfo.TypeInfo | None", bool], None]


def _write_int(v: Value, x: int) -> None:
    if INT64_MIN <= x <= INT64_MAX:
        v.kind = Kind.INT64
        v.i = x
    elif 0 <= x <= UINT64_MAX:
        v.kind = Kind.UINT64
        v.u = x
    else:
        raise OverflowError(f"{x} does not fit in any .NET integer type (Int64 or UInt64)")


def _none(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    if not nullable and t is not None:
        raise TypeError(
            f"None cannot be passed as {type_label(t)}: it is a value type "
            f"(a parameter of type {t.display}? would accept None)"
        )
    v.kind = Kind.NULL
    v.i = 0


def _bool(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    v.kind = Kind.BOOL
    v.i = 1 if obj else 0


# pythonnet's rule (an int where a Char is wanted is its code point), switched on by
# pyclrbridge.compat. One bool, replaced whole; read on each conversion and scoring.
_int_as_char = [False]


def accept_int_for_char(enabled: bool) -> bool:
    """Take an ``int`` in 0..65535 where a ``System.Char`` is wanted, as its code point, as
    pythonnet does (``True``), or refuse it (``False``, the default: a Char is a one-character
    ``str``). Returns the previous setting."""
    previous = _int_as_char[0]
    _int_as_char[0] = bool(enabled)
    return previous


def int_fits_char(x: int) -> bool:
    """Whether ``x`` passes as a ``System.Char`` (only under `accept_int_for_char`)."""
    return _int_as_char[0] and 0 <= x <= 0xFFFF


def _int(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    x = int(obj)
    if t is not None:
        code = t.type_code
        if code == "Char":
            if not int_fits_char(x):
                raise TypeError(f"an int cannot be passed as {type_label(t)} (pass a one-character str)")
            _str(chr(x), v, keep, t, nullable)
            return
        if code == "Enum":  # checked against the underlying type, never wrapped (2**32 + 3 is not 3)
            code = t.enum_underlying
        rng = INTEGER_RANGES.get(code)
        if rng is not None:
            if not rng[0] <= x <= rng[1]:
                raise _integer_range_error(x, t)
        elif code == "Boolean":
            raise TypeError(f"an int cannot be passed as {type_label(t)} (pass True or False, e.g. bool(n))")
        elif code in ("Double", "Single"):
            try:
                d = float(x)
            except OverflowError:
                raise OverflowError(f"{x} is out of range for {type_label(t)}") from None
            _float(d, v, keep, t, nullable)
            return
        elif code == "Decimal" and not INT64_MIN <= x <= UINT64_MAX:
            _decimal(decimal.Decimal(x), v, keep, t, nullable)
            return
    _write_int(v, x)


_NUMERIC_CODES = frozenset({*INTEGER_RANGES, "Double", "Single", "Decimal"})


def _float(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    d = float(obj)
    if t is not None and (t.type_code in INTEGER_RANGES or t.type_code == "Enum"):
        raise TypeError(f"a float cannot be passed as {type_label(t)} (no silent rounding: use int() or round())")
    if t is not None and t.type_code == "Single" and math.isfinite(d) and abs(d) > SINGLE_MAX:
        raise OverflowError(f"{d!r} is out of range for System.Single (±{SINGLE_MAX!r})")
    v.kind = Kind.DOUBLE
    v.d = d


def _str(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    data, n = utf16(str(obj))
    if t is not None and (t.type_code in _NUMERIC_CODES or t.type_code == "Boolean") and t.kind != "enum":
        raise TypeError(f"a str cannot be passed as {type_label(t)} (parse it first, e.g. int(text))")
    if t is not None and t.type_code == "Char" and n != 1:
        raise TypeError(f"a System.Char is one UTF-16 code unit; got a str of length {len(obj)}: {obj!r}")
    keep.append(data)  # a callback result Value's own keepalive dies with the callback (use-after-free)
    v.kind = Kind.STRING
    v.s = data
    v.extra = n


def _decimal(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    if t is not None and t.type_code in ("Double", "Single"):
        _float(float(obj), v, keep, t, nullable)
        return
    data, n = utf16(_decimal_text(obj))
    keep.append(data)
    v.kind = Kind.DECIMAL
    v.s = data
    v.extra = n


def _datetime(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    aware = obj.tzinfo is not None and obj.utcoffset() is not None
    v.kind = Kind.DATETIME
    v.i = datetime_to_ticks(obj)
    v.extra = 1 if aware else 0  # DateTimeKind.Utc / Unspecified


def _timedelta(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    ticks = timedelta_to_ticks(obj)
    if not _TIMESPAN_TICKS[0] <= ticks <= _TIMESPAN_TICKS[1]:
        raise OverflowError(f"{obj} is out of range for System.TimeSpan")
    v.kind = Kind.TIMESPAN
    v.i = ticks


def _uuid(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    data = obj.bytes_le  # the byte order of System.Guid(byte[])
    keep.append(data)
    v.kind = Kind.GUID
    v.s = data


def _python_type(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    v.kind = Kind.TYPE
    v.extra = type_id_for(obj)
