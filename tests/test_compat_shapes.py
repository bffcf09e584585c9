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
    from pyclrbridge.proxies import binder, protected

    binder.accept_out_placeholders(True)
    protected.open_protected(True)
    compat.keep_primitive_objects(True)
    yield compat
    binder.accept_out_placeholders(False)
    protected.open_protected(False)
    compat.keep_primitive_objects(False)


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


def test_out_parameter_placeholders_are_type_checked_as_pythonnet_does(compat_clr: Any) -> None:
    # pythonnet converts a placeholder as the out parameter's type: None cannot be an Int32.
    from System.Collections.Generic import Dictionary

    with pytest.raises(TypeError, match="TryGetValue"):
        Dictionary[str, int]().TryGetValue("k", None)
    with pytest.raises(TypeError, match="TryGetValue"):
        Dictionary[str, int]().TryGetValue("k", "not an int")
    assert Dictionary[str, str]().TryGetValue("k", None) == (False, None)  # None is a String


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


def _python(code: str, compat: str) -> subprocess.CompletedProcess[str]:
    """``python -c code`` with PYCLRBRIDGE_COMPAT set to ``compat`` and this checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONPATH=str(ROOT), PYCLRBRIDGE_COMPAT=compat)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_environment_variable_hook_gives_compat_for_import_clr(tmp_path: Any) -> None:
    # A site directory of our own holds the .pth line the hook installer writes.
    from pyclrbridge import _compat_hook  # noqa: F401  (importable without .NET)

    site_dir = tmp_path / "site"
    site_dir.mkdir()
    line = _python("from pyclrbridge.compat import _HOOK_LINE; print(_HOOK_LINE, end='')", "0").stdout
    (site_dir / "pyclrbridge-compat.pth").write_text(line, encoding="utf-8")
    add_site = f"import site, sys; site.addsitedir({str(site_dir)!r}); "
    off = _python(add_site + "print(any(type(f).__name__ == 'ClrFinder' for f in sys.meta_path))", "0")
    on = _python(
        add_site + "import clr, System; print(clr is sys.modules['pyclrbridge.compat'], System.Math.Abs(-4))", "1"
    )
    assert_clean_exit(on)
    assert on.stdout.split() == ["True", "4"]
    assert off.stdout.split() == ["False"]  # without the variable nothing is hooked


def test_hook_installer_names_the_site_packages_file() -> None:
    proc = _python(
        "import runpy, sys; sys.argv = ['x', '--hook-path']; runpy.run_module('pyclrbridge.compat', "
        "run_name='__main__')",
        "0",
    )
    assert_clean_exit(proc)
    assert proc.stdout.strip().endswith("pyclrbridge-compat.pth")


def test_clrmethod_and_clrproperty_are_visible_to_dotnet_reflection(compat_clr: Any) -> None:
    # pythonnet's __namespace__ classes declare .NET members with clrmethod/clrproperty: .NET
    # code finds and calls them by reflection, and both sides see the same state.
    import System

    clr = compat_clr

    class Counter(System.Object):  # type: ignore[misc]  # a .NET base class
        __namespace__ = "CompatShapes.Reflection"

        def __init__(self) -> None:
            self._n = 3

        @clr.clrmethod(int, [int])
        def Scaled(self, factor: int) -> int:
            return self._n * factor

        @clr.clrmethod(None, [str], clrname="Note")
        def note(self, text: str) -> None:
            self.last = text

        def _get(self) -> int:
            return self._n

        def _set(self, value: int) -> None:
            self._n = value

        N = clr.clrproperty(int, _get, _set)

        @clr.clrproperty(str)
        def Label(self) -> str:
            return f"n={self._n}"

    c = Counter()
    t = c.GetType()
    assert t.FullName == "CompatShapes.Reflection.Counter"
    assert t.GetMethod("Scaled").Invoke(c, [4]) == 12
    assert str(t.GetMethod("Scaled").ReturnType) == "System.Int32"
    t.GetMethod("Note").Invoke(c, ["hello"])
    assert c.last == "hello"
    n = t.GetProperty("N")
    assert n.CanRead and n.CanWrite and n.GetValue(c) == 3
    n.SetValue(c, 5)
    assert c.N == 5 and t.GetProperty("Label").GetValue(c) == "n=5"
    assert not t.GetProperty("Label").CanWrite
    c.N = 6
    assert n.GetValue(c) == 6 and c.Scaled(2) == 12
