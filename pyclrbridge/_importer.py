"""``import System`` and friends: .NET namespaces as lazy Python modules.

A finder at the end of ``sys.meta_path`` answers only for names that are .NET namespaces of
loaded assemblies, so real Python modules always win.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .host import bridge as _bridge
from .host.errors import HostError
from .host.locks import SignalSafeLock
from .host.typeinfo import id_by_name
from .proxies import extensions as _extensions
from .proxies.catalog import class_by_name, class_for


@dataclass
class NamespaceIndex:
    generation: int = -1
    namespaces: set[str] = field(default_factory=set)
    types: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # ns -> short name -> full names
    children: dict[str, set[str]] = field(default_factory=dict)
    assemblies: list[str] = field(default_factory=list)
    defined_in: dict[str, set[str]] = field(default_factory=dict)  # ns -> assemblies with types in it

    def searched(self, ns: str) -> str:
        """The assemblies a lookup in ``ns`` searched, for error messages."""
        names = sorted(self.defined_in.get(ns, ()))
        if names:
            return f"searched {', '.join(names)}"
        return f"no loaded assembly defines types in it (searched {len(self.assemblies)} assemblies)"


# Owner: _index_lock serializes rebuilding; readers take the current index object (one
# atomic reference read) and never see a half-built one.
_index_lock = SignalSafeLock("pyclrbridge._importer._index_lock")
_index = NamespaceIndex()


def index(refresh: bool = False) -> NamespaceIndex:
    global _index
    current = _index
    generation = _bridge.shim().Generation()
    if current.generation == generation and not refresh:
        return current
    _ = _index_lock.taken
    try:
        if _index.generation == generation and not refresh:
            return _index
        data = _bridge.json_call(_bridge.shim().ListTypes)
        fresh = NamespaceIndex(generation=data["generation"])
        for asm in data["assemblies"]:
            fresh.assemblies.append(asm["name"])
            for full in asm["types"]:
                if not full:
                    continue
                ns, _, short = full.rpartition(".")
                fresh.types.setdefault(ns, {}).setdefault(short.split("`")[0], []).append(full)
                fresh.defined_in.setdefault(ns, set()).add(asm["name"])
                _add_namespace(fresh, ns)
        _index = fresh
    finally:
        _index_lock.release()
    _extensions.sync()  # the new assemblies' extension method names, as attributes of every proxy
    return fresh


def _add_namespace(ix: NamespaceIndex, ns: str) -> None:
    while ns and ns not in ix.namespaces:
        ix.namespaces.add(ns)
        parent, _, child = ns.rpartition(".")
        ix.children.setdefault(parent, set()).add(child)
        ns = parent


def _try_load(namespace: str) -> bool:
    data, n = _bridge.utf16(namespace)
    return bool(_bridge.shim().TryLoadNamespace(data, n))


def try_load(namespace: str) -> bool:
    """Load an assembly named like ``namespace`` (or its framework assembly) if none is loaded."""
    return _try_load(namespace)


def _pick(full_names: list[str]) -> str:
    """The non-generic type if there is one, else the generic definition of lowest arity."""

    def arity(name: str) -> int:
        return int(name.rsplit("`", 1)[1]) if "`" in name else 0

    return min(full_names, key=arity)


class NamespaceModule(types.ModuleType):
    """A .NET namespace: attributes are its types and sub-namespaces, resolved on first use."""

    def __getattr__(self, name: str) -> Any:
        if name == "__all__":
            # ``from Ns import *`` takes the namespace's types (sub-namespaces stay explicit).
            return sorted(index().types.get(self.__name__, {}))
        if name == "__file__":  # what tools read (pythonnet: the assembly defining the namespace)
            return self.__dict__.setdefault(name, _namespace_file(self.__name__))
        if name.startswith("__"):
            raise AttributeError(name)
        ns = self.__name__
        for attempt in range(2):
            ix = index()
            full_names = ix.types.get(ns, {}).get(name)
            if full_names:
                value = class_for(id_by_name(_pick(full_names)))
                return self.__dict__.setdefault(name, value)
            if f"{ns}.{name}" in ix.namespaces:
                if _bridge.SHUTTING_DOWN.is_set() or sys.meta_path is None:  # e.g. a __del__ at exit
                    raise HostError(f"{ns}.{name} cannot be imported: pyclrbridge has shut down (interpreter exit)")
                module = importlib.import_module(f"{ns}.{name}")
                return self.__dict__.setdefault(name, module)
            if attempt == 0 and not _try_load(f"{ns}.{name}") and not _try_load(ns):
                break
        raise AttributeError(missing_message(ns, name))

    def __dir__(self) -> list[str]:
        ix = index()
        return sorted(
            set(ix.types.get(self.__name__, {}))
            | ix.children.get(self.__name__, set())
            | {k for k in self.__dict__ if not k.startswith("_")}
        )

    def __repr__(self) -> str:
        return f"<.NET namespace {self.__name__!r}>"


def _namespace_file(ns: str) -> str:
    """The file of an assembly that defines types in ``ns`` (AttributeError: none does)."""
    shorts = sorted(index().types.get(ns, {}).items())
    if not shorts:
        raise AttributeError("__file__")
    cls = class_for(id_by_name(_pick(shorts[0][1])))
    location = class_by_name("System.Reflection.IntrospectionExtensions").GetTypeInfo(cls).Assembly.Location
    if not location:
        raise AttributeError("__file__")
    return str(location)


def missing_message(ns: str, name: str) -> str:
    """Why ``ns.name`` is neither a type nor a namespace, naming the assemblies searched."""
    return (
        f".NET namespace {ns!r} has no type or namespace {name!r} ({index().searched(ns)}; "
        "add_reference() the assembly that defines it)"
    )


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = NamespaceModule(spec.name)
        module.__path__ = []
        module.__package__ = spec.name
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        _extensions.use(module.__name__)  # importing a namespace is C#'s `using`: its extension methods


class NamespaceFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if _bridge.SHIM is None or _bridge.SHUTTING_DOWN.is_set():
            return None
        if fullname not in index().namespaces and (not _try_load(fullname) or fullname not in index().namespaces):
            parent, _, name = fullname.rpartition(".")
            if isinstance(sys.modules.get(parent), NamespaceModule):
                # Under a .NET namespace nothing else can answer: say what is missing and where
                # we looked. A plain ImportError (not ModuleNotFoundError) also reaches the user
                # of ``from Ns import Missing``, which would otherwise get a generic message.
                if name in index().types.get(parent, {}):
                    raise ImportError(
                        f"{fullname} is a .NET type, not a namespace: use 'from {parent} import {name}'", name=fullname
                    )
                raise ImportError(missing_message(parent, name), name=fullname)
            shadow = sys.modules.get(parent)
            if shadow is not None and name in index().types.get(parent, {}):
                # A Python package of the .NET namespace's name (often a folder in the working
                # directory) was imported instead, and has no such name: say what shadows it.
                raise ImportError(shadowed_message(parent, name, shadow), name=fullname)
            return None
        return importlib.machinery.ModuleSpec(fullname, _LOADER, is_package=True)


def shadowed_message(ns: str, name: str, module: types.ModuleType) -> str:
    """Why ``from ns import name`` found a Python package instead of the .NET namespace."""
    folders = dict.fromkeys(os.path.realpath(p) for p in getattr(module, "__path__", None) or [])
    where = getattr(module, "__file__", None) or ", ".join(folders)
    kind = "folder" if getattr(module, "__file__", None) is None else "Python package"
    return (
        f"cannot import {name!r} from the .NET namespace {ns!r}: the {kind} {where or '(unknown location)'} "
        f"shadows it (Python imports it as {ns!r} before looking at .NET). Rename or move it, or run from "
        "another working directory"
    )


#: Top-level names that are .NET namespaces in every runtime: importing one of them before
#: ``load()`` is almost always a forgotten ``load()``.
_FRAMEWORK_ROOTS = frozenset({"System", "Microsoft"})


class BeforeLoadFinder(importlib.abc.MetaPathFinder):
    """Turns ``import System`` before ``load()`` into an error that says to call ``load()``.

    It does not start .NET itself: ``load()`` takes the runtime config, the .NET root and
    runtime properties, and a runtime cannot restart, so an import that started one with
    defaults would make the user's own ``load(...)`` call fail later, far from its cause.
    Last on ``sys.meta_path``, it only sees names no installed Python module has.
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if _bridge.SHIM is not None or fullname.partition(".")[0] not in _FRAMEWORK_ROOTS:
            return None
        raise ModuleNotFoundError(
            f"No module named {fullname!r}: .NET namespaces can be imported once .NET is started. "
            "Call pyclrbridge.load() first:\n    import pyclrbridge\n    clr = pyclrbridge.load()",
            name=fullname,
        )


_LOADER = _Loader()
FINDER = NamespaceFinder()
BEFORE_LOAD = BeforeLoadFinder()


def install_hint() -> None:
    """Put the forgotten-``load()`` hint at the end of ``sys.meta_path`` (package import)."""
    if BEFORE_LOAD not in sys.meta_path:
        sys.meta_path.append(BEFORE_LOAD)


def _namespace_types(ns: str) -> dict[str, list[str]]:
    return index().types.get(ns, {})


def install() -> None:
    _extensions.install(_namespace_types)
    if FINDER not in sys.meta_path:
        sys.meta_path.append(FINDER)
