"""asyncio support: .NET tasks are awaitable, ``IAsyncEnumerable<T>`` works with ``async for``.

How an ``await`` works: the awaiter registers a token and asks the shim to watch the task
(``TaskWatchStart``). When the task completes, a .NET continuation calls one Python "sink"
through the dispatcher with that token; the sink only posts a wake-up to the awaiting event
loop with ``loop.call_soon_threadsafe``. The outcome (result or exception) is then read on the
loop's own thread (``TaskOutcome``), so result conversion, codecs and user code never run on a
.NET thread. An already completed task is read at once, with no callback at all.

Cancellation: :func:`cancellation` gives a .NET ``CancellationToken`` to pass to methods that take
one; while its ``with`` block is active, cancelling the asyncio task that awaits a .NET task
cancels the token too.
"""

from __future__ import annotations

import asyncio
import contextvars
import ctypes
import itertools
import weakref
from collections.abc import AsyncIterator, Generator
from types import TracebackType
from typing import Any

from ..host import bridge as _bridge
from ..host.locks import SignalSafeFlag, SignalSafeLock
from ..proxies.catalog import class_by_name
from ..proxies.protocols import _member, implementation_for
from ..proxies.release import release
from ..values import exports as _exports
from ..values.objects import handle_of, register

__all__ = ["Cancellation", "cancellation", "stats"]

# Owner: _pending_lock guards _pending (token -> (loop, future) of an await in progress) and
# _tokens (a count's next() is not atomic on free-threaded builds: two awaits could share a token).
# The sink (on a .NET thread) pops and the awaiter (on the loop thread) inserts and pops.
_pending_lock = SignalSafeLock("pyclrbridge.callbacks.tasks._pending_lock")
_pending: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = {}
_tokens = itertools.count(1)

# Owner: _sink_lock makes registering the sink with the shim a one-time step; _sink_ready is
# set (last) once it is registered, so later awaits skip the lock.
_sink_lock = SignalSafeLock("pyclrbridge.callbacks.tasks._sink_lock")
_sink_ready = SignalSafeFlag()  # not threading.Event: see SignalSafeFlag


def _wake(fut: asyncio.Future[None]) -> None:
    """Runs on the event loop's thread: the awaited task has completed."""
    if not fut.done():
        fut.set_result(None)


def _on_complete(token: int) -> None:
    """The sink. Runs on a .NET thread (with the GIL): only posts to the awaiting loop."""
    _ = _pending_lock.taken
    try:
        entry = _pending.pop(token, None)
    finally:
        _pending_lock.release()
    if entry is None:
        return  # the await was cancelled (or already resolved) meanwhile
    loop, fut = entry
    try:
        loop.call_soon_threadsafe(_wake, fut)
    except RuntimeError:
        pass  # the loop is closed: nobody is waiting any more


def _ensure_sink() -> None:
    if _sink_ready.is_set():
        return
    _ = _sink_lock.taken
    try:
        if _sink_ready.is_set():
            return
        _exports.call(_bridge.shim().TaskSetSink, register(_on_complete))
        _sink_ready.set()
    finally:
        _sink_lock.release()


def _handle(task: Any) -> int:
    h = handle_of(task)
    if not h:
        raise ValueError(f"the .NET {type(task).__clr_name__} behind this proxy was already released")
    return h


def _outcome(handle: int) -> Any:
    """The result of a completed task, or raise its (unwrapped) exception."""
    return _exports.call_result(_bridge.shim().TaskOutcome, handle)  # VOID (a Task without a result) is None


def _await_task(task: Any) -> Generator[Any, None, Any]:
    """``await task`` for a ``System.Threading.Tasks.Task`` proxy."""
    handle = _handle(task)
    loop = asyncio.get_running_loop()
    _ensure_sink()
    fut: asyncio.Future[None] = loop.create_future()
    _ = _pending_lock.taken
    try:
        token = next(_tokens)
        _pending[token] = (loop, fut)
    finally:
        _pending_lock.release()
    completed = ctypes.c_int32()
    try:
        _exports.call(_bridge.shim().TaskWatchStart, handle, token, ctypes.byref(completed))
    except BaseException:  # the watch failed to start (or a signal landed): nothing will complete it
        _ = _pending_lock.taken
        try:
            _pending.pop(token, None)
        finally:
            _pending_lock.release()
        raise
    if completed.value:
        _ = _pending_lock.taken
        try:
            _pending.pop(token, None)
        finally:
            _pending_lock.release()
    else:
        try:
            yield from fut
        except asyncio.CancelledError:
            _ = _pending_lock.taken
            try:
                _pending.pop(token, None)
            finally:
                _pending_lock.release()
            for scope in _scopes.get():
                scope.cancel()
            raise
    return _outcome(handle)


# Owner: _as_task_lock guards _as_task (id of a ValueTask proxy -> the Task made from it). A
# ValueTask may be consumed only once, so each proxy is turned into a Task once; the entry goes
# when the proxy dies (weakref.finalize), so ids are never reused while present.
_as_task_lock = SignalSafeLock("pyclrbridge.callbacks.tasks._as_task_lock")
_as_task: dict[int, Any] = {}


def _task_of(value_task: Any) -> Any:
    key = id(value_task)
    _ = _as_task_lock.taken
    try:
        task = _as_task.get(key)
    finally:
        _as_task_lock.release()
    if task is not None:
        return task
    made = _exports.call_result(_bridge.shim().TaskFrom, _handle(value_task))
    _ = _as_task_lock.taken
    try:
        task = _as_task.setdefault(key, made)
    finally:
        _as_task_lock.release()
    if task is made:
        weakref.finalize(value_task, _forget_task, key)
    return task


def _forget_task(key: int) -> None:
    _ = _as_task_lock.taken
    try:
        _as_task.pop(key, None)
    finally:
        _as_task_lock.release()


def _await_value_task(value_task: Any) -> Generator[Any, None, Any]:
    """``await value_task``: a ValueTask becomes its Task once (per proxy), which is awaited."""
    return (yield from _await_task(_task_of(value_task)))


@implementation_for("System.Threading.Tasks.Task")
class _Task:
    """``Task`` and ``Task<T>`` (and every subclass) are awaitable."""

    def __await__(self) -> Generator[Any, None, Any]:
        return _await_task(self)


@implementation_for("System.Threading.Tasks.ValueTask", "System.Threading.Tasks.ValueTask`1")
class _ValueTask:
    """``ValueTask`` and ``ValueTask<T>`` are awaitable (once, as in C#)."""

    def __await__(self) -> Generator[Any, None, Any]:
        return _await_value_task(self)


_ASYNC_ENUMERABLE = "System.Collections.Generic.IAsyncEnumerable`1"
_ASYNC_ENUMERATOR = "System.Collections.Generic.IAsyncEnumerator`1"


async def _iterate(enumerable: Any) -> AsyncIterator[Any]:
    scopes = _scopes.get()
    args = (scopes[-1].token,) if scopes else ()
    enumerator = _member(enumerable, _ASYNC_ENUMERABLE, "GetAsyncEnumerator").call(enumerable, args, {})
    move_next = _member(enumerator, _ASYNC_ENUMERATOR, "MoveNextAsync")
    current = _member(enumerator, _ASYNC_ENUMERATOR, "Current")
    try:
        while await move_next.call(enumerator, (), {}):
            yield current.read(enumerator)
    finally:
        await _member(enumerator, "System.IAsyncDisposable", "DisposeAsync").call(enumerator, (), {})


@implementation_for(_ASYNC_ENUMERABLE)
class _AsyncEnumerable:
    """``async for item in source`` over an ``IAsyncEnumerable<T>``. Inside a
    :func:`cancellation` block, the enumerator gets that block's token."""

    def __aiter__(self) -> AsyncIterator[Any]:
        return _iterate(self)


@implementation_for("System.IAsyncDisposable")
class _AsyncDisposable:
    """``async with obj:`` awaits ``DisposeAsync()`` on the way out."""

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await _member(self, "System.IAsyncDisposable", "DisposeAsync").call(self, (), {})


# ---- cancellation ---------------------------------------------------------------------

#: The cancellation scopes active in the current context (asyncio task), innermost last.
#: A ContextVar: each asyncio task sees only the scopes it entered.
_scopes: contextvars.ContextVar[tuple[Cancellation, ...]] = contextvars.ContextVar(
    "pyclrbridge_cancellation_scopes", default=()
)


class Cancellation:
    """A .NET ``CancellationTokenSource`` wired to asyncio cancellation.

    Pass `token` to any .NET method that takes a ``CancellationToken``. Inside the
    ``with`` (or ``async with``) block, when the asyncio task awaiting a .NET task is cancelled
    (``task.cancel()``, ``asyncio.timeout``, ``asyncio.wait_for``), the token is cancelled too,
    so the .NET operation stops. `cancel()` cancels it by hand. Leaving the block disposes
    the source. Get one from [`cancellation()`][pyclrbridge.cancellation].

    Examples:
        >>> with pyclrbridge.cancellation() as cancel:
        ...     cancel.cancel()
        ...     cancel.cancelled
        True
    """

    def __init__(self) -> None:
        self._source: Any = class_by_name("System.Threading.CancellationTokenSource")()
        self.token: Any = self._source.Token
        """The ``System.Threading.CancellationToken`` to pass to .NET methods."""
        self._reset: contextvars.Token[tuple[Cancellation, ...]] | None = None
        self._final: bool | None = None  # the state when the source was disposed (it cannot change after)

    @property
    def cancelled(self) -> bool:
        """True once the token was cancelled (still readable after the block is left)."""
        if self._final is not None:
            return self._final
        return bool(self._source.IsCancellationRequested)

    def cancel(self) -> None:
        """Cancel the token now (idempotent)."""
        if handle_of(self._source):
            self._source.Cancel()

    def close(self) -> None:
        """Dispose the .NET source (leaving the ``with`` block does this)."""
        if handle_of(self._source):
            self._final = bool(self._source.IsCancellationRequested)
            self._source.Dispose()
            release(self._source)

    def __enter__(self) -> Cancellation:
        self._reset = _scopes.set((*_scopes.get(), self))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._reset is not None:
            _scopes.reset(self._reset)
            self._reset = None
        self.close()

    async def __aenter__(self) -> Cancellation:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"<pyclrbridge.Cancellation cancelled={self.cancelled}>"


def cancellation() -> Cancellation:
    """A new [`Cancellation`][pyclrbridge.Cancellation]: a .NET ``CancellationToken`` that
    asyncio cancellation cancels while its ``with`` block is active.

    Returns:
        A fresh cancellation source; use it as a (sync or async) context manager.

    Examples:
        ```python
        with pyclrbridge.cancellation() as cancel:
            data = await stream.ReadAsync(buffer, 0, n, cancel.token)
        ```
    """
    return Cancellation()


def stats() -> dict[str, int]:
    """Awaits in progress (Python side) and tasks the shim is watching."""
    counts = {"pending_awaits": len(_pending)}
    if _bridge.SHIM is not None and not _bridge.SHUTTING_DOWN.is_set():
        watching = ctypes.c_int64()
        notified = ctypes.c_int64()
        _bridge.SHIM.TaskStats(ctypes.byref(watching), ctypes.byref(notified))
        counts["watched_tasks"] = watching.value
        counts["task_completions"] = notified.value
    return counts
