"""Handles returned by .NET made into proxies: ``wrap`` and ``wrap_value`` (the proxy owns the
handle from then on), and the type ids that are not made by their catalog class alone (.NET
exceptions, types emitted for Python classes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..host.shim import Value
from . import exceptions as _exceptions
from .catalog import class_for


def _no_derived(handle: int) -> Any:
    raise RuntimeError("Python subclasses of .NET types are not installed (import pyclrbridge first)")


# How a handle of a type emitted for a Python class becomes the Python object itself: the
# callbacks layer installs it at package import (meta.install_derived); written once, then read.
_adopt_derived: Callable[[int], Any] = _no_derived


def install_adopt(adopt: Callable[[int], Any]) -> None:
    """Registration from the callbacks layer (through meta.install_derived)."""
    global _adopt_derived
    _adopt_derived = adopt


def _blank_exception(cls: Any) -> Any:
    """A new, empty proxy of the .NET exception class ``cls`` (its handle slot still 0)."""
    try:
        return cls.__clr_blank_oserror__ if OSError in cls.__mro__ else cls.__clr_blank_error__
    except TypeError:  # a builtin base with a __new__ of its own (none is mapped today)
        return cls.__new__(cls)


def wrap(handle: int, type_id: int) -> Any:
    """A proxy for a handle returned by .NET (the proxy now owns the handle)."""
    if type_id in DERIVED_TYPE_IDS:
        return _adopt_derived(handle)  # an instance of a Python class: the Python object itself
    cls = class_for(type_id)
    if type_id in EXCEPTION_TYPE_IDS:
        obj = _blank_exception(cls)
        obj._h = handle
        return _exceptions.adopt(obj)  # one Python object per .NET exception, a Python exception
    obj = cls.__clr_blank__
    obj._h = handle
    return obj


def wrap_value(v: Value) -> Any:
    """:func:`wrap` for an OBJECT result value, claiming its handle: the proxy is made (by an
    attribute read, see ``ClrMeta.__clr_blank__``), takes ``v.i`` and ``v.i`` becomes 0 with
    nothing between that checks for signals, so whoever holds the value after an exception frees
    exactly the handle no proxy owns, and no proxy dies with an empty slot. A handle for a
    Python-derived object is claimed before it is adopted (an exception inside adopt may leak
    it, never free the handle the object keeps)."""
    type_id = v.extra
    if type_id in DERIVED_TYPE_IDS:
        handle = v.i
        v.i = 0
        return _adopt_derived(handle)
    cls = class_for(type_id)
    if type_id in EXCEPTION_TYPE_IDS:
        obj = _blank_exception(cls)  # made before the claim: v.i stays set until obj takes it
        obj._h = v.i
        v.i = 0
        return _exceptions.adopt(obj)
    obj = cls.__clr_blank__
    obj._h = v.i
    v.i = 0
    return obj


#: .NET types emitted for Python classes (written by _derived; set.add is atomic).
DERIVED_TYPE_IDS: set[int] = set()

#: Emitted type id -> weak reference to its Python class (each instance keeps its class alive).
#: Written once per class by callbacks.derived.prepare before any instance exists, popped by
#: its drain hook once the type is forgotten; single dict writes and pops are atomic.
DERIVED_CLASSES: dict[int, Any] = {}

#: .NET exception types (their classes derive from ClrError; written by classes.create as each
#: class is made, before any instance is wrapped; set.add is atomic).
EXCEPTION_TYPE_IDS: set[int] = set()
