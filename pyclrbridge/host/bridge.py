"""The call layer: one active shim per process, and the few primitives every layer above uses.

``SHIM`` is set exactly once, by :func:`pyclrbridge._runtime.load`, after the shim is fully
bound; readers check it without a lock (publishing a finished object is one atomic store).
"""

from __future__ import annotations

import _ctypes
import contextlib
import ctypes
import json
import struct
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from .locks import SignalSafeFlag, SignalSafeLock
from .shim import HOLD_GIL, Kind, Shim, Value, address_space, read_string, utf16

__all__ = ["FORKED", "SHIM", "SHUTTING_DOWN", "Kind", "Value", "invoke", "json_call", "read_string", "shim", "utf16"]

SHIM: Shim | None = None

#: Set at interpreter exit (or Runtime.shutdown()): from then on nothing calls into .NET.
SHUTTING_DOWN = SignalSafeFlag()  # not threading.Event: see SignalSafeFlag


#: True in a child process forked after load(): .NET did not survive the fork (its runtime
#: threads stay in the parent), so nothing may call it. Written once, by the one thread a
#: forked child starts with.
FORKED = False
FORK_MESSAGE = (
    "this process was forked from one where .NET was running, and .NET cannot run in a forked "
    "child (its runtime threads stay in the parent). Start worker processes with the 'spawn' start "
    "method: multiprocessing.get_context('spawn'), or multiprocessing.set_start_method('spawn')"
)
#: Address of the shim's fork flag (native memory, see ForkGuard.cs); set by load().
FORK_FLAG = 0

#: Why load() refuses to start .NET in a subinterpreter.
SUBINTERPRETER_MESSAGE = (
    "pyclrbridge.load() was called in a subinterpreter, and pyclrbridge runs only in the main "
    "interpreter: .NET threads enter Python through the C-API's PyGILState functions, which know "
    "only the main interpreter, and the process has one .NET runtime for all its interpreters. "
    "Load and use .NET from the main interpreter"
)


def in_subinterpreter() -> bool:
    """Whether the caller runs in a subinterpreter, not the process's main interpreter (the
    current interpreter state against the main one, through the C-API; fresh prototypes, so
    the shared ``ctypes.pythonapi`` functions keep their result types)."""
    state = ctypes.PYFUNCTYPE(ctypes.c_void_p)
    current = state(("PyInterpreterState_Get", ctypes.pythonapi))()
    main = state(("PyInterpreterState_Main", ctypes.pythonapi))()
    return bool(current != main)


def shim() -> Shim:
    s = SHIM
    if s is None:
        if FORKED:
            raise RuntimeError(FORK_MESSAGE)
        raise RuntimeError("the .NET runtime is not loaded: call pyclrbridge.load() first")
    return s


def after_fork_in_child() -> None:
    """``os.register_at_fork`` hook: cut the child off from .NET without calling it."""
    global SHIM, FORKED
    FORKED = True
    SHUTTING_DOWN.set()  # finalizers and interpreter exit call nothing either
    if FORK_FLAG:
        ctypes.c_int32.from_address(FORK_FLAG).value = 1  # direct-call stubs fail from now on
    SHIM = None
    FRAMES.clear()  # pooled frames hold the bound entry point: new ones ask shim() first
    OWN_FRAMES.free.clear()  # (the child's one thread; the others' pools did not survive the fork)


def _no_exception_factory(error: Value) -> BaseException:
    return RuntimeError(f".NET reported an error ({read_string(error)!r}) before pyclrbridge finished importing")


#: Builds the Python exception for a .NET error value: the proxy layer installs it at import
#: (:func:`install_exception_factory`), since an exception proxy is a proxy class.
_exception_from_error: Callable[[Value], BaseException] = _no_exception_factory


def install_exception_factory(factory: Callable[[Value], BaseException]) -> None:
    """Registration from the proxy layer: how an error value becomes a Python exception."""
    global _exception_from_error
    _exception_from_error = factory  # one module global, written once at package import


def argument_error(error: ctypes.ArgumentError) -> BaseException:
    """What a foreign call refusing its arguments means. At the recursion limit ctypes cannot
    even convert them and says ``argument 1: RecursionError: ???``: that is Python's own
    RecursionError, raised as such."""
    if "RecursionError" in str(error):
        return RecursionError("maximum recursion depth exceeded while calling .NET")
    return error


def raise_error(error: Value) -> NoReturn:
    """Turn the error value of a failed export into the Python exception for it."""
    raise _exception_from_error(error)


def call_export(export: Any, *args: Any) -> None:
    """``export(*args, &error)``: raises the .NET exception when it returns nonzero. A handle of
    that exception no proxy took (a signal handler raised after the export returned, at the
    entry of raise_error, while the exception's class was looked up) is freed in the ``except``:
    field reads, a store, then the export that frees, so no signal check comes before the free.
    The one copy of this pattern; ``values.exports`` builds on it (and adds the result value)."""
    error = Value()
    try:
        if export(*args, ctypes.byref(error)) != 0:
            raise_error(error)
    except BaseException:
        if error.kind == _OBJECT and error.i:
            unclaimed = error.i
            error.i = 0
            SHIM.FreeHandle(unclaimed)  # type: ignore[union-attr]  # loaded: the export ran
        raise


def _new_values(n: int) -> ctypes.Array[Value]:
    return (Value * max(n, 1))()


def invoke(
    member_id: int, target: int, args: ctypes.Array[Value] | None, nargs: int, nresults: int = 1
) -> ctypes.Array[Value]:
    """Call a member by id. Returns the results array ([return value, byref values...])."""
    results = _new_values(nresults)
    try:
        call_export(shim().Invoke, member_id, target, args, nargs, results, nresults)
    except ctypes.ArgumentError as refused:
        raise argument_error(refused) from None
    return results


#: Argument + result slots of one pooled frame; calls that need more take :func:`invoke`.
FRAME_SLOTS = 14
_OBJECT = int(Kind.OBJECT)
#: ``Kind.OBJECT`` as a plain int, for except and finally paths (no enum lookup there).
OBJECT_KIND = _OBJECT
# ``Frame`` in managed_shim/Values/Bulk.cs: MemberId, NArgs (int32), Target (int64), NResults (int32),
# then padding up to 32 bytes, then the error Value; the slots follow.
FRAME_HEADER = _FRAME_HEADER = struct.Struct("<iiqi")
_HEADER_VALUES = 3  # 32-byte header + 16-byte error, in Value-sized units


class _FrameCall(_ctypes.CFuncPtr):
    """``InvokeFrame``'s entry point as a bare prototype: no argument types and no result type,
    so ctypes passes the frame's buffer (a ctypes array) as the pointer to its memory and
    returns the export's C ``int`` as a Python int. The typed prototype (``Shim.InvokeFrame``,
    argument ``c_void_p``, result ``c_int32``) makes ctypes take a reference to the shared
    ``c_void_p`` converter and ``c_int32`` type at every call, and on a free-threaded build
    every thread then writes the same reference counts (measured: a typed call costs about
    1.8x the CPU time with 4 threads as with 1, a bare one about 1.2x, and it is shorter on
    one thread too). Called only as ``frame.call(frame.buffer)``: any other argument would be
    passed by ctypes' own rules (an int as a 32-bit C int), so nothing else calls it."""

    _flags_ = _ctypes.FUNCFLAG_CDECL  # releases the GIL, as CFUNCTYPE


class _FrameCallHeld(_ctypes.CFuncPtr):
    """``InvokeFrameHeld``'s entry point, bare (see :class:`_FrameCall`): keeps the GIL, as PYFUNCTYPE."""

    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_PYTHONAPI


def _entry(fn: Any) -> int:
    return ctypes.cast(fn, ctypes.c_void_p).value or 0


class Frame:
    """Reusable native memory for one call: header, error value, argument and result slots.

    ``slots`` are ctypes views cached once, so writing an argument costs no indexing and no
    allocation. A frame serves one call at a time (see :func:`acquire_frame`); objects whose
    memory a slot points at (strings in ``Value.s``) are kept alive by the frame's buffer until
    the slot is overwritten by a later call. ``memory`` is the frame's own view of the address
    space (:func:`~pyclrbridge.host.shim.thread_memory`), for reading string results: like the
    frame, it is used by one thread at a time, never shared by two at once (None on 32-bit).
    ``call`` and ``call_held`` are the frame's own function objects for the two frame exports
    (bare prototypes, :class:`_FrameCall`), called with ``buffer``: no function object, argument
    type or result type is shared by two threads calling at once. ``invoke`` and ``invoke_held``
    are the shared typed ones, taking ``address``.
    """

    __slots__ = (
        "abandon",
        "address",
        "buffer",
        "call",
        "call_held",
        "error",
        "free",
        "free_unclaimed",
        "invoke",
        "invoke_held",
        "memory",
        "slots",
    )

    def __init__(self, size: int = FRAME_SLOTS) -> None:
        s = shim()
        self.buffer = (Value * (_HEADER_VALUES + size))()
        self.address = ctypes.addressof(self.buffer)
        self.error = self.buffer[2]
        self.slots = tuple(self.buffer[_HEADER_VALUES + i] for i in range(size))
        self.invoke = s.InvokeFrame
        self.invoke_held = s.InvokeFrameHeld  # for members is_short() says may keep the GIL
        self.call = _FrameCall(_entry(s.InvokeFrame))
        self.call_held = _FrameCallHeld(_entry(s.InvokeFrameHeld))
        self.free = s.FreeHandle  # an unclaimed result's handle, after an exception
        # frame.abandon(frame.buffer, nargs): an except path hands back the registry ids in the
        # first nargs slots that no call took (Unsent.cs); bare, as call_held, keeping the GIL.
        self.abandon = _FrameCallHeld(_entry(s.AbandonFrame))
        # frame.free_unclaimed(frame.buffer, nargs, nresults): an except path, once the header is
        # packed, frees the error or the results no proxy took (FreeUnclaimedFrame), bare as well.
        self.free_unclaimed = _FrameCallHeld(_entry(s.FreeUnclaimedFrame))
        self.memory = address_space()


#: A free-threaded build (no GIL): there each thread keeps its own free frames (OWN_FRAMES).
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def _deferrer() -> Any:
    """``PyUnstable_Object_EnableDeferredRefcount`` on a free-threaded build that has it, else None
    (see :func:`defer_refcount`)."""
    if not FREE_THREADED or sys.implementation.name != "cpython" or not hasattr(ctypes, "pythonapi"):
        return None
    try:
        return ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object)(
            ("PyUnstable_Object_EnableDeferredRefcount", ctypes.pythonapi)
        )
    except AttributeError:  # 3.13t has no such function
        return None


_DEFER = _deferrer()


def defer_refcount(obj: Any) -> None:
    """Give ``obj``, an object every thread loads at each call (a module global), a deferred
    reference count on a free-threaded build: loading it then writes no count on its header,
    which every thread would otherwise write (it is still freed, by the garbage collector, once
    unreachable). A no-op with a GIL, without that unstable C-API function, or for an object the
    collector does not track."""
    if _DEFER is not None:
        _DEFER(obj)


# Free frames (builds with a GIL). No lock: list.pop and list.append are atomic, and a popped
# frame belongs to exactly one call until it is pushed back, so a callback that calls .NET
# again during a call (same thread) simply pops another.
FRAMES: list[Frame] = []


class _OwnFrames(threading.local):
    """This thread's free frames, on a free-threaded build. One shared list would be locked by
    every call of every thread (a list's own lock, without a GIL) and would hand each frame, its
    slots and its function objects from thread to thread, whose reference counts the next
    thread then writes; a thread's own list is touched by that thread only (threading.local:
    per thread by construction), and its frames go with it when the thread ends."""

    def __init__(self) -> None:
        self.free: list[Frame] = []


OWN_FRAMES = _OwnFrames()
defer_refcount(OWN_FRAMES)  # loaded by every frame call of every thread


def _own_pop() -> Frame:
    return OWN_FRAMES.free.pop()


def _own_push(frame: Frame) -> None:
    OWN_FRAMES.free.append(frame)


def pooled_frames() -> list[Frame]:
    """The free frames the calling thread takes its frames from (for inspection)."""
    return OWN_FRAMES.free if FREE_THREADED else FRAMES


#: Take a free frame (IndexError: none) and give it back, on the calling thread's pool.
frames_pop: Callable[[], Frame] = _own_pop if FREE_THREADED else FRAMES.pop
frames_push: Callable[[Frame], None] = _own_push if FREE_THREADED else FRAMES.append


def acquire_frame(slots: int = FRAME_SLOTS) -> Frame:
    """A frame with at least ``slots`` argument + result slots, for one call; give it back
    with :func:`release_frame` once every result is read."""
    if slots > FRAME_SLOTS:
        return Frame(slots)  # a rare wide call: its own frame, not pooled
    try:
        return frames_pop()
    except IndexError:
        return Frame()


def release_frame(frame: Frame) -> None:
    if len(frame.slots) == FRAME_SLOTS:
        frames_push(frame)


def call_frame(frame: Frame, member_id: int, target: int, nargs: int, nresults: int) -> None:
    """Call a member with arguments already in ``frame.slots[:nargs]``; results land in
    ``frame.slots[nargs:nargs + nresults]``. Raises the .NET exception on failure."""
    _FRAME_HEADER.pack_into(frame.buffer, 0, member_id, nargs, target, nresults)
    try:
        if frame.call(frame.buffer) != 0:
            raise_error(frame.error)  # not a copy: claiming the exception zeroes its handle there
    except ctypes.ArgumentError as refused:
        raise argument_error(refused) from None
    except BaseException:
        # An error handle no exception proxy took (a signal cut the raise short): freed with
        # only field reads and stores before the export.
        error = frame.error
        if error.kind == _OBJECT and error.i:
            unclaimed = error.i
            error.i = 0
            frame.free(unclaimed)
        raise


def call_noargs(member_id: int, target: int, convert: Any) -> Any:
    """``convert(result)`` of a call without arguments (a getter): acquire, call and release
    in one function, the shortest path through a frame."""
    try:
        frame = frames_pop()
    except IndexError:
        frame = Frame()
    try:
        _FRAME_HEADER.pack_into(frame.buffer, 0, member_id, 0, target, 1)
        try:
            if frame.call(frame.buffer) != 0:
                raise_error(frame.error)  # not a copy: claiming the exception zeroes its handle there
            return convert(frame.slots[0])  # an object result's handle is zeroed once a proxy owns it
        except BaseException:
            # The call returned (the shim zeroed the header) and no proxy took the object it
            # gave, or the exception it raised: free it. Nothing here checks for signals before
            # the export is called.
            frame.free_unclaimed(frame.buffer, 0, 1)
            raise
    except ctypes.ArgumentError as refused:
        raise argument_error(refused) from None
    finally:
        frames_push(frame)


class GilRelease:
    """The one switch that makes held calls release the GIL: ``GilRelease.on`` is True while any
    :func:`releasing_gil` block is open (on any thread). Every path that would keep the GIL for a
    short member reads it at each call and takes its releasing twin instead, so calls made by a
    linearizability checker really overlap: compiled method invokers (``InvokeFrameHeld``), the
    direct stubs of methods, property/field accessors and ``str()``/``hash()``, and the native
    attribute fast path (whose C# slots read the shim's copy of the switch, kept by
    :func:`mirror_gil_release` under ``lock``, and hand the access to the Python descriptor while it is on).
    Reading it needs no lock: it is one attribute load, and a stale read only means one call
    keeps (or drops) the GIL a moment after the switch changed, which never changes a result.
    ``depth`` is written only under ``lock`` (the switch's owner lock: blocks nest and overlap
    across threads, so the count, not a bool, decides when it goes off; the shim's copy is
    written under it too, so it always ends equal to ``on``)."""

    on: bool = False
    depth: int = 0
    lock = SignalSafeLock("pyclrbridge.host.bridge.GilRelease.lock")


def mirror_gil_release() -> None:
    """Copy ``GilRelease.on`` into the shim (``NativeGilRelease``), read by native members'
    slots. Callers hold ``GilRelease.lock``. Nothing to do before the runtime is loaded (native
    members are set up after it, and proxies.native mirrors the switch then, under the lock),
    in a forked child or once shutting down (no .NET code may run then; a stale copy only
    decides which of two equal paths an access takes)."""
    s = SHIM
    if s is not None and not SHUTTING_DOWN.is_set():
        s.NativeGilRelease(1 if GilRelease.on else 0)


@contextlib.contextmanager
def releasing_gil() -> Iterator[None]:
    """While inside, .NET calls release the GIL, even for members the bridge proves short (every
    held path reads the switch: see `pyclrbridge.host.bridge.GilRelease`). Thread-safe and re-entrant: the switch
    is off again when the last open block ends."""
    _ = GilRelease.lock.taken
    try:
        GilRelease.depth += 1
        GilRelease.on = True
        mirror_gil_release()
    finally:
        GilRelease.lock.release()
    try:
        yield
    finally:
        _ = GilRelease.lock.taken
        try:
            GilRelease.depth -= 1
            GilRelease.on = GilRelease.depth > 0
            mirror_gil_release()
        finally:
            GilRelease.lock.release()


def is_short(member_id: int, variant: int = 0) -> bool:
    """Whether a member may be called with the GIL held: the shim proved it a leaf (``LeafProof``:
    it cannot wait and runs no code the proof has not read); False when holding is off. The
    export releases the GIL while it works: the proof may run class constructors."""
    return HOLD_GIL and shim().MemberIsShort(member_id, variant) == 1


def is_short_on(member_id: int, type_id: int) -> bool:
    """Whether a call of a virtual member on an object of exactly ``type_id`` may keep the GIL:
    the shim proved the override that call runs on that type a leaf."""
    return HOLD_GIL and shim().MemberIsShortOn(member_id, type_id) == 1


def short_reason(member_id: int, variant: int = 0) -> str:
    """Why the shim does not prove a member a leaf: the rule that failed (``read``, ``resolved``,
    ``bounded``, ``no-throw``, ``no-allocation``, ``cctors-done``, ``prepared``), where, and the
    path of calls to it; "" when it is one."""
    result = Value()
    call_export(shim().MemberShortReason, member_id, variant, ctypes.byref(result))
    return read_string(result) or ""


def json_call(fn: Any, *args: Any) -> Any:
    """Call an export that returns JSON text in its result value."""
    result = Value()
    call_export(fn, *args, ctypes.byref(result))
    return json.loads(read_string(result))


def find_type_id(name: str) -> int:
    data, n = utf16(name)
    out = ctypes.c_int32()
    call_export(shim().FindType, data, n, ctypes.byref(out))
    return out.value


def free_handle(handle: int) -> None:
    """Release a GCHandle. Never after shutdown began: .NET may already be unreachable."""
    # SHIM first: at interpreter teardown this module's globals may already be None.
    shim = SHIM
    if handle and shim is not None and not SHUTTING_DOWN.is_set() and not sys.is_finalizing():
        shim.FreeHandle(handle)


def stats() -> dict[str, Any]:
    return dict(json_call(shim().Stats))


def kind_name(kind: int) -> str:
    try:
        return Kind(kind).name
    except ValueError:
        return str(kind)
