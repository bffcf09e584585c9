"""Descriptors for .NET members: method groups, properties, fields, events, indexers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _binder, _bridge, _callbacks
from ._binder import Overload, Plan, arg_kind
from ._convert import from_value, from_values, to_value
from ._proxy import handle_of
from ._shim import KindInt as Kind  # plain ints: IntEnum member reads are slow on every call
from ._shim import Value


def invoke_plan(plan: Plan, target: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Convert the arguments as the plan says, call, and convert the results."""
    ov = plan.overload
    n = len(ov.params)
    nresults = 1 + ov.byref_count
    frame = _bridge.acquire_frame(n + nresults)  # pooled native memory: no per-call allocation
    try:
        values = frame.slots
        keep: list[Any] = []
        for i, source in enumerate(plan.sources):
            if source is None:
                if i == n - 1 and plan.params_from >= 0:
                    to_value(list(args[plan.params_from:]), values[i], keep, ov.params[i].type_id)
                else:
                    values[i].kind = Kind.MISSING
            elif type(source) is int:
                to_value(args[source], values[i], keep, ov.params[i].type_id)
            else:
                to_value(kwargs[source], values[i], keep, ov.params[i].type_id)  # type: ignore[index]
        _bridge.call_frame(frame, ov.id, target, n, nresults)
        if nresults == 1:
            return from_value(values[n])
        result, *rest = from_values(values[n:], nresults)
        outs = tuple(rest)
        if values[n].kind == Kind.VOID:
            return outs[0] if len(outs) == 1 else outs
        return (result, *outs)
    finally:
        _bridge.release_frame(frame)


class MethodGroup:
    """All overloads of one method name on one type. Calls resolve and cache per argument kinds."""

    __slots__ = ("__name__", "__qualname__", "_any_static", "_cache", "_generic_args", "_narrowed", "_owner",
                 "overloads_list")

    def __init__(self, name: str, owner: str, overloads: tuple[Overload, ...],
                 generic_args: tuple[int, ...] = ()) -> None:
        self.__name__ = name
        self.__qualname__ = f"{owner}.{name}"
        self._owner = owner
        self.overloads_list = overloads
        self._any_static = any(o.static for o in overloads)  # read on every call
        self._generic_args = generic_args
        # Plans cached per (static?, argument kinds, keyword names). dict.setdefault publishes
        # one plan atomically; plans are immutable, so a lost race only redoes pure work.
        self._cache: dict[Any, Plan] = {}
        # Sub-groups by type arguments or by chosen parameter types (``M[str]``,
        # ``M.overloads[Int64]``), kept so their plan caches survive between calls.
        # Pure memo published with setdefault.
        self._narrowed: dict[Any, MethodGroup] = {}

    def narrowed(self, key: Any, make: Callable[[], MethodGroup]) -> MethodGroup:
        """The memoized sub-group for ``key`` (built by ``make`` the first time)."""
        found = self._narrowed.get(key)
        if found is None:
            found = self._narrowed.setdefault(key, make())
        return found

    def _describe(self) -> str:
        return self.__qualname__

    def _plan(self, static: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Plan:
        key = (static, tuple(map(arg_kind, args)), tuple(kwargs) if kwargs else ())
        plan = self._cache.get(key)
        if plan is None:
            candidates = tuple(o for o in self.overloads_list if o.static == static)
            plan = _binder.choose(candidates or self.overloads_list, args, kwargs, self._describe, self._generic_args)
            plan = self._cache.setdefault(key, plan)
        return plan

    def call(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if target is None:
            plan = self._plan(True, args, kwargs)
            if not plan.overload.static:
                raise TypeError(f"{self.__qualname__} is an instance method: call it on an object")
            return invoke_plan(plan, 0, args, kwargs)
        h = handle_of(target)
        if h is None:
            raise TypeError(f"{self.__qualname__} needs a .NET object, not {type(target).__name__}")
        if not h:
            raise ValueError(f"{self.__qualname__}: the .NET object was released (pyclrbridge.release)")
        return invoke_plan(self._plan(False, args, kwargs), h, args, kwargs)

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if obj is None:
            return self
        return BoundMethod(self, obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self._any_static and args:
            # Class.Method(instance, ...): the unbound form of an instance method.
            return self.call(args[0], args[1:], kwargs)
        return self.call(None, args, kwargs)

    def __getitem__(self, type_args: Any) -> MethodGroup:
        """Generic method type arguments: ``Enumerable.Repeat[str]``."""
        try:  # the same spelling again (``M[int]`` in a loop): no type lookups
            return self._narrowed[("spelled", type_args)]
        except (KeyError, TypeError):
            pass
        from ._types import type_id_for

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
        return "\n".join(o.sig for o in self.overloads_list)

    @property
    def __signature__(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<.NET method {self.__qualname__} ({len(self.overloads_list)} overload(s))>"


class OverloadSelector:
    __slots__ = ("_group",)

    def __init__(self, group: MethodGroup) -> None:
        self._group = group

    def __getitem__(self, types: Any) -> MethodGroup:
        from ._types import type_id_for

        items = types if isinstance(types, tuple) else (types,)
        ids = tuple(type_id_for(t) for t in items)
        chosen = tuple(o for o in self._group.overloads_list
                       if tuple(p.type_id for p in o.params) == ids)
        group = self._group
        if not chosen:
            raise TypeError(f"{group.__qualname__} has no overload taking ({', '.join(map(_type_label, items))}); "
                            "candidates:\n  " + "\n  ".join(o.sig for o in group.overloads_list))

        def make() -> MethodGroup:
            narrowed = MethodGroup(group.__name__, group._owner, chosen)
            narrowed.__qualname__ = group.__qualname__
            return narrowed

        return group.narrowed(("params", ids), make)

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
        return self._group.call(self.__self__, args, kwargs)

    def __getitem__(self, type_args: Any) -> BoundMethod:
        return BoundMethod(self._group[type_args], self.__self__)

    @property
    def overloads(self) -> Any:
        return _BoundSelector(self)

    __overloads__ = Overloads = overloads  # pythonnet spellings

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        return "\n".join(o.sig for o in self._group.overloads_list)

    @property
    def __name__(self) -> str:
        return self._group.__name__

    def __repr__(self) -> str:
        return f"<bound .NET method {self._group.__qualname__}>"


class _BoundSelector:
    __slots__ = ("_bound",)

    def __init__(self, bound: BoundMethod) -> None:
        self._bound = bound

    def __getitem__(self, types: Any) -> BoundMethod:
        return BoundMethod(OverloadSelector(self._bound._group)[types], self._bound.__self__)


_UNREAD = object()  # Property._const before a const field's first read


class Property:
    """A .NET property (or field, when ``field`` is set): get and set through the shim."""

    __slots__ = ("__name__", "_const", "_doc", "_get", "_owner", "_set", "field", "readonly", "static")

    def __init__(self, name: str, owner: str, get: int, set: int, static: bool, doc: str,
                 *, field: bool = False, readonly: bool = False, const: bool = False) -> None:
        # A const field's value is compiled into its metadata and never changes: the first
        # read is kept (an immutable Python value; a lost race stores an equal one).
        self._const: Any = _UNREAD if const else None
        self.__name__ = name
        self._owner = owner
        self._get = get
        self._set = set
        self.static = static
        self.field = field
        self.readonly = readonly
        self._doc = doc

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        return self._doc

    def read(self, obj: Any) -> Any:
        const = self._const
        if const is not None and const is not _UNREAD:
            return const[0]
        if not self._get:
            raise AttributeError(f"{self._owner}.{self.__name__} has no getter")
        target = 0
        if not self.static:
            h = handle_of(obj)
            if h is None:
                raise AttributeError(f"{self._owner}.{self.__name__} is an instance member")
            if not h:
                raise ValueError(f"{self._owner}.{self.__name__}: the .NET object was released (pyclrbridge.release)")
            target = h
        value = _bridge.call_noargs(self._get, target, from_value)
        if const is _UNREAD:
            self._const = (value,)
        return value

    def write(self, obj: Any, value: Any) -> None:
        kind = "field" if self.field else "property"
        if self.readonly or not self._set:
            raise AttributeError(f"{kind} {self._owner}.{self.__name__} is read-only")
        target = 0 if self.static else (handle_of(obj) or 0)
        frame = _bridge.acquire_frame(2)
        try:
            keep: list[Any] = []
            to_value(value, frame.slots[0], keep)
            _bridge.call_frame(frame, self._set, target, 1, 1)
        finally:
            _bridge.release_frame(frame)

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if obj is None and not self.static:
            return self
        return self.read(obj)

    def __set__(self, obj: Any, value: Any) -> None:
        self.write(obj, value)

    def __delete__(self, obj: Any) -> None:
        kind = "field" if self.field else "property"
        raise AttributeError(f"cannot delete the .NET {kind} {self._owner}.{self.__name__}")

    def __repr__(self) -> str:
        return f"<.NET {'field' if self.field else 'property'} {self._owner}.{self.__name__}>"


class Event:
    """A .NET event: ``obj.Changed += handler`` and ``obj.Changed -= handler``."""

    __slots__ = ("__name__", "_add", "_owner", "_remove", "static", "type_id")

    def __init__(self, name: str, owner: str, add: int, remove: int, static: bool, type_id: int) -> None:
        self.__name__ = name
        self._owner = owner
        self._add = add
        self._remove = remove
        self.static = static
        self.type_id = type_id

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        return f"event {self.__name__}: += a callable to subscribe, -= the same callable to unsubscribe"

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if obj is None and not self.static:
            return self
        return EventBinding(self, obj)

    def __set__(self, obj: Any, value: Any) -> None:
        if not isinstance(value, EventBinding) or value.event is not self:
            raise AttributeError(f"event {self._owner}.{self.__name__} can only be changed with += and -=")

    def __repr__(self) -> str:
        return f"<.NET event {self._owner}.{self.__name__}>"


class EventBinding:
    __slots__ = ("event", "obj")

    def __init__(self, event: Event, obj: Any) -> None:
        self.event = event
        self.obj = obj

    def _key(self, handler: Any) -> tuple[int, int, Any]:
        from ._proxy import handle_of

        ident = 0 if self.event.static else _callbacks.event_identity(handle_of(self.obj) or 0)
        return (self.event._add, ident, handler)

    def _call(self, member: int, delegate: Any) -> None:
        from ._proxy import handle_of

        target = 0 if self.event.static else (handle_of(self.obj) or 0)
        arg = (Value * 1)()
        keep: list[Any] = []
        to_value(delegate, arg[0], keep)
        _bridge.invoke(member, target, arg, 1)

    def __iadd__(self, handler: Callable[..., Any]) -> EventBinding:
        from ._types import class_for

        delegate_type = class_for(self.event.type_id)
        delegate = handler if getattr(type(handler), "__clr_type_id__", 0) else delegate_type(handler)
        self._call(self.event._add, delegate)
        _callbacks.subscription_add(self._key(handler), delegate)
        return self

    def __isub__(self, handler: Callable[..., Any]) -> EventBinding:
        delegate = _callbacks.subscription_take(self._key(handler))
        if delegate is not None:
            self._call(self.event._remove, delegate)
        return self

    def __repr__(self) -> str:
        return f"<.NET event {self.event._owner}.{self.event.__name__} bound>"
