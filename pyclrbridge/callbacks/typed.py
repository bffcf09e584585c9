"""Typed thunks: native entry points for delegates whose signature is all primitives.

A delegate such as ``Comparison<int>`` or ``Func<double, double>`` does not go through the
generic dispatcher (``dispatch._dispatch``: arguments boxed into ``Value`` structs, the result
written back into one). The shim asks, once per signature *shape*, for a ctypes callback typed
for it, e.g. ``int32 thunk(int64 id, int32 a, int32 b, void *slot)``, and calls it directly
(``managed_shim/Callbacks/TypedCallbacks.cs``). The thunk looks the callable up by id in the same
registry as the dispatcher, so a delegate keeps its callable alive exactly as before; the
thunks themselves live for the whole process (the shim caches their addresses).

A shape is a string of letters, the return type's first: ``?`` bool, ``B``/``b`` (s)byte,
``h``/``H`` (u)int16, ``i``/``I`` (u)int32, ``q``/``Q`` (u)int64, ``c`` char, ``f`` float,
``d`` double, ``v`` void (return only). ``Comparison<int>`` is ``iii``.

A thunk returns its result natively when it is of the exact expected kind (an ``int`` in
range, a ``float``, a ``bool``, a one-character ``str``). Anything else (a Python error, or a
result the ordinary conversion rules must judge, like ``1.5`` for an ``int``) goes into the
``TypedSlot`` the shim passes: the error exactly as the dispatcher reports it, or the result
as a ``Value`` for ``Values.ToClr``. So every callback behaves as it does on the generic path.

``PYCLRBRIDGE_TYPED_CALLBACKS=0`` turns typed thunks off (every delegate takes the dispatcher).
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any

from ..host import bridge as _bridge
from ..host.locks import SignalSafeLock
from ..host.shim import KindInt as Kind
from ..host.shim import Value
from ..values import codecs as _codecs
from ..values.convert import to_value
from ..values.objects import forget_now, register_into, registry
from .dispatch import TRANSFERRED_HANDLE, _keepalive, _views_at, report
from .entry import add_entry

#: Read once at import: whether the shim is offered typed thunks at start.
ENABLED = os.environ.get("PYCLRBRIDGE_TYPED_CALLBACKS", "1") != "0"

#: ctypes type per shape letter (bool and char cross as a byte and a UTF-16 code unit).
_CTYPES: dict[str, Any] = {
    "?": ctypes.c_bool,
    "B": ctypes.c_uint8,
    "b": ctypes.c_int8,
    "h": ctypes.c_int16,
    "H": ctypes.c_uint16,
    "i": ctypes.c_int32,
    "I": ctypes.c_uint32,
    "q": ctypes.c_int64,
    "Q": ctypes.c_uint64,
    "c": ctypes.c_uint16,
    "f": ctypes.c_float,
    "d": ctypes.c_double,
}

#: The integer range each integer letter returns natively; outside it the conversion rules
#: decide (an OverflowException naming the type, as on the generic path).
_RANGES: dict[str, tuple[int, int]] = {
    "B": (0, 2**8 - 1),
    "b": (-(2**7), 2**7 - 1),
    "h": (-(2**15), 2**15 - 1),
    "H": (0, 2**16 - 1),
    "i": (-(2**31), 2**31 - 1),
    "I": (0, 2**32 - 1),
    "q": (-(2**63), 2**63 - 1),
    "Q": (0, 2**64 - 1),
}

#: Integers a float result takes natively: exactly representable, so ctypes' int -> double ->
#: float rounds as .NET's Convert does.
_EXACT = 2**53
_SINGLE_MAX = 3.4028234663852886e38  # System.Single.MaxValue

#: Where TypedSlot.Status.Kind lies: after the Result value, at a value's kind offset.
_SLOT_STATUS_OFFSET = ctypes.sizeof(Value) + Value.kind.offset

# Owner: _lock guards _thunks (shape -> (CFUNCTYPE object, address)): built and stored under
# it; read without it (only finished entries are stored). Entries are never removed: the shim
# caches the addresses for the life of the process.
_lock = SignalSafeLock("pyclrbridge.callbacks.typed._lock")
_thunks: dict[str, tuple[Any, int]] = {}


def _boxed(result: Any, slot: int, keep: list[Any]) -> int:
    """Hand ``result`` to .NET as a ``Value`` (Status = Void): the conversion rules decide.
    ``keep`` is the thunk's (empty) list: when this fails, the thunk's report drops what the
    conversion registered in it."""
    values = _views_at(slot, 2)
    to_value(result, values[0], keep)
    if values[0].kind == Kind.OBJECT:
        # The proxy may die as soon as we return: .NET gets (and frees) its own handle, marked
        # as such in the same native step (an exception after it: report drops it).
        _bridge.shim().TransferHandle(ctypes.addressof(values[0]), TRANSFERRED_HANDLE)
        keep.clear()  # only the proxy itself was kept (to_value): .NET's handle is its own
    values[1].kind = Kind.VOID
    if keep:
        keep.append(result)
        _keepalive[threading.get_ident()] = keep  # until .NET has read it, as in the dispatcher
    return 0


def _failed(exc: BaseException, slot: int, kept: Any = ()) -> int:
    """Report the callable's exception in the slot (Status = String), as the dispatcher does
    (``kept``: the keep list of a result conversion that failed)."""
    if not report(exc, _views_at(slot, 2), kept):
        try:  # Status = Missing: the shim raises "could not be reported"
            ctypes.c_int32.from_address(slot + _SLOT_STATUS_OFFSET).value = Kind.MISSING
        except BaseException:
            pass
    return 0


def _report_at_entry(frame_locals: dict[str, Any], exc: BaseException) -> None:
    """An exception that escaped a thunk (a signal at its entry or at its except path's call):
    reported as its own."""
    _failed(exc, frame_locals["slot"], frame_locals.get("k", ()))


def _source(shape: str) -> str:
    """The Python source of the thunk for ``shape``."""
    ret, params = shape[0], shape[1:]
    names = [f"a{i}" for i in range(len(params))]
    args = ", ".join(f"chr({n})" if p == "c" else n for n, p in zip(names, params, strict=True))
    call = f"_registry[obj_id]({args})"
    lines = [f"def thunk({', '.join(['obj_id', *names, 'slot'])}):", "    try:"]
    if ret == "v":
        lines += [f"        {call}", "    except BaseException as exc:", "        _failed(exc, slot)"]
        return "\n".join(lines) + "\n"
    lines += ["        k = ()", f"        r = {call}"]  # k: the result's keep list, once made
    if ret in _RANGES:
        low, high = _RANGES[ret]
        native = f"type(r) is int and {low} <= r <= {high}"
    elif ret == "?":
        native = "type(r) is bool"
    elif ret == "c":
        native = "type(r) is str and len(r) == 1 and r < '\\U00010000'"
    elif ret == "f":  # past Single.MaxValue ctypes would store infinity: the rules refuse it instead
        native = (
            f"(type(r) is float and not {_SINGLE_MAX!r} < abs(r) < 1e309)"
            f" or (type(r) is int and {-_EXACT} <= r <= {_EXACT})"
        )
    else:  # d
        native = f"type(r) is float or (type(r) is int and {-_EXACT} <= r <= {_EXACT})"
    lines += [
        f"        if ({native}) and not _codecs.encoders:",
        f"            return {'ord(r)' if ret == 'c' else 'r'}",
        "        k = []",
        "        return _boxed(r, slot, k)",
        "    except BaseException as exc:",
        "        return _failed(exc, slot, k)",
    ]
    return "\n".join(lines) + "\n"


def _build(shape: str) -> Any:
    if not shape or (shape[0] not in _CTYPES and shape[0] != "v") or any(p not in _CTYPES for p in shape[1:]):
        raise ValueError(f"not a typed callback shape: {shape!r}")
    namespace: dict[str, Any] = {
        "_registry": registry(),
        "_codecs": _codecs,
        "_boxed": _boxed,
        "_failed": _failed,
    }
    exec(compile(_source(shape), f"<pyclrbridge typed callback {shape}>", "exec"), namespace)
    add_entry(namespace["thunk"].__code__, _report_at_entry)
    restype = None if shape[0] == "v" else _CTYPES[shape[0]]
    proto = ctypes.CFUNCTYPE(restype, ctypes.c_int64, *(_CTYPES[p] for p in shape[1:]), ctypes.c_void_p)
    return proto(namespace["thunk"])


def thunk_address(shape: str) -> int:
    """The address of the thunk for ``shape`` (made on first use, kept for the process)."""
    found = _thunks.get(shape)
    if found is None:
        _ = _lock.taken
        try:
            found = _thunks.get(shape)
            if found is None:
                fn = _build(shape)
                found = (fn, ctypes.cast(fn, ctypes.c_void_p).value or 0)
                _thunks[shape] = found
        finally:
            _lock.release()
    return found[1]


def shapes() -> list[str]:
    """The shapes that have a thunk so far."""
    _ = _lock.taken  # iterating the dict while another thread adds a shape would fail
    try:
        return sorted(_thunks)
    finally:
        _lock.release()


def _make(shape_at: int | None, n: int, address_at: int | None) -> None:
    """The shim's request for a shape's thunk: its address written at ``address_at`` (left 0,
    use the generic path, when none can be made)."""
    try:
        address = thunk_address(ctypes.string_at(shape_at or 0, n).decode("ascii"))
        ctypes.c_int64.from_address(address_at or 0).value = address
    except Exception:
        pass  # no thunk: the generic path
    except BaseException as exc:  # KeyboardInterrupt, SystemExit: not lost
        _report_make_failure(exc, address_at)


def _report_make_failure(exc: BaseException, address_at: int | None) -> None:
    """The maker's exception for the shim to raise: minus its registry id as the address.

    The id is written in the step that registers it (``register_into(..., negated=True)``), so a signal
    handler that raises after that (at the registry lock's release, in a drain) leaves it where
    the shim reads it; the attempt that reports that newer exception (the unraisable hook calls
    this again) drops it first. Only field reads, a compare and a store come before that drop
    (``forget_now`` is ``dict.pop`` itself), so a signal cannot separate them."""
    cell = ctypes.c_int64.from_address(address_at or 0)
    old = cell.value
    if old < 0:  # an interrupted attempt's registration: .NET will never read it
        cell.value = 0
        forget_now(-old, None)
    register_into(exc, cell, negated=True)


add_entry(_make.__code__, lambda frame_locals, exc: _report_make_failure(exc, frame_locals["address_at"]))

#: The maker the shim calls (``TypedCallbacks.Register``); referenced for the life of the process.
MAKER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p)(_make)
MAKER_ADDRESS = ctypes.cast(MAKER, ctypes.c_void_p).value
