"""The better-function-member rules of the C# specification (12.6.4), applied to Python arguments.

Two applicable candidates are compared argument by argument (better conversion); when their
parameter types are the same for every argument, the tie-breakers decide, in C#'s order:
non-generic over generic, normal form over expanded ``params`` form, no default filled in
over defaults filled in, then (pyclrbridge's own, since Python never passes ``out``
arguments) no omitted ``out`` over omitted ``out``, then the more specific declared
parameter types. The best candidate is the one better than every other; when there is none,
:func:`separating_rule` says which rule could not separate the tied ones.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from ..host import typeinfo as _typeinfo
from ..host.typeinfo import info
from ..values.targets import PYTHON_TYPE_NAMES, type_id_for
from ..values.targets import SEQUENCE_DEFS as _SEQUENCE_DEFS
from .scoring import score
from .signatures import Overload, Plan, result_hint
from .signatures import generic_def_name as _generic_def_name
from .signatures import is_callable_arg as _is_callable_arg


@dataclass(frozen=True)
class Candidate:
    """An applicable overload with what the rules compare: per argument (positionals, then
    keywords in call order) the parameter type it binds to, concrete and as declared."""

    plan: Plan
    declared: Overload  # before generic construction: the "more specific" rule reads this
    arg_types: tuple[int, ...]
    declared_types: tuple[int, ...]
    expanded: bool  # applicable only in its expanded params form
    defaults: int  # optional parameters filled by their default
    omitted_out: int  # out parameters the call leaves to be returned
    scores: tuple[int, ...] = ()  # per argument, how well it converts (scoring.score)

    @property
    def generic(self) -> bool:
        return bool(self.declared.generic_params)


# The implicit numeric conversions of C# (10.2.3), by type code. Read-only after import.
_NUMERIC: dict[str, frozenset[str]] = {
    "SByte": frozenset({"Int16", "Int32", "Int64", "Single", "Double", "Decimal"}),
    "Byte": frozenset({"Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Single", "Double", "Decimal"}),
    "Int16": frozenset({"Int32", "Int64", "Single", "Double", "Decimal"}),
    "UInt16": frozenset({"Int32", "UInt32", "Int64", "UInt64", "Single", "Double", "Decimal"}),
    "Int32": frozenset({"Int64", "Single", "Double", "Decimal"}),
    "UInt32": frozenset({"Int64", "UInt64", "Single", "Double", "Decimal"}),
    "Int64": frozenset({"Single", "Double", "Decimal"}),
    "UInt64": frozenset({"Single", "Double", "Decimal"}),
    "Char": frozenset({"UInt16", "Int32", "UInt32", "Int64", "UInt64", "Single", "Double", "Decimal"}),
    "Single": frozenset({"Double"}),
}
_NUMERIC_CODES = frozenset(_NUMERIC) | {"Double", "Decimal"}
# C#'s better conversion target also prefers a signed integer type over the unsigned ones.
_SIGNED_OVER: dict[str, frozenset[str]] = {
    "SByte": frozenset({"Byte", "UInt16", "UInt32", "UInt64"}),
    "Int16": frozenset({"UInt16", "UInt32", "UInt64"}),
    "Int32": frozenset({"UInt32", "UInt64"}),
    "Int64": frozenset({"UInt64"}),
}


def _numeric_code(t: _typeinfo.TypeInfo) -> str:
    """The type code of a built-in numeric type (not an enum), else ""."""
    if t.kind != "struct" or t.namespace != "System":
        return ""
    return t.type_code if t.type_code in _NUMERIC_CODES else ""


def implicit(from_id: int, to_id: int) -> bool:
    """Whether C# converts a ``from_id`` value to ``to_id`` implicitly (identity, numeric,
    nullable, reference or boxing; user-defined operators are left out, as the rule does)."""
    if from_id == to_id:
        return True
    f, t = info(from_id), info(to_id)
    fc, tc = _numeric_code(f), _numeric_code(t)
    if fc and tc:
        return tc in _NUMERIC.get(fc, frozenset())
    if t.nullable_of:
        inner = f.nullable_of or from_id
        return implicit(inner, t.nullable_of)
    if f.kind == "generic-param" or t.kind == "generic-param" or f.nullable_of:
        return False
    return _typeinfo.assignable(to_id, from_id) == 1


def better_target(p: int, q: int) -> int:
    """C#'s better conversion target: +1 when ``p`` is, -1 when ``q`` is, 0 when neither."""
    if p == q:
        return 0
    pq, qp = implicit(p, q), implicit(q, p)
    if pq and not qp:
        return 1
    if qp and not pq:
        return -1
    pc, qc = info(p).type_code, info(q).type_code
    if qc in _SIGNED_OVER.get(pc, frozenset()):
        return 1
    if pc in _SIGNED_OVER.get(qc, frozenset()):
        return -1
    return 0


def _element(type_id: int) -> int:
    t = info(type_id)
    if t.kind == "array" and t.rank == 1:
        return t.element
    if _generic_def_name(t) in _SEQUENCE_DEFS:
        return t.generic_args[0]
    return 0


def _items(arg: Any) -> list[Any] | None:
    if isinstance(arg, (list, tuple, range)):
        return list(arg[:16])
    if isinstance(arg, (set, frozenset)):
        return list(itertools.islice(arg, 16))
    return None


# Where a Python list, tuple or range goes among collection parameters that all accept it
# (C# has no such rule: its argument already is one collection type). Every one of them
# would receive a new collection with the same items, so the most concrete wins: an array
# (also the params form), then List<T>, then the interfaces from the most to the least
# specific; a set type (which would drop duplicates) and the non-generic interfaces last.
# Read-only after import.
_COLLECTION_RANK = {
    "System.Collections.Generic.List`1": 1,
    "System.Collections.Generic.IList`1": 2,
    "System.Collections.Generic.IReadOnlyList`1": 3,
    "System.Collections.Generic.ICollection`1": 4,
    "System.Collections.Generic.IReadOnlyCollection`1": 5,
    "System.Collections.Generic.IEnumerable`1": 6,
    "System.Collections.Generic.HashSet`1": 7,
    "System.Collections.Generic.ISet`1": 8,
    "System.Collections.IList": 9,
    "System.Collections.ICollection": 10,
    "System.Collections.IEnumerable": 11,
}


def collection_rank(type_id: int) -> int | None:
    """The place of a collection parameter type for a Python list or tuple argument (lower is
    better; None: not one of those collection types)."""
    t = info(type_id)
    if t.kind == "array":
        return 0 if t.rank == 1 else None
    return _COLLECTION_RANK.get(_generic_def_name(t))


_AWAITABLES = frozenset(
    {
        "System.Threading.Tasks.Task",
        "System.Threading.Tasks.Task`1",
        "System.Threading.Tasks.ValueTask",
        "System.Threading.Tasks.ValueTask`1",
    }
)


def _hint_type_id(hint: type) -> int:
    """The .NET type a return annotation names (0: none, e.g. a plain Python class)."""
    if hint.__dict__.get("__clr_type_id__") or hint in PYTHON_TYPE_NAMES:
        return type_id_for(hint)
    return 0


def callable_rank(fn: Any, declared: int, concrete: int) -> int:
    """How well a Python callable fits a delegate type, whose body C# would read and Python
    cannot (lower is better). With a return annotation naming a .NET type (or int, str...),
    a delegate whose result that type converts to: -1. Otherwise 0 a ``Func`` whose result is
    a type parameter nothing else fixed (it became ``object``: any result fits), 1 a ``Func``
    with a fixed result type, 2 one whose result is a Task (a plain Python function does not
    return one), 3 an ``Action`` (a Python function always returns something)."""
    returns = info(concrete).invoke_return
    hint = result_hint(fn)
    hint_id = _hint_type_id(hint) if hint is not None else 0
    if hint_id and returns and implicit(hint_id, returns):
        return -1
    if not returns:
        return 3
    d = info(declared)
    declared_return = info(d.invoke_return) if d.kind == "delegate" and d.invoke_return else None
    if (
        declared_return is not None
        and declared_return.kind == "generic-param"
        and info(returns).full_name == "System.Object"
    ):
        return 0
    return 2 if _generic_def_name(info(returns)) in _AWAITABLES else 1


def compare_arg(arg: Any, p: int, q: int, dp: int, dq: int, sp: int | None = None, sq: int | None = None) -> int:
    """Better conversion of one argument to ``p`` or ``q`` (declared as ``dp``/``dq``; ``sp``,
    ``sq``: its scores for them, when known): +1 ``p`` is better, -1 ``q`` is, 0 neither."""
    if p == q:
        return 0
    tp, tq = info(p), info(q)
    if tp.kind == "delegate" and tq.kind == "delegate" and _is_callable_arg(arg):
        rp, rq = callable_rank(arg, dp, p), callable_rank(arg, dq, q)
        if rp != rq:
            return 1 if rp < rq else -1
        if rp in (-1, 1, 2):
            return better_target(tp.invoke_return, tq.invoke_return)
        return 0
    items = _items(arg)
    if items:
        ep, eq = _element(p), _element(q)
        if ep and eq and ep != eq:
            return _dominates([compare_arg(item, ep, eq, ep, eq) for item in items])
    if type(arg) in (list, tuple, range):
        cp, cq = collection_rank(p), collection_rank(q)
        if cp != cq and cp is not None and cq is not None:
            return 1 if cp < cq else -1
    if sp is None or sq is None:
        sp, sq = score(arg, p), score(arg, q)
    if sp is not None and sq is not None and sp != sq:
        return 1 if sp < sq else -1
    return better_target(p, q)


def _dominates(outcomes: list[int]) -> int:
    """+1 when no outcome favours q and one favours p; -1 the other way round; else 0."""
    if any(o > 0 for o in outcomes) and not any(o < 0 for o in outcomes):
        return 1
    if any(o < 0 for o in outcomes) and not any(o > 0 for o in outcomes):
        return -1
    return 0


def more_specific(a: int, b: int) -> int:
    """C#'s more specific parameter type (declared types): a type parameter is less specific
    than anything else; constructed types and arrays compare their arguments."""
    if a == b:
        return 0
    ta, tb = info(a), info(b)
    a_param, b_param = ta.kind == "generic-param", tb.kind == "generic-param"
    if a_param or b_param:
        return 0 if a_param and b_param else (-1 if a_param else 1)
    if ta.kind == "array" and tb.kind == "array" and ta.rank == tb.rank:
        return more_specific(ta.element, tb.element)
    if ta.generic_def_id and ta.generic_def_id == tb.generic_def_id:
        return _dominates([more_specific(x, y) for x, y in zip(ta.generic_args, tb.generic_args, strict=True)])
    return 0


def _tie_break(p: Candidate, q: Candidate) -> int:
    """The tie-breakers, for candidates whose parameter types are the same for every argument."""
    rules = (
        (not p.generic) - (not q.generic),  # non-generic over generic
        q.expanded - p.expanded,  # normal form over expanded params form
        (q.defaults > 0) - (p.defaults > 0),  # every parameter given over defaults filled in
        (q.omitted_out > 0) - (p.omitted_out > 0),  # no omitted out over omitted out
        _dominates([more_specific(a, b) for a, b in zip(p.declared_types, q.declared_types, strict=True)]),
    )
    return next((r for r in rules if r), 0)


class _Comparison:
    """One resolution's comparisons, memoized per (argument, parameter types): candidates
    share parameter types, so each argument's conversions are compared once."""

    __slots__ = ("args", "memo")

    def __init__(self, args: tuple[Any, ...]) -> None:
        self.args = args
        self.memo: dict[tuple[int, int, int, int, int], int] = {}  # local to one call: no lock

    def outcomes(self, p: Candidate, q: Candidate) -> list[int]:
        found = []
        memo = self.memo
        for i, (pt, qt, dp, dq) in enumerate(
            zip(p.arg_types, q.arg_types, p.declared_types, q.declared_types, strict=True)
        ):
            key = (i, pt, qt, dp, dq)
            o = memo.get(key)
            if o is None:
                o = memo[key] = compare_arg(self.args[i], pt, qt, dp, dq, p.scores[i], q.scores[i])
            found.append(o)
        return found

    def compare(self, p: Candidate, q: Candidate) -> int:
        """+1 when ``p`` is the better function member, -1 when ``q`` is, 0 when neither."""
        if p.arg_types == q.arg_types:
            return _tie_break(p, q)
        return _dominates(self.outcomes(p, q))


def compare(p: Candidate, q: Candidate, args: tuple[Any, ...]) -> int:
    """+1 when ``p`` is the better function member, -1 when ``q`` is, 0 when neither."""
    return _Comparison(args).compare(p, q)


def most_derived(candidates: list[Candidate]) -> list[Candidate]:
    """C# keeps only the applicable methods of the most derived declaring types: a method
    declared in a base type of another candidate's declaring type is dropped (so
    ``Task<int>.ContinueWith(f)`` takes the ``Task<int>`` overloads, not ``Task``'s)."""
    declaring = {c.declared.declaring for c in candidates}
    if len(declaring) < 2 or 0 in declaring:
        return candidates
    hidden = {
        d
        for d in declaring
        for other in declaring
        if other != d and info(d).kind == "class" and _typeinfo.assignable(d, other) == 1
    }
    if any(info(d).kind == "class" and info(d).full_name != "System.Object" for d in declaring):
        hidden |= {d for d in declaring if info(d).kind == "interface"}
    kept = [c for c in candidates if c.declared.declaring not in hidden]
    return kept or candidates


def best(candidates: list[Candidate], args: tuple[Any, ...]) -> tuple[Candidate | None, list[Candidate]]:
    """The candidate better than every other, or None and the ones no other beats.

    A first pass keeps whichever of each pair is better (a best candidate, if there is one,
    survives it); a second checks the survivor beats every other. Only an ambiguous call pays
    for comparing every pair.
    """
    if len(candidates) == 1:
        return candidates[0], candidates
    cmp = _Comparison(args)
    champion = candidates[0]
    for c in candidates[1:]:
        if cmp.compare(c, champion) > 0:
            champion = c
    if all(cmp.compare(champion, o) > 0 for o in candidates if o is not champion):
        return champion, [champion]
    beaten = [False] * len(candidates)
    for i, j in itertools.combinations(range(len(candidates)), 2):
        outcome = cmp.compare(candidates[i], candidates[j])
        if outcome > 0:
            beaten[j] = True
        elif outcome < 0:
            beaten[i] = True
    unbeaten = [c for c, b in zip(candidates, beaten, strict=True) if not b]
    return None, unbeaten or candidates


def separating_rule(p: Candidate, q: Candidate, args: tuple[Any, ...]) -> str:
    """Why ``p`` and ``q`` stay tied, naming the rule that could not separate them."""
    if p.arg_types == q.arg_types:
        return (
            "their parameter types are the same for these arguments, and no tie-breaker separates "
            "them (non-generic over generic, normal over expanded params, no defaults filled in, "
            "no omitted out, more specific parameter types)"
        )
    outcomes = [
        compare_arg(a, pt, qt, dp, dq)
        for a, pt, qt, dp, dq in zip(args, p.arg_types, q.arg_types, p.declared_types, q.declared_types, strict=True)
    ]
    if any(o > 0 for o in outcomes) and any(o < 0 for o in outcomes):
        return "better conversion: each is better for a different argument"
    for a, pt, qt, o in zip(args, p.arg_types, q.arg_types, outcomes, strict=True):
        if pt != qt and o == 0 and _is_callable_arg(a) and info(pt).kind == "delegate":
            return (
                "better conversion: a Python callable's result type cannot be seen (C# reads it from "
                "the lambda body); wrap the callable in the delegate you mean, e.g. Func[...](f), "
                "or pick with .overloads[...]"
            )
    return "better conversion: no argument converts better to one parameter type than to the other"
