"""Exceptions raised as .NET enters Python, before a callback's own ``try:`` has started.

Python runs pending signal handlers at the first instruction of a function, so a handler that
raises (``KeyboardInterrupt`` on Ctrl-C, a ``TimeoutError`` from a ``SIGALRM`` handler) can
raise inside the entry function ctypes calls, ahead of its ``try:``. ctypes then hands the
exception to :data:`sys.unraisablehook` and returns an unset value to .NET.

:func:`install` puts a hook in front of the current one. It recognises the entry functions of
the bridge by their code objects and reports the exception where the shim reads a callback's
error (the dispatcher's results, a typed thunk's slot), so the call fails with that exception
exactly as if the callback itself had raised it. Other unraisable exceptions go to the hook
that was there before.

One window remains: the hook is Python code too, so a second signal whose handler raises at
the hook's own first instruction (microseconds after the first) replaces the exception, and
Python prints "Exception ignored in sys.unraisablehook" with it; the callback then fails with
.NET's InvalidOperationException ("... could not be reported"). Nothing leaks there (no id
or handle was written yet). Closing it needs the entry's exception caught outside Python code
(the shim calling the dispatcher through the C API instead of a ctypes callback, holding the
exception itself and calling the report again until it returns). That is left: it replaces the
entry of every callback (the dispatcher and each typed thunk shape, whose arguments ctypes
converts today) and the thread-state handling ctypes does for a .NET thread, on every supported
CPython version, free-threaded ones included, for a window of one instruction that loses no
object."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

from ..host.locks import SignalSafeLock

#: How an entry function reports an exception that escaped it: (its frame's locals, exception).
Reporter = Callable[[dict[str, Any], BaseException], None]

# Code object of an entry function -> its reporter. Written when an entry function is made
# (the dispatcher at import, a typed thunk under typed._lock), read by the hook; single dict
# operations, and an entry is never removed.
_reporters: dict[types.CodeType, Reporter] = {}

# Owner: _install_lock makes installing the hook one step (once per process).
_install_lock = SignalSafeLock("pyclrbridge.callbacks.entry._install_lock")
_previous: list[Callable[[Any], object]] = []


def add_entry(code: types.CodeType, report: Reporter) -> None:
    """Register an entry function .NET calls through ctypes."""
    _reporters[code] = report


def _hook(unraisable: Any) -> None:
    # Attribute reads, a dict test and a subscript up to the first try: no signal check.
    tb = unraisable.exc_traceback
    exc = unraisable.exc_value
    code = tb.tb_frame.f_code if tb is not None and exc is not None else None
    if code in _reporters:
        report = _reporters[code]
        frame_locals = tb.tb_frame.f_locals
        # A signal handler raising while this reports (a second signal) is reported instead:
        # each level catches one more (report() itself retries inside). What no code here can
        # catch is a signal at this function's own first instruction (see the module doc).
        try:
            report(frame_locals, exc)
            return
        except BaseException as again:
            try:
                report(frame_locals, again)
                return
            except BaseException as third:
                try:
                    report(frame_locals, third)
                    return
                except BaseException:
                    pass
    _previous[0](unraisable)


def install() -> None:
    """Put the hook in front of :data:`sys.unraisablehook` (once)."""
    _ = _install_lock.taken
    try:
        if not _previous:
            _previous.append(sys.unraisablehook)
            sys.unraisablehook = _hook
    finally:
        _install_lock.release()
