"""Floors of the bulk rows: ``python -m benchmarks.floors [--runs 5] [--only TEXT] [--libs pyclrbridge,pythonnet]``.

Each run is a fresh process that times one bulk operation exactly as ``benchmarks/worker.py``
does (GC paused, thread CPU time, one pass) and, in the same process, its floor: the plain
Python work no bridge can skip (making the Python numbers, or packing the list into new
memory). Which of the two runs first alternates between runs; the table shows medians.
"""

from __future__ import annotations

import argparse
import array
import gc
import itertools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from .ops import OPS, Lib
from .runner import ROOT, _env

_MILLION = 10**6


def _timed(fn: Callable[[int], Any], n: int, items: int) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.thread_time_ns()
        fn(n)
        return (time.thread_time_ns() - start) / items
    finally:
        gc.enable()


def floor_for(name: str) -> tuple[Callable[[int], Any], int, int]:
    """The floor of a bulk row: (fn, n, items), timed like the row."""
    if "[] -> list" in name:
        src = (
            array.array("i", range(_MILLION))
            if name.startswith("int")
            else array.array("d", [i * 0.5 for i in range(_MILLION)])
        )

        def to_list(n: int) -> None:
            for _ in range(n):
                out = src.tolist()  # new Python numbers in a pre-sized list
            assert len(out) == _MILLION

        return to_list, 1, _MILLION
    if name.startswith("list -> "):
        code = "i" if "int[]" in name else "d"
        items: list[Any] = list(range(_MILLION)) if code == "i" else [i * 0.5 for i in range(_MILLION)]

        def pack(n: int) -> None:
            for _ in range(n):
                out = array.array(code, items)  # the list packed into new memory, one pass
            assert len(out) == _MILLION

        return pack, 1, _MILLION
    if name.startswith("iterate List[int]"):
        op = next(o for o in OPS if o.name == name)
        count = op.items
        blocks = [array.array("q", range(s, min(s + 16384, count))) for s in range(0, count, 16384)]

        def walk(n: int) -> None:
            for _ in range(n):
                for _x in itertools.chain.from_iterable(b.tolist() for b in blocks):
                    pass

        return walk, op.full, count * op.full
    raise KeyError(f"no floor for {name!r}")


def _one(lib_name: str, name: str, floor_first: bool) -> dict[str, float]:
    lib = Lib(lib_name)
    op = next(o for o in OPS if o.name == name)
    out: dict[str, float] = {}

    def ours() -> None:
        out["op"] = _timed(op.make(lib), op.full, op.full * op.items)

    def floor() -> None:
        out["floor"] = _timed(*floor_for(name))

    for step in (floor, ours) if floor_first else (ours, floor):
        step()
    return out


NAMES = [
    o.name
    for o in OPS
    if o.name.startswith(
        ("iterate List[int]", "int[] -> list", "double[] -> list", "list -> int[]", "list -> double[]")
    )
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floors", description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="")
    parser.add_argument("--libs", default="pyclrbridge,pythonnet")
    parser.add_argument("--child", nargs=3, metavar=("LIB", "NAME", "FLOOR_FIRST"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        lib_name, name, floor_first = args.child
        print(json.dumps(_one(lib_name, name, floor_first == "1")))
        return 0
    libs = args.libs.split(",")
    print("| operation | floor ns/item | " + " | ".join(f"{lib} ns/item" for lib in libs) + " |")
    print("|---|---|" + "---|" * len(libs))
    for name in NAMES:
        if args.only and args.only.lower() not in name.lower():
            continue
        samples: dict[str, list[float]] = {}
        for r in range(args.runs):
            for lib_name in libs:
                cmd = [sys.executable, "-m", "benchmarks.floors", "--child", lib_name, name, str(r % 2)]
                proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
                lines = proc.stdout.strip().splitlines()
                if proc.returncode != 0 or not lines:
                    continue
                result = json.loads(lines[-1])
                samples.setdefault("floor", []).append(result["floor"])
                samples.setdefault(lib_name, []).append(result["op"])
        cells = [f"{statistics.median(samples[k]):.1f}" if samples.get(k) else "n/a" for k in ("floor", *libs)]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
