"""Python objects reachable from .NET, and the one dispatcher .NET calls them through.

The registry maps small ids to Python objects. .NET holds an id inside a ``PyObjectRef``;
when .NET collects that wrapper its finalizer queues the id (never calling Python), and
Python drains the queue and drops its reference.
"""

from __future__ import annotations

import ctypes
import inspect
import itertools
import threading
import traceback
from typing import Any

from . import _bridge, _codecs
from ._convert import from_value, from_values, to_value
from ._shim import DISPATCHER, Value
from ._shim import KindInt as Kind  # plain ints: IntEnum member reads are slow on every callback

# Owner: _registry_lock guards _registry and the id counter (insert and delete as one step).
_registry_lock = threading.Lock()
_registry: dict[int, Any] = {}
_next_id = itertools.count(1)
_since_drain = 0
_DRAIN_EVERY = 256

# Memory a callback result points at must outlive the callback's return, until .NET has read
# it: kept per OS thread (threading.local would die with a .NET thread's temporary state).
# No lock: each thread only writes and pops its own key (single dict operations). At most one
# entry per OS thread that last returned a string, list or map from a callback.
_keepalive: dict[int, list[Any]] = {}

# Views (``Value`` objects at a fixed address) of the argument and result arrays .NET passes to
# the dispatcher, by (address, count). The shim stackallocs those arrays, so a loop of callbacks
# sees a few addresses over and over. A view owns no memory and is only used during a call that
# handed us its address, so a stale entry is harmless. Pure memo published with setdefault,
# emptied when it grows past _VIEWS_MAX (a clear racing a get only costs a rebuilt entry).
_views: dict[tuple[int, int], tuple[Value, ...]] = {}
_VIEWS_MAX = 4096
_VALUE_SIZE = ctypes.sizeof(Value)


def _views_at(address: int | None, n: int) -> tuple[Value, ...]:
    """``n`` views of the ``Value`` array at ``address``."""
    key = (address or 0, n)
    found = _views.get(key)
    if found is None:
        if len(_views) > _VIEWS_MAX:
            _views.clear()
        base = address or 0
        found = _views.setdefault(key, tuple(Value.from_address(base + _VALUE_SIZE * i) for i in range(n)))
    return found


# (args address, results address, nargs, nresults) -> (argument views, result views): one
# lookup per callback. Pure memo like _views, bounded the same way.
_frames: dict[tuple[Any, ...], tuple[tuple[Value, ...], tuple[Value, ...]]] = {}


def _frame_views(args_at: int | None, results_at: int | None, nargs: int,
                 nresults: int) -> tuple[tuple[Value, ...], tuple[Value, ...]]:
    # The shim allocates at least two results (room for an error); args: at least one.
    views = (_views_at(args_at, nargs), _views_at(results_at, max(2, nresults)))
    if len(_frames) > _VIEWS_MAX:
        _frames.clear()
    return _frames.setdefault((args_at, results_at, nargs, nresults), views)


def callable_arity(fn: Any) -> tuple[int, int] | None:
    """(fewest, most) positional arguments ``fn`` accepts (most is -1 for ``*args``), or None
    when it cannot be told (some builtins)."""
    code = getattr(fn, "__code__", None)
    if code is not None and not isinstance(fn, type):
        bound = 1 if getattr(fn, "__self__", None) is not None else 0
        most = code.co_argcount - bound
        defaults = getattr(fn, "__defaults__", None) or ()
        fewest = max(most - len(defaults), 0)
        return fewest, (-1 if code.co_flags & inspect.CO_VARARGS else most)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    fewest = most = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            most = -1
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            if most >= 0:
                most += 1
            if p.default is p.empty:
                fewest += 1
    return fewest, most


def accepts_positional(arity: tuple[int, int] | None, n: int) -> bool:
    """Whether a callable of this arity can be called with ``n`` positional arguments."""
    if arity is None:
        return True
    fewest, most = arity
    return fewest <= n and (most < 0 or n <= most)


def register(obj: Any) -> int:
    """Give ``obj`` an id that .NET will hold (one reference per registration)."""
    global _since_drain
    with _registry_lock:
        new_id = next(_next_id)
        _registry[new_id] = obj
        _since_drain += 1
        drain_now = _since_drain >= _DRAIN_EVERY
        if drain_now:
            _since_drain = 0
    if drain_now:
        drain()
    return new_id


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
    with _registry_lock:
        dead = _registry.pop(obj_id, None)
    del dead  # outside the lock: its __del__ may be user code


# Delegates handed to events, per (event, publisher identity, handler), so that ``-=`` passes
# .NET the very delegate ``+=`` added. Owner: _subscriptions_lock (a list is read and changed
# only under it). drain() drops the entries of publishers .NET has collected.
_subscriptions_lock = threading.Lock()
_subscriptions: dict[tuple[int, int, Any], list[Any]] = {}
_by_identity: dict[int, set[tuple[int, int, Any]]] = {}


def event_identity(handle: int) -> int:
    """A stable id for the .NET object at ``handle`` (0 for static events)."""
    return int(_bridge.shim().EventIdentity(handle)) if handle else 0


def subscription_add(key: tuple[int, int, Any], delegate: Any) -> None:
    """Remember the delegate subscribed under ``key`` = (event id, publisher identity, handler)."""
    with _subscriptions_lock:
        _subscriptions.setdefault(key, []).append(delegate)
        if key[1]:
            _by_identity.setdefault(key[1], set()).add(key)


def subscription_take(key: tuple[int, int, Any]) -> Any:
    """The delegate most recently subscribed under ``key`` (forgotten now), or None."""
    with _subscriptions_lock:
        pending = _subscriptions.get(key)
        delegate = pending.pop() if pending else None
        if pending == []:
            del _subscriptions[key]
            keys = _by_identity.get(key[1])
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del _by_identity[key[1]]
    return delegate


def subscription_count() -> int:
    return sum(len(v) for v in _subscriptions.values())


def _forget_publishers(identities: list[int]) -> None:
    dead: list[Any] = []
    with _subscriptions_lock:
        for ident in identities:
            for key in _by_identity.pop(ident, ()):
                dead.append(_subscriptions.pop(key, None))
    dead.clear()  # outside the lock: dropping delegate proxies frees their handles


def drain() -> int:
    """Drop the Python objects .NET has collected. Returns how many were released."""
    if _bridge.SHIM is None or _bridge.SHUTTING_DOWN.is_set():
        return 0
    from ._derived import sweep

    sweep()  # derived objects only .NET may still hold: let .NET decide
    buf = (ctypes.c_int64 * 512)()
    total = 0
    while True:
        n = _bridge.SHIM.DrainReleased(buf, 512)
        if n <= 0:
            break
        # Popped objects die after the lock is released: their __del__ may be user code.
        with _registry_lock:
            dead = [_registry.pop(buf[i], None) for i in range(n)]
        dead.clear()
        total += n
    while (n := _bridge.SHIM.DrainDeadIdentities(buf, 512)) > 0:
        _forget_publishers([buf[i] for i in range(n)])
    return total


def _write_error(exc: BaseException, results: Any) -> None:
    error_id = register(exc)
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    data, n = _bridge.utf16(f"{type(exc).__qualname__}\x1f{exc}\x1f{text}")
    results[0].kind = Kind.PYOBJECT
    results[0].i = error_id
    results[1].kind = Kind.STRING
    results[1].s = data
    results[1].extra = n
    _keepalive[threading.get_ident()] = [data]


_INT64, _DOUBLE = Kind.INT64, Kind.DOUBLE
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1

#: ``extra`` of an Object result whose handle .NET owns (``Callbacks.TransferredHandle``).
TRANSFERRED_HANDLE = -1


def _dispatch(obj_id: int, args_at: int | None, nargs: int, ret_type: int, results_at: int | None,
              nresults: int) -> int:
    try:
        views = _frames.get((args_at, results_at, nargs, nresults))
        if views is None:
            views = _frame_views(args_at, results_at, nargs, nresults)
        args, results = views
        fn = _registry[obj_id]
        # Int64 and Double arguments decoded inline (no side effects); anything else: from_values.
        if nargs == 2:  # Comparison<T>, Func<T, T, R>...: the commonest callbacks
            a = args[0]
            b = args[1]
            out = fn(a.i, b.i) if a.kind == _INT64 and b.kind == _INT64 else fn(*from_values(args, nargs))
        elif nargs == 1:
            a = args[0]
            kind = a.kind
            out = fn(a.i if kind == _INT64 else a.d if kind == _DOUBLE else from_value(a))
        else:
            out = fn(*from_values(args, nargs))
        if nresults == 1 and ret_type != 0 and type(out) is int and _I64_MIN <= out <= _I64_MAX \
                and not _codecs.encoders:
            result = results[0]  # what to_value writes for this int, written inline
            result.kind = _INT64
            result.i = out
            if _keepalive:  # nothing to keep: drop this thread's previous keepalive, if any
                _keepalive.pop(threading.get_ident(), None)  # (only this thread adds its key)
            return 0
        keep: list[Any] = []
        if nresults > 1:
            if ret_type == 0:
                outs = out if isinstance(out, tuple) else (out,)
                results[0].kind = Kind.VOID
            else:
                if not isinstance(out, tuple) or len(out) != nresults:
                    raise TypeError(f"a callback for a delegate with out/ref parameters must return a "
                                    f"tuple (result, {', '.join(['value'] * (nresults - 1))})")
                to_value(out[0], results[0], keep)
                outs = out[1:]
            if len(outs) != nresults - 1:
                raise TypeError(f"the callback must return {nresults - 1} out/ref value(s), got {len(outs)}")
            for i, value in enumerate(outs):
                to_value(value, results[1 + i], keep)
        elif ret_type != 0:
            to_value(out, results[0], keep)
        else:
            results[0].kind = Kind.VOID
        for i in range(nresults):
            if results[i].kind == Kind.OBJECT:
                # The proxy may die as soon as we return: .NET gets (and frees) its own handle.
                results[i].i = _bridge.shim().DuplicateHandle(results[i].i)
                results[i].extra = TRANSFERRED_HANDLE
        if keep:
            keep.append(out)  # sequences and maps point into values that point at proxies in out
            _keepalive[threading.get_ident()] = keep
        elif _keepalive:
            _keepalive.pop(threading.get_ident(), None)  # nothing to keep: drop this thread's last one
        return 0
    except BaseException as exc:  # everything, SystemExit too: it travels back through .NET
        try:
            _write_error(exc, results)
            return 1
        except BaseException:
            return 2


#: The one dispatcher object; referenced for the life of the process.
DISPATCH = DISPATCHER(_dispatch)
DISPATCH_ADDRESS = ctypes.cast(DISPATCH, ctypes.c_void_p).value
