"""``stubs --package`` distributions stack: generating the stubs of another namespace makes a
``System-stubs`` that holds the earlier namespaces too, so installing it never takes them away.

Installed for real with pip into a throwaway virtual environment (no pip inside it: the test's
own pip installs into it with ``--python``)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import ROOT


def _run(*cmd: str | Path, python: Path | str = sys.executable, cwd: Path | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [str(python), *map(str, cmd)], capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False
    )
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def target_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="building the stub wheels needs hatchling (in the test extra)")
    home = tmp_path_factory.mktemp("stub-venv") / "venv"
    venv.create(home, with_pip=False)
    python = home / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    return python


def _install(python: Path, project: Path, wheels: Path) -> None:
    """Build the generated project into a wheel and install it into the environment of ``python``."""
    for old in wheels.glob("*.whl"):
        old.unlink()
    _run("-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, project)
    (wheel,) = [w for w in wheels.glob("*.whl") if w.name.lower().startswith("system_stubs-")]
    _run("-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel)


def _installed(python: Path) -> tuple[list[str], Path]:
    """(the System-stubs namespaces recorded, the installed package folder) in that environment."""
    code = (
        "import importlib.metadata as m, pathlib; d = m.distribution('System-stubs'); "
        "print(d.version); print(pathlib.Path(d.locate_file('System-stubs')).resolve())"
    )
    version, folder = _run("-c", code, python=python).split("\n")[:2]
    assert version.startswith("0."), version
    package = Path(folder)
    return (package / "pyclrbridge-namespaces.txt").read_text(encoding="utf-8").split(), package


def test_the_stubs_of_a_second_namespace_keep_those_installed_before(target_env: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    # pyclrbridge runs in the target environment (through PYTHONPATH; it has no dependencies),
    # so it sees the stub distribution installed there
    _run(
        "-m", "pyclrbridge", "stubs", "System.Collections.Generic", "--package", "-o", tmp_path / "a", python=target_env
    )
    _install(target_env, tmp_path / "a" / "System-stubs", wheels)
    assert _installed(target_env)[0] == ["System.Collections.Generic"]

    # another output folder: the earlier namespaces come from the installed distribution
    _run("-m", "pyclrbridge", "stubs", "System.Linq", "--package", "-o", tmp_path / "b", python=target_env)
    _install(target_env, tmp_path / "b" / "System-stubs", wheels)
    namespaces, package = _installed(target_env)
    assert namespaces == ["System.Collections.Generic", "System.Linq"]
    assert (package / "Collections" / "Generic" / "__init__.pyi").is_file()
    assert (package / "Linq" / "__init__.pyi").is_file()
    # generated together: Enumerable's methods name the real List, not Any
    assert "List[" in (package / "Linq" / "__init__.pyi").read_text(encoding="utf-8")


def test_generating_into_the_same_folder_again_keeps_its_namespaces(tmp_path: Path) -> None:
    out = tmp_path / "stubs"
    _run("-m", "pyclrbridge", "stubs", "System.Collections.Generic", "--package", "-o", out)
    first = (out / "System-stubs" / "pyproject.toml").read_text(encoding="utf-8")
    _run("-m", "pyclrbridge", "stubs", "System.Text", "--package", "-o", out)
    package = out / "System-stubs" / "System-stubs"
    assert (package / "pyclrbridge-namespaces.txt").read_text().split() == ["System.Collections.Generic", "System.Text"]
    assert (package / "Collections" / "Generic" / "__init__.pyi").is_file()
    assert (package / "Text" / "__init__.pyi").is_file()
    second = (out / "System-stubs" / "pyproject.toml").read_text(encoding="utf-8")
    version = [line for line in second.splitlines() if line.startswith("version = ")]
    assert version and version[0] not in first, "a different set of stubs must have a different version"
