"""Python <-> .NET values: one table of rules, plus user codecs.

``to_value`` writes a Python object into a :class:`Value` (keeping any memory it points at
alive through ``keep``); ``from_value`` turns a result value back into a Python object.
"""

from __future__ import annotations

import array
import ctypes
import datetime
import decimal
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from . import _bridge
from ._shim import Kind, Value, read_string, utf16

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1
_EPOCH = datetime.datetime(1, 1, 1)
_TICKS_PER_DAY = 864_000_000_000


def datetime_to_ticks(dt: datetime.datetime) -> int:
    delta = dt.replace(tzinfo=None) - _EPOCH
    return timedelta_to_ticks(delta)


def timedelta_to_ticks(td: datetime.timedelta) -> int:
    return td.days * _TICKS_PER_DAY + td.seconds * 10_000_000 + td.microseconds * 10


# Codecs: (python type, encoder) tried in order before the built-in rules.
# Owner: _codecs_lock guards registration; readers take a snapshot tuple (one atomic read).
_codecs_lock = threading.Lock()
_encoders: tuple[tuple[type, Callable[[Any], Any]], ...] = ()
_decoders: dict[str, Callable[[Any], Any]] = {}


def register_codec(
    python_type: type | None = None,
    encode: Callable[[Any], Any] | None = None,
    *,
    clr_type: str | None = None,
    decode: Callable[[Any], Any] | None = None,
) -> None:
    """Register a custom conversion.

    ``encode`` turns instances of ``python_type`` into something the built-in rules know
    (a .NET object, a number, a string, a list...) whenever they are passed to .NET.
    ``decode`` is applied to every .NET object of type ``clr_type`` (full name) returned to
    Python, and its result is what Python sees.
    """
    global _encoders
    with _codecs_lock:
        if python_type is not None and encode is not None:
            _encoders = (*_encoders, (python_type, encode))
        if clr_type is not None and decode is not None:
            _decoders[clr_type] = decode


def _write_int(v: Value, x: int) -> None:
    if INT64_MIN <= x <= INT64_MAX:
        v.kind = Kind.INT64
        v.i = x
    elif 0 <= x <= UINT64_MAX:
        v.kind = Kind.UINT64
        v.u = x
    else:
        raise OverflowError(f"{x} does not fit in any .NET integer type (Int64 or UInt64)")


def to_value(obj: Any, v: Value, keep: list[Any]) -> None:
    """Write ``obj`` into ``v``; objects whose memory ``v`` points at are appended to ``keep``."""
    from ._callbacks import register
    from ._proxy import ClrEnum, ClrMeta, handle_of

    encoders = _encoders
    if encoders:
        for py_type, encode in encoders:
            if isinstance(obj, py_type):
                obj = encode(obj)
                break
    if obj is None:
        v.kind = Kind.NULL
        v.i = 0
        return
    t = type(obj)
    if t is bool:
        v.kind = Kind.BOOL
        v.i = 1 if obj else 0
    elif t is int:
        _write_int(v, obj)
    elif t is float:
        v.kind = Kind.DOUBLE
        v.d = obj
    elif t is str:
        data, n = utf16(obj)
        v.kind = Kind.STRING
        v.s = data
        v.extra = n
    elif isinstance(obj, ClrEnum):
        v.kind = Kind.ENUM
        v.i = obj._value
        v.extra = type(obj).__clr_type_id__
    elif (h := handle_of(obj)) is not None:
        v.kind = Kind.OBJECT
        v.i = h
    elif isinstance(obj, ClrMeta):
        v.kind = Kind.TYPE
        v.extra = obj.__clr_type_id__
    elif isinstance(obj, type) and obj in PYTHON_TYPE_NAMES:
        from ._types import type_id_for

        v.kind = Kind.TYPE
        v.extra = type_id_for(obj)
    elif isinstance(obj, int):  # int subclasses (IntEnum, numpy ints via __index__ are below)
        _write_int(v, int(obj))
    elif isinstance(obj, float):
        v.kind = Kind.DOUBLE
        v.d = float(obj)
    elif isinstance(obj, str):
        to_value(str(obj), v, keep)
    elif isinstance(obj, decimal.Decimal):
        data, n = utf16(format(obj, "f") if obj.is_finite() else str(obj))
        v.kind = Kind.DECIMAL
        v.s = data
        v.extra = n
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        v.kind = Kind.BYTES
        v.s = data
        v.extra = len(data)
    elif isinstance(obj, datetime.datetime):
        _write_int(v, datetime_to_ticks(obj))
    elif isinstance(obj, datetime.timedelta):
        _write_int(v, timedelta_to_ticks(obj))
    elif isinstance(obj, uuid.UUID):
        to_value(str(obj), v, keep)
    elif isinstance(obj, Mapping):
        items = (Value * max(2 * len(obj), 1))()
        for i, (key, value) in enumerate(obj.items()):
            to_value(key, items[2 * i], keep)
            to_value(value, items[2 * i + 1], keep)
        keep.append(items)
        v.kind = Kind.MAP
        v.p = ctypes.addressof(items)
        v.extra = len(obj)
    elif isinstance(obj, array.array) and obj.typecode in "bBhHiIlLqQfd":
        keep.append(obj)
        address, count = obj.buffer_info()
        v.kind = Kind.BUFFER
        v.p = address
        v.extra = count
    elif isinstance(obj, (list, tuple, range)):
        items = (Value * max(len(obj), 1))()
        for i, item in enumerate(obj):
            to_value(item, items[i], keep)
        keep.append(items)
        v.kind = Kind.LIST
        v.p = ctypes.addressof(items)
        v.extra = len(obj)
    else:
        v.kind = Kind.PYOBJECT
        v.i = register(obj)


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


def from_value(v: Value) -> Any:
    """The Python object for a result value. Takes ownership of any handle in it."""
    kind = v.kind
    if kind == Kind.INT64:
        return v.i
    if kind == Kind.STRING:
        return read_string(v)
    if kind == Kind.OBJECT:
        from ._proxy import wrap

        obj = wrap(v.i, v.extra)
        if _decoders:
            decode = _decoders.get(type(obj).__clr_name__)
            if decode is not None:
                return decode(obj)
        return obj
    if kind == Kind.DOUBLE:
        return v.d
    if kind == Kind.BOOL:
        return v.i != 0
    if kind in (Kind.NULL, Kind.VOID):
        return None
    if kind == Kind.ENUM:
        from ._proxy import enum_value

        return enum_value(v.extra, v.i)
    if kind == Kind.UINT64:
        return v.u
    if kind == Kind.CHAR:
        return chr(v.i)
    if kind == Kind.DECIMAL:
        return decimal.Decimal(read_string(v))
    if kind == Kind.PYOBJECT:
        from ._callbacks import lookup

        return lookup(v.i)
    raise TypeError(f"unexpected value kind {_bridge.kind_name(kind)} from .NET")
