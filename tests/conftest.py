"""Shared test setup: one .NET runtime per test session, and the fixture assembly built once.

Tests that need a fresh runtime (load errors, shutdown) run in a subprocess through
``run_python``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES_PROJECT = ROOT / "tests" / "fixtures" / "PyClrBridge.Fixtures.csproj"


def _build_fixtures(out: Path) -> Path:
    dll = out / "PyClrBridge.Fixtures.dll"
    proc = subprocess.run(
        ["dotnet", "build", str(FIXTURES_PROJECT), "-c", "Release", "-o", str(out), "--nologo", "-v", "q"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not dll.is_file():
        raise RuntimeError(f"building the test fixtures failed:\n{proc.stdout}\n{proc.stderr}")
    return dll


@pytest.fixture(scope="session")
def fixtures_dll(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture assembly, built once per session into a temporary folder."""
    prebuilt = os.environ.get("PYCLRBRIDGE_FIXTURES_DLL")
    if prebuilt:
        return Path(prebuilt)
    return _build_fixtures(tmp_path_factory.mktemp("fixtures"))


@pytest.fixture(autouse=True)
def _compat_rules_only_where_asked(request: pytest.FixtureRequest) -> None:
    """Importing ``pyclrbridge.compat`` switches pythonnet's rules on for the whole process. In
    this shared test process they are on only for tests that ask for a ``compat_clr`` fixture;
    every other test runs with pyclrbridge's native rules, whatever ran before it."""
    wanted = "compat_clr" in request.fixturenames
    if wanted:
        import pyclrbridge.compat  # noqa: F401  # (starts the runtime, as the fixture would)
    compat = sys.modules.get("pyclrbridge.compat")
    if compat is not None:
        compat._pythonnet_rules(wanted)


@pytest.fixture(scope="session")
def clr() -> Any:
    """The session's runtime."""
    from pyclrbridge import load

    return load()


@pytest.fixture(scope="session")
def fixtures(clr: Any, fixtures_dll: Path) -> Any:
    """The runtime with the fixture assembly referenced (``from Fixtures.Members import Widget``)."""
    clr.add_reference(fixtures_dll)
    return clr


def run_python(
    code: str, *, timeout: float = 120, env: dict[str, str] | None = None, fixtures_dll: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (its own runtime). FIXTURES_DLL is set when given."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")])
    if fixtures_dll is not None:
        full_env["FIXTURES_DLL"] = str(fixtures_dll)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )


#: How a compat/native pair of scripts starts (``{imports}`` in the script): as pythonnet code
#: imports ``clr`` under compat, or with pyclrbridge's runtime under the same name natively.
START = {
    "compat": "from pyclrbridge import compat as clr",
    "native": "import pyclrbridge\nclr = pyclrbridge.load()\nclr.AddReference = clr.add_reference",
}


def run_started(script: str, mode: str, fixtures_dll: Path) -> list[str]:
    """Run ``script`` in a fresh interpreter started as ``mode`` (a key of `START`: its
    ``{imports}`` line) with the fixture assembly; it must exit cleanly. Its output lines."""
    proc = run_python(script.format(imports=START[mode]), fixtures_dll=fixtures_dll)
    assert_clean_exit(proc)
    return proc.stdout.splitlines()


def assert_clean_exit(proc: subprocess.CompletedProcess[str], code: int = 0) -> None:
    """The subprocess exited with ``code``: no signal, no fatal error, no .NET crash."""
    output = proc.stdout + proc.stderr
    assert proc.returncode == code, f"exit code {proc.returncode}, expected {code}:\n{output}"
    assert "Fatal Python error" not in output, output
    assert "Unhandled exception" not in output, output
