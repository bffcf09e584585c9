"""The one dispatcher .NET calls Python callables through.

.NET holds a Python callable as a registry id (:mod:`pyclrbridge.values.objects`); a call
arrives here with that id and views of the argument and result values, and an exception
goes back to .NET as an error value.
"""

from __future__ import annotations

import ctypes
import threading
import traceback
from typing import Any

from ..host import bridge as _bridge
from ..host.errors import ClrError
from ..host.shim import DISPATCHER, Value
from ..host.shim import KindInt as Kind  # plain ints: IntEnum member reads are slow on every callback
from ..proxies.exceptions import is_python_subclass
from ..values import codecs as _codecs
from ..values.convert import to_value
from ..values.objects import _registry, forget_now, handle_of, register_into
from ..values.results import from_value, from_values
from .entry import add_entry

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


def _frame_views(
    args_at: int | None, results_at: int | None, nargs: int, nresults: int
) -> tuple[tuple[Value, ...], tuple[Value, ...]]:
    # The shim allocates at least two results (room for an error); args: at least one.
    views = (_views_at(args_at, nargs), _views_at(results_at, max(2, nresults)))
    if len(_frames) > _VIEWS_MAX:
        _frames.clear()
    return _frames.setdefault((args_at, results_at, nargs, nresults), views)


#: ``extra`` of the first result when a callback reports an error (``Callbacks.ErrorMark``).
ERROR_MARK = -2
#: ``extra`` of an Object result whose handle .NET owns (``Callbacks.TransferredHandle``).
TRANSFERRED_HANDLE = -1
#: The marks of an Object value whose handle is .NET's own (to free if .NET never reads it).
_OWNED_MARKS = (TRANSFERRED_HANDLE, ERROR_MARK)


def _write_error(exc: BaseException, results: Any) -> None:
    """Report ``exc`` in ``results[0:2]`` the way ``Callbacks.Failure`` reads it: a .NET
    exception as its own object (and, for an instance of a Python subclass, that object's id),
    any other exception as its registry id and text. What .NET will own (a registry id, a
    handle of its own) is written last, each in one step that leaves it marked in its slot
    (``register_into``, ``TransferHandle``): :func:`report` drops whatever an interrupted
    attempt left there."""
    first = results[0]
    second = results[1]
    h = handle_of(exc) if isinstance(exc, ClrError) else None
    if h and is_python_subclass(exc):
        second.kind = Kind.PYOBJECT
        register_into(exc, second)  # the id lands in the slot in the step that registers it
        first.kind = Kind.OBJECT
        first.i = h  # the proxy's own handle (extra 0: not .NET's), then one of .NET's, marked
        first.extra = 0
        _bridge.shim().TransferHandle(ctypes.addressof(first), ERROR_MARK)  # .NET frees it (Callbacks.Failure)
        return
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    data, n = _bridge.utf16(f"{type(exc).__qualname__}\x1f{exc}\x1f{text}")
    _keepalive[threading.get_ident()] = [data]
    second.kind = Kind.STRING  # the text: Callbacks.Failure reads it for a Python exception
    second.s = data
    second.extra = n
    if h:
        first.kind = Kind.OBJECT
        first.i = h
        first.extra = 0
        _bridge.shim().TransferHandle(ctypes.addressof(first), ERROR_MARK)
    else:
        first.kind = Kind.PYOBJECT
        first.extra = ERROR_MARK
        register_into(exc, first)


_OBJECT_KIND, _MISSING_KIND = Kind.OBJECT, Kind.MISSING
#: Kinds whose payload is a registry id handed to .NET (a Python object, a lazy iterable's opener).
_REGISTERED_KINDS = (Kind.PYOBJECT, Kind.LAZY_ITERABLE)


def drop_owned(results: Any) -> None:
    """Drop what ``results`` would hand to .NET and .NET will never take, the call having failed:
    registrations (a Python object's id) and handles marked as .NET's own (transferred, or an
    error's). Each is zeroed in its slot before it is dropped with nothing between that checks
    for signals (a store, then the C call itself), so none is dropped twice; a signal that
    interrupts this leaves the rest for the next call. A proxy's own handle (extra not a mark)
    is left alone: the proxy frees it."""
    free = _bridge.shim().FreeHandle
    for slot in results:
        kind = slot.kind
        if kind in _REGISTERED_KINDS:
            obj_id = slot.i
            if obj_id:
                slot.i = 0
                forget_now(obj_id, None)
        elif kind == _OBJECT_KIND and slot.extra in _OWNED_MARKS:
            handle = slot.i
            if handle:
                slot.i = 0
                free(handle)


def drop_kept(kept: Any) -> None:
    """:func:`drop_owned` for every block of ``Value`` items in a failed result's keep list: the
    items of a list, tuple or dict result, registered as they were written (a block is kept
    before its first item is, see ``to_value``). .NET reads nothing of a failed callback's result."""
    for block in kept:
        if isinstance(block, ctypes.Array) and getattr(block, "_type_", None) is Value:
            drop_owned(block)


#: How many times :func:`report` tries before it gives up (each failure is a newer exception,
#: a signal handler raising meanwhile, which it reports instead).
_REPORT_TRIES = 16


def report(exc: BaseException, results: Any, kept: Any = ()) -> bool:
    """Write ``exc`` as the callback's error, dropping first whatever the callback or an earlier
    attempt left in ``results`` for .NET (:func:`drop_owned`: .NET reads nothing but the error
    of a failed callback), and the registrations inside the result's blocks in ``kept`` (the
    conversion's keep list, :func:`drop_kept`); when writing it raises (a signal landing
    meanwhile), that newer exception is reported instead. False when nothing could be written:
    the results are then dropped and the first is Missing (.NET says the error "could not be
    reported")."""
    for _ in range(_REPORT_TRIES):
        try:
            drop_kept(kept)
            drop_owned(results)
            _write_error(exc, results)
            return True
        except BaseException as again:
            exc = again
    for _ in range(_REPORT_TRIES):
        try:
            drop_kept(kept)
            drop_owned(results)
            results[0].kind = _MISSING_KIND
            results[0].extra = 0
            break
        except BaseException:
            pass
    return False


#: ``keep`` of a callback that made no result yet (an empty tuple: never appended to).
_NOTHING_KEPT: Any = ()
_INT64, _DOUBLE = Kind.INT64, Kind.DOUBLE
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def _to_result(value: Any, slot: Value, keep: list[Any]) -> None:
    """``to_value`` for a callback result. A proxy result may die as soon as we return (or now,
    if only the conversion made it: a codec's result), so .NET gets (and frees) a handle of its
    own, duplicated before the proxy is let go; a pool thread's keepalive never holds it."""
    start = len(keep)
    to_value(value, slot, keep)
    if slot.kind == Kind.OBJECT:  # the proxy's handle becomes .NET's own, marked, in one step
        _bridge.shim().TransferHandle(ctypes.addressof(slot), TRANSFERRED_HANDLE)
        del keep[start:]


def _dispatch(
    obj_id: int, args_at: int | None, nargs: int, ret_type: int, results_at: int | None, nresults: int
) -> int:
    try:
        keep: list[Any] = _NOTHING_KEPT  # the result's keep list once made (see report's kept)
        # A negative type: .NET is still reading an earlier result of this thread (this call is
        # a Python key's hash during its conversion); what that result keeps must stay.
        nested = ret_type < 0
        if nested:
            ret_type = ~ret_type
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
        if (
            nresults == 1
            and ret_type != 0
            and type(out) is int
            and _I64_MIN <= out <= _I64_MAX
            and not _codecs.encoders
        ):
            result = results[0]  # what to_value writes for this int, written inline
            result.kind = _INT64
            result.i = out
            if _keepalive and not nested:  # nothing to keep: drop this thread's previous keepalive, if any
                _keepalive.pop(threading.get_ident(), None)  # (only this thread adds its key)
            return 0
        keep = []
        if nresults > 1:
            if ret_type == 0:
                outs = out if isinstance(out, tuple) else (out,)
                results[0].kind = Kind.VOID
            else:
                if not isinstance(out, tuple) or len(out) != nresults:
                    raise TypeError(
                        f"a callback for a delegate with out/ref parameters must return a "
                        f"tuple (result, {', '.join(['value'] * (nresults - 1))})"
                    )
                _to_result(out[0], results[0], keep)
                outs = out[1:]
            if len(outs) != nresults - 1:
                raise TypeError(f"the callback must return {nresults - 1} out/ref value(s), got {len(outs)}")
            for i, value in enumerate(outs):
                _to_result(value, results[1 + i], keep)
        elif ret_type != 0:
            _to_result(out, results[0], keep)
        else:
            results[0].kind = Kind.VOID
        if keep:
            keep.append(out)  # sequences and maps point into values that point at proxies in out
            outer = _keepalive.get(threading.get_ident()) if nested else None
            if outer is not None:
                outer.append(keep)  # kept with the result .NET is still reading
            else:
                _keepalive[threading.get_ident()] = keep
        elif _keepalive and not nested:
            _keepalive.pop(threading.get_ident(), None)  # nothing to keep: drop this thread's last one
        return 0
    except BaseException as exc:  # everything, SystemExit too: it travels back through .NET
        return 1 if report(exc, _views_at(results_at, max(2, nresults)), keep) else 2


def _report_at_entry(frame_locals: dict[str, Any], exc: BaseException) -> None:
    """An exception that escaped ``_dispatch`` (a signal at its entry, or at its except path's
    call of report): reported as its own."""
    views = _views_at(frame_locals["results_at"], max(2, frame_locals["nresults"]))
    report(exc, views, frame_locals.get("keep", ()))


add_entry(_dispatch.__code__, _report_at_entry)

#: The one dispatcher object; referenced for the life of the process.
DISPATCH = DISPATCHER(_dispatch)
DISPATCH_ADDRESS = ctypes.cast(DISPATCH, ctypes.c_void_p).value
