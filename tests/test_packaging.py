"""What an installed package gives a user beyond the API: the console script, ``--version``,
the PyInstaller hook, metadata without the .NET SDK, the environment variables ``load()``
reads, and the hint when ``load()`` was forgotten."""

from __future__ import annotations

import importlib.metadata
import json
import os
import runpy
import sysconfig
from pathlib import Path

import pytest

import pyclrbridge
from conftest import ROOT, assert_clean_exit, run_python
from pyclrbridge.host import hostfxr

HOOK = ROOT / "pyclrbridge" / "_pyinstaller" / "hook-pyclrbridge.py"


def _entry_point(group: str, name: str) -> importlib.metadata.EntryPoint:
    (found,) = [
        ep
        for ep in importlib.metadata.entry_points(group=group)
        if ep.name == name and ep.dist is not None and ep.dist.name == "pyclrbridge"
    ]
    return found


def test_console_script_pyclrbridge_runs_the_cli_main() -> None:
    assert _entry_point("console_scripts", "pyclrbridge").value == "pyclrbridge.cli.main:main"


def test_version_option_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from pyclrbridge.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"pyclrbridge {pyclrbridge.__version__}"


def test_package_version_matches_the_installed_metadata() -> None:
    assert importlib.metadata.version("pyclrbridge") == pyclrbridge.__version__


def test_info_reports_free_threaded_build_from_py_gil_disabled(clr: object) -> None:
    from pyclrbridge.cli.main import info_data

    assert info_data()["free_threaded_build"] is bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def test_pyinstaller_hook_bundles_the_shim_dll_and_json_files() -> None:
    datas = runpy.run_path(str(HOOK))["datas"]
    bundled = {Path(source).name for source, dest in datas if dest == "pyclrbridge/_bin"}
    assert {"PyClrBridge.Shim.dll", "PyClrBridge.Shim.deps.json", "PyClrBridge.Shim.runtimeconfig.json"} <= bundled
    assert all(Path(source).is_file() for source, _ in datas)


def test_pyinstaller_entry_point_names_the_hook_folder() -> None:
    hook_dirs = _entry_point("pyinstaller40", "hook-dirs").load()()
    assert [Path(d) / HOOK.name for d in hook_dirs] == [HOOK]


def test_wheel_metadata_is_written_without_the_dotnet_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("hatchling", reason="the build backend runs on hatchling (a build requirement)")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dotnet anywhere
    monkeypatch.delenv("DOTNET_ROOT", raising=False)
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    import build_backend

    dist_info = build_backend.prepare_metadata_for_build_wheel(str(tmp_path))
    metadata = (tmp_path / dist_info / "METADATA").read_text(encoding="utf-8")
    assert "Name: pyclrbridge" in metadata
    assert f"Version: {pyclrbridge.__version__}" in metadata


def _import_error_in_fresh_process(module: str) -> str:
    """The message of importing ``module`` right after ``import pyclrbridge`` (no load())."""
    proc = run_python(f"""
        import pyclrbridge
        try:
            import {module}
        except ModuleNotFoundError as exc:
            print(exc)
    """)
    assert_clean_exit(proc)
    return proc.stdout.strip()


def test_import_of_a_dotnet_namespace_before_load_says_to_call_load() -> None:
    assert "Call pyclrbridge.load() first" in _import_error_in_fresh_process("System.Collections")


def test_import_of_an_unknown_python_module_keeps_the_plain_message() -> None:
    assert _import_error_in_fresh_process("no_such_module_anywhere") == "No module named 'no_such_module_anywhere'"


def test_load_reads_the_runtime_config_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "app.runtimeconfig.json"
    config.write_text(
        json.dumps(
            {
                "runtimeOptions": {
                    "tfm": "net8.0",
                    "rollForward": "LatestMajor",
                    "framework": {"name": "Microsoft.NETCore.App", "version": "8.0.0"},
                }
            }
        ),
        encoding="utf-8",
    )
    proc = run_python(
        "import pyclrbridge; print(pyclrbridge.load().runtime_config)", env={"PYCLRBRIDGE_RUNTIME_CONFIG": str(config)}
    )
    assert_clean_exit(proc)
    assert Path(proc.stdout.strip()) == config.resolve()


@pytest.mark.skipif(os.name == "nt", reason="symlinks need extra rights on Windows")
def test_dotnet_root_is_found_through_dotnet_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "dotnet-install"
    (root / "host" / "fxr").mkdir(parents=True)
    (root / "dotnet").write_text("")
    (root / "dotnet").chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dotnet").symlink_to(root / "dotnet")
    monkeypatch.delenv("DOTNET_ROOT", raising=False)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert hostfxr.find_dotnet_root() == root.resolve()


def test_dotnet_root_environment_variable_wins_over_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "chosen"
    (root / "host" / "fxr").mkdir(parents=True)
    monkeypatch.setenv("DOTNET_ROOT", str(root))
    assert hostfxr.find_dotnet_root() == root
