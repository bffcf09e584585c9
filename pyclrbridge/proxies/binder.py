"""Overload resolution: choose the .NET overload a C# compiler would, from Python arguments.

Each overload is first checked for applicability (every argument converts: :mod:`.scoring`),
generic ones after their type arguments are inferred (:mod:`.inference`); among the
applicable ones C#'s better-function-member rules pick the best (:mod:`.betterness`), and a
tie is an error listing the candidates and the rule that could not separate them. The choice
is cached per call key (:func:`call_key`: the kinds of the positional arguments, the keyword
names and the kinds of their values) by the method group, so the second call with the same
kinds does no resolution work.
"""

from __future__ import annotations

import array
import bisect
import datetime
import decimal
import itertools
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..host import typeinfo as _typeinfo
from ..values import codecs as _codecs
from ..values import convert as _convert
from . import betterness as _betterness
from . import inference as _inference
from .betterness import Candidate
from .scoring import INT_RANGES, score
from .signatures import Overload, Param, Plan, callable_arity, construct_generic_overload, result_hint

__all__ = ["INT_RANGES", "accept_out_placeholders", "arg_kind", "call_key", "choose", "score"]


def _info(type_id: int) -> _typeinfo.TypeInfo:
    return _typeinfo.info(type_id)


class BindKey:
    """What overload caches key the instances of a class that must be free to die by (instead
    of the class itself): Python classes deriving from .NET, and classes built from them."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<instances of {self.name}>"


#: id() of each live Python class deriving from .NET -> (a weak reference to the class, the
#: stand-in that keys overload caches for its instances), so that the caches of long-lived
#: method groups never hold the class (which must be able to die). Written at class creation
#: (callbacks.derived, proxies.classes), popped by the class's weakref callback; single dict
#: writes are atomic. Readers check the weak reference: a callback that a signal interrupted
#: leaves its entry behind, and the id may name another class by then.
DERIVED_BIND_KEYS: dict[int, tuple[weakref.ref[Any], object]] = {}


def arg_kind(arg: Any) -> Any:
    """The part of an argument's identity that decides overload choice (the cache key).

    Two arguments of equal kind fit every parameter type equally (:func:`.scoring.score`)
    and infer the same type arguments (:mod:`.inference`): the kind covers everything those
    read. For a sequence that is the kinds of the items they look at (the first 16), for a
    callable its arity and return annotation."""
    t = type(arg)
    if t is int:
        if -128 <= arg < 128:  # the common case, same key as below without the bisect
            return _SMALL_NEGATIVE if arg < 0 else _SMALL
        # Which integer types hold it (not the value): 256 and 255 choose differently.
        return (arg < 0, bisect.bisect_left(_INT_BITS, (~arg if arg < 0 else arg).bit_length()))
    if t is str:
        return str if len(arg) != 1 else "char"
    if t in _SEQUENCE_TYPES:
        if t is array.array:  # array('i') and array('d') choose int[] and double[], empty ones too
            return (t, arg.typecode, _item_kinds(arg)) if arg else (t, arg.typecode)
        if not arg:
            return t
        return (t, _item_kinds(arg))
    if t in _FUNCTION_TYPES:
        return (t, callable_arity(arg), result_hint(arg))  # delegate overloads differ by arity, result
    if t is memoryview:
        return (t, arg.format, arg.ndim)
    if t in _PLAIN_TYPES:
        return t
    found = DERIVED_BIND_KEYS.get(id(t))
    if found is not None and found[0]() is t:
        return found[1]
    if getattr(t, "__clr_type_id__", 0) or isinstance(arg, (type, Mapping)):
        return t
    return _python_object_kind(arg, t)


def _item_kinds(items: Any) -> frozenset[Any]:
    """The kinds of the items overload scoring reads (the first 16; their order does not count)."""
    return frozenset(map(arg_kind, itertools.islice(items, 16)))


def _python_object_kind(arg: Any, t: type) -> Any:
    """Any other Python object: one a user codec encodes is what it encodes to (scoring sees
    the encoded value, and the codec may be registered or removed at any time); a callable
    fits a delegate by its own arity, a re-iterable container a sequence by its first items."""
    if _codecs.encoders:
        encoded = _codecs.encode_custom(arg)
        if encoded is not arg:
            return (t, "encoded", arg_kind(encoded))
    if callable(arg):
        return (t, callable_arity(arg), result_hint(arg))
    if isinstance(arg, Iterable):
        try:
            if iter(arg) is not arg:
                return (t, _item_kinds(arg))
        except Exception:  # an object whose __iter__ fails: scoring treats it as not a sequence
            return t
    return t


_FUNCTION_TYPES: tuple[type, ...] = (type(len), type(lambda: 0), type(Param.from_json), type([].append))
_SEQUENCE_TYPES = frozenset((list, tuple, range, set, frozenset, bytes, bytearray, array.array))
# Types whose kind is the type itself: nothing else about their values decides a choice.
_PLAIN_TYPES = frozenset((float, bool, type(None), decimal.Decimal, datetime.datetime, datetime.timedelta, uuid.UUID))


def call_key(static: bool, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """The plan cache key of a call: the kinds of the positional arguments, and each keyword
    with the kind of its value (``M(a=1)`` and ``M(a=1.5)`` may choose different overloads)."""
    kinds = tuple(map(arg_kind, args))
    if not kwargs:
        return (static, kinds, ())
    return (static, kinds, tuple((name, arg_kind(value)) for name, value in kwargs.items()))


_INT_BITS = (7, 8, 15, 16, 31, 32, 63, 64)  # value bits of SByte, Byte, Int16, ... UInt64
_SMALL, _SMALL_NEGATIVE = (False, 0), (True, 0)  # arg_kind of -128..127: fits SByte


# pythonnet's call shape, switched on once by ``pyclrbridge.compat`` and read on each
# resolution: a positional placeholder stands for an ``out`` parameter (Int32.TryParse("42", 0)).
# A plain bool written whole; the plan caches only ever gain entries from it.
_out_placeholders = False


def accept_out_placeholders(enabled: bool = True) -> None:
    """Let a positional argument stand for an ``out`` parameter (its value is ignored) when no
    overload applies without it: the pythonnet call shape, for ``pyclrbridge.compat``."""
    global _out_placeholders
    _out_placeholders = enabled


# pythonnet's error when every overload refuses an int only for its range (``IntPtr(2**64)``):
# OverflowError, not "no overload" (TypeError). A plain bool written whole by pyclrbridge.compat,
# read when a call fails.
_overflow_when_out_of_every_range = False


def overflow_when_out_of_every_range(enabled: bool = True) -> None:
    """Make a call that every overload refuses only for an int out of its range raise the
    OverflowError (pythonnet's rule, for ``pyclrbridge.compat``); natively that is a TypeError
    naming the candidates (one candidate alone still explains itself either way)."""
    global _overflow_when_out_of_every_range
    _overflow_when_out_of_every_range = enabled


def _fit(
    ov: Overload,
    declared: Overload,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    kw_slot: Mapping[str, int],
    placeholders: bool = False,
) -> Candidate | None:
    """``ov`` as a candidate for these arguments (positionally, by name, with defaults, in its
    normal or expanded params form), or None when it is not applicable. ``kw_slot``: each
    keyword's index among the arguments (after the positional ones). ``placeholders``: a
    positional argument in an ``out`` parameter's place is a placeholder, skipped."""
    inputs = ov.params
    sources: list[int | str | None] = []
    n = len(args) + len(kwargs)
    arg_types: list[int] = [0] * n
    declared_types: list[int] = [0] * n
    scores: list[int] = [0] * n
    pos = 0
    params_from = -1
    expanded = False
    defaults = omitted_out = 0

    def bind(slot: int, value: Any, type_id: int, declared_id: int) -> bool:
        s = score(value, type_id)
        if s is None:
            return False
        arg_types[slot], declared_types[slot], scores[slot] = type_id, declared_id, s
        return True

    for i, p in enumerate(inputs):
        d = declared.params[i].type_id
        if p.byref == 2:
            sources.append(None)
            if placeholders and pos < len(args) and p.name not in kwargs:
                # pythonnet converts a placeholder as the out parameter's type: None for an
                # out int is refused (TestValueOutParams("hi", None)), 0 or None for a string too.
                if score(args[pos], p.type_id) is None:
                    return None
                arg_types[pos], declared_types[pos] = p.type_id, d  # betterness reads every slot
                pos += 1
            else:
                omitted_out += 1
            continue
        # The params array: the last parameter, or followed only by ones given by name (an
        # indexer setter's value after a params index).
        last = i == len(inputs) - 1 or (p.is_params and all(q.name in kwargs for q in inputs[i + 1 :]))
        if p.name in kwargs:
            if not bind(kw_slot[p.name], kwargs[p.name], p.type_id, d):
                return None
            sources.append(p.name)
        elif pos < len(args):
            if p.is_params and last:
                rest = args[pos:]
                if len(rest) == 1 and bind(pos, rest[0], p.type_id, d):
                    sources.append(pos)
                    pos += 1
                    continue
                element, declared_element = _info(p.type_id).element, _info(d).element
                for k, a in enumerate(rest):
                    if not bind(pos + k, a, element, declared_element):
                        return None
                params_from = pos
                expanded = True
                sources.append(None)
                pos = len(args)
            else:
                if not bind(pos, args[pos], p.type_id, d):
                    return None
                sources.append(pos)
                pos += 1
        elif p.is_params and last:
            sources.append(None)
            expanded = not p.optional  # no arguments: only the expanded form (an empty array) applies
        elif p.optional:
            sources.append(None)
            defaults += 1
        else:
            return None
    if pos < len(args) or any(not arg_types[kw_slot[k]] for k in kwargs):  # a keyword no parameter has
        return None
    return Candidate(
        Plan(ov, tuple(sources), params_from),
        declared,
        tuple(arg_types),
        tuple(declared_types),
        expanded,
        defaults,
        omitted_out,
        tuple(scores),
    )


def _constructed(
    ov: Overload, args: tuple[Any, ...], kwargs: Mapping[str, Any], generic_args: tuple[int, ...]
) -> Overload | None:
    """A generic method made concrete from explicit or inferred type arguments (None: it
    cannot be, so it is not a candidate)."""
    if generic_args:
        if len(generic_args) != len(ov.generic_params):
            return None
        type_args = generic_args
    else:
        positional = [args[i] if i < len(args) else kwargs.get(p.name) for i, p in enumerate(ov.inputs)]
        bindings = _inference.infer(ov.inputs, positional, len(ov.generic_params))
        if bindings is None:
            return None
        type_args = tuple(bindings[i] for i in range(len(ov.generic_params)))
    try:
        return construct_generic_overload(ov, type_args)
    except TypeError:
        return None  # the arguments break a constraint (where T : ...): not a candidate


def _applicable(
    overloads: tuple[Overload, ...],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    generic_args: tuple[int, ...],
    placeholders: bool,
) -> list[Candidate]:
    found: list[Candidate] = []
    kw_slot = {k: len(args) + i for i, k in enumerate(kwargs)}
    seen: set[int] = set()
    for ov in overloads:
        if ov.id in seen:
            continue  # the same method twice (reached through two forwarding assemblies): one candidate
        seen.add(ov.id)
        candidate: Overload | None = ov
        if ov.generic_params:
            candidate = _constructed(ov, args, kwargs, generic_args)
        elif generic_args:
            candidate = None
        fitted = None if candidate is None else _fit(candidate, ov, args, kwargs, kw_slot, placeholders)
        if fitted is not None:
            found.append(fitted)
    return found


def choose(
    overloads: tuple[Overload, ...],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    describe: Callable[[], str],
    generic_args: tuple[int, ...] = (),
) -> Plan:
    """The best overload for these arguments by C#'s better-function-member rules
    (:mod:`.betterness`), or a TypeError listing the candidates (and, for a tie, the rule
    that could not separate them).

    Generic methods are first constructed (from ``generic_args`` or by inference).
    """
    applicable = _applicable(overloads, args, kwargs, generic_args, False)
    if not applicable and _out_placeholders:
        applicable = _applicable(overloads, args, kwargs, generic_args, True)
    if not applicable:
        raise _no_overload(overloads, args, kwargs, describe, generic_args)
    values = args + tuple(kwargs.values())  # in the order of each candidate's arg_types
    winner, tied = _betterness.best(_betterness.most_derived(applicable), values)
    if winner is not None:
        return winner.plan
    sigs = [c.declared.sig for c in tied]
    others = [o.sig for o in overloads if o.sig not in sigs]
    rest = ("\nother candidates:\n  " + "\n  ".join(others)) if others else ""
    rule = _betterness.separating_rule(tied[0], tied[1], values) if len(tied) > 1 else "no candidate beats every other"
    raise TypeError(
        f"the call {describe()}{_describe_args(args, kwargs)} is ambiguous between:\n  "
        + "\n  ".join(sigs)
        + rest
        + f"\nthe rule that could not separate them: {rule}"
        + "\nchoose one with .overloads[...]"
    )


def _no_overload(
    overloads: tuple[Overload, ...],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    describe: Callable[[], str],
    generic_args: tuple[int, ...],
) -> BaseException:
    explained = _explain_failure(overloads, args, kwargs)
    if explained is not None:
        return type(explained)(f"{describe()}{_describe_args(args, kwargs)}: {explained}")
    hint = ""
    if generic_args:  # say which constraint the explicit type arguments break
        broken: list[str] = []
        for o in overloads:
            if len(o.generic_params) == len(generic_args):
                try:
                    construct_generic_overload(o, generic_args)
                except TypeError as refused:
                    broken.append(str(refused))
        hint = "".join(f"\n{b}" for b in dict.fromkeys(broken))
    if not generic_args and any(o.generic_params for o in overloads):
        hint = (
            "\n(a generic method's type arguments may not follow from these arguments: "
            "give them explicitly, e.g. Method[int](...))"
        )
    return TypeError(
        f"no overload of {describe()} accepts {_describe_args(args, kwargs)}; "
        f"candidates:\n  " + "\n  ".join(o.sig for o in overloads) + hint
    )


def _explain_failure(
    overloads: tuple[Overload, ...], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> BaseException | None:
    """When exactly one candidate fails only on argument values a conversion rule can name
    (an int out of range, None for a value type, a long str for a Char), that rule's error."""
    found: list[BaseException] = []
    for ov in overloads:
        inputs = ov.inputs
        if ov.generic_params or any(p.is_params for p in inputs) or len(args) > len(inputs):
            continue
        if any(k not in {p.name for p in inputs} for k in kwargs):
            continue
        errors: list[BaseException] = []
        fits = True
        for i, p in enumerate(inputs):
            if p.name in kwargs:
                value = kwargs[p.name]
            elif i < len(args):
                value = args[i]
            else:
                fits = p.optional
                if not fits:
                    break
                continue
            if score(value, p.type_id) is not None:
                continue
            error = _convert.mismatch(value, p.type_id)
            if error is None:
                fits = False
                break
            errors.append(error)
        if fits and errors:
            found.append(errors[0])
    if len(found) > 1 and _overflow_when_out_of_every_range and all(isinstance(e, OverflowError) for e in found):
        return found[-1]  # (compat) the last candidate's range, as the overloads list them
    return found[0] if len(found) == 1 else None


def _describe_args(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    parts = [_arg_type_name(a) for a in args] + [f"{k}={_arg_type_name(v)}" for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _arg_type_name(a: Any) -> str:
    name = getattr(type(a), "__clr_name__", None)
    if isinstance(name, str):
        return name
    if type(a) in (list, tuple) and a:  # the item types overload scoring read: list[int | str]
        items = dict.fromkeys(_arg_type_name(item) for item in a[:16])
        return f"{type(a).__name__}[{' | '.join(items)}]"
    return type(a).__name__
