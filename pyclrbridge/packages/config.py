"""Which NuGet configuration a restore reads: exactly one file, named on dotnet's command line.

NuGet given a configuration file (``RestoreConfigFile``) reads that file and nothing else: no
``nuget.config`` from the folders above the project or the working directory, which anyone
who can write to those folders (``/tmp``, a shared checkout) could have planted. The file is:

1. ``nuget_config=`` (or the CLI's ``--nuget-config``), else ``PYCLRBRIDGE_NUGET_CONFIG``:
   the project-level configuration you chose, as given;
2. else your user-wide ``NuGet.Config`` (``~/.nuget/NuGet/NuGet.Config``,
   ``%APPDATA%\\NuGet\\NuGet.Config`` on Windows), which must belong to you (or to the
   administrator) and not be writable by group or others;
3. else nuget.org alone, what NuGet writes into a new user-wide file.

The file's path, its SHA-256 and the sources it lists are part of the cache key: another
configuration is another restore.
"""

from __future__ import annotations

import hashlib
import os
import stat
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PackageError

ENV = "PYCLRBRIDGE_NUGET_CONFIG"
NUGET_ORG = "https://api.nuget.org/v3/index.json"
#: The configuration of a user who has none: what NuGet itself would create for them.
DEFAULT_TEXT = f"""<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="nuget.org" value="{NUGET_ORG}" protocolVersion="3" />
  </packageSources>
</configuration>
"""
#: The spellings NuGet looks for, in its order.
_NAMES = ("nuget.config", "NuGet.config", "NuGet.Config")


@dataclass(frozen=True)
class NuGetConfig:
    """The one configuration file of a restore."""

    path: Path | None  # None: DEFAULT_TEXT, written beside the generated project
    origin: str  # "nuget_config=", ENV, "user" or "default"
    sha256: str
    sources: tuple[str, ...]  # the package sources it lists, in order

    def identity(self) -> dict[str, Any]:
        return {"path": None if self.path is None else str(self.path), "sha256": self.sha256}

    def describe(self) -> str:
        if self.path is None:
            return "nuget.org (you have no user-wide NuGet.Config)"
        return f"{self.path} ({self.origin})"


def user_config_folder() -> Path:
    """Where NuGet keeps the user-wide configuration."""
    if os.name == "nt":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "NuGet"
    return Path.home() / ".nuget" / "NuGet"


def choose(explicit: str | os.PathLike[str] | None) -> NuGetConfig:
    """The configuration file of a restore (see the module's docstring)."""
    origin = "nuget_config="
    if explicit is None and os.environ.get(ENV):
        explicit, origin = os.environ[ENV], ENV
    if explicit is not None:
        path = Path(explicit).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"NuGet config {path} does not exist (from {origin})")
        return _load(path, origin)
    folder = user_config_folder()
    for name in _NAMES:
        path = folder / name
        if path.is_file():
            _check_users_own(path)
            return _load(path, "user")
    text = DEFAULT_TEXT.encode()
    return NuGetConfig(None, "default", hashlib.sha256(text).hexdigest(), (NUGET_ORG,))


def _check_users_own(path: Path) -> None:
    """Your user-wide config must be yours: nobody else may choose your package sources."""
    if os.name != "posix":
        return
    st = os.stat(path)
    why = ""
    if st.st_uid not in (os.getuid(), 0):
        why = f"owned by uid {st.st_uid}, not by you (uid {os.getuid()})"
    elif st.st_mode & 0o022:
        why = f"others can write to it (mode {stat.S_IMODE(st.st_mode):o})"
    if why:
        raise PackageError(
            f"refusing the user-wide NuGet config {path}: {why}; fix it, or name a config with nuget_config= or {ENV}"
        )


def refuse_unreadable_path(path: Path, origin: str) -> None:
    """NuGet splits a config file's path at ``;`` (even escaped): such a path cannot be given to it."""
    if ";" in str(path):
        raise PackageError(
            f"NuGet cannot read the config file {path} ({origin}): NuGet splits its path at the ';'; "
            "use a copy at a path without one"
        )


def _load(path: Path, origin: str) -> NuGetConfig:
    refuse_unreadable_path(path, origin)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PackageError(f"cannot read the NuGet config {path}: {exc}") from None
    return NuGetConfig(path, origin, hashlib.sha256(data).hexdigest(), _sources(data, path))


def _sources(data: bytes, path: Path) -> tuple[str, ...]:
    """The enabled package sources a config file lists (``add``, ``remove``, ``clear``)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise PackageError(f"the NuGet config {path} is not valid XML: {exc}") from None
    sources: dict[str, str] = {}
    for element in root.findall("packageSources/*"):
        key, tag = element.get("key") or "", element.tag.lower()
        if tag == "clear":
            sources.clear()
        elif tag == "add":
            sources[key] = element.get("value") or ""
        elif tag == "remove":
            sources.pop(key, None)
    disabled = {
        element.get("key")
        for element in root.findall("disabledPackageSources/add")
        if (element.get("value") or "").lower() == "true"
    }
    return tuple(value for key, value in sources.items() if key not in disabled)
