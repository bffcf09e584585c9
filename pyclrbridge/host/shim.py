"""ctypes prototypes of the shim's exports, the value struct and string helpers.

Every prototype is declared once here. Calls through these function pointers release the
GIL (ctypes ``CFUNCTYPE`` semantics), so .NET work runs in parallel with Python threads,
except the exports in :data:`SHORT_EXPORTS`, which run no user code and never wait: they
keep the GIL (``PYFUNCTYPE``), so a thread that makes many of them does not hand the GIL to
another thread and wait to get it back at each one (a GIL convoy). Each of them that can throw
or allocate runs as a held section (``HeldCalls.cs``): the GIL is released before any handler
of a first-chance exception or of an assembly load runs on it. ``InvokeFrameHeld`` is
``InvokeFrame`` keeping the GIL, for members the shim proves leaves (``MemberIsShort``); it
refuses (-1, nothing done) a call whose arguments need more than a plain conversion.
``PYCLRBRIDGE_HOLD_GIL=0`` makes every call release the GIL.
"""

from __future__ import annotations

import codecs
import ctypes
import enum
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import HostError
from .hostfxr import UNMANAGEDCALLERSONLY_METHOD, StartedHost, encode, hex_code

SHIM_ASSEMBLY = "PyClrBridge.Shim"
SHIM_TYPE = "PyClrBridge.Shim.Exports, PyClrBridge.Shim"
ABI_VERSION = 1


class Kind(enum.IntEnum):
    """Mirror of ``ValueKind`` in ``managed_shim/Values/Values.cs``."""

    NULL = 0
    BOOL = 1
    INT64 = 2
    DOUBLE = 3
    STRING = 4
    OBJECT = 5
    PYOBJECT = 6
    UINT64 = 7
    VOID = 8
    ENUM = 9
    CHAR = 10
    DECIMAL = 11
    BYTES = 12
    LIST = 13
    MAP = 14
    TYPE = 15
    BUFFER = 16
    MISSING = 17
    DATETIME = 18
    TIMESPAN = 19
    GUID = 20
    LAZY_ITERABLE = 21
    TUPLE = 22  # as LIST, from a Python tuple: a System.ValueTuple (equal by value) where object is asked for
    TARGET = 23  # a result that is the call's target object itself (asked for by compiled invokers only)
    BYTES_OUT = 30  # as BYTES, in memory .NET's writes are copied back to after the call
    BUFFER_OUT = 31  # as BUFFER, the same way


if TYPE_CHECKING:
    KindInt = Kind
else:
    # ``Kind`` as plain ``int`` class attributes, for the per-call paths: on Python 3.11 reading
    # an ``IntEnum`` member costs about 0.2 us and comparing an int with one about as much again;
    # a VOID result went through six such comparisons. (The checker sees ``Kind``: its members
    # are ints too.)
    KindInt = type("KindInt", (), {kind.name: int(kind) for kind in Kind})


class _Payload(ctypes.Union):
    _fields_ = [
        ("i", ctypes.c_int64),
        ("u", ctypes.c_uint64),
        ("d", ctypes.c_double),
        ("p", ctypes.c_void_p),
        ("s", ctypes.c_char_p),  # assigning bytes keeps them alive in the struct
    ]


class Value(ctypes.Structure):
    """The 16-byte tagged value (``Value`` in ``Values.cs``)."""

    _anonymous_ = ("v",)
    _fields_ = [("v", _Payload), ("kind", ctypes.c_int32), ("extra", ctypes.c_int32)]

    # Fields of the anonymous union, for the type checker.
    i: int
    u: int
    d: float
    p: int | None
    s: bytes | None


ValuePtr = ctypes.POINTER(Value)
_i32 = ctypes.c_int32
_i64 = ctypes.c_int64
_i32p = ctypes.POINTER(ctypes.c_int32)
_i64p = ctypes.POINTER(ctypes.c_int64)
_cp = ctypes.c_char_p

#: Python's dispatcher for calls from .NET:
#: (python object id, args, nargs, return type id, results, nresults) -> 0 or 1 (exception).
#: The two ``Value*`` arrive as plain addresses (ints): the dispatcher reads them through cached
#: views (``_callbacks._views_at``), cheaper than a ``POINTER(Value)`` object and its indexing.
DISPATCHER = ctypes.CFUNCTYPE(_i32, _i64, ctypes.c_void_p, _i32, _i32, ctypes.c_void_p, _i32)

# name -> (restype, argtypes). The one list of exports; mirrors Exports.cs.
# Read-only after import: no lock.
_EXPORTS: dict[str, tuple[Any, list[Any]]] = {
    "Initialize": (_i32, [ctypes.c_void_p, ValuePtr, ValuePtr]),
    "FindType": (_i32, [_cp, _i32, _i32p, ValuePtr]),
    "DescribeType": (_i32, [_i32, _i32, ValuePtr, ValuePtr]),
    "DescribeConstructors": (_i32, [_i32, ValuePtr, ValuePtr]),
    "Invoke": (_i32, [_i32, _i64, ValuePtr, _i32, ValuePtr, _i32, ValuePtr]),
    "Convert": (_i32, [ValuePtr, _i32, ValuePtr, ValuePtr]),
    "Unbox": (_i32, [_i64, ValuePtr, ValuePtr]),
    "FreeHandle": (_i32, [_i64]),
    "MakeGeneric": (_i32, [_i32, _i32, _i32p, _i32, _i32p, ValuePtr]),
    "MakeArrayType": (_i32, [_i32, _i32]),
    "IsAssignable": (_i32, [_i32, _i32]),
    "LoadAssembly": (_i32, [_cp, _i32, _i32, ValuePtr, ValuePtr]),
    "ListTypes": (_i32, [ValuePtr, ValuePtr]),
    "TryLoadNamespace": (_i32, [_cp, _i32]),
    "RefuseAssembly": (_i32, [_cp, _i32, _cp, _i32]),
    "Generation": (_i32, []),
    "ListExtensionNames": (_i32, [ValuePtr, ValuePtr]),
    # ProxyFinalizer.cs: every proxy's finalizer, called by ctypes with the proxy itself.
    "ProxyFinalizerSetup": (_i32, [_i64, _i64, _i64, _i64, _i64, _i64, _i64]),
    "ProxyFinalizerDescriptor": (_i64, [_i64, _i64, _i64, _i64]),
    "FreeProxy": (_i32, [ctypes.py_object]),
    "Stats": (_i32, [ValuePtr, ValuePtr]),
    "DrainReleased": (_i32, [_i64p, _i32]),
    "PyObjectProtocolSetup": (_i32, [_i64]),
    "Collect": (_i32, []),
    "Shutdown": (_i32, [_i32, _i32]),
    # ThreadStates.cs: one Python thread state per .NET thread that calls Python.
    "SetPythonApi": (_i32, [_i64p, _i32]),
    "SweepThreadStates": (_i32, []),
    # Bulk.cs (frame calls, chunked iteration)
    "InvokeFrame": (_i32, [ctypes.c_void_p]),
    # HeldCalls.cs: InvokeFrame keeping the GIL (-1: refused, nothing done), and its setup.
    "InvokeFrameHeld": (_i32, [ctypes.c_void_p]),
    "HeldSetup": (_i32, [_i64, _i64, _i64, _i64]),
    "IterStart": (_i32, [_i64, ValuePtr, _i32p, ValuePtr]),
    "IterNext": (_i32, [_i64, ctypes.c_void_p, _i32, _i32p, ValuePtr]),
    "IterClose": (_i32, [_i64, ValuePtr]),
    "IterRelease": (_i32, [_i64]),
    # Derived.cs (Python subclasses of .NET types)
    "DefineDerived": (_i32, [_cp, _i32, _i32p, ValuePtr]),
    "DerivedSetup": (_i32, [_i64]),
    "DerivedPending": (_i32, [_i64]),
    "DerivedSelf": (_i64, [_i64]),
    "DerivedForget": (_i32, [_i32]),
    "DerivedStats": (_i32, [_i64p]),
    "DerivedMentions": (_i32, [_i32, _i32p, _i32]),
    # Callbacks.cs (event subscriptions)
    "EventIdentity": (_i64, [_i64]),
    "DrainDeadIdentities": (_i32, [_i64p, _i32]),
    "DuplicateHandle": (_i64, [_i64]),
    "TransferHandle": (_i32, [ctypes.c_void_p, _i32]),
    "ExceptionIdentity": (_i64, [_i64, _i64p]),
    "ForgetExceptionOrigin": (_i32, [_i64]),
    # TypedCallbacks.cs (typed thunks for all-primitive delegates)
    "RegisterTypedThunks": (_i32, [ctypes.c_void_p]),
    # ThreadTops.cs (exceptions escaping callbacks at the top of a .NET thread)
    "SetThreadTopReporter": (_i32, [_i64, _i32, ValuePtr]),
    # ArrayExports.cs (element access, block copies)
    "ArrayGet": (_i32, [_i64, _i64p, _i32, ValuePtr, ValuePtr]),
    "ArraySet": (_i32, [_i64, _i64p, _i32, ValuePtr, ValuePtr]),
    "ArrayCopy": (_i32, [_i64, _i64, _i64, ctypes.c_void_p, _i32, ValuePtr]),
    "ArrayLength": (_i32, [_i64, _i64p, ValuePtr]),
    "ArrayRead": (_i32, [_i64, _i64, _i32, ValuePtr, ValuePtr]),
    # Tasks.cs (asyncio)
    "TaskSetSink": (_i32, [_i64, ValuePtr]),
    "TaskFrom": (_i32, [_i64, ValuePtr, ValuePtr]),
    "TaskWatchStart": (_i32, [_i64, _i64, _i32p, ValuePtr]),
    "TaskOutcome": (_i32, [_i64, ValuePtr, ValuePtr]),
    "TaskStats": (_i32, [_i64p, _i64p]),
    # AsyncWriteBack.cs (buffers written by tasks)
    "SetBufferHolder": (_i32, [_i64, ValuePtr]),
    # Arrays.cs (buffer protocol)
    "ArrayPin": (_i32, [_i64, _i64p, _i64p, _i64p, _i32p, ValuePtr]),
    "ArrayUnpin": (_i32, [_i64]),
    "ArrayFromBuffer": (_i32, [ctypes.c_void_p, _i64, _i32, ValuePtr, ValuePtr]),
    "ArrayPinStats": (_i32, [_i64p, _i64p, _i64p]),
    # DirectCalls.cs: typed native stubs per member, and the failure a stub parked.
    "DirectStub": (_i32, [_i32, _i32, ctypes.POINTER(ctypes.c_void_p), ValuePtr, ValuePtr]),
    "DirectPending": (_i32, [ValuePtr]),
    "DirectMainThread": (_i64, []),
    "FreeUnclaimedValues": (_i32, [ctypes.c_void_p, _i32]),
    "DirectFreeUnclaimed": (_i32, []),
    # Unsent.cs: registry ids in argument values no call took, handed back (except paths).
    "AbandonValues": (_i32, [ctypes.c_void_p, _i32]),
    "AbandonFrame": (_i32, [ctypes.c_void_p, _i32]),
    # Bulk.cs: a frame call's error or results no proxy took, freed (except paths).
    "FreeUnclaimedFrame": (_i32, [ctypes.c_void_p, _i32, _i32]),
    # GilPolicy.cs: whether a member may be called with the GIL held.
    "MemberIsShort": (_i32, [_i32, _i32]),
    "MemberShortReason": (_i32, [_i32, _i32, ValuePtr, ValuePtr]),
    "MemberIsShortOn": (_i32, [_i32, _i32]),
    # FastPath/NativeMembers.cs: native descriptors (proxies.native binds these itself, GIL held).
    "NativeSetup": (_i32, [ctypes.c_void_p, _i32, ctypes.c_void_p, _i32, ctypes.c_void_p, ctypes.c_void_p]),
    "NativePrepare": (_i64, [_i32, _i32, _i32]),
    "NativeMember": (_i32, [_i64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]),
    "NativeGilRelease": (_i32, [_i32]),
    "NativeGroupType": (_i32, [ctypes.c_void_p] * 7),
    "NativeCallPrepare": (_i64, [_i32]),
    "NativeCallPrepareListIndexer": (_i64, [_i32, _i32]),
    "NativeCallRegister": (_i32, [_i64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]),
    # Dynamic.cs: members of IDynamicMetaObjectProvider objects through the DLR.
    "DynamicMember": (_i32, [_i64, _i32, _cp, _i32, ValuePtr, _i32, ValuePtr, ValuePtr]),
    "DynamicMemberNames": (_i32, [_i64, ValuePtr, ValuePtr]),
}

#: Whether calls the shim finds short keep the GIL (``PYCLRBRIDGE_HOLD_GIL=0``: never).
HOLD_GIL = os.environ.get("PYCLRBRIDGE_HOLD_GIL", "1") != "0"

#: Exports that run no user code and never wait for another thread: called with the GIL held.
SHORT_EXPORTS = frozenset(
    {
        "InvokeFrameHeld",
        "FreeHandle",
        "FreeProxy",
        "ProxyFinalizerSetup",
        "DirectPending",
        "DirectMainThread",
        "FreeUnclaimedValues",
        "DirectFreeUnclaimed",
        "AbandonValues",
        "AbandonFrame",
        "FreeUnclaimedFrame",
        "NativeGilRelease",
        "DrainReleased",
        "DrainDeadIdentities",
        "EventIdentity",
        "DuplicateHandle",
        "TransferHandle",
        "Generation",
        "ArrayLength",
        "ArrayCopy",
        "ArrayPin",
        "ArrayUnpin",
        "ArrayPinStats",
    }
)


def prototype(restype: Any, argtypes: list[Any], *, short: bool) -> Any:
    """The ctypes prototype of a native function: keeping the GIL when ``short`` (and holding is on)."""
    factory = ctypes.PYFUNCTYPE if short and HOLD_GIL else ctypes.CFUNCTYPE
    return factory(restype, *argtypes)


_encode_utf16 = codecs.utf_16_le_encode
_decode_utf16 = codecs.utf_16_le_decode


def utf16(text: str) -> tuple[bytes, int]:
    """A Python string as UTF-16 bytes and its length in code units (lone surrogates kept)."""
    data = _encode_utf16(text, "surrogatepass")[0]  # the codec function: no codec lookup per call
    return data, len(data) // 2


def address_space() -> Any:
    """A new read-only byte view of the whole address space, or None where it cannot be made.
    Slicing it at a (valid) address reads like ``ctypes.string_at`` without a foreign call;
    making it touches no memory, and a slice is only ever taken over memory .NET handed us."""
    if sys.maxsize <= 2**32 or ctypes.sizeof(ctypes.c_void_p) != 8:
        # 32-bit: user addresses can exceed sys.maxsize, and a slice past the view's end would
        # silently come back short. 64-bit user-space addresses are all below 2**63.
        return None
    try:
        return memoryview((ctypes.c_char * sys.maxsize).from_address(0)).toreadonly()
    except (OverflowError, ValueError, MemoryError, TypeError):
        return None


#: Whether address-space views can be made here (64-bit); if not, reads use ctypes.string_at.
HAVE_VIEWS = address_space() is not None


class _ThreadView(threading.local):
    """Each thread's own view of the address space (``view``; None until the thread's first read)."""

    view: Any = None


# A memoryview counts the slices (exports) taken of it without atomics: on a free-threaded
# build, threads slicing one shared view lose updates, the count reaches zero and the view is
# released for good (every later string read then fails). So no view is ever shared: each
# thread slices only its own (_LOCAL.view, a threading.local: per thread by construction), and
# a slice is a temporary that never leaves the thread. _BY_THREAD_ID keeps each thread's view
# by thread id too, so a .NET thread whose Python thread state is made anew for each callback
# (and with it the threading.local's data) finds its view again instead of making one per
# callback; an id is reused only after its thread ended, so a view still has one thread at a
# time. That dict needs no lock: each access is one get, store or clear (single dict operations
# are atomic, on free-threaded builds too); past _BY_THREAD_ID_MAX entries (mostly ended
# threads) it is emptied, and a thread whose view went with it makes a new one.
_LOCAL = _ThreadView()
_BY_THREAD_ID: dict[int, Any] = {}
_BY_THREAD_ID_MAX = 1024
_get_ident = threading.get_ident


def thread_memory() -> Any:
    """The calling thread's read-only view of the address space (None on 32-bit builds).
    Slice it only on this thread, and drop the slice at once."""
    view = _LOCAL.view
    if view is None and HAVE_VIEWS:
        ident = _get_ident()
        view = _BY_THREAD_ID.get(ident)
        if view is None:
            view = address_space()
            if len(_BY_THREAD_ID) >= _BY_THREAD_ID_MAX:
                _BY_THREAD_ID.clear()
            _BY_THREAD_ID[ident] = view
        _LOCAL.view = view
    return view


def read_utf16(address: int, n: int) -> str:
    """The ``n`` UTF-16 code units at ``address`` (lone surrogates kept)."""
    view = _LOCAL.view
    if view is None:
        view = thread_memory()
        if view is None:
            return _decode_utf16(ctypes.string_at(address, n * 2), "surrogatepass", True)[0]
    return _decode_utf16(view[address : address + 2 * n], "surrogatepass", True)[0]


def read_string(v: Value) -> str:
    """The string a STRING or DECIMAL value points at (arena memory: read it at once)."""
    n = v.extra
    if n == 0:
        return ""
    address = v.p or 0
    view = _LOCAL.view  # read_utf16, inline (one Python call less)
    if view is None:
        view = thread_memory()
        if view is None:
            return _decode_utf16(ctypes.string_at(address, n * 2), "surrogatepass", True)[0]
    return _decode_utf16(view[address : address + 2 * n], "surrogatepass", True)[0]


class Shim:
    """The bound exports of a loaded shim. Attributes are the raw ctypes functions."""

    Initialize: Any
    FindType: Any
    DescribeType: Any
    DescribeConstructors: Any
    Invoke: Any
    Convert: Any
    Unbox: Any
    FreeHandle: Any
    MakeGeneric: Any
    MakeArrayType: Any
    IsAssignable: Any
    LoadAssembly: Any
    ListTypes: Any
    TryLoadNamespace: Any
    RefuseAssembly: Any
    Generation: Any
    ListExtensionNames: Any
    ProxyFinalizerSetup: Any
    ProxyFinalizerDescriptor: Any
    FreeProxy: Any
    Stats: Any
    DrainReleased: Any
    Collect: Any
    Shutdown: Any
    SetPythonApi: Any
    SweepThreadStates: Any
    InvokeFrame: Any
    InvokeFrameHeld: Any
    AbandonValues: Any
    AbandonFrame: Any
    FreeUnclaimedFrame: Any
    HeldSetup: Any
    IterStart: Any
    IterNext: Any
    IterClose: Any
    IterRelease: Any
    DefineDerived: Any
    DerivedSetup: Any
    DerivedPending: Any
    DerivedSelf: Any
    DerivedForget: Any
    DerivedStats: Any
    DerivedMentions: Any
    EventIdentity: Any
    DrainDeadIdentities: Any
    PyObjectProtocolSetup: Any
    DuplicateHandle: Any
    TransferHandle: Any
    ExceptionIdentity: Any
    ForgetExceptionOrigin: Any
    RegisterTypedThunks: Any
    SetThreadTopReporter: Any
    ArrayGet: Any
    ArraySet: Any
    ArrayCopy: Any
    ArrayLength: Any
    ArrayRead: Any
    TaskSetSink: Any
    TaskFrom: Any
    TaskWatchStart: Any
    TaskOutcome: Any
    TaskStats: Any
    SetBufferHolder: Any
    ArrayPin: Any
    ArrayUnpin: Any
    ArrayFromBuffer: Any
    ArrayPinStats: Any
    DirectStub: Any
    DirectPending: Any
    DirectMainThread: Any
    FreeUnclaimedValues: Any
    DirectFreeUnclaimed: Any
    MemberIsShort: Any
    MemberShortReason: Any
    MemberIsShortOn: Any
    NativeSetup: Any
    NativePrepare: Any
    NativeMember: Any
    NativeGilRelease: Any
    NativeGroupType: Any
    NativeCallPrepare: Any
    NativeCallPrepareListIndexer: Any
    NativeCallRegister: Any
    DynamicMember: Any
    DynamicMemberNames: Any

    def __init__(self, host: StartedHost, shim_path: Path) -> None:
        if not shim_path.is_file():
            raise HostError(
                f"the pyclrbridge shim is missing: {shim_path} does not exist "
                "(reinstall pyclrbridge, or build it with `dotnet build managed_shim`)"
            )
        self.path = shim_path
        for name, (restype, argtypes) in _EXPORTS.items():
            ptr = ctypes.c_void_p()
            rc = host.load_function(
                encode(shim_path),
                encode(SHIM_TYPE),
                encode(name),
                UNMANAGEDCALLERSONLY_METHOD,
                None,
                ctypes.byref(ptr),
            )
            if rc < 0 or not ptr.value:
                raise HostError(f"could not bind {SHIM_TYPE}.{name} from {shim_path}: {hex_code(rc)}")
            # InvokeFrameHeld keeps the GIL whatever HOLD_GIL says (nothing calls it then).
            short = name in SHORT_EXPORTS or name == "InvokeFrameHeld"
            setattr(self, name, prototype(restype, argtypes, short=short)(ptr.value))

    def held_setup(self) -> bool:
        """Hand the shim the C-API functions a held call needs to release the GIL when its own
        work throws or loads an assembly (``HeldCalls.cs``): once, at load, before any held call."""
        api = ctypes.pythonapi
        # Whether a thread holds the GIL: its attached thread state (PyGILState_Check answers 1
        # on every thread once the process has a subinterpreter). Public from Python 3.13. The
        # older _PyThreadState_UncheckedGet is not per thread on 3.11 (it answers the GIL
        # holder's thread state on every thread), so before 3.13 the shim also compares it with
        # this thread's own (PyGILState_GetThisThreadState).
        names = ["PyEval_SaveThread", "PyEval_RestoreThread"]
        if hasattr(api, "PyThreadState_GetUnchecked"):
            names.append("PyThreadState_GetUnchecked")
        else:
            names += ["_PyThreadState_UncheckedGet", "PyGILState_GetThisThreadState"]
        addresses = [ctypes.cast(getattr(api, name), ctypes.c_void_p).value or 0 for name in names]
        if 0 in addresses:
            return False
        mine = addresses[3] if len(addresses) > 3 else 0
        return bool(self.HeldSetup(*addresses[:3], mine) == 0)


def default_shim_path() -> Path:
    """The shim DLL inside the installed package (``PYCLRBRIDGE_SHIM`` overrides)."""
    override = os.environ.get("PYCLRBRIDGE_SHIM")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "_bin" / f"{SHIM_ASSEMBLY}.dll"
