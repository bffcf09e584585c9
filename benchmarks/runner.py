"""The side-by-side runner: alternate pyclrbridge and pythonnet worker processes, take medians.

Round r runs both libraries, pyclrbridge first on even rounds and pythonnet first on odd
ones, each in a fresh process; startup (fresh process to the first .NET call) is timed the
same way, alternating. The table's ratio is pyclrbridge / pythonnet (lower is better) except
for the thread row, which shows each library's 4-thread / 1-thread throughput.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .ops import OPS

LIBS = ("pyclrbridge", "pythonnet")
ROOT = Path(__file__).resolve().parent.parent

#: Target per group: (ratio limit, "le" for at most / "ge" for at least).
TARGETS: dict[str, tuple[float, str]] = {
    "overloaded": (0.1, "le"),
    "call": (1.0, "le"),
    "get": (2.0, "le"),
    "bulk": (0.5, "le"),
    "callback": (1.0, "le"),
    "startup": (1.0, "le"),
    "threads": (1.7, "ge"),
    "threads mixed": (0.9, "ge"),
}

STARTUP_CODE = {
    "pyclrbridge": "import pyclrbridge; pyclrbridge.load(); from System import Math; Math.Abs(-5)",
    "pythonnet": "import pythonnet; pythonnet.load('coreclr'); import clr; from System import Math; Math.Abs(-5)",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
    return env


def _worker_env() -> dict[str, str]:
    """The workers' environment: tiered compilation without its start-up delay, for both
    engines alike, so the warm-up (worker.WARM_SECONDS) reaches optimized code in either."""
    env = _env()
    env.setdefault("DOTNET_TC_CallCountingDelayMs", "0")
    return env


def run_worker(lib: str, quick: bool, only: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.worker", lib]
    if quick:
        cmd.append("--quick")
    if only:
        cmd += ["--only", only]
    proc = subprocess.run(cmd, cwd=ROOT, env=_worker_env(), capture_output=True, text=True, timeout=900)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"worker exited with {proc.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def time_startup(lib: str) -> float | dict[str, str]:
    start = time.perf_counter_ns()
    proc = subprocess.run(
        [sys.executable, "-c", STARTUP_CODE[lib]], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
    )
    elapsed = time.perf_counter_ns() - start
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": tail[:160]}
    return float(elapsed)


def _median(samples: Sequence[Any]) -> float | str:
    numbers = [s for s in samples if isinstance(s, (int, float))]
    if numbers:
        return statistics.median(numbers)
    errors = [s["error"] for s in samples if isinstance(s, dict) and "error" in s]
    return errors[0] if errors else "not measured"


def collect(rounds: int, quick: bool, only: str, startups: int, log: Any, clock: str = "cpu") -> dict[str, Any]:
    samples: dict[str, dict[str, list[Any]]] = {lib: {} for lib in LIBS}
    for r in range(rounds):
        order = LIBS if r % 2 == 0 else LIBS[::-1]
        for lib in order:
            t0 = time.perf_counter()
            result = run_worker(lib, quick, only)
            log(f"round {r + 1}/{rounds} {lib}: {time.perf_counter() - t0:.1f} s")
            if "error" in result:
                log(f"  {lib} worker failed: {result['error']}")
                samples[lib].setdefault("worker", []).append(result)
                continue
            for name, value in result["ops"].items():
                samples[lib].setdefault(name, []).append(value.get(clock, value) if "error" not in value else value)
            if "threads" in result:
                t = result["threads"]
                samples[lib].setdefault("threads", []).append(t.get("speedup", t))
                samples[lib].setdefault("threads control", []).append(t.get("control", t))
                samples[lib].setdefault("threads mixed", []).append(t.get("mixed", t))
                samples[lib].setdefault("threads reads", []).append(t.get("reads", t))
    if not only:
        for i in range(startups):
            order = LIBS if i % 2 == 0 else LIBS[::-1]
            for lib in order:
                samples[lib].setdefault("startup", []).append(time_startup(lib))
        log(f"startup: {startups} fresh processes each")
    return {lib: {name: _median(values) for name, values in per.items()} for lib, per in samples.items()}


def _fmt_ns(v: float | str) -> str:
    if isinstance(v, str):
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:,.1f} ms"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


#: The thread-scaling rows (4 threads vs 1, a throughput ratio), in table order; those with
#: a TARGETS entry have a target (at least).
_THREAD_ROWS = (
    ("threads", "4 threads vs 1, CPU-bound .NET calls (Thread.SpinWait)"),
    ("threads mixed", "4 threads vs 1, mixed Python + .NET calls"),
    ("threads reads", "4 threads vs 1, property reads, each on its own object (sb.Length)"),
    ("threads control", "control: 4 threads vs 1, hashlib.sha256 (cores this process got)"),
)


def _thread_row(key: str, label: str, a: Any, b: Any) -> tuple[str, str, str, str, str, str, str]:
    fa = f"{a:.2f}x" if isinstance(a, float) else "n/a"
    fb = f"{b:.2f}x" if isinstance(b, float) else "n/a"
    if key not in TARGETS:
        return (label, "throughput", fa, fb, "-", "-", "-")
    limit, _ = TARGETS[key]
    met = ("yes" if a >= limit else "no") if isinstance(a, float) else "?"
    return (label, "throughput", fa, fb, "-", f">= {limit}x", met)


def rows(medians: dict[str, Any]) -> list[tuple[str, str, str, str, str, str, str]]:
    """(operation, unit, pyclrbridge, pythonnet, ratio, target, met) for every measured row."""
    ours, theirs = medians["pyclrbridge"], medians["pythonnet"]
    table = []
    entries = [(op.name, op.unit, op.group, op.target) for op in OPS]
    entries += [("startup (fresh process to first call)", "process", "startup", None)]
    for name, unit, group, own in entries:
        key = "startup" if group == "startup" else name
        if key not in ours and key not in theirs:
            continue
        a, b = ours.get(key, "not measured"), theirs.get(key, "not measured")
        limit = own if own is not None else TARGETS[group][0]
        ratio, met = "n/a", "?"
        if isinstance(a, float) and isinstance(b, float) and b > 0:
            r = a / b
            ratio = f"{r:.2f}" if r >= 0.01 else f"{r:.3f}"
            met = "yes" if r <= limit else "no"
        elif isinstance(a, float):
            met = "yes (pythonnet n/a)"
        table.append(
            (name, f"ns/{unit}" if unit != "process" else "ns", _fmt_ns(a), _fmt_ns(b), ratio, f"<= {limit}", met)
        )
    for key, label in _THREAD_ROWS:
        if key in ours or key in theirs:
            table.append(_thread_row(key, label, ours.get(key, "n/a"), theirs.get(key, "n/a")))
    return table


def errors(medians: dict[str, Any]) -> list[str]:
    notes = []
    for lib in LIBS:
        for name, v in medians[lib].items():
            if isinstance(v, str):
                notes.append(f"{lib} / {name}: {v}")
            elif isinstance(v, dict) and "error" in v:
                notes.append(f"{lib} / {name}: {v['error']}")
    return notes


def _md_escape(cell: str) -> str:
    """Table-safe Markdown: ``|`` splits cells and ``[x](y)`` / ``[x]["k"]`` would become links."""
    return cell.replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


def markdown(table: list[tuple[str, ...]]) -> str:
    header = ("operation", "unit", "pyclrbridge", "pythonnet", "ratio", "target", "met")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in table]
    return "\n".join(lines)
