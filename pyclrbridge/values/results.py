""".NET -> Python: the Python object for each result value a call into .NET returns.

A .NET object becomes its proxy and an enum value its member: both are proxy classes, which
the proxy layer installs here when it loads (:func:`install_proxies`).
"""

from __future__ import annotations

import ctypes
import decimal
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host.shim import KindInt as Kind  # plain ints: IntEnum member reads are slow on every call
from ..host.shim import Value, _decode_utf16, read_string, thread_memory
from . import codecs as _codecs
from .objects import lookup


def _not_installed(*args: Any) -> Any:
    raise RuntimeError("the proxy classes are not installed (import pyclrbridge first)")


# The proxy layer's constructors of Python objects for .NET objects and enum values: module
# globals (read on every result) written once by install_proxies at package import.
wrap: Callable[[int, int], Any] = _not_installed
enum_value: Callable[[int, int], Any] = _not_installed
#: wrap() for an OBJECT result value that claims its handle: it zeroes ``v.i`` in the same
#: signal-free step in which the proxy takes it (see :func:`free_unclaimed`).
wrap_value: Callable[[Value], Any] = _not_installed


def install_proxies(
    wrap_object: Callable[[int, int], Any],
    make_enum_value: Callable[[int, int], Any],
    wrap_object_value: Callable[[Value], Any] = _not_installed,
) -> None:
    """Registration from the proxy layer: how a handle and an enum value become Python objects."""
    global wrap, enum_value, wrap_value
    wrap, enum_value, wrap_value = wrap_object, make_enum_value, wrap_object_value


def from_value(v: Value) -> Any:
    """The Python object for a result value. Takes ownership of any handle in it: the value's
    ``i`` is 0 once a proxy owns the handle (a handle still there after an exception is
    owned by no one: :func:`free_unclaimed`)."""
    kind = v.kind
    if kind == Kind.INT64:
        return v.i
    if kind == Kind.STRING:
        return read_string(v)
    if kind == Kind.OBJECT:
        obj = wrap_value(v)
        return _codecs.decode_result(obj) if _codecs.decoders else obj
    if kind == Kind.DOUBLE:
        return v.d
    if kind == Kind.BOOL:
        return v.i != 0
    if kind in (Kind.NULL, Kind.VOID):
        return None
    if kind == Kind.ENUM:
        return enum_value(v.extra, v.i)
    if kind == Kind.UINT64:
        return v.u
    if kind == Kind.CHAR:
        return chr(v.i)
    if kind == Kind.DECIMAL:
        return decimal.Decimal(read_string(v))
    if kind == Kind.PYOBJECT:
        return lookup(v.i)
    raise TypeError(f"unexpected value kind {_bridge.kind_name(kind)} from .NET")


#: Kinds whose conversion may call .NET: an object's or an enum value's proxy class may have to
#: be built (its description is asked of .NET), and a user decoder of an object runs any code.
#: Every other kind converts in pure Python (numbers, strings and decimals read from the arena,
#: a Python object looked up while the arena still holds it): see :func:`from_values`.
_CALLS_DOTNET = (Kind.OBJECT, Kind.ENUM)


def from_values(values: Any, n: int) -> list[Any]:
    """Convert ``n`` result values: the values of one call's results, one bulk chunk or block.

    Strings and decimals point into the shim's per-thread arena, and Python objects are held
    for the caller only until the thread's next call into .NET, which reuses the arena. So every
    value whose conversion cannot call .NET is converted first (reading the whole arena data of
    the block), and only then objects and enum values, whose conversion may call .NET (building
    their proxy class, a user decoder). If a conversion fails, the handles of objects not yet
    wrapped are freed."""
    items = [values[i] for i in range(n)]  # index once: indexing a ctypes pointer builds an object
    out: list[Any] = [None] * n
    later: list[int] = []
    memory = None  # this thread's view of memory, looked up once per block (read_string inline)
    for i, v in enumerate(items):
        kind = v.kind
        if kind == Kind.STRING:
            size = v.extra
            if size:
                if memory is None:
                    memory = thread_memory()
                address = v.p or 0
                if memory is not None:
                    out[i] = _decode_utf16(memory[address : address + 2 * size], "surrogatepass", True)[0]
                else:
                    out[i] = read_string(v)
            else:
                out[i] = ""
        elif kind in _CALLS_DOTNET:
            later.append(i)
        else:
            try:
                out[i] = from_value(v)
            except BaseException:
                free_unclaimed(items)
                raise
    for i in later:
        try:
            out[i] = from_value(items[i])
        except BaseException:
            free_unclaimed(items)
            raise
    return out


def free_unclaimed(values: Any) -> None:
    """After an exception: frees the handles in object values that no proxy took (a proxy that
    takes one zeroes it, see :func:`from_value`). Each is cleared before it is freed, with
    nothing between that checks for signals, so none is freed twice; a signal that interrupts
    this loop can only leave the rest unfreed. Only for values .NET wrote for this call."""
    shim = _bridge.SHIM
    if shim is None or _bridge.SHUTTING_DOWN.is_set():
        return
    if isinstance(values, ctypes.Array):  # a whole block: one call, no loop a signal could stop
        shim.FreeUnclaimedValues(ctypes.addressof(values), len(values))
        return
    free = shim.FreeHandle
    for v in values:
        if v.kind == Kind.OBJECT and v.i:
            handle = v.i
            v.i = 0
            free(handle)
