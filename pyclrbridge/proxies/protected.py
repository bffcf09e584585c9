"""Protected members: what a Python subclass of a .NET class reaches besides the public ones.

C# lets a subclass use its base's ``protected`` (and ``protected internal``) members through
itself: ``this.Items``, ``base.InsertItem(...)``, ``Base.Helper()`` inside the subclass. Here
that is: through an instance of a Python subclass (``self.Items``, ``super().InsertItem(i,
x)``, the unbound ``Collection[int].InsertItem(self, i, x)``) and through the Python subclass
itself (``MyGauge.Created``). An instance of a .NET class that is no Python subclass does not
reach them, nor does the .NET class itself: that is "from outside" for C#.

pythonnet lists protected members on every class and reaches them on any object;
``pyclrbridge.compat`` switches that on (:func:`open_protected`).

The descriptors here wrap the ordinary ones (:class:`.members.MethodGroup`,
:class:`.properties.Property`, :class:`.events.Event`): the call paths are the same, only the
access is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..values.objects import handle_of
from .members import MethodGroup
from .meta import ClassMember
from .missing import missing_attribute
from .signatures import Overload

# pythonnet's rule (every protected member reachable on every object), switched on by
# pyclrbridge.compat. One bool, replaced whole; read on each protected access.
_open = [False]


def open_protected(enabled: bool) -> bool:
    """Reach protected members on any object and class, as pythonnet does (``True``), or only
    through Python subclasses, as C# does (``False``, the default). Returns the previous setting."""
    previous = _open[0]
    _open[0] = bool(enabled)
    return previous


def reachable(cls: Any) -> bool:
    """Whether code working through ``cls`` reaches protected members: a Python subclass of a
    .NET class (or anything, under :func:`open_protected`)."""
    return _open[0] or getattr(cls, "__clr_derived__", None) is not None


def _refusal(owner: str, name: str, kind: str) -> str:
    base = owner.rsplit(".", 1)[-1].split("[")[0]
    return (
        f"{owner}.{name} is a protected .NET {kind}: reachable through a Python subclass of {base} "
        f"(self.{name} in its methods), not from outside; pyclrbridge.compat reaches it on any "
        "object, as pythonnet does"
    )


class ProtectedMethodGroup(MethodGroup):
    """The overloads of a method name that has protected ones (and maybe public ones too:
    ``Dispose()`` and ``Dispose(bool)``). Reached from a Python subclass it is the whole
    group; from outside it is the public overloads (``public_group``) or nothing."""

    __slots__ = ("public_group",)

    def __init__(
        self, name: str, owner: str, overloads: tuple[Overload, ...], public_group: MethodGroup | None
    ) -> None:
        super().__init__(name, owner, overloads)
        self.public_group = public_group

    def refusal(self) -> str:
        return _refusal(self._owner, self.__name__, "method")

    def __clr_hidden_from__(self, cls: Any) -> bool:
        return self.public_group is None and not reachable(cls)

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if obj is None:
            if cls is None or reachable(cls):
                return self
            return _OutsideView(self)  # Base.Method(self, ...) from a subclass method still works
        if reachable(type(obj)):
            return MethodGroup.__get__(self, obj, cls)
        public = self.public_group
        if public is not None:
            return public.__get__(obj, cls)
        return missing_attribute(obj, self.__name__, self.refusal())  # an extension of that name may serve


class _OutsideView:
    """``Base.Method`` read through a .NET class that is no Python subclass: the unbound call
    ``Base.Method(self, ...)`` with a Python subclass instance reaches every overload, anything
    else only the public ones."""

    __slots__ = ("_group",)

    def __init__(self, group: ProtectedMethodGroup) -> None:
        self._group = group

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        group = self._group
        if args and handle_of(args[0]) is not None and reachable(type(args[0])):
            return group(*args, **kwargs)
        if group.public_group is not None:
            return group.public_group(*args, **kwargs)
        raise TypeError(group.refusal())

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        return self._group.__doc__

    @property
    def __name__(self) -> str:
        return self._group.__name__

    def __repr__(self) -> str:
        return f"<.NET protected method {self._group.__qualname__}>"


class ProtectedMember(ClassMember):
    """A property, field or event with protected accessors. ``full`` has every accessor;
    ``public`` (or None) only the public ones (``Name { get; protected set; }``: the getter)."""

    __slots__ = ("__name__", "_kind", "_owner", "full", "public", "static")

    def __init__(self, name: str, owner: str, kind: str, full: Any, public: Any) -> None:
        self.__name__ = name
        self._owner = owner
        self._kind = kind
        self.full = full
        self.public = public
        self.static = full.static

    def refusal(self) -> str:
        return _refusal(self._owner, self.__name__, self._kind)

    def __clr_hidden_from__(self, cls: Any) -> bool:
        return self.public is None and not reachable(cls)

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        return f"protected {self.full.__doc__}"

    def _choose(self, cls: Any, obj: Any) -> Any:
        if reachable(cls):
            return self.full
        if self.public is not None:
            return self.public
        raise AttributeError(self.refusal(), name=self.__name__, obj=obj)

    def _chosen(self, obj: Any, cls: Any) -> Any:
        """What ``obj.name`` reads: a hidden member's name may still be an extension method."""
        if reachable(type(obj)) or self.public is not None:
            return self._choose(type(obj), obj).__get__(obj, cls)
        return missing_attribute(obj, self.__name__, self.refusal())

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if obj is None:
            if not self.static:
                return self
            return self._choose(cls, None).__get__(None, cls)
        return self._chosen(obj, cls)

    def _writer(self, cls: Any, obj: Any) -> Any:
        target = self._choose(cls, obj)
        if target is not self.full and getattr(target, "_set", 1) == 0 and getattr(self.full, "_set", 0):
            # Name { get; protected set; } written from outside: say why, not "read-only".
            raise AttributeError(f"the setter of {self.refusal()}", name=self.__name__, obj=obj)
        return target

    def __set__(self, obj: Any, value: Any) -> None:
        self._writer(type(obj), obj).__set__(obj, value)

    def set_static(self, value: Any) -> None:
        self.set_static_on(None, value)

    def set_static_on(self, cls: Any, value: Any) -> None:
        """``Cls.Member = value`` for a static member: allowed through a Python subclass."""
        self._writer(cls, None).set_static(value)

    def __delete__(self, obj: Any) -> None:
        self.full.__delete__(obj)

    def __repr__(self) -> str:
        return f"<.NET protected {self._kind} {self._owner}.{self.__name__}>"


def protected_indexer(
    owner: str, getters: tuple[Overload, ...], setters: tuple[Overload, ...]
) -> dict[str, Callable[..., Any]]:
    """``__getitem__`` / ``__setitem__`` of a class whose indexer is protected (C#'s
    ``protected string this[int i]``): ``self[i]`` in a Python subclass (or on any object under
    :func:`open_protected`); from outside, a TypeError that says why."""
    made: dict[str, Callable[..., Any]] = {}

    def check(obj: Any) -> None:
        if not reachable(type(obj)):
            raise TypeError(_refusal(owner, "this[...]", "indexer"))

    if getters:
        get_group = MethodGroup("__getitem__", owner, getters)

        def __getitem__(self: Any, key: Any) -> Any:
            check(self)
            return get_group.call(self, key if isinstance(key, tuple) else (key,), {})

        made["__getitem__"] = __getitem__
    if setters:
        set_group = MethodGroup("__setitem__", owner, setters)

        def __setitem__(self: Any, key: Any, value: Any) -> None:
            check(self)
            set_group.call(self, (*(key if isinstance(key, tuple) else (key,)), value), {})

        made["__setitem__"] = __setitem__
    return made
