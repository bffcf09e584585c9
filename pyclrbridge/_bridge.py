"""The call layer: one active shim per process, and the few primitives every layer above uses.

``SHIM`` is set exactly once, by :func:`pyclrbridge._runtime.load`, after the shim is fully
bound; readers check it without a lock (publishing a finished object is one atomic store).
"""

from __future__ import annotations

import ctypes
import json
import sys
import threading
from typing import Any, NoReturn

from ._shim import Kind, Shim, Value, read_string, utf16

__all__ = ["SHIM", "SHUTTING_DOWN", "Kind", "Value", "invoke", "json_call", "read_string", "shim", "utf16"]

SHIM: Shim | None = None

#: Set at interpreter exit (or Runtime.shutdown()): from then on nothing calls into .NET.
SHUTTING_DOWN = threading.Event()


def shim() -> Shim:
    s = SHIM
    if s is None:
        raise RuntimeError("the .NET runtime is not loaded: call pyclrbridge.load() first")
    return s


def raise_error(error: Value) -> NoReturn:
    """Turn the error value of a failed export into the Python exception for it."""
    from ._exceptions import exception_from_error

    exc = exception_from_error(error)
    raise exc


def _new_values(n: int) -> ctypes.Array[Value]:
    return (Value * max(n, 1))()


def invoke(member_id: int, target: int, args: ctypes.Array[Value] | None, nargs: int,
           nresults: int = 1) -> ctypes.Array[Value]:
    """Call a member by id. Returns the results array ([return value, byref values...])."""
    results = _new_values(nresults)
    error = Value()
    rc = shim().Invoke(member_id, target, args, nargs, results, nresults, ctypes.byref(error))
    if rc != 0:
        raise_error(error)
    return results


def json_call(fn: Any, *args: Any) -> Any:
    """Call an export that returns JSON text in its result value."""
    result = Value()
    error = Value()
    rc = fn(*args, ctypes.byref(result), ctypes.byref(error))
    if rc != 0:
        raise_error(error)
    return json.loads(read_string(result))


def find_type_id(name: str) -> int:
    data, n = utf16(name)
    out = ctypes.c_int32()
    error = Value()
    if shim().FindType(data, n, ctypes.byref(out), ctypes.byref(error)) != 0:
        raise_error(error)
    return out.value


def free_handle(handle: int) -> None:
    """Release a GCHandle. Never after shutdown began: .NET may already be unreachable."""
    # SHIM first: at interpreter teardown this module's globals may already be None.
    shim = SHIM
    if handle and shim is not None and not SHUTTING_DOWN.is_set() and not sys.is_finalizing():
        shim.FreeHandle(handle)


def stats() -> dict[str, Any]:
    return dict(json_call(shim().Stats))


def kind_name(kind: int) -> str:
    try:
        return Kind(kind).name
    except ValueError:
        return str(kind)
