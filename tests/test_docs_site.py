"""The built documentation site: ``mkdocs build --strict`` passes, and what a reader sees has
no unrendered reST and documents every public name.

Needs the ``docs`` extra (mkdocs-material, mkdocstrings); without it the module is skipped.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="building the site needs the docs extra (pip install -e '.[docs]')")
pytest.importorskip("mkdocstrings", reason="the API reference needs mkdocstrings (the docs extra)")

ROOT = Path(__file__).resolve().parent.parent

#: A reST role as it shows when nothing rendered it: ``:class:`Runtime``` or ``:py:meth:`x```.
REST_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|exc|data|obj|const|ref|term|doc):(?:`|<code>)")
TAG = re.compile(r"<[^>]+>")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def _public_names() -> list[str]:
    tree = ast.parse((ROOT / "pyclrbridge" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return [name for name in ast.literal_eval(node.value) if not name.startswith("__")]
    raise AssertionError("pyclrbridge/__init__.py has no __all__")


def test_no_page_shows_a_literal_rest_role(site: Path) -> None:
    shown = []
    for page in sorted(site.rglob("*.html")):
        for match in REST_ROLE.finditer(page.read_text(encoding="utf-8")):
            shown.append(f"{page.relative_to(site)}: {match.group(0)}")
    assert not shown, "unrendered reST roles (use Markdown and [name][] cross-references):\n" + "\n".join(shown)


def test_no_docstring_example_renders_as_a_quote(site: Path) -> None:
    quoted = []
    for page in sorted(site.rglob("*.html")):
        for block in re.findall(r"<blockquote>(.*?)</blockquote>", page.read_text(encoding="utf-8"), re.S):
            if "&gt;&gt;&gt;" in block:
                quoted.append(f"{page.relative_to(site)}: {TAG.sub('', block)[:80]!r}")
    assert not quoted, "doctest examples rendered as quotes (put them in an Examples: section):\n" + "\n".join(quoted)


@pytest.mark.parametrize("name", _public_names())
def test_reference_documents_public_name(site: Path, name: str) -> None:
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    assert f'id="pyclrbridge.{name}"' in reference, f"the API reference has no entry for pyclrbridge.{name}"


@pytest.mark.parametrize("attribute", ["version", "framework", "dotnet_root", "runtime_config", "shim_path"])
def test_reference_documents_runtime_attribute(site: Path, attribute: str) -> None:
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    assert f'id="pyclrbridge.Runtime.{attribute}"' in reference, f"Runtime.{attribute} is not in the API reference"
