"""PyInstaller support: PyInstaller finds ``hook-pyclrbridge.py`` here through the
``pyinstaller40`` entry point, so ``pyinstaller app.py`` bundles the shim with no ``--add-data``."""

from __future__ import annotations

from pathlib import Path

__all__ = ["hook_dirs"]


def hook_dirs() -> list[str]:
    """The folders holding pyclrbridge's PyInstaller hooks (the ``hook-dirs`` entry point)."""
    return [str(Path(__file__).resolve().parent)]
