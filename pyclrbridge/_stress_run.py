"""Running the stress workload: worker threads doing random operations until a deadline, then
the end state checked (handles and Python objects back to their baseline, no lock held), all
in a :class:`Report`."""

from __future__ import annotations

import random
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._stress_workload import Workload
from .host.locks import SignalSafeLock
from .proxies import catalog as _catalog
from .proxies import enum_values as _enum_values


@dataclass
class Report:
    """What a stress run did: operations per kind, seconds, failures (thread, operation, text)."""

    seconds: float = 0.0
    operations: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.operations.values())


def run(
    workload: Workload,
    *,
    threads: int,
    seconds: float,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    signals: bool = False,
) -> Report:
    """Run the mixed workload on ``threads`` threads for ``seconds``, then check the end state.
    ``signals``: the main thread meanwhile runs :meth:`Workload.signals`."""
    report = Report()
    # Owner: report_lock guards report.operations and report.failures (many writers).
    report_lock = SignalSafeLock("pyclrbridge._stress_run.report_lock")
    workload.runtime.collect()
    before = workload.runtime.stats()
    enum_values_before = len(_enum_values._enum_values)
    barrier = threading.Barrier(threads + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        counts: Counter[str] = Counter()
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            kind, op = workload.random_operation(rng)
            try:
                op()
                counts[kind] += 1
            except BaseException:
                _ = report_lock.taken
                try:
                    report.failures.append((threading.current_thread().name, kind, traceback.format_exc()))
                finally:
                    report_lock.release()
        _ = report_lock.taken
        try:
            report.operations.update(counts)
        finally:
            report_lock.release()

    workers = [threading.Thread(target=worker, args=(i,), name=f"stress-{i}", daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    start = time.perf_counter()
    deadline[0] = start + seconds
    barrier.wait()
    signal_rounds = 0
    while signals and time.perf_counter() < deadline[0]:  # the main thread: signals in callbacks
        try:
            signal_rounds += workload.signals(5)
        except BaseException:
            report.failures.append(("main", "signal", traceback.format_exc()))
        if not signal_rounds:
            break  # no signals here (not the main thread, or no setitimer)
    if signal_rounds:
        _ = report_lock.taken
        try:
            report.operations["signal"] += signal_rounds
        finally:
            report_lock.release()
    for w in workers:
        w.join(timeout=max(0.0, deadline[0] + STUCK_SECONDS - time.perf_counter()))
    stuck = [w.name for w in workers if w.is_alive()]
    if stuck:  # a lock left held (or a deadlock): report it instead of waiting for ever
        held = [lock.name for lock in _held_locks()]
        report.failures.append(("main", "end state", f"threads {stuck} stuck; locks held: {held or 'none'}"))
        report.seconds = time.perf_counter() - start
        return report
    if _catalog._in_progress:
        report.failures.append(("main", "end state", f"half-built classes left: {sorted(_catalog._in_progress)}"))
    held = [lock.name for lock in _held_locks()]
    if held:
        report.failures.append(("main", "end state", f"locks still held after every thread ended: {held}"))
    report.seconds = time.perf_counter() - start
    workload.runtime.collect()
    workload.runtime.collect()
    after = workload.runtime.stats()
    cached_handles = len(_enum_values._enum_values) - enum_values_before
    report.final = {"before": before, "after": after, "cached_enum_handles": cached_handles}
    if after["refused_frees"] != before["refused_frees"]:
        report.failures.append(
            (
                "main",
                "end state",
                f"{after['refused_frees'] - before['refused_frees']} handle(s) freed twice (refused_frees grew)",
            )
        )
    leaked = after["live_handles"] - before["live_handles"] - cached_handles
    if leaked != 0:
        report.failures.append(
            (
                "main",
                "end state",
                f"live handles off baseline by {leaked} after collect() "
                f"(before {before['live_handles']}, after {after['live_handles']}, "
                f"{cached_handles} held by the enum value cache)",
            )
        )
    if after["python_objects_held"] > before["python_objects_held"]:
        report.failures.append(
            (
                "main",
                "end state",
                "Python objects still held by .NET after collect(): "
                f"{before['python_objects_held']} -> {after['python_objects_held']}",
            )
        )
    if after["callbacks_in_flight"] != 0:
        report.failures.append(("main", "end state", f"{after['callbacks_in_flight']} callbacks still in flight"))
    return report


#: How long after the deadline a worker may still be running before it counts as stuck.
STUCK_SECONDS = 120.0


def _held_locks() -> list[SignalSafeLock]:
    """The package's module-level locks that some thread holds now (probed without blocking)."""
    held: list[SignalSafeLock] = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("pyclrbridge") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, SignalSafeLock) and all(value is not h for h in held):
                if value.acquire(False):  # False: another thread holds it
                    value.release()
                    if value.held_by_me():  # reentrant and held by this thread further up
                        held.append(value)
                else:
                    held.append(value)
    return held
