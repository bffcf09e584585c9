"""Regression tests, one per known race: each hammers one shared structure from many threads.

Every docstring says what goes wrong without the lock or atomic operation that prevents it.
GIL builds run them under ``contention()`` (``sys.setswitchinterval(1e-6)``) to force
interleavings; calls into .NET release the GIL, so .NET-side races need no help.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyclrbridge
from conftest import assert_clean_exit, run_python
from pyclrbridge import _importer
from pyclrbridge.proxies import catalog as _types
from pyclrbridge.proxies import classes as _classes
from pyclrbridge.testing import contention, run_concurrently

pytestmark = pytest.mark.usefixtures("fixtures")

THREADS = 8


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    with contention():
        yield


def _fresh_type_names(n: int) -> list[str]:
    """``n`` BCL type names whose Python classes were never built in this process."""
    import System.Collections.Specialized
    import System.Text.RegularExpressions  # noqa: F401  (load the assemblies: more types)

    from pyclrbridge.host import typeinfo as _typeinfo

    found: list[str] = []
    for ns, by_short in sorted(_importer.index().types.items()):
        if not ns.startswith("System"):
            continue
        for fulls in by_short.values():
            for full in fulls:
                if "`" in full or "+" in full:
                    continue
                type_id = _typeinfo.id_by_name(full)
                if type_id and type_id not in _types._complete:
                    found.append(full)
                    if len(found) == n:
                        return found
    pytest.skip(f"fewer than {n} never-built types left in this process")


# ---- callback results -------------------------------------------------------------------


def test_callback_string_results_survive_until_dotnet_reads_them() -> None:
    """A string returned by a Python callback is written into the result Value by pointer.

    Without keeping the encoded bytes alive past the callback's return (``keep`` in
    ``values.scalars._str``, held per OS thread by ``_callbacks``), the bytes are freed when the
    callback returns and .NET reads freed memory: other threads' allocations show up as
    garbage strings.
    """
    from Fixtures.Delegates import Invoker

    def work(index: int) -> list[tuple[str, str]]:
        wrong = []
        for k in range(150):
            text = f"t{index}-{k}-" + "x" * (k % 7)
            got = Invoker.Transform(lambda s: s.upper() + "!", text)
            if got != text.upper() + "!":
                wrong.append((text, got))
        return wrong

    assert run_concurrently(work, threads=THREADS, pass_index=True) == [[]] * THREADS


# ---- proxy class cache (two-level, _types._build_lock) ----------------------------------


def test_duplicate_cache_insert_on_type_creation() -> None:
    """Many threads ask for the same never-built types at one barrier.

    Without the build lock and the second cache check under it (check-then-act on
    ``_types._complete``), two threads both miss, both build, and each gets its own class:
    ``isinstance`` across threads breaks and the later insert silently replaces the earlier
    (in C#, ``Dictionary.Add`` would throw ArgumentException).
    """
    names = _fresh_type_names(12)
    builds_before = _types._builds

    def lookup_all(index: int) -> list[int]:
        order = names[index % len(names) :] + names[: index % len(names)]
        return [id(_types.class_by_name(n)) for n in order]

    results = run_concurrently(lookup_all, threads=THREADS, pass_index=True)
    by_name = [
        dict(zip(names[i % len(names) :] + names[: i % len(names)], ids, strict=True)) for i, ids in enumerate(results)
    ]
    for name in names:
        assert len({ids[name] for ids in by_name}) == 1, f"two classes for {name}"
        assert id(_types.class_by_name(name)) == by_name[0][name]
    new_ids = {_types.class_by_name(n).__clr_type_id__ for n in names}
    assert _types._builds - builds_before >= len(new_ids)  # bases may be new too
    assert len({id(c) for c in _types._complete.values()}) == len(_types._complete)


def test_half_built_type_never_seen_by_another_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers poll the class cache while a builder fills a class slowly, member by member.

    Without publishing to ``_complete`` last (after ``_populate``), or if the in-progress
    class were visible outside the lock, a reader would get a class with some members missing
    (an AttributeError for a method that exists). The build is slowed down on purpose (each
    member store sleeps) so the window is wide.
    """
    from pyclrbridge.host import typeinfo as _typeinfo
    from pyclrbridge.stress import expected_members

    names = _fresh_type_names(4)
    ids = [_typeinfo.id_by_name(n) for n in names]
    expected = {tid: expected_members(tid) for tid in ids}
    real_set = _classes._set

    def slow_set(cls: type, name: str, value: Any) -> None:
        real_set(cls, name, value)
        time.sleep(0.0002)

    monkeypatch.setattr(_classes, "_set", slow_set)

    def role(index: int) -> list[str]:
        problems: list[str] = []
        if index == 0:  # the builder
            for tid in ids:
                _types.class_for(tid)
            return problems
        pending = set(ids)
        deadline = time.monotonic() + 30
        while pending and time.monotonic() < deadline:
            for tid in list(pending):
                # Odd threads peek at the lock-free cache, even ones ask for the class.
                cls = _types._complete.get(tid) if index % 2 else _types.class_for(tid)
                if cls is None:
                    continue
                missing = expected[tid] - set(cls.__dict__)
                if missing:
                    problems.append(f"{cls.__clr_name__} without {sorted(missing)[:5]}")
                pending.discard(tid)
        return problems

    assert run_concurrently(role, threads=THREADS, pass_index=True) == [[]] * THREADS


# ---- handles: exactly-once release --------------------------------------------------------


def test_two_threads_releasing_one_handle_free_it_once(clr: Any) -> None:
    """Every thread calls ``pyclrbridge.release`` on the same objects at once.

    Without the atomic claim of the slot (``proxies.release._release_lock``: read ``_h`` and zero it
    in one step), two threads read the same handle and both free it: the second free hits a
    handle that may already belong to another object. The shim would refuse it
    (``refused_frees``), so that counter must stay where it was, and the freed count must grow
    by exactly one per object. (On GIL builds the unlocked window is two bytecodes and rarely
    hit; on free-threaded builds it is hit within a few hundred objects.)
    """
    from System.Text import StringBuilder

    objects = [StringBuilder(str(i)) for i in range(500)]
    before = clr.stats()
    run_concurrently(lambda: [pyclrbridge.release(o) for o in objects], threads=THREADS)
    after = clr.stats()
    assert after["refused_frees"] == before["refused_frees"]
    assert after["handles_freed"] - before["handles_freed"] == len(objects)
    assert all(o._h == 0 for o in objects)


def test_finalizer_and_explicit_release_free_each_handle_once(clr: Any) -> None:
    """Half the objects are released explicitly, all are then dropped on many threads at once.

    The Python finalizer (``ClrObject.__del__``) and ``release`` both free the handle; without
    zeroing ``_h`` when claiming it, the finalizer of a released object would free its handle
    a second time. Live handles must return to the baseline and nothing be refused.
    """
    from System.Collections.Generic import List

    clr.collect()
    before = clr.stats()

    def churn(index: int) -> None:
        made = [List[int]([index, k]) for k in range(100)]
        for k, obj in enumerate(made):
            if k % 2:
                pyclrbridge.release(obj)
        del made, obj

    run_concurrently(churn, threads=THREADS, pass_index=True)
    clr.collect()
    after = clr.stats()
    assert after["refused_frees"] == before["refused_frees"]
    assert after["live_handles"] == before["live_handles"]


def test_shim_refuses_a_second_free_of_one_handle() -> None:
    """The .NET side's own guard: ``Handles.Free`` claims a handle with ``TryRemove``.

    Without it, two frees of one GCHandle value (from threads racing on a copy of the handle)
    would free whatever object the recycled handle points at next; here every later free is
    refused and counted instead. (A fresh process: a freed handle value is reused by the very
    next allocation, which in the test session could belong to another test's object.)
    """
    proc = run_python("""
        import gc, pyclrbridge
        from pyclrbridge.host import bridge as _bridge
        from pyclrbridge.testing import run_concurrently
        clr = pyclrbridge.load()
        from System.Text import StringBuilder
        sb = StringBuilder("x")
        handle = sb._h
        before = clr.stats()
        run_concurrently(lambda: _bridge.shim().FreeHandle(handle), threads=8)
        sb._h = 0  # the proxy no longer owns it
        after = clr.stats()
        print(after["handles_freed"] - before["handles_freed"], after["refused_frees"] - before["refused_frees"])
    """)
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["1", "7"]


# ---- delegate factories (DelegateFactory._emitLock) -------------------------------------


def test_concurrent_delegate_type_compilation(clr: Any) -> None:
    """Threads convert callables to many never-used ``Func`` types at one barrier.

    Without the emit lock and the double-checked factory cache in ``DelegateFactory``, two
    threads compile the same factory at once (expression compilation and Reflection.Emit are
    not thread-safe: corrupted IL or "duplicate type name") and the cache insert races. Here
    every delegate calls back correctly and each delegate type gets exactly one factory.
    """
    import System

    kinds = [int, float, str, bool]
    signatures = [(kinds[i % 4], kinds[(i // 4) % 4], kinds[(i // 16) % 4], str) for i in range(24)]
    samples = {int: 3, float: 1.5, str: "a", bool: False}
    before = clr.stats()["delegate_factories"]

    def convert_all(index: int) -> list[str]:
        out = []
        for sig in signatures[index % 5 :] + signatures[: index % 5]:
            func = System.Func[sig]
            d = func(lambda *args: "|".join(map(repr, args)))
            out.append(d.Invoke(*(samples[t] for t in sig[:-1])))
        return sorted(out)

    results = run_concurrently(convert_all, threads=THREADS, pass_index=True)
    assert all(r == results[0] for r in results)
    assert clr.stats()["delegate_factories"] - before <= len(signatures)


def test_concurrent_derived_type_emission(fixtures: Any) -> None:
    """Threads define Python classes of the same name implementing a .NET interface at once.

    Each Python class emits its own .NET type (``DerivedEmitter.cs``, Reflection.Emit). Without the
    emission lock, concurrent ``TypeBuilder``/``ModuleBuilder`` use corrupts the module or
    throws "Duplicate type name within an assembly" (the counter in the emitted name is read
    and bumped non-atomically). Here every thread gets a working type with a distinct name.
    """
    from Fixtures.Inheritance import Consumers, ICalculator
    from Fixtures.Values import Echo

    def define(index: int) -> tuple[int, str]:
        names = []
        results = 0
        for k in range(5):

            class Twice(ICalculator):
                def Compute(self, x: int, k: int = k) -> int:
                    return 2 * x + k

            obj = Twice()
            results += Consumers.RunCalculator(obj, index) - 2 * index - k
            names.append(Echo.TypeOf(obj))
        return results, "|".join(names)

    outcomes = run_concurrently(define, threads=THREADS, pass_index=True)
    assert [r for r, _ in outcomes] == [0] * THREADS
    emitted = [n for _, names in outcomes for n in names.split("|")]
    assert len(set(emitted)) == len(emitted) == 5 * THREADS


# ---- namespaces (importer index lock, module __dict__.setdefault) ------------------------


def test_concurrent_namespace_attribute_access_adds_each_name_once() -> None:
    """All threads read the same never-read attributes of a namespace module at once.

    Without ``setdefault`` on the module ``__dict__`` (check-then-store), two threads each
    resolve a name and store it: one thread keeps an object the module no longer holds. Here
    every thread sees the identical object and ``dir()`` lists each name once.
    """
    import importlib

    names = _fresh_type_names(30)
    namespace = names[0].rpartition(".")[0]
    shorts = [n.rpartition(".")[2] for n in names if n.rpartition(".")[0] == namespace]
    module = importlib.import_module(namespace)

    def read_all(index: int) -> list[int]:
        return [id(getattr(module, s)) for s in shorts[index % len(shorts) :] + shorts[: index % len(shorts)]]

    results = run_concurrently(read_all, threads=THREADS, pass_index=True)
    for i, ids in enumerate(results):
        rotated = shorts[i % len(shorts) :] + shorts[: i % len(shorts)]
        assert dict(zip(rotated, ids, strict=True)) == {s: id(module.__dict__[s]) for s in shorts}
    listing = dir(module)
    assert len(listing) == len(set(listing))


def test_concurrent_namespace_import_yields_one_module() -> None:
    """Threads import the same never-imported namespace at once: one module object for all.

    Without the import lock (importlib's per-module lock) and the index rebuild lock
    (``_importer._index_lock``), two threads would each create a ``NamespaceModule``.
    """
    import importlib
    import sys

    candidates = sorted(ns for ns in _importer.index().namespaces if ns.startswith("System") and ns not in sys.modules)
    if not candidates:
        pytest.skip("every System namespace is imported already")
    namespace = candidates[0]
    modules = run_concurrently(importlib.import_module, threads=THREADS, args=(namespace,))
    assert all(m is sys.modules[namespace] for m in modules)


# ---- whole-process races: subprocesses -------------------------------------------------


def test_concurrent_runtime_start_gives_one_runtime() -> None:
    """32 threads call ``load()`` at one barrier in a fresh process.

    Without ``_runtime._load_lock`` and publishing ``_runtime`` last, several threads start
    hostfxr (the second ``hostfxr_initialize`` fails or the shim binds twice) or one thread
    gets a half-initialized runtime. Here all get the same object and can call .NET at once.
    """
    proc = run_python("""
        import threading, pyclrbridge
        from pyclrbridge.testing import run_concurrently
        def start():
            clr = pyclrbridge.load()
            from System import Math
            return clr, Math.Abs(-5)
        results = run_concurrently(start, threads=32)
        assert len({id(r[0]) for r in results}) == 1, results
        assert {r[1] for r in results} == {5}
        print("ok")
    """)
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "ok"


def test_callbacks_during_interpreter_shutdown_exit_cleanly(fixtures_dll: Path) -> None:
    """.NET threads keep calling Python while the interpreter exits.

    Without the shutdown protocol (``Callbacks`` counts calls in flight and refuses new ones
    once atexit closed the gate; ``_shutdown`` waits for the count), a .NET thread enters
    Python after finalization began: a hang or a crash ("Fatal Python error"). Here the
    process exits 0 with timers and worker threads still firing.
    """
    proc = run_python(
        """
        import os, threading, pyclrbridge
        clr = pyclrbridge.load()
        clr.add_reference(os.environ["FIXTURES_DLL"])
        from Fixtures.Delegates import Invoker
        calls = [0]
        def tick():
            calls[0] += 1
        timers = [Invoker.Timer(tick, 1) for _ in range(8)]
        def hammer():
            try:
                Invoker.CallOnThreads(tick, 4, 1_000_000)
            except Exception:
                pass  # refused after shutdown: the .NET caller gets an exception
        for _ in range(2):
            threading.Thread(target=hammer, daemon=True).start()
        import time
        while calls[0] < 200:
            time.sleep(0.01)
        print("exiting", flush=True)
    """,
        fixtures_dll=fixtures_dll,
        timeout=60,
    )
    assert_clean_exit(proc)
    assert "exiting" in proc.stdout
