"""Hatchling build hook: compile the C# shim and put it inside the package.

The shim (``managed_shim/PyClrBridge.Shim.csproj``) is built with
``dotnet build -c Release -o pyclrbridge/_bin`` whenever a wheel is built:

* regular wheel (``pip install .``, ``python -m build``): the files in
  ``pyclrbridge/_bin`` are force-included in the wheel, because ``_bin`` is
  git-ignored and hatchling would otherwise leave it out;
* editable wheel (``pip install -e .``): the files stay in the source tree's
  ``pyclrbridge/_bin``, where the editable install finds them;
* sdist: nothing is built; the sdist carries the C# sources instead.

The shim is IL only (AnyCPU), so the wheel stays ``py3-none-any``.

Environment variables:

``PYCLRBRIDGE_SKIP_SHIM_BUILD=1``
    Do not run ``dotnet`` if ``pyclrbridge/_bin/PyClrBridge.Shim.dll`` already
    exists (e.g. when rebuilding the wheel on a machine without the SDK, or to
    save a few seconds in a tight loop). The existing files are packaged as is.
``DOTNET_ROOT``
    Where to look for ``dotnet`` when it is not on ``PATH``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PROJECT = Path("managed_shim") / "PyClrBridge.Shim.csproj"
OUTPUT = Path("pyclrbridge") / "_bin"
ASSEMBLY = "PyClrBridge.Shim"
# Files shipped in the wheel: the first one is required, the others go in when produced.
REQUIRED = (f"{ASSEMBLY}.dll",)
OPTIONAL = (f"{ASSEMBLY}.deps.json", f"{ASSEMBLY}.runtimeconfig.json", f"{ASSEMBLY}.pdb")
MIN_SDK_MAJOR = 8

NO_SDK_MESSAGE = (
    "pyclrbridge needs the .NET SDK 8 or newer to build its shim: install it from "
    "https://dot.net and make sure `dotnet` is on PATH (or set DOTNET_ROOT)"
)


class ShimBuildError(RuntimeError):
    """The C# shim could not be built."""


def _find_dotnet() -> str | None:
    """Return the ``dotnet`` executable: ``PATH`` first, then ``$DOTNET_ROOT``."""
    found = shutil.which("dotnet")
    if found:
        return found
    root = os.environ.get("DOTNET_ROOT")
    if root:
        exe = Path(root) / ("dotnet.exe" if sys.platform == "win32" else "dotnet")
        if exe.is_file():
            return str(exe)
    return None


def _sdk_majors(dotnet: str) -> list[int]:
    """Major versions of the installed SDKs (empty for a runtime-only install)."""
    try:
        out = subprocess.run(
            [dotnet, "--list-sdks"],
            check=False,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [int(m.group(1)) for m in re.finditer(r"^(\d+)\.\d+\.\d+", out, re.MULTILINE)]


def build_shim(root: Path, *, log: Any = print) -> Path:
    """Build the shim into ``root/pyclrbridge/_bin`` and return that folder.

    Raises :class:`ShimBuildError` with an actionable message on failure.
    """
    out_dir = root / OUTPUT
    dll = out_dir / REQUIRED[0]

    if os.environ.get("PYCLRBRIDGE_SKIP_SHIM_BUILD", "").strip() not in ("", "0"):
        if dll.is_file():
            log(f"pyclrbridge: PYCLRBRIDGE_SKIP_SHIM_BUILD is set, reusing {dll}")
            return out_dir
        log(f"pyclrbridge: PYCLRBRIDGE_SKIP_SHIM_BUILD is set but {dll} is missing: building")

    dotnet = _find_dotnet()
    if dotnet is None:
        raise ShimBuildError(NO_SDK_MESSAGE)
    majors = _sdk_majors(dotnet)
    if not any(m >= MIN_SDK_MAJOR for m in majors):
        found = ", ".join(str(m) for m in sorted(set(majors))) or "none"
        raise ShimBuildError(f"{NO_SDK_MESSAGE} (found `{dotnet}`, SDK major versions: {found})")

    cmd = [
        dotnet,
        "build",
        str(root / PROJECT),
        "-c",
        "Release",
        "-o",
        str(out_dir),
        "--nologo",
        # No long-lived MSBuild/compiler server processes: they would keep the
        # build frontend's output pipes open and make `pip install` hang.
        "-nodeReuse:false",
        "-p:UseSharedCompilation=false",
        "-p:ContinuousIntegrationBuild=true",
    ]
    env = dict(os.environ)
    env.update(
        DOTNET_CLI_TELEMETRY_OPTOUT="1",
        DOTNET_NOLOGO="1",
        DOTNET_SKIP_FIRST_TIME_EXPERIENCE="1",
        DOTNET_CLI_USE_MSBUILD_SERVER="0",
        MSBUILDDISABLENODEREUSE="1",
    )
    log("pyclrbridge: " + " ".join(cmd))
    proc = subprocess.run(
        cmd,
        check=False,
        capture_output=True,
        text=True,
        errors="replace",
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=root,
    )
    if proc.returncode != 0:
        raise ShimBuildError(
            f"`dotnet build` of {PROJECT} failed with exit code {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    if not dll.is_file():
        raise ShimBuildError(f"`dotnet build` succeeded but did not produce {dll}")
    return out_dir


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Build the shim for wheels (regular and editable); do nothing for sdists."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        # A ShimBuildError propagates: the build frontend prints its message (the
        # dotnet output, or how to install the SDK) and fails.
        out_dir = build_shim(root, log=self.app.display_info)

        if version == "editable":
            # The editable install imports pyclrbridge from the source tree, where the
            # files now are; nothing to add to the wheel.
            return

        force_include = build_data.setdefault("force_include", {})
        for name in REQUIRED + OPTIONAL:
            path = out_dir / name
            if path.is_file():
                force_include[str(path)] = f"{OUTPUT.as_posix()}/{name}"
