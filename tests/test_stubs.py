"""``.pyi`` stubs: mypy checks programs against them; their shape follows the .NET members."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

NAMESPACES = ["System.Collections.Generic", "Fixtures.Members", "Fixtures.Generics", "Fixtures.Enums"]

GOOD = """\
from System.Collections.Generic import Dictionary, List
from Fixtures.Members import Widget
from Fixtures.Generics import Box, Registry
from Fixtures.Enums import Color

xs = List[int]([3, 1, 2])
xs.Add(4)
xs.Sort()
count: int = xs.Count
first: int = xs[0]
total = sum(x for x in xs)
d = Dictionary[str, int]()
d["a"] = 1
has_a: bool = "a" in d
found, value = d.TryGetValue("a")
w = Widget(3, "w")
w.Grow(2)
size: int = w.Size
w.Changed += lambda sender, args: None
with Widget() as w2:
    w2.Grow()
b = Box[str]("x")
text: str = b.Value
r = Registry[str, int]()
r.Add("k", 1)
hit, got = r.TryGet("k")
color: Color = Color.Red
RESULT = (total, found, value, hit, got, str(color), size, text, has_a)
"""

BAD = """\
from System.Collections.Generic import List
from Fixtures.Members import Widget
xs = List[int]()
xs.Add("four")
w = Widget(3)
w.Grow("big")
w.Size = "x"
y: str = w.Describe(1)
"""


@pytest.fixture(scope="module")
def stub_dir(tmp_path_factory: pytest.TempPathFactory, fixtures_dll: Path) -> Path:
    out = tmp_path_factory.mktemp("stubs")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "pyclrbridge", "stubs", *NAMESPACES, "-o", str(out), "-r", str(fixtures_dll)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_stubs_command_writes_a_package_per_namespace_and_permissive_parents(stub_dir: Path) -> None:
    for ns in NAMESPACES:
        assert (stub_dir.joinpath(*ns.split("."), "__init__.pyi")).is_file(), ns
    parent = (stub_dir / "System" / "__init__.pyi").read_text()
    assert "def __getattr__(name: str) -> Any: ..." in parent


def test_every_generated_stub_is_valid_python(stub_dir: Path) -> None:
    files = sorted(stub_dir.rglob("*.pyi"))
    assert len(files) == 7
    for f in files:
        ast.parse(f.read_text(), filename=str(f))


def test_mypy_accepts_correct_code_and_rejects_wrong_code(stub_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip(
        "mypy",
        reason="mypy is not installed (nox installs it where a wheel exists; else pip install -e '.[dev]')",
    )
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "bad.py").write_text(BAD)
    env = {**os.environ, "MYPYPATH": str(stub_dir)}
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
            "good.py",
            "bad.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert [e.split(":")[0] for e in errors] == ["bad.py"] * 4, proc.stdout
    assert 'Argument 1 to "Add" of "List" has incompatible type "str"; expected "int"' in errors[0]
    assert 'No overload variant of "Grow" of "Widget" matches argument type "str"' in errors[1]
    assert "bad.py:7:" in errors[2]  # w.Size = "x"
    assert 'Too many arguments for "Describe" of "Widget"' in errors[3]


def test_the_program_mypy_accepted_runs(fixtures: Any) -> None:
    scope: dict[str, Any] = {}
    exec(compile(GOOD, "good.py", "exec"), scope)
    assert scope["RESULT"] == (10, True, 1, True, 1, "Red", 5, "x", True)


def _stub(ns: str, fixtures: Any) -> str:
    from pyclrbridge.cli import stubs as _stubs

    return _stubs.stub_text(ns, {ns: _stubs._pick_names(ns)})


def test_overloads_generics_properties_and_events_have_stub_forms(fixtures: Any) -> None:
    members = _stub("Fixtures.Members", fixtures)
    assert (
        "    @_overload\n    def Grow(self) -> None: ...\n    @_overload\n    def Grow(self, by: int) -> None: ..."
    ) in members
    assert "    def Size(self, value: int) -> None: ..." in members
    assert "    Changed: _Event" in members
    assert "    Count: _ClassVar[int]" in members  # a static property
    assert "    def Concat(*parts: str) -> str: ..." in members  # params array
    generics = _stub("Fixtures.Generics", fixtures)
    assert "class Box(_Generic[T]):" in generics
    # Func<T, U>, with System not generated: still the callables it takes
    assert "    def Map(self, f: _Callable[[T], U]) -> _ns0.Box[U]: ..." in generics
    assert "    def TryGet(self, key: TKey) -> tuple[bool, TValue]: ..." in generics


def test_operators_and_delegate_calls_have_stub_forms(fixtures: Any) -> None:
    structs = _stub("Fixtures.Structs", fixtures)
    assert "    def __add__(self, other: _ns0.Point) -> _ns0.Point: ..." in structs
    assert "    def __eq__(self, other: object) -> bool: ..." in structs
    delegates = _stub("Fixtures.Delegates", fixtures)
    block = delegates.split("class IntOp")[1].split("\nclass ")[0]
    assert "    def __init__(self, function: _Callable[..., _Any]) -> None: ..." in block
    assert "    def __call__(self, a: int, b: int) -> int: ..." in block


def test_a_member_named_any_does_not_shadow_typing_any(clr: Any) -> None:
    from pyclrbridge.cli import stubs as _stubs

    linq = _stubs.stub_text("System.Linq", {"System.Linq": _stubs._pick_names("System.Linq")})
    assert "from typing import Any as _Any" in linq
    assert "    def Any(" in linq  # Enumerable.Any is there, and annotations say _Any


def test_enum_values_are_class_variables_of_the_enum(fixtures: Any) -> None:
    enums = _stub("Fixtures.Enums", fixtures)
    block = enums.split("class Color")[1].split("\nclass ")[0]
    for name in ("Red", "Green", "Blue"):
        assert f"    {name}: _ClassVar[_ns0.Color]" in block


def test_span_and_pair_parameters_take_what_the_bridge_accepts(clr: Any) -> None:
    from pyclrbridge.cli import stubs as _stubs

    def stub(ns: str) -> str:
        generated = [ns, "System.Collections.Generic"]
        return _stubs.stub_text(ns, {n: _stubs._pick_names(n) for n in generated})

    binary = stub("System.Buffers.Binary")
    # Span<byte> takes what byte[] takes: a bytearray is an Iterable[int]
    assert "def WriteInt32LittleEndian(destination: _Array[int] | _Iterable[int], value: int) -> None: ..." in binary
    concurrent = stub("System.Collections.Concurrent").split("class ConcurrentDictionary")[1].split("\nclass ")[0]
    assert "_Mapping[TKey, TValue]" in concurrent
