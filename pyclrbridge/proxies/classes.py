"""What the proxy class of a .NET type holds: its bases, members, nested types and docs.

:mod:`.catalog` owns the cache and the order of building; this module makes the class object
(:func:`create`) and fills it (:func:`populate`) and installs both there when the layer loads.
"""

from __future__ import annotations

import ctypes
import functools
import operator
import weakref
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..host.errors import BUILTIN_FOR_EXCEPTION, ClrError
from ..values.objects import HandleOwner
from ..values.targets import type_id_for
from . import catalog
from . import native as _native
from . import pyterms as _pyterms
from .base import ClrEnum, ClrObject, clr_repr
from .binder import DERIVED_BIND_KEYS, BindKey
from .casts import apply_casts
from .catalog import class_by_name, class_for
from .enum_values import enum_value
from .events import Event
from .members import MethodGroup, OverloadSelector
from .meta import ClrMeta
from .missing import missing_attribute
from .properties import Property
from .protected import ProtectedMember, ProtectedMethodGroup, protected_indexer, reachable
from .protocols import apply_protocols
from .signatures import Overload, Param
from .wrapping import DERIVED_CLASSES, DERIVED_TYPE_IDS, EXCEPTION_TYPE_IDS


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
        extra = tuple(class_for(i) for i in info.interfaces if not info.base or _typeinfo.assignable(i, info.base) != 1)
        return (base, *extra)
    return (base,)


# pythonnet's repr of exceptions (Python's: OverflowException('message')), switched on by
# pyclrbridge.compat: one function or None, replaced whole; read on each repr().
_exception_repr: list[Callable[[Any], str] | None] = [None]


def represent_exceptions(represent: Callable[[Any], str] | None) -> None:
    """Make ``repr()`` of .NET exceptions ``represent(exc)`` (None: pyclrbridge's own)."""
    _exception_repr[0] = represent


def _represent_exception(self: Any) -> str:
    represent = _exception_repr[0]
    return clr_repr(self) if represent is None else represent(self)


def _exception_namespace() -> dict[str, Any]:
    def __str__(self: BaseException) -> str:
        message = self.__dict__.get("_clr_message")  # the .NET Message (decorate)
        if message is not None:
            return str(message)
        return str(self.args[0]) if self.args else ""

    # The finalizer is HandleOwner's: the shim's FreeHandle export, called from C (installed at
    # load, before any class is built), to which ctypes passes ``_as_parameter_``, read by a
    # property whose getter is C too. A Python ``__del__`` can be cut short by a signal handler
    # that raises at its first instruction, and then the handle leaks, with the Python exception
    # a callback raised if the .NET exception carries one (the ``stress --signals`` end state
    # "1 handle, 1 Python object held"). ``_h`` defaults to 0: an exception whose handle was
    # never stored frees nothing. (On 32-bit, HandleOwner's finalizer is a Python one.)
    return {
        "__str__": __str__,
        "__repr__": _represent_exception,
        "__del__": HandleOwner.__dict__["__del__"],
        "_h": 0,
        "_as_parameter_": _EXCEPTION_HANDLE,
    }


#: ``exc._as_parameter_`` of a .NET exception proxy: its handle, read from C (see _exception_namespace).
_EXCEPTION_HANDLE = property(operator.attrgetter("_h"))


def create(type_id: int) -> Any:
    """The class object for a .NET type, before its members (the catalog parks it while they are added)."""
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
    mentions = _mentions(type_id) if DERIVED_TYPE_IDS else ()
    if mentions:
        # Built from the types of Python classes (List[S], S[], Func[S]): the class keeps
        # those Python classes alive, so their .NET types (and every id and stub this class
        # uses) are not forgotten while it lives (docs/lifetime.md). A class that already
        # died is missing here; the drain then waits for this class to die (live_mentions).
        namespace["__clr_mentions__"] = mentions
        refs = (DERIVED_CLASSES.get(m) for m in mentions)
        namespace["__clr_pins__"] = tuple(c for c in (r() if r is not None else None for r in refs) if c is not None)
    if issubclass(bases[0], BaseException):
        namespace.update(_exception_namespace())
        EXCEPTION_TYPE_IDS.add(type_id)
    else:
        namespace["__slots__"] = ()
    cls = ClrMeta(_python_name(info), bases, namespace)
    if mentions:
        _key_weakly(cls, namespace["__clr_name__"])
    return cls


def _mentions(type_id: int) -> frozenset[int]:
    """The emitted types (of Python classes) a .NET type is built from (the shim knows)."""
    ids = (ctypes.c_int32 * 8)()
    n = _bridge.shim().DerivedMentions(type_id, ids, 8)
    if n > 8:
        ids = (ctypes.c_int32 * n)()
        n = _bridge.shim().DerivedMentions(type_id, ids, n)
    return frozenset(ids[i] for i in range(max(n, 0)))


def _key_weakly(cls: Any, name: str) -> None:
    """Long-lived overload caches key ``cls``'s instances by a stand-in, never the class."""
    # The callback pops the entry when the class dies, before the id can name another object.
    # It is dict.pop itself (the dead reference lands as pop's unused default), so no Python
    # frame runs: a signal cannot interrupt it and print "Exception ignored".
    died = functools.partial(DERIVED_BIND_KEYS.pop, id(cls))
    # The entry keeps the weak reference (and so its callback) alive.
    DERIVED_BIND_KEYS[id(cls)] = (weakref.ref(cls, died), BindKey(name))


def populate(cls: Any) -> None:
    """Add the members and Python protocols of a class made by :func:`create`."""
    info = cls.__clr_info__
    _populate(cls, info)
    apply_protocols(cls, info)
    apply_casts(cls, info)


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


class ProtectedNestedType(NestedType):
    """A protected nested type: reachable through a Python subclass (as in C#), or from
    anywhere under pyclrbridge.compat (``open_protected``, as in pythonnet)."""

    __slots__ = ()

    def refusal(self) -> str:
        return (
            f"{self.__name__} is a protected nested type: reachable from a Python subclass "
            "(or anywhere under pyclrbridge.compat)"
        )

    def __clr_hidden_from__(self, cls: Any) -> bool:
        return not reachable(cls)

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if self.__clr_hidden_from__(cls if cls is not None else type(obj)):
            if obj is not None:
                return missing_attribute(obj, self.__name__, self.refusal())  # an extension may serve
            raise AttributeError(self.refusal(), name=self.__name__)
        return super().__get__(obj, cls)


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
    """``Widget.overloads[int](3)``: pick a constructor by its parameter types. An object
    reaches its class's selector as it reaches a classmethod (``w.overloads``), since a
    completer offers an object every name of its class; a class with no public constructor gets
    a selector that says why when indexed."""

    __slots__ = ()
    __clr_class_only__ = True  # dir() of an object does not list it: it is the class's helper

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        klass = type(obj) if obj is not None else cls
        if klass is None:
            raise AttributeError("overloads")
        group = klass.__dict__.get("__clr_ctor_group__")
        if group is None:
            return NoConstructors(klass)
        return OverloadSelector(group)


class NoConstructors:
    """``Math.overloads``: the constructor selector of a class that has no public constructor
    (static, abstract, an interface, or a Python subclass); indexing it says why."""

    __slots__ = ("_cls",)

    def __init__(self, cls: type) -> None:
        self._cls = cls

    def reason(self) -> str:
        cls = self._cls
        info = cls.__dict__.get("__clr_info__")
        if info is None:
            return f"{cls.__qualname__} is a Python class: construct it by calling it"
        name = cls.__clr_name__  # type: ignore[attr-defined]
        if info.kind == "interface":
            return f"{name} is an interface: it has no constructors ({cls.__name__}(obj) views an object as it)"
        if info.generic_def or info.open:
            return f"{name} is a generic type definition: give its type arguments first"
        if info.static:
            return f"{name} is a static class: it has no constructors"
        if info.abstract:
            return f"{name} is abstract: it has no public constructors"
        return f"{name} has no public constructor"

    def __getitem__(self, types: Any) -> Any:
        raise TypeError(f"no constructor to pick: {self.reason()}")

    def __iter__(self) -> Any:
        return iter(())

    def __repr__(self) -> str:
        return f"<no constructors: {self.reason()}>"


# pythonnet's class docstrings, switched on by pyclrbridge.compat: one function or None,
# replaced whole; read when a class is built.
_doc_override: list[Callable[[Any], str | None] | None] = [None]


def document_classes(describe: Callable[[Any], str | None] | None) -> None:
    """Make the ``__doc__`` of every .NET class ``describe(cls)`` (None: pyclrbridge's own):
    classes built from now on, and (under the build lock) those built already."""
    _doc_override[0] = describe
    lock = catalog.build_lock()
    _ = lock.taken
    try:
        for cls in catalog.built_classes():
            info = cls.__dict__.get("__clr_info__")
            if cls.__dict__.get("__clr_derived__") is None and info is not None:
                _set(cls, "__doc__", _class_doc(cls, info, cls.__dict__.get("__clr_ctors__", ())))
    finally:
        lock.release()


def _set(cls: type, name: str, value: Any) -> None:
    type.__setattr__(cls, name, value)


def _value_by_name(setter: Overload) -> bool:
    """Whether an indexer setter's value must be passed by name: an index before it may be
    omitted or repeated (an optional or params index), and no index is called ``value``."""
    index = setter.params[:-1]
    return any(p.optional or p.is_params for p in index) and all(p.name != "value" for p in index)


def _implementation(self: Any) -> Any:
    """An interface view's object as its own class (``IEnumerable(xs).__implementation__`` is
    the ``List<int>``), converted like a result (a String becomes ``str``): pythonnet's name."""
    return class_by_name("System.Runtime.CompilerServices.RuntimeHelpers").GetObjectValue(self)


def _call_delegate(self: Any, *args: Any, **kwargs: Any) -> Any:
    """A .NET delegate is callable from Python: ``adder(4)`` calls its ``Invoke``."""
    return self.Invoke(*args, **kwargs)


# Field types whose values cross as immutable Python values (int, float, bool, str): a static
# readonly field of one of these may become a plain class attribute once read.
_IMMUTABLE_TYPES = frozenset(
    "System." + name
    for name in (
        "Boolean", "Char", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64",
        "Single", "Double", "String",
    )
)  # fmt: skip


def _property(p: dict[str, Any], owner: str) -> Property:
    access = " ".join(a for a in ("get", "set") if a in p)  # as describe prints it

    def doc() -> str:
        return f"{'static ' if p['static'] else ''}{p['name']}: {_pyterms.py_type(p['type'])}  {{{access}}}"

    return Property(p["name"], owner, p.get("get", 0), p.get("set", 0), p["static"], doc, type_id=p["type"])


def _field(f: dict[str, Any], owner: str) -> Property:
    mods = "const " if f["const"] else ("readonly " if f["readonly"] else "")
    mods = ("static " if f["static"] and not f["const"] else "") + mods
    return Property(
        f["name"],
        owner,
        f["id"],
        0 if f["readonly"] else f["id"],
        f["static"],
        lambda: f"{mods}{f['name']}: {_pyterms.py_type(f['type'])}",
        field=True,
        readonly=f["readonly"],
        const=f.get("const", False),
        type_id=f["type"],
    )


def _indexer_overloads(p: dict[str, Any], getters: list[Overload], setters: list[Overload]) -> None:
    """Add an indexer's accessors (a property entry with an index) as overloads."""
    index = tuple(Param.from_json(i) for i in p["index"])
    value = Param("value", p["type"], 0, False, None, False)
    if "get" in p:
        getters.append(Overload(p["get"], p["name"], p["static"], f"{p['name']}[...]", index, p["type"], ()))
    if "set" in p:
        setters.append(Overload(p["set"], p["name"], p["static"], f"{p['name']}[...] = value", (*index, value), 0, ()))


def _populate_protected(cls: Any, owner: str, table: dict[str, Any]) -> None:
    """The protected members (see :mod:`.protected`), next to the public ones of the same name:
    a protected overload joins the public group, a protected accessor the public property."""
    protected = table["protected"]
    for name, overloads in protected["methods"].items():
        public = cls.__dict__.get(name)
        if public is not None and type(public) not in (MethodGroup, _native.group_type()):
            continue  # a public member of another kind keeps the name
        mine = tuple(Overload.from_json(o) for o in overloads)
        every = (*public.overloads_list, *mine) if public is not None else mine
        _set(cls, name, ProtectedMethodGroup(name, owner, every, public))
    getters: list[Overload] = []
    setters: list[Overload] = []
    for p in protected["properties"]:
        if p["index"]:  # a protected indexer (the type has no public one)
            _indexer_overloads(p, getters, setters)
            continue
        public = cls.__dict__.get(p["name"])
        if public is not None and not (type(public) is Property and not public.field):
            continue
        merged = dict(p)
        if public is not None:  # Name { get; protected set; }: the public getter joins
            for accessor in ("get", "set"):
                own = getattr(public, "_" + accessor)
                if own:
                    merged[accessor] = own
        _set(cls, p["name"], ProtectedMember(p["name"], owner, "property", _property(merged, owner), public))
    for dunder, function in protected_indexer(owner, tuple(getters), tuple(setters)).items():
        _set(cls, dunder, function)
    for f in protected["fields"]:
        if f["name"] not in cls.__dict__:
            _set(cls, f["name"], ProtectedMember(f["name"], owner, "field", _field(f, owner), None))
    for e in protected["events"]:
        if e["name"] not in cls.__dict__:
            event = Event(e["name"], owner, e["add"], e["remove"], e["static"], e["type"])
            _set(cls, e["name"], ProtectedMember(e["name"], owner, "event", event, None))


def _populate(cls: Any, info: _typeinfo.TypeInfo) -> None:
    if not info.visible and info.kind in ("class", "struct") and not issubclass(cls, BaseException):
        _set(cls, "__clr_ctors__", ())
        _set(
            cls,
            "__doc__",
            f".NET non-public {info.kind} {cls.__clr_name__} (assembly {info.assembly}): "
            "only the members of its public base class and interfaces are reachable",
        )
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
    group_type = _native.group_type()  # MethodGroup, binding natively where it can
    for name, overloads in table["methods"].items():
        group = group_type(name, owner, tuple(Overload.from_json(o) for o in overloads))
        _native.share(group)  # every thread binding it finds it here (free-threaded builds)
        _set(cls, name, group)
    getters: list[Overload] = []
    setters: list[Overload] = []
    for p in table["properties"]:
        if not p["index"]:
            prop = _property(p, owner)
            prop._cls = cls  # a native member may take its place (proxies.native)
            _set(cls, p["name"], prop)
            continue
        _indexer_overloads(p, getters, setters)
    consts: dict[str, Property] = {}
    for f in table["fields"]:
        field = _field(f, owner)
        if (
            info.kind != "enum"
            and f["static"]
            and (f["const"] or (f["readonly"] and _typeinfo.info(f["type"]).full_name in _IMMUTABLE_TYPES))
        ):
            field._home = cls  # its first read puts the value in the class dict (Property._freeze)
            consts[f["name"]] = field
        elif not f["const"]:
            field._cls = cls  # a native member may take its place (proxies.native)
        _set(cls, f["name"], field)
    if consts:
        _set(cls, "__clr_members__", consts)
    for e in table["events"]:
        _set(cls, e["name"], Event(e["name"], owner, e["add"], e["remove"], e["static"], e["type"]))
    if "protected" in table:
        _populate_protected(cls, owner, table)
    for n in table["nested"]:
        outer_args = info.generic_args if info.generic_def_id else ()
        kind = ProtectedNestedType if n.get("protected") else NestedType
        _set(cls, n["name"].split("`")[0], kind(n["name"], n["id"], outer_args))
    if getters:
        get_group = MethodGroup("__getitem__", owner, tuple(getters))

        def __getitem__(self: Any, key: Any) -> Any:
            return get_group.call(self, key if isinstance(key, tuple) else (key,), {})

        __getitem__.__clr_group__ = get_group  # type: ignore[attr-defined]  # for _protocols' mapping get
        _set(cls, "__getitem__", __getitem__)
        _native.indexer_home(get_group, cls, "__getitem__", __getitem__)  # a leaf indexer may go native
    if setters:
        set_group = MethodGroup("__setitem__", owner, tuple(setters))
        if any(_value_by_name(s) for s in setters):
            # An optional or params index before the value: the value goes by name, so the
            # given indexes bind to the leading parameters (ob[1] = x on this[int, string = ""]).
            def __setitem__(self: Any, key: Any, value: Any) -> None:
                set_group.call(self, key if isinstance(key, tuple) else (key,), {"value": value})

        else:

            def __setitem__(self: Any, key: Any, value: Any) -> None:
                set_group.call(self, (*(key if isinstance(key, tuple) else (key,)), value), {})

            __setitem__.__clr_group__ = set_group  # type: ignore[attr-defined]  # for _protocols' mapping set
            _native.indexer_home(set_group, cls, "__setitem__", __setitem__)  # a leaf indexer may go native
        _set(cls, "__setitem__", __setitem__)
    for name, value in table.get("enumValues", []):
        _set(cls, name, enum_value(info.id, value))
    if info.kind == "interface":
        _set(cls, "__implementation__", property(_implementation))
        _set(cls, "__raw_implementation__", property(_implementation))
        # Every object behind an interface is a System.Object: its members are reachable through
        # the view as in C# (IEnumerable(xs).ToString()), unless the interface has its own.
        obj_cls = class_by_name("System.Object")
        for name in ("ToString", "Equals", "GetHashCode", "GetType"):
            if not any(name in k.__dict__ and k is not ClrObject for k in cls.__mro__):  # (extension names)
                _set(cls, name, obj_cls.__dict__[name])
    if "invoke" in table:
        _set(cls, "__clr_invoke__", Overload.from_json(table["invoke"]))
        _set(cls, "__call__", _call_delegate)
    _set(cls, "__doc__", _class_doc(cls, info, ctors))


def _class_doc(cls: Any, info: Any, ctors: tuple[Overload, ...]) -> str | None:
    """The class's docstring: pyclrbridge's (in describe's terms), or `document_classes`'."""
    override = _doc_override[0]
    if override is not None:
        return override(cls)
    kind_word = {
        "class": "class",
        "struct": "struct",
        "interface": "interface",
        "enum": "enum",
        "delegate": "delegate",
        "array": "array",
    }.get(info.kind, info.kind)
    lines = [f".NET {kind_word} {cls.__clr_name__} (assembly {info.assembly})"]
    if ctors:  # in describe's terms (pydoc reads __doc__ from the class dict: it must be a str)
        short = info.display.split("[")[0].rsplit(".", 1)[-1]
        lines.append("Constructors:")
        lines.extend(f"  {_pyterms.signature(c, short)}" for c in ctors)
    return "\n".join(lines)
