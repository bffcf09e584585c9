"""The per-user package cache: a private root folder holding one entry per restored package set.

An entry is a ``dotnet publish`` folder plus its manifest, which lists every file of the entry
with its size and SHA-256. The manifest is written last, under a temporary name renamed into
place, and the entry itself is renamed into the root in one step: an entry with a manifest is
complete. Before anything in an entry is loaded, the root and the entry must be private
(yours, not writable by group or others) and every file must still match the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..host.hostfxr import check_private_folder
from .errors import PackageError

MANIFEST = "pyclrbridge-packages.json"
#: 2: the manifest lists every file's size and SHA-256 (format 1 entries are restored again).
MANIFEST_FORMAT = 2

_CHUNK = 1 << 20


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


def private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) and refuse one another user could write into (not ours, or
    writable by group or others): its assemblies are loaded into this process. A folder that
    fails is never chmodded into shape: someone else could have written into it first."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    check_private(path, "package cache")
    _check_ancestors(path)
    return path


def _check_ancestors(path: Path) -> None:
    """Refuse a cache whose parent folders let another user rename it away and put their own in
    its place between our checks and the load: each must belong to you or the administrator,
    and be writable by nobody else or sticky (as ``/tmp`` is: nobody renames what is yours)."""
    if os.name != "posix":
        return
    for folder in Path(os.path.realpath(path)).parents:
        st = os.stat(folder)
        if st.st_uid not in (os.getuid(), 0):
            why = f"owned by uid {st.st_uid}"
        elif st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            why = f"writable by others (mode {stat.S_IMODE(st.st_mode):o}, not sticky)"
        else:
            continue
        raise PackageError(
            f"refusing package cache {path}: its parent folder {folder} is {why}, so someone else could "
            "replace the cache between its checks and the load; "
            "set PYCLRBRIDGE_PACKAGE_CACHE to a folder under one only you control"
        )


def check_private(folder: Path, what: str) -> None:
    """The runtimeconfig folder's check (one rule for every folder we load from), as a PackageError."""
    check_private_folder(folder, what=what, setting="PYCLRBRIDGE_PACKAGE_CACHE", error=PackageError)


def file_digest(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _walk(folder: Path) -> list[tuple[str, os.stat_result]]:
    """Every entry under ``folder`` but the manifest: (path relative to ``folder`` with ``/``, lstat)."""
    found: list[tuple[str, os.stat_result]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            rel = Path(os.path.relpath(path, folder)).as_posix()
            if rel != MANIFEST:
                found.append((rel, os.lstat(path)))
    return sorted(found)


def file_table(folder: Path) -> dict[str, list[Any]]:
    """``{relative path: [size, sha256]}`` of every file of a finished publish folder."""
    table: dict[str, list[Any]] = {}
    for rel, st in _walk(folder):
        if stat.S_ISREG(st.st_mode):
            table[rel] = [st.st_size, file_digest(folder / rel)]
        elif not stat.S_ISDIR(st.st_mode):
            raise PackageError(f"the restore left {folder / rel}, which is not a plain file or folder")
    return table


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest into ``folder`` under a temporary name, then rename it into place:
    a reader sees no manifest or a whole one."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".manifest-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(manifest, out, indent=1)
        os.replace(tmp, folder / MANIFEST)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete cache entry of this format, else None (restore it again)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return None
    files, assemblies = data.get("files"), data.get("assemblies")
    if not isinstance(files, dict) or not isinstance(assemblies, list):
        return None
    return data


def verify(folder: Path, manifest: dict[str, Any]) -> None:
    """Raise a PackageError naming the first file of the entry that is not as its restore left it:
    changed (size or SHA-256), missing, or added."""
    expected: dict[str, list[Any]] = manifest["files"]
    present = {rel: st for rel, st in _walk(folder) if not stat.S_ISDIR(st.st_mode)}
    for rel, entry in sorted(expected.items()):
        size, digest = entry
        st = present.get(rel)
        if st is None:
            problem = "is missing"
        elif not stat.S_ISREG(st.st_mode):
            problem = "is no longer a plain file"
        elif st.st_size != size:
            problem = f"changed size ({st.st_size} bytes, the restore wrote {size})"
        elif file_digest(folder / rel) != digest:
            problem = "changed content (its SHA-256 is not the one recorded at the restore)"
        else:
            continue
        raise _changed(folder, rel, problem)
    for rel in sorted(set(present) - set(expected)):
        raise _changed(folder, rel, "was added after the restore")


def _changed(folder: Path, rel: str, problem: str) -> PackageError:
    return PackageError(
        f"the package cache entry {folder} is not as its restore left it: {rel} {problem}; "
        f"nothing was loaded from it. Remove {folder} to restore the packages again"
    )


def cached(folder: Path) -> dict[str, Any] | None:
    """The verified manifest of the entry ``folder``; None when there is no complete entry.
    Raises PackageError for an entry that is not private or whose files changed."""
    if not os.path.lexists(folder):
        return None
    check_private(folder, "package cache entry")
    manifest = read_manifest(folder)
    if manifest is not None:
        verify(folder, manifest)
    return manifest
