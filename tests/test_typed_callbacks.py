"""Delegates with all-primitive signatures (Comparison<int>, Func<double, double>,
Predicate<int>...) called many times from .NET: results, the generic path's conversion rules
and errors, several .NET threads at once, lifetime, and interpreter exit."""

from __future__ import annotations

import gc
import random
import weakref
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python
from pyclrbridge.testing import run_concurrently


@pytest.fixture(scope="module")
def hammer(fixtures: Any) -> Any:
    from Fixtures.TypedCallbacks import Hammer

    return Hammer


def _compare(a: int, b: int) -> int:
    return (a > b) - (a < b)


def test_comparison_sorts_ten_thousand_items_through_a_typed_thunk(hammer: Any) -> None:
    from pyclrbridge.callbacks import typed as _typed_callbacks

    items = [random.Random(7).randrange(-(10**9), 10**9) for _ in range(10_000)]
    assert list(hammer.Sort(items, _compare)) == sorted(items)
    assert "iii" in _typed_callbacks.shapes()  # the typed path ran, not the boxing dispatcher


def test_list_sort_with_an_explicit_comparison(fixtures: Any) -> None:
    from System import Comparison, Int32
    from System.Collections.Generic import List

    xs = List[Int32](range(5_000))
    xs.Reverse()
    xs.Sort(Comparison[Int32](_compare))
    assert list(xs) == list(range(5_000))


def test_func_of_two_ints_called_fifty_thousand_times(hammer: Any) -> None:
    n = 50_000
    assert hammer.SumPairs(lambda a, b: a * 2 - b, n) == sum(i * 2 - (n - i) for i in range(n))


def test_func_of_double_returns_floats_and_ints(hammer: Any) -> None:
    assert hammer.SumHalves(lambda x: x * x, 1_000) == sum((i / 2) ** 2 for i in range(1_000))
    assert hammer.SumHalves(lambda x: 3, 10) == 30.0  # an int result is a double, as on the generic path


def test_predicate_counts_and_takes_truthy_ints_as_the_generic_path_does(hammer: Any) -> None:
    assert hammer.Count(lambda i: i % 3 == 0, 30_000) == 10_000
    assert hammer.Count(lambda i: i % 3, 30) == 20  # Convert.ToBoolean(int)


def test_void_action_sees_every_argument(hammer: Any) -> None:
    seen: list[int] = []
    hammer.Each(seen.append, 20_000)
    assert seen == list(range(20_000))


def test_every_primitive_argument_arrives_as_its_python_value(hammer: Any) -> None:
    received: list[Any] = []

    def record(*args: Any) -> float:
        received.extend(args)
        return 0.5

    assert hammer.CallAll(record) == 0.5
    assert received == [
        True,
        200,
        -100,
        -30000,
        60000,
        -2_000_000_000,
        4_000_000_000,
        -9_000_000_000_000_000_000,
        18_000_000_000_000_000_000,
        "\u03bb",
        1.5,
        2.25,
    ]
    assert [type(x) for x in received] == [bool, *[int] * 8, str, float, float]


def test_narrow_primitive_results_round_trip(hammer: Any) -> None:
    assert hammer.NextChar(lambda c: chr(ord(c) + 1), "a") == "b"
    assert hammer.Float(lambda x: x / 4, 1.0) == 0.25
    assert hammer.Byte(lambda x: x + 1, 254) == 255
    assert hammer.ULong(lambda x: x + 1, 2**64 - 2) == 2**64 - 1
    assert hammer.Bool(lambda x: not x, False) is True


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (True, "no exception"),  # a bool is 1
        (2.0, "System.InvalidCastException: a float cannot be passed as System.Int32 without rounding"),
        (2**40, "System.OverflowException: 1099511627776 is out of range for System.Int32 (-2147483648 to 2147483647)"),
        (None, "System.InvalidCastException: null cannot be converted to the value type System.Int32"),
        ("5", "System.InvalidCastException: a str cannot be passed as System.Int32 (parse it first)"),
    ],
)
def test_unusual_results_follow_the_generic_conversion_rules(hammer: Any, result: Any, expected: str) -> None:
    assert hammer.Catch(lambda x: result, 1) == expected


def test_results_out_of_range_for_narrow_types_raise_overflow(hammer: Any) -> None:
    with pytest.raises(OverflowError, match=r"out of range for System\.Byte"):
        hammer.Byte(lambda x: 300, 1)
    with pytest.raises(OverflowError, match=r"out of range for System\.UInt64"):
        hammer.ULong(lambda x: -1, 1)
    with pytest.raises(Exception, match="a string of length 2 is not a Char"):
        hammer.NextChar(lambda c: "ab", "a")


def test_a_dotnet_object_result_is_converted(hammer: Any) -> None:
    from System import Int32

    assert hammer.Catch(lambda x: Int32(7), 1) == "no exception"
    assert hammer.SumPairs(lambda a, b: Int32(7), 3) == 21


def test_a_user_codec_applies_to_results(hammer: Any) -> None:
    from pyclrbridge import register_codec

    undo = register_codec(Fraction, lambda f: int(f))
    try:
        assert hammer.SumPairs(lambda a, b: Fraction(6, 2), 4) == 12
    finally:
        undo()


def test_python_exception_reaches_the_python_caller_as_itself(hammer: Any) -> None:
    error = KeyError("missing")

    def fail(a: int, b: int) -> int:
        raise error

    with pytest.raises(KeyError) as caught:
        hammer.SumPairs(fail, 10)
    assert caught.value is error


def test_python_exception_is_one_shim_exception_in_dotnet(hammer: Any) -> None:
    def fail(x: int) -> int:
        raise ValueError("bad value")

    assert hammer.Catch(fail, 1) == "PyClrBridge.Shim.PythonException: ValueError: bad value"
    assert hammer.CatchAction(fail, 1) == "PyClrBridge.Shim.PythonException: ValueError: bad value"


def test_exception_inside_dotnet_sort_carries_the_python_error(hammer: Any) -> None:
    def broken_compare(a: int, b: int) -> int:
        raise ZeroDivisionError("no order")

    with pytest.raises(Exception) as caught:
        hammer.Sort([3, 1, 2], broken_compare)
    assert type(caught.value).__clr_name__ == "System.InvalidOperationException"
    inner = caught.value.InnerException
    assert inner.PythonType == "ZeroDivisionError"
    assert "broken_compare" in inner.PythonTraceback


def test_callbacks_from_parallel_for_on_pool_threads(hammer: Any) -> None:
    assert hammer.ParallelSum(lambda i: i * 3, 100_000) == 3 * sum(range(100_000))


def test_callbacks_from_four_dotnet_threads_at_once(hammer: Any) -> None:
    assert hammer.SumOnThreads(lambda i: i + 1, 4, 20_000) == 4 * sum(range(1, 20_001))


def test_exception_on_a_dotnet_worker_thread_reaches_the_caller(hammer: Any) -> None:
    def fail(i: int) -> int:
        if i == 500:
            raise RuntimeError("worker failed")
        return i

    with pytest.raises(Exception, match="a callback failed on a worker thread"):
        hammer.SumOnThreads(fail, 2, 1_000)


def test_list_sort_from_four_python_threads_at_once(fixtures: Any) -> None:
    from System import Comparison, Int32
    from System.Collections.Generic import List

    def sort(k: int) -> bool:
        data = [random.Random(k).randrange(10**6) for _ in range(5_000)]
        xs = List[Int32](data)
        xs.Sort(Comparison[Int32](lambda a, b: (a > b) - (a < b)))
        return list(xs) == sorted(data)

    assert run_concurrently(sort, 4, pass_index=True) == [True] * 4


def test_delegate_outlives_the_python_variable(hammer: Any, fixtures: Any) -> None:
    from System import Func, Int32

    triple = Func[Int32, Int32](lambda x: x * 3)
    hammer.Hold(triple)
    del triple
    gc.collect()
    fixtures.collect()
    assert hammer.CallHeld(2) == 6
    assert hammer.SumPairs(lambda a, b: a, 1_000) == sum(range(1_000))  # other typed calls in between
    gc.collect()
    assert hammer.CallHeld(4) == 12
    hammer.Hold(None)


def test_callable_is_let_go_after_dotnet_drops_the_typed_delegate(hammer: Any, fixtures: Any) -> None:
    def install() -> weakref.ref[Any]:
        def square(x: int) -> int:
            return x * x

        hammer.Hold(square)
        return weakref.ref(square)

    ref = install()
    gc.collect()
    fixtures.collect()
    assert ref() is not None
    assert hammer.CallHeld(9) == 81
    hammer.Hold(None)
    fixtures.collect()
    assert ref() is None


PRELUDE = """
import os, sys, threading, time
import pyclrbridge
clr = pyclrbridge.load()
clr.add_reference(os.environ["FIXTURES_DLL"])
from Fixtures.TypedCallbacks import Hammer
"""


def test_typed_callbacks_after_shutdown_are_refused_and_void_ones_skipped(fixtures_dll: Path) -> None:
    proc = run_python(
        PRELUDE
        + """
from System import Action, Func, Int32
calls = []
f = Func[Int32, Int32](lambda x: calls.append(x) or x)
act = Action[Int32](calls.append)
print("before:", Hammer.Catch(f, 1), Hammer.CatchAction(act, 2), calls)
clr.shutdown()
print("after:", Hammer.Catch(f, 3), "|", Hammer.CatchAction(act, 4), calls)
""",
        fixtures_dll=fixtures_dll,
        timeout=60,
    )
    assert_clean_exit(proc)
    assert "before: no exception no exception [1, 2]" in proc.stdout
    assert (
        "after: System.InvalidOperationException: Python has shut down; the callback was not run | no exception [1, 2]"
    ) in proc.stdout


def test_exit_while_a_dotnet_thread_keeps_calling_a_typed_callback(fixtures_dll: Path) -> None:
    proc = run_python(
        PRELUDE
        + """
hits = []
def bump(x):
    hits.append(x)
    return x
Hammer.CallForever(bump)
while len(hits) < 1000:
    time.sleep(0.005)
print("exiting")
""",
        fixtures_dll=fixtures_dll,
        timeout=60,
    )
    assert_clean_exit(proc)
    assert "exiting" in proc.stdout


PARITY = (
    PRELUDE
    + """
from System import Func, Int32
from pyclrbridge.callbacks import typed as _typed_callbacks

def show(label, call):
    try:
        r = call()
        print(label, repr(r), type(r).__name__)
    except BaseException as e:
        print(label, "raises", type(e).__name__, (str(e).splitlines() or [""])[0])

def fail(*args):
    raise KeyError("k")

results = [True, False, 7, 2.0, 1.5, 2**31, 2**40, 2**70, -1, None, "5", "ab", [1], Int32(7)]
for r in results:
    show(f"int {r!r}:", lambda: Hammer.SumPairs(lambda a, b: r, 2))
    show(f"double {r!r}:", lambda: Hammer.SumHalves(lambda x: r, 2))
    show(f"bool {r!r}:", lambda: Hammer.Count(lambda i: r, 2))
    show(f"byte {r!r}:", lambda: Hammer.Byte(lambda x: r, 1))
    show(f"char {r!r}:", lambda: Hammer.NextChar(lambda c: r, "a"))
    show(f"ulong {r!r}:", lambda: Hammer.ULong(lambda x: r, 1))
show("all:", lambda: Hammer.CallAll(lambda *args: repr(args) and 1.0))
show("raise:", lambda: Hammer.SumPairs(fail, 2))
show("catch:", lambda: Hammer.Catch(fail, 2))
show("sort raise:", lambda: Hammer.Sort([2, 1], fail))
show("action raise:", lambda: Hammer.CatchAction(fail, 2))
print("typed:", bool(_typed_callbacks.shapes()))
"""
)


def test_typed_and_generic_paths_give_the_same_results_and_errors(fixtures_dll: Path) -> None:
    typed = run_python(PARITY, fixtures_dll=fixtures_dll, timeout=60)
    generic = run_python(PARITY, fixtures_dll=fixtures_dll, timeout=60, env={"PYCLRBRIDGE_TYPED_CALLBACKS": "0"})
    assert_clean_exit(typed)
    assert_clean_exit(generic)
    assert typed.stdout.splitlines()[-1] == "typed: True"
    assert generic.stdout.splitlines()[-1] == "typed: False"
    assert typed.stdout.splitlines()[:-1] == generic.stdout.splitlines()[:-1]
    assert len(typed.stdout.splitlines()) == 14 * 6 + 6
