"""What a .NET method looks like to the binder (parameters, overloads, call plans), what a
Python callable accepts, and generic methods made concrete."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import inspect
from dataclasses import dataclass
from typing import Any

from ..host import typeinfo as _typeinfo


@dataclass(frozen=True)
class Param:
    name: str
    type_id: int
    byref: int  # 0 in, 1 ref, 2 out
    optional: bool
    default: str | None
    is_params: bool

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Param:
        return cls(d["name"], d["type"], d["byref"], d["optional"], d.get("default"), d["params"])


@dataclass(frozen=True)
class Overload:
    id: int
    name: str
    static: bool
    sig: str
    params: tuple[Param, ...]
    ret: int
    generic_params: tuple[str, ...]
    declaring: int = 0  # the type that declares it (0: not told)
    extension: bool = False  # a C# extension method: its first parameter is the receiver

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Overload:
        return cls(
            d["id"],
            d["name"],
            d["static"],
            d["sig"],
            tuple(Param.from_json(p) for p in d["params"]),
            d.get("ret", 0),
            tuple(d["genericParams"]),
            d.get("declaring", 0),
            d.get("extension", False),
        )

    @functools.cached_property
    def byref_count(self) -> int:  # read on every call: computed once
        return sum(1 for p in self.params if p.byref)

    @functools.cached_property
    def returns_interface(self) -> bool:  # read on every call of the general path: computed once
        """Declared to return an interface (C# binds the result's extensions by it)."""
        return bool(self.ret) and _typeinfo.info(self.ret).kind == "interface"

    @property
    def inputs(self) -> tuple[Param, ...]:
        """Parameters the caller passes: every one but ``out``."""
        return tuple(p for p in self.params if p.byref != 2)


#: How a chosen overload takes its arguments: for each parameter, an index into the
#: positional arguments, a keyword name, ``None`` (omitted: use the default / an out slot),
#: or a slice start for a ``params`` array built from the remaining positionals.
@dataclass(frozen=True)
class Plan:
    overload: Overload
    sources: tuple[int | str | None, ...]
    params_from: int  # -1, or the first positional that goes into the params array


def generic_def_name(t: _typeinfo.TypeInfo) -> str:
    """The full name of a type's generic definition (its own name when it is not generic)."""
    if t.generic_def_id:
        return _typeinfo.info(t.generic_def_id).full_name
    return t.full_name


def is_callable_arg(arg: Any) -> bool:
    """A Python callable (not a class, not a .NET delegate proxy): a candidate for a delegate parameter."""
    return callable(arg) and not isinstance(arg, type) and getattr(type(arg), "__clr_type_id__", 0) == 0


def callable_arity(fn: Any) -> tuple[int, int] | None:
    """(fewest, most) positional arguments ``fn`` accepts (most is -1 for ``*args``), or None
    when it cannot be told (some builtins)."""
    code = getattr(fn, "__code__", None)
    if code is not None and not isinstance(fn, type):
        bound = 1 if getattr(fn, "__self__", None) is not None else 0
        most = code.co_argcount - bound
        defaults = getattr(fn, "__defaults__", None) or ()
        fewest = max(most - len(defaults), 0)
        return fewest, (-1 if code.co_flags & inspect.CO_VARARGS else most)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    fewest = most = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            most = -1
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            if most >= 0:
                most += 1
            if p.default is p.empty:
                fewest += 1
    return fewest, most


def result_hint(fn: Any) -> Any:
    """The class a Python function's return annotation names (``def f(o) -> IDisposable``), or
    None: what stands in for the lambda body C# reads when delegate overloads differ only in
    their result type. A string annotation (``from __future__ import annotations``) is looked
    up in the function's module globals."""
    annotations = getattr(fn, "__annotations__", None)
    hint = annotations.get("return") if isinstance(annotations, dict) else None
    if isinstance(hint, str):
        namespace = getattr(fn, "__globals__", None)
        key = (id(namespace), hint)
        found = _string_hints.get(key, _MISSING)
        if found is _MISSING:
            found = _string_hints.setdefault(key, _resolve_hint(hint, namespace))
        hint = found
    return hint if isinstance(hint, type) else None


# (id of a module's globals, annotation text) -> what it names: a pure memo of lookups.
_string_hints: dict[tuple[int, str], Any] = {}
_MISSING = object()


def _resolve_hint(text: str, namespace: Any) -> Any:
    """A dotted name in ``namespace`` or the builtins, or a .NET generic type of such names
    (``List[int]``, ``Task[System.String]``): nothing else is evaluated."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    return _resolve_node(tree, namespace)


def _resolve_node(node: ast.expr, namespace: Any) -> Any:
    if isinstance(node, ast.Name):
        found = namespace.get(node.id) if isinstance(namespace, dict) else None
        return getattr(builtins, node.id, None) if found is None else found
    if isinstance(node, ast.Attribute):
        return getattr(_resolve_node(node.value, namespace), node.attr, None)
    if isinstance(node, ast.Subscript):
        generic = _resolve_node(node.value, namespace)
        if not isinstance(generic, type) or not getattr(generic, "__clr_name__", None):
            return None  # only .NET generic types are subscripted (no user __class_getitem__ runs)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        args = [_resolve_node(item, namespace) for item in items]
        if any(a is None for a in args):
            return None
        subscriptable: Any = generic
        try:
            return subscriptable[tuple(args) if len(args) > 1 else args[0]]
        except Exception:  # an annotation that names no .NET type (List[1]): no hint, never a failed call
            return None
    return None


def accepts_positional(arity: tuple[int, int] | None, n: int) -> bool:
    """Whether a callable of this arity can be called with ``n`` positional arguments."""
    if arity is None:
        return True
    fewest, most = arity
    return fewest <= n and (most < 0 or n <= most)


# Constructed generic methods: pure memo (same id for the same arguments, decided by .NET).
_generic_methods: dict[tuple[int, tuple[int, ...]], Overload] = {}


def construct_generic_overload(ov: Overload, type_ids: tuple[int, ...]) -> Overload:
    """The overload of ``M<type_ids>``: its own member id, parameter types made concrete."""
    key = (ov.id, type_ids)
    found = _generic_methods.get(key)
    if found is None:
        new_id = _typeinfo.make_generic(ov.id, list(type_ids), method=True)
        params = tuple(dataclasses.replace(p, type_id=_typeinfo.substitute(p.type_id, type_ids)) for p in ov.params)
        ret = _typeinfo.substitute(ov.ret, type_ids) if ov.ret else 0
        found = _generic_methods.setdefault(
            key, dataclasses.replace(ov, id=new_id, params=params, ret=ret, generic_params=())
        )
    return found
