"""The one error of NuGet package restores."""

from __future__ import annotations


class PackageError(RuntimeError):
    """A NuGet restore failed, the .NET SDK needed for it is missing, or the package cache is
    unsafe to load from (a folder others can write to, a file changed since its restore)."""
