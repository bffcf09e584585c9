"""pythonnet's names, docstrings and reprs under `pyclrbridge.compat`, each switchable back to
pyclrbridge's own (``enabled=False``)."""

from __future__ import annotations

from typing import Any

from . import _importer
from ._compat_assemblies import GetClrType
from .proxies import base as _base
from .proxies import classes as _classes
from .proxies import members as _members
from .proxies import meta as _meta
from .proxies.catalog import class_by_name, class_for


def _namespace_doc(module: Any) -> str:
    """pythonnet's docstring of a namespace: the assemblies defining types in it."""
    names = sorted(_importer.index().defined_in.get(module.__name__, ()))
    return "Namespace containing types from the following assemblies:\n\n" + "".join(f"- {n}\n" for n in names)


# The native names, docstring and reprs compat replaces: kept to put back (``pythonnet_rules(False)``).
_RENAMED = (_meta.ClrMeta, _meta.ClrEnumMeta, _importer.NamespaceModule)
_NATIVE_NAMES = {cls: (cls.__name__, cls.__qualname__, cls.__module__) for cls in _RENAMED}
_NATIVE_NAMESPACE_DOC: Any = vars(_importer.NamespaceModule).get("__doc__")
_NATIVE_REPRS = {cls: cls.__dict__["__repr__"] for cls in (_base.ClrObject, _base.ClrEnum)}


def pythonnet_type_names(enabled: bool) -> None:
    """pythonnet's names for the types of .NET classes (``CLRMetatype``) and namespaces
    (``ModuleObject``), in its ``clr._internal`` module, which code written for pythonnet tests
    (``type(cls).__name__ == "CLRMetatype"``); and its namespace docstring, ``dir()`` (with the
    module's own attributes) and a repr that checks its object. ``enabled=False`` puts
    pyclrbridge's back."""
    for cls in _RENAMED:
        name = ("ModuleObject" if cls is _importer.NamespaceModule else "CLRMetatype") if enabled else None
        native = _NATIVE_NAMES[cls]
        type.__setattr__(cls, "__name__", name or native[0])
        type.__setattr__(cls, "__qualname__", name or native[1])
        type.__setattr__(cls, "__module__", "clr._internal" if enabled else native[2])
    doc = property(_namespace_doc) if enabled else _NATIVE_NAMESPACE_DOC
    type.__setattr__(_importer.NamespaceModule, "__doc__", doc)
    for name, function in (("__dir__", _pythonnet_namespace_dir), ("__repr__", _checked_namespace_repr)):
        type.__setattr__(_importer.NamespaceModule, name, function if enabled else _NATIVE_NAMESPACE[name])


_NATIVE_NAMESPACE = {name: vars(_importer.NamespaceModule)[name] for name in ("__dir__", "__repr__")}


def _pythonnet_namespace_dir(self: Any) -> list[str]:
    """pythonnet's ``dir()`` of a namespace: its types and sub-namespaces, and the module's
    own attributes (``__name__``, ``__doc__``, ``__file__``...), as ``dir()`` of a module lists."""
    native: list[str] = _NATIVE_NAMESPACE["__dir__"](self)
    return sorted(set(native) | {n for n in object.__dir__(self) if n.startswith("__")})


def _checked_namespace_repr(self: Any) -> str:
    """The namespace's repr; called on anything else (``type(System).__repr__(0)``), a
    TypeError, as Python's own descriptors raise."""
    if not isinstance(self, _importer.NamespaceModule):
        raise TypeError(f"descriptor '__repr__' requires a namespace module, not {type(self).__name__!r}")
    return str(_NATIVE_NAMESPACE["__repr__"](self))


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


def pythonnet_docs(enabled: bool) -> None:
    """pythonnet's docstrings for classes (also those built before compat was imported) and
    methods; ``enabled=False`` puts pyclrbridge's back."""
    _classes.document_classes(_pythonnet_class_doc if enabled else None)
    _members.document_methods(_dotnet_method_doc if enabled else None)


def _pythonnet_repr(self: Any) -> str:
    """pythonnet's repr of a .NET object without a ``__repr__`` of its own: Python's default,
    ``<Namespace.Name object at 0x...>`` (an exception's is Python's, see `pythonnet_reprs`)."""
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


def pythonnet_reprs(enabled: bool) -> None:
    """pythonnet's repr formats, on the base classes (a .NET ``__repr__`` method still wins);
    ``enabled=False`` puts pyclrbridge's back."""
    type.__setattr__(_base.ClrObject, "__repr__", _pythonnet_repr if enabled else _NATIVE_REPRS[_base.ClrObject])
    type.__setattr__(_base.ClrEnum, "__repr__", _pythonnet_enum_repr if enabled else _NATIVE_REPRS[_base.ClrEnum])
    _classes.represent_exceptions(BaseException.__repr__ if enabled else None)  # OverflowException('message')
