"""pythonnet's call conventions under `pyclrbridge.compat`: enum construction, ``Overloads`` on
classes for constructors, and placeholders for ``out`` parameters in Python callables behind
delegates and in Python methods overriding .NET ones."""

from __future__ import annotations

import copy
import inspect
from typing import Any

from ._compat_assemblies import GetClrType
from .callbacks import derived as _derived
from .proxies import base as _base
from .proxies import classes as _classes
from .proxies import meta as _meta
from .proxies.catalog import class_by_name, class_for
from .proxies.members import OverloadSelector


def _pythonnet_enum_call(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """pythonnet's enum construction: ``DayOfWeek()`` is a TypeError (no default value), and
    ``ShortEnum(20)`` is ``ShortEnum(20, False)``: a value no member names is a ValueError
    unless the enum is ``[Flags]`` (``ShortEnum(20, True)`` takes it)."""
    if cls.__dict__.get("__clr_type_id__") and not kwargs:
        if not args:
            raise TypeError(f"{cls.__name__}() needs a value: an enum has no constructor (pythonnet)")
        if len(args) in (1, 2) and isinstance(args[0], int) and not isinstance(args[0], bool):
            made = _meta.ClrMeta.__call__(cls, args[0])  # (one argument: never back here)
            allow = len(args) == 2 and bool(args[1])
            if (
                not allow
                and not cls.__clr_info__.flags
                and not class_by_name("System.Enum").IsDefined(GetClrType(cls), made)
            ):
                raise ValueError(
                    f"{args[0]} is not a defined value of {cls.__clr_name__} (pass True as a second argument to allow "
                    "it)"
                )
            return made
    return _meta.ClrMeta.__call__(cls, *args, **kwargs)


def pythonnet_enums(enabled: bool) -> None:
    """pythonnet's enum construction (`_pythonnet_enum_call`); ``enabled=False`` removes it."""
    if enabled:
        type.__setattr__(_meta.ClrEnumMeta, "__call__", _pythonnet_enum_call)
    elif "__call__" in _meta.ClrEnumMeta.__dict__:
        type.__delattr__(_meta.ClrEnumMeta, "__call__")


class _FreshPicks:
    """A constructor selector whose every pick is a new object (pythonnet makes one per lookup,
    and code checks that nothing keeps it: ``sys.getrefcount(Cls.Overloads[int]) == 1``). The
    new group shares the remembered one's caches (a shallow copy), so it binds as fast."""

    __slots__ = ("_selector",)

    def __init__(self, selector: Any) -> None:
        self._selector = selector

    def __getitem__(self, types: Any) -> Any:
        return copy.copy(self._selector[types])

    def __iter__(self) -> Any:
        return iter(self._selector)

    def __repr__(self) -> str:
        return repr(self._selector)


class _PythonnetConstructorOverloads(_classes.ConstructorOverloads):
    """``Cls.Overloads`` / ``Cls.__overloads__`` under pythonnet's names (`_FreshPicks`)."""

    __slots__ = ()

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        selector = super().__get__(obj, cls)
        return _FreshPicks(selector) if isinstance(selector, OverloadSelector) else selector


def constructor_overloads() -> None:
    """pythonnet's ``Cls.Overloads[int](5)`` and ``Cls.__overloads__[...]`` for constructors:
    the class-only ``Cls.overloads`` selector under pythonnet's names (on the base class, so a
    .NET member of that name on a class still wins). Set once, at import."""
    for name in ("Overloads", "__overloads__"):
        if name not in _base.ClrObject.__dict__:
            type.__setattr__(_base.ClrObject, name, _PythonnetConstructorOverloads())


def out_placeholders(fn: Any, delegate_class: Any) -> Any:
    """pythonnet's convention for a Python callable behind a delegate with ``out`` parameters:
    it takes a placeholder (None) for each of them, in its place among the arguments. Used only
    for a callable that takes that many arguments and not the input arguments alone, so a
    callable written for pyclrbridge's convention works the same with compat imported."""
    if getattr(type(fn), "__clr_type_id__", 0):
        return fn  # already a .NET delegate
    invoke = GetClrType(delegate_class).GetMethod("Invoke")
    outs = [bool(p.IsOut and not p.IsIn) for p in invoke.GetParameters()] if invoke is not None else []
    return _with_placeholders(fn, outs)


def _with_placeholders(fn: Any, outs: list[bool]) -> Any:
    """``fn`` taking a placeholder (None) at each ``out`` position (``outs``: one flag per
    parameter), when it takes that many arguments and not the input arguments alone; else ``fn``."""
    if not any(outs):
        return fn
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: as it is
        return fn

    def takes(count: int) -> bool:
        try:
            signature.bind(*([None] * count))
        except TypeError:
            return False
        return True

    if takes(outs.count(False)) or not takes(len(outs)):
        return fn  # pyclrbridge's convention (input arguments only) fits: unchanged

    def with_placeholders(*given: Any) -> Any:
        supplied = iter(given)
        return fn(*[None if out else next(supplied) for out in outs])

    return with_placeholders


def out_placeholders_for_parameter(fn: Any, delegate_type_id: int) -> Any:
    """`out_placeholders` for a callable passed straight to a delegate parameter."""
    return out_placeholders(fn, class_for(delegate_type_id))


def call_override(obj: Any, name: str, method: Any, args: tuple[Any, ...]) -> Any:
    """pythonnet's convention for a Python method overriding a .NET one (an interface's
    ``MyMethod(string name, out int index)``): it takes a placeholder (None) for each ``out``
    parameter and returns ``(result, out values...)``. Used only when the method takes that many
    arguments and not the input arguments alone, as for delegates (`out_placeholders`)."""
    for klass in type(obj).__mro__:
        if "__clr_info__" not in klass.__dict__:
            continue  # a Python class
        group = klass.__dict__.get(name)
        if group is None:
            continue
        overloads = getattr(group, "overloads_list", ())
        fitting = [o for o in overloads if o.byref_count and len(o.inputs) == len(args)]
        if len(fitting) == 1:
            method = _with_placeholders(method, [p.byref == 2 for p in fitting[0].params])
        break  # the nearest .NET declaration decides
    return method(*args)


def pythonnet_overrides(enabled: bool) -> None:
    """Overrides get pythonnet's placeholders for ``out`` parameters (`call_override`);
    ``enabled=False`` calls them with the input arguments only."""
    _derived.call_overrides_with(call_override if enabled else None)
