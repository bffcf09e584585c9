"""Zero-copy views of .NET arrays: ``pyclrbridge.buffer(arr)``, ``bytes(arr)``, ``memoryview(arr)``.

A one-dimensional .NET array of a primitive element type (Byte, Int32, Double, Boolean,
Char...) is viewed through a ``memoryview`` over its pinned memory: :func:`buffer` pins the
array, wraps the memory in a ctypes array (``from_address``) and casts a memoryview of that to
the element's format. The ctypes object is the memoryview's exporter, so it lives exactly as
long as some view (including slices and casts made from it) exists; a ``weakref.finalize`` on
it releases the pin, so the pin is released exactly once, as soon as the last view is gone
(``view.release()`` or a ``with`` block makes that immediate). While a view exists the .NET GC
cannot move the array, so writes through the view are writes to the .NET array.

On Python 3.12+ (PEP 688) ``memoryview(arr)`` works directly (``__buffer__``); on every
version ``bytes(arr)`` is one block copy (``__bytes__``).
"""

from __future__ import annotations

import ctypes
import sys
import typing
import weakref
from typing import Any

from ..host import bridge as _bridge
from ..values import exports as _exports
from ..values.buffers import ELEMENTS
from ..values.objects import handle_of
from .protocols import implementation_for

__all__ = ["buffer", "stats"]


def _unpin(pin: int) -> None:
    """Release a pin (the finalizer of a view's memory). Never after shutdown began."""
    shim = _bridge.SHIM
    if shim is not None and not _bridge.SHUTTING_DOWN.is_set() and not sys.is_finalizing():
        shim.ArrayUnpin(pin)


def _pin(arr: Any) -> tuple[int, int, int, int]:
    """Pin ``arr``: (pin id, address, element count, element TypeCode)."""
    h = handle_of(arr)
    if h is None:
        raise TypeError(f"a .NET array is needed, not {type(arr).__name__}")
    if not h:
        raise ValueError("the .NET array behind this proxy was already released")
    pin, address, length = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
    code = ctypes.c_int32()
    _exports.call(
        _bridge.shim().ArrayPin, h, ctypes.byref(pin), ctypes.byref(address), ctypes.byref(length), ctypes.byref(code)
    )
    return pin.value, address.value, length.value, code.value


def buffer(arr: Any) -> memoryview:
    """A writable memoryview of a one-dimensional primitive .NET array, without copying.

    The array stays pinned while this view, or any view made from it (slices, ``cast``,
    ``numpy.frombuffer``), exists; ``view.release()`` (or ``with buffer(arr) as view:``) ends
    it at once. The format and item size follow the element type (``Double[]`` -> ``"d"``, 8).

    Args:
        arr: A one-dimensional .NET array of a primitive element type.

    Returns:
        A writable view of the array's memory; writes go straight to the .NET array.

    Raises:
        TypeError: The array's memory cannot be viewed (object elements, structs,
            multi-dimensional arrays), or ``arr`` is not a .NET array.

    Examples:
        >>> from System import Array, Double
        >>> arr = Array[Double]([1.0, 2.0, 3.0])
        >>> with pyclrbridge.buffer(arr) as view:
        ...     view[0] = 10.0
        >>> arr[0]
        10.0
    """
    pin, address, length, code = _pin(arr)
    try:
        fmt, size, _ = ELEMENTS[code]
        memory = (ctypes.c_ubyte * (length * size)).from_address(address)
        finalizer = weakref.finalize(memory, _unpin, pin)
    except BaseException:
        _unpin(pin)
        raise
    finalizer.atexit = False  # at interpreter exit .NET may be gone: never call into it then
    view: Any = memoryview(memory).cast("B")
    return typing.cast(memoryview, view.cast(fmt))


def _bytes(arr: Any) -> bytes:
    pin, address, length, code = _pin(arr)
    try:
        return ctypes.string_at(address, length * ELEMENTS[code][1])
    finally:
        _unpin(pin)


class _PrimitiveArray:
    """Buffer protocol of one-dimensional primitive arrays."""

    def __bytes__(self) -> bytes:
        """The array's raw memory, in one block copy (like ``bytes(array.array)``)."""
        return _bytes(self)

    def __buffer__(self, flags: int) -> memoryview:
        """PEP 688 (Python 3.12+): ``memoryview(arr)`` is :func:`buffer`."""
        return buffer(self)


for _format, _size, _name in ELEMENTS.values():
    implementation_for(f"{_name}[]")(_PrimitiveArray)


def stats() -> dict[str, int]:
    """Pinned arrays alive now (views not yet released), and pins taken so far."""
    if _bridge.SHIM is None or _bridge.SHUTTING_DOWN.is_set():
        return {}
    live, pinned, released = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
    _bridge.SHIM.ArrayPinStats(ctypes.byref(live), ctypes.byref(pinned), ctypes.byref(released))
    return {"pinned_arrays": live.value, "pins_taken": pinned.value}
