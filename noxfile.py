"""nox sessions for pyclrbridge: the checks CI runs, each in its own environment.

    nox                      # default sessions: tests (every Python found), lint, typecheck, docs, package
    nox -s tests-3.13        # one interpreter
    nox -s lint typecheck docs package
    nox -s bench-3.11 -- ... # python -m benchmarks ...

``.ci/run`` runs these same sessions, so a local ``nox`` and CI check the same things in the
same environments. Interpreters are found on PATH and in pyenv (even versions that are not
active); missing ones are skipped. pip inside the sessions honours the usual environment
variables: set ``PIP_FIND_LINKS`` (and ``PIP_NO_INDEX=1``) to install from a local folder of
wheels with no package index.
"""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
import zipfile
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent

PYTHONS = ["3.11", "3.12", "3.13", "3.14", "3.14t"]
TOOLS_PYTHON = "3.11"  # lint/typecheck/docs/package: one interpreter is enough

nox.options.sessions = ["tests", "lint", "typecheck", "docs", "package"]
nox.options.error_on_missing_interpreters = False
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml(str(ROOT / "pyproject.toml"))
EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]


def _tool(name: str) -> str:
    """The requirement for a tool, as the ``dev`` extra pins it (one place for versions)."""
    for req in EXTRAS["dev"]:
        if re.match(rf"{re.escape(name)}\b", req):
            return req
    raise LookupError(f"{name} is not in the dev extra of pyproject.toml")


#: The wheel must carry the compiled shim and the typing marker.
WHEEL_MUST_HAVE = (
    "pyclrbridge/__init__.py",
    "pyclrbridge/py.typed",
    "pyclrbridge/_bin/PyClrBridge.Shim.dll",
    "pyclrbridge/_bin/PyClrBridge.Shim.deps.json",
    "pyclrbridge/_pyinstaller/hook-pyclrbridge.py",
)


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
    names = ["pyclrbridge", "tests", "benchmarks", "hatch_build.py", "build_backend.py", "noxfile.py"]
    return [name for name in names if (ROOT / name).exists()]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Install the package (editable; builds the shim) and run pytest. Args go to pytest.

    A run that collects no tests (pytest exit code 5) fails.
    """
    _setup(session)
    session.install("-e", ".[test]")
    # The tests that type-check generated stubs run mypy. It is not in the test extra (it has
    # no wheel for every interpreter we test, e.g. free-threaded builds); where it cannot be
    # installed, those tests skip and say why.
    try:
        session.install(_tool("mypy"))
    except Exception:  # nox raises CommandFailed: no mypy for this interpreter
        session.warn("mypy is not installable here: the stub type-checking tests will skip")
    _gil_off_if_free_threaded(session)
    session.run("python", "-m", "pyclrbridge", "info")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=TOOLS_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check (args replace the default paths)."""
    _setup(session)
    session.install(_tool("ruff"))
    paths = session.posargs or _lint_paths()
    session.run("ruff", "check", "--no-cache", *paths)
    session.run("ruff", "format", "--check", "--no-cache", *paths)


@nox.session(python=TOOLS_PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package, with the optional packages it type-checks against
    (hypothesis for pyclrbridge.testing, rich for the CLI). No .NET build needed."""
    _setup(session)
    session.install(_tool("mypy"), *EXTRAS["test"], *EXTRAS["cli"], *PYPROJECT["project"]["dependencies"])
    session.run("mypy", "--strict", "--no-incremental", "pyclrbridge", *session.posargs)


@nox.session(python=TOOLS_PYTHON)
def docs(session: nox.Session) -> None:
    """mkdocs build --strict, checked for unrendered reST roles by tests/test_docs_site.py
    (pass `serve` as the only arg to serve the site instead)."""
    _setup(session)
    session.env["NO_MKDOCS_2_WARNING"] = "1"  # silence Material's banner about MkDocs 2
    session.install(*EXTRAS["docs"], *EXTRAS["test"], *PYPROJECT["project"]["dependencies"])
    if session.posargs == ["serve"]:
        session.run("mkdocs", "serve")
        return
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", "tests/test_docs_site.py", *session.posargs)


@nox.session(python=TOOLS_PYTHON)
def package(session: nox.Session) -> None:
    """Build the sdist and, from it, the wheel; the wheel must carry the shim."""
    _setup(session)
    session.install("build")
    dist = Path(session.create_tmp()) / "dist"
    session.run("python", "-m", "build", "--outdir", str(dist), ".")
    wheels = sorted(dist.glob("pyclrbridge-*-py3-none-any.whl"))
    if len(wheels) != 1:
        session.error(f"expected one py3-none-any wheel in {dist}, found {wheels}")
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    missing = [name for name in WHEEL_MUST_HAVE if name not in names]
    if missing:
        session.error(f"missing from {wheels[0].name}: {missing}")
    if any("/_bin/" in name for name in _sdist_members(dist)):
        session.error("the sdist must not carry built binaries")
    session.log(f"{wheels[0].name}: {len(names)} files, shim included")


def _sdist_members(dist: Path) -> list[str]:
    (sdist,) = dist.glob("pyclrbridge-*.tar.gz")
    with tarfile.open(sdist) as tar:
        return tar.getnames()


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
