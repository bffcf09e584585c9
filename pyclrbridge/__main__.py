"""``python -m pyclrbridge``: the command line (``info`` and friends)."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from typing import Any


def gil_enabled() -> bool:
    """True on GIL builds; on free-threaded builds, whether the GIL was turned back on."""
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def info_data() -> dict[str, Any]:
    from . import __version__, load

    runtime = load()
    stats = runtime.stats()
    return {
        "pyclrbridge": __version__,
        "dotnet_runtime": runtime.version,
        "framework": runtime.framework,
        "dotnet_root": str(runtime.dotnet_root),
        "hostfxr": str(runtime.hostfxr_path),
        "shim": str(runtime.shim_path),
        "runtime_config": str(runtime.runtime_config),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "free_threaded_build": bool(getattr(sys, "_is_gil_enabled", None)),
        "gil_enabled": gil_enabled(),
        "load_seconds": round(runtime.start_seconds, 4),
        "live_handles": stats["live_handles"],
        "cached_classes": stats["cached_classes"],
    }


def cmd_info(args: argparse.Namespace) -> int:
    data = info_data()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        width = max(map(len, data))
        for key, value in data.items():
            print(f"{key.replace('_', ' '):<{width}}  {value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pyclrbridge", description="pyclrbridge: .NET from Python")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="start .NET and print versions, paths and the GIL state")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(func=cmd_info)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as exc:  # a clear one-line error and a non-zero exit for scripts
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
