"""Runtime.add_package against a real NuGet source: restore, cache, native assets, errors."""

from __future__ import annotations

import os
from pathlib import Path

from .conftest import run_script, sqlite_sum


def test_sqlite_query_after_add_package() -> None:
    out = sqlite_sum('clr.add_package("Microsoft.Data.Sqlite", "10.0.0")', [1, 2, 3])
    assert out.strip() == "6"


def test_second_add_package_is_a_cache_hit_without_dotnet(tmp_path: Path) -> None:
    env = {"PYCLRBRIDGE_PACKAGE_CACHE": str(tmp_path / "cache")}
    first = run_script(
        """
        print(clr.add_package("Humanizer.Core", "2.14.1", progress=False).cached)
    """,
        env=env,
    )
    assert first.strip() == "False"
    # No dotnet reachable at all: only the cache can answer.
    second = run_script(
        """
        import subprocess

        def no_process(*args, **kwargs):
            raise AssertionError(f"a process was started for a cached package set: {args}")

        subprocess.Popen = no_process  # no dotnet (nor anything else) may run
        found = clr.add_package("Humanizer.Core", "2.14.1")
        print(found.cached, found.versions["Humanizer.Core"])
    """,
        env=env,
    )
    assert second.split() == ["True", "2.14.1"]


def test_a_changed_dll_in_the_cache_is_named_and_not_loaded(tmp_path: Path) -> None:
    env = {"PYCLRBRIDGE_PACKAGE_CACHE": str(tmp_path / "cache")}
    first = run_script(
        """
        found = clr.add_package("Humanizer.Core", "2.14.1", progress=False)
        print(found.folder)
    """,
        env=env,
    )
    dll = Path(first.strip()) / "Humanizer.dll"
    data = bytearray(dll.read_bytes())
    data[-1] ^= 1  # one bit, same size
    dll.write_bytes(bytes(data))
    out = run_script(
        """
        try:
            clr.add_package("Humanizer.Core", "2.14.1", progress=False)
        except pyclrbridge.PackageError as e:
            print(e)
        from System import AppDomain

        names = [a.GetName().Name for a in AppDomain.CurrentDomain.GetAssemblies()]
        print("loaded" if "Humanizer" in names else "not loaded")
    """,
        env=env,
    )
    assert "Humanizer.dll changed content" in out
    assert str(dll.parent) in out
    assert out.strip().endswith("not loaded")


def test_the_cache_is_keyed_by_package_set(tmp_path: Path) -> None:
    env = {"PYCLRBRIDGE_PACKAGE_CACHE": str(tmp_path / "cache")}
    run_script(
        """
        clr.add_package("Humanizer.Core", "2.14.1", progress=False)
        clr.add_package([("Humanizer.Core", "2.14.1"), ("Dapper", "2.1.66")], progress=False)
    """,
        env=env,
    )
    entries = [p for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")]
    assert len(entries) == 2


def test_an_unknown_package_names_package_version_and_source(tmp_path: Path) -> None:
    out = run_script(
        """
        try:
            clr.add_package("PyClrBridge.No.Such.Package", "1.0.0", progress=False)
        except pyclrbridge.PackageError as e:
            print(e)
    """,
        env={"PYCLRBRIDGE_PACKAGE_CACHE": str(tmp_path / "cache")},
    )
    assert "PyClrBridge.No.Such.Package 1.0.0" in out
    assert "sources:" in out
    assert "NU1101" in out


def test_a_second_version_of_a_loaded_assembly_is_a_clear_error(tmp_path: Path) -> None:
    out = run_script("""
        clr.add_package("Humanizer.Core", "2.14.1", progress=False)
        try:
            clr.add_package("Humanizer.Core", "3.0.10", progress=False)
        except pyclrbridge.PackageError as e:
            print(e)
    """)
    assert "Humanizer.dll of the packages Humanizer.Core 3.0.10" in out
    assert "one version of an assembly per process" in out


def test_offline_restore_reads_the_global_packages_folder(tmp_path: Path) -> None:
    run_script("""clr.add_package("Humanizer.Core", "2.14.1", progress=False)""")  # now in ~/.nuget/packages
    out = run_script(
        """
        found = clr.add_package("Humanizer.Core", "2.14.1", progress=False, offline=True)
        print(found.cached)
    """,
        env={"PYCLRBRIDGE_PACKAGE_CACHE": str(tmp_path / "cache")},
    )
    assert out.strip() == "False"


def test_load_packages_argument() -> None:
    out = run_script("""
        clr = pyclrbridge.load(packages=[("NodaTime", "3.3.7")])
        from NodaTime import LocalDate
        print(LocalDate(2024, 2, 28).PlusDays(1))
    """)
    assert out.strip().startswith("Thursday, February 29, 2024") or "2024" in out


def test_cli_add_package_prints_the_folder_and_versions() -> None:
    out = run_script("""
        from pyclrbridge.cli.main import main
        raise SystemExit(main(["add-package", "Dapper", "2.1.66", "-q"]))
    """)
    assert "Dapper 2.1.66" in out
    assert "folder:" in out
    assert os.sep in out
