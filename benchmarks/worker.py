"""One measuring process: ``python -m benchmarks.worker LIB [--quick] [--only TEXT]``.

Loads one library (pyclrbridge or pythonnet), times every operation once and prints one JSON
object on the last line of stdout: ``{"ops": {name: ns_per_unit | {"error": text}},
"threads": {...}}``. The runner starts these processes alternately and takes medians.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import sys
import threading
import time
from typing import Any

from .ops import OPS, SPIN, Lib


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


#: Seconds each per-call operation runs before it is timed. Both engines compile .NET code in
#: tiers: a method starts unoptimized and is recompiled optimized only after it has been called
#: often enough and a background delay has passed (pythonnet's reflection-based calls and our
#: generated stubs alike). A fixed count of warm-up iterations lets a fast library finish its
#: warm-up before the slow one's code has tiered up; a fixed time gives both the same chance.
WARM_SECONDS = 0.5


def warm_up(run: Any, seconds: float) -> None:
    """Run ``run`` in growing batches until ``seconds`` of wall time have passed."""
    deadline = time.perf_counter() + seconds
    batch = 10
    while time.perf_counter() < deadline:
        run(batch)
        batch = min(batch * 2, 20_000)


def measure_op(lib: Lib, op: Any, quick: bool) -> dict[str, Any]:
    """ns per unit by two clocks: ``cpu`` (this thread's CPU time: what the work costs, even on
    a busy machine) and ``wall`` (elapsed time, which also counts waiting for a core)."""
    try:
        run = op.make(lib)
        n = op.quick if quick else op.full
        if op.items == 1:
            warm_up(run, WARM_SECONDS / 10 if quick else WARM_SECONDS)
        # Bulk operations are long enough to amortize their own warm-up.
        gc.collect()
        gc.disable()
        try:
            start, cpu_start = time.perf_counter_ns(), time.thread_time_ns()
            run(n)
            cpu = time.thread_time_ns() - cpu_start
            wall = time.perf_counter_ns() - start
        finally:
            gc.enable()
        if op.wall:  # the work runs on other threads: this thread's CPU time says nothing
            cpu = wall
        return {"cpu": cpu / (n * op.items), "wall": wall / (n * op.items)}
    except Exception as exc:  # an unsupported operation is a table cell, not a crash
        return {"error": _error_text(exc)}


def _speedup(work: Any) -> float:
    """4-thread throughput over 1-thread throughput of ``work`` (each thread runs it once)."""
    start = time.perf_counter()
    work()
    one = time.perf_counter() - start
    threads = [threading.Thread(target=work) for _ in range(4)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 4 * one / (time.perf_counter() - start)


def _mixed(lib: Lib, quick: bool) -> Any:
    """Python work mixed with short .NET calls: a StringBuilder built and read, Math.Abs, a
    little string work, List.Add. Ideal on a GIL build is 1.0x (the Python part is serial);
    much less means the threads hand the GIL over at every call (a convoy)."""
    StringBuilder, Math, List = lib.StringBuilder, lib.Math, lib.List
    n = 500 if quick else 3000

    def work() -> None:
        xs = List[lib.int_t]()
        for i in range(n):
            sb = StringBuilder()
            sb.Append("item ")
            sb.Append(str(i))
            s = str(sb)
            k = Math.Abs(-i)
            xs.Add(len(s.upper().replace("ITEM", "x") + str(k)))

    work()
    return work


def _own_reads(lib: Lib, quick: bool) -> Any:
    """Property reads, each thread on its own StringBuilder (on pyclrbridge a native member):
    the objects are not shared, only the member is. With a GIL the ideal is 1.0x; on a
    free-threaded build it is the core count, and much less means the threads write a shared
    reference count at every read."""
    StringBuilder = lib.StringBuilder
    n = 50_000 if quick else 1_000_000  # about 0.1 s per thread: long against starting threads

    def work() -> None:
        sb = StringBuilder("abc")
        for _ in range(n):
            sb.Length

    work()
    return work


def measure_threads(lib: Lib, quick: bool) -> dict[str, Any]:
    """Throughput of CPU-bound .NET calls (Thread.SpinWait) on 4 threads relative to 1, and the
    same for a control that surely runs in parallel (hashlib releases the GIL on big inputs):
    the control shows how many cores the machine actually gave this process."""
    try:
        spin = lib.Thread.SpinWait
        calls = 20 if quick else 60
        spin(SPIN)

        def work() -> None:
            for _ in range(calls):
                spin(SPIN)

        data = b"x" * (8 << 20)

        def control() -> None:
            for _ in range(calls // 10):
                hashlib.sha256(data).digest()

        return {
            "speedup": _speedup(work),
            "control": _speedup(control),
            "mixed": _speedup(_mixed(lib, quick)),
            "reads": _speedup(_own_reads(lib, quick)),
        }
    except Exception as exc:
        return {"error": _error_text(exc)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("lib", choices=["pyclrbridge", "pythonnet"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="", help="only operations whose name contains this (alternatives: a|b)")
    parser.add_argument("--no-threads", action="store_true")
    args = parser.parse_args(argv)
    lib = Lib(args.lib)
    ops: dict[str, Any] = {}
    for op in OPS:
        if args.only and not any(part.lower() in op.name.lower() for part in args.only.split("|")):
            continue
        ops[op.name] = measure_op(lib, op, args.quick)
    result: dict[str, Any] = {"ops": ops}
    if not args.no_threads and not args.only:
        result["threads"] = measure_threads(lib, args.quick)
    sys.stdout.flush()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
