"""The integration suite: real NuGet packages, restored by the suite itself through
``Runtime.add_package``. Every test here is marked ``integration`` (``pytest -m "not integration"``
leaves the whole folder out and stays offline). Each test is a script a user would write, run
in a fresh interpreter: packages that share dependencies at other versions cannot meet in one
process, and each script starts .NET the way a user's does."""

from __future__ import annotations

import textwrap
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
