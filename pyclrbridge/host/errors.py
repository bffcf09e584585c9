"""Errors: the Python side of .NET exceptions, and the builtin each one also is."""

from __future__ import annotations

from typing import Any


class ClrError(Exception):
    """Base class of every .NET exception seen from Python.

    The Python class of a .NET exception type derives from this and, where one obviously fits,
    from the matching builtin (``System.FormatException`` is also a :class:`ValueError`).
    ``clr_exception`` is the .NET exception object itself.
    """

    _h: int

    @property
    def clr_exception(self) -> Any:
        return self


class HostError(ClrError, RuntimeError):
    """Starting or reaching the .NET runtime failed (no .NET found, bad runtimeconfig, hostfxr error)."""


#: .NET exception type -> the builtin its Python class also derives from. One table, keyed by
#: full name; a type inherits the entry of its nearest listed base.
#: Read-only after import: no lock.
BUILTIN_FOR_EXCEPTION: dict[str, type[BaseException]] = {
    "System.ArgumentException": ValueError,
    "System.FormatException": ValueError,
    "System.Collections.Generic.KeyNotFoundException": KeyError,
    "System.IndexOutOfRangeException": IndexError,
    "System.ArgumentOutOfRangeException": IndexError,
    "System.InvalidCastException": TypeError,
    "System.OverflowException": OverflowError,
    "System.DivideByZeroException": ZeroDivisionError,
    "System.IO.FileNotFoundException": FileNotFoundError,
    "System.IO.IOException": OSError,
    "System.NotImplementedException": NotImplementedError,
    "System.NotSupportedException": NotImplementedError,
    "System.TimeoutException": TimeoutError,
    "System.ObjectDisposedException": ValueError,
}
