"""Turning a failed call's .NET exception into the Python exception a user sees."""

from __future__ import annotations

from typing import Any

from ._convert import from_value
from ._shim import Value

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
    if type(exc).__clr_name__ == PYTHON_EXCEPTION:
        from ._callbacks import lookup

        original = lookup(_read(exc, "PyObjectId"))
        if isinstance(original, BaseException):
            return original
    decorate(exc)
    return exc


def decorate(exc: BaseException) -> None:
    """Message as args, .NET stack trace as a note, inner exception as __cause__."""
    try:
        message = _read(exc, "Message")
    except Exception:
        message = None
    exc.args = (message if message is not None else type(exc).__name__,)
    try:
        stack = _read(exc, "StackTrace")
    except Exception:
        stack = None
    if stack:
        exc.add_note(f".NET stack trace ({type(exc).__clr_name__}):\n{stack}")  # type: ignore[attr-defined]
    try:
        inner = _read(exc, "InnerException")
    except Exception:
        inner = None
    if isinstance(inner, BaseException):
        decorate(inner)
        exc.__cause__ = inner
