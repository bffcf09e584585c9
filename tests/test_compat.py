"""``pyclrbridge.compat``: code written for pythonnet's ``clr`` module runs on pyclrbridge.

The snippets are written the pythonnet way (``clr.AddReference``, ``import System``,
``.Overloads[...]``); they are our own, not pythonnet's tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, assert_clean_exit, run_python


@pytest.fixture
def compat_clr(fixtures: Any) -> Iterator[Any]:
    """``pyclrbridge.compat`` with every pythonnet rule on (conftest switches them)."""
    from pyclrbridge import compat

    yield compat


@pytest.fixture
def clr_module(fixtures: Any) -> Iterator[Any]:
    """``pyclrbridge.compat``, used the way pythonnet code uses its ``clr`` module (the
    pythonnet call shapes it switches on are switched off again after the test)."""
    from pyclrbridge import compat
    from pyclrbridge.proxies import binder, protected

    binder.accept_out_placeholders(True)
    protected.open_protected(True)
    compat.keep_primitive_objects(True)
    yield compat
    binder.accept_out_placeholders(False)
    protected.open_protected(False)
    compat.keep_primitive_objects(False)


def test_add_reference_by_path_returns_the_assembly_and_enables_imports(clr_module: Any, fixtures_dll: Path) -> None:
    clr = clr_module
    assembly = clr.AddReference(str(fixtures_dll))
    assert assembly.GetName().Name == "PyClrBridge.Fixtures"
    from Fixtures.Members import Widget

    assert Widget(4).Size == 4


def test_add_reference_by_name_loads_a_framework_assembly(clr_module: Any) -> None:
    clr = clr_module
    assembly = clr.AddReference("System.Xml.ReaderWriter")
    assert assembly.GetName().Name == "System.Xml.ReaderWriter"
    from System.Xml import XmlDocument

    doc = XmlDocument()
    doc.LoadXml("<a><b>text</b></a>")
    assert doc.DocumentElement.FirstChild.InnerText == "text"


def test_add_reference_to_a_missing_assembly_raises_file_not_found(clr_module: Any) -> None:
    clr = clr_module
    import System

    with pytest.raises(System.IO.FileNotFoundException, match="NoSuchAssembly") as info:
        clr.AddReference("NoSuchAssembly")
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.FileName == "NoSuchAssembly"


def test_get_clr_type_of_classes_and_python_builtins(clr_module: Any) -> None:
    clr = clr_module
    from System.Collections.Generic import List

    assert clr.GetClrType(List[int]).FullName.startswith("System.Collections.Generic.List`1[[System.Int32")
    assert clr.GetClrType(int).FullName == "System.Int32"
    assert clr.GetClrType(str).Name == "String"
    with pytest.raises(TypeError, match="GetClrType"):
        clr.GetClrType(Path)


def test_find_assembly_searches_sys_path(clr_module: Any, fixtures_dll: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clr = clr_module
    monkeypatch.syspath_prepend(str(fixtures_dll.parent))
    assert clr.FindAssembly("PyClrBridge.Fixtures") == str(fixtures_dll.parent / "PyClrBridge.Fixtures.dll")
    assert clr.FindAssembly("NoSuchAssembly") is None


def test_list_assemblies_names_what_is_loaded(clr_module: Any) -> None:
    clr = clr_module
    names = clr.ListAssemblies()
    assert "System.Private.CoreLib" in names
    assert any(n.startswith("System.Private.CoreLib, Version=") for n in clr.ListAssemblies(True))


def test_namespace_import_styles(clr_module: Any) -> None:
    import System
    import System.Collections.Generic as scg
    from System import Math

    assert System.String.Concat("a", "b") == "ab"
    assert Math.Max(3, 9) == 9
    d = scg.Dictionary[str, int]()
    d["x"] = 2
    assert d["x"] == 2


def test_overloads_picks_an_overload_by_parameter_types(clr_module: Any) -> None:
    from System import Int64, Math

    assert Math.Abs.Overloads[Int64](-5) == 5
    assert Math.Abs.__overloads__[Int64](-6) == 6
    from Fixtures.Members import Widget

    w = Widget(1)
    w.Grow.Overloads[int](3)
    assert w.Size == 4


def test_generic_collections_and_iteration(clr_module: Any) -> None:
    from System.Collections.Generic import List

    xs = List[str]()
    xs.Add("b")
    xs.Add("a")
    xs.Sort()
    assert [x for x in xs] == ["a", "b"]
    assert xs.Count == 2 and len(xs) == 2


def test_events_take_python_callables(clr_module: Any) -> None:
    from Fixtures.Members import Widget

    seen: list[int] = []
    w = Widget(1)

    def handler(sender: Any, args: Any) -> None:
        seen.append(sender.Size)

    w.Changed += handler
    w.Grow()
    w.Changed -= handler
    w.Grow()
    assert seen == [2]


def test_dotnet_exceptions_are_caught_as_system_exception(clr_module: Any) -> None:
    import System

    with pytest.raises(System.Exception) as info:
        System.Int32.Parse("not a number")
    assert isinstance(info.value, System.FormatException)


def test_subclass_with_a_pythonnet_namespace_attribute_works(clr_module: Any) -> None:
    from System.Collections.Generic import IComparer, List

    class ByLength(IComparer[str]):
        __namespace__ = "My.Comparers"  # names the .NET type, as in pythonnet

        def Compare(self, a: str, b: str) -> int:
            return len(a) - len(b)

    words = List[str](["ccc", "a", "bb"])
    words.Sort(ByLength())
    assert list(words) == ["a", "bb", "ccc"]
    assert clr_module.GetClrType(ByLength).FullName == "My.Comparers.ByLength"


def test_arrays_and_fluent_calls(clr_module: Any) -> None:
    import System

    numbers = System.Array[int]([1, 2, 3])
    assert len(numbers) == 3 and numbers[2] == 3
    builder = System.Text.StringBuilder()
    builder.Append("x").Append(1)
    assert builder.ToString() == "x1"


def test_iterating_a_dictionary_gives_pairs_under_compat(compat_clr: Any) -> None:
    """pythonnet yields what .NET enumerates: KeyValuePair objects (DictionaryEntry for a
    Hashtable); keys(), items() and ``in`` work as on a dict."""
    from System.Collections import Hashtable
    from System.Collections.Generic import Dictionary

    d = Dictionary[str, int]()
    d["a"] = 1
    d["b"] = 2
    assert [(kv.Key, kv.Value) for kv in d] == [("a", 1), ("b", 2)]
    assert [type(kv).__name__ for kv in d] == ["KeyValuePair[String, Int32]"] * 2
    assert list(d.keys()) == ["a", "b"] and list(d.items()) == [("a", 1), ("b", 2)]
    assert "a" in d and dict(d) == {"a": 1, "b": 2}
    table = Hashtable()
    table["k"] = "v"
    assert [(entry.Key, entry.Value) for entry in table] == [("k", "v")]


def test_iterating_a_dictionary_natively_gives_keys(fixtures: Any) -> None:
    """pyclrbridge follows Python's dict: iteration gives the keys (documented)."""
    from System.Collections import Hashtable
    from System.Collections.Generic import Dictionary

    d = Dictionary[str, int]()
    d["a"] = 1
    assert list(d) == ["a"]
    table = Hashtable()
    table["k"] = "v"
    assert list(table) == ["k"]


# ---- install(): `import clr` -----------------------------------------------------------


def test_install_shadows_an_installed_pythonnet_with_a_warning_naming_it() -> None:
    import importlib.util

    if importlib.util.find_spec("clr") is None:
        pytest.skip("pythonnet is not installed here (it is in the dev venv)")
    proc = run_python("""
        import warnings, sys
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            from pyclrbridge import compat
            print(compat.install())
        import clr
        print(clr is compat, any("shadowing pythonnet" in str(w.message) and "clr" in str(w.message) for w in seen))
    """)
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["True", "True", "True"]


def test_install_after_pythonnet_clr_was_imported_raises_with_the_reason() -> None:
    import importlib.util

    if importlib.util.find_spec("clr") is None:
        pytest.skip("pythonnet is not installed here (it is in the dev venv)")
    proc = run_python("""
        import sys, types
        sys.modules["clr"] = types.ModuleType("clr")  # stands for pythonnet's module, already imported
        from pyclrbridge import compat
        try:
            compat.install()
        except RuntimeError as e:
            print("already imported" in str(e), "before the first 'import clr'" in str(e))
    """)
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["True", "True"]


def test_install_makes_import_clr_work_without_pythonnet(fixtures_dll: Path) -> None:
    # -S: no site-packages, so pythonnet is not importable (pyclrbridge needs only the stdlib).
    import subprocess
    import sys

    code = f"""
import pyclrbridge.compat
assert pyclrbridge.compat.install() is True
import clr
clr.AddReference({str(fixtures_dll)!r})
from Fixtures.Members import Widget
from System import Math
print(clr is pyclrbridge.compat, Widget(2).Size, Math.Abs(-3), pyclrbridge.compat.install())
"""
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**_dotnet_env(), "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["True", "2", "3", "True"]


def test_install_override_keyword_of_earlier_releases_still_installs() -> None:
    proc = run_python("""
        import warnings
        warnings.simplefilter("ignore")
        from pyclrbridge import compat
        print(compat.install(override=True))
        import clr
        print(clr is compat)
    """)
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["True", "True"]


def _dotnet_env() -> dict[str, str]:
    import os

    return {
        k: v
        for k, v in os.environ.items()
        if k.startswith("DOTNET") or k in ("HOME", "TMPDIR", "PATH", "SYSTEMROOT", "USERPROFILE")
    }
