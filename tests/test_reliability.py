"""Reliability: release racing with use, release of what is not a proxy, conversions of
containers that change while converted, and clear errors where .NET cannot be reached."""

from __future__ import annotations

import itertools
import sys
import threading
from typing import Any

import pytest

import pyclrbridge
from conftest import assert_clean_exit, run_python

# --- release racing with use (handles are never reused) ------------------------------------


def test_a_call_that_read_the_handle_before_release_never_reaches_a_newer_object(fixtures: Any) -> None:
    from Fixtures.Reliability import Bag

    fresh: list[Any] = []
    for _ in range(20):
        bag = Bag()

        def items(bag: Any = bag) -> Any:
            # Converted for bag.AddAll after the call read bag's handle: release it and make
            # new objects, as another thread could at that moment.
            pyclrbridge.release(bag)
            fresh.extend(Bag() for _ in range(50))
            yield "item"

        with pytest.raises(ValueError, match="released"):
            bag.AddAll(items())
    assert [f.Count for f in fresh if f.Count] == []


def test_release_racing_with_calls_on_another_thread_changes_no_other_object(clr: Any) -> None:
    from System.Text import StringBuilder

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: widen the race
    try:
        changed = 0
        for _ in range(100):
            obj = StringBuilder()
            started = threading.Event()

            def use(obj: Any = obj, started: threading.Event = started) -> None:
                started.set()
                for _ in range(200):
                    try:
                        obj.Append("x")
                    except ValueError:
                        return  # released: the expected outcome

            thread = threading.Thread(target=use)
            thread.start()
            started.wait()
            pyclrbridge.release(obj)
            fresh = [StringBuilder() for _ in range(50)]
            thread.join()
            changed += sum(1 for f in fresh if f.Length)
    finally:
        sys.setswitchinterval(interval)
    assert changed == 0


# --- release() of what is not a proxy --------------------------------------------------------


@pytest.mark.parametrize("value", [5, None, "text", object()], ids=["int", "None", "str", "object"])
def test_release_of_a_python_value_raises_type_error(clr: Any, value: Any) -> None:
    with pytest.raises(TypeError, match=r"release\(\) takes a \.NET object proxy"):
        pyclrbridge.release(value)


def test_release_of_a_class_raises_type_error_and_leaves_the_class_working(clr: Any) -> None:
    from System.Text import StringBuilder

    with pytest.raises(TypeError, match="not the class StringBuilder"):
        pyclrbridge.release(StringBuilder)
    assert str(StringBuilder("still works")) == "still works"


def test_release_of_an_enum_value_raises_type_error_and_leaves_it_usable(clr: Any) -> None:
    from System import DateTime, DayOfWeek

    with pytest.raises(TypeError, match="enum values are shared"):
        pyclrbridge.release(DayOfWeek.Monday)
    assert DateTime(2024, 1, 1).DayOfWeek == DayOfWeek.Monday


# --- containers whose size changes while they are converted ---------------------------------


class _LyingList(list):  # type: ignore[type-arg]
    """A list whose len() says more than iterating it gives."""

    def __len__(self) -> int:
        return super().__len__() + 3


class _OverflowingList(list):  # type: ignore[type-arg]
    """A list whose iteration gives more items than len() said."""

    def __iter__(self) -> Any:
        yield from super().__iter__()
        yield "extra"


def test_a_list_that_gives_fewer_items_than_its_len_is_refused(fixtures: Any) -> None:
    from Fixtures.Reliability import Containers

    with pytest.raises(RuntimeError, match=r"_LyingList changed size .* len\(\) said 5, iterating it gave 2"):
        Containers.Join(_LyingList(["a", "b"]))


def test_a_list_that_gives_more_items_than_its_len_is_refused(fixtures: Any) -> None:
    from Fixtures.Reliability import Containers

    with pytest.raises(RuntimeError, match=r"len\(\) said 2, iterating it gave more than 2"):
        Containers.Join(_OverflowingList(["a", "b"]))


def test_a_mapping_whose_len_grows_while_converted_passes_the_pairs_it_was_sized_for(fixtures_dll: Any) -> None:
    # Before: .NET read pairs past the converted ones (garbage kinds, or an access violation).
    proc = run_python(
        """
        import os
        from collections.abc import Mapping
        import pyclrbridge
        clr = pyclrbridge.load()
        clr.add_reference(os.environ["FIXTURES_DLL"])
        from Fixtures.Reliability import Containers

        class Growing(Mapping):
            def __init__(self):
                self.calls = 0
            def __len__(self):
                self.calls += 1
                return 2 if self.calls == 1 else 2000
            def __iter__(self):
                return iter(["a", "b"])
            def __getitem__(self, key):
                return 1

        print("sized:", Containers.Pairs(Growing()))
        """,
        fixtures_dll=fixtures_dll,
    )
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "sized: a=1,b=1"


# --- os.fork() after load() ----------------------------------------------------------------


def test_every_dotnet_use_in_a_forked_child_raises_an_error_naming_spawn() -> None:
    # Before: the child hung (or segfaulted) on its first allocation, and again at exit.
    proc = run_python(
        """
        import multiprocessing
        import pyclrbridge
        clr = pyclrbridge.load()
        from System import Math
        from System.Text import StringBuilder
        sb = StringBuilder("a")
        Math.Abs(-5)

        def child(queue):
            uses = {"direct call": lambda: Math.Abs(-5), "constructor": StringBuilder,
                    "method": lambda: sb.Append("x"), "collect": clr.collect, "load": pyclrbridge.load}
            outcome = {}
            for name, use in uses.items():
                try:
                    use()
                    outcome[name] = "ran"
                except RuntimeError as e:
                    outcome[name] = "spawn" if "'spawn' start method" in str(e) else str(e)
            queue.put(outcome)

        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        worker = ctx.Process(target=child, args=(queue,))
        worker.start()
        print(sorted(queue.get(timeout=60).items()))
        worker.join(60)
        print("child exit", worker.exitcode)
        print("parent still works", Math.Abs(-7), str(sb))
        """,
        timeout=90,
    )
    assert_clean_exit(proc)
    lines = proc.stdout.splitlines()
    uses = ("collect", "constructor", "direct call", "load", "method")
    assert lines[0] == repr([(name, "spawn") for name in uses])
    assert lines[1:] == ["child exit 0", "parent still works 7 a"]


# --- exceptions escaping callbacks at the top of a .NET thread --------------------------------

_THREAD_TOPS = """
import sys, threading, time, traceback
import pyclrbridge
clr = pyclrbridge.load(**({"thread_exceptions": sys.argv[1]} if len(sys.argv) > 1 else {}))
from System.Threading import Thread, ThreadStart, ThreadPool, WaitCallback, Timer, TimerCallback

seen = []
done = threading.Semaphore(0)
def hook(args):
    frames = [f.name for f in traceback.extract_tb(args.exc_traceback)]
    seen.append(f"{args.exc_type.__name__}: {args.exc_value} from {frames[-1]}")
    done.release()
threading.excepthook = hook

def failing_callback(*_):
    raise ValueError("raised in a .NET thread")

thread = Thread(ThreadStart(failing_callback))
thread.Start()
thread.Join()
ThreadPool.QueueUserWorkItem(WaitCallback(failing_callback))
timer = Timer(TimerCallback(failing_callback), None, 0, -1)
for _ in range(3):
    assert done.acquire(timeout=30)
print("\\n".join(seen))
print("still alive")
"""


def test_exceptions_escaping_thread_thread_pool_and_timer_callbacks_reach_threading_excepthook() -> None:
    # Before: the first one ended the process (an unhandled .NET exception).
    proc = run_python(_THREAD_TOPS, timeout=90)
    assert_clean_exit(proc)
    assert proc.stdout.splitlines() == ["ValueError: raised in a .NET thread from failing_callback"] * 3 + [
        "still alive"
    ]


def test_thread_exceptions_fail_fast_lets_dotnet_end_the_process() -> None:
    proc = run_python(
        _THREAD_TOPS.replace("import sys,", "import sys; sys.argv.append('fail-fast'); import"), timeout=90
    )
    assert proc.returncode != 0
    assert "still alive" not in proc.stdout
    assert "raised in a .NET thread" in proc.stderr


def test_a_thread_start_delegate_called_directly_still_raises_to_its_caller(clr: Any) -> None:
    from System.Threading import ThreadStart

    def failing() -> None:
        raise ValueError("to the caller")

    with pytest.raises(ValueError, match="to the caller"):
        ThreadStart(failing)()


def test_thread_exceptions_refuses_an_unknown_mode(clr: Any) -> None:
    with pytest.raises(ValueError, match="thread_exceptions must be one of 'excepthook', 'fail-fast'"):
        pyclrbridge.load(thread_exceptions="ignore")


# --- Python iterables for IEnumerable<T> parameters go lazily ---------------------------------


def _counting(limit: int) -> Any:
    """itertools.count() that refuses to give more than ``limit`` items."""
    pulled = []

    def items() -> Any:
        for i in itertools.count():
            if i == limit:
                raise AssertionError(f"pulled more than {limit} items")
            pulled.append(i)
            yield i

    return items(), pulled


def test_enumerable_take_of_an_infinite_iterator_pulls_only_what_it_needs(clr: Any) -> None:
    from System import Int32
    from System.Linq import Enumerable

    assert list(Enumerable.Take[Int32](itertools.count(), 5)) == [0, 1, 2, 3, 4]
    source, pulled = _counting(1000)
    assert list(Enumerable.Take[Int32](source, 3)) == [0, 1, 2]
    assert pulled == [0, 1, 2]


def test_an_ienumerable_parameter_reads_items_as_the_method_asks_for_them(fixtures: Any) -> None:
    from Fixtures.Reliability import Containers

    source, pulled = _counting(1000)
    assert Containers.SumFirst(source, 4) == 0 + 1 + 2 + 3
    assert pulled == [0, 1, 2, 3]


def test_a_reiterable_python_object_gives_every_dotnet_pass_all_items(clr: Any) -> None:
    import collections

    from System import Int32
    from System.Linq import Enumerable

    items = Enumerable.Select[Int32, Int32](collections.deque([1, 2, 3]), lambda x: x * 10)
    assert list(items) == [10, 20, 30]
    assert list(items) == [10, 20, 30]  # a second enumeration asks Python for a new iterator


def test_an_exception_raised_by_the_iterator_reaches_the_caller(fixtures: Any) -> None:
    from Fixtures.Reliability import Containers

    def failing() -> Any:
        yield 1
        raise KeyError("from the iterator")

    with pytest.raises(KeyError, match="from the iterator"):
        Containers.Count(failing())


def test_a_lazy_item_of_the_wrong_type_names_its_index(fixtures: Any) -> None:
    from Fixtures.Reliability import Containers

    with pytest.raises(TypeError, match=r"item 1: a str cannot be passed as System\.Int32"):
        Containers.Count(iter([1, "two"]))


def test_an_eager_copy_of_an_endless_iterator_stops_at_the_limit_with_a_clear_error(
    fixtures: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from Fixtures.Reliability import Containers

    from pyclrbridge.values import iterables

    monkeypatch.setattr(iterables, "EAGER_LIMIT", 1000)
    with pytest.raises(ValueError, match=r"gave more than 1,000 items for a parameter that needs all of them"):
        Containers.Join(map(str, itertools.count()))  # a string[] parameter: every item is needed first


# --- clearer errors -------------------------------------------------------------------------


def test_setting_a_property_on_a_released_proxy_raises_value_error(clr: Any) -> None:
    from System.Text import StringBuilder

    sb = StringBuilder()
    pyclrbridge.release(sb)
    with pytest.raises(ValueError, match=r"StringBuilder\.Capacity: the \.NET object was released"):
        sb.Capacity = 64


@pytest.mark.parametrize("use", ["static call", "property", "str", "indexer"])
def test_recursing_into_dotnet_at_the_recursion_limit_raises_recursion_error(clr: Any, use: str) -> None:
    from System import Int32, Math
    from System.Collections.Generic import List
    from System.Text import StringBuilder

    xs = List[Int32]([1])
    sb = StringBuilder("x")
    op = {
        "static call": lambda: Math.Abs(-5),
        "property": lambda: xs.Count,
        "str": lambda: str(sb),
        "indexer": lambda: xs[0],
    }[use]

    def recurse() -> None:
        op()
        recurse()

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)
    try:
        with pytest.raises(RecursionError):  # before: ctypes.ArgumentError "RecursionError: ???"
            recurse()
    finally:
        sys.setrecursionlimit(limit)


def test_a_finalizer_importing_a_namespace_at_interpreter_exit_gets_a_clear_error() -> None:
    proc = run_python(
        """
        import pyclrbridge
        pyclrbridge.load()
        import System

        class Holder:
            def __init__(self):
                self.me = self  # a cycle: collected in the last steps of interpreter exit
            def __del__(self):
                try:
                    System.Collections.Generic
                except Exception as e:
                    print(type(e).__name__, e)

        Holder()
        """
    )
    assert_clean_exit(proc)
    assert proc.stdout.strip() == (
        "HostError System.Collections cannot be imported: pyclrbridge has shut down (interpreter exit)"
    )


def test_ctrl_c_during_the_exit_wait_for_callbacks_exits_without_a_traceback() -> None:
    proc = run_python(
        """
        import os, signal, threading, time
        import pyclrbridge
        pyclrbridge.load()
        from System.Threading import Thread, ThreadStart

        Thread(ThreadStart(lambda: time.sleep(2))).Start()  # a callback in flight at exit
        time.sleep(0.2)
        threading.Thread(target=lambda: (time.sleep(0.5), os.kill(os.getpid(), signal.SIGINT)), daemon=True).start()
        print("exiting")
        """
    )
    assert_clean_exit(proc)
    assert "Exception ignored" not in proc.stderr
    assert "KeyboardInterrupt" not in proc.stderr


def test_the_stress_release_race_workload_finds_no_newer_object_changed(clr: Any) -> None:
    from pyclrbridge.stress import Workload

    assert Workload(clr).release_race(30) == 30


def test_the_stress_generic_workload_counts_refused_type_arguments_as_expected(clr: Any) -> None:
    # .NET refuses byref-like structs and Void as type arguments: a TypeError naming the
    # constraint (docs/generics.md), which the workload reports, not a failure.
    from pyclrbridge.stress import Workload

    w = Workload(clr)
    for name in ("System.Span`1", "System.TypedReference", "System.Void"):
        assert w.generic_list(clr.get_type(name)).startswith("refused List[")
