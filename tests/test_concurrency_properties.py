"""Property tests of the bridge's concurrency invariants.

Hypothesis draws a list of operations for each of several threads; the threads start together
at one barrier (``run_concurrently``), and every operation checks invariants as it goes
(``pyclrbridge.stress.Workload``: one class per type, every member present at first sight).
Afterwards each test checks its end-state invariants and runs the same operations again on
one thread: the results must be equal.

Invariants (each test's docstring says which it checks):

1. exactly one Python class per .NET type, across all threads;
2. no thread ever sees a partially built class (its members equal the shim's member table,
   computed independently of the class, the first time any thread sees it);
3. every handle is freed exactly once (``refused_frees`` does not grow) and live handles
   return to the baseline after ``collect()`` (plus the enum values the class cache keeps);
4. no torn cache: no ``KeyError`` or ``ArgumentException`` ("same key") escapes a cache;
5. the only exceptions are those the operations are documented to raise;
6. results equal those of the same operations run on one thread.

Defaults are short for CI; ``PYCLRBRIDGE_STRESS_EXAMPLES`` and ``PYCLRBRIDGE_STRESS_THREADS``
raise the example and thread counts for long local runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the concurrency property tests need hypothesis (the test extra)")

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from pyclrbridge._stress_checks import DELEGATE_ARGS
from pyclrbridge.proxies import catalog as _types
from pyclrbridge.proxies import enum_values as _enum_values
from pyclrbridge.stress import InvariantViolation, Workload
from pyclrbridge.testing import contention, run_concurrently

EXAMPLES = int(os.environ.get("PYCLRBRIDGE_STRESS_EXAMPLES", "4"))
THREADS = int(os.environ.get("PYCLRBRIDGE_STRESS_THREADS", "4"))

# Races do not replay, so shrinking would only report flakiness; no example database either.
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

Op = tuple[str, tuple[Any, ...]]

#: Exceptions the operations are documented to raise (invariant 5), per operation kind. None
#: today: a type argument .NET refuses (a byref-like struct, ``System.Void``) is an outcome
#: ``Workload.generic_list`` returns ("refused List[...]"), matched by message.
DOCUMENTED: dict[str, tuple[type[BaseException], ...]] = {}


@pytest.fixture(scope="module")
def workload(fixtures: Any, fixtures_dll: Path) -> Workload:
    return Workload(fixtures, fixtures_dll=str(fixtures_dll), seed=5)


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    with contention():
        yield


# ---- running drawn operations ------------------------------------------------------------


def execute(workload: Workload, op: Op) -> tuple[str, Any]:
    """Run one operation; ("ok", result) or ("raised", name) for a documented exception."""
    kind, args = op
    try:
        if kind == "generic":
            (element,) = args
            cls = workload.runtime.get_type(element) if isinstance(element, str) else element
            return "ok", workload.generic_list(cls)
        return "ok", getattr(workload, kind)(*args)
    except DOCUMENTED.get(kind, ()) as exc:
        text = str(exc)
        if isinstance(exc, KeyError) or "same key" in text:
            raise InvariantViolation(f"torn cache in {kind}{args}: {exc!r}") from exc
        return "raised", type(exc).__name__


def run_on_threads(workload: Workload, plans: Sequence[Sequence[Op]]) -> None:
    """Run each thread's plan concurrently, then again on one thread; results must match (6)."""
    concurrent = run_concurrently(
        lambda i: [execute(workload, op) for op in plans[i]], threads=len(plans), pass_index=True
    )
    single = [[execute(workload, op) for op in plan] for plan in plans]
    assert concurrent == single


def check_end_state(workload: Workload, before: dict[str, Any], enum_values_before: int) -> None:
    """Invariant 3: nothing freed twice; live handles back to baseline after collection."""
    workload.runtime.collect()
    after = workload.runtime.stats()
    assert after["refused_frees"] == before["refused_frees"], "a handle was freed twice"
    cached = len(_enum_values._enum_values) - enum_values_before
    assert after["live_handles"] == before["live_handles"] + cached
    assert after["callbacks_in_flight"] == 0


def baseline(workload: Workload) -> tuple[dict[str, Any], int]:
    workload.runtime.collect()
    return workload.runtime.stats(), len(_enum_values._enum_values)


def plans_of(op: st.SearchStrategy[Op], *, max_ops: int = 5) -> st.SearchStrategy[list[list[Op]]]:
    return st.lists(st.lists(op, min_size=1, max_size=max_ops), min_size=THREADS, max_size=THREADS)


def _names(workload: Workload) -> st.SearchStrategy[str]:
    return st.sampled_from(workload.all_type_names)


def lookup_ops(w: Workload) -> st.SearchStrategy[Op]:
    return _names(w).map(lambda n: ("lookup", (n,)))


def import_ops(w: Workload) -> st.SearchStrategy[Op]:
    return st.sampled_from(w.namespaces).map(lambda ns: ("import_namespace", (ns,)))


def generic_ops(w: Workload) -> st.SearchStrategy[Op]:
    element = st.one_of(st.sampled_from([int, float, str, bool, object]), _names(w))
    return element.map(lambda e: ("generic", (e,)))


def delegate_ops(w: Workload) -> st.SearchStrategy[Op]:
    arg = st.sampled_from(DELEGATE_ARGS)
    return st.tuples(st.lists(arg, max_size=6), arg).map(lambda t: ("delegate", (tuple(t[0]), t[1])))


def object_ops(w: Workload) -> st.SearchStrategy[Op]:
    return st.tuples(st.integers(1, 15), st.sampled_from([0, 1, 2, 3])).map(lambda t: ("objects", t))


def event_ops(w: Workload) -> st.SearchStrategy[Op]:
    return st.integers(1, 4).map(lambda n: ("events", (n,)))


def callback_ops(w: Workload) -> st.SearchStrategy[Op]:
    return st.integers(1, 40).map(lambda n: ("callbacks", (n,)))


def reference_ops(w: Workload) -> st.SearchStrategy[Op]:
    return st.just(("add_reference", ()))


ALL_OPS: tuple[Callable[[Workload], st.SearchStrategy[Op]], ...] = (
    lookup_ops,
    import_ops,
    generic_ops,
    delegate_ops,
    object_ops,
    event_ops,
    callback_ops,
    reference_ops,
)


# ---- one property per operation family ---------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_type_lookup_by_name_gives_one_complete_class(workload: Workload, data: st.DataObject) -> None:
    """Threads look up drawn (mostly never-built) types by name at once.

    Invariants 1 (one class per type), 2 (complete at first sight), 5 (no exceptions) and
    6 (same class names as a one-thread run).
    """
    run_on_threads(workload, data.draw(plans_of(lookup_ops(workload))))


@SETTINGS
@given(data=st.data())
def test_namespace_import_gives_one_module_and_one_class(workload: Workload, data: st.DataObject) -> None:
    """Threads import drawn namespaces and read a type from each at once.

    Invariants 1 (one module per namespace, one class per type, stable attributes), 2, 5, 6.
    """
    run_on_threads(workload, data.draw(plans_of(import_ops(workload))))


@SETTINGS
@given(data=st.data())
def test_generic_instantiation_gives_one_class_per_construction(workload: Workload, data: st.DataObject) -> None:
    """Threads instantiate ``List[X]`` for drawn X (Python types and never-built .NET types).

    Invariants 1 (``List[X] is List[X]`` across threads), 2 (the constructed class is complete),
    4 (no "same key" from the generic caches), 5 (only .NET's ArgumentException for a type it
    refuses as a generic argument), 6.
    """
    run_on_threads(workload, data.draw(plans_of(generic_ops(workload))))


def test_delegate_conversion_for_fresh_func_types(workload: Workload) -> None:
    """Threads convert callables to ``Func[...]`` of drawn arity (0-6) and argument types.

    Invariants 1 (one class per Func type), 4 (one compiled factory per delegate type, no
    emission error), 5, 6 (each delegate returns what its callable returned, with the
    arguments it was given); 3 after collection (no delegate's Python object leaks).
    """
    before, enums = baseline(workload)

    @SETTINGS
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        run_on_threads(workload, data.draw(plans_of(delegate_ops(workload), max_ops=3)))

    run()
    check_end_state(workload, before, enums)


def test_objects_created_and_dropped_free_every_handle_once(workload: Workload) -> None:
    """Threads create objects, release some explicitly and drop the rest.

    Invariant 3: ``refused_frees`` does not grow (no handle freed twice) and live handles
    return to the baseline after ``collect()``; 5 and 6.
    """
    before, enums = baseline(workload)

    @SETTINGS
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        run_on_threads(workload, data.draw(plans_of(object_ops(workload), max_ops=3)))

    run()
    check_end_state(workload, before, enums)


def test_event_add_remove_on_one_publisher_balances(workload: Workload) -> None:
    """Threads add handlers to one shared .NET event, raise it, and remove them, all at once.

    Invariants: every handler ran for its own thread's raise (it was subscribed then); after
    the last removal the event has no handlers (no lost add/remove); 3 (the handlers' Python
    objects are released after collection); plus per-thread events on fresh objects (6).
    """
    from Fixtures.Events import Publisher

    publisher = Publisher()  # lives through the end-state check: created before the baseline
    before, enums = baseline(workload)

    @SETTINGS
    @given(handlers=st.lists(st.integers(1, 4), min_size=THREADS, max_size=THREADS))
    def run(handlers: list[int]) -> None:
        def subscribe_raise_unsubscribe(index: int) -> list[int]:
            calls = [0] * handlers[index]
            fns = []
            for k in range(handlers[index]):

                def on_tick(value: int, k: int = k) -> None:
                    if value == index:
                        calls[k] += 1

                fns.append(on_tick)
                publisher.Ticked += on_tick
            publisher.Tick(index)
            for fn in fns:
                publisher.Ticked -= fn
            workload.events(handlers[index])
            return calls

        results = run_concurrently(subscribe_raise_unsubscribe, threads=THREADS, pass_index=True)
        assert results == [[1] * n for n in handlers]
        assert publisher.TickedHandlerCount == 0

    run()
    check_end_state(workload, before, enums)


@SETTINGS
@given(threads=st.integers(2, THREADS + 2))
def test_add_reference_of_the_fixture_assembly_is_idempotent(
    workload: Workload, fixtures_dll: Path, threads: int
) -> None:
    """Threads ``add_reference`` the fixture assembly at once and import from it.

    Invariants: every call returns the same assembly (one load, shared type identity: the
    class read after each call is the one class for its type, invariant 1); 5 and 6.
    """

    def reference(index: int) -> tuple[str, int]:
        info = workload.runtime.add_reference(fixtures_dll)
        from Fixtures.Concurrency import SafeCounter

        return info.full_name, id(workload.check_class(SafeCounter))

    results = run_concurrently(reference, threads=threads, pass_index=True)
    assert len(set(results)) == 1


def test_callbacks_from_dotnet_threads_run_exactly_once(workload: Workload) -> None:
    """Python threads each start .NET worker threads (``Parallel.For``, dedicated threads)
    that call Python back, all at once.

    Invariants: every callback ran exactly once per call (no lost or doubled dispatch), no
    callback is left in flight, 3 (the callables are released after collection), 5, 6.
    """
    from Fixtures.Delegates import Invoker

    before, enums = baseline(workload)

    @SETTINGS
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        plans = data.draw(plans_of(callback_ops(workload), max_ops=2))
        each = data.draw(st.integers(1, 20))

        def from_dedicated_threads(index: int) -> tuple[int, int]:
            got = [0]

            def action() -> None:
                got[0] += 1  # one .NET thread per call below, so no lost update

            return Invoker.CallOnThreads(action, 1, each), got[0]

        run_on_threads(workload, plans)
        assert run_concurrently(from_dedicated_threads, threads=THREADS, pass_index=True) == [(each, each)] * THREADS

    run()
    check_end_state(workload, before, enums)


# ---- everything mixed: a state machine ---------------------------------------------------


class ConcurrentBridge(RuleBasedStateMachine):
    """Each step runs a drawn mix of every operation on all threads at once.

    Invariants after every step: 3 (no handle freed twice, no callback in flight), 4 (every
    cached class is filed under its own type id, and no class object is filed twice), 1 (a
    type name resolves to the class every thread saw). At teardown: live handles back to
    the baseline after collection (3).
    """

    workload: Workload  # set by the test before the machine runs

    def __init__(self) -> None:
        super().__init__()
        self.before, self.enums = baseline(self.workload)

    @rule(data=st.data())
    def run_mixed_batch(self, data: st.DataObject) -> None:
        op = st.one_of([make(self.workload) for make in ALL_OPS])
        run_on_threads(self.workload, data.draw(plans_of(op, max_ops=4)))

    @invariant()
    def nothing_freed_twice_nothing_in_flight(self) -> None:
        stats = self.workload.runtime.stats()
        assert stats["refused_frees"] == self.before["refused_frees"]
        assert stats["callbacks_in_flight"] == 0

    @invariant()
    def class_cache_is_consistent(self) -> None:
        complete = dict(_types._complete)
        assert all(cls.__dict__["__clr_type_id__"] == tid for tid, cls in complete.items())
        assert len({id(c) for c in complete.values()}) == len(complete)

    def teardown(self) -> None:
        check_end_state(self.workload, self.before, self.enums)


def test_mixed_operations_state_machine(workload: Workload) -> None:
    """Runs :class:`ConcurrentBridge` (all invariants, all operations mixed)."""
    ConcurrentBridge.workload = workload
    run_state_machine_as_test(
        ConcurrentBridge, settings=settings(SETTINGS, max_examples=max(2, EXAMPLES // 2), stateful_step_count=3)
    )
