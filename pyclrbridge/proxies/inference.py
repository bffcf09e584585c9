"""Type arguments of generic methods, inferred from the Python arguments (C#'s type inference,
as far as Python values can say): ``Enumerable.Repeat("a", 3)`` is ``Repeat[String]``."""

from __future__ import annotations

from typing import Any

from ..host import typeinfo as _typeinfo
from ..host.typeinfo import info
from ..values.targets import SEQUENCE_DEFS as _SEQUENCE_DEFS
from ..values.targets import type_id_for
from .signatures import Param
from .signatures import generic_def_name as _generic_def_name
from .signatures import is_callable_arg as _is_callable_arg


def infer(params: tuple[Param, ...], args: list[Any], n_generic: int) -> dict[int, int] | None:
    """Method type arguments from argument types, when the arguments decide them unambiguously."""
    bindings: dict[int, int] = {}

    def unify(type_id: int, arg: Any) -> bool:
        t = info(type_id)
        if t.kind == "generic-param" and t.method_param:
            found = natural_type_id(arg)
            if found is None:
                return True  # says nothing (a lambda, None): another argument may decide
            prior = bindings.setdefault(t.position, found)
            return prior == found
        if t.open and isinstance(arg, (list, tuple)) and arg and (
            t.kind == "array" or _generic_def_name(t) in _SEQUENCE_DEFS
        ):
            element = t.element if t.kind == "array" else t.generic_args[0]
            return unify(element, arg[0])
        if t.open and t.generic_def_id and getattr(type(arg), "__clr_type_id__", 0):
            arg_info = info(type(arg).__clr_type_id__)
            for candidate in (arg_info.id, *arg_info.interfaces):
                c = info(candidate)
                if c.generic_def_id == t.generic_def_id:
                    return all(unify(p, TypeArg(a)) for p, a in zip(t.generic_args, c.generic_args, strict=True))
            return True
        if isinstance(arg, TypeArg) and t.kind == "generic-param" and t.method_param:
            return True
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
    if len(bindings) != n_generic:
        results_of_python_callables(params, args, bindings)
    if len(bindings) != n_generic:
        return None
    return bindings


def results_of_python_callables(params: tuple[Param, ...], args: list[Any], bindings: dict[int, int]) -> None:
    """A type parameter that only a Python callable's result decides (``TResult`` of
    ``Select(xs, lambda x: ...)``) cannot be read from the callable: it becomes System.Object."""
    for p, a in zip(params, args, strict=False):
        t = info(p.type_id)
        if t.kind != "delegate" or not t.invoke_return or not _is_callable_arg(a):
            continue
        r = info(t.invoke_return)
        if r.kind == "generic-param" and r.method_param and r.position not in bindings:
            bindings[r.position] = _typeinfo.id_by_name("System.Object")


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
    for py in (float, str):
        if isinstance(arg, py):
            return type_id_for(py)
    return None
