"""``python -m pyclrbridge``: info, describe, search, stubs, repl; help texts and exit codes.

Commands run in subprocesses the way users run them; rendering details are checked in-process.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "pyclrbridge", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


# ---- subprocess: what scripts and people see ------------------------------------------


def test_info_json_reports_assemblies_caches_and_handles() -> None:
    proc = cli("info", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["loaded_assemblies"] >= 1
    for key in ("live_handles", "python_objects_held", "cached_classes", "known_types", "compiled_invokers"):
        assert isinstance(data[key], int), key


def test_describe_prints_base_interfaces_and_members_by_kind(fixtures_dll: Path) -> None:
    proc = cli("describe", "Fixtures.Members.Widget", "-r", str(fixtures_dll))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("class Fixtures.Members.Widget  (assembly PyClrBridge.Fixtures)")
    assert "base: object" in out and "interfaces: IDisposable" in out
    sections = [line for line in out.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert sections == ["Constructors:", "Methods:", "Properties:", "Fields:", "Events:", "Nested types:"]
    assert '  Widget(size: int, name: str = "widget")' in out
    assert "  Grow(by: int) -> None" in out
    assert "  Size: int  {get set}" in out
    assert "  const MaxSize: int" in out


def test_describe_json_lists_every_overload_in_python_terms(fixtures_dll: Path) -> None:
    proc = cli("describe", "Registry", "--json", "-r", str(fixtures_dll))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["name"] == "Fixtures.Generics.Registry[TKey, TValue]"
    assert data["methods"]["TryGet"] == ["TryGet(key: TKey) -> tuple[bool, TValue]"]
    assert data["methods"]["Keys"] == ["Keys() -> List[TKey]"]
    assert data["constructors"] == ["Registry()"]


def test_describe_shows_constructors_of_a_generic_definition() -> None:
    proc = cli("describe", "System.Collections.Generic.List")
    assert proc.returncode == 0, proc.stderr
    assert "  List(collection: IEnumerable[T])" in proc.stdout
    assert "  ConvertAll[TOutput](converter: Converter[T, TOutput]) -> List[TOutput]" in proc.stdout


def test_describe_unknown_type_exits_2_and_suggests_close_names() -> None:
    proc = cli("describe", "System.Collections.Generic.Lisst")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "no .NET type 'System.Collections.Generic.Lisst'" in proc.stderr
    assert "did you mean: System.Collections.Generic.List" in proc.stderr


def test_search_glob_finds_members_across_the_loaded_assemblies(fixtures_dll: Path) -> None:
    proc = cli("search", "*.Gr?w", "-n", "Fixtures", "-r", str(fixtures_dll))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["method", "Fixtures.Members.Widget.Grow"]


def test_search_substring_finds_types_and_no_match_exits_1(fixtures_dll: Path) -> None:
    proc = cli("search", "counter", "--types-only", "--json", "-r", str(fixtures_dll))
    assert proc.returncode == 0, proc.stderr
    names = {hit["name"] for hit in json.loads(proc.stdout)}
    assert {"Fixtures.Concurrency.UnsafeCounter", "Fixtures.Concurrency.SafeCounter"} <= names
    missing = cli("search", "NoSuchThingAnywhere", "--types-only")
    assert missing.returncode == 1
    assert "no type or member matches" in missing.stderr


def _main_in_process(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Argument parsing needs no runtime: run ``main()`` here and catch argparse's exit."""
    from pyclrbridge.__main__ import main

    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_has_help_with_exit_code_0(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("info", "describe", "search", "stubs", "add-package", "repl"):
        code, out, _ = _main_in_process(command, "--help", capsys=capsys)
        assert code == 0, command
        assert out.startswith("usage: python -m pyclrbridge " + command), command
    code, out, _ = _main_in_process("--help", capsys=capsys)
    assert code == 0 and "exit codes: 0 ok, 1 runtime error" in out


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert _main_in_process("describe", capsys=capsys)[0] == 2  # missing TYPE
    assert _main_in_process("frobnicate", capsys=capsys)[0] == 2
    assert _main_in_process("stubs", "System", capsys=capsys)[0] == 2  # missing -o


def test_missing_assembly_and_unknown_namespace_exit_2() -> None:
    missing = cli("info", "-r", "/nonexistent/Nope.dll")
    assert missing.returncode == 2
    assert "assembly '/nonexistent/Nope.dll' not found" in missing.stderr
    unknown_ns = cli("stubs", "No.Such.Namespace", "-o", "unused")
    assert unknown_ns.returncode == 2 and "no .NET namespace 'No.Such.Namespace'" in unknown_ns.stderr


def _one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error:") or "error" in line.lower()]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.mark.parametrize("limit", ["0", "-3", "many"])
def test_search_limit_below_one_is_a_usage_error_naming_the_value(
    limit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _main_in_process("search", "Utf8", "--limit", limit, capsys=capsys)
    assert code == 2 and not out
    assert "argument --limit: " in err and limit in err.splitlines()[-1]


def test_describe_an_empty_name_is_one_usage_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("", "   "):
        code, _, err = _main_in_process("describe", name, capsys=capsys)
        assert code == 2
        assert _one_error_line(err) == (
            "error: describe needs a type name, e.g. System.Text.StringBuilder (got an empty string)"
        )


def test_a_reference_that_is_not_an_assembly_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "lazy.out"
    junk.write_bytes(b"not a PE file at all")
    proc = cli("info", "-r", str(junk))
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert line.startswith(f"error: cannot load {str(junk)!r} as a .NET assembly: BadImageFormatException"), line


def test_add_package_with_a_bad_version_is_one_usage_error_line_before_any_restore(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = _main_in_process("add-package", "Newtonsoft.Json", "not-a-version", capsys=capsys)
    assert code == 2
    assert _one_error_line(err).startswith("error: not a NuGet version: 'not-a-version' (e.g. 13.0.3")
    assert "MSB" not in err and "restoring" not in err


@pytest.mark.parametrize("version", ["13.0.3", "2.0.0-beta.1", "1.2.3.4", "8.*", "*", "1.0.0-*", "[1.0,2.0)", "(,3.0]"])
def test_add_package_accepts_nuget_versions_floating_versions_and_ranges(version: str) -> None:
    from pyclrbridge.cli.main import _check_version

    _check_version(version)  # no UsageError


def test_add_package_of_an_unknown_package_says_so_once_and_exits_2() -> None:
    # --offline: the restore reads only NuGet's global packages folder, so this needs no network
    proc = cli("add-package", "No.Such.Package.Xyzzy123", "1.0.0", "--offline")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("NU1101") == 1, proc.stderr
    line = _one_error_line(proc.stderr)
    assert line.startswith("error: NuGet restore of No.Such.Package.Xyzzy123 1.0.0 failed"), line
    assert "NU1101: Unable to find package No.Such.Package.Xyzzy123" in line


def test_repl_has_system_imported_and_reads_piped_stdin() -> None:
    proc = cli("repl", stdin="print(System.Math.Abs(-7))\nprint(type(clr).__name__)\n")
    assert proc.returncode == 0, proc.stderr
    printed = [line.replace(">>> ", "") for line in proc.stdout.splitlines()]
    assert [line for line in printed if line.strip()] == ["7", "Runtime"]
    assert "pyclrbridge REPL: .NET" in proc.stderr  # the banner goes to stderr, like python's


# ---- in-process: rendering ------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_describe_uses_rich_tables_on_a_terminal(fixtures: Any) -> None:
    pytest.importorskip("rich", reason="rich is optional; without it the terminal gets plain text")
    from pyclrbridge.cli import describe as _cli_describe
    from pyclrbridge.cli import names as _cli_names

    data = _cli_names.describe_data(_cli_names.resolve_type("Fixtures.Members.Widget"))
    out = _Terminal()
    _cli_describe.print_describe(data, out)
    text = out.getvalue()
    assert "Grow(by: int) -> None" in text
    assert "┃" in text or "│" in text  # table borders
    grid = _cli_names.describe_data(_cli_names.resolve_type("Fixtures.Members.Grid"))
    out = _Terminal()
    _cli_describe.print_describe(grid, out)
    assert "[row: int, col: int]: int" in out.getvalue()  # an indexer is text, not rich markup


def test_describe_is_plain_text_when_not_a_terminal(fixtures: Any) -> None:
    from pyclrbridge.cli import describe as _cli_describe
    from pyclrbridge.cli import names as _cli_names

    data = _cli_names.describe_data(_cli_names.resolve_type("Fixtures.Enums.Color"))
    out = io.StringIO()
    _cli_describe.print_describe(data, out)
    assert "│" not in out.getvalue()
    assert "Values:\n  Red = 0\n  Green = 1\n  Blue = 2" in out.getvalue()


def test_describe_is_plain_text_on_a_terminal_without_rich(fixtures: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyclrbridge.cli import describe as _cli_describe
    from pyclrbridge.cli import names as _cli_names

    monkeypatch.setitem(sys.modules, "rich", None)  # `import rich` now raises ImportError
    data = _cli_names.describe_data(_cli_names.resolve_type("Fixtures.Members.Widget"))
    out = _Terminal()
    _cli_describe.print_describe(data, out)
    assert "\nMethods:\n  CreatePart(id: int) -> Widget.Part\n" in out.getvalue()


def test_describe_takes_generic_instantiations_in_python_spelling(clr: Any) -> None:
    from pyclrbridge.cli.names import describe_data, resolve_type

    data = describe_data(resolve_type("System.Collections.Generic.Dictionary[str, List[int]]"))
    assert data["name"] == "System.Collections.Generic.Dictionary[str, List[int]]"
    assert "TryGetValue(key: str) -> tuple[bool, List[int]]" in data["methods"]["TryGetValue"]
    assert describe_data(resolve_type("List[T]"))["name"] == "System.Collections.Generic.List[T]"


def test_describe_shows_a_delegates_call_signature(fixtures: Any) -> None:
    from pyclrbridge.cli.names import describe_data, resolve_type

    data = describe_data(resolve_type("Fixtures.Delegates.TryConvert"))
    assert data["invoke"] == "(s: str) -> tuple[bool, int]"  # out value comes back after the result
    assert data["constructors"] == ["TryConvert(callable)"]


def test_python_spelling_of_dotnet_types(clr: Any) -> None:
    from pyclrbridge.cli.names import py_type, resolve_type

    def spell(name: str) -> str:
        return py_type(resolve_type(name))

    assert spell("System.Int64") == "int"
    assert spell("System.Char") == "str"
    assert spell("System.Void") == "None"
    assert spell("System.Collections.Generic.Dictionary") == "Dictionary[TKey, TValue]"
    assert spell("System.Collections.Generic.List`1+Enumerator") == "List.Enumerator[T]"


def test_resolve_type_takes_unique_short_names_and_nested_types(fixtures: Any) -> None:
    from pyclrbridge.cli.names import resolve_type
    from pyclrbridge.host import typeinfo as _typeinfo

    assert _typeinfo.info(resolve_type("Picker")).full_name == "Fixtures.Overloads.Picker"
    assert _typeinfo.info(resolve_type("Fixtures.Members.Widget.Part")).full_name == "Fixtures.Members.Widget+Part"


def test_readme_shows_the_real_describe_output(clr: Any) -> None:
    from pyclrbridge.cli import describe as _cli_describe
    from pyclrbridge.cli import names as _cli_names

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ pyclrbridge describe System.Lazy\n"
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    out = io.StringIO()
    _cli_describe.print_describe(_cli_names.describe_data(_cli_names.resolve_type("System.Lazy")), out)
    assert shown == out.getvalue()
