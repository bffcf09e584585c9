"""One Python thread state per .NET thread that calls Python (see ``ThreadStates.cs``).

Without it, every callback entered on a .NET thread creates a Python thread state and destroys
it again (ctypes' ``PyGILState_Ensure``/``PyGILState_Release`` around each call), which costs
more than the callback itself, and 100x more on free-threaded builds. The shim keeps the state
a .NET thread gets on its first callback and deletes it after the thread ended; it needs a few
functions of the C-API for that, handed over here once at load.

``PYCLRBRIDGE_KEEP_THREAD_STATES=0`` turns it off (one thread state per callback, as before).
"""

from __future__ import annotations

import ctypes
import os

from ..host import bridge as _bridge

#: Whether .NET threads keep their Python thread state (``PYCLRBRIDGE_KEEP_THREAD_STATES=0``: no).
ENABLED = os.environ.get("PYCLRBRIDGE_KEEP_THREAD_STATES", "1") != "0"

#: The C-API functions the shim calls, in the order ``Exports.SetPythonApi`` reads them.
API = (
    "PyGILState_Ensure",
    "PyEval_SaveThread",
    "PyEval_RestoreThread",
    "PyThreadState_Clear",
    "PyThreadState_DeleteCurrent",
    "PyGILState_GetThisThreadState",
)


def install(shim: object) -> None:
    """Hand the C-API addresses to the shim (once, at load, before any callback)."""
    if not ENABLED:
        return
    addresses = (ctypes.c_int64 * len(API))(
        *(ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value or 0 for name in API)
    )
    if 0 in addresses or shim.SetPythonApi(addresses, len(API)) != 0:  # type: ignore[attr-defined]
        raise RuntimeError("the shim refused the Python C-API functions for thread states")


def sweep() -> int:
    """Delete the Python states of .NET threads that ended; returns how many are still kept.
    Runs with the GIL released (the shim deletes them on a thread of its own)."""
    return int(_bridge.shim().SweepThreadStates())
