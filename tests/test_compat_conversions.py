"""pythonnet behaviours the migration table lists that are about values and the runtime:
casts to primitive types (native: Python values; under compat by default: .NET objects, as
pythonnet 3 gives, that still take ``int()``, ``float()``, ``==``), names pythonnet's ``clr``
does not have, the runtime kind, and the table itself (every row names a test that exists)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import ROOT


@pytest.fixture
def compat_clr(fixtures: Any) -> Iterator[Any]:
    """``import clr`` as a migrating user has it: ``pyclrbridge.compat`` (its cast rule switched
    back to the native one after the test, for the tests that follow in this process)."""
    from pyclrbridge import compat

    compat.keep_primitive_objects(True)  # what importing compat did
    yield compat
    compat.keep_primitive_objects(False)


def test_importing_compat_keeps_primitive_objects_by_default() -> None:
    from conftest import assert_clean_exit, run_python

    proc = run_python(
        """
        from pyclrbridge import compat as clr
        import System
        print(System.String("x").ToString(), type(System.Int32(5)).__name__, clr.keep_primitive_objects())
        """
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["x", "Int32", "True"]


def test_casts_to_primitive_types_give_python_values(compat_clr: Any) -> None:
    assert compat_clr.keep_primitive_objects(False) is True  # the compat default was on
    import System  # type: ignore[import-not-found]  # a .NET namespace

    text = System.String("abc")
    number = System.Int32(5)
    assert type(text) is str and text == "abc"
    assert type(number) is int and number == 5
    assert type(System.Double(1.5)) is float
    assert System.Int64(2**40) == 2**40


def test_keep_primitive_objects_gives_dotnet_objects_as_pythonnet_does(compat_clr: Any) -> None:
    clr = compat_clr
    import System  # type: ignore[import-not-found]  # a .NET namespace
    from System import Int32, Int64, Math, String  # type: ignore[import-not-found]  # a .NET namespace

    assert clr.keep_primitive_objects() is True  # the previous setting: on, the compat default
    text = String("abc")
    assert text.Substring(1) == "bc"  # results of calls are Python values, as in pythonnet
    assert text.Length == 3 and text.ToUpper() == "ABC"
    assert text == "abc" and str(text) == "abc"
    assert not isinstance(text, str)
    number = Int32(5)
    assert number.CompareTo(3) == 1
    assert number.ToString("D3") == "005"
    assert number.GetType().FullName == "System.Int32"
    assert Math.Max(Int64(1), Int64(2)) == 2  # passed back to .NET as the Int64 it is
    assert System.Convert.ToString(number) == "5"
    assert String.Empty == "" and Int32.Parse("7") == 7  # members' results stay Python values
    assert clr.keep_primitive_objects(False) is True
    assert type(String("abc")) is str


def test_kept_primitive_objects_take_python_number_protocols(compat_clr: Any) -> None:
    from System import Boolean, Byte, Double, Int32, Int64, Single, String, UInt64  # type: ignore[import-not-found]

    for cls, value in ((Int32, 5), (Int64, 2**40), (UInt64, 2**63), (Byte, 200), (Double, 2.5), (Single, 1.5)):
        kept = cls(value)
        assert type(kept) is cls and type(kept) is not int
        assert kept == value and value == kept
        assert kept != value + 1 and not kept != value  # noqa: SIM202  # __ne__ itself
        assert hash(kept) == hash(value)
        assert int(kept) == int(value) and float(kept) == float(value)
        assert {value: "found"}[kept] == "found"
    assert list(range(Int32(3))) == [0, 1, 2]  # __index__ for integral types
    assert [10, 20, 30][Int64(1)] == 20
    assert f"{Int32(5):03d}" == "005" and f"{Double(0.5):.2f}" == "0.50"
    assert bool(Int32(0)) is False and bool(Int32(7)) is True and bool(Double(0.0)) is False
    assert bool(Boolean(False)) is False and int(Boolean(True)) == 1
    assert Int32(5) == Int64(5) and Int32(5) != Int32(6)
    text = String("x")
    assert text.ToString() == "x" and text == "x" and hash(text) == hash("x") and str(text) == "x"
    with pytest.raises(TypeError):
        [1, 2][Double(1.0)]  # a real number is no index, as in Python


def test_the_runtime_is_coreclr(compat_clr: Any) -> None:
    from System.Runtime.InteropServices import RuntimeInformation  # type: ignore[import-not-found]  # a .NET namespace

    description = RuntimeInformation.FrameworkDescription
    assert description.startswith(".NET ") and "Framework" not in description, description


def test_every_row_of_the_migration_table_names_an_existing_test() -> None:
    guide = (ROOT / "docs" / "migrating-from-pythonnet.md").read_text(encoding="utf-8")
    table = guide.split("## Every pythonnet behaviour", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| pythonnet")]
    rows = [r for r in rows if not set(r) <= set("|- ")]
    defined = {
        m.group(1)
        for path in (ROOT / "tests").rglob("test_*.py")
        for m in re.finditer(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M)
    }
    assert rows
    for row in rows:
        named = re.findall(r"`(test_\w+)`", row.rsplit("|", 2)[1])
        assert named, f"no test named in: {row}"
        missing = [t for t in named if t not in defined]
        assert not missing, f"{missing} (named in the migration table) do not exist"


def test_an_int_passes_as_a_char_code_point_under_compat_only() -> None:
    # pythonnet takes an int where a Char is wanted as its code point; natively a Char is a
    # one-character str and an int is refused (a fresh interpreter each: the rule is process-wide).
    from conftest import assert_clean_exit, run_python

    code = """
        {imports}
        import System
        from System.Collections.Generic import List
        chars = List[System.Char]()
        for value in (66, 0xFFFF, "C", -1, 0x10000):
            try:
                chars.Add(value)
            except TypeError as error:
                print("refused", value, "System.Char" in str(error))
        print([ord(c) for c in chars], System.Char.IsDigit(0x31), System.String("abc").IndexOf(98))
        """
    proc = run_python(code.format(imports="from pyclrbridge import compat as clr"))
    assert_clean_exit(proc)
    assert proc.stdout.splitlines() == ["refused -1 True", "refused 65536 True", "[66, 65535, 67] True 1"]
    proc = run_python(
        code.format(imports="import pyclrbridge; pyclrbridge.load()").replace(
            ', System.Char.IsDigit(0x31), System.String("abc").IndexOf(98)', ""
        )
    )
    assert_clean_exit(proc)
    assert proc.stdout.splitlines() == [
        "refused 66 True",
        "refused 65535 True",
        "refused -1 True",
        "refused 65536 True",
        "[67]",
    ]


def test_an_int_out_of_every_overload_s_range_is_an_overflow_error_under_compat(compat_clr: Any) -> None:
    from System import IntPtr, UIntPtr  # type: ignore[import-not-found]  # a .NET namespace

    for make, value in ((IntPtr, 2**63), (IntPtr, -(2**63) - 1), (UIntPtr, 2**64), (UIntPtr, -1)):
        with pytest.raises(OverflowError, match=f"{value} is out of range"):
            make(value)
    assert IntPtr(2**63 - 1).ToInt64() == 2**63 - 1  # in range of one candidate: it is taken


def test_an_int_out_of_every_overload_s_range_natively_names_the_candidates(fixtures: Any) -> None:
    from System import IntPtr  # type: ignore[import-not-found]  # a .NET namespace

    with pytest.raises(TypeError, match=r"no overload of System.IntPtr accepts \(int\); candidates:"):
        IntPtr(2**63)
