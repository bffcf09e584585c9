"""nox sessions for pyclrbridge.

    nox                      # default sessions: tests (every Python found), lint, typecheck, docs
    nox -s tests-3.13        # one interpreter
    nox -s lint typecheck docs
    nox -s bench-3.11 -- ... # python -m benchmarks ...

Interpreters are found on PATH and in version managers (pyenv included, even when the
version is not active); missing ones are skipped. If ``../shared/wheelhouse`` exists next to
the repository, every session installs from it with no package index.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
WHEELHOUSE = ROOT.parent / "shared" / "wheelhouse"

PYTHONS = ["3.11", "3.12", "3.13", "3.14", "3.14t"]
TOOLS_PYTHON = "3.11"  # lint/typecheck/docs: one interpreter is enough

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.error_on_missing_interpreters = False
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml(str(ROOT / "pyproject.toml"))
RUNTIME_DEPS: list[str] = PYPROJECT["project"]["dependencies"]


def _expose_pyenv_versions() -> None:
    """Make every installed pyenv version visible to nox's interpreter discovery.

    pyenv's ``python3.12`` shim only works when 3.12 is an *active* version; listing all
    installed versions in PYENV_VERSION (the current one first, so ``python`` keeps meaning
    the same thing) lets nox find them without touching the user's pyenv setup.
    """
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    if "PYENV_VERSION" in os.environ or not (root / "versions").is_dir():
        return
    installed = sorted(
        (d.name for d in (root / "versions").iterdir() if re.fullmatch(r"\d+\.\d+\.\d+t?", d.name)),
        key=lambda v: [int(x) for x in re.findall(r"\d+", v)],
        reverse=True,
    )
    try:
        current = subprocess.run(
            ["pyenv", "version-name"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.split(":")
    except (OSError, subprocess.SubprocessError):
        current = []
    current = [v.strip() for v in current if v.strip() and v.strip() != "system"]
    versions = current + [v for v in installed if v not in current]
    if versions:
        os.environ["PYENV_VERSION"] = ":".join(versions)


_expose_pyenv_versions()


def _setup(session: nox.Session) -> None:
    """Point pip at the offline wheelhouse when there is one."""
    if WHEELHOUSE.is_dir():
        session.env["PIP_NO_INDEX"] = "1"
        session.env["PIP_FIND_LINKS"] = str(WHEELHOUSE)
    session.env.setdefault("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
    session.env.setdefault("DOTNET_NOLOGO", "1")


def _gil_off_if_free_threaded(session: nox.Session) -> None:
    """On a free-threaded build, keep the GIL off even if an extension module does not
    declare free-threading support, so tests and benchmarks exercise real parallelism.
    (Asks the interpreter itself: the session name need not end in "t", e.g. with
    ``--force-python /path/to/python``. PYTHON_GIL=0 is fatal on a GIL build.)"""
    out = session.run(
        "python",
        "-c",
        "import sysconfig; print(sysconfig.get_config_var('Py_GIL_DISABLED') or 0)",
        silent=True,
    )
    if str(out).strip() == "1":
        session.env["PYTHON_GIL"] = "0"


def _lint_paths() -> list[str]:
    names = ["pyclrbridge", "tests", "benchmarks", "hatch_build.py", "noxfile.py"]
    return [name for name in names if (ROOT / name).exists()]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Install the package (editable; builds the shim) and run pytest. Args go to pytest."""
    _setup(session)
    session.install("-e", ".[test]")
    _gil_off_if_free_threaded(session)
    session.run("python", "-m", "pyclrbridge", "info")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=TOOLS_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check (args replace the default paths)."""
    _setup(session)
    session.install("ruff>=0.6")
    session.run("ruff", "check", *(session.posargs or _lint_paths()))


@nox.session(python=TOOLS_PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package (runtime deps only: no .NET build needed)."""
    _setup(session)
    session.install("mypy>=1.11", *RUNTIME_DEPS)
    session.run("mypy", "--strict", "pyclrbridge", *session.posargs)


@nox.session(python=TOOLS_PYTHON)
def docs(session: nox.Session) -> None:
    """mkdocs build --strict (pass `serve` as the only arg to serve the site instead)."""
    _setup(session)
    session.env["NO_MKDOCS_2_WARNING"] = "1"  # silence Material's banner about MkDocs 2
    session.install("mkdocs-material>=9.5", "mkdocstrings[python]>=0.26", *RUNTIME_DEPS)
    if session.posargs == ["serve"]:
        session.run("mkdocs", "serve")
    else:
        session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session(python=PYTHONS, default=False)
def bench(session: nox.Session) -> None:
    """python -m benchmarks <args> (the benchmarks package is in the repo root)."""
    _setup(session)
    session.install("-e", ".[test]")
    try:  # the peer the table compares with; without it its cells are n/a
        session.install("pythonnet>=3.0")
    except Exception:  # no wheel for this interpreter: measure pyclrbridge alone
        session.warn("pythonnet is not installable here: its column will be n/a")
    _gil_off_if_free_threaded(session)
    session.run("python", "-m", "benchmarks", *session.posargs)
