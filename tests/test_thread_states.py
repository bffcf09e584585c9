"""A .NET thread that calls Python keeps one Python thread state for its life.

The state is created on the thread's first callback, kept between callbacks (so
``threading.local`` data survives from one callback to the next on that thread, and a callback
costs no thread state), and deleted after the thread ended: threads that come and go leave
no states behind.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python
from pyclrbridge.callbacks import threadstates


def python_thread_states() -> int:
    """How many thread states the interpreter has (walked with the C-API; call when quiet)."""
    api = ctypes.pythonapi
    api.PyInterpreterState_Get.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
    api.PyThreadState_Next.restype = ctypes.c_void_p
    api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
    n = 0
    state = api.PyInterpreterState_ThreadHead(api.PyInterpreterState_Get())
    while state:
        n += 1
        state = api.PyThreadState_Next(state)
    return n


@pytest.fixture(scope="module")
def callers(clr: Any, fixtures: Any) -> Any:
    from Fixtures.ThreadCallers import Callers

    return Callers


needs_keeping = pytest.mark.skipif(not threadstates.ENABLED, reason="PYCLRBRIDGE_KEEP_THREAD_STATES=0")


@needs_keeping
def test_threading_local_survives_between_callbacks_on_one_dotnet_thread(clr: Any, callers: Any) -> None:
    """1,000 callbacks on one new .NET thread see the same thread-local counter."""
    from System import Func

    local = threading.local()

    def count(_: int) -> int:
        n: int = getattr(local, "n", 0)
        local.n = n + 1
        return n

    total = callers.CallManyOnNewThread(Func[int, int](count), 1000)
    assert total == sum(range(1000))


@needs_keeping
def test_states_of_threads_that_come_and_go_are_released(clr: Any, callers: Any) -> None:
    """Three rounds of 100 short-lived .NET threads calling Python: the interpreter's thread
    states do not grow from round to round, and the shim deleted the states of ended threads."""
    from System import Func

    f = Func[int, int](lambda x: x)
    clr.collect()
    baseline = python_thread_states()
    released_before = clr.stats()["thread_states_released"]
    counts = []
    for _ in range(3):
        assert callers.ThreadsComeAndGo(f, 100) == 100
        clr.collect()  # deletes the states of the threads that ended
        counts.append(python_thread_states())
    stats = clr.stats()
    assert stats["thread_states_released"] - released_before >= 300
    assert max(counts) <= baseline + 2, (baseline, counts)
    assert stats["thread_states_kept"] <= 5


@needs_keeping
def test_pool_threads_keep_one_state_each_across_many_callbacks(clr: Any, callers: Any) -> None:
    """``Parallel.For`` over 20,000 items calls Python from pool threads: at most one state per
    pool thread is created, not one per callback."""
    from Fixtures.Delegates import Invoker
    from System import Action

    created_before = clr.stats()["thread_states_created"]
    seen: set[int] = set()
    lock = threading.Lock()  # guards seen (callbacks on several .NET threads)

    def body(i: int) -> None:
        with lock:
            seen.add(threading.get_ident())

    Invoker.ParallelFor(Action[int](body), 20_000)
    created = clr.stats()["thread_states_created"] - created_before
    assert created <= len(seen), (created, len(seen))


def test_without_keeping_each_callback_gets_a_fresh_state(fixtures_dll: Path) -> None:
    """``PYCLRBRIDGE_KEEP_THREAD_STATES=0``: the earlier behaviour (a thread-local value set in
    one callback is gone in the next), still correct, nothing kept."""
    code = """
import os, threading
from pyclrbridge import load
clr = load()
clr.add_reference(os.environ["FIXTURES_DLL"])
from Fixtures.ThreadCallers import Callers
from System import Func
local = threading.local()
def count(_):
    n = getattr(local, "n", 0)
    local.n = n + 1
    return n
print("sum", Callers.CallManyOnNewThread(Func[int, int](count), 100), clr.stats()["thread_states_kept"])
"""
    proc = run_python(code, fixtures_dll=fixtures_dll, env={"PYCLRBRIDGE_KEEP_THREAD_STATES": "0"})
    assert_clean_exit(proc)
    assert "sum 0 0" in proc.stdout
