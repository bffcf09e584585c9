"""pythonnet call shapes under ``pyclrbridge.compat``: out-parameter placeholders, the ``clr``
extras (clrmethod, clrproperty, preload), interface views' implementation, module attributes
and the ``PYCLRBRIDGE_COMPAT=1`` hook. Written the way pythonnet users write code (our own)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import ROOT, assert_clean_exit, run_python


@pytest.fixture
def compat_clr(fixtures: Any) -> Iterator[Any]:
    from pyclrbridge import compat
    from pyclrbridge.proxies import binder

    binder.accept_out_placeholders(True)
    yield compat
    binder.accept_out_placeholders(False)


def test_out_parameter_placeholder_returns_result_and_out_value(compat_clr: Any) -> None:
    import System

    assert System.Int32.TryParse("42", 0) == (True, 42)
    assert System.Int32.TryParse("nope", 0) == (False, 0)


def test_out_parameter_placeholder_none_for_a_dictionary_value(compat_clr: Any) -> None:
    import System
    from System.Collections.Generic import Dictionary

    d = Dictionary[str, System.Object]()
    d["k"] = "v"
    assert d.TryGetValue("k", None) == (True, "v")
    assert d.TryGetValue("missing", None) == (False, None)


def test_out_parameter_may_still_be_omitted_under_compat(compat_clr: Any) -> None:
    import System

    assert System.Int32.TryParse("7") == (True, 7)


def test_native_api_refuses_a_value_for_an_out_parameter() -> None:
    proc = run_python("""
        import pyclrbridge
        pyclrbridge.load()
        import System
        print(System.Int32.TryParse("42"))
        try:
            System.Int32.TryParse("42", 0)
        except TypeError as e:
            print("refused", "out Int32 result" in str(e))
    """)
    assert_clean_exit(proc)
    assert proc.stdout.splitlines() == ["(True, 42)", "refused True"]


def test_preload_flag_round_trips(compat_clr: Any) -> None:
    clr = compat_clr
    before = clr.getPreload()
    try:
        clr.setPreload(True)
        assert clr.getPreload() is True
        import System

        assert System.Math.Max(1, 2) == 2  # namespaces import either way
    finally:
        clr.setPreload(before)


def test_clrmethod_decorated_method_is_callable_from_python_and_keeps_its_types(compat_clr: Any) -> None:
    clr = compat_clr
    import System

    class Greeter(System.Object):
        @clr.clrmethod(str, [str])
        def Greet(self, name: str) -> str:
            return "hi " + name

    g = Greeter()
    assert g.Greet("ann") == "hi ann"
    declared = Greeter.__dict__["Greet"]
    assert declared._clr_return_type_ is str and declared._clr_arg_types_ == [str]


def test_clrproperty_with_getter_and_setter(compat_clr: Any) -> None:
    clr = compat_clr
    import System

    class Counter(System.Object):
        def __init__(self) -> None:
            super().__init__()
            self._n = 0

        @clr.clrproperty(int)
        def Count(self) -> int:
            return self._n

        @Count.setter
        def Count(self, value: int) -> None:
            self._n = value

    c = Counter()
    c.Count = 5
    assert c.Count == 5


def test_interface_view_exposes_the_implementation(compat_clr: Any) -> None:
    from System.Collections import IEnumerable
    from System.Collections.Generic import List

    xs = List[int]([1, 2])
    view = IEnumerable(xs)
    assert type(view).__name__ == "IEnumerable"
    assert view.__implementation__.Count == 2
    assert view.__raw_implementation__.Equals(xs)


def test_namespace_module_file_is_the_defining_assembly(compat_clr: Any) -> None:
    import System

    assert System.__file__.endswith("System.Private.CoreLib.dll")
    assert os.path.isfile(System.__file__)


def test_get_clr_type_of_a_namespace_class(compat_clr: Any) -> None:
    import System

    assert compat_clr.GetClrType(System.String).FullName == "System.String"


def _hook_env(tmp_site: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_environment_variable_hook_gives_compat_for_import_clr(tmp_path: Any) -> None:
    # A site directory of our own holds the .pth line the hook installer writes.
    from pyclrbridge import _compat_hook  # noqa: F401  (importable without .NET)

    site_dir = tmp_path / "site"
    site_dir.mkdir()
    line = subprocess.run(
        [sys.executable, "-c", "from pyclrbridge.compat import _HOOK_LINE; print(_HOOK_LINE, end='')"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_hook_env(str(site_dir)),
        check=True,
    ).stdout
    (site_dir / "pyclrbridge-compat.pth").write_text(line, encoding="utf-8")
    code = (
        f"import site; site.addsitedir({str(site_dir)!r}); import clr, System; print(clr.__name__, System.Math.Abs(-4))"
    )
    env = _hook_env(str(site_dir))
    probe = (
        f"import site, sys; site.addsitedir({str(site_dir)!r}); "
        "print(any(type(f).__name__ == 'ClrFinder' for f in sys.meta_path))"
    )
    off = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYCLRBRIDGE_COMPAT": "0"},
        check=False,
    )
    on = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYCLRBRIDGE_COMPAT": "1"},
        check=False,
    )
    assert_clean_exit(on)
    assert on.stdout.split() == ["pyclrbridge.compat", "4"]
    assert off.stdout.split() == ["False"]  # without the variable nothing is hooked


def test_hook_installer_names_the_site_packages_file() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pyclrbridge.compat", "--hook-path"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert_clean_exit(proc)
    assert proc.stdout.strip().endswith("pyclrbridge-compat.pth")


def test_casts_to_primitive_types_give_python_values(compat_clr: Any) -> None:
    import System

    text = System.String("abc")
    number = System.Int32(5)
    assert type(text) is str and text == "abc"
    assert type(number) is int and number == 5
    assert System.String.Concat(text, "d") == "abcd"  # .NET string methods through the statics


def test_protected_members_are_not_reachable(compat_clr: Any) -> None:
    from Fixtures.CompatShapes import Guarded

    class Peeker(Guarded):
        def peek(self) -> bool:
            return hasattr(self, "Secret") or hasattr(self, "Doubled") or hasattr(self, "Label")

    p = Peeker()
    assert p.peek() is False
    assert p.Reveal() == 14 and p.Name() == "guarded"  # public members reach them


def test_no_namespace_type_is_not_provided(compat_clr: Any) -> None:
    assert not hasattr(compat_clr, "NoNamespaceType")
    core = compat_clr.GetClrType(str).Assembly
    assert core.GetType("System.String").FullName == "System.String"


def test_the_runtime_is_coreclr(compat_clr: Any) -> None:
    from System.Runtime.InteropServices import RuntimeInformation

    assert RuntimeInformation.FrameworkDescription.startswith(".NET ")
    assert "Mono" not in RuntimeInformation.FrameworkDescription


def test_every_row_of_the_migration_table_names_existing_tests() -> None:
    import ast
    import re

    guide = (ROOT / "docs" / "migrating-from-pythonnet.md").read_text(encoding="utf-8")
    section = guide.split("## Every pythonnet behaviour", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| pythonnet")]
    defined: set[str] = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined.update(node.name for node in tree.body if isinstance(node, ast.FunctionDef))
    assert len(rows) >= 20
    for row in rows:
        named = re.findall(r"`(test_\w+)`", row.rsplit("|", 2)[1])
        assert named, f"a row names no test: {row}"
        missing = [n for n in named if n not in defined]
        assert not missing, f"{missing} named by the migration guide do not exist"
