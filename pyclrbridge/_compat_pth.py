"""``python -m pyclrbridge.compat --install-hook``: the ``.pth`` hook in site-packages that makes
``PYCLRBRIDGE_COMPAT=1`` give `pyclrbridge.compat` as ``import clr`` in every process (the hook
itself runs `pyclrbridge._compat_hook`)."""

from __future__ import annotations

import argparse
import sysconfig
from pathlib import Path

HOOK_NAME = "pyclrbridge-compat.pth"
HOOK_LINE = (
    "import os; os.environ.get('PYCLRBRIDGE_COMPAT') == '1' and "
    "__import__('importlib').import_module('pyclrbridge._compat_hook').activate()\n"
)


def hook_path() -> Path:
    """Where the hook goes: this environment's ``site-packages`` (purelib)."""
    return Path(sysconfig.get_paths()["purelib"]) / HOOK_NAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyclrbridge.compat",
        description="Install or remove the hook that makes PYCLRBRIDGE_COMPAT=1 give pyclrbridge.compat "
        "as 'import clr' in every Python process of this environment.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--install-hook", action="store_true", help=f"write {HOOK_NAME} into site-packages")
    action.add_argument("--remove-hook", action="store_true", help=f"delete {HOOK_NAME}")
    action.add_argument("--hook-path", action="store_true", help="print where the hook goes")
    options = parser.parse_args(argv)
    path = hook_path()
    if options.hook_path:
        print(path)
    elif options.install_hook:
        path.write_text(HOOK_LINE, encoding="utf-8")
        print(f"wrote {path}: PYCLRBRIDGE_COMPAT=1 now makes 'import clr' give pyclrbridge.compat")
    else:
        path.unlink(missing_ok=True)
        print(f"removed {path}")
    return 0
