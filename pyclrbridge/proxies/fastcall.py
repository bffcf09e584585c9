"""Invokers with the argument writes unrolled: one generated function per plan.

``compile_invoker`` writes, for one overload whose arguments map one to one onto its
parameters, the Python source of an invoker that does for each argument exactly what
``to_value`` does in the commonest case of its parameter type (an ``int`` in range for an
integer type, a ``str`` for ``String``, a ``float`` for ``Double``) without a converter call,
a loop or a keep-alive list, and falls back to ``to_value`` for any other argument. While user
encoders are registered the whole call takes ``slow`` (the converter-per-parameter invoker).
The generated source only contains ints from the overload (member id, ranges, type ids) and
fixed names, never user text.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host.shim import _LOCAL, _decode_utf16, _encode_utf16, read_utf16
from ..host.shim import KindInt as Kind
from ..values import codecs as _codecs
from ..values.convert import to_value
from ..values.results import from_value
from ..values.targets import INTEGER_RANGES, _target
from . import direct as _direct

_I64_MAX = 2**63 - 1

#: ``run(target, args[, obj])``: ``obj``, when given, is the target's proxy (see TARGET_RESULT).
Invoker = Callable[..., Any]

#: The result count's bit asking .NET to answer a result that is the target object itself as
#: ``Kind.TARGET`` (no new handle): the invoker then returns ``obj``, the caller's own proxy
#: (``Exports.SelfResult`` in managed_shim/Exports.cs). Set only when the caller passed ``obj``.
TARGET_RESULT = 0x4000_0000


def _param_code(i: int, type_id: int) -> list[str]:
    """Source lines (indented for the body) writing ``args[i]`` into ``slots[i]``."""
    t, _ = _target(type_id)
    code = t.type_code if t is not None and t.kind != "enum" else ""
    rng = INTEGER_RANGES.get(code)
    head = [f"a{i} = args[{i}]", f"s{i} = slots[{i}]"]
    fallback = f"to_value(a{i}, s{i}, k{i} := [], {type_id})"  # k{i}: alive until the call returns
    if rng is not None:
        lo, hi = rng[0], min(rng[1], _I64_MAX)
        return [
            *head,
            f"if type(a{i}) is int and {lo} <= a{i} <= {hi}:",
            f"    s{i}.kind = {Kind.INT64}",
            f"    s{i}.i = a{i}",
            "else:",
            f"    {fallback}",
        ]
    if code == "String":
        return [
            *head,
            f"if type(a{i}) is str:",
            f"    d{i} = _enc(a{i}, 'surrogatepass')[0]",  # d{i}: alive until the call returns
            f"    s{i}.kind = {Kind.STRING}",
            f"    s{i}.s = d{i}",
            f"    s{i}.extra = len(d{i}) >> 1",
            "else:",
            f"    {fallback}",
        ]
    if code == "Double":
        return [
            *head,
            f"if type(a{i}) is float:",
            f"    s{i}.kind = {Kind.DOUBLE}",
            f"    s{i}.d = a{i}",
            "else:",
            f"    {fallback}",
        ]
    return [*head, fallback]


def _result_first(ret: int) -> list[str]:
    """Lines decoding the result kind the return type ``ret`` produces, checked first (what
    ``from_value`` does for that kind); none for other return types."""
    t, _ = _target(ret)
    code = t.type_code if t is not None and t.kind != "enum" else ""
    if code == "Boolean":
        return [f"if kind == {Kind.BOOL}:", "    return result.i != 0"]
    if code == "Double":
        return [f"if kind == {Kind.DOUBLE}:", "    return result.d"]
    return []


#: What a direct call returns per result letter (see _direct), from the raw result ``r``.
#: A string is _direct.read_text, inline: read through this thread's own view of memory (a view
#: shared by threads breaks under free-threading); one Python call less than calling it.
_DIRECT_RESULT = {
    "v": "None",
    "i": "r",
    "f": "r",
    "b": "r == 1",
    "s": "((_dec(m[r + 8 : r + 8 + 2 * _text_length(m, r)[0]], 'surrogatepass', True)[0]"
    " if (m := _local.view) is not None else _read_text(r)) if r else None)",
}


def _direct_lines(member: int, param_types: tuple[int, ...]) -> list[str]:
    """Lines calling the member's direct stub when every argument fits it as is (falling
    through to the frame path otherwise, or when the target is a Python subclass instance)."""
    found = _direct.stub(member)
    if found is None:
        return []
    shape = found[1]
    names = [f"a{i}" for i in range(len(param_types))]
    fits = _direct.guard(shape, param_types, names)
    if fits is None:
        return []
    condition, prepare, call = fits
    if shape[1:2] == "@":
        call = ["target", *call]
    result = f"_wrap_result(r, {_direct.result_type(shape)})" if shape[0] == "o" else _DIRECT_RESULT[shape[0]]
    # a short member's stub keeps the GIL, except while releasing_gil() is on (GilRelease)
    fn = "(_direct_free if _gil.on else _direct_fn)" if _direct.releasing_twin(member) else "_direct_fn"
    calling = [
        f"r = {fn}({', '.join(call)})",
        f"if r != {_direct.FAILED} or not _direct_failed():",
        f"    return {result}",
    ]
    if shape[0] == "o":
        # A constructor: an exception after the stub returned (a signal handler raising at the
        # call's end, or while the proxy is made) frees the handle no proxy took (the shim
        # records it on the main thread until wrap_result claims it). r stays 0 until the
        # stub's result is stored; FAILED means the stub made nothing.
        calling = [
            "r = 0",
            "try:",
            *("    " + line for line in calling),
            "except BaseException:",
            f"    if r != {_direct.FAILED}:",
            "        _free_unclaimed()",
            "    raise",
        ]
    return [
        *(f"{name} = args[{i}]" for i, name in enumerate(names)),
        f"if {condition}:",
        *(f"    {line}" for line in prepare),
        *(f"    {line}" for line in calling),
    ]


def compile_invoker(member: int, param_types: tuple[int, ...], slow: Invoker, ret: int = 0) -> Invoker:
    """The invoker of ``member`` (parameters ``param_types``, return type ``ret``, no params
    array, out/ref or defaults), calling ``slow`` instead while user encoders are registered."""
    n = len(param_types)
    body = [
        "if _codecs.encoders:",
        "    return slow(target, args)",
        *_direct_lines(member, param_types),
        "try:",
        # a free-threaded build's per-thread pool, inline (see _bridge.OWN_FRAMES)
        "    frame = _own.free.pop()" if _bridge.FREE_THREADED else "    frame = _frames_pop()",
        "except IndexError:",
        "    frame = _Frame()",
        "try:",
    ]
    inner = ["slots = frame.slots"] if n else []
    for i, type_id in enumerate(param_types):
        inner += _param_code(i, type_id)
    called = [
        *(
            [
                # A short member (a proved leaf: it never waits) keeps the GIL: no convoy (except
                # while releasing_gil() is on: see GilRelease). The held call refuses (-1, nothing
                # done) arguments that need more than a plain conversion: then it releases.
                "rc = (frame.call if _gil.on else frame.call_held)(frame.buffer)",
                "if rc != 0 and (rc > 0 or frame.call(frame.buffer) != 0):",
            ]
            if _bridge.is_short(member)
            else ["if frame.call(frame.buffer) != 0:"]
        ),
        "    _raise_error(frame.error)",  # not a copy: claiming the exception zeroes its handle there
        f"result = frame.slots[{n}]",
        "kind = result.kind",
        *_result_first(ret),
        f"if kind == {Kind.VOID}:",
        "    return None",
        f"if kind == {Kind.INT64}:",
        "    return result.i",
        f"if kind == {Kind.STRING}:",  # read_string, inline
        "    extra = result.extra",
        # read_utf16, inline, through the frame's own view of memory (never one shared by threads
        # at once: slicing a shared memoryview breaks under free-threading)
        "    if not extra:",
        "        return ''",
        "    m = frame.memory",
        "    if m is None:",
        "        return _read_utf16(result.p or 0, extra)",
        "    p = result.p or 0",
        "    return _dec(m[p:p + 2 * extra], 'surrogatepass', True)[0]",
        # A fluent method's result: the target itself, as from_value would wrap it (no handle made).
        f"if kind == {Kind.TARGET}:",
        "    return _codecs.decode_result(obj) if _codecs.decoders else obj",
        "return from_value(result)",
    ]
    # From the header on, an exception (a signal handler raising right after the call, or while
    # the result is wrapped) frees a handle the call returned that no proxy took yet, or the
    # error's: the shim zeroes the header's first word when the call returned its results, and
    # from_value zeroes the slot's handle once a proxy owns it. Nothing in this handler checks
    # for signals before the free (attribute reads, then the export: bridge.Frame.free_unclaimed).
    inner += [
        f"_header(frame.buffer, 0, {member}, {n}, target, 1 if obj is None else {1 | TARGET_RESULT})",
        "try:",
        *("    " + line for line in called),
        "except BaseException:",
        f"    frame.free_unclaimed(frame.buffer, {n}, 1)",
        "    raise",
    ]
    if n:
        # Registry ids written into the argument slots for a call that never took them (a signal
        # handler raising after a conversion registered a callable, before the call): handed back
        # by one export, after attribute reads only (see bridge.Frame.abandon). Once the call has
        # run, its slots carry no id and this does nothing.
        inner = [
            "try:",
            *("    " + line for line in inner),
            "except BaseException:",
            f"    frame.abandon(frame.buffer, {n})",
            "    raise",
        ]
    body += ["    " + line for line in inner]
    # An error handle no exception proxy took (a signal cut the raise short) is freed here:
    # only field reads and stores come before the export (see bridge.FREE_ERROR_NOTE).
    body += [
        "finally:",
        "    error = frame.error",
        f"    if error.kind == {Kind.OBJECT} and error.i:",
        "        unclaimed = error.i",
        "        error.i = 0",
        "        _free_handle(unclaimed)",
        "    _own.free.append(frame)" if _bridge.FREE_THREADED else "    _frames_push(frame)",
    ]
    # At the recursion limit ctypes refuses the arguments: raise Python's RecursionError.
    body = [
        "try:",
        *("    " + line for line in body),
        "except _ArgumentError as refused:",
        "    raise _argument_error(refused) from None",
    ]
    source = "def run(target, args, obj=None):\n" + "".join(f"    {line}\n" for line in body)
    scope: dict[str, Any] = {
        "_codecs": _codecs,
        "slow": slow,
        "_frames_pop": _bridge.frames_pop,
        "_frames_push": _bridge.frames_push,
        "_own": _bridge.OWN_FRAMES,
        "_Frame": _bridge.Frame,
        "_header": _bridge.FRAME_HEADER.pack_into,
        "_raise_error": _bridge.raise_error,
        "_Value": _bridge.Value,
        "_enc": _encode_utf16,
        "_dec": _decode_utf16,
        "_read_utf16": read_utf16,
        "_local": _LOCAL,
        "_text_length": _direct.read_length,
        "to_value": to_value,
        "from_value": from_value,
        "_ArgumentError": ctypes.ArgumentError,
        "_argument_error": _bridge.argument_error,
        "_direct_failed": _direct.failed,
        "_read_text": _direct.read_text,
        "_wrap_result": _direct.wrap_result,
        "_gil": _bridge.GilRelease,
        "_free_handle": _bridge.shim().FreeHandle,
        "_free_unclaimed": _bridge.shim().DirectFreeUnclaimed,
    }
    found = _direct.stub(member)
    if found is not None:
        scope["_direct_fn"] = found[0]
        scope["_direct_free"] = _direct.releasing_twin(member)
    exec(compile(source, f"<pyclrbridge invoker {member}>", "exec"), scope)  # our own source: ints and fixed names
    for value in scope.values():  # every thread loads these at each call (free-threaded: see defer_refcount)
        _bridge.defer_refcount(value)
    run: Invoker = scope["run"]
    return run
