"""pythonnet's Python-side surface (the ``clr`` module) on the pyclrbridge engine.

Code written for pythonnet usually starts with:

```python
import clr
clr.AddReference("MyLib")
from MyLib import Widget
```

Importing this module starts .NET, as ``import clr`` does; `install` makes ``import clr``
give this module, so such code runs unchanged (``PYCLRBRIDGE_COMPAT=1`` with the hook of
``python -m pyclrbridge.compat --install-hook`` does it for every process). Without
``install()``, use it directly: ``from pyclrbridge import compat as clr``.

Provided: `AddReference`, `GetClrType`, `FindAssembly`,
`ListAssemblies`, `getPreload` / `setPreload`, `clrmethod`,
`clrproperty`, `keep_primitive_objects`, ``__version__`` (the pythonnet release followed;
pyclrbridge's own is ``__pyclrbridge_version__``) and types declared outside any namespace
(``clr.NoNamespaceType``); the module is named ``clr``. Under this module the binder also
takes pythonnet's placeholders for ``out`` parameters (``Int32.TryParse("42", 0)``), casts to
primitive types keep the .NET object, accessor methods (``get_X``, ``set_Item``, ``add_E``)
are offered, protected members are reachable on every object, as in pythonnet, and
pythonnet's engine (``Python.Runtime``) is refused (see `pyclrbridge._compat_engine`).
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import os
import sys
import sysconfig
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import __version__ as _pyclrbridge_version
from . import _compat_engine as _engine
from . import _importer, load
from .host.typeinfo import id_by_name
from .proxies import base as _base
from .proxies import binder as _binder
from .proxies import classes as _classes
from .proxies import construction as _construction
from .proxies import events as _events
from .proxies import member_errors as _member_errors
from .proxies import members as _members
from .proxies import properties as _properties
from .proxies import protected as _protected
from .proxies.catalog import class_by_name, class_for
from .values import convert as _convert
from .values.targets import type_id_for

#: The pythonnet release whose ``clr`` module this one follows: code checks
#: ``clr.__version__ >= "3.0.0"`` before using pythonnet 3 behaviour.
__version__ = "3.2.1"
#: pyclrbridge's own version (also ``pyclrbridge.__version__``).
__pyclrbridge_version__ = _pyclrbridge_version
_MODULE = __name__  # "pyclrbridge.compat"; the module calls itself "clr" (set at the end)

__all__ = [
    "AddReference",
    "FindAssembly",
    "GetClrType",
    "ListAssemblies",
    "clrmethod",
    "clrproperty",
    "getPreload",
    "install",
    "keep_primitive_objects",
    "setPreload",
]


def _runtime() -> Any:
    return load()


def _loaded_assemblies() -> list[Any]:
    app_domain = class_by_name("System.AppDomain")
    return list(app_domain.CurrentDomain.GetAssemblies())


def AddReference(name: str) -> Any:  # pythonnet's name
    """Load an assembly by name (``"System.Xml"``) or path and return its
    ``System.Reflection.Assembly``; its namespaces become importable.

    A missing assembly raises ``System.IO.FileNotFoundException`` (also a Python
    `FileNotFoundError`) listing the places it looked. pythonnet's engine assembly
    (``Python.Runtime``) is refused with ``System.NotSupportedException``: its code only
    works inside pythonnet.
    """
    if _engine.is_engine(name):
        raise _engine.engine_refusal(str(name))
    try:
        found = _runtime().add_reference(name)
    except FileNotFoundError as missing:
        exception = class_by_name("System.IO.FileNotFoundException")
        error = exception(str(missing), str(name))
        error.args = (str(missing),)  # str(error) is the message, as for a .NET exception raised by a call
        raise error from None
    for assembly in _loaded_assemblies():
        if assembly.FullName == found.full_name:
            return assembly
    raise FileNotFoundError(f"assembly {name!r} was loaded but is not in the AppDomain")  # pragma: no cover


def GetClrType(python_type: Any) -> Any:  # pythonnet's name
    """The ``System.Type`` of a .NET class (``GetClrType(List[int])``), or of a Python
    type that stands for one (``int`` is ``System.Int32``, ``str`` is ``System.String``)."""
    try:
        type_id_for(python_type)
    except (TypeError, LookupError) as exc:
        raise TypeError(
            f"GetClrType() needs a .NET class or a Python type that maps to one, not {python_type!r}"
        ) from exc
    return class_by_name("System.Reflection.IntrospectionExtensions").GetTypeInfo(python_type)


def FindAssembly(name: str) -> str | None:  # pythonnet's name
    """The path of the assembly ``name`` (``"MyLib"``, ``"MyLib.dll"``), or None.

    Looked for, in order: an assembly of that name already loaded, the framework's assemblies,
    then ``name.dll`` / ``name.exe`` in the folders on ``sys.path``. Never in the working
    directory (``""``, ``"."`` or any entry that is the working directory): a file planted
    there must not answer a name. A file found on ``sys.path`` must be the assembly of that
    name. Pass the result to `AddReference` to load it.
    """
    if not isinstance(name, str) or not name or os.sep in name or "/" in name:
        raise TypeError(f"FindAssembly() needs an assembly name such as 'MyLib', not {name!r}")
    wanted = name[:-4] if name.lower().endswith((".dll", ".exe")) else name
    key = wanted.lower()  # assembly names compare without case
    for assembly in _loaded_assemblies():
        location = str(assembly.Location or "")
        if location and str(assembly.GetName().Name).lower() == key:
            return location
    trusted = class_by_name("System.AppContext").GetData("TRUSTED_PLATFORM_ASSEMBLIES")
    for entry in str(trusted or "").split(os.pathsep):
        if entry and Path(entry).stem.lower() == key:
            return entry
    here = Path.cwd().resolve()
    for folder in sys.path:
        if not folder or not os.path.isabs(folder) or Path(folder).resolve() == here:
            continue  # the working directory, however it is spelled
        for suffix in (".dll", ".exe"):
            candidate = Path(folder) / (wanted + suffix)
            if candidate.is_file() and _assembly_name_of(candidate) == key:
                return str(candidate)
    return None


def _assembly_name_of(path: Path) -> str | None:
    """The assembly name in the file's metadata, lower-cased (None: not an assembly); the
    file is read, not loaded."""
    try:
        return str(class_by_name("System.Reflection.AssemblyName").GetAssemblyName(str(path)).Name).lower()
    except (OSError, ValueError, class_by_name("System.BadImageFormatException")):
        return None


def keep_primitive_objects(enabled: bool = True) -> bool:
    """pythonnet's casts: calling a primitive .NET type gives the .NET object
    (``System.String("abc").Substring(1)``, ``System.Int32(5).CompareTo(3)``) instead of the
    Python value (``"abc"``, ``5``). On by default under compat (importing this module switches
    it on), off in the native API; ``keep_primitive_objects(False)`` gives Python values.
    Process-wide. Returns the previous setting."""
    return _construction.casts_keep_objects(enabled)


# The number protocols of pythonnet's primitive objects, so that code holding a kept
# System.Int32(5) still does int(x), float(x), x == 5, range(x), f"{x:03d}".
_INTEGRAL = ("SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64")
_REAL = ("Single", "Double")
_PRIMITIVE_NAMES = frozenset(f"System.{n}" for n in (*_INTEGRAL, *_REAL, "Boolean", "Char", "String"))


def _value_of(obj: Any) -> Any:
    """The Python value of a kept primitive object; anything else as it is."""
    if getattr(type(obj), "__clr_name__", None) in _PRIMITIVE_NAMES:
        return _construction.unbox(obj)
    return obj


def _p_int(self: Any) -> int:
    return int(_construction.unbox(self))


def _p_float(self: Any) -> float:
    return float(_construction.unbox(self))


def _p_bool(self: Any) -> bool:
    return bool(_construction.unbox(self))


def _p_eq(self: Any, other: object) -> Any:
    theirs = _value_of(other)
    if theirs is other and getattr(type(other), "__clr_name__", None) is not None:
        return NotImplemented  # another .NET object: its own rules (Equals)
    return _construction.unbox(self) == theirs


def _p_ne(self: Any, other: object) -> Any:
    eq = _p_eq(self, other)
    return eq if eq is NotImplemented else not eq


def _p_hash(self: Any) -> int:
    return hash(_construction.unbox(self))


def _p_format(self: Any, spec: str) -> str:
    return format(_construction.unbox(self), spec) if spec else str(self)


def _number_protocols() -> None:
    """Give the kept primitive objects pythonnet's conversions. Done once, at import (under the
    import lock); each class attribute is set whole."""
    for name in (*_INTEGRAL, *_REAL, "Boolean", "Char", "String"):
        cls = class_by_name(f"System.{name}")
        protocols: dict[str, Any] = {"__eq__": _p_eq, "__ne__": _p_ne, "__hash__": _p_hash, "__format__": _p_format}
        if name in _INTEGRAL or name == "Boolean":
            protocols.update(__int__=_p_int, __index__=_p_int, __float__=_p_float, __bool__=_p_bool)
        elif name in _REAL:
            protocols.update(__int__=_p_int, __float__=_p_float, __bool__=_p_bool)
        for dunder, function in protocols.items():
            type.__setattr__(cls, dunder, function)


# ---- pythonnet's accessor methods: obj.get_X(), obj.set_X(v), obj.set_Item(k, v), obj.add_E(d) ----

_ACCESSOR_PREFIXES = ("get_", "set_", "add_", "remove_")


def _member_of(obj: Any, name: str) -> Any:
    """The Python descriptor of ``name`` (a native member or a constant's value keeps it in
    ``__clr_members__``)."""
    for klass in type(obj).__mro__:
        replaced = klass.__dict__.get("__clr_members__") or {}
        found = replaced.get(name, klass.__dict__.get(name))
        if found is not None:
            return found
    return None


def _event_accessor(obj: Any, event: Any, subscribe: bool) -> Callable[[Any], None]:
    def accessor(handler: Any) -> None:
        binding = event.__get__(obj, type(obj))
        if subscribe:
            binding += handler
        else:
            binding -= handler

    return accessor


def _reflected_accessor(obj: Any, name: str) -> Callable[..., Any] | None:
    """The public instance method ``name`` (an indexer's ``get_Item``/``set_Item``, a property
    getter or setter), called through reflection with the arguments given."""
    methods = [m for m in obj.GetType().GetMethods() if m.Name == name and m.IsSpecialName and not m.IsStatic]
    if not methods:
        return None
    object_array = class_by_name("System.Array")
    invocation_error = class_by_name("System.Reflection.TargetInvocationException")

    def accessor(*args: Any) -> Any:
        fitting = [m for m in methods if len(m.GetParameters()) == len(args)]
        if len(fitting) != 1:
            counts = sorted({len(m.GetParameters()) for m in methods})
            raise TypeError(f"{name}() takes {' or '.join(map(str, counts))} arguments, not {len(args)}")
        values = object_array.CreateInstance(class_by_name("System.Object"), len(args))
        for i, arg in enumerate(args):
            values[i] = arg
        try:
            return fitting[0].Invoke(obj, values)
        except invocation_error as error:  # the accessor itself threw: that exception, as a call gives it
            raise error.InnerException from None

    return accessor


def _accessor_lookup(obj: Any, name: str) -> Any:
    """pythonnet's ``obj.get_X()`` / ``set_X(v)`` / ``get_Item(k)`` / ``add_E(d)`` / ``remove_E(d)``:
    the .NET accessor methods of a property, indexer or event (None: ``name`` is not one)."""
    prefix = next((p for p in _ACCESSOR_PREFIXES if name.startswith(p)), None)
    if prefix is None or len(name) == len(prefix):
        return None
    member = _member_of(obj, name[len(prefix) :])
    if prefix in ("add_", "remove_"):
        if isinstance(member, _events.Event) and not member.static:
            return _event_accessor(obj, member, prefix == "add_")
        return None
    if isinstance(member, _properties.Property):
        if member.field:
            return None  # a field has no accessor methods in .NET either
        if prefix == "get_":
            return lambda: getattr(obj, name[4:])
        return lambda value: setattr(obj, name[4:], value)
    return _reflected_accessor(obj, name)  # an indexer (get_Item, set_Item) or other special method


def _refused_as_member_error(obj: Any, name: str, action: Callable[[], None]) -> None:
    """Run an attribute assignment or deletion; CPython's own refusal for a .NET member (a
    constant or static read-only value kept on the class, a method group: "object attribute is
    read-only") becomes pythonnet's TypeError (a `MemberError`)."""
    try:
        action()
    except AttributeError as refused:
        if type(refused) is AttributeError and _member_of(obj, name) is not None:
            raise _member_errors.member_error(str(refused), name=name, obj=obj) from None
        raise


def _compat_setattr(self: Any, name: str, value: Any) -> None:
    _refused_as_member_error(self, name, lambda: object.__setattr__(self, name, value))


def _compat_delattr(self: Any, name: str) -> None:
    _refused_as_member_error(self, name, lambda: object.__delattr__(self, name))


def _member_errors_on_objects(enabled: bool) -> None:
    """pythonnet's TypeError for assigning or deleting a read-only member on an object: on the
    base class (a Python subclass's own ``__setattr__`` still wins); ``enabled=False`` removes it."""
    for name, function in (("__setattr__", _compat_setattr), ("__delattr__", _compat_delattr)):
        if enabled:
            type.__setattr__(_base.ClrObject, name, function)
        elif name in _base.ClrObject.__dict__:
            type.__delattr__(_base.ClrObject, name)


def _namespace_doc(module: Any) -> str:
    """pythonnet's docstring of a namespace: the assemblies defining types in it."""
    names = sorted(_importer.index().defined_in.get(module.__name__, ()))
    return "Namespace containing types from the following assemblies:\n\n" + "".join(f"- {n}\n" for n in names)


# The native names, docstring and reprs compat replaces: kept to put back (``_pythonnet_rules(False)``).
_RENAMED = (_base.ClrMeta, _base.ClrEnumMeta, _importer.NamespaceModule)
_NATIVE_NAMES = {cls: (cls.__name__, cls.__qualname__, cls.__module__) for cls in _RENAMED}
_NATIVE_NAMESPACE_DOC: Any = vars(_importer.NamespaceModule).get("__doc__")
_NATIVE_REPRS = {cls: cls.__dict__["__repr__"] for cls in (_base.ClrObject, _base.ClrEnum)}


def _pythonnet_type_names(enabled: bool) -> None:
    """pythonnet's names for the types of .NET classes (``CLRMetatype``) and namespaces
    (``ModuleObject``), in its ``clr._internal`` module, which code written for pythonnet tests
    (``type(cls).__name__ == "CLRMetatype"``); and its namespace docstring. ``enabled=False``
    puts pyclrbridge's back."""
    for cls in _RENAMED:
        name = ("ModuleObject" if cls is _importer.NamespaceModule else "CLRMetatype") if enabled else None
        native = _NATIVE_NAMES[cls]
        type.__setattr__(cls, "__name__", name or native[0])
        type.__setattr__(cls, "__qualname__", name or native[1])
        type.__setattr__(cls, "__module__", "clr._internal" if enabled else native[2])
    doc = property(_namespace_doc) if enabled else _NATIVE_NAMESPACE_DOC
    type.__setattr__(_importer.NamespaceModule, "__doc__", doc)


def _dotnet_method_doc(group: Any) -> str | None:
    """pythonnet's docstring of a method: .NET's own ``MethodInfo.ToString()`` of each overload
    (``System.Type GetType()``, ``Void M(Double, Int32)``), one a line; None when the group does
    not say where its overloads are declared."""
    flags = class_by_name("System.Reflection.BindingFlags")
    declared_only = flags.Instance | flags.Static | flags.Public | flags.NonPublic | flags.DeclaredOnly
    lines: list[str] = []
    seen: set[int] = set()
    for overload in group.overloads_list:
        if not overload.declaring or overload.declaring in seen:
            continue
        seen.add(overload.declaring)
        declaring = GetClrType(class_for(overload.declaring))
        for method in declaring.GetMethods(declared_only):
            if method.Name == group.__name__ and (method.IsPublic or method.IsFamily or method.IsFamilyOrAssembly):
                lines.append(str(method.ToString()))
    return "\n".join(lines) if lines else None


def _pythonnet_class_doc(cls: Any) -> str | None:
    """pythonnet's docstring of a .NET class: its public constructors as .NET writes them
    (``Void .ctor(Boolean)``), one a line; None for a delegate; otherwise ``Python wrapper for
    .NET type ...``. A Python class (a subclass of a .NET class) keeps its own."""
    kind = cls.__dict__.get("__clr_kind__")
    if kind == "delegate":
        return None
    clr_type = GetClrType(cls)
    if kind in ("class", "struct") and not clr_type.IsAbstract:
        constructors = list(clr_type.GetConstructors())
        if constructors:
            return "\n".join(str(c.ToString()) for c in constructors)
    return f"Python wrapper for .NET type {clr_type.ToString()}"


def _pythonnet_docs(enabled: bool) -> None:
    """pythonnet's docstrings for classes (also those built before compat was imported) and
    methods; ``enabled=False`` puts pyclrbridge's back."""
    _classes.document_classes(_pythonnet_class_doc if enabled else None)
    _members.document_methods(_dotnet_method_doc if enabled else None)


def _pythonnet_repr(self: Any) -> str:
    """pythonnet's repr of a .NET object without a ``__repr__`` of its own: Python's default,
    ``<Namespace.Name object at 0x...>`` (an exception's is Python's, see `_pythonnet_reprs`)."""
    cls = type(self)
    return f"<{cls.__module__}.{cls.__name__} object at {id(self):#x}>"


_ENUM_BYTES = {"SByte": 1, "Byte": 1, "Int16": 2, "UInt16": 2, "Int32": 4, "UInt32": 4, "Int64": 8, "UInt64": 8}


def _pythonnet_enum_repr(self: Any) -> str:
    """pythonnet's repr of an enum value: ``<DayOfWeek.Monday: 1>``; a ``[Flags]`` value in
    hexadecimal, as wide as its underlying type (``<FlagsEnum.Two, Five: 0x00000007>``)."""
    info = type(self).__clr_info__
    if not info.flags:
        return f"<{type(self).__name__}.{self}: {int(self)}>"
    size = _ENUM_BYTES.get(info.enum_underlying, 4)
    return f"<{type(self).__name__}.{self}: 0x{int(self) & ((1 << 8 * size) - 1):0{2 * size}X}>"


def _pythonnet_enum_call(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """pythonnet's enum construction: ``DayOfWeek()`` is a TypeError (no default value), and
    ``ShortEnum(20)`` is ``ShortEnum(20, False)``: a value no member names is a ValueError
    unless the enum is ``[Flags]`` (``ShortEnum(20, True)`` takes it)."""
    if cls.__dict__.get("__clr_type_id__") and not kwargs:
        if not args:
            raise TypeError(f"{cls.__name__}() needs a value: an enum has no constructor (pythonnet)")
        if len(args) in (1, 2) and isinstance(args[0], int) and not isinstance(args[0], bool):
            made = _base.ClrMeta.__call__(cls, args[0])  # (one argument: never back here)
            allow = len(args) == 2 and bool(args[1])
            if (
                not allow
                and not cls.__clr_info__.flags
                and not class_by_name("System.Enum").IsDefined(GetClrType(cls), made)
            ):
                raise ValueError(
                    f"{args[0]} is not a defined value of {cls.__clr_name__} (pass True as a second argument to allow "
                    "it)"
                )
            return made
    return _base.ClrMeta.__call__(cls, *args, **kwargs)


def _pythonnet_enums(enabled: bool) -> None:
    """pythonnet's enum construction (`_pythonnet_enum_call`); ``enabled=False`` removes it."""
    if enabled:
        type.__setattr__(_base.ClrEnumMeta, "__call__", _pythonnet_enum_call)
    elif "__call__" in _base.ClrEnumMeta.__dict__:
        type.__delattr__(_base.ClrEnumMeta, "__call__")


def _pythonnet_reprs(enabled: bool) -> None:
    """pythonnet's repr formats, on the base classes (a .NET ``__repr__`` method still wins);
    ``enabled=False`` puts pyclrbridge's back."""
    type.__setattr__(_base.ClrObject, "__repr__", _pythonnet_repr if enabled else _NATIVE_REPRS[_base.ClrObject])
    type.__setattr__(_base.ClrEnum, "__repr__", _pythonnet_enum_repr if enabled else _NATIVE_REPRS[_base.ClrEnum])
    _classes.represent_exceptions(BaseException.__repr__ if enabled else None)  # OverflowException('message')


def _constructor_overloads() -> None:
    """pythonnet's ``Cls.Overloads[int](5)`` and ``Cls.__overloads__[...]`` for constructors:
    the class-only ``Cls.overloads`` selector under pythonnet's names (on the base class, so a
    .NET member of that name on a class still wins). Set once, at import."""
    for name in ("Overloads", "__overloads__"):
        if name not in _base.ClrObject.__dict__:
            type.__setattr__(_base.ClrObject, name, _classes.ConstructorOverloads())


def _out_placeholders(fn: Any, delegate_class: Any) -> Any:
    """pythonnet's convention for a Python callable behind a delegate with ``out`` parameters:
    it takes a placeholder (None) for each of them, in its place among the arguments. Used only
    for a callable that takes that many arguments and not the input arguments alone, so a
    callable written for pyclrbridge's convention works the same with compat imported."""
    if getattr(type(fn), "__clr_type_id__", 0):
        return fn  # already a .NET delegate
    invoke = GetClrType(delegate_class).GetMethod("Invoke")
    outs = [bool(p.IsOut and not p.IsIn) for p in invoke.GetParameters()] if invoke is not None else []
    if not any(outs):
        return fn
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: as it is
        return fn

    def takes(count: int) -> bool:
        try:
            signature.bind(*([None] * count))
        except TypeError:
            return False
        return True

    if takes(outs.count(False)) or not takes(len(outs)):
        return fn  # pyclrbridge's convention (input arguments only) fits: unchanged

    def with_placeholders(*given: Any) -> Any:
        supplied = iter(given)
        return fn(*[None if out else next(supplied) for out in outs])

    return with_placeholders


def _out_placeholders_for_parameter(fn: Any, delegate_type_id: int) -> Any:
    """`_out_placeholders` for a callable passed straight to a delegate parameter."""
    return _out_placeholders(fn, class_for(delegate_type_id))


def _install_accessors() -> None:
    """Chain the accessor lookup after the extension-method lookup for missing attributes."""
    extensions, names = _base._extension_lookup, _base._extension_names

    def lookup(obj: Any, name: str) -> Any:
        found = extensions(obj, name)
        if found is None and name[:1] in "gsar":
            found = _accessor_lookup(obj, name)
        return found

    _base.install_extensions(lookup, names)


def ListAssemblies(verbose: bool = False) -> list[str]:  # pythonnet's name
    """Names of the assemblies loaded in the runtime (full names when ``verbose``)."""
    assemblies = _loaded_assemblies()
    return [str(a.FullName) if verbose else str(a.GetName().Name) for a in assemblies]


# pythonnet's preload switch. pyclrbridge finds the namespaces of every loaded and referenced
# assembly on import either way, so the flag is only remembered (one bool, replaced whole).
_preload = [False]


def getPreload() -> bool:  # pythonnet's name
    """The preload flag `setPreload` last set (False at start)."""
    return _preload[0]


def setPreload(preload: bool) -> None:  # pythonnet's name
    """Accepted for pythonnet code; namespaces are found on import whether it is set or not."""
    _preload[0] = bool(preload)


class clrmethod:
    """pythonnet's decorator declaring the .NET signature of a Python method
    (``@clr.clrmethod(int, [str])``). The method stays a Python method; the declared types are
    kept on it (``_clr_return_type_``, ``_clr_arg_types_``, ``_clr_method_name_``), and a .NET
    subclass's emitted type declares a public method of that signature calling it."""

    def __init__(
        self, return_type: Any, arg_types: Any, clrname: str | None = None, func: Callable[..., Any] | None = None
    ) -> None:
        self._clr_return_type_ = return_type
        self._clr_arg_types_ = list(arg_types)
        self._clr_method_name_ = clrname
        self.__func = func

    def __call__(self, func: Callable[..., Any]) -> clrmethod:
        self.__func = func
        self._clr_method_name_ = self._clr_method_name_ or func.__name__
        self.__name__ = func.__name__
        self.__doc__ = func.__doc__
        return self

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        func = self.__func
        if func is None:
            raise TypeError("clrmethod was not applied to a function")
        return func.__get__(instance, owner)


class clrproperty:
    """pythonnet's property with a declared .NET type (``@clr.clrproperty(int)``, ``.setter``);
    a .NET subclass's emitted type declares a public property of that type calling it."""

    def __init__(
        self, type_: Any, fget: Callable[[Any], Any] | None = None, fset: Callable[[Any, Any], None] | None = None
    ) -> None:
        self._clr_property_type_ = type_
        self.fget = fget
        self.fset = fset

    def __call__(self, fget: Callable[[Any], Any]) -> clrproperty:
        return self.getter(fget)

    def getter(self, fget: Callable[[Any], Any]) -> clrproperty:
        self.fget = fget
        return self

    def setter(self, fset: Callable[[Any, Any], None]) -> clrproperty:
        self.fset = fset
        return self

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        if self.fget is None:
            raise AttributeError("this clrproperty has no getter")
        return self.fget(instance)

    def __set__(self, instance: Any, value: Any) -> None:
        if self.fset is None:
            raise AttributeError("this clrproperty has no setter")
        self.fset(instance, value)


def _pythonnet_origin() -> str | None:
    """Where ``import clr`` would find pythonnet's module (None: it would not)."""
    try:
        spec = importlib.util.find_spec("clr")
    except (ImportError, ValueError):
        return None
    return None if spec is None else str(spec.origin or "pythonnet")


def install(*, override: bool = True, warn: bool = True) -> bool:
    """Make ``import clr`` give this module for the rest of the process. Returns True.

    An installed pythonnet is shadowed for this process (a `RuntimeWarning` names the
    module that ``import clr`` would have loaded); pythonnet itself is not touched. When a
    ``clr`` module is already imported (pythonnet started in this process) nothing can be
    swapped safely: RuntimeError. Calling it again is harmless. ``override`` is accepted for
    code written for earlier releases and changes nothing; ``warn=False`` (the
    ``PYCLRBRIDGE_COMPAT=1`` hook, an opt-in already) skips the warning.
    """
    me = sys.modules[_MODULE]
    existing = sys.modules.get("clr")
    if existing is me:
        return True
    if existing is not None:
        raise RuntimeError(
            f"pyclrbridge.compat.install(): a 'clr' module ({getattr(existing, '__file__', existing)!r}) "
            "is already imported in this process, so pythonnet's runtime is already running; "
            "two bridges cannot share 'import clr'. Call install() before the first 'import clr'."
        )
    origin = _pythonnet_origin()
    if origin is not None and warn:
        warnings.warn(
            f"pyclrbridge.compat.install(): 'import clr' now gives pyclrbridge.compat, shadowing "
            f"pythonnet's clr ({origin}) for this process",
            RuntimeWarning,
            stacklevel=2,
        )
    sys.modules["clr"] = me
    return True


def __getattr__(name: str) -> Any:
    """pythonnet's ``clr.NoNamespaceType``: a type declared outside any namespace in a loaded
    assembly is an attribute of the module."""
    if not name.startswith("_"):
        full_names = _importer.index().types.get("", {}).get(name)
        if full_names:
            return class_for(id_by_name(min(full_names, key=lambda n: ("`" in n, n))))  # the non-generic first
    raise AttributeError(
        f"module 'clr' has no attribute {name!r} (nor does a loaded assembly declare a type {name!r} "
        "outside a namespace)",
        name=name,
    )


# ---- PYCLRBRIDGE_COMPAT=1 for every process: a .pth hook in site-packages ------------------

HOOK_NAME = "pyclrbridge-compat.pth"
_HOOK_LINE = (
    "import os; os.environ.get('PYCLRBRIDGE_COMPAT') == '1' and "
    "__import__('importlib').import_module('pyclrbridge._compat_hook').activate()\n"
)


def hook_path() -> Path:
    """Where the hook goes: this environment's ``site-packages`` (purelib)."""
    return Path(sysconfig.get_paths()["purelib"]) / HOOK_NAME


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyclrbridge.compat",
        description="Install or remove the hook that makes PYCLRBRIDGE_COMPAT=1 give pyclrbridge.compat "
        "as 'import clr' in every Python process of this environment.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--install-hook", action="store_true", help=f"write {HOOK_NAME} into site-packages")
    action.add_argument("--remove-hook", action="store_true", help=f"delete {HOOK_NAME}")
    action.add_argument("--hook-path", action="store_true", help="print where the hook goes")
    options = parser.parse_args(argv)
    path = hook_path()
    if options.hook_path:
        print(path)
    elif options.install_hook:
        path.write_text(_HOOK_LINE, encoding="utf-8")
        print(f"wrote {path}: PYCLRBRIDGE_COMPAT=1 now makes 'import clr' give pyclrbridge.compat")
    else:
        path.unlink(missing_ok=True)
        print(f"removed {path}")
    return 0


def _pythonnet_rules(enabled: bool) -> None:
    """Switch every process-wide pythonnet rule of this module on (what importing it does) or
    off (pyclrbridge's native rules; for a process, such as a test run, that goes on natively).
    The additions that change nothing native (accessor methods, number protocols of kept
    primitives, ``Overloads`` on classes, the engine's refusal) stay."""
    _binder.accept_out_placeholders(enabled)  # pythonnet's Int32.TryParse("42", 0)
    _protected.open_protected(enabled)  # pythonnet reaches protected members on every object
    _events.refuse_unknown_removal(enabled)  # pythonnet's ValueError for -= of a handler never added
    _convert.accept_int_for_char(enabled)  # pythonnet's MethodTest.Overloaded.__overloads__[Char](65)
    _member_errors.pythonnet_member_errors(enabled)  # pythonnet's TypeError for read-only members
    _construction.casts_keep_objects(enabled)  # pythonnet's System.String("x") is a .NET String
    _construction.adapt_callables(_out_placeholders if enabled else None)
    _convert.adapt_delegate_callables(_out_placeholders_for_parameter if enabled else None)
    _pythonnet_type_names(enabled)
    _pythonnet_reprs(enabled)
    _pythonnet_enums(enabled)
    _pythonnet_docs(enabled)
    _member_errors_on_objects(enabled)


_runtime()  # like pythonnet's `import clr`: .NET is running and namespaces import
_engine.refuse_engine()  # before any library can load pythonnet's engine as a dependency
_number_protocols()
_install_accessors()
_constructor_overloads()
_pythonnet_rules(True)

if __name__ == "__main__":
    raise SystemExit(_main())
__name__ = "clr"  # pythonnet's module name (sys.modules keeps both keys' spellings)
