"""The plan cache of a method group, as a property: whatever calls came before, a call chooses
the overload a first call with the same arguments chooses."""

from __future__ import annotations

from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the plan cache property needs hypothesis (the test extra)")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


_values = st.one_of(
    st.integers(-(2**40), 2**40),
    st.sampled_from([0, 1, 200, 255, 256, -1, 2**31, -(2**31) - 1]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000),
    st.lists(st.one_of(st.integers(-300, 300), st.floats(-10, 10, width=32)), max_size=3),
)


def _outcome(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    try:
        return "result " + str(fn(*args, **kwargs))
    except (TypeError, ValueError, OverflowError) as e:
        return f"{type(e).__name__}: {str(e).splitlines()[0]}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calls=st.lists(
        st.tuples(st.lists(_values, min_size=1, max_size=2), st.integers(0, 2), st.booleans(), st.integers(0, 3)),
        min_size=1,
        max_size=6,
    )
)
def test_a_cached_choice_always_equals_a_fresh_resolution(calls: list[Any]) -> None:
    """Any sequence of calls mixing positional and keyword arguments chooses, call after call
    (with the plans of earlier calls cached), what a first call with those arguments chooses
    (a method group with nothing cached, as in a fresh process)."""
    from Fixtures.Binding import KeywordPick

    from pyclrbridge.proxies.members import MethodGroup

    group = KeywordPick.P
    for values, n_positional, swap, extra in calls:
        names = ["a", "b"][: len(values)]
        args = tuple(values[:n_positional])
        kwargs = dict(zip(names[n_positional:], values[n_positional:], strict=False))
        if swap:
            kwargs = dict(reversed(list(kwargs.items())))
        if extra == 3 and not kwargs and len(args) == 2:
            args = (*args, 7)  # bool plus loose params ints
        fresh = MethodGroup("P", "Fixtures.Binding.KeywordPick", group.overloads_list)
        assert _outcome(group, args, kwargs) == _outcome(fresh, args, kwargs), (args, kwargs)
