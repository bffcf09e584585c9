""".NET exceptions as Python exceptions, and Python exceptions coming back from .NET.

A proxy of a .NET exception is made a Python exception when it is wrapped (:func:`adopt`):
``args`` and ``str()`` give the message, ``__cause__`` is the inner exception, an
``AggregateException`` lists its inner exceptions in ``exceptions``. One .NET exception has one
Python object while Python holds it (``e.InnerException is e.__cause__``), and an instance of a
Python subclass of a .NET exception is that object whenever .NET hands the exception back.

A Python exception that crossed into .NET travels as a ``PyClrBridge.Shim.PythonException``;
wherever one appears in a failed call's chain of exceptions, Python sees the original object
(:func:`exception_from_error`). ``SystemExit``, ``KeyboardInterrupt`` and ``GeneratorExit`` are
not wrapped at all: the call raises them as themselves.
"""

from __future__ import annotations

import ctypes
import errno
import os
import types
from typing import Any

from ..host import bridge as _bridge
from ..host.locks import SignalSafeLock
from ..host.shim import Value
from ..host.weakvalues import WeakValues
from ..values.objects import forget, lookup
from ..values.results import from_value

PYTHON_EXCEPTION = "PyClrBridge.Shim.PythonException"
AGGREGATE_EXCEPTION = "System.AggregateException"

# Owner: _identity_lock guards _identities (.NET exception identity -> its live Python object):
# looking up and publishing an object is one step under it. Weak values: an entry lives as
# long as Python holds the object.
_identity_lock = SignalSafeLock("pyclrbridge.proxies.exceptions._identity_lock")
# (Entries die with no Python code running: see host.weakvalues.)
_identities: WeakValues[BaseException] = WeakValues()


class _HandedBack:
    """The Python side of a handed-back exception: the exception holds it and it holds the
    exception (a cycle Python's collector sees), so it lives exactly as long as the exception."""

    __slots__ = ("__weakref__", "original")

    def __init__(self, original: BaseException) -> None:
        self.original = original


# Python exceptions handed back from .NET, by registry id. Once Python has its exception back,
# .NET's PythonException no longer holds it (the registry entry is dropped): a strong reference
# from .NET closes a loop across both heaps as soon as the exception reaches (its traceback,
# a callback's closure) a proxy that keeps the .NET side alive. The PythonException still finds
# the object through this table while Python holds it. Guarded by _identity_lock.
_handed_back: WeakValues[_HandedBack] = WeakValues()

# Bridge frames a handed-back Python exception's traceback still reaches (through the callback
# frames' f_back): the frames of the call into .NET, whose locals hold the proxies (the
# delegate) that keep the .NET side, and so the callback and its closure, alive: a loop across
# both heaps that Python's collector cannot see. They are cleared once they have finished
# (:func:`clear_finished_frames`, at the next failed call and every registry drain).
# Owner: _frames_lock guards _frames_to_clear (appended at hand-over, cleared ones removed).
_frames_lock = SignalSafeLock("pyclrbridge.proxies.exceptions._frames_lock")
_frames_to_clear: list[types.FrameType] = []
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Longest chain of inner exceptions followed (a guard against a chain that loops).
_MAX_DEPTH = 64


def _read(obj: Any, name: str) -> Any:
    for klass in type(obj).__mro__:
        member = klass.__dict__.get(name)
        if member is not None:
            return member.read(obj)
    return None


def _safe_read(exc: BaseException, name: str) -> Any:
    try:
        return _read(exc, name)
    except Exception:
        return None


def is_python_subclass(exc: BaseException) -> bool:
    """An instance of a Python class deriving from a .NET exception class (not a proxy class)."""
    return "__clr_info__" not in type(exc).__dict__


def _publish(token: int, obj: BaseException, *, replace: bool = False) -> BaseException:
    """The one Python object for the .NET exception ``token``: ``obj`` unless another is live."""
    if not token:
        return obj
    _ = _identity_lock.taken
    try:
        found = None if replace else _identities.get(token)
        if found is None:
            _identities.set(token, obj)
            return obj
    finally:
        _identity_lock.release()
    return found


def adopt(obj: Any) -> BaseException:
    """What a new proxy of a .NET exception becomes (``wrap`` calls this): the live Python object
    of that exception if there is one, else the proxy with message, cause and inner exceptions."""
    shim = _bridge.shim()
    origin = ctypes.c_int64()
    token = int(shim.ExceptionIdentity(obj._h, ctypes.byref(origin)))
    if origin.value:
        try:
            original = lookup(origin.value)
        except LookupError:
            original = None
        if isinstance(original, BaseException):
            shim.ForgetExceptionOrigin(obj._h)  # Python holds it again: .NET lets it go
            return _publish(token, original, replace=True)
    _ = _identity_lock.taken
    try:
        found = _identities.get(token) if token else None
    finally:
        _identity_lock.release()
    if found is not None:
        return found  # obj dies here and frees its handle
    decorate(obj)
    return _publish(token, obj)


def new_subclass_instance(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``MyError(...)`` for a Python class deriving from a .NET exception class: the Python
    object, initialised by its ``__init__``, owning a new .NET exception of the nearest .NET
    base class made from the resulting ``args``."""
    obj = cls.__new__(cls, *args)
    obj.__init__(*args, **kwargs)
    base = next(k for k in cls.__mro__ if "__clr_info__" in k.__dict__)
    made = base(*obj.args)
    obj._h, made._h = made._h, 0
    obj._clr_message = getattr(made, "_clr_message", None)
    inner = made.__cause__
    if inner is not None:
        obj.__cause__ = inner
    origin = ctypes.c_int64()
    _publish(int(_bridge.shim().ExceptionIdentity(obj._h, ctypes.byref(origin))), obj, replace=True)
    return obj


def original_of(exc: BaseException) -> BaseException | None:
    """The Python exception a ``PythonException`` proxy stands for (None for other exceptions)."""
    if getattr(type(exc), "__clr_name__", "") != PYTHON_EXCEPTION:
        return None
    obj_id = _read(exc, "PyObjectId")
    _ = _identity_lock.taken
    try:
        token = _handed_back.get(obj_id)
        if token is not None:
            return token.original
        try:
            original = lookup(obj_id)
        except LookupError:
            return None
        if not isinstance(original, BaseException):
            return None
        token = _HandedBack(original)
        try:
            original.__clr_handed_back__ = token  # type: ignore[attr-defined]
        except AttributeError:
            return original  # (no __dict__: .NET keeps holding it)
        _handed_back.set(obj_id, token)
        forget(obj_id)  # (nothing is freed here: original is still referenced)
    finally:
        _identity_lock.release()
    return original


def _is_bridge_frame(frame: types.FrameType) -> bool:
    name = frame.f_code.co_filename
    return name.startswith(("<pyclrbridge", _PACKAGE_DIR))


def _note_bridge_frames(exc: BaseException) -> None:
    """Remember the bridge frames between ``exc``'s callback and the user's code (to clear)."""
    tb = exc.__traceback__
    found: list[types.FrameType] = []
    frame = tb.tb_frame if tb is not None else None
    while frame is not None and len(found) < _MAX_DEPTH:
        if _is_bridge_frame(frame):
            found.append(frame)
        elif found:
            break  # the user's frame that called into .NET
        frame = frame.f_back
    if found:
        _ = _frames_lock.taken
        try:
            _frames_to_clear.extend(found)
        finally:
            _frames_lock.release()


def clear_finished_frames() -> None:
    """Clear the noted bridge frames that have finished (the others wait for the next time).

    A frame stays listed until it has been cleared: a signal handler that raises part-way (this
    runs at every failed call and registry drain) leaves the rest listed for the next time, and
    clearing a finished frame twice is harmless. Before, the list was swapped out first, and a
    signal then lost the frames not yet cleared: each kept a loop across both heaps (a delegate's
    handle and its callable) alive for ever."""
    _ = _frames_lock.taken
    try:
        pending = _frames_to_clear[:]
    finally:
        _frames_lock.release()
    if not pending:
        return
    cleared: set[int] = set()  # ids of frames in pending (alive while it is): no id reused
    for frame in pending:
        try:
            frame.clear()  # outside the lock: dropping locals may run __del__ methods
        except RuntimeError:
            continue  # still executing
        cleared.add(id(frame))
    _ = _frames_lock.taken
    try:
        _frames_to_clear[:] = [f for f in _frames_to_clear if id(f) not in cleared]  # one slice store
    finally:
        _frames_lock.release()


def _escaping(exc: BaseException) -> BaseException | None:
    """A SystemExit, KeyboardInterrupt or GeneratorExit raised in Python anywhere in the chain."""
    pending: list[tuple[BaseException, int]] = [(exc, 0)]
    seen: set[int] = set()
    while pending:
        cur, depth = pending.pop()
        if id(cur) in seen or depth > _MAX_DEPTH:
            continue
        seen.add(id(cur))
        if not isinstance(cur, Exception):
            return cur
        pending.extend((e, depth + 1) for e in getattr(cur, "exceptions", ()) if isinstance(e, BaseException))
        if cur.__cause__ is not None:
            pending.append((cur.__cause__, depth + 1))
    return None


def exception_from_error(error: Value) -> BaseException:
    """The Python exception for a failed call's .NET exception."""
    exc = from_value(error)  # first: the error's handle is claimed before anything else runs
    clear_finished_frames()
    if not isinstance(exc, BaseException):
        return RuntimeError(f".NET call failed with {exc!r}")
    return original_exception(exc)


def original_exception(exc: BaseException) -> BaseException:
    """What Python raises for the .NET exception ``exc``: the Python exception it carries (or a
    SystemExit, KeyboardInterrupt or GeneratorExit anywhere in its chain), else ``exc`` itself
    with its .NET stack trace as a note."""
    raised = original_of(exc) or _escaping(exc)
    if raised is None:
        _note_stack(exc)
        raised = exc
    cur: BaseException | None = raised
    for _ in range(_MAX_DEPTH):  # exceptions raised in callbacks, now handed back
        if cur is None:
            break
        if cur.__traceback__ is not None:
            _note_bridge_frames(cur)
        cur = cur.__cause__
    return raised


#: Stack frames of the bridge itself (the shim's exports and compiled call stubs): not the
#: user's code, so they are left out of the note.
_BRIDGE_FRAMES = (
    "at PyClrBridge.Shim.",
    "at lambda_method",
    "at System.RuntimeMethodHandle.InvokeMethod",
    "at System.Reflection.MethodBaseInvoker.",
)
_NOTE_HEAD = ".NET stack trace ("


def _note_stack(exc: BaseException) -> None:
    """The .NET stack trace as the exception's note (replacing the one of an earlier throw)."""
    stack = _safe_read(exc, "StackTrace")
    if not stack:
        return
    notes = [n for n in getattr(exc, "__notes__", ()) if not (isinstance(n, str) and n.startswith(_NOTE_HEAD))]
    lines = [line for line in stack.splitlines() if not line.strip().startswith(_BRIDGE_FRAMES)]
    notes.append(f"{_NOTE_HEAD}{type(exc).__clr_name__}):\n" + "\n".join(lines))  # type: ignore[attr-defined]
    exc.__notes__ = notes


def _python_side(exc: BaseException) -> BaseException:
    return original_of(exc) or exc


def decorate(exc: BaseException) -> None:
    """Message as args, inner exception as __cause__ (the original Python exception when it is
    one), an AggregateException's inner exceptions as ``exceptions``; an OSError also gets
    ``filename`` (FileNotFoundException.FileName) and ``strerror``."""
    message = _safe_read(exc, "Message")
    exc._clr_message = message  # type: ignore[attr-defined]
    exc.args = (message if message is not None else type(exc).__name__,)
    if isinstance(exc, OSError):
        exc.strerror = exc.args[0]
        filename = _safe_read(exc, "FileName")
        if isinstance(filename, str):
            exc.filename = filename
        if isinstance(exc, FileNotFoundError):
            exc.errno = errno.ENOENT
    inner = _safe_read(exc, "InnerException")
    if isinstance(inner, BaseException):
        exc.__cause__ = _python_side(inner)
    if getattr(type(exc), "__clr_name__", "") == AGGREGATE_EXCEPTION:
        inners = _safe_read(exc, "InnerExceptions")
        exc.exceptions = tuple(_python_side(e) for e in inners or () if isinstance(e, BaseException))  # type: ignore[attr-defined]
