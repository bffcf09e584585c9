"""Object references across the boundary, in both directions.

Python objects held by .NET: the registry maps small ids to Python objects. .NET holds an id
inside a ``PyObjectRef``; when .NET collects that wrapper its finalizer queues the id (never
calling Python), and :func:`drain` drops Python's reference.

.NET objects held by Python: a proxy owns one GCHandle in ``_h`` (:func:`handle_of`).
"""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host.locks import SignalSafeLock


def handle_of(obj: Any) -> int | None:
    """The GCHandle behind a .NET proxy object, or None for a plain Python object."""
    if getattr(type(obj), "__clr_type_id__", 0):
        h: int | None = getattr(obj, "_h", None)
        return h
    return None


class HandleOwner:
    """Owns one handle that no proxy wraps (an iteration's state) in ``_as_parameter_`` (0: none;
    ctypes passes it for the object). When it dies the handle is freed by the same finalizer as
    proxies (installed at load, no Python frame a signal could cut short); whoever frees the
    handle itself takes it first (stores 0). One user at a time (a generator's state)."""

    _as_parameter_ = 0


def _free_owned(owner: HandleOwner, _free: Any = _bridge.free_handle) -> None:
    """:class:`HandleOwner`'s finalizer until load replaces it with the shim's FreeHandle,
    called from C (``proxies.base.install_finalizer``); it stays only where that cannot be
    installed (32-bit). ``_free`` is bound early: at interpreter teardown this module's globals
    may already be None."""
    _free(owner._as_parameter_)


# Set outside the class body: the loader replaces it (a finalizer the class does not declare).
setattr(HandleOwner, "__del__", _free_owned)  # noqa: B010


# Owner: _registry_lock guards _registry and the id counter (insert and delete as one step).
_registry_lock = SignalSafeLock("pyclrbridge.values.objects._registry_lock")
_registry: dict[int, Any] = {}
_next_id = itertools.count(1)
_since_drain = 0
_DRAIN_EVERY = 256


# Hooks run by every drain, in order (derived objects only .NET may hold, event subscriptions
# of collected publishers). Appended only at package import (under the import lock), then read.
_drain_hooks: list[Callable[[], object]] = []


class IdHolder:
    """Where :func:`register_into` stores a new id for a caller that keeps it in Python (``i``:
    0 until then, so an except path can read it whether or not the registration happened)."""

    __slots__ = ("i",)

    def __init__(self) -> None:
        self.i = 0


def register(obj: Any) -> int:
    """Give ``obj`` an id that .NET will hold (one reference per registration). A caller that
    stores the id where .NET reads it should use :func:`register_into`: between this returning
    and that store, a signal handler that raises leaves a registration no one can drop."""
    holder = IdHolder()
    register_into(obj, holder)
    return holder.i


def register_into(obj: Any, slot: Any, *, negated: bool = False) -> None:
    """Give ``obj`` an id that .NET will hold, written to ``slot.i`` (a ``Value``, or the holder
    :func:`register` reads it from) in the same signal-free step that registers it: a signal
    handler that raises (Ctrl-C, an alarm) runs at a call's return, and between
    ``register(obj)`` returning and its id being stored it would leave a registration no one
    can drop. Here the insertion and the store are a dict store
    and a ctypes field store (neither checks for signals), after ``next()`` (whose check comes
    before anything was registered); whoever catches a later exception drops ``slot.i``.

    With ``negated``, ``slot`` is a ``ctypes.c_int64`` cell where .NET reads minus the id (the
    typed-thunk maker's answer, where a positive value is an address): ``slot.value`` gets the
    negated id in the same step. Whoever catches a later exception and writes the cell again
    drops a negative value it finds there first (``forget_now(-cell.value)``). The choice is a
    forward branch, which checks for nothing either."""
    global _since_drain
    _ = _registry_lock.taken
    try:
        new_id = next(_next_id)
        _registry[new_id] = obj
        if negated:
            slot.value = -new_id
        else:
            slot.i = new_id
        _since_drain += 1
        drain_now = _since_drain >= _DRAIN_EVERY
        if drain_now:
            _since_drain = 0
    finally:
        _registry_lock.release()
    if drain_now:
        drain()


def _protocol(op: int, obj: Any, other: Any) -> Any:
    """What a Python object held by .NET answers for Equals (op 0), GetHashCode (1), ToString (2)."""
    if op == 0:
        return bool(obj == other)
    if op == 1:
        return (hash(obj) + 2**31) % 2**32 - 2**31  # folded into System.Int32
    return str(obj)


def install_protocol(shim: Any) -> None:
    """Register :func:`_protocol` with the shim (once, at load: the shim keeps the first)."""
    shim.PyObjectProtocolSetup(register(_protocol))


def lookup(obj_id: int) -> Any:
    try:
        return _registry[obj_id]
    except KeyError:
        raise LookupError(f"Python object {obj_id} is no longer held by .NET") from None


def live_count() -> int:
    return len(_registry)


def registry() -> dict[int, Any]:
    """The registry itself (read-only use: lookups and reference counts)."""
    return _registry


def forget(obj_id: int) -> None:
    """Drop one registration that .NET never took (a failed hand-over)."""
    _ = _registry_lock.taken
    try:
        dead = _registry.pop(obj_id, None)
    finally:
        _registry_lock.release()
    del dead  # outside the lock: its __del__ may be user code


def add_drain_hook(hook: Callable[[], object]) -> None:
    """Registration from a higher layer: work to do at the start of every :func:`drain`."""
    _drain_hooks.append(hook)


#: Drops one registration .NET never took, in one C call (no Python frame, so no signal check
#: before the drop: for except paths). No lock: the id was never handed to .NET, so no drain
#: or other thread can pop it, and a dict's own item operations are atomic (its internal lock
#: on free-threaded builds); an insert under _registry_lock racing it touches another key.
forget_now: Callable[[int, None], Any] = _registry.pop


# Ids .NET handed back (its collected PyObjectRefs) that the registry may still hold: 0 or an
# id. Owner: _registry_lock (filled, dropped from the registry and zeroed under it). An id
# stays here from the call that took it from .NET until it is dropped, so a signal raised at
# the return of DrainReleased (before any Python code could drop it) loses nothing: the next
# drain drops it first. Dropping an id twice is harmless (ids are never reused).
_DRAIN_BATCH = 512
_drained = (ctypes.c_int64 * _DRAIN_BATCH)()


def drain() -> int:
    """Drop the Python objects .NET has collected. Returns how many were released."""
    if _bridge.SHIM is None or _bridge.SHUTTING_DOWN.is_set():
        return 0
    for hook in _drain_hooks:
        hook()
    shim = _bridge.SHIM
    # Popped objects are kept in `dead` (filled by one C call: no signal check between a pop
    # and keeping its object) and die after the lock is released: their __del__ may be user code.
    dead: list[Any] = []
    total = 0
    _ = _registry_lock.taken
    try:
        while True:
            dead.extend(map(_registry.pop, _drained, itertools.repeat(None, _DRAIN_BATCH)))
            ctypes.memset(_drained, 0, ctypes.sizeof(_drained))
            n = shim.DrainReleased(_drained, _DRAIN_BATCH)
            if n <= 0:
                break
            total += n
    finally:
        _registry_lock.release()
    dead.clear()
    return total
