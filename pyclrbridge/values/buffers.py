""".NET arrays from Python buffers and lists of numbers, in block copies.

A one-dimensional contiguous Python buffer whose items are exactly the element type
(``bytearray``, ``array.array``, ``memoryview``, numpy) is copied into a new ``T[]`` in one
block; a long list of numbers is packed block by block. The element table here is shared with
the zero-copy views of .NET arrays (:mod:`pyclrbridge.proxies.arrays`).
"""

from __future__ import annotations

import array
import ctypes
import sys
import threading
import weakref
from typing import Any

from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..host.locks import SignalSafeFlag, SignalSafeLock
from . import codecs as _codecs
from . import exports as _exports
from .objects import forget, handle_of, register

__all__ = ["ELEMENTS", "array_from_buffer", "array_from_list", "element_name", "lend"]

# .NET TypeCode of the element -> (struct format, item size, .NET element type name).
# Read-only after import: no lock.
ELEMENTS: dict[int, tuple[str, int, str]] = {
    3: ("?", 1, "System.Boolean"),
    4: ("H", 2, "System.Char"),  # UTF-16 code units
    5: ("b", 1, "System.SByte"),
    6: ("B", 1, "System.Byte"),
    7: ("h", 2, "System.Int16"),
    8: ("H", 2, "System.UInt16"),
    9: ("i", 4, "System.Int32"),
    10: ("I", 4, "System.UInt32"),
    11: ("q", 8, "System.Int64"),
    12: ("Q", 8, "System.UInt64"),
    13: ("f", 4, "System.Single"),
    14: ("d", 8, "System.Double"),
}

# Python buffer format (native byte order) and item size -> .NET TypeCode.
# Read-only after import: no lock.
_SIGNED = {1: 5, 2: 7, 4: 9, 8: 11}
_UNSIGNED = {1: 6, 2: 8, 4: 10, 8: 12}
# Read-only after import: no lock.
_FORMAT_CODES: dict[str, dict[int, int]] = {
    "?": {1: 3},
    "b": _SIGNED,
    "B": _UNSIGNED,
    "c": {1: 6},
    "h": _SIGNED,
    "H": _UNSIGNED,
    "i": _SIGNED,
    "I": _UNSIGNED,
    "l": _SIGNED,
    "L": _UNSIGNED,
    "q": _SIGNED,
    "Q": _UNSIGNED,
    "n": _SIGNED,
    "N": _UNSIGNED,
    "f": {4: 13},
    "d": {8: 14},
}
_NATIVE_PREFIXES = ("@", "=", "<") if sys.byteorder == "little" else ("@", "=", ">")


# ---- Python buffers -> .NET arrays ----------------------------------------------------


def _flat_view(obj: Any) -> tuple[memoryview, int] | None:
    """A view of ``obj`` and the type code of its items when it is a one-dimensional contiguous
    buffer of .NET primitive items; None otherwise (the view, if any, released)."""
    try:
        view = memoryview(obj)
    except TypeError:
        return None
    fmt = view.format
    if fmt[:1] in _NATIVE_PREFIXES:
        fmt = fmt[1:]
    code = _FORMAT_CODES.get(fmt, {}).get(view.itemsize)
    if code is None or view.ndim != 1 or not view.c_contiguous:
        view.release()
        return None
    return view, code


def element_name(obj: Any) -> str | None:
    """The .NET element type whose items a one-dimensional contiguous buffer holds exactly
    (``"System.Double"`` for ``memoryview(array('d'))``), or None."""
    flat = _flat_view(obj)
    if flat is None:
        return None
    with flat[0]:
        return ELEMENTS[flat[1]][2]


def array_from_buffer(obj: Any, element_id: int) -> Any | None:
    """``Array[T](buffer)``: a new ``T[]`` copied from a one-dimensional contiguous Python buffer
    (``bytearray``, ``array.array``, ``memoryview``, numpy...) in one block, when the buffer's
    items are exactly ``T``. None otherwise (the caller converts item by item)."""
    if isinstance(obj, (str, list, tuple, range, dict)) or handle_of(obj) is not None:
        return None
    flat = _flat_view(obj)
    if flat is None:
        return None
    view, code = flat
    with view:
        if ELEMENTS[code][2] != _typeinfo.info(element_id).full_name:
            return None
        if view.readonly:
            data: Any = view.tobytes() if type(obj) is not bytes else obj
            address = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
        else:
            data = (ctypes.c_char * view.nbytes).from_buffer(view)
            address = ctypes.addressof(data)
        try:
            return _exports.call_result(_bridge.shim().ArrayFromBuffer, address, len(view), code)
        finally:
            del data  # end the buffer export before the view closes


# .NET element type name -> (array.array code, TypeCode) for the lists array_from_list packs block
# by block: the numbers whose array.array conversion is exactly the conversion to that element
# (Single needs a range check array.array does not make; Boolean and Char are not numbers).
# Read-only after import: no lock.
_FILL_CODES: dict[str, tuple[str, int]] = {
    "System.SByte": ("b", 5),
    "System.Byte": ("B", 6),
    "System.Int16": ("h", 7),
    "System.UInt16": ("H", 8),
    "System.Int32": ("i", 9),
    "System.UInt32": ("I", 10),
    "System.Int64": ("q", 11),
    "System.UInt64": ("Q", 12),
    "System.Double": ("d", 14),
}
#: Items packed per block: the block and its slice of the list stay in the CPU cache, and the
#: allocator hands the same memory back for every block (no temporary as large as the list,
#: whose fresh pages would each cost a page fault).
_FILL_BLOCK = 16384
#: Shorter lists are packed in one piece by the caller's path: one block is all they need.
_FILL_MIN = 2 * _FILL_BLOCK


def array_from_list(items: list[Any] | tuple[Any, ...], element_id: int) -> Any | None:
    """A new ``T[]`` from a long list or tuple of numbers, for a primitive number type ``T``:
    .NET allocates the array, then each block of items is packed by ``array.array`` (the same
    conversion as packing the whole list) and copied in by one ``ArrayCopy``.

    None when this path does not apply or the items do not all convert (a float for an
    integer type, a number out of range, not a number) or the list changed length meanwhile:
    the caller then converts the whole list its usual way, whose errors name the item."""
    n = len(items)
    if n < _FILL_MIN or _codecs.encoders:
        return None
    element = _typeinfo.info(element_id)
    fill = _FILL_CODES.get(element.full_name) if element.kind != "enum" else None
    if fill is None:
        return None
    code, type_code = fill
    shim = _bridge.shim()
    # zero-filled; the proxy owns the new handle: dropping it (on a fallback) releases the array
    made = _exports.call_result(shim.ArrayFromBuffer, None, n, type_code)
    handle = handle_of(made)
    copy = shim.ArrayCopy
    for start in range(0, n, _FILL_BLOCK):
        try:
            packed = array.array(code, items[start : start + _FILL_BLOCK])
        except (TypeError, OverflowError):
            return None
        count = len(packed)
        if count != min(_FILL_BLOCK, n - start):
            return None  # the list shrank while being packed (__index__/__float__ code, another thread)
        _exports.call(copy, handle, start, count, packed.buffer_info()[0], 1)
    if len(items) != n:
        return None  # it grew meanwhile
    return made


# ---- buffers lent to a call: held for .NET until a task it returned completes ---------------


class _Lent(threading.local):
    """This thread's buffers lent to calls: address -> weak reference to the ctypes object that
    keeps the buffer exported (``None`` until the thread lends one). Per thread: the shim asks
    for a buffer on the thread that made the call, during the call."""

    blocks: dict[int, weakref.ref[Any]] | None = None


_LENT = _Lent()
_LENT_PRUNE = 64  # past this many entries, the dead ones (earlier calls') are dropped
# Owner: _holder_lock makes registering the holder with the shim a one-time step;
# _holder_ready is set (last) once it is registered, so later lends skip the lock.
_holder_lock = SignalSafeLock("pyclrbridge.values.buffers._holder_lock")
_holder_ready = SignalSafeFlag()  # not threading.Event: see SignalSafeFlag


def lend(block: Any, address: int) -> None:
    """Record ``block`` (a ctypes object over a writable buffer passed as a ``T[]`` argument,
    at ``address``, kept alive by the call) so that, if the call returns an unfinished task,
    the shim can hold it until the task has completed and its writes are copied back
    (:func:`_hold`)."""
    blocks = _LENT.blocks
    if blocks is None:
        _ensure_holder()
        blocks = _LENT.blocks = {}
    elif len(blocks) >= _LENT_PRUNE:
        for key in [a for a, ref in blocks.items() if ref() is None]:
            del blocks[key]
    blocks[address] = _weak(block)


_weak = weakref.ref


def _hold(address: int) -> int:
    """The holder, called by the shim on the thread of a call that returned an unfinished task:
    registers the lent buffer's ctypes object at ``address`` (so the buffer stays exported,
    never resized or freed, until .NET has copied the task's writes back), and returns its
    registry id (0 if unknown). Called with a negated id once the copy is done: drops that
    registration at once, so the buffer can be resized again when the task is seen complete."""
    if address < 0:
        forget(-address)
        return 0
    blocks = _LENT.blocks
    ref = blocks.get(address) if blocks is not None else None
    block = ref() if ref is not None else None
    return 0 if block is None else register(block)


def _ensure_holder() -> None:
    if _holder_ready.is_set():
        return
    _ = _holder_lock.taken
    try:
        if _holder_ready.is_set():
            return
        _exports.call(_bridge.shim().SetBufferHolder, register(_hold))
        _holder_ready.set()
    finally:
        _holder_lock.release()
