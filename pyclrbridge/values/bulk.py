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
import functools
import itertools
from collections.abc import Iterator
from typing import Any

from ..host import bridge as _bridge
from ..host.shim import KindInt, Value
from . import exports as _exports
from .objects import HandleOwner, handle_of
from .results import from_values

_MODE_VALUES, _MODE_INT64, _MODE_DOUBLE = 0, 1, 2
_OBJECT = KindInt.OBJECT
#: IterNext results besides 0 (more may follow) and a failure: the last chunk, with the
#: iteration already closed on the .NET side (no IterClose), and the same when disposing the
#: enumerator threw (raised after the chunk's elements).
_DONE, _DONE_DISPOSE_FAILED = 3, 4
_READ_AHEAD = 0x100
_FIRST_CHUNK = 64
_MAX_CHUNK = 8192


class IterationState(HandleOwner):
    """Owns one iteration's state handle (``_as_parameter_``; 0: none, or closed). When it dies
    the shim's ``IterRelease`` export closes the iteration (disposes the enumerator, frees the
    state), called directly as its finalizer (:func:`install_finalizer`): no Python frame, so
    no signal handler can cut it short and nothing can be printed. An iteration left before its
    end (a ``break``, an exception, a signal) is closed this way; one read to its end is closed
    by the generator itself, which raises what Dispose threw."""


def install_finalizer(shim: Any) -> None:
    """At load: ``IterRelease`` is every :class:`IterationState`'s finalizer (``lru_cache``
    binds like a method and calls the export from C; ctypes passes ``_as_parameter_``, and the
    GIL is released while .NET disposes the enumerator)."""
    IterationState.__del__ = functools.lru_cache(maxsize=0)(shim.IterRelease)  # type: ignore[attr-defined]


def iterate(obj: Any) -> Iterator[Any]:
    """The elements of the .NET enumerable ``obj``, fetched in chunks."""
    handle = handle_of(obj)
    if handle is None:
        raise TypeError(f"{type(obj).__name__} is not a .NET object")
    shim = _bridge.shim()
    state = Value()
    state_at = ctypes.addressof(state)
    free_block = shim.FreeUnclaimedValues
    flags = ctypes.c_int32()
    owner = IterationState()  # closes the iteration when the generator is dropped, run or not
    try:
        _exports.call(shim.IterStart, handle, ctypes.byref(state), ctypes.byref(flags))
        owner._as_parameter_ = state.i
        state.i = 0  # claimed by owner, with no signal check between
        # chain walks each chunk's list in C: no generator step per element.
        return itertools.chain.from_iterable(_chunks(shim, owner, flags.value))
    except BaseException:
        # An exception right after IterStart, before owner took the state: the export itself,
        # with its arguments ready, so nothing before it checks for signals (a second signal
        # here would leak the state).
        free_block(state_at, 1)
        raise


def _chunks(shim: Any, state: IterationState, flags: int) -> Iterator[list[Any]]:
    """The elements, one list per chunk. Read to its end, it closes the iteration; left before
    (dropped, or an exception), ``state`` closes it as it dies: no ``finally`` here, which would
    run Python code in the generator's finalizer.

    ``error`` takes each export's exception. Every use frees a handle no proxy claimed in its
    ``except`` (as :mod:`.exports` does, with no signal check before the free); the exception
    of a failed Dispose, raised only after the last chunk, waits in ``disposal`` (a
    :class:`HandleOwner`, freed from C if the generator is dropped before)."""
    mode = flags & 0xFF
    capacity = _FIRST_CHUNK if flags & _READ_AHEAD else 1
    count = ctypes.c_int32()
    count_ref = ctypes.byref(count)
    error = Value()
    error_ref = ctypes.byref(error)
    disposal = HandleOwner()
    next_chunk = shim.IterNext
    close = shim.IterClose
    free_block = shim.FreeUnclaimedValues
    free_handle = shim.FreeHandle
    code = "q" if mode == _MODE_INT64 else "d"
    packed = array.array(code)  # one buffer, replaced only when the chunk size grows
    address = 0

    def fetch(buffer: int, size: int) -> tuple[int, int]:
        """One IterNext call into ``buffer``: its result and how many elements it wrote."""
        try:
            rc = next_chunk(state._as_parameter_, buffer, size, count_ref, error_ref)
            if rc >= _DONE:
                # .NET closed the iteration and freed its state: dropped with no signal check
                # after rc is stored. A signal just before (as the call returns) leaves it set,
                # and the state's finalizer (or the close at the end) closes it again, which
                # IterRelease and IterClose ignore (handles are never reused).
                state._as_parameter_ = 0
                if rc == _DONE_DISPOSE_FAILED:  # Dispose threw: raised after this chunk
                    disposal._as_parameter_ = error.i
                    error.i = 0  # owned by disposal, with no signal check between
            elif rc != 0:
                _bridge.raise_error(error)
        except BaseException:
            if error.kind == _OBJECT and error.i:
                unclaimed = error.i
                error.i = 0
                free_handle(unclaimed)
            raise
        return rc, count.value

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
        try:
            if rc == _DONE_DISPOSE_FAILED:
                error.i = disposal._as_parameter_
                disposal._as_parameter_ = 0  # back in error, with no signal check between
                _bridge.raise_error(error)
            if n < capacity:
                # The end: closed here, so what Dispose throws is raised. The state is taken
                # and closed with no signal check between (an exception before leaves it to
                # the owner).
                handle = state._as_parameter_
                state._as_parameter_ = 0
                if handle and close(handle, error_ref) != 0:
                    _bridge.raise_error(error)
                return
        except BaseException:
            if error.kind == _OBJECT and error.i:
                unclaimed = error.i
                error.i = 0
                free_handle(unclaimed)
            raise
        if capacity < _MAX_CHUNK and flags & _READ_AHEAD:
            capacity *= 4
