"""Bulk data between Python and .NET: pyclrbridge vs pythonnet vs a plain memmove.

    python benchmarks/bench_buffers.py [--repeat 5] [--mb 100] [--doubles 10000000]

Each case runs in its own subprocess (one CoreCLR per process; pythonnet and pyclrbridge
must not share one). Times are the best of ``--repeat`` runs, in milliseconds, with the
throughput in GB/s. Cases:

- ``byte[] -> bytes``: a 100 MB .NET byte[] to a Python ``bytes``;
- ``bytes -> byte[]``: the reverse (a new .NET array);
- ``double[] -> array('d')``: 10^7 doubles to a Python ``array.array('d')``;
- ``array('d') -> double[]``: the reverse.

``memmove`` is the floor: ``ctypes.memmove`` of the same number of bytes between two buffers
that already exist (no allocation), and ``copy`` is what a Python-only copy costs
(``bytes(bytearray)`` / ``array.array`` copy: one allocation plus one memmove).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def best(fn: Callable[[], Any], repeat: int) -> float:
    """Best of ``repeat`` runs (one run when it takes over 2 s: per-element paths)."""
    times: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if times[-1] > 2:
            break
    return min(times)


# The cases both bridges time, each with the memmove case it is measured against: new objects
# against "allocate + copy" in pure Python (the floor for any call that returns a fresh object),
# copies into existing memory against a plain memmove.
ROWS = [
    ("byte[] -> bytes", "alloc+copy bytes"),
    ("bytes -> byte[]", "alloc+copy bytes"),
    ("double[] -> array('d')", "alloc+copy doubles"),
    ("array('d') -> double[]", "alloc+copy doubles"),
    ("byte[] -> bytearray (into)", "bytes"),
    ("bytes -> byte[] (into)", "bytes"),
    ("double[] -> array (into)", "doubles"),
    ("array -> double[] (into)", "doubles"),
]


def time_rows(repeat: int, *fns: Callable[[], Any]) -> dict[str, float]:
    """The best time of each bridge case, ``fns`` given in the order of ``ROWS``."""
    return {case: best(fn, repeat) for (case, _), fn in zip(ROWS, fns, strict=True)}


def case_pyclrbridge(mb: int, doubles: int, repeat: int) -> dict[str, float]:
    import array

    sys.path.insert(0, str(ROOT))
    import pyclrbridge

    pyclrbridge.load()
    from System import Array, Byte, Double

    n = mb * 1_000_000
    source = bytes(range(256)) * (n // 256) + bytes(n % 256)
    net_bytes = Array[Byte](source)
    src_doubles = array.array("d", range(doubles))
    net_doubles = Array[Double](src_doubles)

    def doubles_out() -> array.array[float]:
        out = array.array("d")
        with pyclrbridge.buffer(net_doubles) as view:
            out.frombytes(view.cast("B"))
        return out

    dest_bytes = bytearray(n)
    dest_doubles = array.array("d", bytes(doubles * 8))

    def bytes_into() -> None:
        with pyclrbridge.buffer(net_bytes) as view:
            memoryview(dest_bytes)[:] = view

    def bytes_back_into() -> None:
        with pyclrbridge.buffer(net_bytes) as view:
            view[:] = source

    def doubles_into() -> None:
        with pyclrbridge.buffer(net_doubles) as view:
            memoryview(dest_doubles)[:] = view

    def doubles_back_into() -> None:
        with pyclrbridge.buffer(net_doubles) as view:
            view[:] = memoryview(src_doubles)

    assert bytes(net_bytes) == source and doubles_out() == src_doubles
    return time_rows(
        repeat,
        lambda: bytes(net_bytes),
        lambda: Array[Byte](source),
        doubles_out,
        lambda: Array[Double](src_doubles),
        bytes_into,
        bytes_back_into,
        doubles_into,
        doubles_back_into,
    )


def case_pythonnet(mb: int, doubles: int, repeat: int) -> dict[str, float]:
    import array

    import pythonnet

    pythonnet.load("coreclr")
    import clr  # noqa: F401  (pythonnet's module: makes System importable)
    from System import Array, Byte, Double  # type: ignore[import-not-found]

    n = mb * 1_000_000
    source = bytes(range(256)) * (n // 256) + bytes(n % 256)
    net_bytes = Array[Byte](source)
    src_doubles = array.array("d", range(doubles))
    net_doubles = Array[Double](src_doubles)

    def doubles_out() -> array.array[float]:
        out = array.array("d")
        out.frombytes(memoryview(net_doubles).cast("B"))
        return out

    dest_bytes = bytearray(n)
    dest_doubles = array.array("d", bytes(doubles * 8))

    def bytes_into() -> None:
        memoryview(dest_bytes)[:] = memoryview(net_bytes)

    def bytes_back_into() -> None:
        memoryview(net_bytes)[:] = source

    def doubles_into() -> None:
        memoryview(dest_doubles)[:] = memoryview(net_doubles)

    def doubles_back_into() -> None:
        memoryview(net_doubles)[:] = memoryview(src_doubles)

    assert bytes(memoryview(net_bytes)) == source and doubles_out() == src_doubles
    return time_rows(
        repeat,
        lambda: bytes(memoryview(net_bytes)),
        lambda: Array[Byte](source),
        doubles_out,
        lambda: Array[Double](src_doubles),
        bytes_into,
        bytes_back_into,
        doubles_into,
        doubles_back_into,
    )


def case_memmove(mb: int, doubles: int, repeat: int) -> dict[str, float]:
    import array
    import ctypes

    n = mb * 1_000_000
    a = bytearray(n)
    b = bytearray(n)
    da = (ctypes.c_char * (doubles * 8)).from_buffer(bytearray(doubles * 8))
    db = (ctypes.c_char * (doubles * 8)).from_buffer(bytearray(doubles * 8))
    ca = (ctypes.c_char * n).from_buffer(a)
    cb = (ctypes.c_char * n).from_buffer(b)
    src_doubles = array.array("d", range(doubles))
    return {
        "bytes": best(lambda: ctypes.memmove(cb, ca, n), repeat),
        "doubles": best(lambda: ctypes.memmove(db, da, doubles * 8), repeat),
        "alloc+copy bytes": best(lambda: bytes(a), repeat),
        "alloc+copy doubles": best(lambda: array.array("d", src_doubles), repeat),
    }


CASES = {"pyclrbridge": case_pyclrbridge, "pythonnet": case_pythonnet, "memmove": case_memmove}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--doubles", type=int, default=10_000_000)
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(CASES[args.case](args.mb, args.doubles, args.repeat)))
        return
    results: dict[str, dict[str, float]] = {}
    for name in CASES:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--case",
                name,
                "--repeat",
                str(args.repeat),
                "--mb",
                str(args.mb),
                "--doubles",
                str(args.doubles),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(f"{name}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    floor = results.get("memmove", {})
    print(f"{'case':<28} {'baseline':<19} {'ms':>8} {'pyclrbridge ms':>15} {'x':>6} {'pythonnet ms':>13} {'x':>7}")
    for case, base_name in ROWS:
        base = floor.get(base_name)
        line = f"{case:<28} {base_name:<19} " + (f"{base * 1e3:>8.1f}" if base else f"{'-':>8}")
        for impl, width in (("pyclrbridge", 15), ("pythonnet", 13)):
            t = results.get(impl, {}).get(case)
            line += f" {t * 1e3:>{width}.1f}" if t else f" {'-':>{width}}"
            line += f" {t / base:>6.2f}" if t and base else f" {'-':>6}"
        print(line)


if __name__ == "__main__":
    main()
