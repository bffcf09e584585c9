"""Which calls keep the GIL, and that keeping it never deadlocks.

A call into .NET that cannot wait for another thread keeps the GIL (no convoy of threads
handing it over at every short call); every call that may wait releases it, so a .NET thread
that calls Python meanwhile always gets it. The shim decides per member by reading its code.
"""

from __future__ import annotations

import sys
import sysconfig
import threading
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python
from pyclrbridge.host import bridge


def _overload(group: Any, sig: str) -> int:
    return next(o.id for o in group.overloads_list if o.sig == sig)


def test_plain_framework_members_are_short(clr: Any) -> None:
    # Field and auto-property accessors and arithmetic that cannot throw are leaves.
    from System import Math, String, Version
    from System.Collections.Generic import List
    from System.Text import StringBuilder

    assert bridge.is_short(List[int].__dict__["Count"]._get)
    assert bridge.is_short(String.__dict__["Length"]._get)
    assert bridge.is_short(Version.__dict__["Major"]._get)
    assert bridge.is_short(StringBuilder.__dict__["Length"]._get)
    assert bridge.is_short(_overload(Math.Min, "static Int32 Min(Int32 val1, Int32 val2)"))


@pytest.mark.parametrize(
    ("sig", "rule", "word"),
    [
        # Its overflow path builds an exception whose message CoreLib looks up under a lock.
        ("static Int32 Abs(Int32 value)", "no-throw", "System.SR"),
        ("static Int64 Abs(Int64 value)", "no-throw", "System.SR"),
        ("static Decimal Abs(Decimal value)", "no-allocation", "newobj"),
    ],
)
def test_members_whose_throw_path_may_wait_release_the_gil(clr: Any, sig: str, rule: str, word: str) -> None:
    from System import Math

    member = _overload(Math.Abs, sig)
    assert not bridge.is_short(member)
    reason = bridge.short_reason(member)
    assert reason.startswith(rule + ":") and word in reason, reason


def test_allocating_and_validating_framework_members_release_the_gil(clr: Any) -> None:
    from System.Collections.Generic import List
    from System.Text import StringBuilder

    add = List[int].Add.overloads_list[0].id
    assert not bridge.is_short(add) and bridge.short_reason(add).startswith("no-throw:")
    capacity = StringBuilder.__dict__["Capacity"]._set
    assert not bridge.is_short(capacity)
    append = _overload(StringBuilder.Append, "StringBuilder Append(String value)")
    assert not bridge.is_short(append)


@pytest.mark.parametrize(
    ("type_name", "method", "word"),
    [
        ("System.Threading.Tasks.Task", "Wait", "System.Threading.Tasks.Task"),
        ("System.Threading.Thread", "Sleep", "System.Threading.Thread"),
        ("System.Threading.Monitor", "Enter", "System.Threading.Monitor"),
        ("System.Console", "WriteLine", "System.Console"),
    ],
)
def test_members_that_may_wait_release_the_gil_and_say_why(clr: Any, type_name: str, method: str, word: str) -> None:
    from System import Console  # noqa: F401  (loads System.Console.dll)

    group = getattr(clr.get_type(type_name), method)
    for ov in group.overloads_list:
        assert not bridge.is_short(ov.id), ov.sig
        assert word in bridge.short_reason(ov.id), ov.sig


def test_a_member_taking_a_lock_is_not_short(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    member = Shapes.Locked.overloads_list[0].id
    assert not bridge.is_short(member)
    # `lock` is try/finally around Monitor.Enter/Exit: refused at the handler, before the call.
    assert bridge.short_reason(member) == "no-throw: Fixtures.Gil.Shapes.Locked has exception handlers"


def test_fixture_plain_members_and_fields_are_short(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    assert bridge.is_short(Shapes.Plain.overloads_list[0].id)
    assert bridge.is_short(Shapes.__dict__["Counted"]._get)
    assert bridge.is_short(Shapes.__dict__["Counted"]._set)
    assert bridge.is_short(Shapes.__dict__["Count"]._get, 0)
    assert bridge.short_reason(Shapes.Plain.overloads_list[0].id) == ""


def test_a_virtual_member_of_an_open_class_is_not_short(fixtures: Any) -> None:
    from Fixtures.Gil import Open

    member = Open.Virtual.overloads_list[0].id
    assert not bridge.is_short(member)
    assert bridge.short_reason(member).startswith("resolved:")
    assert "override" in bridge.short_reason(member)


def test_str_and_hash_give_the_same_answers_on_the_held_path(clr: Any) -> None:
    from System import Version
    from System.Text import StringBuilder

    sb = StringBuilder()
    sb.Append("abc")
    assert str(sb) == "abc" == sb.ToString()
    v = Version(1, 2, 3)
    assert hash(v) == v.GetHashCode() and str(v) == "1.2.3"


# ---- no deadlock: .NET waits for a thread that calls Python -------------------------------


def test_dotnet_waiting_for_a_pool_thread_that_calls_python(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    assert Shapes.WaitForPoolThread(lambda: 41 + 1) == 42


def test_dotnet_joining_a_thread_that_calls_python(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    assert Shapes.JoinThread(lambda: 7) == 7


def test_dotnet_holding_a_lock_while_another_thread_calls_python(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    assert Shapes().HoldWhileOtherThreadCalls(lambda: 5) == 5


def test_a_short_call_on_one_thread_while_another_holds_its_lock_calling_python(fixtures: Any) -> None:
    # The other thread holds the lock until its Python callback returns; the callback waits
    # for this thread's Python code to go on: Locked() must release the GIL while it waits.
    from Fixtures.Gil import Shapes

    shapes = Shapes()
    go_on = threading.Event()

    def callback() -> int:
        go_on.wait(30)
        return 9

    holder = shapes.HoldLockOnAnotherThread(callback)
    t = threading.Timer(0.05, go_on.set)  # Python work that needs the GIL while Locked() waits
    t.start()
    assert shapes.Locked() == 9
    holder.Join()
    t.join()


def test_dotnet_spinning_until_a_python_thread_sets_a_flag(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    flag = Shapes.NewFlag()
    t = threading.Timer(0.05, Shapes.Raise, args=(flag,))
    t.start()
    assert Shapes.SpinUntil(flag, 30_000)
    t.join()


def test_many_threads_mixing_short_and_waiting_calls_finish(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes
    from System.Text import StringBuilder

    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(200):
                sb = StringBuilder()
                sb.Append(str(i))
                assert str(sb) == str(i)
                if i % 50 == 0:
                    assert Shapes.WaitForPoolThread(lambda: k) == k
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_hold_gil_off_releases_for_every_call(fixtures_dll: Any) -> None:
    proc = run_python(
        """
        import pyclrbridge
        pyclrbridge.load()
        from pyclrbridge.host import bridge
        from System import Math
        print(any(bridge.is_short(o.id) for o in Math.Abs.overloads_list))
    """,
        env={"PYCLRBRIDGE_HOLD_GIL": "0"},
    )
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "False"


@pytest.mark.skipif(
    not sysconfig.get_config_var("Py_GIL_DISABLED"),
    reason="a free-threaded CPython build is needed to check that the GIL stays off",
)
def test_free_threaded_build_keeps_the_gil_disabled(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes
    from System import Math
    from System.Text import StringBuilder

    assert not sys._is_gil_enabled()  # type: ignore[attr-defined]
    Math.Abs(-5)
    StringBuilder().Append("x")
    Shapes.WaitForPoolThread(lambda: 1)
    Shapes.JoinThread(lambda: 2)
    assert not sys._is_gil_enabled()  # type: ignore[attr-defined]


# ---- the shapes of issue 26: each hung the process when judged short ----------------------
#
# Each runs in a fresh process (a hang must not take the test session with it): faulthandler
# dumps every thread's stack and ends the process if it is still running after DUMP_AFTER
# seconds, and the subprocess timeout backs that up.

DUMP_AFTER = 60

_PRELUDE = """
import faulthandler, os, sys, threading, time
faulthandler.dump_traceback_later({dump}, exit=True)
import pyclrbridge
clr = pyclrbridge.load()
clr.add_reference(os.environ["FIXTURES_DLL"])
from pyclrbridge.host import bridge
from System import Func
"""

# Thread B (a .NET thread) takes Gate.Lock and runs a Python callback that waits for a Python
# timer; thread A (main) then calls the member, which needs Gate.Lock. A call keeping the GIL
# while it waits leaves the timer no GIL to run on: a hang.
_WHILE_LOCK_HELD = """
from Fixtures.GilLeaf import Gate
{setup}
try:
    {call}  # once with the lock free: the member's call path is built and chosen
except Exception:
    pass
go = threading.Event()

def callback():
    go.wait(30)
    return 0

holder = {holder}(Func[int](callback))
threading.Timer(0.2, go.set).start()
try:
    result = {call}
except Exception as exc:
    result = type(exc).__name__
holder.Join()
print("RESULT", result)
"""

# A 10 ms ticker thread in Python counts its ticks while the member runs for 2 s, against
# its pace while this thread sleeps for 2 s in Python.
_STALL = """
{setup}
ticks = 0
running = True

def ticker():
    global ticks
    while running:
        time.sleep(0.01)
        ticks += 1

t = threading.Thread(target=ticker)
t.start()
time.sleep(0.1)
control_ticks, control_start = ticks, time.monotonic()
time.sleep(2.0)  # the ticks it gets while this thread waits in Python: the machine's own pace
control_rate = (ticks - control_ticks) / (time.monotonic() - control_start)
start_ticks, start = ticks, time.monotonic()
try:
    result = {call}
except Exception as exc:
    result = type(exc).__name__
elapsed = time.monotonic() - start
got = ticks - start_ticks
running = False
t.join()
print("RESULT", result)
print("TICKS", got, elapsed, control_rate)
"""


def _run(fixtures_dll: Any, body: str, env: dict[str, str] | None = None) -> str:
    code = _PRELUDE.format(dump=DUMP_AFTER) + body
    proc = run_python(code, timeout=DUMP_AFTER + 60, env=env, fixtures_dll=fixtures_dll)
    assert_clean_exit(proc)
    return proc.stdout


def _result(out: str) -> str:
    return next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("RESULT "))


def _shapes(table: dict[str, tuple[str, ...]]) -> list[Any]:
    """A shape table's rows as test parameters, each named by its shape."""
    return [pytest.param(*row, id=shape) for shape, row in sorted(table.items())]


def _assert_shape(
    fixtures_dll: Any,
    body: str,
    expected: str,
    *,
    seen: tuple[str, ...] = (),
    ticker: bool = False,
    env: dict[str, str] | None = None,
) -> None:
    """Runs ``body`` after the prelude in a fresh process: it prints ``expected`` as its RESULT,
    every line of ``seen``, and (``ticker``, a :data:`_STALL` body) the ticker kept its pace."""
    out = _run(fixtures_dll, body, env)
    assert _result(out) == expected, out
    for line in seen:
        assert line in out, out
    if ticker:
        _assert_ticker_ran(out)


def _assert_ticker_ran(out: str) -> None:
    # A quarter of the ticks of its own pace over the call's 2 s (10 ms sleeps, pace measured
    # just before while this thread slept), and at least 20. Keeping the GIL for the whole call
    # leaves it 0-2, and the stalls this file guards against left it 1-15. A quarter, not a
    # half: under heavy load the pace swings between the control and the call (a 2 s call
    # lasted 4.4 s on a machine at load 15), which the margin of 20 ticks over a stall absorbs.
    line = next(line for line in out.splitlines() if line.startswith("TICKS "))
    got, elapsed, rate = int(line.split()[1]), float(line.split()[2]), float(line.split()[3])
    assert elapsed >= 1.9, out  # the call did last its 2 s
    assert rate >= 20, out  # the ticker ran at all when nothing held the GIL
    want = max(20.0, rate * min(elapsed, 2.0) / 4)
    assert got >= want, f"the ticker got {got} ticks in {elapsed:.2f} s (pace {rate:.0f}/s)"


_LOCK_SHAPES = {
    "exception type": ("from Fixtures.GilLeaf import LockingException", "LockingException.Locked()", "1"),
    "throw helper name": ("from Fixtures.GilLeaf import ShapeThrowHelper", "ShapeThrowHelper.Locked()", "2"),
    "does-not-return": (
        "from Fixtures.GilLeaf import NeverReturns",
        "NeverReturns.LockedThenThrow()",
        "InvalidOperationException",
    ),
    "sealed ToString override": ("from Fixtures.GilLeaf import WaitingText\nw = WaitingText()", "str(w)", "waited"),
    "sealed GetHashCode override": ("from Fixtures.GilLeaf import WaitingText\nw = WaitingText()", "hash(w)", "3"),
    "struct GetHashCode override": (
        "from Fixtures.GilLeaf import WaitingKey\nk = WaitingKey.Make(4, False)",
        "k.GetHashCode()",
        "4",
    ),
    "struct Equals through IEquatable": (
        "from Fixtures.GilLeaf import WaitingKey\nk = WaitingKey.Make(4, False)",
        "k.Equals(WaitingKey.Make(4, False))",
        "True",
    ),
    "Dictionary.ContainsKey with a locking comparer": (
        "from Fixtures.GilLeaf import LockingComparer\nd = LockingComparer.Dictionary(False)",
        'd.ContainsKey("key")',
        "True",
    ),
    "Object.ToString contract on a sealed override": (
        "from Fixtures.GilLeaf import Texts, WaitingText\nw = WaitingText()",
        "Texts.Describe(w)",
        "waited",
    ),
    "Object.GetHashCode contract on a struct override": (
        "from Fixtures.GilLeaf import Texts, WaitingKey\nk = WaitingKey.Make(6, False)",
        "Texts.Hash(k)",
        "6",
    ),
    "Object.Equals contract on a struct override": (
        "from Fixtures.GilLeaf import Texts, WaitingKey\nk = WaitingKey.Make(6, False)",
        "Texts.Same(k, k)",
        "True",
    ),
    "synchronized method": ("from Fixtures.GilLeaf import Synced", "Synced.Get()", "8"),
    "Dictionary indexer with a locking comparer": (
        "from Fixtures.GilLeaf import LockingComparer\nd = LockingComparer.Dictionary(False)",
        'd["key"]',
        "1",
    ),
}


@pytest.mark.parametrize(("setup", "call", "expected"), _shapes(_LOCK_SHAPES))
def test_short_looking_call_while_another_thread_holds_its_lock_calling_python(
    fixtures_dll: Any, setup: str, call: str, expected: str
) -> None:
    holder = "Synced.HoldWhileCalling" if "Synced" in setup else "Gate.HoldWhileCalling"
    _assert_shape(fixtures_dll, _WHILE_LOCK_HELD.format(setup=setup, call=call, holder=holder), expected)


_STALL_SHAPES = {
    "exception type": ("from Fixtures.GilLeaf import LockingException", "LockingException.Nap()", "1"),
    "throw helper name": ("from Fixtures.GilLeaf import ShapeThrowHelper", "ShapeThrowHelper.Nap()", "2"),
    "does-not-return": (
        "from Fixtures.GilLeaf import NeverReturns",
        "NeverReturns.NapThenThrow()",
        "InvalidOperationException",
    ),
    "sealed ToString override": (
        "from Fixtures.GilLeaf import WaitingText\nw = WaitingText()\nw.Sleep = True",
        "str(w)",
        "waited",
    ),
    "struct GetHashCode override": (
        "from Fixtures.GilLeaf import WaitingKey\nk = WaitingKey.Make(5, True)",
        "WaitingKey.HashOf(k)",
        "5",
    ),
    "Dictionary.ContainsKey with a sleeping comparer": (
        "from Fixtures.GilLeaf import LockingComparer\nd = LockingComparer.Dictionary(True)",
        'd.ContainsKey("key")',
        "True",
    ),
    "Object.ToString contract on a sealed override": (
        "from Fixtures.GilLeaf import WaitingText\nw = WaitingText()\nw.Sleep = True",
        "WaitingText.Describe(w)",
        "waited",
    ),
    "Thread.Sleep": ("from System.Threading import Thread", "Thread.Sleep(2000)", "None"),
}


@pytest.mark.parametrize(("setup", "call", "expected"), _shapes(_STALL_SHAPES))
def test_stall_other_threads_run_during_a_long_call(fixtures_dll: Any, setup: str, call: str, expected: str) -> None:
    _assert_shape(fixtures_dll, _STALL.format(setup=setup, call=call), expected, ticker=True)


def test_cctor_of_a_touched_type_that_calls_python(fixtures_dll: Any) -> None:
    # FastReader.Get() reads SlowInit.V; SlowInit's class constructor waits for a pool thread
    # running a Python callback. The proof never runs another type's class constructor ahead of
    # the program, so Get() releases the GIL and the constructor runs when Get first reaches it.
    out = _run(
        fixtures_dll,
        """
from Fixtures.GilLeaf import FastReader, Hooks
Hooks.Callback = Func[int](lambda: 7)
print("RESULT", FastReader.Get())
print("SHORT", bridge.is_short(FastReader.Get.overloads_list[0].id))
print("WHY", bridge.short_reason(FastReader.Get.overloads_list[0].id))
""",
    )
    assert _result(out) == "7"
    assert "SHORT False" in out
    assert "class constructor the proof does not run ahead of the program" in out


def test_cctor_running_on_another_thread_calling_python(fixtures_dll: Any) -> None:
    # Thread B runs RunningInit's class constructor, which calls Python and waits for a Python
    # timer; thread A reads RunningInit.V meanwhile and must wait with the GIL released.
    out = _run(
        fixtures_dll,
        """
from Fixtures.GilLeaf import Hooks, RunningReader
started, go = threading.Event(), threading.Event()

def callback():
    started.set()
    go.wait(30)
    return 11

Hooks.Callback = Func[int](callback)
b = RunningReader.InitOnAnotherThread()
started.wait(30)
threading.Timer(0.2, go.set).start()
print("RESULT", RunningReader.Get())
b.Join()
""",
    )
    assert _result(out) == "11"


@pytest.mark.parametrize("call", ["other.CompareTo(lazy)", "LazyCompared.CompareByDefault(other, lazy)", "real.Value"])
def test_lazy_value_another_thread_is_computing_with_python(fixtures_dll: Any, call: str) -> None:
    # Thread B evaluates a Lazy<int> (execution-and-publication) whose factory calls Python and
    # waits for a Python timer; thread A needs the same value. `real` is the BCL's Lazy<T>
    # itself, evaluated on B through a .NET thread.
    out = _run(
        fixtures_dll,
        f"""
from Fixtures.GilLeaf import LazyCompared
from System import Lazy
from System.Threading import Thread, ThreadStart
started, go = threading.Event(), threading.Event()

def rank():
    started.set()
    go.wait(30)
    return 5

lazy = LazyCompared(Func[int](rank))
other = LazyCompared(Func[int](lambda: 1))
real = Lazy[int](Func[int](rank))
if "real" in {call!r}:
    b = Thread(ThreadStart(lambda: real.Value))
    b.Start()
else:
    b = lazy.EvaluateOnAnotherThread()
started.wait(30)
threading.Timer(0.2, go.set).start()
print("RESULT", {call})
b.Join()
""",
    )
    assert _result(out) in {"-1", "5"}


def test_spinning_member_is_not_short(fixtures_dll: Any) -> None:
    # A loop with no call in it spins until a Python timer sets the flag.
    out = _run(
        fixtures_dll,
        """
from Fixtures.GilLeaf import Spinner
s = Spinner()
print("REASON", bridge.short_reason(Spinner.SpinUntilSet.overloads_list[0].id))
threading.Timer(0.2, s.Set).start()
print("RESULT", s.SpinUntilSet())
""",
    )
    assert _result(out) == "1"
    assert "REASON bounded:" in out


def test_math_abs_overflow_with_a_waiting_first_chance_handler(fixtures_dll: Any) -> None:
    # Math.Abs(long.MinValue) throws OverflowException; a first-chance handler runs on the
    # throwing thread and waits for a pool thread running Python.
    out = _run(
        fixtures_dll,
        """
from Fixtures.GilLeaf import FirstChance
from System import Int64, Math
FirstChance.Install(Func[int](lambda: 0))
try:
    Math.Abs.__overloads__[Int64](-2**63)
    result = "no exception"
except Exception as exc:
    result = type(exc).__name__
FirstChance.Uninstall()
print("RESULT", result)
print("SEEN", FirstChance.Seen > 0)
""",
    )
    assert _result(out) in {"OverflowException", "OverflowError"}
    assert "SEEN True" in out


def test_throwing_member_is_not_short(fixtures: Any) -> None:
    from Fixtures.GilLeaf import NeverReturns

    member = NeverReturns.LockedThenThrow.overloads_list[0].id
    assert not bridge.is_short(member)
    assert bridge.short_reason(member).startswith("no-throw:")


def test_proved_leaves_of_the_fixture(fixtures: Any) -> None:
    from Fixtures.GilLeaf import Hooks, Leaves, WaitingKey, WaitingText
    from System import Lazy

    for prop in ("Count", "Auto"):
        assert bridge.is_short(Leaves.__dict__[prop]._get), prop
        assert bridge.is_short(Leaves.__dict__[prop]._set), prop
    assert bridge.is_short(Leaves.Twice.overloads_list[0].id)
    assert bridge.is_short(Leaves.Sum.overloads_list[0].id)
    leaves = Leaves()
    leaves.Count = 3
    assert leaves.Sum(1, 2) == 6 and Leaves.Twice(4) == 9
    ctor = Leaves.__clr_ctors__[0].id
    assert not bridge.is_short(ctor) and bridge.short_reason(ctor).startswith("no-allocation:")
    invoke = Hooks.Call.overloads_list[0].id  # invokes a delegate: Invoke has no IL
    assert not bridge.is_short(invoke) and "Invoke" in bridge.short_reason(invoke)
    lazy_value = Lazy[int].__dict__["Value"]._get
    assert not bridge.is_short(lazy_value)
    hash_code = WaitingKey.GetHashCode.overloads_list[0].id
    assert not bridge.is_short(hash_code)
    to_string = WaitingText.ToString.overloads_list[0].id
    assert not bridge.is_short(to_string)


def test_proof_waiting_for_a_cctor_whose_thread_asks_about_the_same_member(fixtures_dll: Any) -> None:
    # Thread A proves RunningReader.Get (it waits, GIL released, for RunningInit's class
    # constructor on thread B); B's constructor calls Python, which calls Get too and so asks
    # for the same verdict. Neither may wait for the other's answer.
    out = _run(
        fixtures_dll,
        """
from Fixtures.GilLeaf import Hooks, RunningReader
started = threading.Event()
inner = []

def callback():
    started.set()
    time.sleep(0.5)  # thread A is proving Get by now
    inner.append(RunningReader.Get())  # inside the constructor: the field is not set yet
    return 11

Hooks.Callback = Func[int](callback)
b = RunningReader.InitOnAnotherThread()
started.wait(30)
print("RESULT", RunningReader.Get(), inner)
b.Join()
""",
    )
    assert _result(out) == "11 [0]"


# The bridge's own work around a call that keeps the GIL (HeldCalls.cs): argument conversion of
# a held frame call, the code of a direct stub, the exports Python calls without releasing the
# GIL. Each shape below hung before (user code or a first-chance handler ran with the GIL held).

# A held export or stub whose own code throws (a handle no longer live: what a call racing
# release() meets), each made with the GIL held.
_HELD_THROWS = {
    "ArrayLength export": (
        "import ctypes\nn = ctypes.c_int64()\nerr = bridge.Value()",
        "bridge.shim().ArrayLength(10**12, ctypes.byref(n), ctypes.byref(err))",
        "1",
    ),
    "DuplicateHandle export": ("", "bridge.shim().DuplicateHandle(10**12)", "0"),
    "direct stub of a short getter": (
        "from Fixtures.GilLeaf import Leaves\nfrom pyclrbridge.proxies import direct\n"
        "member = Leaves.__dict__['Count']._get\nassert bridge.is_short(member)\n"
        "stub = direct.stub(member)[0]\n"
        "def get_dead():\n"
        "    if stub(10**12) == direct.FAILED and not direct.failed():\n"
        "        return 'no failure'\n",
        "get_dead()",
        "ObjectDisposedException",
    ),
}


# A call made while a first-chance handler that waits for a pool thread running a Python
# callback is installed: the handler must find the GIL released (the bridge's own handler runs
# first). It did run, on the calling thread, and returned (SEEN); the held section escaped.
_WITH_WAITING_HANDLER = """
from Fixtures.GilLeaf import FirstChance
{setup}
escapes = clr.stats()["held_escapes"]
FirstChance.Install(Func[int](lambda: 0))
try:
    result = {call}
except BaseException as exc:
    result = type(exc).__name__
FirstChance.Uninstall()
print("RESULT", result)
print("SEEN", FirstChance.Seen > 0)
print("ESCAPED", clr.stats()["held_escapes"] > escapes)
"""
_HANDLER_RAN = ("SEEN True", "ESCAPED True")


@pytest.mark.parametrize(("setup", "call", "expected"), _shapes(_HELD_THROWS))
def test_held_call_throwing_with_a_first_chance_handler_waiting_for_python(
    fixtures_dll: Any, setup: str, call: str, expected: str
) -> None:
    body = _WITH_WAITING_HANDLER.format(setup=setup, call=call)
    _assert_shape(fixtures_dll, body, expected, seen=_HANDLER_RAN)


@pytest.mark.parametrize(("setup", "call", "expected"), _shapes(_HELD_THROWS))
def test_held_call_throwing_with_a_sleeping_first_chance_handler_stalls_nothing(
    fixtures_dll: Any, setup: str, call: str, expected: str
) -> None:
    # A first-chance handler that sleeps 2 s: the 10 ms ticker keeps ticking meanwhile.
    body = _STALL.format(
        setup=f"from Fixtures.GilLeaf import SleepingFirstChance\n{setup}\nSleepingFirstChance.Install(2000)",
        call=call,
    )
    _assert_shape(fixtures_dll, body + "SleepingFirstChance.Uninstall()\n", expected, ticker=True)


def test_held_call_whose_argument_needs_a_user_conversion_that_waits_for_python(fixtures_dll: Any) -> None:
    # TakesConverted.Take(Converted) is a proved leaf; a Converting argument reaches it through
    # its implicit operator, user code that waits for a pool thread running Python. The
    # bridge's conversion runs it, so the held call refuses and the call releases the GIL.
    out = _run(
        fixtures_dll,
        """
from Fixtures.GilLeaf import Converted, Converting, TakesConverted
assert bridge.is_short(TakesConverted.Take.overloads_list[0].id)
TakesConverted.Take(Converted())
TakesConverted.Take(Converted())  # the invoker is built: this one was held
Converting.Callback = Func[int](lambda: 0)
print("RESULT", TakesConverted.Take(Converting()))
""",
    )
    assert _result(out) == "1"


def test_held_call_whose_argument_needs_a_sleeping_user_conversion_stalls_nothing(fixtures_dll: Any) -> None:
    setup = (
        "from Fixtures.GilLeaf import Converted, Converting, TakesConverted\n"
        "TakesConverted.Take(Converted())\nTakesConverted.Take(Converted())"
    )
    _assert_shape(fixtures_dll, _STALL.format(setup=setup, call="TakesConverted.Take(Converting())"), "1", ticker=True)


def test_held_frame_calls_keep_their_results(fixtures: Any) -> None:
    # Plain arguments keep the GIL (no escape); the rest are refused and made releasing: the
    # same results either way.
    from Fixtures.GilLeaf import Converted, Converting, TakesConverted

    escapes = fixtures.stats()["held_escapes"]
    for _ in range(3):
        assert TakesConverted.Narrow(2**31 - 1, -(2**15)) == 2**31 - 1 - 2**15
        assert TakesConverted.Take(Converted()) == 1
        assert TakesConverted.Same(1.5) == 1.5
        assert TakesConverted.Letter("x") == "x"
    assert TakesConverted.Take(Converting()) == 1  # (its operator sleeps 2 s)
    with pytest.raises(OverflowError):
        TakesConverted.Narrow(1, 2**15)
    assert fixtures.stats()["held_escapes"] == escapes
    assert fixtures.stats()["held_handlers_first"]


# A native slot (proxies.native: attribute fast path and native calls) keeps the GIL and makes one
# allocation of its own: the .NET string of a str argument or set value. Out of memory there (a
# 96 MB GC heap limit and a 64-million-character text) runs first-chance handlers on the calling
# thread; the allocation is a held section, so the GIL is released before they run.
_NATIVE_STRING_SHAPES = {
    "native call argument": ("from Fixtures.FastPath import Counter\nc = Counter()", "c.Rename", "c.Rename(big)"),
    "native indexer key": (
        "from Fixtures.FastPath import Labels\nc = Labels()",
        "type(c).__dict__['__getitem__']",
        "c[big]",
    ),
}


@pytest.mark.parametrize(("setup", "bound", "call"), _shapes(_NATIVE_STRING_SHAPES))
def test_native_slot_out_of_memory_with_a_first_chance_handler_waiting_for_python(
    fixtures_dll: Any, setup: str, bound: str, call: str
) -> None:
    warm = f"for _ in range(3):\n    {call.replace('big', repr('warm'))}\n"
    native = f'print("NATIVE", type({bound}).__name__)\nbig = "x" * 64_000_000'
    body = _WITH_WAITING_HANDLER.format(setup=f"{setup}\n{warm}{native}", call=call)
    # "NATIVE Native": the native slot took the call (not the Python path).
    seen = ("NATIVE Native", *_HANDLER_RAN)
    env = {"DOTNET_GCHeapHardLimit": "0x6000000"}
    _assert_shape(fixtures_dll, body, "OutOfMemoryException", seen=seen, env=env)
