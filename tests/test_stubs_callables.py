"""Delegate parameters in generated stubs are the Python callables they accept, typed by the
delegate's ``Invoke``: mypy checks a lambda's body and infers generic results from it.

``Predicate<T>`` is ``Callable[[T], bool]`` (``| Predicate[T]`` when the ``System`` stubs are
generated too), so ``xs.FindAll(42)`` is an error and ``r = xs.ConvertAll(lambda x: str(x))``
needs no annotation under ``mypy --strict``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

GOOD = """\
from pyclrbridge import load

clr = load()
from System.Collections.Generic import List

xs = List[int]([3, 1, 2])
r = xs.ConvertAll(lambda x: str(x))
first: str = r[0]
evens = xs.FindAll(lambda x: x % 2 == 0)
n: int = evens[0]
xs.Sort(lambda a, b: a - b)
seen: list[int] = []
xs.ForEach(seen.append)
positive: bool = xs.TrueForAll(lambda x: x > 0)
RESULT = (list(r), list(evens), list(xs), seen, positive)
"""

BAD = """\
from pyclrbridge import load

clr = load()
from System.Collections.Generic import List

xs = List[int]([3, 1, 2])
xs.FindAll(42)
xs.ConvertAll(lambda x: x.upper())
r = xs.ConvertAll(lambda x: str(x))
n: int = r[0]
"""


def _stubs(out: Path, *namespaces: str) -> Path:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "pyclrbridge", "stubs", *namespaces, "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def generic_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stubs of System.Collections.Generic alone: System.Predicate itself is not generated."""
    return _stubs(tmp_path_factory.mktemp("stubs-generic"), "System.Collections.Generic")


@pytest.fixture(scope="module")
def with_system(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _stubs(tmp_path_factory.mktemp("stubs-system"), "System", "System.Collections.Generic")


def _mypy(stub_dir: Path, tmp_path: Path, source: str) -> list[str]:
    pytest.importorskip(
        "mypy", reason="mypy is not installed (nox installs it where a wheel exists; else pip install -e '.[dev]')"
    )
    (tmp_path / "program.py").write_text(source, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, "program.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": str(stub_dir), "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )
    return [line for line in proc.stdout.splitlines() if ": error:" in line]


def _signature(stub_dir: Path, method: str) -> str:
    text = (stub_dir / "System" / "Collections" / "Generic" / "__init__.pyi").read_text(encoding="utf-8")
    return next(line.strip() for line in text.splitlines() if line.strip().startswith(f"def {method}("))


def test_a_delegate_parameter_is_a_callable_typed_by_invoke(generic_only: Path, with_system: Path) -> None:
    assert _signature(generic_only, "FindAll") == "def FindAll(self, match: _Callable[[T], bool]) -> _ns0.List[T]: ..."
    assert _signature(with_system, "ConvertAll") == (
        "def ConvertAll(self, converter: _Callable[[T], TOutput] | _ns1.Converter[T, TOutput])"
        " -> _ns0.List[TOutput]: ..."
    )
    assert _signature(generic_only, "ForEach") == "def ForEach(self, action: _Callable[[T], object]) -> None: ..."


@pytest.mark.parametrize("stubs", ["generic_only", "with_system"])
def test_mypy_strict_infers_results_through_callbacks(
    stubs: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    assert _mypy(request.getfixturevalue(stubs), tmp_path, GOOD) == []


def test_mypy_rejects_a_non_callable_and_checks_the_lambda_body(generic_only: Path, tmp_path: Path) -> None:
    errors = _mypy(generic_only, tmp_path, BAD)
    assert len(errors) == 3, errors
    assert (
        'Argument 1 to "FindAll" of "List" has incompatible type "int"; expected "Callable[[int], bool]"' in errors[0]
    )
    assert '"int" has no attribute "upper"' in errors[1]
    assert 'expression has type "str", variable has type "int"' in errors[2]


def test_the_program_mypy_accepted_runs(clr: Any) -> None:
    scope: dict[str, Any] = {}
    exec(compile(GOOD, "good.py", "exec"), scope)
    assert scope["RESULT"] == (["3", "1", "2"], [2], [1, 2, 3], [1, 2, 3], True)
