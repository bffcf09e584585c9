"""Python callables as .NET delegates, .NET delegates as Python callables, callbacks from any
.NET thread, and Python exceptions travelling through .NET."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python


@pytest.fixture(scope="module")
def invoker(fixtures: Any) -> Any:
    from Fixtures.Delegates import Invoker

    return Invoker


def test_lambda_sorts_a_list_as_a_comparison(fixtures: Any) -> None:
    from System.Collections.Generic import List

    xs = List[int]([3, 1, 2])
    xs.Sort(lambda a, b: b - a)
    assert list(xs) == [3, 2, 1]


def test_lambda_filters_as_a_predicate(fixtures: Any) -> None:
    from System.Collections.Generic import List

    assert list(List[int]([3, 1, 2]).FindAll(lambda x: x > 1)) == [3, 2]


def test_lambda_is_a_func_for_a_generic_linq_method(fixtures: Any) -> None:
    from System.Collections.Generic import List
    from System.Linq import Enumerable

    xs = List[int]([1, 2, 3, 4])
    assert list(Enumerable.Where[int](xs, lambda x: x % 2 == 0)) == [2, 4]


def test_lambda_arity_picks_the_matching_delegate_overload(fixtures: Any) -> None:
    from System.Collections.Generic import List
    from System.Linq import Enumerable

    xs = List[int]([5, 6, 7, 8])
    assert list(Enumerable.Where[int](xs, lambda x, i: i % 2 == 0)) == [5, 7]


def test_callable_converts_to_a_user_delegate_returning_a_value(invoker: Any) -> None:
    assert invoker.Apply(lambda a, b: a * b, 3, 4) == 12


def test_void_user_delegate_calls_the_callable(invoker: Any) -> None:
    seen: list[str] = []
    invoker.Call(seen.append, "hi")
    assert seen == ["hi"]


def test_out_parameter_comes_from_the_returned_tuple(invoker: Any) -> None:
    def parse(s: str) -> tuple[bool, int]:
        return (True, int(s)) if s.isdigit() else (False, 0)

    assert invoker.RunTry(parse, "42") == "True:42"
    assert invoker.RunTry(parse, "x") == "False:0"


def test_ref_parameter_is_passed_in_and_returned(invoker: Any) -> None:
    assert invoker.RunBump(lambda v: v * 10, 5) == 50


def test_action_constructed_explicitly_from_a_callable(fixtures: Any) -> None:
    import System
    from Fixtures.Exceptions import Thrower

    calls: list[int] = []
    action = System.Action(lambda: calls.append(1))
    assert type(action).__clr_name__ == "System.Action"
    assert Thrower.Catch(action) == "none"
    assert calls == [1]


def test_generic_func_constructed_explicitly_is_callable(invoker: Any) -> None:
    from System import Func

    f = Func[int, int](lambda x: x + 1)
    assert invoker.CallMany(f, 4) == 1 + 2 + 3 + 4
    assert f(41) == 42


def test_delegate_returned_by_dotnet_is_callable(invoker: Any) -> None:
    assert invoker.MakeAdder(3)(4) == 7


def test_dotnet_composes_python_callables(invoker: Any) -> None:
    composed = invoker.Compose(lambda x: x + 1, lambda x: x * 2)
    assert composed(5) == 12


def test_callbacks_from_thread_pool_tasks_all_run(invoker: Any) -> None:
    threads: set[int] = set()
    lock = threading.Lock()

    def record() -> None:
        with lock:
            threads.add(threading.get_ident())

    invoker.OnThreadPool(record, 50)
    assert threads and threading.get_ident() not in threads


def test_parallel_for_calls_every_index_once(invoker: Any) -> None:
    from System import Action

    seen: list[int] = []
    invoker.ParallelFor(Action[int](seen.append), 1000)
    assert sorted(seen) == list(range(1000))


def test_timer_calls_back_from_a_timer_thread(invoker: Any) -> None:
    fired = threading.Event()
    timer = invoker.Timer(fired.set, 10)
    try:
        assert fired.wait(10)
    finally:
        timer.Dispose()


def test_callbacks_from_dedicated_threads_all_complete(invoker: Any) -> None:
    count = [0]
    lock = threading.Lock()

    def bump() -> None:
        with lock:
            count[0] += 1

    assert invoker.CallOnThreads(bump, 4, 50) == 200
    assert count[0] == 200


def test_python_exception_in_a_callback_is_one_shim_exception_in_dotnet(fixtures: Any) -> None:
    from Fixtures.Exceptions import Thrower

    def fail() -> None:
        raise KeyError("missing")

    assert Thrower.Catch(fail) == "PyClrBridge.Shim.PythonException: KeyError: 'missing'"


def test_python_exception_in_dotnet_carries_type_name_and_traceback(fixtures: Any) -> None:
    import System
    from System.Threading.Tasks import Task

    def deep_failure() -> None:
        raise ValueError("bad value")

    task = Task.Run(System.Action(deep_failure))
    deadline = time.monotonic() + 10
    while not task.IsCompleted and time.monotonic() < deadline:
        time.sleep(0.01)
    error = task.Exception.InnerException
    assert type(error).__clr_name__ == "PyClrBridge.Shim.PythonException"
    assert error.PythonType == "ValueError"
    assert "deep_failure" in error.PythonTraceback
    assert "ValueError: bad value" in error.PythonTraceback


def test_exception_from_a_callback_on_worker_threads_reaches_the_caller(invoker: Any) -> None:
    def fail() -> None:
        raise RuntimeError("worker failed")

    with pytest.raises(Exception) as caught:
        invoker.CallOnThreads(fail, 2, 1)
    assert "callbacks failed" in str(caught.value)


_SIXTEEN_TYPES = """
import pyclrbridge
from pyclrbridge.testing import run_concurrently
clr = pyclrbridge.load()
from System import Func, Int16
types = [Func[(Int16,) * (k + 1)] for k in range(16)]  # Func<short>, Func<short, short>, ...
before = clr.stats()["delegate_factories"]

def returning(k):
    return lambda *args: len(args) + 100 * k

def convert(i):
    # Thread i asks for type i first (16 types compiled at once), then for every other type
    # while the other threads may still be compiling it.
    made = []
    for k in [*range(i, 16), *range(i)]:
        f = types[k](returning(k))
        made.append((k, f(*range(k)), f.Method))
    return made

made = [m for per_thread in run_concurrently(convert, 16, pass_index=True) for m in per_thread]
print("compiled", clr.stats()["delegate_factories"] - before)
print("wrong results", [(k, r) for k, r, _ in made if r != k + 100 * k])
first = {}
for k, _, method in made:
    first.setdefault(k, method)
print("types with a second method", sorted({k for k, _, method in made if not method.Equals(first[k])}))
"""


def test_sixteen_threads_compile_sixteen_delegate_types_once_each() -> None:
    """Converting callables to 16 new delegate types on 16 threads at once compiles each
    factory exactly once (the count of compiled factories grows by 16, and every delegate of a
    type, whichever thread made it, has that one factory's ``Method``), and every delegate
    calls its own callable. In a fresh process: there the types are surely new, whatever
    another test of this session converted before."""
    proc = run_python(_SIXTEEN_TYPES, timeout=120)
    assert_clean_exit(proc)
    assert proc.stdout.splitlines() == ["compiled 16", "wrong results []", "types with a second method []"]


def test_task_run_of_an_action_runs_the_callable_on_the_pool(fixtures: Any) -> None:
    import System
    from System.Threading.Tasks import Task

    ran_on: list[int] = []
    Task.Run(System.Action(lambda: ran_on.append(threading.get_ident()))).Wait()
    assert len(ran_on) == 1 and ran_on[0] != threading.get_ident()


def test_callback_may_return_a_new_dotnet_object(invoker: Any) -> None:
    from System.Text import StringBuilder

    made = invoker.CallFunc(lambda: StringBuilder("fresh"))
    assert str(made) == "fresh"


# ---- a delegate's Method and Target, as for a C# lambda -------------------------------------------


@pytest.mark.parametrize(
    ("make", "params", "ret", "args", "expected"),
    [
        (lambda: __import__("System").Func[int, int, int](lambda a, b: a + b), ["Int32", "Int32"], "Int32", [2, 3], 5),
        (lambda: __import__("System").Func[str, str](lambda s: s.upper()), ["String"], "String", ["ab"], "AB"),
        (lambda: __import__("System").Predicate[float](lambda x: x > 1), ["Double"], "Boolean", [2.5], True),
    ],
    ids=["typed thunk", "generic dispatcher", "primitive predicate"],
)
def test_a_delegates_method_has_the_delegates_own_parameters(
    make: Any, params: list[str], ret: str, args: list[Any], expected: Any
) -> None:
    """Reflection-driven consumers call d.Method on d.Target: it takes the delegate's own
    arguments (no extra first parameter), as a C# lambda's method on its closure does."""
    d = make()
    assert [p.ParameterType.Name for p in d.Method.GetParameters()] == params  # was: TypedTarget first
    assert d.Method.ReturnType.Name == ret
    assert not d.Method.IsStatic and d.Target is not None
    assert d.Method.Invoke(d.Target, args) == expected
    assert d.DynamicInvoke(*args) == expected


def test_delegate_create_delegate_from_method_and_target_rebinds_a_python_callable() -> None:
    from System import Comparison, Delegate, Func

    f = Func[int, int, int](lambda a, b: b - a)
    cmp = Delegate.CreateDelegate(Comparison[int], f.Target, f.Method)  # a BCL shape reading Method
    assert cmp(1, 5) == 4
