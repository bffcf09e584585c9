"""A linearizability checker for .NET objects (re-exported by `pyclrbridge.testing`).

`check_linearizable()` draws scenarios with hypothesis (per thread, a list of operations and
their arguments), runs each one many times with every thread started at one barrier, records
each call's start, end and result, and searches each history for a linearization: one
sequential order of the same calls, each placed somewhere between its start and its end, in
which a sequential model returns every result the object returned. The search is the
Wing-Gong algorithm with memoisation of (model state, set of calls done), as Porcupine does.

A history with no linearization fails the example; hypothesis then shrinks the scenario, and
the report shows the smallest failing history as a timeline per thread.

Model states are compared by value: the model must be copyable (``copy.deepcopy`` by default,
``copy=`` otherwise), and its canonical key (`state_key()`, or ``key=``) must be equal only for
equal states (hashable states are used as they are; dicts, lists, deques, sets and tuples are
frozen element by element; anything else is pickled, else its ``repr`` is used).
"""

from __future__ import annotations

import collections
import copy as _copy
import functools
import pickle
import sys
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .host.bridge import releasing_gil

__all__ = [
    "Call",
    "LinearizabilityReport",
    "Op",
    "check_linearizable",
    "find_linearization",
    "linearizability_test",
    "releasing_gil",
    "state_key",
]


class Op:
    """One operation of a scenario.

    Args:
        name: shown in reports.
        call: ``call(obj, *args)`` runs the operation on the object under test.
        model_step: ``model_step(model, *args)`` runs it on the sequential model (mutating the
            model in place) and returns the result ``call`` must have returned; it may raise,
            or return, the exception (instance or class) a .NET exception maps to.
        argument_strategies: one hypothesis strategy per argument.
    """

    __slots__ = ("call", "model_step", "name", "strategies")

    def __init__(
        self, name: str, call: Callable[..., Any], model_step: Callable[..., Any], *argument_strategies: Any
    ) -> None:
        if not callable(call) or not callable(model_step):
            raise TypeError(f"Op {name!r}: call and model_step must be callable")
        self.name = name
        self.call = call
        self.model_step = model_step
        self.strategies = argument_strategies

    def __repr__(self) -> str:
        return f"Op({self.name!r}, {len(self.strategies)} argument(s))"


@dataclass(frozen=True)
class Call:
    """One call of a history: who made it, when (``time.perf_counter_ns``), and what it gave.

    ``raised`` is True when ``result`` is the exception the call raised.
    """

    thread: int
    op: Op
    args: tuple[Any, ...]
    start: int
    end: int
    result: Any
    raised: bool = False

    def describe(self) -> str:
        """``name(args) -> result`` (or ``raised Type: message``)."""
        args = ", ".join(repr(a) for a in self.args)
        if self.raised:
            return f"{self.op.name}({args}) raised {type(self.result).__name__}: {self.result}"
        return f"{self.op.name}({args}) -> {self.result!r}"


_OBJECT_EQ: object = object.__eq__


def state_key(state: Any) -> Hashable:
    """The canonical key of a model state: equal keys must mean equal states.

    Hashable values are their own key (unless their equality is identity: then their attributes
    are the key); dicts, lists, deques, tuples and sets are frozen element by
    element (a dict's order does not matter, a list's does); anything else is pickled, and if it
    cannot be pickled its ``repr`` is used (so such a state's ``repr`` must show all of it).
    """
    if isinstance(state, dict):
        return ("dict", frozenset((state_key(k), state_key(v)) for k, v in state.items()))
    if isinstance(state, (list, collections.deque, tuple)):
        return (type(state).__name__, tuple(state_key(v) for v in state))
    if isinstance(state, (set, frozenset)):
        return ("set", frozenset(state_key(v) for v in state))
    eq: object = type(state).__eq__
    if eq is _OBJECT_EQ and hasattr(state, "__dict__"):
        # equality would be identity, and every copy differs: compare the attributes instead
        return ("attrs", type(state).__qualname__, state_key(vars(state)))
    try:
        hash(state)
    except TypeError:
        pass
    else:
        hashable: Hashable = state
        return hashable
    try:
        return ("pickle", type(state).__qualname__, pickle.dumps(state))
    except Exception:  # any failure to pickle: fall back on repr
        return ("repr", type(state).__qualname__, repr(state))


def _same_exception(actual: BaseException, expected: Any) -> bool:
    expected_type = expected if isinstance(expected, type) else type(expected)
    if isinstance(actual, expected_type):
        return True
    # The model raised a Python exception the .NET one maps to, or one of its bases.
    return isinstance(expected, BaseException) and isinstance(expected, type(actual))


def _matches(c: Call, model_result: Any, model_raised: bool) -> bool:
    expected_error = (
        model_raised
        or isinstance(model_result, BaseException)
        or (isinstance(model_result, type) and issubclass(model_result, BaseException))
    )
    if c.raised or expected_error:
        return c.raised and expected_error and _same_exception(c.result, model_result)
    try:
        return bool(c.result == model_result)
    except Exception:  # a comparison that fails is a mismatch
        return False


def _step(op: Op, model: Any, args: tuple[Any, ...]) -> tuple[Any, bool]:
    try:
        return op.model_step(model, *args), False
    except Exception as exc:  # the model's exception is a result
        return exc, True


def find_linearization(
    history: Sequence[Call],
    model: Callable[[], Any],
    *,
    copy: Callable[[Any], Any] = _copy.deepcopy,
    key: Callable[[Any], Hashable] = state_key,
) -> list[Call] | None:
    """A sequential order of ``history``'s calls that the model explains, or None if none exists.

    A call may come next when no call still to place ended before it started (real-time order is
    kept); the model, started fresh from ``model()``, must return each call's result. Memoised on
    (model state key, calls done): a state reached twice with the same calls done is searched once.
    """
    calls = list(history)
    n = len(calls)
    full = (1 << n) - 1
    seen: set[tuple[int, Hashable]] = set()
    order: list[int] = []

    def search(done: int, state: Any) -> bool:
        if done == full:
            return True
        memo = (done, key(state))
        if memo in seen:
            return False
        seen.add(memo)
        pending = [i for i in range(n) if not done >> i & 1]
        first_end = min(calls[i].end for i in pending)
        for i in pending:
            c = calls[i]
            if c.start > first_end:
                continue  # some pending call ended before this one started: it must go first
            nxt = copy(state)
            result, raised = _step(c.op, nxt, c.args)
            if _matches(c, result, raised):
                order.append(i)
                if search(done | 1 << i, nxt):
                    return True
                order.pop()
        return False

    limit = sys.getrecursionlimit()
    if n + 50 > limit:
        sys.setrecursionlimit(n + 100)
    try:
        found = search(0, model())
    finally:
        sys.setrecursionlimit(limit)
    return [calls[i] for i in order] if found else None


@dataclass
class LinearizabilityReport:
    """What `check_linearizable()` found.

    Attributes:
        linearizable: no history without a linearization was seen.
        histories_checked: how many histories were recorded and searched.
        scenarios: how many scenarios (hypothesis examples, shrinking included) were run.
        history: the smallest history that has no linearization (None when linearizable).
        elapsed: seconds spent.
        budget_exhausted: the time budget ended the check before ``examples`` were run.
    """

    linearizable: bool
    histories_checked: int
    scenarios: int
    history: list[Call] | None = None
    elapsed: float = 0.0
    budget_exhausted: bool = False
    threads: int = 0
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.linearizable

    def __str__(self) -> str:
        head = f"{self.histories_checked} histories of {self.scenarios} scenarios checked in {self.elapsed:.2f} s" + (
            " (time budget exhausted)" if self.budget_exhausted else ""
        )
        if self.linearizable or not self.history:
            return f"linearizable: {head}"
        return f"NOT linearizable: {head}\n" + timeline(self.history)


def timeline(history: Sequence[Call], width: int = 60) -> str:
    """A history as one line per call, grouped by thread, with its interval in microseconds and a
    bar showing where it ran (calls whose bars overlap ran at the same time)."""
    if not history:
        return "(empty history)"
    t0 = min(c.start for c in history)
    t1 = max(c.end for c in history)
    span = max(t1 - t0, 1)
    lines = [f"no order of these {len(history)} calls explains every result (times in µs from the first start):"]
    for thread in sorted({c.thread for c in history}):
        lines.append(f"thread {thread}:")
        for c in sorted((c for c in history if c.thread == thread), key=lambda c: c.start):
            a = (c.start - t0) * width // span
            b = max((c.end - t0) * width // span, a + 1)
            bar = " " * a + "#" * (b - a) + " " * (width - b)
            lines.append(f"  |{bar}| {(c.start - t0) / 1000:9.1f} .. {(c.end - t0) / 1000:9.1f}  {c.describe()}")
    return "\n".join(lines)


def _size(history: Sequence[Call]) -> tuple[int, int]:
    return (len(history), len({c.thread for c in history}))


def _run_once(create: Callable[[], Any], scenario: list[list[tuple[Op, tuple[Any, ...]]]]) -> list[Call]:
    """Run one scenario on a fresh object, every thread released by one barrier."""
    obj = create()
    barrier = threading.Barrier(len(scenario))
    # Each thread appends only to its own list; the lists are read after every thread joined.
    records: list[list[Call]] = [[] for _ in scenario]
    clock = time.perf_counter_ns

    def worker(index: int) -> None:
        mine = records[index]
        steps = scenario[index]
        barrier.wait()
        for op, args in steps:
            start = clock()
            try:
                result = op.call(obj, *args)
                raised = False
            except Exception as exc:  # a .NET exception is a result too
                result, raised = exc, True
            end = clock()
            mine.append(Call(index, op, args, start, end, result, raised))

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(scenario))]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60.0)
        if w.is_alive():
            raise TimeoutError("a scenario's thread did not finish within 60 s (a call hangs?)")
    return [c for thread in records for c in thread]


def _hypothesis() -> Any:
    try:
        import hypothesis
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("pyclrbridge.testing.check_linearizable needs hypothesis: pip install hypothesis") from exc
    return hypothesis


def check_linearizable(
    *,
    create: Callable[[], Any],
    model: Callable[[], Any],
    ops: Sequence[Op],
    threads: int = 3,
    ops_per_thread: int = 4,
    examples: int = 100,
    runs: int = 10,
    copy: Callable[[Any], Any] = _copy.deepcopy,
    key: Callable[[Any], Hashable] = state_key,
    time_budget: float | None = 30.0,
    contention: bool = True,
    release_gil: bool = True,
) -> LinearizabilityReport:
    """Look for a history of concurrent calls that no sequential order explains.

    Draws up to ``examples`` scenarios (per thread, up to ``ops_per_thread`` calls of ``ops`` with
    drawn arguments), runs each ``runs`` times on a fresh ``create()`` object with all threads
    released by one barrier, and searches every recorded history for a linearization against a
    fresh ``model()`` (see `find_linearization()`). On the first history without one, hypothesis
    shrinks the scenario; the report keeps the smallest failing history seen.

    Args:
        create: makes a fresh object under test (one per run).
        model: makes a fresh sequential model (mutable: ``Op.model_step`` changes it in place).
        ops: the operations scenarios are drawn from.
        threads: threads per scenario.
        ops_per_thread: at most this many calls per thread.
        examples: hypothesis examples (scenarios) to draw.
        runs: how many times each scenario is run.
        copy: copies a model state (the search branches on copies).
        key: the canonical key of a model state (equal keys must mean equal states).
        time_budget: seconds after which no new scenario is run (None: no limit).
        contention: switch Python threads as often as possible while running (GIL builds).
        release_gil: release the GIL in .NET calls (methods, property and field accessors,
            ``str()``/``hash()``) while running (see `releasing_gil()`), so calls overlap even
            where the bridge would keep it.

    Returns:
        A `LinearizabilityReport`; ``assert report.linearizable, report`` prints the history.
    """
    if threads < 1 or ops_per_thread < 1 or examples < 1 or runs < 1:
        raise ValueError("threads, ops_per_thread, examples and runs must all be at least 1")
    ops = list(ops)
    if not ops:
        raise ValueError("check_linearizable needs at least one Op")
    for op in ops:
        if not isinstance(op, Op):
            raise TypeError(f"ops must be Op objects, not {type(op).__name__}")
    hyp = _hypothesis()
    st = hyp.strategies
    one_call = st.one_of(*(st.tuples(st.just(op), st.tuples(*op.strategies)) for op in ops))
    scenario_strategy = st.lists(
        st.lists(one_call, min_size=0, max_size=ops_per_thread), min_size=threads, max_size=threads
    )
    report = LinearizabilityReport(True, 0, 0, threads=threads)
    started = time.monotonic()
    deadline = None if time_budget is None else started + time_budget

    def run_scenario(scenario: list[list[tuple[Op, tuple[Any, ...]]]]) -> None:
        if deadline is not None and time.monotonic() > deadline:
            report.budget_exhausted = True
            raise _BudgetExhausted()  # a BaseException: hypothesis stops at once, shrinks nothing
        report.scenarios += 1
        for _ in range(runs):
            history = _run_once(create, scenario)
            report.histories_checked += 1
            if find_linearization(history, model, copy=copy, key=key) is None:
                if report.history is None or _size(history) < _size(report.history):
                    report.history = history
                report.linearizable = False
                raise _NotLinearizable()

    test = hyp.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=False,
        phases=[hyp.Phase.generate, hyp.Phase.shrink],
        suppress_health_check=list(hyp.HealthCheck),
        print_blob=False,
        verbosity=hyp.Verbosity.quiet,
    )(hyp.given(scenario_strategy)(run_scenario))
    stack = [releasing_gil()] if release_gil else []
    previous = sys.getswitchinterval()
    try:
        for cm in stack:
            cm.__enter__()
        if contention:
            sys.setswitchinterval(1e-6)
        test()
    except (_NotLinearizable, _BudgetExhausted):
        pass
    except Exception as exc:
        # Hypothesis may call a failure flaky (a racy failure seldom replays): the failing history
        # we recorded stands regardless; anything else is the caller's error.
        if report.linearizable:
            raise
        report.notes.append(f"hypothesis: {type(exc).__name__}")
    finally:
        sys.setswitchinterval(previous)
        for cm in reversed(stack):
            cm.__exit__(None, None, None)
    report.elapsed = time.monotonic() - started
    return report


class _BudgetExhausted(BaseException):
    """Raised inside the hypothesis test once the time budget is spent: hypothesis lets a
    ``BaseException`` that is not an ``Exception`` through without replaying or shrinking."""


class _NotLinearizable(AssertionError):
    """Raised inside the hypothesis test when a history has no linearization."""


def linearizability_test(
    **options: Any,
) -> Callable[[Callable[[], Any]], Callable[[], None]]:
    """A decorator making a pytest test of a function that creates the object under test.

    ``options`` are `check_linearizable()`'s arguments other than ``create``; the test fails
    with the report (the smallest failing history as a timeline) when a history has no
    linearization::

        @linearizability_test(model=collections.deque, ops=[...], time_budget=10)
        def test_my_queue():
            return MyQueue()
    """

    def decorate(create: Callable[[], Any]) -> Callable[[], None]:
        @functools.wraps(create)
        def test() -> None:
            report = check_linearizable(create=create, **options)
            if not report.linearizable:
                raise AssertionError(str(report))

        return test

    return decorate
