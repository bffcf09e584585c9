"""NuGet packages in one call: ``clr.add_package("NodaTime")``.

The .NET SDK does the restore: a generated project with one ``PackageReference`` per package is
published (portable, for the running runtime's target framework) into a per-user cache folder
keyed by the package set and the framework. The publish folder has the assemblies, their
``.deps.json`` and every ``runtimes/<rid>/native/`` asset, so the shim's dependency resolver
finds managed and native dependencies alike. A second call for the same set finds the folder's
manifest and runs no ``dotnet`` at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from .host.hostfxr import check_private_folder

#: The generated project's assembly: loaded first so its .deps.json describes the whole set.
PROJECT_NAME = "PyClrBridge.Packages"
MANIFEST = "pyclrbridge-packages.json"
MANIFEST_FORMAT = 1

_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_VERSION = re.compile(r"^[0-9A-Za-z.*+\-\[\]\(\), ]+$")

Progress = Callable[[str], None]
PackageSpec = str | tuple[str, str | None]


class PackageError(RuntimeError):
    """A NuGet restore failed, or the .NET SDK needed for it is missing."""


@dataclass(frozen=True)
class PackageSet:
    """What [`Runtime.add_package`][pyclrbridge.Runtime.add_package] restored and referenced."""

    requested: tuple[tuple[str, str | None], ...]
    versions: dict[str, str]  # every package in the restore (dependencies too): id -> version
    folder: Path
    assemblies: tuple[Any, ...]  # AssemblyInfo of every managed assembly referenced
    cached: bool  # True when the cache answered without running dotnet

    def __repr__(self) -> str:
        names = ", ".join(f"{n} {self.versions.get(n, v or '?')}" for n, v in self.requested)
        return f"<NuGet packages {names}: {len(self.assemblies)} assemblies{' (cached)' if self.cached else ''}>"


def normalize(
    packages: PackageSpec | Iterable[PackageSpec], version: str | None = None
) -> tuple[tuple[str, str | None], ...]:
    """``"Name"``, ``("Name", "1.0")`` or a list of those -> sorted, validated (name, version) pairs."""
    if isinstance(packages, str):
        items: list[PackageSpec] = [(packages, version)]
    elif _is_pair(packages):
        items = [packages]  # type: ignore[list-item]  # one ("Name", "1.0") pair
    else:
        if version is not None:
            raise TypeError("add_package(list, version): give each package's version in the list, as ('Name', '1.2.3')")
        items = list(packages)  # type: ignore[arg-type]  # not a pair: an iterable of specs
    found: dict[str, str | None] = {}
    for item in items:
        name, ver = (item, None) if isinstance(item, str) else item
        if not isinstance(name, str) or not _ID.match(name):
            raise ValueError(f"not a NuGet package id: {name!r} (letters, digits, '.', '-', '_')")
        if ver is not None and (not isinstance(ver, str) or not _VERSION.match(ver)):
            raise ValueError(f"not a NuGet version for {name}: {ver!r} (e.g. '13.0.3', '[1.0,2.0)', '8.*')")
        if name.lower() in {n.lower() for n in found} and found.get(name) != ver:
            raise ValueError(f"package {name} is listed twice with different versions")
        found[name] = ver
    if not found:
        raise ValueError("add_package() needs at least one package")
    return tuple(sorted(found.items(), key=lambda kv: kv[0].lower()))


def _is_pair(value: Any) -> bool:
    """``("Name", "1.2.3")`` or ``("Name", None)``, not a tuple of two package names."""
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and (value[1] is None or (isinstance(value[1], str) and value[1][:1] in "0123456789[(*"))
    )


def cache_root() -> Path:
    """Where restored package sets live: ``PYCLRBRIDGE_PACKAGE_CACHE``, else the user's cache folder."""
    explicit = os.environ.get("PYCLRBRIDGE_PACKAGE_CACHE")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "pyclrbridge" / "packages"


def _private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) and refuse one another user could write into (not ours, or
    writable by group or others): its assemblies are loaded into this process. A folder that
    fails is never chmodded into shape: someone else could have written into it first."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _check_private(path, "package cache")
    return path


def _check_private(folder: Path, what: str) -> None:
    check_private_folder(folder, what=what, setting="PYCLRBRIDGE_PACKAGE_CACHE", error=PackageError)


def _cached(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete cache entry; a present entry must be private like the root."""
    if not os.path.lexists(folder):
        return None
    _check_private(folder, "package cache entry")
    return read_manifest(folder)


def framework_moniker(runtime_version: str) -> str:
    """``"10.0.12"`` -> ``"net10.0"``: the target framework of the running runtime."""
    major, minor = [*runtime_version.split("."), "0"][:2]
    return f"net{int(major)}.{int(minor.split('-')[0])}"


def cache_key(specs: Sequence[tuple[str, str | None]], tfm: str) -> str:
    text = json.dumps({"packages": [[n.lower(), v] for n, v in specs], "tfm": tfm, "format": MANIFEST_FORMAT})
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def entry_name(specs: Sequence[tuple[str, str | None]], tfm: str) -> str:
    """The name of the cache entry (a folder of the cache root) of ``specs`` on ``tfm``."""
    return f"{tfm}-{cache_key(specs, tfm)}"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete cache entry (every listed assembly present), else None."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return None
    if not all((folder / name).is_file() for name in data.get("assemblies", [])):
        return None
    return data


def find_dotnet(dotnet_root: Path | None) -> Path:
    """The ``dotnet`` driver with an SDK: next to the running runtime first, then on PATH."""
    exe = "dotnet.exe" if os.name == "nt" else "dotnet"
    candidates = [dotnet_root / exe] if dotnet_root is not None else []
    on_path = shutil.which("dotnet")
    if on_path:
        candidates.append(Path(on_path).resolve())
    for candidate in candidates:
        sdk = candidate.parent / "sdk"
        if candidate.is_file() and sdk.is_dir() and any(p.is_dir() and p.name[:1].isdigit() for p in sdk.iterdir()):
            return candidate
    where = ", ".join(str(c.parent) for c in candidates) or "PATH"
    raise PackageError(
        f"add_package needs the .NET SDK (its NuGet restore), and none was found ({where} has no sdk/ folder): "
        "install the .NET SDK, or publish the packages yourself and add_reference() the DLLs"
    )


def nearest_nuget_config(start: Path) -> Path | None:
    """The user's project-level ``nuget.config``: the first one from ``start`` upward."""
    for folder in (start, *start.parents):
        for name in ("nuget.config", "NuGet.Config", "NuGet.config"):
            if (folder / name).is_file():
                return folder / name
    return None


def project_text(specs: Sequence[tuple[str, str | None]], tfm: str) -> str:
    refs = "\n".join(f"    <PackageReference Include={quoteattr(n)} Version={quoteattr(v or '*')} />" for n, v in specs)
    return f"""<Project Sdk="Microsoft.NET.Sdk">
  <!-- Generated by pyclrbridge.add_package: restores and publishes these packages. -->
  <PropertyGroup>
    <TargetFramework>{tfm}</TargetFramework>
    <AssemblyName>{PROJECT_NAME}</AssemblyName>
    <EnableDefaultItems>false</EnableDefaultItems>
    <ImplicitUsings>disable</ImplicitUsings>
    <GenerateDocumentationFile>false</GenerateDocumentationFile>
    <DebugType>none</DebugType>
    <UseSharedCompilation>false</UseSharedCompilation>
    <SatelliteResourceLanguages>en</SatelliteResourceLanguages>
  </PropertyGroup>
  <ItemGroup>
{refs}
  </ItemGroup>
</Project>
"""


def describe(specs: Sequence[tuple[str, str | None]]) -> str:
    return ", ".join(f"{n} {v}" if v else f"{n} (latest)" for n, v in specs)


def _run_dotnet(cmd: list[str], cwd: Path, progress: Progress | None) -> tuple[int, list[str]]:
    env = dict(
        os.environ,
        DOTNET_CLI_TELEMETRY_OPTOUT="1",
        DOTNET_NOLOGO="1",
        DOTNET_SKIP_FIRST_TIME_EXPERIENCE="1",
        MSBUILDDISABLENODEREUSE="1",
    )
    lines: list[str] = []
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except OSError as exc:
        raise PackageError(f"could not run {cmd[0]}: {exc}") from exc
    assert proc.stdout is not None
    with proc:
        for raw in proc.stdout:
            line = raw.rstrip()
            if not line:
                continue
            lines.append(line)
            if progress is not None:
                progress(line.strip())
    return proc.returncode, lines


_SOURCE = re.compile(r"source\(s\): (.*?)(?:$|\s+\[)")


def _failure(specs: Sequence[tuple[str, str | None]], lines: list[str], config: Path | None) -> PackageError:
    errors = list(
        dict.fromkeys(
            re.sub(r"^.*?: error ", "error ", line.strip()).split(" [")[0] for line in lines if ": error " in line
        )
    )
    sources = sorted({m.group(1).strip() for line in lines for m in [_SOURCE.search(line)] if m})
    where = f"sources: {', '.join(sources)}" if sources else "sources: those of the NuGet configuration"
    if config is not None:
        where += f"; config {config}"
    detail = "\n  ".join(errors or lines[-15:])
    return PackageError(f"NuGet restore of {describe(specs)} failed ({where}):\n  {detail}")


def _resolved_versions(project_dir: Path) -> dict[str, str]:
    try:
        assets = json.loads((project_dir / "obj" / "project.assets.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found: dict[str, str] = {}
    for key, lib in assets.get("libraries", {}).items():
        if lib.get("type") == "package" and "/" in key:
            name, version = key.split("/", 1)
            found[name] = version
    return found


def _managed_assemblies(out: Path) -> list[str]:
    """The publish folder's own assemblies (native assets stay under runtimes/)."""
    return sorted(p.name for p in out.glob("*.dll") if p.name != f"{PROJECT_NAME}.dll")


# Owner: _restore_lock serializes restores in this process (two threads asking for the same set
# run dotnet once); other processes are kept apart by restoring into a private temporary folder
# that is renamed into place in one step.
_restore_lock = threading.Lock()


def restore(
    specs: Sequence[tuple[str, str | None]],
    tfm: str,
    dotnet_root: Path | None,
    *,
    progress: Progress | None = None,
    nuget_config: Path | None = None,
    offline: bool = False,
) -> tuple[Path, dict[str, Any], bool]:
    """The cache folder and manifest for ``specs`` on ``tfm``, restoring with dotnet on a miss.
    Returns (folder, manifest, cached)."""
    root = _private_dir(cache_root())
    folder = root / entry_name(specs, tfm)
    manifest = _cached(folder)
    if manifest is not None:
        return folder, manifest, True
    with _restore_lock:
        manifest = _cached(folder)
        if manifest is not None:
            return folder, manifest, True
        dotnet = find_dotnet(dotnet_root)
        config = nuget_config if nuget_config is not None else nearest_nuget_config(Path.cwd())
        work = Path(tempfile.mkdtemp(prefix=".restore-", dir=root))
        try:
            (work / f"{PROJECT_NAME}.csproj").write_text(project_text(specs, tfm), encoding="utf-8")
            out = work / "out"
            cmd = [
                str(dotnet),
                "publish",
                str(work / f"{PROJECT_NAME}.csproj"),
                "-c",
                "Release",
                "-o",
                str(out),
                "-nodeReuse:false",
                "-v",
                "minimal",
                "-p:TreatWarningsAsErrors=false",
            ]
            if config is not None:
                cmd.append(f"-p:RestoreConfigFile={config}")
            if offline:
                cmd.append(f"-p:RestoreSources={global_packages_folder()}")
            if progress is not None:
                progress(f"restoring {describe(specs)} for {tfm} (first use; cached afterwards)")
            rc, lines = _run_dotnet(cmd, work, progress)
            if rc != 0:
                raise _failure(specs, lines, config)
            manifest = {
                "format": MANIFEST_FORMAT,
                "tfm": tfm,
                "requested": [[n, v] for n, v in specs],
                "versions": _resolved_versions(work),
                "assemblies": _managed_assemblies(out),
            }
            (out / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            try:
                os.rename(out, folder)  # one step: a folder with a manifest is complete
            except OSError:
                if _cached(folder) is None:  # not another process's finished copy: stale
                    shutil.rmtree(folder, ignore_errors=True)
                    os.rename(out, folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        done = _cached(folder)
        if done is None:
            raise PackageError(f"the restored packages of {describe(specs)} vanished from {folder}")
        return folder, done, False


def global_packages_folder() -> Path:
    """NuGet's global packages folder (what an offline restore reads from)."""
    return Path(os.environ.get("NUGET_PACKAGES") or Path.home() / ".nuget" / "packages")


def default_progress(line: str) -> None:
    """Progress of a restore on stderr: the start and dotnet's summary lines."""
    if line.startswith("restoring ") or line.startswith("Restored ") or "error" in line:
        print(f"pyclrbridge: {line}", file=sys.stderr, flush=True)


def add_packages(
    specs: Sequence[tuple[str, str | None]],
    runtime_version: str,
    dotnet_root: Path | None,
    reference: Callable[[str], Any],
    *,
    progress: Progress | bool | None = True,
    nuget_config: str | os.PathLike[str] | None = None,
    offline: bool = False,
) -> PackageSet:
    """Restore (or find cached) and reference ``specs``; see ``Runtime.add_package``."""
    report: Progress | None = default_progress if progress is True else (progress or None)
    tfm = framework_moniker(runtime_version)
    config = Path(nuget_config).resolve() if nuget_config is not None else None
    if config is not None and not config.is_file():
        raise FileNotFoundError(f"NuGet config {config} does not exist")
    folder, manifest, cached = restore(specs, tfm, dotnet_root, progress=report, nuget_config=config, offline=offline)
    project = folder / f"{PROJECT_NAME}.dll"
    if project.is_file():
        reference(str(project))  # its .deps.json: how every dependency and native asset is found
    infos = tuple(_reference_one(reference, folder / name, specs) for name in manifest["assemblies"])
    return PackageSet(tuple(specs), dict(manifest.get("versions", {})), folder, infos, cached)


def _reference_one(reference: Callable[[str], Any], path: Path, specs: Sequence[tuple[str, str | None]]) -> Any:
    try:
        return reference(str(path))
    except Exception as exc:
        if "already loaded" not in str(exc):
            raise
        raise PackageError(
            f"{path.name} of the packages {describe(specs)} is another version of an assembly this process "
            "has already loaded (from an earlier add_package or add_reference); .NET loads one version of "
            "an assembly per process: ask for the same versions everywhere, or use a fresh process"
        ) from exc
