"""The compat module presents itself as pythonnet's ``clr``: its name, a pythonnet version
(``clr.__version__ >= "3.0.0"`` checks pass), pyclrbridge's own version beside it, and
pythonnet's ``clr.NoNamespaceType`` (types declared outside any namespace)."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python


@pytest.fixture
def compat_clr(fixtures: Any) -> Iterator[Any]:
    from pyclrbridge import compat

    yield compat


def test_module_is_named_clr_with_a_pythonnet_version(compat_clr: Any) -> None:
    import sys

    import pyclrbridge

    clr = compat_clr
    assert clr.__name__ == "clr"
    assert clr.__version__ >= "3.0.0" and clr.__version__.split(".")[0] == "3"
    assert tuple(int(part) for part in clr.__version__.split(".")) >= (3, 0, 0)
    assert clr.__pyclrbridge_version__ == pyclrbridge.__version__
    assert sys.modules["pyclrbridge.compat"] is clr


def test_installed_clr_is_the_same_module_and_the_command_line_still_runs() -> None:
    proc = run_python(
        """
        import subprocess, sys
        import pyclrbridge.compat
        pyclrbridge.compat.install(warn=False)
        import clr
        print(clr is pyclrbridge.compat, clr.__name__, clr.__version__ >= "3.0.0")
        command = [sys.executable, "-m", "pyclrbridge.compat", "--hook-path"]
        cli = subprocess.run(command, capture_output=True, text=True)
        print(cli.returncode, cli.stdout.strip().endswith("pyclrbridge-compat.pth"))
        """
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["True", "clr", "True", "0", "True"]


def test_no_namespace_type_is_an_attribute_of_clr(compat_clr: Any) -> None:
    clr = compat_clr
    assert clr.CompatGlobalType().Hello() == "global"
    assert clr.GetClrType(clr.CompatGlobalType).Namespace is None
    with pytest.raises(AttributeError, match="NoSuchGlobalType"):
        _ = clr.NoSuchGlobalType
    with pytest.raises(AttributeError):
        _ = clr._private_name


def test_classes_and_namespaces_have_pythonnet_type_names_and_namespace_docs() -> None:
    # Code written for pythonnet tells .NET classes and namespaces apart by their types' names
    # (pythonnet's own test helpers do: type(cls).__name__ == "CLRMetatype").
    proc = run_python(
        """
        import types
        from pyclrbridge import compat as clr
        import System
        import System.Collections.Generic as generic

        for cls in (System.String, System.Int32, System.DayOfWeek, generic.List[int]):
            print(type(cls).__name__, type(cls).__module__, isinstance(cls, type))
        print(type(System).__name__, type(System).__module__, isinstance(System, types.ModuleType))
        doc = generic.__doc__
        print(doc.splitlines()[0])
        print("- System.Collections" in doc.splitlines(), "- System.Private.CoreLib" in doc.splitlines())
        """
    )
    assert_clean_exit(proc)
    assert proc.stdout.splitlines() == ["CLRMetatype clr._internal True"] * 4 + [
        "ModuleObject clr._internal True",
        "Namespace containing types from the following assemblies:",
        "True True",
    ]


def test_native_type_names_are_unchanged() -> None:
    proc = run_python(
        """
        import pyclrbridge
        pyclrbridge.load()
        import System
        print(type(System.String).__name__, type(System).__name__, System.__doc__)
        """
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["ClrMeta", "NamespaceModule", "None"]


def test_dir_of_a_namespace_lists_the_module_attributes_too_under_compat(compat_clr: Any) -> None:
    # pythonnet's dir() of a namespace is a module's: its members and its own dunders.
    import System.Configuration  # type: ignore[import-not-found]  # a .NET namespace

    listed = dir(System.Configuration)
    assert "Assemblies" in listed
    assert {"__name__", "__doc__", "__class__"} <= set(listed)
    assert all(name.startswith("__") or not name.startswith("_") for name in listed)


def test_a_namespace_repr_called_on_something_else_is_a_type_error(compat_clr: Any) -> None:
    import System  # type: ignore[import-not-found]  # a .NET namespace

    namespace_type = type(System)
    assert namespace_type.__repr__(System) == repr(System)
    with pytest.raises(TypeError, match="requires a namespace module, not 'int'"):
        namespace_type.__repr__(0)
    with pytest.raises(TypeError):
        namespace_type.__getattribute__(0, "spam")
    # As CPython's own module type: a TypeError up to 3.13; from 3.14 modules inherit
    # object.__setattr__, whose refusal of an int is an AttributeError.
    with pytest.raises(TypeError if types.ModuleType.__setattr__ is not object.__setattr__ else AttributeError):
        namespace_type.__setattr__(0, "spam", 1)


def test_dir_of_a_namespace_natively_lists_its_members_only(clr: Any) -> None:
    import System.Configuration  # type: ignore[import-not-found]  # a .NET namespace

    listed = dir(System.Configuration)
    assert "Assemblies" in listed and not any(name.startswith("_") for name in listed)
