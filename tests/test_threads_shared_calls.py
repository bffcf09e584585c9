"""Calls made from many threads at once, each on its own objects, through the two mechanisms
that keep them from writing shared state on a free-threaded build: each pooled call frame's own
function objects (``bridge.Frame.call``: bare prototypes, no shared argument or result type) and
the handle table's per-thread blocks of handle numbers with a wide-striped table (``Handles.cs``).

These try to break them: many threads, threads that come and go, a forked child, signals in the
middle of calls. On builds with a GIL the same tests run (the mechanisms are the same there).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python
from pyclrbridge.host import bridge as _bridge

THREADS = 16


def _stats() -> dict[str, Any]:
    return _bridge.stats()


def _mixed_work(n: int, seed: int) -> list[str]:
    """The benchmark's mixed row, checked: every result is what .NET says it is."""
    import System
    from System.Collections.Generic import List
    from System.Text import StringBuilder

    xs = List[System.Int32]()
    seen = []
    for i in range(n):
        sb = StringBuilder()
        sb.Append("item ")
        sb.Append(str(seed * 100_000 + i))
        s = str(sb)
        assert s == f"item {seed * 100_000 + i}", s
        assert System.Math.Abs(-i) == i
        xs.Add(len(s))
        seen.append(s)
    assert xs.Count == n
    assert [xs[j] for j in range(n)] == [len(s) for s in seen]
    return seen


def _run_threads(target: Any, count: int) -> list[BaseException]:
    errors: list[BaseException] = []
    errors_lock = threading.Lock()  # owner: this helper; threads append their failures

    def wrapped(k: int) -> None:
        try:
            target(k)
        except BaseException as exc:  # reported by the test, not lost in the thread
            with errors_lock:
                errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
        assert not t.is_alive(), "a worker thread hung"
    return errors


def test_mixed_calls_on_many_threads_give_every_thread_its_own_results(clr: Any) -> None:
    gc.collect()
    before = _stats()["live_handles"]
    errors = _run_threads(lambda k: _mixed_work(300, k), THREADS)
    assert not errors, errors[:3]
    gc.collect()
    assert _stats()["live_handles"] == before


def test_handles_made_on_many_threads_are_all_distinct(clr: Any) -> None:
    """Each thread draws handle numbers from its own block: blocks must never overlap, so no
    two live objects ever share a handle (a shared number would make one proxy reach the
    other's object)."""
    from System.Text import StringBuilder

    made: dict[int, list[Any]] = {}
    lock = threading.Lock()  # owner: this test; threads publish their objects

    def work(k: int) -> None:
        mine = [StringBuilder(f"{k}:{i}") for i in range(700)]  # more than one block per thread
        with lock:
            made[k] = mine

    assert not _run_threads(work, THREADS)
    handles = [sb._h for objs in made.values() for sb in objs]
    assert len(handles) == THREADS * 700
    assert len(set(handles)) == len(handles)
    assert all(h > 0 for h in handles)
    for k, objs in made.items():  # and each handle still reaches its own object
        assert [str(sb) for sb in objs] == [f"{k}:{i}" for i in range(700)]


def test_threads_that_come_and_go_leak_no_handles_and_no_frames(clr: Any) -> None:
    """Short-lived threads, a few calls each: handles balance (the part of a block a thread
    leaves behind is skipped, never owed), and the frame pool holds no more frames than calls
    that ran at once (frames are not per thread: a thread that ends leaves none behind)."""
    gc.collect()
    before = _stats()
    frames_before = sum(1 for o in gc.get_objects() if type(o) is _bridge.Frame)
    for wave in range(25):
        assert not _run_threads(lambda k, wave=wave: _mixed_work(5, wave * 100 + k), 8)
    gc.collect()
    after = _stats()
    assert after["live_handles"] == before["live_handles"]
    assert after["handles_allocated"] - before["handles_allocated"] == (
        after["handles_freed"] - before["handles_freed"]
    )
    assert after["refused_frees"] == before["refused_frees"]
    frames_after = sum(1 for o in gc.get_objects() if type(o) is _bridge.Frame)
    # at most one frame per call in flight at once: 8 threads (a callback could nest one more)
    assert frames_after <= frames_before + 2 * 8


def test_frame_call_objects_belong_to_their_frame(clr: Any) -> None:
    """No two pooled frames share a function object: a frame's calls take references only to
    objects of their own frame."""
    frames = [_bridge.Frame() for _ in range(4)]
    calls = {id(f.call) for f in frames} | {id(f.call_held) for f in frames}
    assert len(calls) == 8
    for f in frames:
        assert f.call.argtypes is None and f.call_held.argtypes is None


@pytest.mark.skipif(not _bridge.FREE_THREADED, reason="per-thread frame pools exist on free-threaded builds only")
def test_each_thread_calls_through_frames_of_its_own(clr: Any) -> None:
    """On a free-threaded build a thread's calls take frames from its own pool only: no frame
    (with its slots and function objects) is used by two threads, and a thread's pool is not
    another's."""
    from System.Text import StringBuilder

    main_sb = StringBuilder()
    main_sb.Append("m")
    mine = {id(f) for f in _bridge.OWN_FRAMES.free}
    assert mine, "a frame call left no frame in the main thread's pool"
    seen: dict[int, set[int]] = {}
    lock = threading.Lock()  # owner: this test; threads publish the frames their pools hold

    def work(k: int) -> None:
        sb = StringBuilder()
        for _ in range(200):
            sb.Append("x")
        assert _bridge.OWN_FRAMES.free, "a frame call left no frame in this thread's pool"
        with lock:
            seen[k] = {id(f) for f in _bridge.OWN_FRAMES.free}
        assert str(sb) == "x" * 200

    frames_alive: list[Any] = []  # keep every pool's frames alive: ids stay unique while compared

    def keep(k: int) -> None:
        work(k)
        with lock:
            frames_alive.extend(_bridge.OWN_FRAMES.free)

    assert not _run_threads(keep, 8)
    pools = [mine, *seen.values()]
    for i, a in enumerate(pools):
        for b in pools[i + 1 :]:
            assert not a & b, "two threads' pools share a frame"
    assert {id(f) for f in _bridge.OWN_FRAMES.free} == mine  # the workers put nothing here


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")
def test_a_forked_child_uses_no_frame_of_the_parent() -> None:
    """A child forked after calls were made has no pooled frame (their function objects point
    into .NET, which does not exist in the child): every call there says why it cannot run."""
    proc = run_python(
        """
        import os, sys, warnings
        import pyclrbridge
        pyclrbridge.load()
        from System.Text import StringBuilder
        sb = StringBuilder("x")
        for _ in range(10):
            sb.Append("y")
        from pyclrbridge.host import bridge
        assert bridge.pooled_frames()
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (.NET's own)
        pid = os.fork()
        if pid == 0:
            code = 0
            if bridge.pooled_frames():
                code = 3
            try:
                sb.Append("z")
                code = 4
            except RuntimeError as exc:
                if "forked" not in str(exc):
                    code = 5
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
        print(str(sb))
        """,
        timeout=120,
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["child", "0", "x" + "y" * 10]


@pytest.mark.skipif(sys.platform == "win32", reason="setitimer and SIGALRM are POSIX only")
def test_signals_in_the_middle_of_calls_on_many_threads_leak_nothing() -> None:
    """An alarm every millisecond raises in the main thread wherever it is (inside frame calls,
    between a call and its result, while a proxy is made) while worker threads call too: every
    handle is freed, no call gets another's result, nothing crashes."""
    proc = run_python(
        """
        import gc, signal, threading, json
        import pyclrbridge
        pyclrbridge.load()
        import System
        from System.Text import StringBuilder
        from pyclrbridge.host import bridge

        class Alarm(Exception):
            pass

        interrupted = [0]

        def on_alarm(*_):
            interrupted[0] += 1
            raise Alarm

        def work(tag, n):
            for i in range(n):
                sb = StringBuilder()
                sb.Append(tag)
                sb.Append(str(i))
                assert str(sb) == f"{tag}{i}"
                assert System.Math.Abs(-i) == i

        for _ in range(3):
            work("warm", 50)
        gc.collect()
        before = bridge.stats()["live_handles"]
        stop = threading.Event()
        failures = []

        def worker(k):
            try:
                while not stop.is_set():
                    work(f"t{k}-", 20)
            except BaseException as exc:
                failures.append(repr(exc))

        threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(4)]
        for t in threads:
            t.start()
        signal.signal(signal.SIGALRM, on_alarm)
        rounds = [0]

        def main_loop():
            while rounds[0] < 1500:
                try:
                    rounds[0] += 1
                    work("main-", 5)
                except Alarm:
                    pass

        signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
        while True:  # an alarm can land anywhere, also outside the inner try: go on
            try:
                main_loop()
                break
            except Alarm:
                pass
        while True:
            try:
                signal.setitimer(signal.ITIMER_REAL, 0, 0)
                break
            except Alarm:
                pass
        stop.set()
        for t in threads:
            t.join()
        interrupted = interrupted[0]
        gc.collect()
        gc.collect()
        print(json.dumps({"failures": failures, "interrupted": interrupted,
                          "leaked": bridge.stats()["live_handles"] - before}))
        """,
        timeout=240,
    )
    assert_clean_exit(proc)
    import json

    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["failures"] == []
    assert result["interrupted"] > 0, "no alarm interrupted the calls: the test judged nothing"
    assert result["leaked"] == 0
