"""Descriptors for .NET methods: method groups, bound methods, overload selection (properties and
fields: ``_properties``; events: ``_events``)."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..host.shim import KindInt as Kind
from ..host.shim import Value, _encode_utf16, read_string
from ..values import codecs as _codecs
from ..values.convert import to_value
from ..values.objects import handle_of
from ..values.results import from_value, from_values
from ..values.targets import INTEGER_RANGES, _target, type_id_for
from . import binder as _binder
from . import declared as _declared
from . import pyterms as _pyterms
from .binder import arg_kind
from .fastcall import compile_invoker
from .signatures import Overload, Plan

_views = _declared._viewer  # pythonnet's interface views (compat), read on the general path
_frames_pop = _bridge.frames_pop  # the frame pool (see _bridge.acquire_frame), bound once
_frames_push = _bridge.frames_push
_header = _bridge.FRAME_HEADER.pack_into
_INT64 = Kind.INT64
_DOUBLE = Kind.DOUBLE
_STRING = Kind.STRING
_VOID = Kind.VOID
_I64_MAX = 2**63 - 1
_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1


def invoke_plan(plan: Plan, target: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Convert the arguments as the plan says, call, and convert the results."""
    ov = plan.overload
    n = len(ov.params)
    nresults = 1 + ov.byref_count
    frame = _bridge.acquire_frame(n + nresults)  # pooled native memory: no per-call allocation
    try:
        values = frame.slots
        keep: list[Any] = []
        try:
            for i, source in enumerate(plan.sources):
                if source is None:
                    if plan.params_from >= 0 and ov.params[i].is_params:  # expanded (not always last: a setter)
                        to_value(list(args[plan.params_from :]), values[i], keep, ov.params[i].type_id)
                    else:
                        values[i].kind = Kind.MISSING
                elif type(source) is int:
                    to_value(args[source], values[i], keep, ov.params[i].type_id)
                else:
                    to_value(kwargs[source], values[i], keep, ov.params[i].type_id)  # type: ignore[index]
            _header(frame.buffer, 0, ov.id, n, target, nresults)
            try:
                if frame.call(frame.buffer) != 0:
                    _bridge.raise_error(frame.error)  # not a copy: claiming the exception zeroes its handle there
                return _results(ov, values, n, nresults)
            except BaseException:
                # The call failed: an error handle no exception proxy took (a signal cut the raise
                # short). Or it returned: the handles of results no proxy took yet. Attribute
                # reads, then one export (see bridge.Frame.free_unclaimed).
                frame.free_unclaimed(frame.buffer, n, nresults)
                raise
        except ctypes.ArgumentError as refused:  # at the recursion limit: see bridge.argument_error
            frame.abandon(frame.buffer, n)
            raise _bridge.argument_error(refused) from None
        except BaseException:
            # Registry ids written for a call that never took them (see bridge.Frame.abandon):
            # attribute reads, then the export, so no signal check comes before it. Once the
            # call has run, the argument slots carry no id and this does nothing.
            frame.abandon(frame.buffer, n)
            raise
    finally:
        _bridge.release_frame(frame)


def _results(ov: Overload, values: Any, n: int, nresults: int) -> Any:
    """What a call of ``ov`` returns, from its result slots ``values[n:n + nresults]``."""
    if nresults == 1:
        result = from_value(values[n])
        if result is not None and ov.returns_interface:
            result = _declared.returned(result, ov.ret)
        elif _views[0] is not None and _declared.viewed(ov.ret):
            result = _declared.view(result, ov.ret)  # an array of an interface type (compat)
        return result
    result, *rest = from_values(values[n:], nresults)
    if _views[0] is not None:  # pythonnet's views of interface-typed results and out values (compat)
        result = _declared.view(result, ov.ret) if _declared.viewed(ov.ret) else result
        byrefs = [p.type_id for p in ov.params if p.byref]
        rest = [_declared.view(o, t) if _declared.viewed(t) else o for o, t in zip(rest, byrefs, strict=True)]
    outs = tuple(rest)
    if values[n].kind == Kind.VOID:
        return outs[0] if len(outs) == 1 else outs
    return (result, *outs)


def _converter(type_id: int) -> Callable[[Any, Value, list[Any]], None]:
    """``to_value(arg, slot, keep, type_id)`` with the commonest case for the parameter type
    written inline (an int for an integer type, a str for String, a float for Double); any
    other argument, or any value while user encoders are registered, takes ``to_value``."""

    t, _ = _target(type_id)
    code = t.type_code if t is not None and t.kind != "enum" else ""
    rng = INTEGER_RANGES.get(code)
    if rng is not None:
        lo, hi = rng[0], min(rng[1], _I64_MAX)

        def integer(arg: Any, slot: Value, keep: list[Any]) -> None:
            if type(arg) is int and lo <= arg <= hi and not _codecs.encoders:
                slot.kind = _INT64
                slot.i = arg
            else:
                to_value(arg, slot, keep, type_id)

        return integer
    if code == "String":

        def string(arg: Any, slot: Value, keep: list[Any]) -> None:
            if type(arg) is str and not _codecs.encoders:
                data = _encode_utf16(arg, "surrogatepass")[0]  # _shim.utf16, inline
                keep.append(data)
                slot.kind = _STRING
                slot.s = data
                slot.extra = len(data) >> 1
            else:
                to_value(arg, slot, keep, type_id)

        return string
    if code == "Double":

        def double(arg: Any, slot: Value, keep: list[Any]) -> None:
            if type(arg) is float and not _codecs.encoders:
                slot.kind = _DOUBLE
                slot.d = arg
            else:
                to_value(arg, slot, keep, type_id)

        return double

    def general(arg: Any, slot: Value, keep: list[Any]) -> None:
        to_value(arg, slot, keep, type_id)

    return general


#: ``run(target, args[, obj])``: ``obj``, when given, is the target's proxy, which a compiled
#: invoker returns for a result that is the target itself (proxies.fastcall.TARGET_RESULT).
Invoker = Callable[..., Any]


def make_invoker(plan: Plan) -> Invoker:
    """``invoke_plan(plan, target, args, {})`` for calls without keywords (see _make_invoker);
    a method declared to return an interface notes it on the proxy it returns, or gives its
    view under compat (:mod:`.declared`)."""
    run = _make_invoker(plan)
    ret = plan.overload.ret
    if not plan.overload.returns_interface:
        if _views[0] is None or not _declared.viewed(ret):
            return run

        def viewing(
            target: int, args: tuple[Any, ...], obj: Any = None
        ) -> Any:  # an array of an interface type (compat)
            return _declared.view(run(target, args), ret)

        return viewing

    def noting(target: int, args: tuple[Any, ...], obj: Any = None) -> Any:  # (a new proxy per result: no obj)
        result = run(target, args)
        if result is not None:
            return _declared.returned(result, ret)
        return result

    return noting


def _make_invoker(plan: Plan) -> Invoker:
    """``invoke_plan(plan, target, args, {})`` for calls without keywords, specialized once per
    plan: plans whose arguments map one to one onto the parameters (no params array, no
    out/ref, no defaults filled in) get precomputed converters and the pooled frame inline."""
    ov = plan.overload
    n = len(ov.params)
    if plan.params_from >= 0 or ov.byref_count or n + 1 > _bridge.FRAME_SLOTS or plan.sources != tuple(range(n)):

        def general(target: int, args: tuple[Any, ...], obj: Any = None) -> Any:
            return invoke_plan(plan, target, args, {})

        return general
    member = ov.id
    converters = tuple(_converter(p.type_id) for p in ov.params)
    first = converters[0] if n == 1 else None

    def run(target: int, args: tuple[Any, ...], obj: Any = None) -> Any:
        try:
            frame = _frames_pop()
        except IndexError:
            frame = _bridge.Frame()
        try:
            slots = frame.slots
            keep: list[Any] = []  # alive until the call returns: memory the slots point at
            try:
                if first is not None:  # one argument (the commonest): no loop
                    first(args[0], slots[0], keep)
                else:
                    for convert, arg, slot in zip(converters, args, slots, strict=False):  # slots: the pool size
                        convert(arg, slot, keep)
                _header(frame.buffer, 0, member, n, target, 1)
                try:
                    failed = frame.call(frame.buffer) != 0
                except ctypes.ArgumentError as refused:  # at the recursion limit: see bridge.argument_error
                    raise _bridge.argument_error(refused) from None
            except BaseException:
                frame.abandon(frame.buffer, n)  # ids no call took (see invoke_plan)
                raise
            if failed:
                _bridge.raise_error(frame.error)  # not a copy: claiming zeroes the handle there
            result = slots[n]
            kind = result.kind
            if kind == _VOID:
                return None
            if kind == _INT64:
                return result.i
            if kind == _STRING:
                return read_string(result)
            return from_value(result)
        finally:
            error = frame.error  # an error handle no exception took (a signal cut the raise short)
            if error.kind == _bridge.OBJECT_KIND and error.i:  # only field reads before the free
                unclaimed = error.i
                error.i = 0
                frame.free(unclaimed)
            _frames_push(frame)

    return compile_invoker(member, tuple(p.type_id for p in ov.params), run, ov.ret)


def _no_extension(obj: Any, name: str) -> Any:
    return None


# ``obj.name`` as an extension method in scope, or None (registered by proxies.extensions; written once).
_extension_fallback: Callable[[Any, str], Any] = _no_extension

#: Called with a group when it first builds an instance invoker (proxies.native registers one;
#: appended once at its import, read-only after).
FIRST_CALL_HOOKS: list[Callable[[MethodGroup], None]] = []


def install_extension_fallback(lookup: Callable[[Any, str], Any]) -> None:
    """Registration from :mod:`.extensions`: what an instance call tries when no overload fits."""
    global _extension_fallback
    _extension_fallback = lookup


# pythonnet's method docstrings (.NET's own signatures), switched on by pyclrbridge.compat: one
# function or None, replaced whole; read on each __doc__.
_doc_override: list[Callable[[MethodGroup], str | None] | None] = [None]


def document_methods(describe: Callable[[MethodGroup], str | None] | None) -> None:
    """Make ``MethodGroup.__doc__`` ``describe(group)`` (when not None) instead of pyclrbridge's
    signatures in Python terms; None restores those."""
    _doc_override[0] = describe


class MethodGroup:
    """All overloads of one method name on one type. Calls resolve and cache per argument kinds."""

    __slots__ = (
        "__name__",
        "__qualname__",
        "_any_static",
        "_cache",
        "_generic_args",
        "_invokers",
        "_narrowed",
        "_owner",
        "_static_invokers",
        "overloads_list",
    )

    def __init__(
        self, name: str, owner: str, overloads: tuple[Overload, ...], generic_args: tuple[int, ...] = ()
    ) -> None:
        self.__name__ = name
        self.__qualname__ = f"{owner}.{name}"
        self._owner = owner
        self.overloads_list = overloads
        self._any_static = any(o.static for o in overloads)  # read on every call
        self._generic_args = generic_args
        # Plans cached per call key (binder.call_key: static?, argument and keyword kinds). dict.setdefault publishes
        # one plan atomically; plans are immutable, so a lost race only redoes pure work.
        self._cache: dict[Any, Plan] = {}
        # Sub-groups by type arguments or by chosen parameter types (``M[str]``,
        # ``M.overloads[Int64]``), kept so their plan caches survive between calls.
        # Pure memo published with setdefault.
        self._narrowed: dict[Any, MethodGroup] = {}
        # Invokers (see make_invoker) per argument kinds, for calls without keywords: instance
        # calls and static calls. Pure memos published with setdefault, like the plans.
        self._invokers: dict[tuple[Any, ...], Invoker] = {}
        self._static_invokers: dict[tuple[Any, ...], Invoker] = {}

    def narrowed(self, key: Any, make: Callable[[], MethodGroup]) -> MethodGroup:
        """The memoized sub-group for ``key`` (built by ``make`` the first time)."""
        found = self._narrowed.get(key)
        if found is None:
            found = self._narrowed.setdefault(key, make())
        return found

    def _describe(self) -> str:
        return self.__qualname__

    def _plan(self, static: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Plan:
        key = _binder.call_key(static, args, kwargs)
        plan = self._cache.get(key)
        if plan is None:
            candidates = tuple(o for o in self.overloads_list if o.static == static)
            plan = _binder.choose(candidates or self.overloads_list, args, kwargs, self._describe, self._generic_args)
            plan = self._cache.setdefault(key, plan)
        return plan

    def call(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if target is None:
            if not kwargs:
                kinds = () if not args else (arg_kind(args[0]),) if len(args) == 1 else tuple(map(arg_kind, args))
                run = self._static_invokers.get(kinds)
                if run is not None:
                    return run(0, args)
            plan = self._plan(True, args, kwargs)
            if not plan.overload.static:
                raise TypeError(f"{self.__qualname__} is an instance method: call it on an object")
            if not kwargs:
                return self._static_invokers.setdefault(kinds, make_invoker(plan))(0, args)
            return invoke_plan(plan, 0, args, kwargs)
        h = handle_of(target)
        if h is None:
            raise TypeError(f"{self.__qualname__} needs a .NET object, not {type(target).__name__}")
        if not h:
            raise ValueError(f"{self.__qualname__}: the .NET object was released (pyclrbridge.release)")
        if not kwargs:
            return self._instance_call(h, args)
        return invoke_plan(self._plan(False, args, kwargs), h, args, kwargs)

    def _instance_call(self, h: int, args: tuple[Any, ...], target: Any = None) -> Any:
        """Call on the live handle ``h`` without keywords, through the cached invoker. When no
        instance overload takes the arguments, an extension method of that name in scope may
        (C# considers extensions only then): ``target`` is the object, to pass it one."""
        kinds = () if not args else (arg_kind(args[0]),) if len(args) == 1 else tuple(map(arg_kind, args))
        run = self._invokers.get(kinds)
        if run is None:
            try:
                plan = self._plan(False, args, {})
            except TypeError:
                extension = _extension_fallback(target, self.__name__) if target is not None else None
                if extension is None:
                    raise
                return extension(*args)  # binding failed before any call: nothing ran twice
            run = self._invokers.setdefault(kinds, make_invoker(plan))
            for hook in FIRST_CALL_HOOKS:  # proxies.native: a leaf method may get a native call
                hook(self)
        return run(h, args, target)

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if obj is None:
            return self
        bound = _new_bound(BoundMethod)  # BoundMethod(self, obj) without an __init__ frame
        bound._group = self
        bound.__self__ = obj
        return bound

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._any_static and not kwargs:  # a static call with an invoker for these kinds
            n = len(args)  # the key spelled out up to two arguments (faster than map)
            if n == 1:  # arg_kind of a small int or a str without the call (Math.Abs(-5))
                a = args[0]
                t = type(a)
                kinds = (
                    (_SMALL_KEY if a >= 0 else _SMALL_NEGATIVE_KEY)
                    if t is int and -128 <= a < 128
                    else _STR_KEY
                    if t is str and len(a) != 1
                    else (arg_kind(a),)
                )
            else:
                kinds = (
                    () if not n else (arg_kind(args[0]), arg_kind(args[1])) if n == 2 else tuple(map(arg_kind, args))
                )
            run = self._static_invokers.get(kinds)
            if run is not None:
                return run(0, args)
        if not self._any_static and args:
            # Class.Method(instance, ...): the unbound form of an instance method (indexers too).
            if not kwargs:
                h = handle_of(args[0])
                if h:  # a live proxy: what call() does for it, without its checks
                    return self._instance_call(h, args[1:])
            return self.call(args[0], args[1:], kwargs)
        return self.call(None, args, kwargs)

    def __getitem__(self, type_args: Any) -> MethodGroup:
        """Generic method type arguments: ``Enumerable.Repeat[str]``."""
        try:  # the same spelling again (``M[int]`` in a loop): no type lookups
            return self._narrowed[("spelled", type_args)]
        except (KeyError, TypeError):
            pass
        items = type_args if isinstance(type_args, tuple) else (type_args,)
        ids = tuple(type_id_for(t) for t in items)
        generic = tuple(o for o in self.overloads_list if len(o.generic_params) == len(ids))
        if not generic:
            raise TypeError(f"{self.__qualname__} has no generic overload with {len(ids)} type argument(s)")
        group = self.narrowed(("generic", ids), lambda: MethodGroup(self.__name__, self._owner, generic, ids))
        try:
            return self._narrowed.setdefault(("spelled", type_args), group)
        except TypeError:  # an unhashable spelling
            return group

    @property
    def overloads(self) -> OverloadSelector:
        """Pick an overload by parameter types: ``Math.Abs.overloads[System.Int64](x)``."""
        return OverloadSelector(self)

    __overloads__ = Overloads = overloads  # pythonnet spellings

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        override = _doc_override[0]
        if override is not None:
            found = override(self)
            if found is not None:
                return found
        return "\n".join(_pyterms.signature(o, self.__name__) for o in self.overloads_list)  # describe's terms

    @property
    def __signature__(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<.NET method {self.__qualname__} ({len(self.overloads_list)} overload(s))>"


def _selector_key(t: Any) -> tuple[int, bool | None]:
    """The parameter type an overload selector item names, and whether it is by reference
    (None: either). A ``System.Type`` object names its type, a by-reference one
    (``typeof(string).MakeByRefType()``) a ``ref``/``out`` parameter of its element type."""
    if any(getattr(k, "__clr_name__", None) == "System.Type" for k in type(t).__mro__):
        byref = bool(t.IsByRef)
        named = t.GetElementType() if byref else t
        found = _typeinfo.id_by_name(str(named.AssemblyQualifiedName))
        if not found:
            raise TypeError(f"{t} is not a type of a loaded assembly")
        return found, byref
    return type_id_for(t), None


def _takes(overload: Overload, keys: tuple[tuple[int, bool | None], ...]) -> bool:
    """Whether the overload's parameters are exactly these (type id, by-reference) keys."""
    if len(overload.params) != len(keys):
        return False
    return all(
        p.type_id == i and (byref is None or bool(p.byref) == byref)
        for p, (i, byref) in zip(overload.params, keys, strict=True)
    )


class OverloadSelector:
    __slots__ = ("_group",)

    def __init__(self, group: MethodGroup) -> None:
        self._group = group

    def __getitem__(self, types: Any) -> MethodGroup:
        items = types if isinstance(types, tuple) else (types,)
        keys = tuple(_selector_key(t) for t in items)
        chosen = tuple(o for o in self._group.overloads_list if _takes(o, keys))
        group = self._group
        if not chosen:
            raise TypeError(
                f"{group.__qualname__} has no overload taking ({', '.join(map(_type_label, items))}); "
                "candidates:\n  " + "\n  ".join(o.sig for o in group.overloads_list)
            )

        def make() -> MethodGroup:
            narrowed = MethodGroup(group.__name__, group._owner, chosen)
            narrowed.__qualname__ = group.__qualname__
            return narrowed

        ids = tuple(type_id for type_id, byref in keys if byref is None)
        # The plain ids as before (a Type object's by-ref flag makes its own key).
        return group.narrowed(("params", ids) if len(ids) == len(keys) else ("params", keys), make)

    def __iter__(self) -> Any:
        return iter(o.sig for o in self._group.overloads_list)

    def __repr__(self) -> str:
        return "\n".join(o.sig for o in self._group.overloads_list)


def _type_label(t: Any) -> str:
    return str(getattr(t, "__clr_name__", None) or getattr(t, "__name__", repr(t)))


class BoundMethod:
    """A method group bound to one .NET object."""

    __slots__ = ("__self__", "_group")

    def __init__(self, group: MethodGroup, obj: Any) -> None:
        self._group = group
        self.__self__ = obj

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The invoker key is tuple(map(arg_kind, args)), spelled out for 0 and 1 arguments (faster).
        if not kwargs:  # the hot path: a live proxy, an invoker cached for these argument kinds
            try:
                h = self.__self__._h
            except AttributeError:
                h = 0
            if h:
                group = self._group
                n = len(args)  # the key spelled out up to two arguments (faster than map)
                if n == 1:  # arg_kind of a small non-negative int without the call (add(1), xs[0])
                    a = args[0]
                    t = type(a)
                    kinds = (
                        _SMALL_KEY
                        if t is int and 0 <= a < 128
                        else _STR_KEY
                        if t is str and len(a) != 1
                        else (arg_kind(a),)
                    )
                else:
                    kinds = (
                        ()
                        if not n
                        else (arg_kind(args[0]), arg_kind(args[1]))
                        if n == 2
                        else tuple(map(arg_kind, args))
                    )
                run = group._invokers.get(kinds)
                if run is not None:
                    return run(h, args, self.__self__)
                return group._instance_call(h, args, self.__self__)
        return self._group.call(self.__self__, args, kwargs)

    def __getitem__(self, type_args: Any) -> Any:
        """``obj.M[T]``: the object's generic methods ``M``; when it has none with that many
        type parameters, C# looks at the extension methods in scope (``M<T>(this ...)``)."""
        try:
            narrowed = self._group[type_args]
        except TypeError:
            extension = _extension_fallback(self.__self__, self._group.__name__)
            if extension is None:
                raise
            try:
                return extension[type_args]
            except TypeError:
                pass
            raise
        return BoundMethod(narrowed, self.__self__)

    @property
    def overloads(self) -> Any:
        return _BoundSelector(self)

    __overloads__ = Overloads = overloads  # pythonnet spellings

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        return self._group.__doc__

    @property
    def __name__(self) -> str:
        return self._group.__name__

    def __repr__(self) -> str:
        return f"<bound .NET method {self._group.__qualname__}>"


_new_bound = object.__new__
_SMALL_KEY = (arg_kind(0),)  # the invoker key of one int in 0..127 (see arg_kind)
_SMALL_NEGATIVE_KEY = (arg_kind(-1),)  # the invoker key of one int in -128..-1
_STR_KEY = (arg_kind("text"),)  # the invoker key of one str that is not a single character


class _BoundSelector:
    __slots__ = ("_bound",)

    def __init__(self, bound: BoundMethod) -> None:
        self._bound = bound

    def __getitem__(self, types: Any) -> BoundMethod:
        return BoundMethod(OverloadSelector(self._bound._group)[types], self._bound.__self__)

    def __iter__(self) -> Any:
        return iter(OverloadSelector(self._bound._group))

    def __repr__(self) -> str:  # the signatures, as for the class's method (and help())
        return repr(OverloadSelector(self._bound._group))
