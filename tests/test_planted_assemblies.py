"""Files planted where a user does not look (the working directory, sys.path, beside a
referenced library) must not answer ``add_reference("Name")`` or a Python import.

Each scenario runs in a fresh interpreter: the folders a runtime resolves from only grow.
The planted assemblies are emitted here (PersistedAssemblyBuilder, .NET 9 or newer) with the
assembly name and namespace an attacker would choose.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python


@pytest.fixture(scope="module")
def emit(clr: Any) -> Any:
    """``emit(path, assembly_name, namespace)`` writes a tiny assembly with one public type."""
    if int(clr.version.split(".")[0]) < 9:
        pytest.skip("emitting an assembly file needs PersistedAssemblyBuilder (.NET 9 or newer)")
    from System import Object  # type: ignore[import-not-found]  # a .NET namespace
    from System.Reflection import AssemblyName, TypeAttributes  # type: ignore[import-not-found]
    from System.Reflection.Emit import PersistedAssemblyBuilder  # type: ignore[import-not-found]

    from pyclrbridge.compat import GetClrType

    def write(path: Path, assembly: str, namespace: str) -> Path:
        builder = PersistedAssemblyBuilder(AssemblyName(assembly), GetClrType(Object).Assembly)
        module = builder.DefineDynamicModule(assembly)
        module.DefineType(f"{namespace}.Planted", TypeAttributes.Public | TypeAttributes.Class).CreateType()
        builder.Save(str(path))
        return path

    return write


def _run(code: str, fixtures_dll: Path, cwd: Path, pythonpath: Path | None = None) -> None:
    prelude = f"import os, sys\nos.chdir({str(cwd)!r})\n"
    if pythonpath is not None:
        prelude += f"sys.path.insert(0, {str(pythonpath)!r})\n"
    prelude += "import pyclrbridge\nclr = pyclrbridge.load()\n"
    proc = run_python(prelude + code, fixtures_dll=fixtures_dll)
    assert_clean_exit(proc)
    assert "OK" in proc.stdout, proc.stdout + proc.stderr


def test_add_reference_by_name_loads_the_framework_assembly_not_one_in_the_working_directory(
    emit: Any, fixtures_dll: Path, tmp_path: Path
) -> None:
    emit(tmp_path / "System.Xml.dll", "System.Xml", "Planted")
    _run(
        """
info = clr.add_reference("System.Xml")
assert not info.location.startswith(os.getcwd()), info.location
assert "System.Xml.XmlDocument" in info.types and "Planted.Planted" not in info.types
print("OK")
""",
        fixtures_dll,
        tmp_path,
    )


def test_add_reference_by_name_does_not_load_a_dll_from_the_working_directory(
    emit: Any, fixtures_dll: Path, tmp_path: Path
) -> None:
    emit(tmp_path / "Newtonsoft.Json.dll", "Newtonsoft.Json", "Newtonsoft.Json")
    _run(
        """
try:
    clr.add_reference("Newtonsoft.Json")
except FileNotFoundError as e:
    assert "pass its path" in str(e), e
else:
    raise AssertionError("loaded ./Newtonsoft.Json.dll by name")
assert clr.add_reference("./Newtonsoft.Json.dll").name == "Newtonsoft.Json"  # a path still loads
print("OK")
""",
        fixtures_dll,
        tmp_path,
    )


def test_add_reference_by_name_does_not_load_a_dll_from_sys_path(emit: Any, fixtures_dll: Path, tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    emit(tmp_path / "site" / "Newtonsoft.Json.dll", "Newtonsoft.Json", "Newtonsoft.Json")
    _run(
        """
try:
    clr.add_reference("Newtonsoft.Json")
except FileNotFoundError:
    print("OK")
""",
        fixtures_dll,
        tmp_path,
        pythonpath=tmp_path / "site",
    )


def test_a_file_found_by_name_beside_a_library_must_carry_that_assembly_name(
    emit: Any, fixtures_dll: Path, tmp_path: Path
) -> None:
    shutil.copy(fixtures_dll, tmp_path / "PyClrBridge.Fixtures.dll")
    emit(tmp_path / "Newtonsoft.Json.dll", "Impostor", "Newtonsoft.Json")
    _run(
        """
clr.add_reference(os.path.join(os.getcwd(), "PyClrBridge.Fixtures.dll"))
try:
    clr.add_reference("Newtonsoft.Json")
except OSError as e:
    assert "Newtonsoft.Json.dll is the assembly 'Impostor', not 'Newtonsoft.Json'" in str(e), e
else:
    raise AssertionError("loaded an assembly named Impostor for Newtonsoft.Json")
from System import AppDomain
assert "Impostor" not in [a.GetName().Name for a in AppDomain.CurrentDomain.GetAssemblies()]
print("OK")
""",
        fixtures_dll,
        tmp_path,
    )


def test_import_falls_back_when_a_stray_dll_sits_beside_a_referenced_library(
    emit: Any, fixtures_dll: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(fixtures_dll, lib / "PyClrBridge.Fixtures.dll")
    emit(lib / "simplejson.dll", "simplejson", "simplejson")
    _run(
        f"""
clr.add_reference({str(lib / "PyClrBridge.Fixtures.dll")!r})
try:
    import simplejson
except ImportError:
    simplejson = None
assert simplejson is None, simplejson
import Fixtures.Members  # the referenced library's own namespaces import
print("OK")
""",
        fixtures_dll,
        tmp_path,
    )


def test_import_does_not_load_a_dll_from_the_working_directory(emit: Any, fixtures_dll: Path, tmp_path: Path) -> None:
    emit(tmp_path / "simplejson.dll", "simplejson", "simplejson")
    _run(
        """
try:
    import simplejson
except ModuleNotFoundError:
    print("OK")
""",
        fixtures_dll,
        tmp_path,
    )


def test_an_explicitly_referenced_assembly_beside_a_library_imports(
    emit: Any, fixtures_dll: Path, tmp_path: Path
) -> None:
    shutil.copy(fixtures_dll, tmp_path / "PyClrBridge.Fixtures.dll")
    emit(tmp_path / "Helpers.dll", "Helpers", "Helpers.Text")
    _run(
        """
clr.add_reference(os.path.join(os.getcwd(), "PyClrBridge.Fixtures.dll"))
assert clr.add_reference("Helpers").name == "Helpers"  # by name, from the library's folder
from Helpers.Text import Planted
print("OK")
""",
        fixtures_dll,
        tmp_path,
    )
