"""Descriptors for .NET events: ``obj.Changed += handler`` and ``obj.Changed -= handler``.

The delegates handed to .NET are remembered per (event, object identity, handler) in
``_subscriptions`` (under its lock), so ``-=`` passes .NET the very delegate ``+=`` made.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host.locks import SignalSafeLock
from ..host.shim import Value
from ..values.convert import to_value
from ..values.objects import handle_of
from .catalog import class_for
from .member_errors import member_error
from .members import BoundMethod
from .meta import ClassMember

# Delegates handed to events, per (event, publisher identity, handler), so that ``-=`` passes
# .NET the very delegate ``+=`` added. Owner: _subscriptions_lock (a list is read and changed
# only under it). forget_dead_publishers() drops the entries of publishers .NET has collected.
_subscriptions_lock = SignalSafeLock("pyclrbridge.proxies.events._subscriptions_lock")
_subscriptions: dict[tuple[int, int, Any], list[Any]] = {}
_by_identity: dict[int, set[tuple[int, int, Any]]] = {}


def event_identity(handle: int) -> int:
    """A stable id for the .NET object at ``handle`` (0 for static events)."""
    return int(_bridge.shim().EventIdentity(handle)) if handle else 0


def subscription_add(key: tuple[int, int, Any], delegate: Any) -> None:
    """Remember the delegate subscribed under ``key`` = (event id, publisher identity, handler)."""
    _ = _subscriptions_lock.taken
    try:
        _subscriptions.setdefault(key, []).append(delegate)
        if key[1]:
            _by_identity.setdefault(key[1], set()).add(key)
    finally:
        _subscriptions_lock.release()


def subscription_take(key: tuple[int, int, Any]) -> Any:
    """The delegate most recently subscribed under ``key`` (forgotten now), or None."""
    _ = _subscriptions_lock.taken
    try:
        pending = _subscriptions.get(key)
        delegate = pending.pop() if pending else None
        if pending == []:
            del _subscriptions[key]
            keys = _by_identity.get(key[1])
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del _by_identity[key[1]]
    finally:
        _subscriptions_lock.release()
    return delegate


def subscription_count() -> int:
    return sum(len(v) for v in _subscriptions.values())


def _forget_publishers(identities: list[int]) -> None:
    dead: list[Any] = []
    _ = _subscriptions_lock.taken
    try:
        for ident in identities:
            for key in _by_identity.pop(ident, ()):
                dead.append(_subscriptions.pop(key, None))
    finally:
        _subscriptions_lock.release()
    dead.clear()  # outside the lock: dropping delegate proxies frees their handles


def forget_dead_publishers() -> None:
    """Drop the subscriptions of publishers .NET has collected (a drain hook)."""
    buf = (ctypes.c_int64 * 512)()
    while (n := _bridge.shim().DrainDeadIdentities(buf, 512)) > 0:
        _forget_publishers([buf[i] for i in range(n)])


class Event(ClassMember):
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
        if obj is not None and not self.static and handle_of(obj) is None:
            raise member_error(f"{self!r} is an event of .NET objects, not of {type(obj).__name__!r} objects")
        return EventBinding(self, obj)

    def __set__(self, obj: Any, value: Any) -> None:
        if not isinstance(value, EventBinding) or value.event is not self:
            raise member_error(f"event {self._owner}.{self.__name__} can only be changed with += and -=")

    def set_static(self, value: Any) -> None:
        self.__set__(None, value)

    def __repr__(self) -> str:
        return f"<.NET event {self._owner}.{self.__name__}>"


# pythonnet's rule (removing a Python callable that was never added is a ValueError), switched
# on by pyclrbridge.compat. One bool, replaced whole; read on each removal.
_unknown_removal_refused = [False]


def refuse_unknown_removal(enabled: bool) -> bool:
    """``event -= handler`` for a Python callable that is not subscribed raises ValueError, as
    in pythonnet (``True``), or does nothing, as .NET's own ``-=`` (``False``, the default).
    Returns the previous setting."""
    previous = _unknown_removal_refused[0]
    _unknown_removal_refused[0] = bool(enabled)
    return previous


class EventBinding:
    __slots__ = ("event", "obj")

    def __init__(self, event: Event, obj: Any) -> None:
        self.event = event
        self.obj = obj

    def _key(self, handler: Any) -> tuple[int, int, Any]:
        ident = 0 if self.event.static else event_identity(handle_of(self.obj) or 0)
        if isinstance(handler, BoundMethod):
            # ob.Event -= ob.Handler: each ob.Handler is a new bound object; the method and its
            # object name the handler, as in C#. The ids stay valid while it is subscribed: the
            # subscription keeps the bound method, and so its object and group, alive.
            return (self.event._add, ident, ("bound .NET method", id(handler._group), id(handler.__self__)))
        return (self.event._add, ident, handler)

    def _call(self, member: int, delegate: Any) -> None:
        target = 0 if self.event.static else (handle_of(self.obj) or 0)
        arg = (Value * 1)()
        keep: list[Any] = []
        to_value(delegate, arg[0], keep)
        _bridge.invoke(member, target, arg, 1)

    def __iadd__(self, handler: Callable[..., Any]) -> EventBinding:
        delegate_type = class_for(self.event.type_id)
        delegate = handler if getattr(type(handler), "__clr_type_id__", 0) else delegate_type(handler)
        self._call(self.event._add, delegate)
        subscription_add(self._key(handler), delegate)
        return self

    def __isub__(self, handler: Callable[..., Any]) -> EventBinding:
        delegate = subscription_take(self._key(handler))
        if delegate is not None:
            self._call(self.event._remove, delegate)
        elif _unknown_removal_refused[0] and not getattr(type(handler), "__clr_type_id__", 0):
            raise ValueError(f"{handler!r} is not subscribed to {self.event._owner}.{self.event.__name__}")
        return self

    def __repr__(self) -> str:
        return f"<.NET event {self.event._owner}.{self.event.__name__} bound>"
