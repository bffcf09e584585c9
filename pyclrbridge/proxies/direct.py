"""Direct calls: one typed native function per .NET member whose signature is plain.

For a method, property accessor or field whose parameters are integers, bools, doubles or strings
and whose result is void, an integer, a bool, a double/float or a string (or for a constructor with such
parameters), the shim compiles a
stub with a C signature (``managed_shim/Calls/DirectCalls.cs``) and hands Python its address. Calling
it is one ctypes call with plain arguments: no ``Value`` frame, no argument tuple on the .NET
side, no boxing. Everything else (and any argument the stub cannot take as is) keeps the
general path, which stays the reference behaviour.

A stub never raises into native code: on failure it returns :data:`FAILED` and parks the
exception for the calling thread; :func:`failed` collects it. ``FAILED`` is exactly
representable as a double, so one comparison checks integer and double results alike; a
member that really returns that value only pays one extra foreign call.

``PYCLRBRIDGE_DIRECT=0`` turns direct calls off (every call takes the general path).
"""

from __future__ import annotations

import ctypes
import os
import struct
import threading
from typing import Any

from ..host import bridge as _bridge
from ..host.shim import _LOCAL, KindInt, Value, _decode_utf16, prototype, read_string, thread_memory
from ..values import codecs as _codecs
from ..values.targets import INTEGER_RANGES, _target
from .base import DERIVED_TYPE_IDS, EXCEPTION_TYPE_IDS, object_member, wrap
from .catalog import class_for

#: DirectCalls.Failed: "a failure may be parked, ask DirectPending".
FAILED = -0x6000_0000_0000_0000

ENABLED = os.environ.get("PYCLRBRIDGE_DIRECT", "1") != "0"

#: The C argument types per shape letter ('@': the target's handle).
_ARG_TYPES: dict[str, tuple[Any, ...]] = {
    "@": (ctypes.c_void_p,),
    "i": (ctypes.c_void_p,),
    "b": (ctypes.c_void_p,),  # c_void_p: the cheapest int conversion
    "f": (ctypes.c_double,),
    "s": (ctypes.c_char_p, ctypes.c_void_p),
}

# Pure memos, published with dict.setdefault (a lost race builds an equal entry; the shim
# returns the same function pointer for a member every time).
_prototypes: dict[tuple[str, bool], Any] = {}
_stubs: dict[tuple[int, int], tuple[Any, str] | None] = {}
_MISSING = object()

#: The int64 length before a string result (``read_length(view, address)[0]``).
read_length = _read_length = struct.Struct("<q").unpack_from


def stub(member: int, variant: int = 0) -> tuple[Any, str] | None:
    """``(function, shape)`` of the member's direct stub, or None when it has none.
    ``variant`` 1 asks for a field's setter (a field id alone means its getter)."""
    key = (member, variant)
    found = _stubs.get(key, _MISSING)
    if found is _MISSING:
        found = _stubs.setdefault(key, _resolve(member, variant) if ENABLED else None)
    return found  # type: ignore[return-value]


def _prototype(shape: str, short: bool) -> Any:
    """The prototype of a stub of ``shape``; a short member's keeps the GIL (see is_short)."""
    proto = _prototypes.get((shape, short))
    if proto is None:
        restype = ctypes.c_double if shape[0] == "f" else ctypes.c_int64
        argtypes = [t for letter in shape.partition("#")[0][1:] for t in _ARG_TYPES[letter]]
        proto = _prototypes.setdefault((shape, short), prototype(restype, argtypes, short=short))
    return proto


def _resolve(member: int, variant: int) -> tuple[Any, str] | None:
    address = ctypes.c_void_p()
    result = Value()
    error = Value()
    if (
        _bridge.shim().DirectStub(member, variant, ctypes.byref(address), ctypes.byref(result), ctypes.byref(error))
        != 0
    ):
        return None  # the general path reports whatever is wrong with the member
    shape = read_string(result)
    if not shape or not address.value:
        return None
    return _prototype(shape, _bridge.is_short(member, variant))(address.value), shape


def releasing_twin(member: int, variant: int = 0) -> Any:
    """The member's direct stub through a prototype that releases the GIL, when the stub itself
    keeps it (a short member); None otherwise. Callers take it while ``GilRelease.on``."""
    found = stub(member, variant)
    if found is None or not _bridge.is_short(member, variant):
        return None
    return _prototype(found[1], False)(ctypes.cast(found[0], ctypes.c_void_p).value)


#: ``Kind.OBJECT`` as a plain int, for the except path of :func:`failed` (no enum lookup there).
_OBJECT_KIND = KindInt.OBJECT


def failed() -> bool:
    """After a stub returned :data:`FAILED`: raise the .NET exception it parked; True when the
    call must be redone on the general path (an instance of a Python subclass), False when
    ``FAILED`` was the member's real result."""
    error = Value()
    try:
        state: int = _bridge.shim().DirectPending(ctypes.byref(error))
        if state == 1:
            _bridge.raise_error(error)  # claiming the exception zeroes its handle there
    except BaseException:
        # A signal handler raising before a proxy claimed the parked exception (at the return
        # of DirectPending, at raise_error's entry): its handle is freed here. Inline, with only
        # attribute reads and compares before the export: no signal check before the free.
        if error.kind == _OBJECT_KIND and error.i:
            _bridge.SHIM.FreeHandle(error.i)  # type: ignore[union-attr]  # loaded: a stub ran
        raise
    if state == 3:
        raise RuntimeError("a .NET call failed and its exception could not be handed to Python")
    return state == 2


def read_text(address: int) -> str | None:
    """A string result: ``address`` holds its int64 length, then the UTF-16 code units (0: null)."""
    if not address:
        return None
    # This thread's own view of memory (thread_memory, inline): a shared one breaks under free-threading.
    memory = _LOCAL.view
    if memory is None:
        memory = thread_memory()
        if memory is None:
            n = ctypes.c_int64.from_address(address).value
            return _decode_utf16(ctypes.string_at(address + 8, 2 * n), "surrogatepass", True)[0]
    n = _read_length(memory, address)[0]
    return _decode_utf16(memory[address + 8 : address + 8 + 2 * n], "surrogatepass", True)[0]


def decoder(shape: str) -> Any:
    """What turns the raw result of a stub of this shape into the Python value (None: as is)."""
    kind = shape[0]
    if kind == "b":
        return (1).__eq__
    if kind == "s":
        return read_text
    if kind == "v":
        return _none
    return None


def _none(_: Any) -> None:
    return None


def result_type(shape: str) -> int:
    """The type id a constructor stub's shape ends with ('o' results), else 0."""
    _, _, type_id = shape.partition("#")
    return int(type_id) if type_id else 0


# The shim's cell with the handle a constructor stub last returned on the main thread that no
# proxy took yet (DirectCalls.Unclaimed). Bound once at load (install_unclaimed_cell), from the
# main thread; until then (or when load ran on another thread) a cell the shim never writes.
# Owner: the main thread writes it (the shim, and wrap_result claiming); other threads only
# compare it with their own handles, which it never holds.
_unclaimed = ctypes.c_int64()


def install_unclaimed_cell(shim: Any) -> None:
    """At load: constructor stubs called on the main thread (the only thread where a signal
    handler can raise) record their handle until :func:`wrap_result` claims it."""
    global _unclaimed
    if threading.current_thread() is threading.main_thread():
        address = shim.DirectMainThread()
        if address:
            _unclaimed = ctypes.c_int64.from_address(address)


def wrap_result(handle: int, type_id: int) -> Any:
    """A constructor stub's new object, as ``from_value`` gives it (user decoders applied).
    The proxy takes the handle and the unclaimed cell forgets it with nothing between that checks
    for signals; an exception before that is answered by ``DirectFreeUnclaimed`` (compiled
    invokers), which frees the handle."""
    if type_id in DERIVED_TYPE_IDS or type_id in EXCEPTION_TYPE_IDS:
        cell = _unclaimed
        if cell.value == handle:
            cell.value = 0  # claimed before adopting: an exception there may leak, never free twice
        obj = wrap(handle, type_id)
    else:
        obj = class_for(type_id).__clr_blank__  # made by an attribute read: no signal check before _h is set
        obj._h = handle
        cell = _unclaimed
        if cell.value == handle:
            cell.value = 0
    return _codecs.decode_result(obj) if _codecs.decoders else obj


def guard(shape: str, param_types: tuple[int, ...], names: list[str]) -> tuple[str, list[str], list[str]] | None:
    """For generated invokers: the condition under which the arguments ``names`` (of parameter
    types ``param_types``) go to the stub as they are, the lines preparing them (inside the
    condition) and the stub's argument expressions after the target. None: no stub call fits."""
    shape = shape.partition("#")[0]
    letters = shape[2:] if len(shape) > 1 and shape[1] == "@" else shape[1:]
    if len(letters) != len(param_types) or len(names) != len(param_types):
        return None
    tests: list[str] = []
    prepare: list[str] = []
    call: list[str] = []
    for letter, type_id, name in zip(letters, param_types, names, strict=True):
        if letter == "i":
            t, _ = _target(type_id)
            rng = INTEGER_RANGES.get(t.type_code) if t is not None and t.kind != "enum" else None
            if rng is None or rng[1] > 2**63 - 1:
                return None
            tests.append(f"type({name}) is int and {rng[0]} <= {name} <= {rng[1]}")
            call.append(name)
        elif letter == "b":
            tests.append(f"type({name}) is bool")
            call.append(name)
        elif letter == "f":
            tests.append(f"type({name}) is float")
            call.append(name)
        elif letter == "s":
            tests.append(f"type({name}) is str")
            prepare.append(f"d_{name} = _enc({name}, 'surrogatepass')[0]")
            call += [f"d_{name}", f"len(d_{name}) >> 1"]
        else:
            return None
    return " and ".join(tests) or "True", prepare, call


# Per (Object member name, proxy class): the member's stub for objects of exactly that class,
# keeping the GIL when the override it runs on them is short, and its twin releasing the GIL
# (the same stub when it releases it already), taken while GilRelease.on (None: take the method
# group). Pure memo published with setdefault.
_object_stubs: dict[tuple[str, type], Any] = {}


def _object_stub(name: str, cls: type) -> Any:
    type_id = cls.__dict__.get("__clr_type_id__", 0)
    if not ENABLED or not type_id or "__clr_derived__" in cls.__dict__:
        return None
    member = object_member(name).overloads_list[0].id  # ToString() and GetHashCode() have one overload
    found = stub(member)
    if found is None or found[1] not in ("s@", "i@"):
        return None
    address = ctypes.cast(found[0], ctypes.c_void_p).value
    free = _prototype(found[1], False)(address)
    if not _bridge.is_short_on(member, type_id):
        return free, free
    return _prototype(found[1], True)(address), free


def object_call(name: str, obj: Any) -> Any:
    """``obj.ToString()`` or ``obj.GetHashCode()`` as System.Object's virtual call, for str() and
    hash(): the stub, GIL kept where the override is short (except while ``GilRelease.on``);
    else the method group."""
    cls = type(obj)
    fn = _object_stubs.get((name, cls), _MISSING)
    if fn is _MISSING:
        fn = _object_stub(name, cls)
        if "__clr_mentions__" not in cls.__dict__:  # (such a class must stay free to die)
            fn = _object_stubs.setdefault((name, cls), fn)
    h = getattr(obj, "_h", 0)
    if fn is not None and h:
        try:
            r = fn[1 if _bridge.GilRelease.on else 0](h)
        except ctypes.ArgumentError as refused:  # at the recursion limit: see bridge.argument_error
            raise _bridge.argument_error(refused) from None
        if r != FAILED or not failed():
            return read_text(r) if name == "ToString" else r
    return object_member(name).call(obj, (), {})
