"""NuGet packages in one call: ``clr.add_package("NodaTime")``.

The .NET SDK does the restore: a generated project with one ``PackageReference`` per package is
published (portable, for the running runtime's target framework) into a per-user cache folder
keyed by the package set and the framework. The publish folder has the assemblies, their
``.deps.json`` and every ``runtimes/<rid>/native/`` asset, so the shim's dependency resolver
finds managed and native dependencies alike. A second call for the same set finds the folder's
manifest, checks every file against it and runs no ``dotnet`` at all.

The modules: ``cache`` (the private cache and its verified manifests), ``restorer`` (the
generated project and the ``dotnet`` run), ``config`` (the one NuGet configuration file a
restore reads), ``msbuild`` (escaping), ``errors``; this one validates the arguments and
references what was restored.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import MANIFEST, MANIFEST_FORMAT, cache_root, read_manifest
from .config import ENV as NUGET_CONFIG_ENV
from .config import NuGetConfig
from .config import choose as choose_config
from .errors import PackageError
from .restorer import PROJECT_NAME, Progress, describe, entry_name, find_dotnet, framework_moniker, restore

__all__ = [
    "MANIFEST",
    "MANIFEST_FORMAT",
    "NUGET_CONFIG_ENV",
    "PROJECT_NAME",
    "NuGetConfig",
    "PackageError",
    "PackageSet",
    "PackageSpec",
    "Progress",
    "add_packages",
    "cache_root",
    "choose_config",
    "default_progress",
    "entry_name",
    "find_dotnet",
    "framework_moniker",
    "normalize",
    "read_manifest",
]

_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_VERSION = re.compile(r"^[0-9A-Za-z.*+\-\[\]\(\), ]+$")

PackageSpec = str | tuple[str, str | None]


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
    config = choose_config(nuget_config)
    folder, manifest, cached = restore(specs, tfm, dotnet_root, config=config, progress=report, offline=offline)
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
