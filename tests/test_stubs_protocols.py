"""Generated stubs accept the Python protocols the proxies really have (mappings, sequences,
arrays by element, operators, context managers), and ``stubs --package`` writes an installable
PEP 561 stub distribution."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

NAMESPACES = ["System.Collections.Generic", "Fixtures.Members", "Fixtures.Operators", "Fixtures.ValueProtocols"]

GOOD = """\
from System.Collections.Generic import Dictionary, List
from Fixtures.Members import Widget
from Fixtures.Operators import Vector

d = Dictionary[str, int]()
d["a"] = 1
keys: list[str] = d.keys()
values: list[int] = d.values()
pairs: list[tuple[str, int]] = d.items()
missing = d.get("zz", 0)
names = [k.upper() for k in d]
size: int = len(d)
xs = List[str](["b", "a"])
arr = xs.ToArray()
first: str = arr[0].upper()
length: int = arr.Length + len(arr)
back = List[str](arr)
joined = "".join(s for s in arr)
v = Vector(1.0, 2.0) + Vector(3.0, 4.0)
scaled = v * 2.0
dot: float = v * v
with Widget() as w:
    w.Grow()
RESULT = (keys, values, pairs, missing, names, size, first, length, list(back), joined, scaled.X, dot)
"""

BAD = """\
from System.Collections.Generic import List
xs = List[str](["a"])
n: int = xs.ToArray()[0]
"""


#: Conversion operators and C#'s foreach pattern: mypy needs __int__, __index__, __float__,
#: __bytes__, __bool__ and __iter__ in the stubs to accept these.
CASTS = """\
import operator
from Fixtures.ValueProtocols import Countdown, Meters, Small

small = Small(3)
whole: int = int(small) + operator.index(small) + [1, 2, 3, 4][small]
half: float = float(small) + float(Meters(2.5))
raw: bytes = bytes(small)
truth: bool = bool(small)
counted = [x for x in Countdown(2)]
RESULT = (whole, half, raw, truth, counted)
"""


def _run_stubs(out: Path, fixtures_dll: Path, *extra: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "pyclrbridge", "stubs", *NAMESPACES, "-o", str(out), "-r", str(fixtures_dll), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def stub_dir(tmp_path_factory: pytest.TempPathFactory, fixtures_dll: Path) -> Path:
    out = tmp_path_factory.mktemp("stubs")
    _run_stubs(out, fixtures_dll)
    return out


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory: pytest.TempPathFactory, fixtures_dll: Path) -> Path:
    out = tmp_path_factory.mktemp("stub-packages")
    _run_stubs(out, fixtures_dll, "--package")
    return out


def _mypy(stub_dir: Path, tmp_path: Path, source: str) -> list[str]:
    pytest.importorskip(
        "mypy",
        reason="mypy is not installed (nox installs it where a wheel exists; else pip install -e '.[dev]')",
    )
    (tmp_path / "program.py").write_text(source)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "--no-error-summary",
            "program.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": str(stub_dir)},
        timeout=300,
        check=False,
    )
    return [line for line in proc.stdout.splitlines() if ": error:" in line]


def test_mypy_accepts_protocols_arrays_operators_and_with(stub_dir: Path, tmp_path: Path) -> None:
    assert _mypy(stub_dir, tmp_path, GOOD) == []


def test_mypy_knows_an_arrays_element_type(stub_dir: Path, tmp_path: Path) -> None:
    errors = _mypy(stub_dir, tmp_path, BAD)
    assert len(errors) == 1 and 'expression has type "str", variable has type "int"' in errors[0], errors


def test_the_protocol_program_runs(fixtures: Any) -> None:
    scope: dict[str, Any] = {}
    exec(compile(GOOD, "good.py", "exec"), scope)
    assert scope["RESULT"] == (["a"], [1], [("a", 1)], 0, ["A"], 1, "B", 4, ["b", "a"], "ba", 8.0, 52.0)


def test_mypy_accepts_conversions_and_the_foreach_pattern(stub_dir: Path, tmp_path: Path, fixtures: Any) -> None:
    assert _mypy(stub_dir, tmp_path, CASTS) == []
    scope: dict[str, Any] = {}
    exec(compile(CASTS, "casts.py", "exec"), scope)  # and the program runs as typed
    assert scope["RESULT"] == (10, 4.0, b"\x03\x04", True, [2, 1])


def test_stub_package_is_a_partial_pep561_stub_distribution(package_dir: Path) -> None:
    project = package_dir / "System-stubs"
    assert (project / "System-stubs" / "py.typed").read_text() == "partial\n"
    assert (project / "System-stubs" / "Collections" / "Generic" / "__init__.pyi").is_file()
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "System-stubs"' in pyproject and 'packages = ["System-stubs"]' in pyproject


def test_stub_package_per_top_level_namespace(package_dir: Path) -> None:
    assert sorted(p.name for p in package_dir.iterdir()) == ["Fixtures-stubs", "System-stubs"]
    assert (package_dir / "Fixtures-stubs" / "Fixtures-stubs" / "Operators" / "__init__.pyi").is_file()
