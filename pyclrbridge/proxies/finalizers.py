"""The proxies' finalizers made of the shim's own exports (installed at load, once the shim is
bound): no Python bytecode runs between a proxy dying and its handle being freed."""

from __future__ import annotations

import ctypes
import functools
from typing import Any

from ..values.objects import HandleOwner
from .base import ClrObject


def install_finalizer(shim: Any) -> None:
    """Make the shim's own exports the proxies' finalizers (at load, once the shim is bound). A
    finalizer written in Python can be cut short by a signal handler that raises at its first
    instruction (CPython checks for pending signals on entering every Python function), and then
    the handle leaks: ``Exception ignored in __del__``, and the .NET object lives for ever.
    ``functools.lru_cache(maxsize=0)`` binds like a method and calls the export directly from C
    (no cache, no Python frame): no bytecode runs between the object dying and its handle being
    freed.

    ``ClrObject.__del__`` is ``FreeProxy``, which takes the proxy itself and reads its handle
    slot through the slot's own C descriptor (an empty slot, left by a signal between allocation
    and the slot's store or by a failed construction, frees nothing and reports nothing). So no
    proxy class needs a ``__getattr__`` to answer for an empty slot. ``HandleOwner.__del__`` is
    ``FreeHandle``, reading ``_as_parameter_`` (a class default of 0 under it), bound with a
    pointer-sized parameter: ctypes converts an object to an int64 through its ``__index__``
    first, while a pointer parameter takes only a real ``int`` or ``_as_parameter_``. Both free
    nothing for 0 (a released proxy), in a forked child or once shutdown began (as Python's own
    free_handle). Where a pointer cannot hold a handle (32-bit), the Python finalizers stay."""
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        return
    api = ctypes.pythonapi
    slot = ClrObject.__dict__["_h"]
    addresses = [
        ctypes.cast(api.PyType_GetSlot, ctypes.c_void_p).value or 0,
        ctypes.cast(api.PyErr_Clear, ctypes.c_void_p).value or 0,
        ctypes.cast(api.Py_DecRef, ctypes.c_void_p).value or 0,
        ctypes.cast(api.PyObject_Type, ctypes.c_void_p).value or 0,
        ctypes.cast(api.PyLong_AsLongLongAndOverflow, ctypes.c_void_p).value or 0,
    ]
    get_slot = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_int)(addresses[0])
    try:
        slot_get = get_slot(type(slot), _TP_DESCR_GET) or 0
    except SystemError:  # before 3.10, PyType_GetSlot reads no static type
        slot_get = 0
    if 0 in addresses or not slot_get:
        return  # the Python finalizer stays
    if shim.ProxyFinalizerSetup(slot_get, id(slot), *addresses[1:], id(int)) != 0:
        return
    address = ctypes.cast(shim.FreeHandle, ctypes.c_void_p).value or 0
    free = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)(address)
    ClrObject.__del__ = _native_finalizer(shim) or _ctypes_finalizer(shim)  # type: ignore[method-assign]
    HandleOwner.__del__ = functools.lru_cache(maxsize=0)(free)  # type: ignore[attr-defined]


def _native_finalizer(shim: Any) -> Any:
    """``ClrObject.__del__`` as a method descriptor of ClrObject made by the shim (a C function,
    see ``managed_shim/Calls/ProxyFinalizer.cs``), or None where the shim cannot make it. CPython
    calls it with the dying proxy straight from the finalizer slot: no ctypes call, so no
    argument conversion and no shared ctypes object written by every dying proxy (on a
    free-threaded build each such write is contended between threads)."""
    try:
        new_method = ctypes.cast(ctypes.pythonapi.PyDescr_NewMethod, ctypes.c_void_p).value or 0
        incref = ctypes.cast(ctypes.pythonapi.Py_IncRef, ctypes.c_void_p).value or 0
        address = ctypes.cast(shim.ProxyFinalizerDescriptor, ctypes.c_void_p).value or 0
        # Always with the GIL held (a PYFUNCTYPE), whatever PYCLRBRIDGE_HOLD_GIL says: the export
        # calls PyDescr_NewMethod.
        make = ctypes.PYFUNCTYPE(ctypes.c_int64, *[ctypes.c_int64] * 4)(address)
        made = make(new_method, id(ClrObject), incref, id(None)) if address else 0
    except (AttributeError, OSError):  # no such symbol, an old shim
        return None
    if not made:
        return None
    # The shim keeps the reference it made (the descriptor lives for the process).
    return ctypes.cast(ctypes.c_void_p(made), ctypes.py_object).value


def _ctypes_finalizer(shim: Any) -> Any:
    """``ClrObject.__del__`` as ``FreeProxy`` called through ctypes (``functools.lru_cache(
    maxsize=0)`` binds like a method and calls it from C, with no Python frame)."""
    address = ctypes.cast(shim.FreeProxy, ctypes.c_void_p).value or 0
    free_proxy = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.py_object)(address)
    return functools.lru_cache(maxsize=0)(free_proxy)


# typeslots.h: Py_tp_descr_get (the stable ABI's slot numbering).
_TP_DESCR_GET = 54
