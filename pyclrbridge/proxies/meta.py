"""The metaclass of every proxy class, and what it does at class level: ``isinstance`` and
``issubclass`` following .NET, ``cls[...]`` (generic instantiation, an enum member by name),
calling a class (constructing, an enum value from a number or name), assigning and deleting
class attributes, ``dir()`` of a class, and the enum classes' metaclass."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..host import typeinfo as _typeinfo
from . import wrapping as _wrapping
from .binder import arg_kind as _arg_kind
from .catalog import instantiate
from .construction import construct
from .enum_values import SIGNED, SIZES, enum_value
from .member_errors import member_error
from .missing import ExtensionAttribute

__all__ = ["ClassMember", "ClrEnumMeta", "ClrMeta", "install_derived"]


def _no_derived(cls: Any) -> None:
    raise RuntimeError("Python subclasses of .NET types are not installed (import pyclrbridge first)")


# How a Python class statement deriving from a .NET type emits its .NET type (a handle of such
# a type becoming the Python object itself is wrapping's): the callbacks layer installs it at
# package import (install_derived); a module global written once, then read.
_prepare_derived: Callable[[Any], None] = _no_derived


def install_derived(prepare: Callable[[Any], None], adopt: Callable[[int], Any]) -> None:
    """Registration from the callbacks layer: Python classes deriving from .NET types."""
    global _prepare_derived
    _prepare_derived = prepare
    _wrapping.install_adopt(adopt)


class ClassMember:
    """Base of the descriptors that assigning on a class must not replace (properties, fields,
    events): ``Cls.Static = x`` sets a static member through .NET, an instance one is refused."""

    __slots__ = ()
    static: bool

    def set_static(self, value: Any) -> None:
        raise NotImplementedError


_UNSET = object()
# Per proxy class: its constructor group when ``Cls(...)`` with other than one positional
# argument is always a plain constructor call, else None. A pure memo (populated classes
# never change) published with setdefault.
_plain_ctors: dict[type, Any] = {}


def _plain_ctor(cls: Any) -> Any:
    """The constructor group ``construction.construct`` would call for ``cls`` whatever the
    arguments (other than exactly one positional), or None when another rule may apply."""
    d = cls.__dict__
    info = d.get("__clr_info__")
    if info is None or "__clr_derived__" in d or info.kind not in ("class", "struct") or issubclass(cls, BaseException):
        return None  # (an exception also keeps its constructor arguments: construction.construct)
    if info.generic_def or info.open or info.static or info.abstract:
        return None
    return d.get("__clr_ctor_group__")


def _refuse_rebinding(klass: type, name: str, verb: str) -> None:
    """A member of a .NET class itself (an enum value, a method group, a nested type) cannot be
    rebound or deleted: it would change the type for every user. Python subclasses' own
    attributes, and attributes a user added, stay free."""
    member = klass.__dict__[name]
    # (an enum value is an instance of a class of ClrEnumMeta's: of ClrEnum's subclasses)
    bridged = (
        isinstance(member, ClrMeta)
        or isinstance(type(member), ClrEnumMeta)
        or type(member).__module__.startswith("pyclrbridge.")
    )
    # A protocol member the bridge gave the class (__getitem__ of an indexer, __len__...): deleting
    # it would break every instance too.
    protocol = (
        verb == "delete"
        and name.startswith("__")
        and name.endswith("__")
        and str(getattr(member, "__module__", "")).startswith("pyclrbridge.")
    )
    if klass.__dict__.get("__clr_type_id__") and (protocol or (not name.startswith("_") and bridged)):
        raise member_error(
            f"cannot {verb} {klass.__dict__.get('__clr_name__', klass.__name__)}.{name}: "
            "it is a member of the .NET type"
        )


class _FixedClass:
    """``__class__`` on instances of a Python class deriving from .NET: read as usual, never
    reassigned. .NET holds such an instance as an object of the class's emitted type, which
    lives only while the Python class does; ``a.__class__ = B`` would let that class die
    while .NET still calls into ``a`` (and make ``a`` claim a .NET type it is not)."""

    __slots__ = ()

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        return type(obj) if obj is not None else cls

    def __set__(self, obj: Any, value: Any) -> None:
        raise TypeError(
            f"cannot change the class of a {type(obj).__qualname__} instance: it is a .NET object of "
            f"the type emitted for its class, which .NET may still hold"
        )

    def __delete__(self, obj: Any) -> None:
        self.__set__(obj, None)


_FIXED_CLASS = _FixedClass()


def _member(klass: type, name: str) -> Any:
    """The .NET member ``name`` of ``klass``: its Python descriptor, even once something else
    took its place in the class dict (``__clr_members__``: a constant's value, see
    properties.Property._freeze, or a native member, see proxies.native)."""
    d = klass.__dict__
    replaced = d.get("__clr_members__")
    if replaced is not None and name in replaced:
        return replaced[name]
    return d.get(name)


#: ClrMeta's blank-instance makers: each resolves only on the classes it fits (reading one
#: elsewhere raises TypeError), so they are left out of ``dir()`` of the metaclass, which
#: completers walk (rlcompleter offers every name it lists and stops at the first that raises).
_BLANK_MAKERS = frozenset({"__clr_blank__", "__clr_blank_error__", "__clr_blank_oserror__"})


class _ClrMetaType(type):
    """The type of :class:`ClrMeta`: its ``dir()`` leaves out :data:`_BLANK_MAKERS`."""

    def __dir__(cls) -> list[str]:
        return [name for name in super().__dir__() if name not in _BLANK_MAKERS]


class ClrMeta(type, metaclass=_ClrMetaType):
    """Metaclass of every proxy class: ``isinstance``/``issubclass`` follow .NET, ``cls[...]``
    instantiates generics, calling the class constructs (or casts to an interface)."""

    __clr_type_id__: int
    __clr_name__: str
    __clr_info__: Any

    #: A new instance with an empty handle slot, made by reading this attribute of the class:
    #: the property calls ``object.__new__`` from C, and an attribute read checks for no signals
    #: where a call's return does. So a proxy made this way has its slot set before anything
    #: checks for signals (``wrapping.wrap_value``). (One dropped with an empty slot anyway, by a
    #: failed construction, is freed silently: see ``finalizers.install_finalizer``.)
    __clr_blank__ = property(object.__new__)
    #: The same for a .NET exception class (a Python exception): ``BaseException.__new__``,
    #: or ``OSError.__new__`` for one that is also an OSError.
    __clr_blank_error__ = property(BaseException.__new__)
    __clr_blank_oserror__ = property(OSError.__new__)

    def __instancecheck__(cls, obj: Any) -> bool:
        t = type(obj)
        if t is cls or cls in t.__mro__:
            return True
        tid = getattr(t, "__clr_type_id__", 0)
        mine = cls.__dict__.get("__clr_type_id__", 0)
        return bool(tid and mine) and _typeinfo.assignable(mine, tid) == 1

    def __subclasscheck__(cls, sub: Any) -> bool:
        if not isinstance(sub, type):
            raise TypeError("issubclass() arg 1 must be a class")
        if cls in sub.__mro__:
            return True
        tid = sub.__dict__.get("__clr_type_id__", 0) if isinstance(sub, ClrMeta) else 0
        mine = cls.__dict__.get("__clr_type_id__", 0)
        return bool(tid and mine) and _typeinfo.assignable(mine, tid) == 1

    def __getitem__(cls, args: Any) -> Any:
        if isinstance(args, str) and isinstance(cls, ClrEnumMeta):
            return _enum_member(cls, args)  # Color["Green"], like a Python Enum
        return instantiate(cls, args if isinstance(args, tuple) else (args,))

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        if "__clr_info__" not in namespace and any(isinstance(b, ClrMeta) for b in bases):
            namespace["__class__"] = _FIXED_CLASS  # a Python class deriving from .NET (see __init__)
        return super().__new__(mcls, name, bases, namespace, **kwargs)

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(name, bases, namespace, **kwargs)
        if (
            "__clr_info__" not in namespace
            and not issubclass(cls, BaseException)
            and any(isinstance(b, ClrMeta) and getattr(b, "__clr_type_id__", 0) for b in bases)
        ):
            # A class statement deriving from a .NET class or interface: emit its .NET type.
            _prepare_derived(cls)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) != 1 or kwargs:  # the hot path: a plain constructor call (see _plain_ctor)
            group = _plain_ctors.get(cls, _UNSET)
            if group is _UNSET and "__clr_ctors__" in cls.__dict__:  # the class is populated
                group = _plain_ctor(cls)
                if "__clr_mentions__" not in cls.__dict__:  # (such a class must stay free to die)
                    group = _plain_ctors.setdefault(cls, group)
            if group is not None and group is not _UNSET:
                if not kwargs:  # the constructor invoker for these argument kinds, as group.call does
                    kinds = () if not args else tuple(map(_arg_kind, args))
                    run = group._static_invokers.get(kinds)
                    if run is not None:
                        return run(0, args)
                return group.call(None, args, kwargs)
        if len(args) == 1 and not kwargs and isinstance(cls, ClrEnumMeta) and cls.__dict__.get("__clr_type_id__"):
            return _enum_from(cls, args[0])  # Color(1), Perms(3), Color("Green")
        derived = cls.__dict__.get("__clr_derived__")
        if derived is not None:
            return derived.construct(cls, args, kwargs)
        return construct(cls, args, kwargs)

    # A class is not iterable (only an enum class is: ClrEnumMeta), though cls[...] exists for
    # generics: None stops iter() from falling back to __getitem__, and Iterable from claiming it.
    __iter__ = None

    def __setattr__(cls, name: str, value: Any) -> None:
        for klass in cls.__mro__:
            member = _member(klass, name)
            if isinstance(member, ClassMember):
                if member.static:
                    set_on = getattr(member, "set_static_on", None)  # protected: depends on the class
                    if set_on is not None:
                        set_on(cls, value)
                    else:
                        member.set_static(value)
                    return
                # Assigning would replace the descriptor and break every instance.
                raise member_error(f"{member!r} is an instance member: set it on an object, not on the class")
            if member is not None:
                _refuse_rebinding(klass, name, "assign")
                break
        super().__setattr__(name, value)

    def __delattr__(cls, name: str) -> None:
        for klass in cls.__mro__:
            member = _member(klass, name)
            if member is not None:
                if isinstance(member, ClassMember):
                    raise member_error(f"cannot delete {member!r}: .NET members stay for the life of the process")
                _refuse_rebinding(klass, name, "delete")
                break
        super().__delattr__(name)

    def __repr__(cls) -> str:
        kind = cls.__dict__.get("__clr_kind__", "type")
        return f"<.NET {kind} {cls.__dict__.get('__clr_name__', cls.__name__)}>"

    def __dir__(cls) -> list[str]:
        # .NET members plus Python's own dunders; never the bridge's internals (__clr_*, _h), nor
        # protected members the class cannot reach: a completer (rlcompleter) offers an object
        # every name its class lists, so each must work on the class's objects too.
        found: dict[str, Any] = {}
        for k in cls.__mro__:
            for n, v in k.__dict__.items():
                if not n.startswith("_") and type(v) is not ExtensionAttribute:  # no class has those
                    found.setdefault(n, v)  # the member attribute lookup finds: the first in the MRO
        return sorted(
            {n for n, v in found.items() if not _hidden_from(v, cls)}
            | {n for n in type.__dir__(cls) if n.startswith("__") and n.endswith("__") and not n.startswith("__clr")}
        )


def _hidden_from(member: Any, cls: type) -> bool:
    """Whether ``member`` is a protected .NET member that ``cls`` and its objects cannot reach."""
    hidden = getattr(type(member), "__clr_hidden_from__", None)
    return hidden is not None and bool(hidden(member, cls))


# help(SomeClass) and inspect.signature(SomeClass) show "(*args, **kwargs)": any arguments, for
# the overloaded .NET constructors listed in the class's __doc__ (not __call__'s annotations).
ClrMeta.__call__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("cls", inspect.Parameter.POSITIONAL_ONLY),
        inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
        inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
    ]
)


def _enum_member(cls: Any, name: str) -> Any:
    member = cls.__dict__.get(name)
    if type(member) is not cls:
        raise KeyError(f"{cls.__clr_name__} has no member {name!r}; members: " + ", ".join(str(v) for v in cls))
    return member


def _enum_from(cls: Any, value: Any) -> Any:
    """An enum value from its number (any value the underlying type holds) or member name."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        return _enum_member(cls, value)
    if isinstance(value, bool) or isinstance(type(value), ClrEnumMeta) or not isinstance(value, int):
        raise TypeError(f"{cls.__clr_name__}(...) takes an int or a member name, not {type(value).__name__}")
    underlying = cls.__clr_info__.enum_underlying
    bits = 8 * SIZES.get(underlying, 4)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if underlying in SIGNED else (0, (1 << bits) - 1)
    if not lo <= value <= hi:
        raise OverflowError(f"{value} is out of range for {cls.__clr_name__} (a System.{underlying}: {lo} to {hi})")
    return enum_value(cls.__clr_type_id__, value)


class ClrEnumMeta(ClrMeta):
    """Metaclass of the enum classes: only they are iterable (their members), so only they
    claim ``collections.abc.Iterable`` (``isinstance(StringBuilder, Iterable)`` is False)."""

    def __iter__(cls) -> Any:  # type: ignore[override]  # None in ClrMeta: not iterable
        """The members of an enum, in declaration order."""
        if not cls.__dict__.get("__clr_type_id__"):
            raise TypeError(f"{cls.__name__} is the base of .NET enums, not an enum (iterate an enum class)")
        return iter([v for v in cls.__dict__.values() if type(v) is cls])
