"""Turning a failed call's .NET exception into the Python exception a user sees."""

from __future__ import annotations

import errno
from typing import Any

from ..host.shim import Value
from ..values.objects import lookup
from ..values.results import from_value

PYTHON_EXCEPTION = "PyClrBridge.Shim.PythonException"


def _read(obj: Any, name: str) -> Any:
    for klass in type(obj).__mro__:
        member = klass.__dict__.get(name)
        if member is not None:
            return member.read(obj)
    return None


def exception_from_error(error: Value) -> BaseException:
    exc = from_value(error)
    if not isinstance(exc, BaseException):
        return RuntimeError(f".NET call failed with {exc!r}")
    return original_exception(exc)


def original_exception(exc: BaseException) -> BaseException:
    """The Python exception a .NET ``PythonException`` carries; any other .NET exception
    decorated (message, .NET stack trace, inner exception)."""
    if getattr(type(exc), "__clr_name__", "") == PYTHON_EXCEPTION:
        original = lookup(_read(exc, "PyObjectId"))
        if isinstance(original, BaseException):
            return original
    decorate(exc)
    return exc


#: Stack frames of the bridge itself (the shim's exports and compiled call stubs): not the
#: user's code, so they are left out of the note.
_BRIDGE_FRAMES = ("at PyClrBridge.Shim.", "at lambda_method", "at System.RuntimeMethodHandle.InvokeMethod",
                  "at System.Reflection.MethodBaseInvoker.")


def _stack_note(exc: BaseException, stack: str) -> str:
    lines = [line for line in stack.splitlines() if not line.strip().startswith(_BRIDGE_FRAMES)]
    return f".NET stack trace ({type(exc).__clr_name__}):\n" + "\n".join(lines)  # type: ignore[attr-defined]


def _safe_read(exc: BaseException, name: str) -> Any:
    try:
        return _read(exc, name)
    except Exception:
        return None


def decorate(exc: BaseException) -> None:
    """Message as args, .NET stack trace as a note, inner exception as __cause__; an OSError
    also gets ``filename`` (FileNotFoundException.FileName) and ``strerror``."""
    message = _safe_read(exc, "Message")
    exc.args = (message if message is not None else type(exc).__name__,)
    stack = _safe_read(exc, "StackTrace")
    if stack:
        exc.add_note(_stack_note(exc, stack))
    if isinstance(exc, OSError):
        exc.strerror = exc.args[0]
        filename = _safe_read(exc, "FileName")
        if isinstance(filename, str):
            exc.filename = filename
        if isinstance(exc, FileNotFoundError):
            exc.errno = errno.ENOENT
    inner = _safe_read(exc, "InnerException")
    if isinstance(inner, BaseException):
        decorate(inner)
        exc.__cause__ = inner
