"""Base classes of every proxy: the metaclass (class-level behaviour), the object base with
its Python protocols (``str``, ``repr``, ``==``, ``hash``, ``dir``), and enums.

Around them, in their own modules: turning handles into proxies (:mod:`.wrapping`), enum values
(:mod:`.enum_values`), extension-method names and missing attributes (:mod:`.missing`), the
native finalizers (:mod:`.finalizers`) and early release (:mod:`.release`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..host.errors import ClrError
from ..host.locks import SignalSafeLock
from ..values.objects import handle_of
from . import missing as _missing
from . import wrapping as _wrapping
from .binder import arg_kind as _arg_kind
from .catalog import class_by_name, instantiate
from .construction import construct
from .enum_values import enum_value
from .member_errors import member_error
from .missing import ExtensionAttribute, missing_attribute
from .wrapping import DERIVED_TYPE_IDS, EXCEPTION_TYPE_IDS, wrap  # re-exported: proxies.direct imports them here

__all__ = [
    "DERIVED_TYPE_IDS",
    "EXCEPTION_TYPE_IDS",
    "ClassMember",
    "ClrEnum",
    "ClrError",
    "ClrMeta",
    "ClrObject",
    "handle_of",
    "install_derived",
    "wrap",
]


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
    bridged = isinstance(member, (ClrEnum, ClrMeta)) or type(member).__module__.startswith("pyclrbridge.")
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
        if isinstance(args, str) and issubclass(cls, ClrEnum):
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
        if len(args) == 1 and not kwargs and issubclass(cls, ClrEnum) and cls.__dict__.get("__clr_type_id__"):
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


# Member ids of System.Object's ToString / Equals / GetHashCode, found once at first use.
# Owner: _object_members_lock guards the one-time lookup.
_object_members_lock = SignalSafeLock("pyclrbridge.proxies.base._object_members_lock")
_object_members: dict[str, Any] = {}


def _object_member(name: str) -> Any:
    found = _object_members.get(name)
    if found is None:
        _ = _object_members_lock.taken
        try:
            if not _object_members:
                obj = class_by_name("System.Object")
                _object_members.update(
                    ToString=obj.__dict__["ToString"],
                    Equals=obj.__dict__["Equals"],
                    GetHashCode=obj.__dict__["GetHashCode"],
                )
            found = _object_members[name]
        finally:
            _object_members_lock.release()
    return found


def _call_object_member(name: str, obj: Any) -> Any:
    return _object_member(name).call(obj, (), {})


# How str() and hash() call Object.ToString / GetHashCode: through the method group, or the
# quicker per-class path proxies.direct installs (install_object_calls). Written once at import.
_object_call: Callable[[str, Any], Any] = _call_object_member


def install_object_calls(call: Callable[[str, Any], Any]) -> None:
    """Registration from :mod:`.direct`: ``call(name, obj)`` runs ``ToString`` or ``GetHashCode``."""
    global _object_call
    _object_call = call


def _missing_hook(self: Any, name: str) -> Any:
    return missing_attribute(self, name)


def install_missing_hook() -> None:
    """Give every proxy class a ``__getattr__`` that runs the missing-attribute lookup (what
    pyclrbridge.compat needs for pythonnet's ``obj.get_X()`` accessors, names no class lists).
    Every attribute read of every proxy then pays for the hook: only compat installs it."""
    _ = _extension_names_lock.taken
    try:
        type.__setattr__(ClrObject, "__getattr__", _missing_hook)
    finally:
        _extension_names_lock.release()


# Owner: _extension_names_lock guards installing ExtensionAttribute entries on ClrObject (each
# name once; entries are only ever added, and each is stateless, so readers need no lock).
_extension_names_lock = SignalSafeLock("pyclrbridge.proxies.base._extension_names_lock")


def install_extension_names(names: Any) -> int:
    """Give every proxy the attribute ``name`` for each of ``names`` that no proxy has yet
    (see :class:`ExtensionAttribute`); how many were added. Names starting with ``_`` are never
    extensions, and a name ``type`` or the metaclass has is left to them."""
    added = 0
    _ = _extension_names_lock.taken
    try:
        for name in names:
            if not isinstance(name, str) or not name.isidentifier() or name[:1] == "_":
                continue
            if name in ClrObject.__dict__ or hasattr(ClrMeta, name):
                continue
            type.__setattr__(ClrObject, name, ExtensionAttribute(name))
            added += 1
    finally:
        _extension_names_lock.release()
    return added


def object_member(name: str) -> Any:
    """The method group of System.Object's ``ToString``, ``Equals`` or ``GetHashCode``."""
    return _object_member(name)


def clr_str(obj: Any) -> str:
    return str(_object_call("ToString", obj))


def clr_repr(obj: Any) -> str:
    """``<Full.TypeName: ToString()>``; just ``<Full.TypeName>`` when ToString is the default
    (the type's own name); exceptions show their message instead of ToString's stack trace."""
    cls = type(obj)
    name = cls.__dict__.get("__clr_name__") or cls.__clr_name__
    if isinstance(obj, BaseException):
        return f"<{name}: {obj.args[0] if obj.args else ''}>"
    try:
        text = clr_str(obj)
    except Exception:
        text = "?"
    info = getattr(cls, "__clr_info__", None)
    if text == name or (info is not None and _is_default_to_string(text, info)):
        return f"<{name}>"
    return f"<{name}: {text}>"


def _is_default_to_string(text: str, info: Any) -> bool:
    """Object.ToString() gives Type.ToString(): the full name, generic arguments in brackets."""
    if text == info.full_name:
        return True
    if info.generic_def_id:
        return text.startswith(_typeinfo.info(info.generic_def_id).full_name + "[")
    return False


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
    if isinstance(value, (ClrEnum, bool)) or not isinstance(value, int):
        raise TypeError(f"{cls.__clr_name__}(...) takes an int or a member name, not {type(value).__name__}")
    underlying = cls.__clr_info__.enum_underlying
    bits = 8 * _SIZES.get(underlying, 4)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if underlying in _SIGNED else (0, (1 << bits) - 1)
    if not lo <= value <= hi:
        raise OverflowError(f"{value} is out of range for {cls.__clr_name__} (a System.{underlying}: {lo} to {hi})")
    return enum_value(cls.__clr_type_id__, value)


class ClrObject(metaclass=ClrMeta):
    """Base of every .NET object proxy. ``_h`` is the GCHandle this Python object owns."""

    __slots__ = ("__weakref__", "_h")
    __clr_type_id__ = 0
    __clr_name__ = "object"
    # What ctypes passes for a proxy given to an export taking an int64: its handle. No proxy
    # class has a __getattr__ (it would send every attribute read through a Python-level hook
    # that CPython 3.12+ cannot specialise): extension methods are attributes of this class
    # (ExtensionAttribute), and a missing name is CPython's own AttributeError.
    _as_parameter_: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Reached only by Python subclasses (proxies are made by wrap): construct the .NET base.
        derived = getattr(type(self), "__clr_derived__", None)
        if derived is not None:
            derived.init_base(self, args, kwargs)

    # _free is bound at class creation: at interpreter teardown this module's globals may
    # already be None while proxies still die (objects kept alive by caches until then).
    def __del__(self, _free: Any = _bridge.free_handle) -> None:
        h = getattr(self, "_h", 0)
        if h:
            self._h = 0
            _free(h)

    def __str__(self) -> str:
        return clr_str(self)

    def __repr__(self) -> str:
        return clr_repr(self)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if handle_of(other) is None:
            return NotImplemented
        return bool(_object_member("Equals").call(self, (other,), {}))

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return int(_object_call("GetHashCode", self))

    def __dir__(self) -> list[str]:
        # Class-only helpers (``Widget.overloads``) say so with __clr_class_only__.
        return sorted(
            {
                n
                for k in type(self).__mro__
                for n, v in k.__dict__.items()
                if not n.startswith("_")
                and type(v) is not ExtensionAttribute  # listed below when one applies
                and not getattr(v, "__clr_class_only__", False)
                and not (hasattr(v, "__clr_hidden_from__") and v.__clr_hidden_from__(type(self)))  # protected
            }
            | set(_missing._extension_names(self))
            | {n for n in object.__dir__(self) if n[:2] == "__" == n[-2:] and not n.startswith("__clr")}  # dunders
        )


class ClrEnumMeta(ClrMeta):
    """Metaclass of the enum classes: only they are iterable (their members), so only they
    claim ``collections.abc.Iterable`` (``isinstance(StringBuilder, Iterable)`` is False)."""

    def __iter__(cls) -> Any:  # type: ignore[override]  # None in ClrMeta: not iterable
        """The members of an enum, in declaration order."""
        if not cls.__dict__.get("__clr_type_id__"):
            raise TypeError(f"{cls.__name__} is the base of .NET enums, not an enum (iterate an enum class)")
        return iter([v for v in cls.__dict__.values() if type(v) is cls])


# The same member descriptor as ``_h``: reading ``proxy._as_parameter_`` reads its handle slot.
ClrObject._as_parameter_ = ClrObject.__dict__["_h"]
_missing.install_root(ClrObject)


class ClrEnum(ClrObject, metaclass=ClrEnumMeta):
    """Base of .NET enum values: int-like, combinable when the enum is ``[Flags]``."""

    __slots__ = ("_value",)
    _value: int

    def __int__(self) -> int:
        return int(self._value)

    def __index__(self) -> int:
        return int(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ClrEnum):
            return type(other) is type(self) and other._value == self._value
        if isinstance(other, int) and not isinstance(other, bool):
            return bool(other == self._value)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __lt__(self, other: Any) -> bool:
        return int(self) < int(other)

    def __le__(self, other: Any) -> bool:
        return int(self) <= int(other)

    def __gt__(self, other: Any) -> bool:
        return int(self) > int(other)

    def __ge__(self, other: Any) -> bool:
        return int(self) >= int(other)

    def _combine(self, other: Any, op: Any) -> Any:
        if isinstance(other, ClrEnum) and type(other) is not type(self):
            return NotImplemented
        if not isinstance(other, (int, ClrEnum)):
            return NotImplemented
        return enum_value(type(self).__clr_type_id__, op(int(self), int(other)))

    def __or__(self, other: Any) -> Any:
        return self._combine(other, int.__or__)

    __ror__ = __or__

    def __and__(self, other: Any) -> Any:
        return self._combine(other, int.__and__)

    __rand__ = __and__

    def __xor__(self, other: Any) -> Any:
        return self._combine(other, int.__xor__)

    __rxor__ = __xor__

    def __invert__(self) -> Any:
        mask = (1 << (8 * _SIZES.get(type(self).__clr_info__.enum_underlying, 4))) - 1
        inverted = ~int(self) & mask
        if type(self).__clr_info__.enum_underlying in ("SByte", "Int16", "Int32", "Int64"):
            bits = 8 * _SIZES[type(self).__clr_info__.enum_underlying]
            if inverted >= 1 << (bits - 1):
                inverted -= 1 << bits
        return enum_value(type(self).__clr_type_id__, inverted)

    def __contains__(self, flag: Any) -> bool:
        f = int(flag)
        return (int(self) & f) == f

    def __bool__(self) -> bool:
        return int(self) != 0

    def __repr__(self) -> str:
        return f"<{type(self).__clr_name__}.{self}: {int(self)}>"

    def __reduce__(self) -> Any:
        return (enum_value, (type(self).__clr_type_id__, int(self)))


_SIGNED = frozenset({"SByte", "Int16", "Int32", "Int64"})
_SIZES = {"SByte": 1, "Byte": 1, "Int16": 2, "UInt16": 2, "Int32": 4, "UInt32": 4, "Int64": 8, "UInt64": 8}
