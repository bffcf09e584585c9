"""Every ```python block in docs/ runs, so the documentation cannot rot.

Conventions for doc writers:

* A ```python block is **run**: the blocks of one page run in order, in one namespace, in a
  fresh interpreter of their own (as a reader pastes them into a new ``python``), with the
  working directory set to the folder of the example library (so
  ``clr.add_reference("PyClrBridge.Fixtures.dll")`` works, as it does for a reader who built
  it as the page says). So every page starts .NET itself with ``load()``. Use ``assert`` to
  show results that matter.
* A block whose first line is ``# illustrative`` is shown, not run (it needs files a reader
  has and the test suite has not, or shows what to avoid). Say why on that line.
* Shell sessions are ```console blocks and are not run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_python

DOCS = ROOT / "docs"
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.MULTILINE | re.DOTALL
)
ILLUSTRATIVE = "# illustrative"


def python_blocks(page: Path) -> list[tuple[int, str, bool]]:
    """(line number, code, runnable) for each python block of a page."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for m in FENCE.finditer(text):
        if m.group("lang") not in ("python", "py"):
            continue
        indent = m.group("indent")
        body = "".join(
            line[len(indent) :] if line.startswith(indent) else line
            for line in m.group("body").splitlines(keepends=True)
        )
        line = text.count("\n", 0, m.start()) + 2
        blocks.append((line, body, not body.lstrip().startswith(ILLUSTRATIVE)))
    return blocks


PAGES = sorted(DOCS.glob("*.md"))


#: Runs one page's blocks in order in one namespace; a failure names the block and exits 1.
_PAGE_RUNNER = """
import contextlib, io, json, os, sys, traceback
os.chdir({folder!r})
scope = {{"__name__": "__main__"}}
for line, code in json.loads({blocks!r}):
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, {page!r} + ":" + str(line), "exec"), scope)
    except BaseException as exc:
        if type(exc).__name__ == "Skipped":  # pytest.importorskip: the page needs an optional package
            print("skipped: " + str(exc))
            sys.exit(0)
        print("the example at docs/" + {page!r} + " line " + str(line) + " failed: "
              + type(exc).__name__ + ": " + str(exc) + "\\n" + code, file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
print("ok")
"""


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_python_examples_on_the_page_run_in_a_fresh_interpreter(page: Path, fixtures_dll: Path) -> None:
    """One subprocess per page: a page that relies on state another page (or the test session)
    set up, such as a runtime that is already loaded, fails here as it fails for a reader."""
    blocks = [(line, code) for line, code, runnable in python_blocks(page) if runnable]
    if not blocks:
        pytest.skip(f"{page.name} has no runnable python examples")
    code = _PAGE_RUNNER.format(folder=str(fixtures_dll.parent), blocks=json.dumps(blocks), page=page.name)
    proc = run_python(code, timeout=240)
    if proc.returncode == 0 and proc.stdout.startswith("skipped: "):
        pytest.skip(f"{page.name}: {proc.stdout[len('skipped: ') :].strip()}")
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("ok"), proc.stderr[-6000:] or proc.stdout[-2000:]


def test_every_page_but_the_shell_only_ones_has_runnable_examples() -> None:
    """Examples are run unless marked: a page of only illustrative blocks is a smell."""
    shell_only = {"getting-started.md", "cli.md", "architecture.md"}
    for page in PAGES:
        blocks = python_blocks(page)
        if blocks and page.name not in shell_only:
            assert any(runnable for _, _, runnable in blocks), f"{page.name}: every example is illustrative"


def test_the_docs_site_builds_strict(tmp_path: Path) -> None:
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).with_name("mkdocs"))
    if not Path(mkdocs).exists():
        pytest.skip("mkdocs is not installed (pip install mkdocs-material 'mkdocstrings[python]')")
    proc = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
