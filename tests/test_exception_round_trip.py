"""Exceptions across the boundary in both directions (Fixtures.ExceptionRoundTrip): .NET
exceptions behave as Python exceptions, Python exceptions come back from .NET as the objects
raised, .NET exceptions raised in callbacks reach .NET as themselves, and Python subclasses of
.NET exceptions are .NET exceptions."""

from __future__ import annotations

import gc
import sys
import traceback
import weakref
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


def _chain(exc: BaseException) -> list[BaseException]:
    found = []
    cur: BaseException | None = exc
    while cur is not None and len(found) < 20:
        found.append(cur)
        cur = cur.__cause__
    return found


# ---- a .NET exception is a Python exception ----------------------------------------------


def test_str_of_a_constructed_exception_is_its_message() -> None:
    import System

    assert str(System.OverflowException("Simple message")) == "Simple message"


def test_args_hold_what_the_constructor_took() -> None:
    import System

    inner = System.ArgumentException("inner")
    e = System.InvalidOperationException("outer", inner)
    assert e.args == ("outer", inner)


def test_args_of_a_thrown_exception_hold_its_message() -> None:
    from Fixtures.Exceptions import Thrower

    with pytest.raises(OverflowError) as info:
        Thrower.Overflow()
    assert info.value.args == ("value overflowed",)


def test_traceback_of_a_raised_exception_shows_the_message() -> None:
    import System

    try:
        raise System.InvalidOperationException("state is bad")
    except Exception:
        text = traceback.format_exc()
    assert text.rstrip().endswith("System.InvalidOperationException: state is bad")


def test_cause_is_the_inner_exception() -> None:
    import System

    e = System.InvalidOperationException("outer", System.ArgumentException("inner"))
    assert str(e.__cause__) == "inner"
    assert e.__cause__ == e.InnerException


def test_inner_exception_is_the_same_proxy_each_time_it_is_read() -> None:
    import System

    e = System.InvalidOperationException("outer", System.ArgumentException("inner"))
    assert e.InnerException is e.InnerException
    assert e.InnerException is e.__cause__


def test_repr_of_the_inner_exception_shows_its_message() -> None:
    import System

    e = System.InvalidOperationException("outer", System.ArgumentException("inner"))
    assert repr(e.InnerException) == "<System.ArgumentException: inner>"


def test_aggregate_exception_lists_its_inner_exceptions() -> None:
    import System

    first, second = System.FormatException("one"), System.TimeoutException("two")
    agg = System.AggregateException("both", [first, second])
    assert agg.exceptions == (first, second)


# ---- Python -> .NET -> Python ------------------------------------------------------------


def test_python_exception_wrapped_by_sort_is_the_cause_of_the_dotnet_exception() -> None:
    import System
    from System.Collections.Generic import List

    raised: list[BaseException] = []

    def compare(a: int, b: int) -> int:
        raised.append(ZeroDivisionError("no order"))
        raise raised[-1]

    with pytest.raises(System.InvalidOperationException) as info:
        List[int]([3, 1, 2]).Sort(compare)
    assert info.value.__cause__ is raised[0]


def test_python_exception_wrapped_by_sort_keeps_its_traceback() -> None:
    from System.Collections.Generic import List

    def compare(a: int, b: int) -> int:
        return 1 // 0

    with pytest.raises(Exception) as info:
        List[int]([3, 1, 2]).Sort(compare)
    cause = info.value.__cause__
    assert isinstance(cause, ZeroDivisionError)
    assert "return 1 // 0" in "".join(traceback.format_tb(cause.__traceback__))


def test_python_exception_through_a_librarys_reflection_is_the_cause() -> None:
    # The library's own MethodInfo.Invoke wraps, as in C# (only the bridge's reflection does
    # not): the wrapper is raised, and its cause is the very object Python raised.
    from Fixtures.ExceptionRoundTrip import Handler
    from System.Reflection import TargetInvocationException

    original = LookupError("through reflection")

    def fail() -> None:
        raise original

    with pytest.raises(TargetInvocationException) as info:
        Handler.ThroughReflection(fail)
    assert info.value.__cause__ is original


def test_python_exception_in_a_type_initializer_is_the_cause() -> None:
    import System
    from Fixtures.ExceptionRoundTrip import Handler

    original = LookupError("in a type initializer")

    def fail() -> None:
        raise original

    with pytest.raises(System.TypeInitializationException) as info:
        Handler.InTypeInitializer(fail)
    assert info.value.__cause__ is original


def test_python_exceptions_on_pool_threads_come_back_in_the_aggregate() -> None:
    import System
    from Fixtures.ExceptionRoundTrip import Handler

    first, second = KeyError("first"), ValueError("second")

    def fail_first() -> None:
        raise first

    def fail_second() -> None:
        raise second

    with pytest.raises(System.AggregateException) as info:
        Handler.BothOnPool(fail_first, fail_second)
    assert {id(e) for e in info.value.exceptions} == {id(first), id(second)}


def test_python_exception_in_a_task_is_the_cause_of_its_aggregate_exception() -> None:
    import System
    from System import Func
    from System.Threading.Tasks import Task

    original = ValueError("in a task")

    def fail() -> int:
        raise original

    with pytest.raises(System.AggregateException) as info:
        Task.Run(Func[int](fail)).Wait()
    assert info.value.__cause__ is original


# ---- .NET -> Python -> .NET --------------------------------------------------------------


@pytest.mark.parametrize("method", ["CatchInvalidOperation", "CatchInvalidOperationOnPool"])
def test_dotnet_exception_raised_in_a_callback_is_caught_by_type_in_dotnet(method: str) -> None:
    import System
    from Fixtures.ExceptionRoundTrip import Handler

    def fail() -> None:
        raise System.InvalidOperationException("state is bad")

    assert getattr(Handler, method)(fail) == "caught: state is bad"


@pytest.mark.parametrize("method", ["Caught", "CaughtOnPool"])
def test_dotnet_exception_raised_in_a_callback_reaches_dotnet_as_the_same_object(method: str) -> None:
    import System
    from Fixtures.ExceptionRoundTrip import Handler

    error = System.InvalidOperationException("mine")

    def fail() -> None:
        raise error

    assert Handler.ThrewSame(error, fail)
    assert getattr(Handler, method)(fail) is error


def test_task_faults_with_the_dotnet_exception_raised_in_its_callback() -> None:
    import System
    from System import Func
    from System.Threading.Tasks import Task

    def fail() -> int:
        raise System.InvalidOperationException("x")

    task = Task.Run(Func[int](fail))
    with pytest.raises(System.AggregateException):
        task.Wait()
    assert task.Exception.InnerException.GetType().FullName == "System.InvalidOperationException"


def test_dotnet_exception_caught_in_python_and_reraised_in_a_callback_is_the_same_object() -> None:
    from Fixtures.ExceptionRoundTrip import Handler
    from Fixtures.Exceptions import Thrower

    with pytest.raises(ValueError) as info:
        Thrower.Format()
    caught = info.value

    def fail() -> None:
        raise caught

    assert Handler.ThrewSame(caught, fail)


# ---- Python subclasses of .NET exceptions ------------------------------------------------


def _subclass() -> Any:
    import System

    class StateError(System.InvalidOperationException):
        def __init__(self, code: int) -> None:
            super().__init__(f"state {code}")
            self.code = code

    return StateError


def test_python_subclass_has_the_message_its_init_gave() -> None:
    error = _subclass()(7)
    assert (str(error), error.Message, error.code) == ("state 7", "state 7", 7)


@pytest.mark.parametrize("method", ["CatchInvalidOperation", "CatchInvalidOperationOnPool"])
def test_python_subclass_raised_in_a_callback_is_caught_in_dotnet_as_its_base(method: str) -> None:
    from Fixtures.ExceptionRoundTrip import Handler

    state_error = _subclass()

    def fail() -> None:
        raise state_error(3)

    assert getattr(Handler, method)(fail) == "caught: state 3"


def test_python_subclass_instance_passes_to_dotnet_parameters() -> None:
    import System
    from Fixtures.ExceptionRoundTrip import Handler
    from System.Collections.Generic import List

    error = _subclass()(4)
    errors = List[System.Exception]()
    errors.Add(error)
    assert (Handler.TypeName(error), Handler.MessageOf(error)) == ("System.InvalidOperationException", "state 4")
    assert errors[0] is error


def test_python_subclass_instance_thrown_by_dotnet_comes_back_as_the_same_object() -> None:
    from Fixtures.ExceptionRoundTrip import Handler

    state_error = _subclass()
    error = state_error(5)
    with pytest.raises(state_error) as info:
        Handler.Throw(error)
    assert info.value is error


@pytest.mark.parametrize("method", ["Caught", "CaughtOnPool"])
def test_python_subclass_raised_in_a_callback_comes_back_as_the_same_object(method: str) -> None:
    from Fixtures.ExceptionRoundTrip import Handler

    state_error = _subclass()
    raised: list[BaseException] = []

    def fail() -> None:
        raised.append(state_error(6))
        raise raised[-1]

    got = getattr(Handler, method)(fail)
    assert got is raised[0]
    assert got.code == 6


# ---- SystemExit, KeyboardInterrupt, GeneratorExit unwind .NET ----------------------------


@pytest.mark.parametrize("escape", [KeyboardInterrupt, GeneratorExit, SystemExit])
def test_escape_exception_in_a_comparer_is_raised_as_itself(escape: type[BaseException]) -> None:
    from System.Collections.Generic import List

    original = escape()

    def compare(a: int, b: int) -> int:
        raise original

    with pytest.raises(escape) as info:
        List[int]([3, 1, 2]).Sort(compare)
    assert info.value is original


def test_system_exit_on_a_pool_thread_is_raised_when_the_task_is_waited_for() -> None:
    from System import Action
    from System.Threading.Tasks import Task

    def leave() -> None:
        sys.exit(4)

    with pytest.raises(SystemExit) as info:
        Task.Run(Action(leave)).Wait()
    assert info.value.code == 4


def test_sys_exit_in_a_comparer_exits_with_its_code() -> None:
    proc = run_python("""
        import sys
        import pyclrbridge
        pyclrbridge.load()
        from System.Collections.Generic import List
        List[int]([3, 1, 2]).Sort(lambda a, b: sys.exit(3))
        print("not reached")
    """)
    assert_clean_exit(proc, 3)
    assert "not reached" not in proc.stdout


# ---- no leaks ----------------------------------------------------------------------------


def test_round_trips_of_exceptions_do_not_leak_handles(clr: Any) -> None:
    import System
    from Fixtures.ExceptionRoundTrip import Handler
    from System.Collections.Generic import List

    def dotnet_error() -> None:
        raise System.InvalidOperationException("x")

    def python_error(a: int, b: int) -> int:
        raise KeyError("y")

    def rounds(n: int) -> None:
        for _ in range(n):
            Handler.CatchInvalidOperation(dotnet_error)
            with pytest.raises(System.InvalidOperationException):
                List[int]([2, 1]).Sort(python_error)

    rounds(20)
    for _ in range(3):
        gc.collect()
        clr.collect()
    before = clr.stats()
    rounds(200)
    for _ in range(3):
        gc.collect()
        clr.collect()
    after = clr.stats()
    assert after["live_handles"] - before["live_handles"] < 20
    assert after["python_registry"] - before["python_registry"] < 20


def test_callbacks_whose_closure_holds_the_exception_they_raise_are_freed(clr: Any) -> None:
    import System
    from System import Comparison, Int32
    from System.Collections.Generic import List

    alive: list[weakref.ref[Any]] = []

    def sort_with_failing_comparer(i: int) -> None:
        held: dict[str, BaseException] = {}

        def compare(a: int, b: int) -> int:
            held["error"] = LookupError(i)
            raise held["error"]

        alive.append(weakref.ref(compare))
        with pytest.raises(System.InvalidOperationException) as info:
            List[Int32]([3, 1, 2]).Sort(Comparison[Int32](compare))
        assert info.value.__cause__ is held["error"]

    for i in range(300):
        sort_with_failing_comparer(i)
    for _ in range(3):
        gc.collect()
        clr.collect()
    assert sum(ref() is not None for ref in alive) == 0
