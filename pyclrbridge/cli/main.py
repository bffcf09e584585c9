"""``python -m pyclrbridge``: the command line.

Run as ``pyclrbridge`` (the console script) or ``python -m pyclrbridge``. Commands: ``info``,
``describe TYPE``, ``search PATTERN``, ``stubs NAMESPACE... -o DIR``, ``add-package NAME [VERSION]``
and ``repl``. ``-r ASSEMBLY`` (path or name, repeatable) loads assemblies first.

Exit codes scripts can rely on:

* ``0``: success.
* ``1``: a runtime error (.NET failed to start, a .NET call threw, a file could not be written).
* ``2``: a usage error: bad arguments (an empty type name, ``--limit 0``, a malformed NuGet
  version), an unknown type or namespace, an assembly not found or not a .NET assembly, a NuGet
  package or version that does not exist.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import sysconfig
from typing import Any

from .. import ClrError, PackageError, __version__, _importer, load
from ..packages import normalize
from . import completion as _completion
from . import describe as _cli_describe
from . import names as _cli_names
from . import stub_package as _stub_package
from . import stubs as _stubs

EXIT_OK = 0
EXIT_RUNTIME_ERROR = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user (exit code 2)."""


def free_threaded_build() -> bool:
    """True when this CPython was built without the GIL (``Py_GIL_DISABLED``, 3.13t and later)."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled() -> bool:
    """True on GIL builds; on free-threaded builds, whether the GIL was turned back on."""
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def info_data() -> dict[str, Any]:
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
        "free_threaded_build": free_threaded_build(),
        "gil_enabled": gil_enabled(),
        "load_seconds": round(runtime.start_seconds, 4),
        "loaded_assemblies": len(_importer.index().assemblies),
        "live_handles": stats["live_handles"],
        "python_objects_held": stats["python_objects_held"],
        "cached_classes": stats["cached_classes"],
        "known_types": stats["known_types"],
        "known_members": stats["known_members"],
        "compiled_invokers": stats["compiled_invokers"],
    }


def _runtime(args: argparse.Namespace) -> Any:
    runtime = load()
    for ref in getattr(args, "reference", None) or []:
        if not ref.strip():
            raise UsageError("-r needs an assembly: a .dll path or an assembly name (got an empty string)")
        try:
            runtime.add_reference(ref)
        except FileNotFoundError as exc:
            raise UsageError(str(exc)) from None
        except ClrError as exc:  # BadImageFormatException, FileLoadException: name the file
            raise UsageError(f"cannot load {ref!r} as a .NET assembly: {type(exc).__name__}: {exc}") from None
    return runtime


def _positive_int(text: str) -> int:
    """argparse type for counts: a bad value is a usage error (exit 2) naming the value."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


# A NuGet version (1.2.3, 1.2.3-beta.1+build), a floating one (1.*, 1.0.0-*, *) or a range
# ([1.0,2.0), (,3.0], [1.2.3]): what `dotnet restore` understands, checked before running it.
_NUGET_VERSION = r"\d+(?:\.\d+){0,3}(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?(?:\+[0-9A-Za-z.-]+)?"
_NUGET_FLOATING = r"\*|\d+(?:\.\d+){0,2}\.\*|\d+(?:\.\d+){0,3}-[0-9A-Za-z.-]*\*"
_NUGET_VERSION_SPEC = re.compile(
    rf"(?:{_NUGET_VERSION}|{_NUGET_FLOATING}"
    rf"|[\[(]\s*(?:{_NUGET_VERSION})?\s*(?:,\s*(?:{_NUGET_VERSION})?\s*)?[\])])"
)


def _check_version(version: str | None) -> None:
    if version is not None and not _NUGET_VERSION_SPEC.fullmatch(version.strip()):
        raise UsageError(
            f"not a NuGet version: {version!r} (e.g. 13.0.3, 2.0.0-beta.1, 8.*, or a range like [1.0,2.0))"
        )


#: NuGet's "no such package" (NU1101), "no such version" (NU1102) and "only prereleases" (NU1103).
_NOT_FOUND_CODES = ("NU1101", "NU1102", "NU1103")


def _restore_progress(line: str) -> None:
    """add-package's progress on stderr: the start and dotnet's summary; errors are left to the
    one-line error at the end (NuGet prints each of them more than once)."""
    if line.startswith(("restoring ", "Restored ")):
        print(f"pyclrbridge: {line}", file=sys.stderr, flush=True)


def _one_line(exc: PackageError) -> tuple[str, int]:
    """A failed restore as one line, and its exit code: 2 when the package or version does not exist."""
    head, _, rest = str(exc).partition(":\n")
    details = [line.strip() for line in rest.splitlines() if line.strip()]
    first = re.sub(r"^error\s+", "", details[0]) if details else ""
    code = EXIT_USAGE if any(c in first for c in _NOT_FOUND_CODES) else EXIT_RUNTIME_ERROR
    more = f" (and {len(details) - 1} more: run without -q to see them)" if len(details) > 1 else ""
    return (f"{head}: {first}{more}" if first else head), code


def cmd_info(args: argparse.Namespace) -> int:
    _runtime(args)
    data = info_data()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        width = max(map(len, data))
        for key, value in data.items():
            print(f"{key.replace('_', ' '):<{width}}  {value}")
    return EXIT_OK


def cmd_describe(args: argparse.Namespace) -> int:
    if not args.type.strip():
        raise UsageError("describe needs a type name, e.g. System.Text.StringBuilder (got an empty string)")
    _runtime(args)
    try:
        type_id = _cli_names.resolve_type(args.type)
    except LookupError as exc:
        raise UsageError(exc.args[0]) from None
    data = _cli_names.describe_data(type_id)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        _cli_describe.print_describe(data, sys.stdout)
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    _runtime(args)
    hits = _cli_describe.search(args.pattern, namespace=args.namespace, members=not args.types_only, limit=args.limit)
    if args.json:
        print(json.dumps(hits, indent=2))
    elif not hits:
        print(f"no type or member matches {args.pattern!r}", file=sys.stderr)
    else:
        _cli_describe.print_search(hits, sys.stdout)
    return EXIT_OK if hits else EXIT_RUNTIME_ERROR


def cmd_stubs(args: argparse.Namespace) -> int:
    _runtime(args)
    try:
        if args.package:
            written = _stub_package.write_stub_package(args.namespaces, args.output)
        else:
            written = _stubs.write_stubs(args.namespaces, args.output)
    except LookupError as exc:
        raise UsageError(exc.args[0]) from None
    for path in written:
        print(path)
    return EXIT_OK


def cmd_add_package(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    try:
        specs = normalize(args.name, args.version)
        _check_version(args.version)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        found = runtime.add_package(
            specs,
            progress=False if args.quiet else _restore_progress,
            nuget_config=args.nuget_config,
            offline=args.offline,
        )
    except FileNotFoundError as exc:  # --nuget-config names no file
        raise UsageError(str(exc)) from None
    except PackageError as exc:
        message, code = _one_line(exc)
        print(f"error: {message}", file=sys.stderr)
        return code
    if args.json:
        print(
            json.dumps(
                {
                    "folder": str(found.folder),
                    "cached": found.cached,
                    "versions": found.versions,
                    "assemblies": [a.location for a in found.assemblies],
                },
                indent=2,
            )
        )
        return EXIT_OK
    print(f"{found!r}\nfolder: {found.folder}")
    for name, version in sorted(found.versions.items(), key=lambda kv: kv[0].lower()):
        print(f"  {name} {version}")
    return EXIT_OK


def cmd_repl(args: argparse.Namespace) -> int:
    import code

    runtime = _runtime(args)
    import System  # type: ignore[import-not-found]  # a .NET namespace, importable after load()

    names: dict[str, Any] = {"System": System, "clr": runtime, "__name__": "__console__"}
    banner = (
        f"pyclrbridge REPL: .NET {runtime.version}, Python {platform.python_version()}\n"
        "`System` is imported and `clr` is the Runtime (clr.add_reference(...)). Ctrl-D exits."
    )
    if sys.stdin.isatty():
        _enable_completion(names)
    code.interact(banner=banner, local=names, exitmsg="")
    return EXIT_OK


def _enable_completion(names: dict[str, Any]) -> None:
    """Tab completion of names, .NET namespaces and members (where readline exists)."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: the REPL works, without completion
        return
    readline.set_completer(_completion.Completer(names).complete)
    readline.parse_and_bind("tab: complete")


def _program_name() -> str:
    """How the user started us, for usage lines: the console script or ``python -m``."""
    started_as = os.path.splitext(os.path.basename(sys.argv[0]))[0] if sys.argv else ""
    return "pyclrbridge" if started_as in ("pyclrbridge", "pyclrbridge-script") else "python -m pyclrbridge"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_program_name(),
        description="pyclrbridge: explore and use .NET from Python",
        epilog="exit codes: 0 ok, 1 runtime error (or no search hits), 2 usage error or unknown type",
    )
    parser.add_argument("--version", action="version", version=f"pyclrbridge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, *, reference: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if reference:
            p.add_argument(
                "-r",
                "--reference",
                action="append",
                metavar="ASSEMBLY",
                help="load an assembly first (a .dll path or an assembly name); repeatable",
            )
        return p

    info = command("info", "start .NET and print versions, paths, the GIL state and cache counts")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(func=cmd_info)

    describe = command("describe", "show a type's base, interfaces and members with Python signatures")
    describe.add_argument(
        "type", metavar="TYPE", help="full name (System.Collections.Generic.List), or a unique short name"
    )
    describe.add_argument("--json", action="store_true", help="print JSON for machines")
    describe.set_defaults(func=cmd_describe)

    search = command("search", "find types and members by substring or glob (*, ?, [..]), ignoring case")
    search.add_argument("pattern", metavar="PATTERN")
    search.add_argument("-n", "--namespace", metavar="PREFIX", help="only types in this namespace (and below)")
    search.add_argument("--types-only", action="store_true", help="match type names only (fast)")
    search.add_argument("--limit", type=_positive_int, default=200, help="stop after this many hits (default 200)")
    search.add_argument("--json", action="store_true", help="print JSON for machines")
    search.set_defaults(func=cmd_search)

    stubs = command("stubs", "write .pyi stub packages for .NET namespaces (for editors and mypy)")
    stubs.add_argument("namespaces", nargs="+", metavar="NAMESPACE")
    stubs.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="folder to write into; point mypy_path (or MYPYPATH) at it"
    )
    stubs.add_argument(
        "--package",
        action="store_true",
        help="write installable PEP 561 stub distributions: pip install DIR/<Root>-stubs",
    )
    stubs.set_defaults(func=cmd_stubs)

    add = command("add-package", "restore a NuGet package (and its dependencies) into the per-user cache")
    add.add_argument("name", metavar="NAME", help="the package id, e.g. Newtonsoft.Json")
    add.add_argument("version", metavar="VERSION", nargs="?", help="a version or range (default: the latest)")
    add.add_argument("--offline", action="store_true", help="restore only from NuGet's global packages folder")
    add.add_argument(
        "--nuget-config",
        metavar="FILE",
        help="the NuGet config to restore with (default: PYCLRBRIDGE_NUGET_CONFIG, else your user-wide one)",
    )
    add.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    add.add_argument("--json", action="store_true", help="print JSON for machines")
    add.set_defaults(func=cmd_add_package)

    repl = command("repl", "start a Python REPL with .NET loaded and System imported")
    repl.set_defaults(func=cmd_repl)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # exits with 2 on bad arguments
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `... | head`: the reader left; not an error of ours
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  # silence the flush at exit
        return EXIT_OK
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a clear one-line error and a non-zero exit for scripts
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_RUNTIME_ERROR
