"""``pyclrbridge.testing``: run_concurrently, contention, and the values_for strategies.

The guide's example (docs/testing.md) runs here against a deliberately unsafe .NET counter
(it must be caught) and a safe one (it must pass).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="pyclrbridge.testing is tested with hypothesis (test extra)")

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure

from pyclrbridge.testing import ConcurrentFailure, contention, run_concurrently, values_for

pytestmark = pytest.mark.usefixtures("fixtures")

QUICK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---- the guide's example (keep in sync with docs/testing.md) ---------------------------


def counter_counts_every_increment(counter_class: Any) -> Any:
    """The property test from docs/testing.md, for any class with Increment() and Value."""

    @settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.generate])
    @given(threads=st.integers(min_value=2, max_value=8), per_thread=st.integers(min_value=200, max_value=1000))
    def test(threads: int, per_thread: int) -> None:
        counter = counter_class()

        def work() -> None:
            for _ in range(per_thread):
                counter.Increment()

        with contention():
            run_concurrently(work, threads=threads)
        assert counter.Value == threads * per_thread

    return test


def test_guide_example_catches_the_unsafe_counter() -> None:
    from Fixtures.Concurrency import UnsafeCounter

    # A race does not always replay: hypothesis reports it as an AssertionError or, when the
    # replay of the failing example passed, as a FlakyFailure wrapping that AssertionError.
    with pytest.raises((AssertionError, FlakyFailure)) as info:
        counter_counts_every_increment(UnsafeCounter)()
    if isinstance(info.value, FlakyFailure):
        assert info.value.subgroup(AssertionError) is not None


def test_guide_example_passes_for_the_safe_counter() -> None:
    from Fixtures.Concurrency import SafeCounter

    counter_counts_every_increment(SafeCounter)()


# ---- run_concurrently -------------------------------------------------------------------


def test_run_concurrently_returns_results_in_thread_order() -> None:
    assert run_concurrently(lambda i: i * 10, threads=6, pass_index=True) == [0, 10, 20, 30, 40, 50]


def test_run_concurrently_calls_overlap_inside_dotnet() -> None:
    """A .NET Barrier of N parties completes only if all N calls are inside .NET at once."""
    from Fixtures.Concurrency import Rendezvous

    with Rendezvous(4) as rendezvous:
        assert run_concurrently(rendezvous.Arrive, threads=4, args=(10_000,)) == [True] * 4


def test_run_concurrently_names_the_failing_thread() -> None:
    def call(index: int) -> None:
        if index == 2:
            raise KeyError("boom")

    with pytest.raises(ConcurrentFailure, match=r"thread 2 \(run_concurrently-2\)") as info:
        run_concurrently(call, threads=4, pass_index=True)
    assert info.value.thread == 2
    assert info.value.failures == 1
    assert isinstance(info.value.__cause__, KeyError)


def test_run_concurrently_reraises_dotnet_exceptions_as_cause() -> None:
    """Eight threads adding one missing key to a racy Dictionary: some Add throws."""
    import System
    from Fixtures.Concurrency import RacyCache

    cache = RacyCache(5)
    with pytest.raises(ConcurrentFailure) as info:
        run_concurrently(cache.GetOrAdd, threads=8, args=("same-key", 1))
    assert isinstance(info.value.__cause__, (System.ArgumentException, System.InvalidOperationException))


def test_run_concurrently_rejects_zero_threads() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_concurrently(lambda: None, threads=0)


def test_contention_restores_the_switch_interval() -> None:
    before = sys.getswitchinterval()
    with contention(1e-6):
        assert sys.getswitchinterval() == pytest.approx(1e-6)
    assert sys.getswitchinterval() == before


def test_run_concurrently_uses_separate_threads() -> None:
    idents = run_concurrently(threading.get_ident, threads=5)
    assert len(set(idents)) == 5


# ---- values_for: every drawn value is accepted by .NET and round-trips ------------------

INTEGER_ECHOES = ["Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64"]
INTEGER_TYPES = [
    "System.SByte",
    "System.Byte",
    "System.Int16",
    "System.UInt16",
    "System.Int32",
    "System.UInt32",
    "System.Int64",
    "System.UInt64",
]


@pytest.mark.parametrize(("type_name", "echo"), list(zip(INTEGER_TYPES, INTEGER_ECHOES, strict=True)))
def test_values_for_integers_round_trip_over_the_exact_range(type_name: str, echo: str) -> None:
    from Fixtures.Values import Echo

    method = getattr(Echo, echo)

    @QUICK
    @given(values_for(type_name))
    def check(value: int) -> None:
        assert method(value) == value

    check()


@pytest.mark.parametrize(
    ("type_name", "limits"),
    [
        ("System.SByte", (-(2**7), 2**7 - 1)),
        ("System.UInt16", (0, 2**16 - 1)),
        ("System.Int64", (-(2**63), 2**63 - 1)),
        ("System.UInt64", (0, 2**64 - 1)),
    ],
)
def test_values_for_integers_stay_within_and_reach_the_limits(type_name: str, limits: tuple[int, int]) -> None:
    from hypothesis import find

    low, high = limits
    strategy = values_for(type_name)
    assert find(strategy, lambda v: v >= high) == high
    assert find(strategy, lambda v: v <= low) == low


@QUICK
@given(st.data())
def test_values_for_scalars_round_trip(data: st.DataObject) -> None:
    from Fixtures.Values import Echo

    for type_name, echo in [
        ("System.Double", Echo.Double),
        ("System.Single", Echo.Single),
        ("System.Decimal", Echo.Decimal),
        ("System.Boolean", Echo.Boolean),
        ("System.Char", Echo.Char),
        ("System.String", Echo.String),
    ]:
        value = data.draw(values_for(type_name), label=type_name)
        assert echo(value) == value


@QUICK
@given(st.data())
def test_values_for_enums_draw_named_values_and_flag_combinations(data: st.DataObject) -> None:
    from Fixtures.Enums import Color, EnumTools, Perms

    color = data.draw(values_for(Color))
    assert EnumTools.IsDefined(color)
    perms = data.draw(values_for(Perms))
    assert isinstance(perms, Perms)
    assert int(perms) & ~int(Perms.All) == 0


@QUICK
@given(st.data())
def test_values_for_containers_build_objects_of_exactly_that_type(data: st.DataObject) -> None:
    import System
    from Fixtures.Values import Echo
    from System.Collections.Generic import Dictionary, List

    ints = data.draw(values_for(List[int]))
    assert type(ints) is List[int]
    assert list(Echo.IntList(ints)) == list(ints)
    mapping = data.draw(values_for(Dictionary[str, int]))
    assert type(mapping) is Dictionary[str, int]
    assert Echo.StrIntDict(mapping).Count == mapping.Count
    array = data.draw(values_for(System.Array[System.Int32]))
    assert list(Echo.Ints(array)) == list(array)


@QUICK
@given(st.data())
def test_values_for_nullable_draws_none_or_a_value(data: st.DataObject) -> None:
    import System
    from Fixtures.Values import Echo

    value = data.draw(values_for(System.Nullable[System.Int32]))
    assert value is None or -(2**31) <= value < 2**31
    assert Echo.NullableInt(value) == value


def test_values_for_accepts_python_types() -> None:
    from hypothesis import find

    assert isinstance(find(values_for(int), lambda v: v > 2**30), int)
    assert isinstance(find(values_for(str), lambda v: len(v) > 2), str)


def test_values_for_refuses_unsupported_types_by_name() -> None:
    from Fixtures.Members import Widget

    with pytest.raises(TypeError, match=r"cannot draw values of Fixtures\.Members\.Widget"):
        values_for(Widget)
