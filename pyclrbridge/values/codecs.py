"""User codecs: custom conversions registered with :func:`register_codec`.

The built-in rules live in :mod:`pyclrbridge._convert`; it consults these tables first when a
value goes to .NET (``encode_custom``) and last when a .NET object comes back (``decode``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..host import typeinfo as _typeinfo
from ..host.locks import SignalSafeLock

# Owner: _lock guards registration. Readers take the current tuple / dict in one
# atomic read; writers replace them whole (copy-on-write), never mutate in place.
_lock = SignalSafeLock("pyclrbridge.values.codecs._lock")
encoders: tuple[tuple[type, Callable[[Any], Any]], ...] = ()
decoders: dict[str, Callable[[Any], Any]] = {}
# Told the new encoders after every change, under _lock (proxies.native mirrors "any encoder
# registered?" into the shim). Appended under _lock.
_listeners: list[Callable[[tuple[Any, ...]], None]] = []


def on_encoders_changed(listener: Callable[[tuple[Any, ...]], None]) -> None:
    """Call ``listener(encoders)`` now and after every registration or removal."""
    _ = _lock.taken
    try:
        _listeners.append(listener)
        listener(encoders)
    finally:
        _lock.release()


def register_codec(
    python_type: type | None = None,
    encode: Callable[[Any], Any] | None = None,
    *,
    clr_type: Any = None,
    decode: Callable[[Any], Any] | None = None,
) -> Callable[[], None]:
    """Register a custom conversion; returns a function that removes it again.

    Give ``python_type`` with ``encode`` (Python to .NET), ``clr_type`` with ``decode``
    (.NET to Python), or both pairs.

    Args:
        python_type: A Python class; its instances (and those of its subclasses) are encoded
            whenever one is passed to .NET.
        encode: Turns such an instance into something the built-in rules know (a .NET
            object, a number, a string, a list...). Overload resolution sees the encoded
            value, so a method taking the .NET type accepts the Python one. The first
            matching encoder registered wins.
        clr_type: A proxy class (``Point``) or a full .NET type name
            (``"Fixtures.Structs.Point"``); a generic definition name such as
            ``"System.Collections.Generic.List`1"`` matches every constructed form.
        decode: Applied to every .NET object of type ``clr_type`` returned to Python; its
            result is what Python sees. Decoders do not apply to values the built-in rules
            already converted (numbers, strings, enums).

    Returns:
        A function without arguments that removes this registration.

    Raises:
        TypeError: A type comes without its function (or a function without its type), or
            ``python_type`` is not a class.

    Examples:
        >>> from decimal import Decimal
        >>> from fractions import Fraction
        >>> undo = register_codec(Fraction, lambda f: Decimal(f.numerator) / f.denominator)
        >>> undo()  # back to the built-in rules
    """
    global encoders, decoders
    if (python_type is None) != (encode is None):
        raise TypeError("register_codec needs python_type and encode together")
    if (clr_type is None) != (decode is None):
        raise TypeError("register_codec needs clr_type and decode together")
    if python_type is not None and not isinstance(python_type, type):
        raise TypeError(f"python_type must be a class, not {python_type!r}")
    name = _clr_type_name(clr_type) if clr_type is not None else None
    encoder = (python_type, encode) if python_type is not None and encode is not None else None
    _ = _lock.taken
    try:
        if encoder is not None:
            encoders = (*encoders, encoder)
        if name is not None and decode is not None:
            decoders = {**decoders, name: decode}
        for listener in _listeners:
            listener(encoders)
    finally:
        _lock.release()

    def unregister() -> None:
        global encoders, decoders
        _ = _lock.taken
        try:
            if encoder is not None:
                encoders = tuple(e for e in encoders if e is not encoder)
            if name is not None and decoders.get(name) is decode:
                decoders = {k: v for k, v in decoders.items() if k != name}
            for listener in _listeners:
                listener(encoders)
        finally:
            _lock.release()

    return unregister


def _clr_type_name(clr_type: Any) -> str:
    if isinstance(clr_type, str):
        return clr_type
    info = getattr(clr_type, "__clr_info__", None)
    if isinstance(info, _typeinfo.TypeInfo):
        return info.full_name
    raise TypeError(f"clr_type must be a .NET class or a full type name, not {clr_type!r}")


def encode_custom(obj: Any) -> Any:
    """``obj`` after the first matching user encoder (itself when none matches)."""
    for py_type, encode in encoders:
        if isinstance(obj, py_type):
            return encode(obj)
    return obj


def decode_result(obj: Any) -> Any:
    """A .NET object returned to Python, after the user decoder for its type (if any)."""
    info: _typeinfo.TypeInfo = type(obj).__clr_info__
    found = decoders.get(info.full_name)
    if found is None and info.generic_def_id:
        found = decoders.get(_typeinfo.info(info.generic_def_id).full_name)
    return obj if found is None else found(obj)


__all__ = ["decode_result", "encode_custom", "register_codec"]
