"""Chunked transfer from .NET to Python: many elements per foreign call.

``iterate(obj)`` walks any .NET ``IEnumerable`` with one ``IterNext`` call per chunk instead
of ``MoveNext`` + ``Current`` per element. Sequences of ``int``/``long``/``double`` arrive as
packed machine numbers (``array.array``, converted to Python numbers in C); anything else
arrives as :class:`~pyclrbridge._shim.Value` records. Materialized collections (arrays, the
framework's collection types) are read ahead in growing chunks; lazy sequences (LINQ,
``yield``-based iterators) are read one element per call so their side effects happen when
Python asks for the element, as with plain ``MoveNext``.
"""

from __future__ import annotations

import array
import ctypes
import itertools
import sys
from collections.abc import Iterator
from typing import Any

from ..host import bridge as _bridge
from ..host.shim import Value
from .objects import HandleOwner, handle_of
from .results import free_unclaimed, from_values

_MODE_VALUES, _MODE_INT64, _MODE_DOUBLE = 0, 1, 2
#: IterNext results besides 0 (more may follow) and a failure: the last chunk, with the
#: iteration already closed on the .NET side (no IterClose), and the same when disposing the
#: enumerator threw (raised after the chunk's elements).
_DONE, _DONE_DISPOSE_FAILED = 3, 4
_READ_AHEAD = 0x100
_FIRST_CHUNK = 64
_MAX_CHUNK = 8192


def iterate(obj: Any) -> Iterator[Any]:
    """The elements of the .NET enumerable ``obj``, fetched in chunks."""
    handle = handle_of(obj)
    if handle is None:
        raise TypeError(f"{type(obj).__name__} is not a .NET object")
    shim = _bridge.shim()
    state = Value()
    flags = ctypes.c_int32()
    error = Value()
    owner = HandleOwner()  # frees the state if the generator never runs (dropped unstarted)
    try:
        if shim.IterStart(handle, ctypes.byref(state), ctypes.byref(flags), ctypes.byref(error)) != 0:
            _bridge.raise_error(error)
        owner._as_parameter_ = state.i
        state.i = 0  # claimed by owner, with no signal check between
        # chain walks each chunk's list in C: no generator step per element.
        return itertools.chain.from_iterable(_chunks(shim, owner, flags.value))
    except BaseException:
        free_unclaimed((state,))  # an exception right after IterStart, before owner took it
        raise


def _chunks(shim: Any, state: HandleOwner, flags: int) -> Iterator[list[Any]]:
    """The elements, one list per chunk; closing (or collecting) it closes the iteration."""
    mode = flags & 0xFF
    capacity = _FIRST_CHUNK if flags & _READ_AHEAD else 1
    count = ctypes.c_int32()
    count_ref = ctypes.byref(count)
    error = Value()
    error_ref = ctypes.byref(error)
    next_chunk = shim.IterNext
    free_block = shim.FreeUnclaimedValues
    code = "q" if mode == _MODE_INT64 else "d"
    packed = array.array(code)  # one buffer, replaced only when the chunk size grows
    address = 0

    def fetch(buffer: int, size: int) -> tuple[int, int]:
        """One IterNext call into ``buffer``: its result and how many elements it wrote."""
        rc = next_chunk(state._as_parameter_, buffer, size, count_ref, error_ref)
        if rc >= _DONE:
            # .NET closed the iteration and freed its state: dropped with no signal check after
            # rc is stored. A signal just before (as the call returns) leaves it set, and the
            # finally below closes it again, which IterClose ignores (handles are never reused).
            state._as_parameter_ = 0
        elif rc != 0:
            _bridge.raise_error(error)
        return rc, count.value

    try:
        while True:
            if mode == _MODE_VALUES:
                values = (Value * capacity)()
                block = ctypes.addressof(values)
                try:
                    rc, n = fetch(block, capacity)
                    chunk = from_values(values, n)  # arena data first, then what may call .NET
                except BaseException:
                    # A fresh block: only values .NET wrote, and proxies' claims zeroed them. The
                    # export is called directly: nothing before it checks for signals, so a
                    # second signal cannot skip it (it frees nothing in a forked child).
                    free_block(block, capacity)
                    raise
                yield chunk
            else:
                if len(packed) != capacity:
                    packed = array.array(code, [0]) * capacity
                    address = packed.buffer_info()[0]
                rc, n = fetch(address, capacity)
                yield (packed if n == capacity else packed[:n]).tolist()
            if rc == _DONE_DISPOSE_FAILED:
                _bridge.raise_error(error)
            if n < capacity:
                return
            if capacity < _MAX_CHUNK and flags & _READ_AHEAD:
                capacity *= 4
    finally:
        if state._as_parameter_:  # still open: no last chunk closed it on the .NET side
            _close(shim, state)


def _close(shim: Any, state: HandleOwner) -> None:
    # Reached from generator finalization too: never call .NET once shutdown has begun.
    if _bridge.SHUTTING_DOWN.is_set() or sys.is_finalizing():
        return
    error = Value()
    handle = state._as_parameter_
    state._as_parameter_ = 0  # taken: IterClose frees it (no signal check before the call)
    if handle and shim.IterClose(handle, ctypes.byref(error)) != 0:
        _bridge.raise_error(error)
