"""Under ``pyclrbridge.compat``, pythonnet's own engine (``Python.Runtime``) is refused with a
clear ``System.NotSupportedException`` when used: its code calls into a CPython runtime that
only pythonnet initialises, so reaching it crashed (``Runtime.TryCollectingGarbage``) or hung
(``PythonEngine.Initialize``) the process. Its namespaces still import (pythonnet code imports
them at the top of a module), giving stand-ins.

The assembly is the one shipped in the pythonnet wheel, extracted to a temporary folder
(never kept); each case runs in its own interpreter, so a crash is a failed test, not a
dead test run.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from conftest import assert_clean_exit, run_python

ENGINE_MEMBER = "pythonnet/runtime/Python.Runtime.dll"


def _wheel() -> Path | None:
    """pythonnet's wheel: $PYCLRBRIDGE_PYTHONNET_WHEEL, else the first found in pip's
    --find-links folders (PIP_FIND_LINKS) or the shared wheelhouse."""
    named = os.environ.get("PYCLRBRIDGE_PYTHONNET_WHEEL")
    if named:
        return Path(named) if Path(named).is_file() else None
    folders = [f for f in os.environ.get("PIP_FIND_LINKS", "").split() if f]
    folders.append("/work/shared/wheelhouse")
    for folder in folders:
        found = sorted(Path(folder).glob("pythonnet-3.*-none-any.whl")) if Path(folder).is_dir() else []
        if found:
            return found[-1]
    return None


@pytest.fixture(scope="module")
def engine_dll(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel = _wheel()
    if wheel is None:
        pytest.skip("pythonnet's wheel (with Python.Runtime.dll) was not found: set PYCLRBRIDGE_PYTHONNET_WHEEL")
    out = tmp_path_factory.mktemp("pythonnet-engine")
    with zipfile.ZipFile(wheel) as archive:
        if ENGINE_MEMBER not in archive.namelist():
            pytest.skip(f"{wheel.name} has no {ENGINE_MEMBER}")
        archive.extract(ENGINE_MEMBER, out)
    return out / ENGINE_MEMBER


def _run(code: str, dll: Path) -> str:
    proc = run_python(code, timeout=120, env={"ENGINE_DLL": str(dll)})
    assert_clean_exit(proc)
    return proc.stdout


REFUSAL = "is part of pythonnet's own engine"


def test_runtime_reached_after_the_engine_assembly_is_loaded_raises_not_supported(engine_dll: Path) -> None:
    # Loaded behind AddReference's back (as a fixture referencing it would load it): the
    # engine's types are stand-ins, refused before any of their code runs.
    out = _run(
        """
        import os
        from pyclrbridge import compat as clr
        import System
        System.Reflection.Assembly.LoadFrom(os.environ["ENGINE_DLL"])
        from Python.Runtime import Runtime
        try:
            Runtime.TryCollectingGarbage(20)
        except System.NotSupportedException as error:
            print("refused:", str(error))
        """,
        engine_dll,
    )
    assert "refused: Python.Runtime.Runtime.TryCollectingGarbage " + REFUSAL in out


def test_python_engine_initialize_is_refused_not_hung(engine_dll: Path) -> None:
    out = _run(
        """
        import os
        from pyclrbridge import compat as clr
        import System
        System.Reflection.Assembly.LoadFrom(os.environ["ENGINE_DLL"])
        from Python.Runtime import PythonEngine
        from Python.Runtime.Codecs import RawProxyEncoder
        import Python
        import types
        for use in (
            lambda: PythonEngine.Initialize(),
            lambda: RawProxyEncoder(),
            lambda: Python.Runtime.PyObject.FromManagedObject(1),
            lambda: Python.Runtime.PyObjectConversions.RegisterEncoder(None),
            lambda: types.new_class("Encoder", (RawProxyEncoder,)),  # subclassing, as codecs do
        ):
            try:
                use()
            except System.NotSupportedException as error:
                print("refused:", str(error).split(" is part")[0])
        print(repr(PythonEngine))
        """,
        engine_dll,
    )
    assert out.splitlines() == [
        "refused: Python.Runtime.PythonEngine.Initialize",
        "refused: Python.Runtime.Codecs.RawProxyEncoder",
        "refused: Python.Runtime.PyObject.FromManagedObject",
        "refused: Python.Runtime.PyObjectConversions.RegisterEncoder",
        "refused: Python.Runtime.Codecs.RawProxyEncoder",
        "<pythonnet engine type Python.Runtime.PythonEngine (not usable under pyclrbridge)>",
    ]


def test_add_reference_to_the_engine_is_refused(engine_dll: Path) -> None:
    # pythonnet's AddReference("Python.Runtime") returns the assembly; under compat the engine
    # is never loaded (a library method using it could leave a Py.GIL() object whose finalizer
    # aborts the process), by name, by path or in any other spelling.
    out = _run(
        """
        import os
        from pyclrbridge import compat as clr
        import System
        for name in ("Python.Runtime", os.environ["ENGINE_DLL"], "python.runtime.dll"):
            try:
                clr.AddReference(name)
            except System.NotSupportedException as error:
                print("refused:", "pythonnet's own engine" in str(error))
        loaded = [a.GetName().Name for a in System.AppDomain.CurrentDomain.GetAssemblies()]
        print("loaded:", "Python.Runtime" in loaded)
        """,
        engine_dll,
    )
    assert out.splitlines() == ["refused: True"] * 3 + ["loaded: False"]


def test_a_library_never_loads_the_engine_as_a_dependency(engine_dll: Path) -> None:
    # The way pythonnet's own test library reaches the engine: a method whose body uses
    # Py.GIL() makes the runtime resolve "Python.Runtime" (through the shim's resolver, which
    # would find it beside the library). That resolution, asked for directly here, is refused
    # with the reason, before any engine code runs.
    out = _run(
        """
        from pyclrbridge import compat as clr
        import System
        for load in (
            lambda: System.Reflection.Assembly.Load("Python.Runtime"),
            lambda: System.Runtime.Loader.AssemblyLoadContext.Default.LoadFromAssemblyName(
                System.Reflection.AssemblyName("Python.Runtime, Version=3.2.1.0")
            ),
        ):
            try:
                load()
            except System.IO.FileLoadException as error:  # the runtime's own wraps the shim's
                print("refused:", "pythonnet's own engine" in str(error.InnerException or error))
        loaded = [a.GetName().Name for a in System.AppDomain.CurrentDomain.GetAssemblies()]
        print("loaded:", "Python.Runtime" in loaded)
        """,
        engine_dll,
    )
    assert out.splitlines() == ["refused: True"] * 2 + ["loaded: False"]


def test_engine_code_reached_by_reflection_fails_cleanly(engine_dll: Path) -> None:
    # The stand-ins cannot cover engine code that runs anyway (reflection here; a library's own
    # method calling Py.GIL() in pythonnet's suite): its CPython binding fails to load instead
    # of binding this process's CPython and crashing.
    out = _run(
        """
        import os
        from pyclrbridge import compat as clr
        from pyclrbridge._compat_engine import ENGINE_DISARMED
        import System
        assembly = System.Reflection.Assembly.LoadFrom(os.environ["ENGINE_DLL"])
        collect = assembly.GetType("Python.Runtime.Runtime").GetMethod("TryCollectingGarbage", [System.Int32])
        for attempt in range(2):
            try:
                collect.Invoke(None, [20])
            except System.Reflection.TargetInvocationException as wrapped:  # MethodInfo.Invoke wraps, as in C#
                error = wrapped.InnerException
                print(type(error).__name__, ENGINE_DISARMED in str(error.InnerException))
        """,
        engine_dll,
    )
    assert out.splitlines() == ["TypeInitializationException True"] * 2


def test_other_python_namespaces_still_import(engine_dll: Path) -> None:
    # Only the engine's namespaces are stand-ins: a library's own "Python..." namespace is not.
    out = _run(
        """
        from pyclrbridge import compat as clr
        import System
        print(System.String.Join(",", ["a", "b"]))
        import importlib
        try:
            importlib.import_module("Python.RuntimeExtras")
        except ImportError as error:
            print("missing:", "pythonnet's own engine" not in str(error))
        """,
        engine_dll,
    )
    assert out.splitlines() == ["a,b", "missing: True"]
