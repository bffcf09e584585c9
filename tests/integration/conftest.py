"""The integration suite: real NuGet packages, restored by the suite itself through
``Runtime.add_package``. Every test here is marked ``integration`` (``pytest -m "not integration"``
leaves the whole folder out and stays offline). Each test is a script a user would write, run
in a fresh interpreter: packages that share dependencies at other versions cannot meet in one
process, and each script starts .NET the way a user's does."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Sequence
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


PRELUDE = """
import pyclrbridge
clr = pyclrbridge.load()
"""


def run_script(code: str, *, timeout: float = 240, env: dict[str, str] | None = None) -> str:
    """Run a user's script (after ``clr = pyclrbridge.load()``); its stdout, after a clean exit."""
    proc = run_python(PRELUDE + textwrap.dedent(code), timeout=timeout, env=env)
    assert_clean_exit(proc)
    return proc.stdout


@pytest.fixture
def script() -> Any:
    return run_script


def sqlite_sum(reference: str, values: Sequence[int]) -> str:
    """Run a script that references Microsoft.Data.Sqlite with the line ``reference`` and has an
    in-memory database sum ``values``: what it prints."""
    rows = ", ".join(f"({v})" for v in values)
    return run_script(f"""
{reference}
from Microsoft.Data.Sqlite import SqliteConnection

with SqliteConnection("Data Source=:memory:") as db:
    db.Open()
    cmd = db.CreateCommand()
    cmd.CommandText = "create table t(x integer); insert into t values {rows}; select sum(x) from t"
    print(cmd.ExecuteScalar())
""")


def dotnet(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> None:
    """Run ``dotnet`` with ``args`` (a pack or publish of a test's own project); a failure shows
    all it printed."""
    proc = subprocess.run(["dotnet", *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
