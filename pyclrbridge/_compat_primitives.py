"""pythonnet's primitive objects under `pyclrbridge.compat`: casts to primitive types keep the
.NET object (`keep_primitive_objects`), and those objects get Python's number protocols."""

from __future__ import annotations

from typing import Any

from .proxies import construction as _construction
from .proxies.catalog import class_by_name


def keep_primitive_objects(enabled: bool = True) -> bool:
    """pythonnet's casts: calling a primitive .NET type gives the .NET object
    (``System.String("abc").Substring(1)``, ``System.Int32(5).CompareTo(3)``) instead of the
    Python value (``"abc"``, ``5``). On by default under compat (importing this module switches
    it on), off in the native API; ``keep_primitive_objects(False)`` gives Python values.
    Process-wide. Returns the previous setting."""
    return _construction.casts_keep_objects(enabled)


# The number protocols of pythonnet's primitive objects, so that code holding a kept
# System.Int32(5) still does int(x), float(x), x == 5, range(x), f"{x:03d}".
_INTEGRAL = ("SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64")
_REAL = ("Single", "Double")
_PRIMITIVE_NAMES = frozenset(f"System.{n}" for n in (*_INTEGRAL, *_REAL, "Boolean", "Char", "String"))


def _value_of(obj: Any) -> Any:
    """The Python value of a kept primitive object; anything else as it is."""
    if getattr(type(obj), "__clr_name__", None) in _PRIMITIVE_NAMES:
        return _construction.unbox(obj)
    return obj


def _p_int(self: Any) -> int:
    return int(_construction.unbox(self))


def _p_float(self: Any) -> float:
    return float(_construction.unbox(self))


def _p_bool(self: Any) -> bool:
    return bool(_construction.unbox(self))


def _p_eq(self: Any, other: object) -> Any:
    theirs = _value_of(other)
    if theirs is other and getattr(type(other), "__clr_name__", None) is not None:
        return NotImplemented  # another .NET object: its own rules (Equals)
    return _construction.unbox(self) == theirs


def _p_ne(self: Any, other: object) -> Any:
    eq = _p_eq(self, other)
    return eq if eq is NotImplemented else not eq


def _p_hash(self: Any) -> int:
    return hash(_construction.unbox(self))


def _p_format(self: Any, spec: str) -> str:
    return format(_construction.unbox(self), spec) if spec else str(self)


def add_number_protocols() -> None:
    """Give the kept primitive objects pythonnet's conversions. Done once, at import (under the
    import lock); each class attribute is set whole."""
    for name in (*_INTEGRAL, *_REAL, "Boolean", "Char", "String"):
        cls = class_by_name(f"System.{name}")
        protocols: dict[str, Any] = {"__eq__": _p_eq, "__ne__": _p_ne, "__hash__": _p_hash, "__format__": _p_format}
        if name in _INTEGRAL or name == "Boolean":
            protocols.update(__int__=_p_int, __index__=_p_int, __float__=_p_float, __bool__=_p_bool)
        elif name in _REAL:
            protocols.update(__int__=_p_int, __float__=_p_float, __bool__=_p_bool)
        for dunder, function in protocols.items():
            type.__setattr__(cls, dunder, function)
