"""Enum values as Python objects: one proxy per (enum type, value), boxed in .NET once."""

from __future__ import annotations

import ctypes
from typing import Any

from ..host import bridge as _bridge
from ..host.shim import Kind, Value
from .catalog import class_for

#: The underlying types of enums that are signed, and the size in bytes of each.
SIGNED = frozenset({"SByte", "Int16", "Int32", "Int64"})
SIZES = {"SByte": 1, "Byte": 1, "Int16": 2, "UInt16": 2, "Int32": 4, "UInt32": 4, "Int64": 8, "UInt64": 8}

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
