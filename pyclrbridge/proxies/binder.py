"""Overload resolution: choose the .NET overload a C# compiler would, from Python arguments.

Each candidate is scored per argument (lower is better: exact type < widening numeric <
user conversion < ``object``); the best total wins and a tie is an error listing every
candidate. The choice is cached per (argument kinds, keyword names), so the second call
with the same kinds does no resolution work.
"""

from __future__ import annotations

import array
import bisect
import datetime
import decimal
import itertools
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..host import typeinfo as _typeinfo
from ..host.errors import ClrError
from ..values import codecs as _codecs
from ..values import convert as _convert
from ..values.buffers import element_name
from ..values.targets import MAP_DEFS as _MAP_DEFS
from ..values.targets import SEQUENCE_DEFS as _SEQUENCE_DEFS
from . import inference as _inference
from .catalog import class_for
from .signatures import (
    Overload,
    Param,
    Plan,
    accepts_positional,
    callable_arity,
    construct_generic_overload,
)
from .signatures import generic_def_name as _generic_def_name
from .signatures import is_callable_arg as _is_callable_arg

# Read-only after import: no lock.
INT_RANGES: dict[str, tuple[int, int]] = {
    "SByte": (-(2**7), 2**7 - 1), "Byte": (0, 2**8 - 1),
    "Int16": (-(2**15), 2**15 - 1), "UInt16": (0, 2**16 - 1),
    "Int32": (-(2**31), 2**31 - 1), "UInt32": (0, 2**32 - 1),
    "Int64": (-(2**63), 2**63 - 1), "UInt64": (0, 2**64 - 1),
}
# C# prefers int, then long, then the other integer types, then floating point.
# Read-only after import: no lock.
_INT_RANK = {"Int32": 0, "Int64": 1, "UInt32": 2, "UInt64": 2, "Int16": 3, "UInt16": 3,
             "SByte": 4, "Byte": 4, "Single": 6, "Double": 5, "Decimal": 6}
_FLOAT_RANK = {"Double": 0, "Single": 1, "Decimal": 2}
OBJECT_SCORE = 10
# A Python bool where only an integer is wanted: C# never does it, so only when nothing else fits.
BOOL_AS_INTEGER_SCORE = OBJECT_SCORE + 1
NO = None


def _info(type_id: int) -> _typeinfo.TypeInfo:
    return _typeinfo.info(type_id)


USER_CONVERSION_SCORE = 6
# The .NET types a plain Python value may be before a user-defined implicit conversion
# (C# applies a standard conversion first: an int literal reaches op_Implicit(double)).
# Read-only after import: no lock.
_NATURAL_NAMES: dict[type, tuple[str, ...]] = {
    bool: ("System.Boolean",), int: ("System.Int32", "System.Int64"), float: ("System.Double",),
    str: ("System.String",), decimal.Decimal: ("System.Decimal",),
}


def score(arg: Any, type_id: int, bindings: dict[int, int] | None = None) -> int | None:
    """How well ``arg`` fits a parameter of type ``type_id`` (lower is better; None: not at all)."""
    if _codecs.encoders:
        arg = _codecs.encode_custom(arg)  # a user codec decides what the argument becomes
    found = _direct_score(arg, type_id, bindings)
    if found is None and type(arg) in _NATURAL_NAMES:
        return _user_conversion_score(arg, _info(type_id))
    return found


def _user_conversion_score(arg: Any, t: _typeinfo.TypeInfo) -> int | None:
    """A plain Python value reaching a .NET type through its ``op_Implicit``."""
    if t.kind not in ("class", "struct") or t.open:
        return None
    for name in _NATURAL_NAMES[type(arg)]:
        if name == "System.Int32" and not INT_RANGES["Int32"][0] <= arg <= INT_RANGES["Int32"][1]:
            continue
        natural = _typeinfo.id_by_name(name)
        if natural and _typeinfo.assignable(t.id, natural) == 2:
            return USER_CONVERSION_SCORE
    return None


def _direct_score(arg: Any, type_id: int, bindings: dict[int, int] | None) -> int | None:
    t = _info(type_id)
    if t.kind == "generic-param":
        bound = (bindings or {}).get(t.position) if t.method_param else None
        if bound is None:
            return 2  # inferred later from this very argument
        return score(arg, bound, bindings)
    code = t.type_code
    if t.nullable_of:
        if arg is None:
            return 0
        inner = score(arg, t.nullable_of, bindings)
        return None if inner is None else inner + 1
    if arg is None:
        return None if t.value_type else (1 if code == "Object" else 0)
    arg_type = type(arg)
    clr_id = getattr(arg_type, "__clr_type_id__", 0)
    if clr_id:
        if clr_id == type_id:
            return 0
        how = _typeinfo.assignable(type_id, clr_id)
        if how == 1:
            if code == "Object" and t.full_name == "System.Object":
                return OBJECT_SCORE
            return 3 if t.kind == "interface" else 2
        return USER_CONVERSION_SCORE if how == 2 else None
    if arg_type is bool:
        if code == "Boolean":
            return 0
        if t.full_name == "System.Object":
            return OBJECT_SCORE
        return BOOL_AS_INTEGER_SCORE if code in INT_RANGES else None
    if isinstance(arg, int) and not isinstance(arg, bool):
        if code in INT_RANGES:
            lo, hi = INT_RANGES[code]
            return _INT_RANK[code] if lo <= arg <= hi else None
        if code in ("Double", "Single", "Decimal"):
            return _INT_RANK[code]
        return OBJECT_SCORE if t.full_name == "System.Object" else None
    if isinstance(arg, float):
        if code in _FLOAT_RANK:
            return _FLOAT_RANK[code]
        return OBJECT_SCORE if t.full_name == "System.Object" else None
    if isinstance(arg, str):
        if code == "String":
            return 0
        if code == "Char" and len(arg) == 1:
            return 1
        if t.full_name == "System.Guid":
            return 8
        return OBJECT_SCORE if t.full_name == "System.Object" else None
    if isinstance(arg, decimal.Decimal):
        return {"Decimal": 0, "Double": 3, "Single": 4}.get(code, OBJECT_SCORE if code == "Object" else None)
    if isinstance(arg, datetime.datetime):
        return 0 if t.full_name == "System.DateTime" else (OBJECT_SCORE if t.full_name == "System.Object" else None)
    if isinstance(arg, datetime.timedelta):
        return 0 if t.full_name == "System.TimeSpan" else (OBJECT_SCORE if t.full_name == "System.Object" else None)
    if isinstance(arg, uuid.UUID):
        return 0 if t.full_name == "System.Guid" else (OBJECT_SCORE if t.full_name == "System.Object" else None)
    if isinstance(arg, type):
        if t.full_name in ("System.Type", "System.Object"):
            return 0 if t.full_name == "System.Type" else OBJECT_SCORE
        return None
    if isinstance(arg, (bytes, bytearray, memoryview)):
        if t.kind == "array" and _info(t.element).full_name == element_name(arg):
            return 0  # exactly the items of the buffer (bytes for byte[], memoryview('d') for double[])
        return _sequence_score(list(arg[:1]), t, bindings)
    if isinstance(arg, Mapping):
        if t.full_name in ("System.Object", "System.Collections.IDictionary") or (
            _generic_def_name(t) in _MAP_DEFS
        ):
            return 3 if t.full_name != "System.Object" else OBJECT_SCORE
        return None
    if isinstance(arg, (list, tuple, range, array.array)):
        return _sequence_score(arg, t, bindings)
    if isinstance(arg, (set, frozenset)):
        return _sequence_score(list(itertools.islice(arg, 16)), t, bindings)
    if t.kind == "delegate":
        return _delegate_score(arg, t)
    if t.full_name == "System.Object":
        return OBJECT_SCORE
    if isinstance(arg, Iterable) and not callable(arg):
        return _iterable_score(arg, t, bindings)
    return None


def _iterable_score(arg: Any, t: _typeinfo.TypeInfo, bindings: dict[int, int] | None) -> int | None:
    """Any other iterable (a generator, a deque...) for a sequence parameter: a re-iterable
    container is checked on its first items; a one-shot iterator cannot be peeked at, so it
    fits any sequence parameter and its items are checked when it is converted."""
    if iter(arg) is not arg:
        s = _sequence_score(list(itertools.islice(arg, 16)), t, bindings)
        return None if s is None else s + 1
    if t.kind == "array" or _generic_def_name(t) in _SEQUENCE_DEFS or t.full_name in (
        "System.Collections.IEnumerable", "System.Collections.IList", "System.Collections.ICollection",
        "System.Array",
    ):
        return 9
    return None


def _delegate_score(arg: Any, t: _typeinfo.TypeInfo) -> int | None:
    """A callable fits a delegate type when it accepts the delegate's input arguments."""
    if not _is_callable_arg(arg):
        return None
    if t.open:
        return 3
    invoke = getattr(class_for(t.id), "__clr_invoke__", None)
    if invoke is None:
        return 3
    n = sum(1 for p in invoke.params if p.byref != 2)
    return 3 if accepts_positional(callable_arity(arg), n) else None


def _sequence_score(items: Any, t: _typeinfo.TypeInfo, bindings: dict[int, int] | None) -> int | None:
    if t.kind == "array" and t.rank > 1:
        return _rectangular_score(items, t.element, t.rank, bindings)
    if t.kind == "array":
        element = t.element
    elif _generic_def_name(t) in _SEQUENCE_DEFS:
        element = t.generic_args[0]
    elif t.full_name in ("System.Collections.IEnumerable", "System.Collections.IList",
                         "System.Collections.ICollection", "System.Array"):
        return 5
    elif t.full_name == "System.Object":
        return OBJECT_SCORE
    else:
        return None
    worst = _worst_item_score(items, element, bindings)
    if worst is None:
        return None
    # Like C#'s better conversion target: T[] (or List<T>) beats IEnumerable<T>, which beats
    # the non-generic interfaces, so String.Join(",", ["a", "b"]) takes params String[].
    return 3 + (1 if t.kind == "interface" else 0) + min(worst, 5)


def _worst_item_score(items: Any, element: int, bindings: dict[int, int] | None) -> int | None:
    """The worst score of the first 16 items for an ``element`` parameter; None if one fails."""
    worst = 0
    for item in items[:16]:
        s = score(item, element, bindings)
        if s is None:
            return None
        worst = max(worst, s)
    return worst


def _rectangular_score(rows: Any, element: int, depth: int, bindings: dict[int, int] | None) -> int | None:
    """Nested sequences ``depth`` deep (rows of equal length) for a T[,] parameter."""
    if depth == 1:
        worst = _worst_item_score(rows, element, bindings)
        return None if worst is None else 3 + min(worst, 5)
    if not rows:
        return 3
    if not all(isinstance(r, (list, tuple, range)) and len(r) == len(rows[0]) for r in rows):
        return None
    return _rectangular_score(rows[0], element, depth - 1, bindings)


def arg_kind(arg: Any) -> Any:
    """The part of an argument's identity that decides overload choice (the cache key)."""
    t = type(arg)
    if t is int:
        if -128 <= arg < 128:  # the common case, same key as below without the bisect
            return _SMALL_NEGATIVE if arg < 0 else _SMALL
        # Which integer types hold it (not the value): 256 and 255 choose differently.
        return (arg < 0, bisect.bisect_left(_INT_BITS, (~arg if arg < 0 else arg).bit_length()))
    if t is str:
        return str if len(arg) != 1 else "char"
    if t in (list, tuple) and arg:
        return (t, arg_kind(arg[0]))
    if t in _FUNCTION_TYPES:
        return (t, callable_arity(arg))  # delegate overloads differ by arity
    if t is array.array:
        return (t, arg.typecode)  # array('i') and array('d') choose int[] and double[]
    if t is memoryview:
        return (t, arg.format)
    return t


_FUNCTION_TYPES: tuple[type, ...] = (type(len), type(lambda: 0), type(Param.from_json), type([].append))


_INT_BITS = (7, 8, 15, 16, 31, 32, 63, 64)  # value bits of SByte, Byte, Int16, ... UInt64
_SMALL, _SMALL_NEGATIVE = (False, 0), (True, 0)  # arg_kind of -128..127: fits SByte


def _plan_for(ov: Overload, args: tuple[Any, ...], kwargs: Mapping[str, Any],
              bindings: dict[int, int] | None) -> tuple[int, Plan] | None:
    inputs = ov.params
    sources: list[int | str | None] = []
    total = 0
    pos = 0
    params_from = -1
    for i, p in enumerate(inputs):
        if p.byref == 2:
            sources.append(None)
            continue
        last = i == len(inputs) - 1
        if p.name in kwargs:
            s = score(kwargs[p.name], p.type_id, bindings)
            if s is None:
                return None
            total += s
            sources.append(p.name)
        elif pos < len(args):
            if p.is_params and last:
                rest = args[pos:]
                if len(rest) == 1:
                    direct = score(rest[0], p.type_id, bindings)
                    if direct is not None:
                        total += direct
                        sources.append(pos)
                        pos += 1
                        continue
                element = _info(p.type_id).element
                for a in rest:
                    s = score(a, element, bindings)
                    if s is None:
                        return None
                    total += s + 1
                params_from = pos
                sources.append(None)
                pos = len(args)
            else:
                s = score(args[pos], p.type_id, bindings)
                if s is None:
                    return None
                total += s
                sources.append(pos)
                pos += 1
        elif p.optional or p.is_params:
            sources.append(None)
            total += 1
        else:
            return None
    if pos < len(args):
        return None
    known = {p.name for p in inputs}
    if any(k not in known for k in kwargs):
        return None
    return total, Plan(ov, tuple(sources), params_from)


def choose(
    overloads: tuple[Overload, ...],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    describe: Callable[[], str],
    generic_args: tuple[int, ...] = (),
) -> Plan:
    """The best overload for these arguments, or a TypeError listing every candidate.

    Generic methods are first constructed (from ``generic_args`` or by inference) and then
    scored like any other overload; on a tie C# prefers the non-generic candidate.
    """
    scored: list[tuple[int, bool, Plan]] = []
    for ov in overloads:
        candidate = ov
        if ov.generic_params:
            if generic_args:
                if len(generic_args) != len(ov.generic_params):
                    continue
                type_args = generic_args
            else:
                positional = [args[i] if i < len(args) else kwargs.get(p.name) for i, p in enumerate(ov.inputs)]
                bindings = _inference.infer(ov.inputs, positional, len(ov.generic_params))
                if bindings is None:
                    continue
                type_args = tuple(bindings[i] for i in range(len(ov.generic_params)))
            try:
                candidate = construct_generic_overload(ov, type_args)
            except ClrError:
                continue  # the arguments break a constraint (where T : ...): not a candidate
        elif generic_args:
            continue
        planned = _plan_for(candidate, args, kwargs, None)
        if planned is None:
            continue
        total, plan = planned
        scored.append((total, bool(ov.generic_params), plan))
    if not scored:
        explained = _explain_failure(overloads, args, kwargs)
        if explained is not None:
            raise type(explained)(f"{describe()}{_describe_args(args, kwargs)}: {explained}")
        hint = ""
        if not generic_args and any(o.generic_params for o in overloads):
            hint = ("\n(a generic method's type arguments may not follow from these arguments: "
                    "give them explicitly, e.g. Method[int](...))")
        raise TypeError(f"no overload of {describe()} accepts {_describe_args(args, kwargs)}; "
                        f"candidates:\n  " + "\n  ".join(o.sig for o in overloads) + hint)
    scored.sort(key=lambda item: (item[0], item[1]))
    best = scored[0][:2]
    if len(scored) > 1 and scored[1][:2] == best:
        tied = [p.overload.sig for s, g, p in scored if (s, g) == best]
        others = [o.sig for o in overloads if o.sig not in tied]
        rest = ("\nother candidates:\n  " + "\n  ".join(others)) if others else ""
        raise TypeError(f"the call {describe()}{_describe_args(args, kwargs)} is ambiguous between:\n  "
                        + "\n  ".join(tied) + rest + "\nchoose one with .overloads[...]")
    return scored[0][2]


def _explain_failure(overloads: tuple[Overload, ...], args: tuple[Any, ...],
                     kwargs: Mapping[str, Any]) -> BaseException | None:
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
    return found[0] if len(found) == 1 else None


def _describe_args(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    parts = [_arg_type_name(a) for a in args] + [f"{k}={_arg_type_name(v)}" for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _arg_type_name(a: Any) -> str:
    name = getattr(type(a), "__clr_name__", None)
    return name if isinstance(name, str) else type(a).__name__
