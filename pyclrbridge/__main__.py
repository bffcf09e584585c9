"""``python -m pyclrbridge``: the command line (:mod:`pyclrbridge.cli.main`).

The names scripts import from here (``main``, ``gil_enabled``, ``info_data``, the exit codes)
stay importable from ``pyclrbridge.__main__``.
"""

from __future__ import annotations

import sys

from .cli.main import EXIT_OK, EXIT_RUNTIME_ERROR, EXIT_USAGE, UsageError, build_parser, gil_enabled, info_data, main

__all__ = [
    "EXIT_OK",
    "EXIT_RUNTIME_ERROR",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
    "gil_enabled",
    "info_data",
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
