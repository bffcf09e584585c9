""".NET arrays as Python sequences: the ``System.Array`` entry of the protocol table.

A returned array is the .NET array itself (no copy), so methods that hand out a shared buffer
keep working: ``len()``, indexing (negative too, tuples for ``T[,]``), slices as Python lists,
iteration, item and slice assignment (converted to the element type), ``in``, ``bytes()``.
Arrays of primitives copy slices and iterate in blocks (``ArrayCopy``); other one-dimensional
arrays convert a block of elements per call (``ArrayRead``).
"""

from __future__ import annotations

import array
import ctypes
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..host.shim import Value
from ..values import exports as _exports
from ..values.convert import to_value
from ..values.objects import handle_of
from ..values.results import from_values
from ..values.targets import _BUFFER_CODES
from .protocols import _Enumerable, _index, _same_length_slice, implementation_for

#: array.array codes with the memory layout of .NET primitive elements, by type code: the numeric
#: ones conversions use, plus Boolean and Char (copied as bytes and UTF-16 code units).
#: Read-only after import: no lock.
_BLOCK_CODES = {**_BUFFER_CODES, "Boolean": "B", "Char": "H"}


#: Elements per block when iterating an array of primitives: one ArrayCopy call each, small
#: enough that the block's packed numbers and the list made from them stay in the CPU cache.
_PRIMITIVE_BLOCK = 16384
#: Elements per block of other arrays: Values hold strings and handles (one ArrayRead each).
_VALUE_BLOCK = 1024


def _handle(arr: Any) -> int:
    h = handle_of(arr)
    if not h:
        raise ValueError(f"the {type(arr).__clr_name__} was released")
    return h


def _length(arr: Any) -> int:
    """The element count (all dimensions), by one export call instead of a member call."""
    length = ctypes.c_int64()
    _exports.call(_bridge.shim().ArrayLength, _handle(arr), ctypes.byref(length))
    return length.value


def _block_code(arr: Any) -> str | None:
    """The array.array code of ``arr``'s elements when they are primitives copied as a block."""
    element = _typeinfo.info(type(arr).__clr_info__.element)
    return _BLOCK_CODES.get(element.type_code) if element.kind != "enum" else None


def _widen(items: list[Any], type_code: str) -> list[Any]:
    """Python values of a block's packed Boolean (bool) and Char (str) elements."""
    if type_code == "Boolean":
        return [b != 0 for b in items]
    if type_code == "Char":
        return [chr(c) for c in items]
    return items


def _copy_out(arr: Any, start: int, count: int) -> list[Any] | None:
    """Elements start..start+count of a primitive array in one block copy (None: not primitive)."""
    code = _block_code(arr)
    if code is None:
        return None
    block = array.array(code, [0]) * count  # (array(code, bytes(n)) costs ~70 ns/item more)
    if count:
        address, _ = block.buffer_info()
        _exports.call(_bridge.shim().ArrayCopy, _handle(arr), start, count, address, 0)
    return _widen(block.tolist(), _typeinfo.info(type(arr).__clr_info__.element).type_code)


def _read_block(arr: Any, start: int, count: int) -> list[Any]:
    """Elements start..start+count of a one-dimensional array, converted in one call."""
    if not count:
        return []
    results = (Value * count)()
    shim = _bridge.shim()
    try:
        _exports.call(shim.ArrayRead, _handle(arr), start, count, results)
        return from_values(results, count)
    except BaseException:
        # Handles of elements no proxy took (a signal before from_values claimed them): one
        # export call, nothing before it that checks for signals.
        shim.FreeUnclaimedValues(results, count)
        raise


def _block(arr: Any, start: int, count: int) -> list[Any]:
    block = _copy_out(arr, start, count)
    return block if block is not None else _read_block(arr, start, count)


def _blocks(arr: Any) -> Iterator[Iterable[Any]]:
    """The elements of ``arr`` in blocks (lazily: nothing is read before the first element)."""
    if type(arr).__clr_info__.rank != 1:
        yield _Enumerable.__iter__(arr)  # .NET enumerates every element, row by row
        return
    n = _length(arr)
    code = _block_code(arr)
    if code is None:
        for start in range(0, n, _VALUE_BLOCK):
            yield _read_block(arr, start, min(_VALUE_BLOCK, n - start))
        return
    if not n:
        return
    # One buffer for every block, and the per-block work hoisted: a block costs one export call
    # and one tolist() (C), however many blocks there are.
    type_code = _typeinfo.info(type(arr).__clr_info__.element).type_code
    size = min(n, _PRIMITIVE_BLOCK)
    block = array.array(code, [0]) * size
    address = block.buffer_info()[0]
    view = memoryview(block)
    copy = _bridge.shim().ArrayCopy
    for start in range(0, n, size):
        count = min(size, n - start)
        # The handle is read per block: releasing the array mid-iteration raises, never reads freed memory.
        _exports.call(copy, _handle(arr), start, count, address, 0)
        items = block.tolist() if count == size else view[:count].tolist()
        yield _widen(items, type_code)


def _indices(arr: Any, key: Any) -> Any:
    info = type(arr).__clr_info__
    keys = key if isinstance(key, tuple) else (key,)
    if len(keys) != max(info.rank, 1):
        raise IndexError(f"a {type(arr).__clr_name__} takes {info.rank} index(es), got {len(keys)}")
    if len(keys) == 1:
        return (ctypes.c_int64 * 1)(_index(arr, keys[0]))
    positions = []
    for d, k in enumerate(keys):
        if not isinstance(k, int):  # no int(): "1" and 1.9 are not indexes (as for a list)
            if not hasattr(type(k), "__index__"):
                raise TypeError(f"{type(arr).__clr_name__} indices must be integers or slices, not {type(k).__name__}")
            k = k.__index__()
        i = k
        if i < 0:  # negative indices count from the end of that dimension, as in Python
            i += arr.GetLength(d)
        positions.append(i)
    return (ctypes.c_int64 * len(keys))(*positions)


def _multi_slice(arr: Any, key: Any) -> list[Any] | None:
    """``a[i]`` (row ``i``), ``a[i, a:b]``, ``a[a:b, j]`` of a ``T[,]`` as a list; None when
    ``key`` is one element's indices."""
    keys = key if isinstance(key, tuple) else (key,)
    if len(keys) == 1 and arr.Rank == 2:
        keys = (keys[0], slice(None))
    if len(keys) != arr.Rank or not any(isinstance(k, slice) for k in keys):
        return None
    axes = [range(*k.indices(arr.GetLength(d))) if isinstance(k, slice) else None for d, k in enumerate(keys)]
    if sum(a is not None for a in axes) != 1:
        raise IndexError(f"a {type(arr).__clr_name__} takes one slice at a time (a row or a column)")
    d, axis = next((i, a) for i, a in enumerate(axes) if a is not None)
    return [arr[(*keys[:d], i, *keys[d + 1 :])] for i in axis]


@implementation_for("System.Array", rank=2)
class _Array:
    """A .NET array: a fixed-length, mutable sequence sharing the .NET memory."""

    def __len__(self: Any) -> int:
        return _length(self)

    def __getitem__(self: Any, key: Any) -> Any:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if type(self).__clr_info__.rank == 1:
                if step == 1:
                    return _block(self, start, max(stop - start, 0))
                wanted = range(start, stop, step)
                if not wanted:
                    return []
                lo, hi = min(wanted), max(wanted) + 1
                whole = _block(self, lo, hi - lo)
                return [whole[i - lo] for i in wanted]
            return [self[i] for i in range(start, stop, step)]
        if type(self).__clr_info__.rank > 1:
            part = _multi_slice(self, key)
            if part is not None:
                return part
        indices = _indices(self, key)
        return _exports.call_result(_bridge.shim().ArrayGet, _handle(self), indices, len(indices))

    def __setitem__(self: Any, key: Any, value: Any) -> None:
        if isinstance(key, slice):
            for i, v in _same_length_slice(self, key, value, "its fixed length"):
                self[i] = v
            return
        positions = _indices(self, key)
        v = Value()
        keep: list[Any] = []
        shim = _bridge.shim()
        abandon = shim.AbandonValues
        try:
            to_value(value, v, keep, type(self).__clr_info__.element)
            _exports.call(shim.ArraySet, _handle(self), positions, len(positions), ctypes.byref(v))
        except BaseException:
            abandon(ctypes.byref(v), 1)  # an id no call took (see bridge.Frame.abandon)
            raise

    def __iter__(self: Any) -> Iterator[Any]:
        # chain walks each block's list in C: no generator step per element.
        return itertools.chain.from_iterable(_blocks(self))

    def __contains__(self: Any, item: Any) -> bool:
        return any(x == item for x in self)

    def __bytes__(self: Any) -> bytes:
        return bytes(self[:])

    def __repr__(self: Any) -> str:
        n = len(self)
        if type(self).__clr_info__.rank == 1:
            shown = self[:20]
        else:  # T[,]: the first elements in .NET's (row-major) order
            shown = list(itertools.islice(_Enumerable.__iter__(self), 20))
        more = ", ..." if n > 20 else ""
        return f"<{type(self).__clr_name__} [{', '.join(map(repr, shown))}{more}]>"
