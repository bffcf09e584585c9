"""Base classes of every proxy: the object base with its Python protocols (``str``, ``repr``,
``==``, ``hash``, ``dir``) and the extension-method names on it, and the enum base.

Around them, in their own modules: the metaclass and class-level behaviour (:mod:`.meta`),
turning handles into proxies (:mod:`.wrapping`), enum values (:mod:`.enum_values`), missing
attributes (:mod:`.missing`), the native finalizers (:mod:`.finalizers`) and early release
(:mod:`.release`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..host.errors import ClrError
from ..host.locks import SignalSafeLock
from ..values.objects import handle_of
from . import missing as _missing
from .catalog import class_by_name
from .enum_values import SIZES, enum_value
from .meta import ClrEnumMeta, ClrMeta
from .missing import ExtensionAttribute, missing_attribute
from .wrapping import DERIVED_TYPE_IDS, EXCEPTION_TYPE_IDS, wrap  # re-exported: proxies.direct imports them here

__all__ = [
    "DERIVED_TYPE_IDS",
    "EXCEPTION_TYPE_IDS",
    "ClrEnum",
    "ClrError",
    "ClrObject",
    "handle_of",
    "wrap",
]


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
        mask = (1 << (8 * SIZES.get(type(self).__clr_info__.enum_underlying, 4))) - 1
        inverted = ~int(self) & mask
        if type(self).__clr_info__.enum_underlying in ("SByte", "Int16", "Int32", "Int64"):
            bits = 8 * SIZES[type(self).__clr_info__.enum_underlying]
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
