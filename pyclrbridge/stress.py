"""``python -m pyclrbridge.stress``: many threads, a mixed workload, every invariant checked.

Each worker thread repeatedly picks an operation at random (type lookup of a type never seen
before, namespace import, generic instantiation, delegate conversion for fresh ``Func`` types,
object creation and dropping, event add/remove, callbacks from .NET threads, ``add_reference``;
with ``--signals`` the main thread meanwhile makes ``SIGALRM`` handlers raise during callbacks)
and checks as it goes that:

* there is exactly one Python class per .NET type, whichever thread asked first;
* a class is complete the first time any thread sees it (its members equal the shim's table);
* results are the documented ones (a delegate returns what the callable returned, a callback
and at the end, after a full collection, that live handles and Python objects held by .NET
are back to their baseline and no handle was freed twice (``refused_frees`` stayed 0).

The same operations are the building blocks of the property tests
(``tests/test_concurrency_properties.py``): :class:`Workload` is importable.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from . import load
from ._stress_checks import InvariantViolation, expected_members
from ._stress_run import Report, run
from ._stress_workload import Workload
from .testing import contention

# The names this module documents (its docstring, docs/concurrency.md), made in its parts:
# _stress_checks (what is checked against), _stress_workload (the operations), _stress_run.
__all__ = ["InvariantViolation", "Report", "Workload", "expected_members", "main", "run"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m pyclrbridge.stress``. Returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m pyclrbridge.stress", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--signals", action="store_true", help="the main thread makes SIGALRM handlers raise during callbacks meanwhile"
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=1e-6,
        help="sys.setswitchinterval during the run on GIL builds (default 1e-6)",
    )
    parser.add_argument(
        "--assembly",
        default=os.environ.get("FIXTURES_DLL"),
        help="an assembly to add_reference concurrently (default: System.ObjectModel)",
    )
    args = parser.parse_args(argv)
    if args.threads < 1 or args.seconds <= 0:
        parser.error("--threads must be >= 1 and --seconds > 0")

    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    runtime = load()
    print(
        f"pyclrbridge stress: {args.threads} threads, {args.seconds:g} s, Python {sys.version.split()[0]} "
        f"({'GIL' if gil else 'free-threaded'}), .NET {runtime.version}",
        flush=True,
    )
    workload = Workload(runtime, fixtures_dll=args.assembly, seed=args.seed)
    print(f"  {workload.fresh_total} never-built types available for fresh lookups", flush=True)
    with contention(args.switch_interval) if gil else contextlib.nullcontext():
        report = run(workload, threads=args.threads, seconds=args.seconds, seed=args.seed, signals=args.signals)
    rate = report.total / report.seconds if report.seconds else 0.0
    print(f"  {report.total} operations in {report.seconds:.1f} s: {rate:,.0f} operations/s")
    for kind, count in sorted(report.operations.items()):
        print(f"    {kind:<14} {count:>9}  ({count / report.seconds:,.0f}/s)")
    after = report.final["after"]
    print(
        f"  end state: live_handles {report.final['before']['live_handles']} -> {after['live_handles']} "
        f"({report.final['cached_enum_handles']} cached enum values), refused_frees {after['refused_frees']}, "
        f"python_objects_held {after['python_objects_held']}, cached_classes {after['cached_classes']}, "
        f"callbacks {after['callbacks']}"
    )
    for thread, kind, text in report.failures:
        print(f"FAILURE in {kind} on {thread}:\n{text}", file=sys.stderr)
    print(f"  {len(report.failures)} failure(s)")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
