"""The linearizability checker's throughput: histories checked per second.

    python benchmarks/bench_linearizability.py [--seconds 10]

One row: 3 threads x 4 operations on a ``ConcurrentQueue<int>`` (enqueue / try-dequeue against a
``deque`` model), which is linearizable, so every scenario runs all of its runs and every
history is searched to the end. A history is one run of a scenario (threads started at one
barrier, every call timed) plus the search for a linearization; the figure is
``histories_checked / elapsed`` over one ``check_linearizable`` call bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys

import pyclrbridge
from pyclrbridge.testing import Op, check_linearizable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="time budget of the check")
    parser.add_argument("--json", action="store_true", help="print the row as JSON")
    args = parser.parse_args(argv)
    try:
        from hypothesis import strategies as st
    except ImportError:
        print("bench_linearizability needs hypothesis", file=sys.stderr)
        return 2
    pyclrbridge.load()
    from System.Collections.Concurrent import ConcurrentQueue

    ops = [
        Op("enqueue", lambda q, x: q.Enqueue(x), lambda m, x: m.append(x), st.integers(0, 9)),
        Op("try_dequeue", lambda q: q.TryDequeue(), lambda m: (True, m.popleft()) if m else (False, 0)),
    ]
    report = check_linearizable(
        create=lambda: ConcurrentQueue[int](),
        model=collections.deque,
        ops=ops,
        threads=3,
        ops_per_thread=4,
        examples=1_000_000,
        time_budget=args.seconds,
    )
    rate = report.histories_checked / report.elapsed
    row = {
        "operation": "linearizability: histories checked/s (3 threads x 4 ops, ConcurrentQueue)",
        "histories": report.histories_checked,
        "seconds": round(report.elapsed, 2),
        "per_second": round(rate, 1),
        "linearizable": report.linearizable,
    }
    if args.json:
        print(json.dumps(row))
    else:
        print(f"| {row['operation']} | {row['per_second']} /s | {row['histories']} in {row['seconds']} s |")
    return 0 if report.linearizable else 1


if __name__ == "__main__":
    sys.exit(main())
