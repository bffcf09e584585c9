"""Errors: the Python side of .NET exceptions, and the builtin each one also is."""

from __future__ import annotations

from typing import Any


class ClrError(Exception):
    """Base class of every .NET exception seen from Python.

    The Python class of a .NET exception type derives from this and, where one obviously fits,
    from the matching builtin (``System.FormatException`` is also a ``ValueError``), so
    ``except ValueError`` catches it.

    Examples:
        >>> from System import Int32
        >>> try:
        ...     Int32.Parse("x")
        ... except pyclrbridge.ClrError as e:
        ...     print(type(e).__name__)
        FormatException
    """

    _h: int

    @property
    def clr_exception(self) -> Any:
        """The .NET exception object itself (its ``Message``, ``StackTrace``, ``InnerException``)."""
        return self


class HostError(ClrError, RuntimeError):
    """Starting or reaching the .NET runtime failed.

    Raised by [`load()`][pyclrbridge.load] when no .NET installation is found, the
    runtimeconfig is missing or invalid, or hostfxr returns an error (its hex code and message
    are in the text). It is also a ``RuntimeError``.

    Examples:
        ```python
        try:
            clr = pyclrbridge.load(dotnet_root="/opt/dotnet-9")
        except pyclrbridge.HostError as e:
            sys.exit(f"cannot start .NET: {e}")
        ```
    """


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
    "System.IO.DirectoryNotFoundException": FileNotFoundError,  # as open() raises for a missing folder
    "System.IO.IOException": OSError,
    "System.NotImplementedException": NotImplementedError,
    "System.NotSupportedException": NotImplementedError,
    "System.TimeoutException": TimeoutError,
    "System.ObjectDisposedException": ValueError,
}
