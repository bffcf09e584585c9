"""``PYCLRBRIDGE_COMPAT=1``: ``import clr`` gives `pyclrbridge.compat` in every process.

The ``pyclrbridge-compat.pth`` file (written by ``python -m pyclrbridge.compat --install-hook``)
calls `activate` at interpreter start when the variable is ``1``. It only puts a finder
first on ``sys.meta_path``; .NET starts when (and if) the program imports ``clr``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence


class _CompatLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        compat = importlib.import_module("pyclrbridge.compat")
        compat.install(warn=False)  # the environment variable was the opt-in
        return compat

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class ClrFinder(importlib.abc.MetaPathFinder):
    """Answers ``import clr`` (before pythonnet's module could) with pyclrbridge.compat."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "clr":
            return None
        return importlib.machinery.ModuleSpec("clr", _LOADER)


_LOADER = _CompatLoader()
FINDER = ClrFinder()


def activate() -> None:
    """Put the ``clr`` finder first on ``sys.meta_path`` (once)."""
    if FINDER not in sys.meta_path:
        sys.meta_path.insert(0, FINDER)
