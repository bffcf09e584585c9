"""pythonnet's engine (the assembly ``Python.Runtime``) under `pyclrbridge.compat`: refused.

Its code calls into a CPython runtime that only pythonnet initialises; under pyclrbridge,
reaching it would crash the process (``Runtime.TryCollectingGarbage``), hang it
(``PythonEngine.Initialize``) or leave a ``Py.GIL()`` object whose finalizer aborts it. Three
guards, from the first line of defence to the last:

1. the shim never loads the assembly (not by path, not by name, not as a dependency of a
   library: the JIT of a library method that uses an engine type throws
   ``System.IO.FileLoadException`` naming the reason, before any engine code runs);
2. its namespaces import (pythonnet code imports them at the top of a module) but give
   `EngineType` stand-ins whose every use raises ``System.NotSupportedException``;
3. should the assembly be loaded anyway (``System.Reflection.Assembly.LoadFrom`` behind the
   shim's back, or before compat was imported), the engine's CPython binding points at a
   library that does not exist, so its code fails with ``TypeInitializationException``
   instead of binding this process's CPython.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

from .host import bridge as _bridge
from .host.shim import utf16
from .proxies.catalog import class_by_name

ENGINE_ASSEMBLY = "Python.Runtime"
_ENGINE_REFUSED = (
    "is part of pythonnet's own engine (the assembly Python.Runtime embeds CPython through "
    "pythonnet's runtime, which pyclrbridge.compat does not start): it cannot be used under "
    "pyclrbridge, where calling it would crash or hang the process. Code that only uses the 'clr' "
    "module and .NET libraries runs unchanged; for PyObject, PythonEngine or Runtime use pythonnet itself"
)


def engine_refusal(name: str) -> BaseException:
    error: BaseException = class_by_name("System.NotSupportedException")(f"{name} {_ENGINE_REFUSED}")
    error.args = (f"{name} {_ENGINE_REFUSED}",)
    return error


class EngineType:
    """Stands for a type of pythonnet's engine (``Python.Runtime.Runtime``): any use raises
    ``System.NotSupportedException`` naming it; nothing of the engine runs."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise engine_refusal(f"{self._name}.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise engine_refusal(f"{self._name}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise engine_refusal(self._name)

    def __getitem__(self, key: Any) -> Any:
        raise engine_refusal(f"{self._name}[...]")

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[Any, ...]:
        raise engine_refusal(self._name)  # ``class Encoder(RawProxyEncoder)``

    def __repr__(self) -> str:
        return f"<pythonnet engine type {self._name} (not usable under pyclrbridge)>"


class _EngineNamespace(types.ModuleType):
    """``Python.Runtime`` (or a namespace under it): its names are `EngineType` stand-ins."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return EngineType(f"{self.__name__}.{name}")

    def __repr__(self) -> str:
        return f"<pythonnet engine namespace {self.__name__!r} (not usable under pyclrbridge)>"


class _EngineLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _EngineNamespace(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class _EngineGuard(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path`` under compat: ``import Python.Runtime`` (and its sub-namespaces,
    also reached as ``Python.Runtime`` on the ``Python`` namespace) gives an `_EngineNamespace`,
    never the engine's own types."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == ENGINE_ASSEMBLY or fullname.startswith(ENGINE_ASSEMBLY + "."):
            return importlib.machinery.ModuleSpec(fullname, _ENGINE_LOADER, is_package=True)
        return None


_ENGINE_LOADER = _EngineLoader()

# What pythonnet's engine reads (in .NET's environment) as the CPython library to bind on its
# first use: a name no library has, so engine code that runs anyway (a library's own method
# calling Py.GIL(), a type reached by reflection) fails with a .NET TypeInitializationException
# (inner DllNotFoundException naming this) instead of binding this process's CPython behind
# pyclrbridge's back and crashing it.
ENGINE_DISARMED = "pythonnet-engine-not-available-under-pyclrbridge.compat"


def _disarm_engine() -> None:
    """Set ``PYTHONNET_PYDLL`` in .NET's environment (not ``os.environ``) to `ENGINE_DISARMED`."""
    class_by_name("System.Environment").SetEnvironmentVariable("PYTHONNET_PYDLL", ENGINE_DISARMED)


_ENGINE_GUARD = _EngineGuard()


def is_engine(name: object) -> bool:
    """Whether ``AddReference(name)`` names the engine: ``"Python.Runtime"``, a path to
    ``Python.Runtime.dll``, a full assembly name (the shim refuses any other spelling)."""
    text = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    if text.lower().endswith((".dll", ".exe")):
        text = text[:-4]
    return text.split(",", 1)[0].strip().lower() == ENGINE_ASSEMBLY.lower()


def refuse_engine() -> None:
    """Put the three guards in place (once, at compat's import; each step is idempotent)."""
    name, n = utf16(ENGINE_ASSEMBLY)
    reason, m = utf16(f"{ENGINE_ASSEMBLY} {_ENGINE_REFUSED}")
    _bridge.shim().RefuseAssembly(name, n, reason, m)
    if _ENGINE_GUARD not in sys.meta_path:
        sys.meta_path.insert(0, _ENGINE_GUARD)  # before pyclrbridge's namespace finder and any other
    _disarm_engine()
