"""Native members: properties and fields whose ``__get__``/``__set__`` run in the shim.

The Python descriptor (:class:`.properties.Property`) costs a Python frame and a ctypes call
per access. For a property or field of a value kind the shim converts, the shim can make a
*native member* instead (``managed_shim/FastPath/NativeMembers.cs``): an object of a type it
creates through CPython's stable C-API (``PyType_FromSpec``) whose descriptor slots are C#
methods, so ``obj.Prop`` is one call from the interpreter into .NET that builds the Python
result there. An accessor the GIL policy proves leaf runs with the GIL held; any other
releases it around the .NET call (``managed_shim/FastPath/Releasing.cs``), as the Python
descriptor's stubs do. It replaces the Python descriptor in the class dict at the member's first access
through a live proxy; the Python descriptor stays in ``cls.__clr_members__`` and serves every
case the native one does not take (see NativeMembers.cs): it is the reference for results,
exceptions and messages. Attributes other than the access itself (``__doc__``, ``read``...)
are the Python descriptor's.

No compiled code of our own: the C-API function addresses come from ``ctypes.pythonapi`` and
the slots are the shim's ``[UnmanagedCallersOnly]`` methods. Only CPython 3.10+ (whose
``PyType_GetSlot`` reads static types).

``PYCLRBRIDGE_NATIVE_MEMBERS=0`` turns native members off (every access takes the Python
descriptor); so does ``PYCLRBRIDGE_HOLD_GIL=0``. While ``releasing_gil()`` is on, native members
hand every access to the Python descriptor, whose stubs then release the GIL.
"""

from __future__ import annotations

import ctypes
import os
import sys
import weakref
from typing import Any

from ..host import bridge as _bridge
from ..host.locks import SignalSafeLock
from ..host.shim import HOLD_GIL, Kind, Value
from ..values import codecs as _codecs
from . import direct as _direct
from .base import ClrObject
from .members import FIRST_CALL_HOOKS, BoundMethod, MethodGroup

#: A native member runs its accessor with the GIL held, so it needs holding to be on
#: (``PYCLRBRIDGE_HOLD_GIL=0`` turns native members off too).
ENABLED = (
    os.environ.get("PYCLRBRIDGE_NATIVE_MEMBERS", "1") != "0"
    and HOLD_GIL
    and sys.implementation.name == "cpython"
    and sys.version_info >= (3, 10)
    and hasattr(ctypes, "pythonapi")
)

#: The C-API functions the shim calls, in the order of PyApi.Names (NativeMembers' PyApi.cs).
_FUNCTIONS = (
    "PyType_FromSpec",
    "PyType_GenericAlloc",
    "PyType_GetSlot",
    "PyLong_FromLongLong",
    "PyLong_FromUnsignedLongLong",
    "PyLong_AsLongLongAndOverflow",
    "PyFloat_FromDouble",
    "PyFloat_AsDouble",
    "PyBool_FromLong",
    "PyUnicode_DecodeUTF16",
    "PyUnicode_AsEncodedString",
    "PyUnicode_FromString",
    "PyBytes_AsString",
    "PyBytes_Size",
    "PyObject_Type",
    "PyObject_GetAttr",
    "PyObject_Repr",
    "PyObject_CallObject",
    "PyTuple_New",
    "PyTuple_SetItem",
    "Py_IncRef",
    "Py_DecRef",
    "PyErr_Clear",
    "PyErr_Occurred",
    "PyErr_SetString",
    "PyObject_IsTrue",
    "PyEval_SaveThread",
    "PyEval_RestoreThread",
    "PyType_FromSpecWithBases",
    "PyTuple_Size",
    "PyTuple_GetItem",
    "PyObject_Call",
)

_vp = ctypes.c_void_p


class _Traversed:
    """An empty Python class: the shim's NativeMember and NativeIndexer types take its
    ``tp_traverse`` (CPython's generic one for heap types), so they are garbage-collected types
    whose instances the collector visits without running .NET code. Deferred reference counting
    (:func:`share`) needs a tracked object."""

    __slots__ = ()


def share(obj: Any) -> None:
    """Make ``obj`` (an object many threads find in a class dict: a method group, a native
    member or indexer) cheap to share on a free-threaded build. There every new reference to an
    object is an atomic add on its header, so threads that each use their own .NET object but
    the same member fight over one cache line at every access (4 threads ran slower than one).
    With a deferred reference count the interpreter's attribute lookup takes none (it is still
    freed, by the garbage collector, once unreachable). A no-op on a build with a GIL or without
    that function; independent of ``PYCLRBRIDGE_NATIVE_MEMBERS`` (method groups gain either way)."""
    _bridge.defer_refcount(obj)


_SETUP = ctypes.PYFUNCTYPE(ctypes.c_int32, _vp, ctypes.c_int32, _vp, ctypes.c_int32, _vp, _vp)
_CREATE = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.c_int64, ctypes.py_object, _vp, _vp)
_GROUP_TYPE = ctypes.PYFUNCTYPE(ctypes.c_int32, _vp, _vp, _vp, _vp, _vp, _vp, _vp)
_CALL_REGISTER = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.c_int64, _vp, _vp, _vp, _vp)


def _leaf(member: int, variant: int) -> bool:
    """Whether accessor ``member`` (``variant`` 1: a field's setter) may run with the GIL held,
    so a native member may serve it: the GIL policy's verdict (asked with the GIL released,
    since the proof may run class constructors). The one place the fast path asks."""
    return _bridge.is_short(member, variant)


def _raise_pending() -> None:
    """Called by a native member after its accessor threw: raise the parked .NET exception
    exactly as a failed direct call does (the same exception object)."""
    if not _direct.failed():
        raise RuntimeError("a native member reported a failure that was not parked")


# Owner: _lock guards the one-time setup (_state) and each upgrade (one native member per
# Python descriptor, published in its class dict under the lock).
_lock = SignalSafeLock("pyclrbridge.proxies.native._lock")
_state: list[Any] = []  # [] before setup; then [create function] or [None] (unavailable)
# (weak reference to the class, name, Python descriptor) of every native member installed:
# appended (and pruned of dead classes) under _lock before the class dict changes, read
# without the lock only in a forked child (one thread). Weak: a class must be able to die
# (a class built from a Python class keeps that class, and its .NET type, alive).
_installed: list[tuple[weakref.ref[Any], str, Any]] = []
_installed_live = [0]  # how many entries the last pruning kept (owner: _lock)
_group_state: list[type[MethodGroup]] = []  # [] before the first group_type(); then [the type] (owner: _lock)
# Native calls (FastPath/NativeCalls.cs), owned by _lock: the indexer groups whose class dict
# function a NativeIndexer may replace, by group id -> (weak class, name, function, group; the
# group kept so its id stays its own); and the indexers installed (weak class, name, Python
# function), which a forked child puts back. A group is tried once: _TRIED claims it in its own
# memo dict (``MethodGroup._narrowed``, whose setdefault publishes atomically).
_TRIED = ("pyclrbridge.proxies.native", "tried")
_indexer_homes: dict[int, tuple[weakref.ref[Any], str, Any, MethodGroup]] = {}
_installed_calls: list[tuple[weakref.ref[Any], str, Any]] = []
_homes_live = [0]  # how many entries the last pruning of _indexer_homes kept (owner: _lock)
_bound_type: list[type[BoundMethod]] = []  # [NativeBound] once made (owner: _lock)


def _after_fork_in_child() -> None:
    """In a child forked after the runtime started, no .NET code may run, not even the native
    members' own checks: the runtime's executable memory is mapped shared with the parent, so
    code compiled in the child would land in the parent's. Put every Python descriptor back
    (Python only, no call into .NET), without their direct stubs (the parent may never have
    run them, since the native member served it): their general path raises the error that
    names the spawn start method."""
    for ref, name, prop in _installed:
        cls = ref()
        if cls is None:
            continue
        prop.forget_direct_stubs()
        type.__setattr__(cls, name, prop)
    if _group_state and _group_state[0] is not MethodGroup:
        # Binding runs MethodGroup.__get__ again (Python's slot wrapper replaces the C# one),
        # and a NativeBound made before the fork calls BoundMethod.__call__.
        type.__setattr__(_group_state[0], "__get__", MethodGroup.__dict__["__get__"])
        for bound_type in _bound_type:
            type.__setattr__(bound_type, "__call__", BoundMethod.__dict__["__call__"])
    for ref, name, function in _installed_calls:
        cls = ref()
        if cls is not None:
            type.__setattr__(cls, name, function)


def _address(function: Any) -> int:
    """The address of a ctypes function object."""
    address = ctypes.cast(function, _vp).value
    if not address:
        raise ValueError(f"no address for {function!r}")
    return address


def _setup() -> Any:
    """The shim's NativeMember export with the GIL held, after setting the shim up (None when
    native members are unavailable here)."""
    if _state:
        return _state[0]
    _ = _lock.taken
    try:
        if not _state:
            _state.append(_set_up())
        return _state[0]
    finally:
        _lock.release()


def _set_up() -> Any:
    """The setup itself (caller holds _lock)."""
    create = None
    try:
        shim = _bridge.shim()
        functions = (_vp * len(_FUNCTIONS))(*(_address(getattr(ctypes.pythonapi, name)) for name in _FUNCTIONS))
        objects = (_vp * 9)(
            id(None),
            id(int),
            id(float),
            id(bool),
            id(str),
            id(RuntimeError),
            id(ClrObject.__dict__["_h"]),
            id(_raise_pending),
            id(_Traversed),
        )
        flag = _vp()
        error = Value()
        setup = _SETUP(_address(shim.NativeSetup))
        if (
            setup(
                functions,
                len(_FUNCTIONS),
                objects,
                len(objects),
                ctypes.addressof(flag),
                ctypes.addressof(error),
            )
            == 0
            and flag.value
        ):
            encoders_flag = ctypes.c_int.from_address(flag.value)

            def mirror(encoders: tuple[Any, ...]) -> None:
                encoders_flag.value = 1 if encoders else 0

            _codecs.on_encoders_changed(mirror)
            # The slots' copy of the GIL release switch: releasing_gil() mirrors each change once
            # the runtime is loaded; one opened before that is copied here, before any member exists.
            _ = _bridge.GilRelease.lock.taken
            try:
                _bridge.mirror_gil_release()
            finally:
                _bridge.GilRelease.lock.release()
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork_in_child)
            create = _CREATE(_address(shim.NativeMember))
        elif error.kind == Kind.OBJECT and error.i:
            _bridge.free_handle(error.i)  # native members are an optimization: the Python path stays
    except (AttributeError, OSError, ValueError):  # no pythonapi symbol, an old shim
        create = None
    return create


def group_type() -> type[MethodGroup]:
    """The class of the method groups put in class dicts: a subtype of :class:`.MethodGroup`
    whose ``__get__`` is native (``managed_shim/FastPath/NativeGroups.cs``: it builds the
    :class:`.BoundMethod` exactly as ``MethodGroup.__get__`` does, without a Python frame), or
    MethodGroup itself where native members are unavailable. It binds only: calling the bound
    method takes today's path, so it serves every method, leaf or not."""
    if _group_state:
        return _group_state[0]
    made: type[MethodGroup] = MethodGroup
    if ENABLED and _setup() is not None:
        _ = _lock.taken
        try:
            if not _group_state:
                _group_state.append(_make_group_type())
            made = _group_state[0]
        finally:
            _lock.release()
    return made


def _make_group_type() -> type[MethodGroup]:
    """The native-binding subtype, or MethodGroup when the shim cannot make it (caller holds _lock)."""
    try:
        make = _GROUP_TYPE(_address(_bridge.shim().NativeGroupType))
    except (AttributeError, OSError, ValueError):  # an old shim
        return MethodGroup
    result = _vp()
    error = Value()
    slots = BoundMethod.__dict__
    rc = make(
        id(MethodGroup),
        id(BoundMethod),
        id(slots["__self__"]),
        id(slots["_group"]),
        id(BoundMethod.__dict__["__call__"]),
        ctypes.addressof(result),
        ctypes.addressof(error),
    )
    if rc != 0 or not result.value:
        if rc == 1 and error.kind == Kind.OBJECT and error.i:
            _bridge.free_handle(error.i)  # an optimization only: MethodGroup stays
        return MethodGroup
    made: type[MethodGroup] = ctypes.cast(result.value, ctypes.py_object).value  # the shim keeps its reference
    # What PyType_FromSpec puts in the new type's dict would shadow MethodGroup's for the groups.
    type.__setattr__(made, "__doc__", MethodGroup.__dict__["__doc__"])
    type.__setattr__(made, "__module__", MethodGroup.__module__)
    # NativeBound (a BoundMethod whose call is native, NativeCalls.cs), reached through a bound method.
    probe = _native_bound_type()
    if probe is not None:
        type.__setattr__(probe, "__doc__", BoundMethod.__dict__["__doc__"])
        type.__setattr__(probe, "__module__", BoundMethod.__module__)
        _bound_type.append(probe)
    FIRST_CALL_HOOKS.append(upgrade_call)
    return made


def _native_bound_type() -> type[BoundMethod] | None:
    """NativeBound, which the shim keeps (its subclass of BoundMethod with the native call)."""
    subclasses = [
        t for t in BoundMethod.__subclasses__() if t.__qualname__ == "NativeBound" and t.__module__ == __name__
    ]
    return subclasses[0] if subclasses else None


def indexer_home(group: MethodGroup, cls: type, name: str, function: Any) -> None:
    """Note that ``function`` (``cls.__dict__[name]``, ``__getitem__`` or ``__setitem__``) calls
    indexer ``group``: a NativeIndexer may take its place (see :func:`upgrade_call`)."""
    if not ENABLED:
        return
    _ = _lock.taken
    try:
        if len(_indexer_homes) >= 2 * _homes_live[0] + 64:  # amortized: dead classes' entries go
            for key in [k for k, home in _indexer_homes.items() if home[0]() is None]:
                del _indexer_homes[key]
            _homes_live[0] = len(_indexer_homes)
        _indexer_homes[id(group)] = (weakref.ref(cls), name, function, group)
    finally:
        _lock.release()


def _eligible(group: MethodGroup) -> int:
    """The member id of ``group``'s one overload when a native call may serve it (the shim
    checks the rest), else 0."""
    if len(group.overloads_list) != 1:
        return 0
    o = group.overloads_list[0]
    if o.static or o.generic_params or o.extension or len(o.params) > 2:
        return 0
    if any(p.byref or p.optional or p.is_params for p in o.params):
        return 0
    return o.id


def upgrade_call(group: MethodGroup) -> None:
    """When ``group`` (a method group binding natively, or an indexer's) has one overload of a
    shape the shim converts, register a native call for it (NativeCalls.cs): its bound methods
    then call natively, or a NativeIndexer replaces the indexer's function in the class dict.
    The shim asks the GIL policy: a proved leaf is called with the GIL held, any other member
    releasing it around the .NET call (as the Python path's export does). Tried once per group,
    at its first instance call; the proof and the compilation run with the GIL released."""
    claim = object()
    if group._narrowed.setdefault(_TRIED, claim) is not claim:  # type: ignore[arg-type]
        return  # tried already (by this thread or another)
    _ = _lock.taken
    try:
        home = _indexer_homes.pop(id(group), None)
    finally:
        _lock.release()
    if home is None and (not _group_state or type(group) is not _group_state[0]):
        return
    member = _eligible(group)
    if not member:
        return
    # Proves (leaf: called with the GIL held; else releasing it around the call) and compiles;
    # GIL released.
    token = _bridge.shim().NativeCallPrepare(member)
    if token <= 0:
        return
    if home is None:
        _register(token, group, None)  # the group's bound methods are NativeBound from now on
    else:
        _install_indexer(token, group, home[0], home[1], home[2])


def _register(token: int, group: MethodGroup, fallback: Any) -> Any:
    """Register the native call prepared under ``token`` for ``group`` (``fallback`` None), or
    make a NativeIndexer calling it that falls back to Python function ``fallback``: the made
    indexer (the shim keeps its reference), True for a group, None when the shim refused."""
    shim = _bridge.shim()
    result = _vp()
    error = Value()
    register = _CALL_REGISTER(_address(shim.NativeCallRegister))
    rc = register(
        token,
        id(group),
        id(fallback) if fallback is not None else 0,
        ctypes.addressof(result),
        ctypes.addressof(error),
    )
    if rc != 0 or not result.value:
        if rc == 2 and error.kind == Kind.OBJECT and error.i:
            _bridge.free_handle(error.i)  # the Python path stays
        return None
    if fallback is None:
        return True
    return ctypes.cast(result.value, ctypes.py_object).value


def _install_indexer(token: int, group: MethodGroup, ref: weakref.ref[Any], name: str, fallback: Any) -> None:
    """Make the NativeIndexer for ``token`` and put it in place of ``fallback`` in the class
    dict of ``ref()`` under ``name``, unless the class is gone or its entry changed meanwhile."""
    made = _register(token, group, fallback)
    if made is None:
        return
    share(made)
    _ = _lock.taken
    try:
        cls = ref()
        if cls is None or cls.__dict__.get(name) is not fallback:
            return  # gone or replaced meanwhile (the made indexer stays unused: the shim keeps it)
        _installed_calls.append((ref, name, fallback))
        type.__setattr__(cls, name, made)
    finally:
        _lock.release()


def protocol_indexer(cls: type, name: str, function: Any, group: MethodGroup, *, list_index: bool = False) -> None:
    """``function`` (``cls.__dict__[name]``: a mapping protocol's ``__getitem__`` or
    ``__setitem__``, proxies.protocols) passes a key that is not a tuple, and a value, straight
    to the interface indexer ``group`` (an accessor's group). A NativeIndexer over that
    group's accessor may take its place in the class dict: it takes the calls whose arguments
    it converts exactly, as any native indexer, and hands the rest to ``function``.
    ``list_index``: ``function`` is the list protocol's ``__getitem__`` or ``__setitem__`` and
    ``group`` the ``IList<T>`` accessor's; only a ``List<T>`` gets one, guarded (an index the
    list does not hold goes to ``function``, which raises its IndexError;
    NativeCallCompiler.PrepareListIndexer). Called by
    the protocol at a class's first use of it; the proof and the compilation run with the GIL
    released. A class built from a Python class's type gets none (it must stay free to die)."""
    if not ENABLED or "__clr_mentions__" in cls.__dict__ or cls.__dict__.get(name) is not function:
        return
    if group_type() is MethodGroup:  # native calls unavailable here
        return
    member = _eligible(group)
    if not member:
        return
    shim = _bridge.shim()
    # Proves and compiles; GIL released.
    if list_index:
        token = shim.NativeCallPrepareListIndexer(member, cls.__clr_info__.id)  # type: ignore[attr-defined]
    else:
        token = shim.NativeCallPrepare(member)
    if token > 0:
        _install_indexer(token, group, weakref.ref(cls), name, function)


def upgrade(prop: Any) -> None:
    """Put a native member in place of ``prop`` (a :class:`.properties.Property`) in its class
    dict when the shim makes one for it; tried once per descriptor (``prop._cls`` is claimed
    under the lock; the work that may run .NET code runs outside it, with the GIL released)."""
    _ = _lock.taken
    try:
        cls = prop._cls
        prop._cls = None
    finally:
        _lock.release()
    if cls is None or not ENABLED or prop._get == 0:
        return
    create = _setup()
    if create is None:
        return
    # An accessor the GIL policy proves leaf runs with the GIL held; any other, releasing it
    # around the .NET call (as the Python descriptor's stubs do). The shim asks the GIL policy
    # itself (flag 16), once the member qualifies (MemberIsShort's verdict, as _leaf asks it).
    setter = 0 if prop.readonly else prop._set
    flags = (1 if prop.static else 0) | (2 if prop.field else 0) | 16  # ENABLED implies HOLD_GIL
    token = _bridge.shim().NativePrepare(prop._get, setter, flags)  # compiles; GIL released
    if token <= 0:
        return
    result = _vp()
    error = Value()
    rc = create(token, prop, ctypes.addressof(result), ctypes.addressof(error))
    if rc != 0 or not result.value:
        if rc == 2 and error.kind == Kind.OBJECT and error.i:
            _bridge.free_handle(error.i)  # why the shim refused is not the user's error: keep the Python path
        return
    made = ctypes.cast(result.value, ctypes.py_object).value
    share(made)
    _ = _lock.taken
    try:
        if cls.__dict__.get(prop.__name__) is not prop:
            return  # replaced meanwhile (the made member stays unused: the shim keeps it)
        members = cls.__dict__.get("__clr_members__") or {}
        # The Python descriptor first, so the metaclass always finds it (see base._member),
        # and the fork hook before the class dict changes.
        type.__setattr__(cls, "__clr_members__", {**members, prop.__name__: prop})
        if len(_installed) >= 2 * _installed_live[0] + 64:  # amortized: dead classes' entries go
            _installed[:] = [entry for entry in _installed if entry[0]() is not None]
            _installed_live[0] = len(_installed)
        _installed.append((weakref.ref(cls), prop.__name__, prop))
        type.__setattr__(cls, prop.__name__, made)
    finally:
        _lock.release()


def is_native(member: Any) -> bool:
    """Whether ``member`` (a class dict entry) is a native member."""
    return type(member).__name__ == "NativeMember" and type(member).__module__ == __name__
