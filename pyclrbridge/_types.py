"""Proxy classes for .NET types, built once per type (DESIGN section 4, two-level cache).

One pipeline: complete-cache check, then under the build lock: in-progress check, type info,
bases, the class object (parked in ``_in_progress``), member table, protocols, publish to
``_complete`` last. Only complete classes are ever visible outside the lock.
"""

from __future__ import annotations

import ctypes
import dataclasses
import threading
from typing import Any

from . import _bridge, _typeinfo
from ._binder import Overload, Param
from ._convert import PYTHON_TYPE_NAMES, from_value, to_value
from ._errors import BUILTIN_FOR_EXCEPTION, ClrError
from ._events import Event
from ._members import MethodGroup
from ._properties import Property
from ._proxy import ClrEnum, ClrMeta, ClrObject, clr_repr, enum_value, handle_of
from ._shim import Kind, Value

# Owner: _build_lock (reentrant: building a class builds its base first, on the same thread).
# _complete is read without the lock and holds only finished classes; _in_progress is only
# touched under the lock.
_build_lock = threading.RLock()
_complete: dict[int, ClrMeta] = {}
_in_progress: dict[int, ClrMeta] = {}
_builds = 0  # how many classes were built (stats); written under _build_lock


def class_for(type_id: int) -> Any:
    """The one Python class for a .NET type id."""
    cls = _complete.get(type_id)
    if cls is not None:
        return cls
    with _build_lock:
        cls = _complete.get(type_id) or _in_progress.get(type_id)
        if cls is not None:
            return cls
        return _build(type_id)


def cached_class_count() -> int:
    return len(_complete)


def class_by_name(name: str) -> Any:
    """The class for a full or assembly-qualified .NET type name."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a .NET type name must be a non-empty str, not {name!r}")
    type_id = _typeinfo.id_by_name(name)
    if not type_id and "." in name and "," not in name:
        data, n = _bridge.utf16(name.rsplit(".", 1)[0])
        if _bridge.shim().TryLoadNamespace(data, n):
            type_id = _typeinfo.id_by_name(name)
    if not type_id:
        raise LookupError(f"no .NET type named {name!r} in the loaded assemblies "
                          "(add_reference() the assembly that defines it)")
    return class_for(type_id)


def _is_exception(info: _typeinfo.TypeInfo) -> bool:
    t: _typeinfo.TypeInfo | None = info
    while t is not None:
        if t.full_name == "System.Exception":
            return True
        t = _typeinfo.info(t.base) if t.base else None
    return False


def _builtin_mixin(info: _typeinfo.TypeInfo) -> type[BaseException] | None:
    return BUILTIN_FOR_EXCEPTION.get(info.full_name)


def _python_name(info: _typeinfo.TypeInfo) -> str:
    return info.display.rsplit(".", 1)[-1] if info.kind != "array" else info.display


def _bases(info: _typeinfo.TypeInfo) -> tuple[type, ...]:
    if info.kind == "interface" or info.kind == "generic-param":
        return (ClrObject,)
    if _is_exception(info):
        parent: type = ClrError
        if info.full_name != "System.Exception" and info.base:
            parent = class_for(info.base)
        mixin = _builtin_mixin(info)
        if mixin is not None and not issubclass(parent, mixin):
            return (parent, mixin)
        return (parent,)
    base = class_for(info.base) if info.base else ClrObject
    if info.kind == "enum":
        return (base, ClrEnum)
    if not info.visible and info.kind in ("class", "struct"):
        # A non-public type shows what C# outside its assembly could reach: the members of
        # its public base and of the public interfaces the base does not already have.
        extra = tuple(class_for(i) for i in info.interfaces
                      if not info.base or _typeinfo.assignable(i, info.base) != 1)
        return (base, *extra)
    return (base,)


def _exception_namespace() -> dict[str, Any]:
    def __str__(self: BaseException) -> str:
        return str(self.args[0]) if self.args else ""

    def __del__(self: Any, _free: Any = _bridge.free_handle) -> None:  # bound early: see ClrObject.__del__
        h = self.__dict__.get("_h", 0)
        if h:
            self._h = 0
            _free(h)

    return {"__str__": __str__, "__del__": __del__, "__repr__": clr_repr}


def _build(type_id: int) -> Any:
    global _builds
    info = _typeinfo.info(type_id)
    bases = _bases(info)
    namespace: dict[str, Any] = {
        "__clr_type_id__": type_id,
        "__clr_name__": f"{info.namespace}.{info.display}" if info.namespace else info.display,
        "__clr_info__": info,
        "__clr_kind__": info.kind,
        "__module__": info.namespace or "System",
        "__qualname__": _python_name(info),
    }
    if issubclass(bases[0], BaseException):
        namespace.update(_exception_namespace())
    else:
        namespace["__slots__"] = ()
    cls = ClrMeta(_python_name(info), bases, namespace)
    _in_progress[type_id] = cls
    try:
        _populate(cls, info)
        from ._protocols import apply_protocols

        apply_protocols(cls, info)
    except BaseException:
        del _in_progress[type_id]
        raise
    _complete[type_id] = cls  # publish last: now every member is present
    del _in_progress[type_id]
    _builds += 1
    return cls


class NestedType:
    """A nested type, resolved on first access (building it eagerly could recurse).

    Inside a constructed generic (``Outer[int]``) a nested type shares the outer type
    arguments: ``Outer[int].Inner`` is ``Outer<int>.Inner`` when it has no parameters of its
    own, and otherwise waits for them: ``Outer[int].Inner[str]``.
    """

    __slots__ = ("__name__", "_resolved", "outer_args", "type_id")

    def __init__(self, name: str, type_id: int, outer_args: tuple[int, ...] = ()) -> None:
        self.__name__ = name
        self.type_id = type_id
        self.outer_args = outer_args
        # Write-once memo: a lost race stores the same class (class_for is the one cache).
        self._resolved: Any = None

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        found = self._resolved
        if found is None:
            found = self._resolved = self._resolve()
        return found

    def _resolve(self) -> Any:
        nested = _typeinfo.info(self.type_id)
        if not self.outer_args or not nested.generic_def:
            return class_for(self.type_id)
        if len(nested.generic_args) == len(self.outer_args):
            return class_for(_typeinfo.make_generic(self.type_id, list(self.outer_args)))
        return PartialGeneric(self.type_id, self.outer_args)


class PartialGeneric:
    """A generic type nested in a constructed generic, still waiting for its own type
    arguments: ``Outer[int].Inner`` before ``[str]``."""

    __slots__ = ("outer_args", "type_id")

    def __init__(self, type_id: int, outer_args: tuple[int, ...]) -> None:
        self.type_id = type_id
        self.outer_args = outer_args

    def __getitem__(self, args: Any) -> Any:
        items = args if isinstance(args, tuple) else (args,)
        ids = [*self.outer_args, *(type_id_for(a) for a in items)]
        expected = len(_typeinfo.info(self.type_id).generic_args) - len(self.outer_args)
        if len(items) != expected:
            raise TypeError(f"{self!r} takes {expected} type argument(s), got {len(items)}")
        return class_for(_typeinfo.make_generic(self.type_id, ids))

    def __repr__(self) -> str:
        outer = ", ".join(_typeinfo.info(a).display for a in self.outer_args)
        return f"<.NET generic type {_typeinfo.info(self.type_id).display} (outer type arguments: {outer})>"


class ConstructorOverloads:
    """``Widget.overloads[int](3)``: pick a constructor by its parameter types (class only)."""

    __slots__ = ()
    __clr_class_only__ = True  # not listed by dir() of instances

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        from ._members import OverloadSelector

        group = cls.__dict__.get("__clr_ctor_group__") if cls is not None else None
        if obj is not None or group is None:
            raise AttributeError("overloads")
        return OverloadSelector(group)


def _set(cls: type, name: str, value: Any) -> None:
    type.__setattr__(cls, name, value)


def _call_delegate(self: Any, *args: Any, **kwargs: Any) -> Any:
    """A .NET delegate is callable from Python: ``adder(4)`` calls its ``Invoke``."""
    return self.Invoke(*args, **kwargs)


def _populate(cls: Any, info: _typeinfo.TypeInfo) -> None:
    if not info.visible and info.kind in ("class", "struct") and not issubclass(cls, BaseException):
        _set(cls, "__clr_ctors__", ())
        _set(cls, "__doc__", f".NET non-public {info.kind} {cls.__clr_name__} (assembly {info.assembly}): "
                             "only the members of its public base class and interfaces are reachable")
        return
    table = _typeinfo.members(info.id)
    owner = cls.__clr_name__
    ctors = tuple(Overload.from_json(c) for c in table["ctors"])
    _set(cls, "__clr_ctors__", ctors)
    if ctors:
        ctor_group = MethodGroup(info.display.split("[")[0].rsplit(".", 1)[-1], owner, ctors)
        ctor_group.__qualname__ = owner  # errors name the type: "no overload of Ns.Widget accepts..."
        _set(cls, "__clr_ctor_group__", ctor_group)
        _set(cls, "overloads", ConstructorOverloads())  # set first: a .NET member of that name replaces it
    for name, overloads in table["methods"].items():
        group = MethodGroup(name, owner, tuple(Overload.from_json(o) for o in overloads))
        _set(cls, name, group)
    getters: list[Overload] = []
    setters: list[Overload] = []
    for p in table["properties"]:
        index = tuple(Param.from_json(i) for i in p["index"])
        if index:
            value = Param("value", p["type"], 0, False, None, False)
            if "get" in p:
                getters.append(Overload(p["get"], p["name"], p["static"], f"{p['name']}[...]", index, p["type"], ()))
            if "set" in p:
                setters.append(Overload(p["set"], p["name"], p["static"], f"{p['name']}[...] = value",
                                        (*index, value), 0, ()))
            continue
        type_name = p.get("typeName") or _typeinfo.info(p["type"]).display
        doc = f"{type_name} {p['name']} {{{' get;' if 'get' in p else ''}{' set;' if 'set' in p else ''} }}"
        _set(cls, p["name"], Property(p["name"], owner, p.get("get", 0), p.get("set", 0), p["static"], doc,
                                      type_id=p["type"]))
    for f in table["fields"]:
        type_name = f.get("typeName") or _typeinfo.info(f["type"]).display
        mods = "const " if f["const"] else ("readonly " if f["readonly"] else "")
        _set(cls, f["name"], Property(f["name"], owner, f["id"], 0 if f["readonly"] else f["id"], f["static"],
                                      f"{mods}{type_name} {f['name']}", field=True, readonly=f["readonly"],
                                      const=f.get("const", False), type_id=f["type"]))
    for e in table["events"]:
        _set(cls, e["name"], Event(e["name"], owner, e["add"], e["remove"], e["static"], e["type"]))
    for n in table["nested"]:
        outer_args = info.generic_args if info.generic_def_id else ()
        _set(cls, n["name"].split("`")[0], NestedType(n["name"], n["id"], outer_args))
    if getters:
        get_group = MethodGroup("__getitem__", owner, tuple(getters))

        def __getitem__(self: Any, key: Any) -> Any:
            return get_group.call(self, key if isinstance(key, tuple) else (key,), {})

        __getitem__.__clr_group__ = get_group  # type: ignore[attr-defined]  # for _protocols' mapping get
        _set(cls, "__getitem__", __getitem__)
    if setters:
        set_group = MethodGroup("__setitem__", owner, tuple(setters))

        def __setitem__(self: Any, key: Any, value: Any) -> None:
            set_group.call(self, (*(key if isinstance(key, tuple) else (key,)), value), {})

        _set(cls, "__setitem__", __setitem__)
    for name, value in table.get("enumValues", []):
        _set(cls, name, enum_value(info.id, value))
    if "invoke" in table:
        _set(cls, "__clr_invoke__", Overload.from_json(table["invoke"]))
        _set(cls, "__call__", _call_delegate)
    kind_word = {"class": "class", "struct": "struct", "interface": "interface", "enum": "enum",
                 "delegate": "delegate", "array": "array"}.get(info.kind, info.kind)
    lines = [f".NET {kind_word} {cls.__clr_name__} (assembly {info.assembly})"]
    if ctors:
        lines.append("Constructors:")
        lines.extend(f"  {c.sig}" for c in ctors)
    _set(cls, "__doc__", "\n".join(lines))


# ---- construction, generics, type arguments -------------------------------------------

def construct(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``Cls(...)``: constructor call, interface cast, delegate from a callable, or array."""
    info: _typeinfo.TypeInfo | None = cls.__dict__.get("__clr_info__")
    if info is None:
        # A Python subclass or the bare base: plain Python construction.
        return type.__call__(cls, *args, **kwargs)
    if info.kind == "interface" or (info.kind == "delegate" and len(args) == 1 and not kwargs and callable(args[0])):
        return convert(args[0], info.id, as_class=cls if info.kind == "interface" else None)
    if info.kind == "array":
        return new_array(info, args)
    if info.generic_def or info.open:
        raise TypeError(f"{cls.__clr_name__} is a generic type definition: give its type arguments first, "
                        f"e.g. {info.display.split('[')[0]}[int](...)")
    if info.static:
        raise TypeError(f"{cls.__clr_name__} is a static class and cannot be instantiated")
    if info.abstract:
        raise TypeError(f"{cls.__clr_name__} is abstract and cannot be instantiated")
    ctors: tuple[Overload, ...] = cls.__dict__.get("__clr_ctors__", ())
    if info.type_code not in ("Object", "Empty", "DBNull") and len(args) == 1 and not kwargs:
        # Int64(5), Double(meters) (op_Explicit), Decimal("1.5"): when no constructor takes
        # the argument, calling a primitive type converts, like a C# cast.
        if ctors:
            try:
                return cls.__dict__["__clr_ctor_group__"].call(None, args, kwargs)
            except TypeError:
                pass
        return convert(args[0], info.id)
    if not ctors:
        raise TypeError(f"{cls.__clr_name__} has no public constructor")
    return cls.__dict__["__clr_ctor_group__"].call(None, args, kwargs)


def convert(obj: Any, type_id: int, *, as_class: Any = None, typed: bool = False) -> Any:
    """Convert a Python value to a .NET object of ``type_id`` (a new handle). ``typed``: convert
    by the rules for a parameter of that type (sequences of numbers for T[] become one block)."""
    v = Value()
    keep: list[Any] = []
    to_value(obj, v, keep, type_id if typed else 0)  # a cast: .NET's Convert decides (System.Decimal("1.25") parses)
    out = Value()
    error = Value()
    if _bridge.shim().Convert(ctypes.byref(v), type_id, ctypes.byref(out), ctypes.byref(error)) != 0:
        _bridge.raise_error(error)
    if out.kind == Kind.OBJECT and as_class is not None:
        return wrap_as(out.i, as_class)
    result = from_value(out)
    if as_class is None and out.kind == Kind.OBJECT and _typeinfo.info(type_id).type_code not in ("Object", "Empty"):
        # Primitives (System.Int64(5), System.Decimal("1.5")) come back as Python values.
        unboxed = unbox(result)
        if unboxed is not None:
            return unboxed
    return result  # null stays None, a string or number stays a Python value


def wrap_as(handle: int, cls: Any) -> Any:
    obj = cls.__new__(cls)
    obj._h = handle
    return obj


def unbox(obj: Any) -> Any:
    h = handle_of(obj)
    if h is None:
        return None
    out = Value()
    error = Value()
    if _bridge.shim().Unbox(h, ctypes.byref(out), ctypes.byref(error)) != 0:
        _bridge.raise_error(error)
    return None if out.kind == Kind.VOID else from_value(out)


def new_array(info: _typeinfo.TypeInfo, args: tuple[Any, ...]) -> Any:
    if len(args) != 1:
        raise TypeError(f"{info.display}(...) takes one argument: a length or an iterable")
    arg = args[0]
    if isinstance(arg, int):
        array_cls = class_by_name("System.Array")
        return array_cls.CreateInstance(class_for(info.element), arg)
    from ._buffers import array_from_buffer, array_from_list

    made = array_from_buffer(arg, info.element)  # a buffer of exactly T: one block copy
    if made is None and isinstance(arg, (list, tuple)):
        made = array_from_list(arg, info.element)  # long lists of numbers: packed block by block
    if made is not None:
        return made
    items = arg if isinstance(arg, (list, tuple, bytes, bytearray, memoryview)) else list(arg)
    return convert(items, info.id, typed=True)


def type_id_for(t: Any) -> int:
    """The .NET type id a Python type argument stands for (``int`` -> System.Int32...)."""
    if isinstance(t, ClrMeta) and t.__dict__.get("__clr_type_id__"):
        return int(t.__dict__["__clr_type_id__"])
    if isinstance(t, type) and t in PYTHON_TYPE_NAMES:
        return _typeinfo.id_by_name(PYTHON_TYPE_NAMES[t])
    if isinstance(t, str):
        found = _typeinfo.id_by_name(t)
        if found:
            return found
        raise LookupError(f"no .NET type named {t!r}")
    raise TypeError(f"{t!r} does not name a .NET type (use a .NET class or int, float, str, bool, object)")


def natural_type_id(arg: Any) -> int | None:
    """The .NET type a Python value most naturally is, for generic inference."""
    from ._inference import TypeArg

    if isinstance(arg, TypeArg):
        return arg.type_id
    tid = getattr(type(arg), "__clr_type_id__", 0)
    if tid:
        return int(tid)
    if isinstance(arg, bool):
        return type_id_for(bool)
    if isinstance(arg, int):
        return type_id_for(int) if -(2**31) <= arg < 2**31 else _typeinfo.id_by_name("System.Int64")
    for py in (float, str):
        if isinstance(arg, py):
            return type_id_for(py)
    return None


def instantiate(cls: Any, args: tuple[Any, ...]) -> Any:
    """``Cls[T1, T2]``: a generic instantiation (or ``System.Array[T]``: an array type)."""
    info: _typeinfo.TypeInfo = cls.__clr_info__
    ids = [type_id_for(a) for a in args]
    if info.full_name == "System.Array":
        if len(ids) != 1:
            raise TypeError("System.Array[T] takes one element type")
        return class_for(_typeinfo.array_type(ids[0]))
    if info.generic_def and len(info.generic_args) == len(ids):
        return class_for(_typeinfo.make_generic(info.id, ids))
    base = _strip_arity((_typeinfo.info(info.generic_def_id) if info.generic_def_id else info).full_name)
    sibling = _typeinfo.id_by_name(f"{base}`{len(ids)}, {info.assembly}") or _typeinfo.id_by_name(f"{base}`{len(ids)}")
    if sibling:
        return class_for(_typeinfo.make_generic(sibling, ids))
    raise TypeError(f"{cls.__clr_name__} has no generic form with {len(ids)} type argument(s)")


def _strip_arity(full_name: str) -> str:
    """``Ns.Outer`1+Inner`1`` -> ``Ns.Outer`1+Inner`` (only the last name's arity)."""
    tick = full_name.rfind("`")
    if tick > max(full_name.rfind("."), full_name.rfind("+")):
        return full_name[:tick]
    return full_name


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
            key, dataclasses.replace(ov, id=new_id, params=params, ret=ret, generic_params=()))
    return found
