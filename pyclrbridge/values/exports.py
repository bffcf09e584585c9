"""Calling a shim export that reports failure in an error value, with no handle left unowned.

Such an export takes a pointer to an error :class:`~pyclrbridge.host.shim.Value` as its last
argument and returns nonzero when it failed; the value then holds a handle of the .NET exception
it caught. The Python exception is made from it (:func:`~pyclrbridge.host.bridge.raise_error`):
the exception's proxy claims the handle, taking ``i`` and zeroing it with nothing between that
checks for signals (``proxies.wrapping.wrap_value``). A signal handler that raises (Ctrl-C, an
alarm) can land anywhere else on that way: as the export returns, at the first instruction of
``raise_error``, while the exception's class is built or its message read. Written as
``if export(..., byref(error)) != 0: raise_error(error)``, each such landing leaked the
exception (and, for one that carries a Python exception a callback raised, that object too).

:func:`call` and :func:`call_result` hold the error value (and the result value) for the whole
way, and their ``except`` frees exactly the handle no proxy claimed, as every frame call does
(``host.bridge.call_frame``): field reads, a store and a compare, then the export that frees, so
nothing between the exception and the free checks for signals and a second signal cannot skip it.
Every module calls failing exports through these two (the host layer through :func:`call`'s
own definition, ``host.bridge.call_export``).
"""

from __future__ import annotations

import ctypes
from typing import Any

from ..host import bridge as _bridge
from ..host.shim import Value
from .results import from_value

#: ``export(*args, &error)``: raises the .NET exception when it returns nonzero, and frees a
#: handle of that exception no proxy took (the host layer's own helper, used there too).
call = _bridge.call_export


#: What :func:`call_result` gives when the export answered ``absent``.
ABSENT: Any = object()


def call_result(export: Any, *args: Any, absent: int = 0) -> Any:
    """``from_value(result)`` of ``export(*args, &result, &error)``, or the .NET exception it
    raised; :data:`ABSENT` when it returned ``absent`` (a nonzero answer that is no failure).
    After an exception (the export's, a signal's, one converting the result), the handles no
    proxy took, of the result and of the error, are freed by one export call (two would have a
    signal check between them)."""
    pair = _Pair()
    result = pair[0]  # views of the pair's memory
    error = pair[1]
    try:
        rc = export(*args, ctypes.byref(result), ctypes.byref(error))
        if rc != 0:
            if rc == absent:
                return ABSENT
            _bridge.raise_error(error)
        return from_value(result)  # a proxy that takes the result's handle zeroes it
    except BaseException:
        _bridge.SHIM.FreeUnclaimedValues(pair, 2)  # type: ignore[union-attr]  # loaded: the export ran
        raise


#: A call's result value and error value, side by side (freed together by FreeUnclaimedValues).
_Pair = Value * 2
