"""Type arguments of generic methods, inferred from the Python arguments (C#'s type inference,
as far as Python values can say): ``Enumerable.Repeat("a", 3)`` is ``Repeat[String]``.

As in C#, inference follows the parameter types structurally (``IEnumerable<IEnumerable<T>>``
against a list of lists, ``IEnumerable<KeyValuePair<K, V>>`` against a ``Dictionary<K, V>``
through its interfaces and base classes). What C# reads from a lambda body Python cannot
see: a type parameter only a Python callable's result decides comes from its return
annotation (``def f(x) -> str``), else becomes ``object``. A type
parameter that only a Python list, dict, None or other Python object meets, with nothing else
fixing it, becomes ``List<object>``, ``Dictionary<object, object>`` or ``object``.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterator
from typing import Any

from ..host import typeinfo as _typeinfo
from ..host.typeinfo import info
from ..values.targets import PYTHON_TYPE_NAMES, type_id_for
from ..values.targets import SEQUENCE_DEFS as _SEQUENCE_DEFS
from .signatures import Param, result_hint
from .signatures import generic_def_name as _generic_def_name
from .signatures import is_callable_arg as _is_callable_arg


def infer(params: tuple[Param, ...], args: list[Any], n_generic: int) -> dict[int, int] | None:
    """Method type arguments from argument types, when the arguments decide them unambiguously."""
    bindings: dict[int, int] = {}
    fallbacks: dict[int, int] = {}  # position -> the type a list/dict/None alone suggests

    def unify(type_id: int, arg: Any) -> bool:
        t = info(type_id)
        if t.kind == "generic-param" and t.method_param:
            found = natural_type_id(arg)
            if found is None:
                loose = _unconstrained_type_id(arg)
                if loose:
                    fallbacks.setdefault(t.position, loose)
                return True  # says nothing (a lambda): another argument may decide
            prior = bindings.setdefault(t.position, found)
            return prior == found
        if not t.open:
            return True
        if isinstance(arg, (list, tuple)) and arg and (t.kind == "array" or _generic_def_name(t) in _SEQUENCE_DEFS):
            element = t.element if t.kind == "array" else t.generic_args[0]
            return unify(element, arg[0])
        arg_id = arg.type_id if isinstance(arg, TypeArg) else getattr(type(arg), "__clr_type_id__", 0)
        if t.generic_def_id and arg_id:
            for candidate in _supertypes(arg_id):
                c = info(candidate)
                if c.generic_def_id == t.generic_def_id:
                    return all(unify(p, TypeArg(a)) for p, a in zip(t.generic_args, c.generic_args, strict=True))
            return True
        if t.kind == "array" and arg_id and info(arg_id).kind == "array":
            return unify(t.element, TypeArg(info(arg_id).element))
        return True

    for i, (p, a) in enumerate(zip(params, args, strict=False)):
        t = info(p.type_id)
        if p.is_params and t.kind == "array" and not isinstance(a, (list, tuple)):
            # Loose arguments of a params T[]: each one says something about T.
            if not all(unify(t.element, loose) for loose in args[i:]):
                return None
            break
        if not unify(p.type_id, a):
            return None
    # What C# reads from a lambda body, a return annotation says: ``def f(x) -> str`` makes
    # Func<T, TResult>'s TResult String (``-> List[int]`` gives IEnumerable<TResult> Int32).
    for p, a in zip(params, args, strict=False):
        t = info(p.type_id)
        if t.kind == "delegate" and t.invoke_return and _is_callable_arg(a):
            hint = _hint_type_id(a)
            if hint and not unify(t.invoke_return, TypeArg(hint)):
                return None
    for position, loose in fallbacks.items():
        bindings.setdefault(position, loose)
    if len(bindings) != n_generic:
        results_of_python_callables(params, args, bindings)
    if len(bindings) != n_generic:
        return None
    return bindings


def _supertypes(type_id: int) -> Iterator[int]:
    """The type, its base classes and its interfaces."""
    t = info(type_id)
    yield type_id
    yield from t.interfaces
    base = t.base
    while base:
        yield base
        base = info(base).base


def _method_params_in(type_id: int) -> Iterator[int]:
    """Positions of the generic method parameters a type mentions (``TResult`` of
    ``IEnumerable<TResult>``)."""
    t = info(type_id)
    if t.kind == "generic-param":
        if t.method_param:
            yield t.position
        return
    if not t.open:
        return
    if t.element:
        yield from _method_params_in(t.element)
    for a in t.generic_args:
        yield from _method_params_in(a)


def results_of_python_callables(params: tuple[Param, ...], args: list[Any], bindings: dict[int, int]) -> None:
    """A type parameter that only a Python callable's result decides (``TResult`` of
    ``Select(xs, lambda x: ...)``, of ``SelectMany``'s ``IEnumerable<TResult>``) cannot be
    read from the callable: it becomes System.Object."""
    for p, a in zip(params, args, strict=False):
        t = info(p.type_id)
        if t.kind != "delegate" or not t.invoke_return or not _is_callable_arg(a):
            continue
        for position in _method_params_in(t.invoke_return):
            bindings.setdefault(position, _typeinfo.id_by_name("System.Object"))


def _hint_type_id(fn: Any) -> int:
    """The .NET type a Python callable's return annotation names (0: none, or not a .NET type)."""
    hint = result_hint(fn)
    if hint is None or not (hint.__dict__.get("__clr_type_id__") or hint in PYTHON_TYPE_NAMES):
        return 0
    return type_id_for(hint)


class TypeArg:
    """A .NET type standing in for an argument during inference."""

    __slots__ = ("type_id",)

    def __init__(self, type_id: int) -> None:
        self.type_id = type_id


def natural_type_id(arg: Any) -> int | None:
    """The .NET type a Python value most naturally is, for generic inference."""
    if isinstance(arg, TypeArg):
        return arg.type_id
    tid = getattr(type(arg), "__clr_type_id__", 0)
    if tid:
        return int(tid)
    if isinstance(arg, bool):
        return type_id_for(bool)
    if isinstance(arg, int):
        return type_id_for(int) if -(2**31) <= arg < 2**31 else _typeinfo.id_by_name("System.Int64")
    for py in _NATURAL:
        if isinstance(arg, py):
            return type_id_for(py)  # what the argument converts to: decimal.Decimal is System.Decimal
    return None


# Python value types with one .NET type each (the conversion table's), in isinstance order.
_NATURAL = (float, str, decimal.Decimal, datetime.datetime, datetime.timedelta, uuid.UUID)


def _unconstrained_type_id(arg: Any) -> int:
    """What a bare ``T`` becomes from a Python value without a .NET type of its own when
    nothing else fixes it: a list ``List<object>``, a dict ``Dictionary<object, object>``,
    None or any other Python object ``object`` (it crosses as a Python object, as it would
    for an ``object`` parameter: ``cache.Set("k", session)``)."""
    if isinstance(arg, (list, tuple)):
        return _typeinfo.id_by_name("System.Collections.Generic.List`1[System.Object]")
    if isinstance(arg, dict):
        return _typeinfo.id_by_name("System.Collections.Generic.Dictionary`2[System.Object,System.Object]")
    if _is_callable_arg(arg):
        return 0  # a lambda says nothing about T (C# infers nothing from it either)
    return _typeinfo.id_by_name("System.Object")
