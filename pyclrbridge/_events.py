"""Descriptors for .NET events: ``obj.Changed += handler`` and ``obj.Changed -= handler``.

The delegates handed to .NET are remembered per (event, object identity, handler) in
``_callbacks`` (under its lock), so ``-=`` passes .NET the very delegate ``+=`` made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _bridge, _callbacks
from ._convert import to_value
from ._proxy import handle_of
from ._shim import Value


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
        ident = 0 if self.event.static else _callbacks.event_identity(handle_of(self.obj) or 0)
        return (self.event._add, ident, handler)

    def _call(self, member: int, delegate: Any) -> None:
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
