"""``python -m benchmarks [--quick] [--rounds N] [--only TEXT] [--json PATH]``.

Measures pyclrbridge and pythonnet side by side (separate processes, alternating rounds,
medians) and prints one table: operation, pyclrbridge, pythonnet, ratio (lower is better).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from .runner import collect, errors, markdown, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few iterations, one round: a smoke run")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 3, quick 1)")
    parser.add_argument("--startups", type=int, default=None, help="fresh processes per library (default 5)")
    parser.add_argument("--only", default="", help="only operations whose name contains this text (alternatives: a|b)")
    parser.add_argument("--json", default="", help="also write the medians as JSON to this path")
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="per-operation clock: the measuring thread's CPU time (default; steady on a "
        "busy machine) or elapsed wall time",
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    startups = args.startups or (2 if args.quick else 5)

    def log(text: str) -> None:
        print(f"# {text}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    medians = collect(rounds, args.quick, args.only, startups, log, args.clock)
    print(
        f"Python {platform.python_version()} ({sys.implementation.name}), {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {rounds} round(s){' (quick)' if args.quick else ''}, medians of "
        f"{'thread CPU' if args.clock == 'cpu' else 'wall'} time per operation (startup and threads: wall); "
        "ratio = pyclrbridge / pythonnet\n"
    )
    print(markdown(rows(medians)))
    notes = errors(medians)
    if notes:
        print("\nnot available:")
        for note in notes:
            print(f"- {note}")
    log(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(medians, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
