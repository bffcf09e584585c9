"""Releasing a proxy's .NET object before Python collects it: ``pyclrbridge.release``."""

from __future__ import annotations

from typing import Any

from ..host import bridge as _bridge
from ..host.locks import SignalSafeLock
from .base import ClrEnum, ClrObject

# Exactly-once release. __del__ runs when no other reference exists, so it needs no lock;
# release() can race with itself on two threads, so it claims the slot under this lock.
_release_lock = SignalSafeLock("pyclrbridge.proxies.release._release_lock")


def release(obj: Any) -> None:
    """Free the .NET object behind a proxy now, instead of when Python collects it.

    A second release of the same proxy does nothing. Using a released proxy raises an error;
    it never reaches another object.

    Args:
        obj: A .NET object proxy (an instance, not a class).

    Raises:
        TypeError: ``obj`` is a class, an enum value (those are shared, one object per value),
            or not a .NET object at all.

    Examples:
        >>> from System.Text import StringBuilder
        >>> sb = StringBuilder("big")
        >>> pyclrbridge.release(sb)
    """
    if isinstance(obj, type) or not isinstance(obj, ClrObject) or isinstance(obj, ClrEnum):
        what = f"the class {obj.__name__}" if isinstance(obj, type) else f"an object of type {type(obj).__name__}"
        why = " (enum values are shared; there is nothing to release)" if isinstance(obj, ClrEnum) else ""
        raise TypeError(f"pyclrbridge.release() takes a .NET object proxy, not {what}{why}")
    shim = _bridge.SHIM
    if shim is None or _bridge.SHUTTING_DOWN.is_set():
        shim = None  # nothing may be called in .NET any more (see free_handle)
    _ = _release_lock.taken
    try:
        h = getattr(obj, "_h", 0)
        # Claim and free with nothing between that checks for signals (a store, a test and a
        # jump, then the export itself): a signal handler that raises here cannot separate
        # the proxy giving up its handle from .NET freeing it (the handle would leak).
        obj._h = 0
        if shim is not None:
            shim.FreeHandle(h)
    finally:
        _release_lock.release()
