"""How well one Python argument fits one .NET parameter type: the conversion scores the binder
compares (lower is better: exact type < widening numeric < user conversion < ``object``;
None: the argument does not convert at all)."""

from __future__ import annotations

import array
import datetime
import decimal
import itertools
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ..host import typeinfo as _typeinfo
from ..values import codecs as _codecs
from ..values.buffers import element_name
from ..values.convert import adapts_delegate_callables
from ..values.scalars import int_fits_char
from ..values.targets import INTEGER_RANGES, _element_of, pair_types, span_of
from ..values.targets import MAP_DEFS as _MAP_DEFS
from ..values.targets import SEQUENCE_DEFS as _SEQUENCE_DEFS
from .catalog import class_for
from .signatures import accepts_positional, callable_arity
from .signatures import generic_def_name as _generic_def_name
from .signatures import is_callable_arg as _is_callable_arg

#: Windows over a byte[] that a bytes-like buffer passes as (a byte[] made from it, wrapped):
#: a writable buffer sees .NET's writes as for a byte[] (Socket.ReceiveAsync(Memory<byte>)).
_BYTE_WINDOWS = frozenset({"System.Memory`1", "System.ReadOnlyMemory`1", "System.ArraySegment`1"})

INT_RANGES = INTEGER_RANGES  # the range of every .NET integer type, by type code
# C# prefers int, then long, then the other integer types, then floating point.
# Read-only after import: no lock.
_INT_RANK = {
    "Int32": 0,
    "Int64": 1,
    "UInt32": 2,
    "UInt64": 2,
    "Int16": 3,
    "UInt16": 3,
    "SByte": 4,
    "Byte": 4,
    "Single": 6,
    "Double": 5,
    "Decimal": 6,
}
# An int as a Char's code point (pythonnet's rule, only under compat): after every number type.
_INT_AS_CHAR_SCORE = 7
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
    bool: ("System.Boolean",),
    int: ("System.Int32", "System.Int64"),
    float: ("System.Double",),
    str: ("System.String",),
    decimal.Decimal: ("System.Decimal",),
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
        if code == "Char" and int_fits_char(arg):
            return _INT_AS_CHAR_SCORE
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
        # Not ``code == "Object"``: every class but String has that type code (System.Type too).
        fallback = OBJECT_SCORE if t.full_name == "System.Object" else None
        return {"Decimal": 0, "Double": 3, "Single": 4}.get(code, fallback)
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
    if isinstance(arg, (bytes, bytearray, memoryview, array.array)) and (span := span_of(t)) is not None:
        # a T[] made from the buffer, viewed by the span; after an exact T[] (C# prefers the array)
        if _info(_info(span[0]).element).full_name != element_name(arg):
            return None
        return None if span[1] and memoryview(arg).readonly else 1
    if isinstance(arg, (bytes, bytearray, memoryview)):
        if t.kind == "array" and _info(t.element).full_name == element_name(arg):
            return 0  # exactly the items of the buffer (bytes for byte[], memoryview('d') for double[])
        if (
            _generic_def_name(t) in _BYTE_WINDOWS
            and element_name(arg) == "System.Byte"
            and _info(t.generic_args[0]).full_name == "System.Byte"
        ):
            # a window over a byte[] made from the buffer (written back too); Memory before ArraySegment
            return 2 if _generic_def_name(t) == "System.ArraySegment`1" else 1
        return _sequence_score(list(arg[:1]), t, bindings)
    if isinstance(arg, Mapping):
        if t.full_name in ("System.Object", "System.Collections.IDictionary") or (_generic_def_name(t) in _MAP_DEFS):
            return 3 if t.full_name != "System.Object" else OBJECT_SCORE
        # its items as KeyValuePair<K, V>s (AddInMemoryCollection); a dictionary type fits better
        return 4 if pair_types(t) is not None else None
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
    if (
        t.kind == "array"
        or _generic_def_name(t) in _SEQUENCE_DEFS
        or t.full_name
        in (
            "System.Collections.IEnumerable",
            "System.Collections.IList",
            "System.Collections.ICollection",
            "System.Array",
        )
    ):
        # Its items are unknown: a sequence of anything (object, T) fits surely, one of a
        # particular type (String[]) only if every item turns out to be one.
        return 10 if _particular_element(t) else 9
    return None


def _particular_element(t: _typeinfo.TypeInfo) -> bool:
    element = _element_of(t)
    if not element:
        return False
    e = _info(element)
    return e.full_name != "System.Object" and e.kind != "generic-param"


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
    shape = callable_arity(arg)
    if accepts_positional(shape, n):
        return 3
    if n < len(invoke.params) and adapts_delegate_callables() and accepts_positional(shape, len(invoke.params)):
        return 4  # pythonnet's convention: a placeholder argument for each out parameter (compat)
    return None


def _sequence_score(items: Any, t: _typeinfo.TypeInfo, bindings: dict[int, int] | None) -> int | None:
    if t.kind == "array" and t.rank > 1:
        return _rectangular_score(items, t.element, t.rank, bindings)
    if t.kind == "array":
        element = t.element
    elif _generic_def_name(t) in _SEQUENCE_DEFS:
        element = t.generic_args[0]
    elif t.full_name in (
        "System.Collections.IEnumerable",
        "System.Collections.IList",
        "System.Collections.ICollection",
        "System.Array",
    ):
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
