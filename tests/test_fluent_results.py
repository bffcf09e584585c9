"""A method whose result is the object it was called on (a fluent method: ``sb.Append(x)``
returns ``sb``) gives back the caller's own proxy: the same Python object, with no new handle,
no new proxy and no finalizer call later."""

from __future__ import annotations

from typing import Any

import pytest

import pyclrbridge
from pyclrbridge.testing import run_concurrently

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # no hypothesis for this interpreter (e.g. a free-threaded build): that test skips
    st = None


def _made(clr: Any) -> int:
    return int(clr.stats()["handles_allocated"])


def test_stringbuilder_append_returns_the_builder_itself(clr: Any) -> None:
    from System.Text import StringBuilder

    sb = StringBuilder()
    before = _made(clr)
    assert sb.Append("a") is sb
    assert sb.Append("b").Append(1).Append(2.5).AppendLine("c") is sb
    assert _made(clr) == before  # no handle was made for any of the five results
    assert str(sb).startswith("ab12.5c")


def test_fluent_fixture_methods(fixtures: Any) -> None:
    from Fixtures.Fluent import Chain

    c = Chain()
    before = _made(fixtures)
    assert c.Add(1).Add(2).AddText("abc") is c
    assert c.AsObject() is c  # declared object: the runtime object is still the target
    assert c.Again() is c
    assert _made(fixtures) == before
    assert (c.Count, c.Sum) == (3, 6)
    copy = c.Copy()
    assert copy is not c  # another object of the same type: a new proxy
    assert (copy.Count, copy.Sum) == (3, 6)


def test_a_result_declared_as_an_interface_is_equal_and_usable(fixtures: Any) -> None:
    from Fixtures.Fluent import Chain

    c = Chain().Add(5)
    touched = c.Touch()
    assert touched == c
    assert touched.Count == 1


def test_a_struct_returning_itself_gives_a_copy(fixtures: Any) -> None:
    from Fixtures.Fluent import Tally

    t = Tally()
    once = t.Inc()
    assert once is not t
    assert once.N == 1
    assert t.Boxed() is not t


def test_a_python_subclass_gets_itself_back(fixtures: Any) -> None:
    from Fixtures.Fluent import Chain

    class Mine(Chain):  # type: ignore[misc, valid-type]
        __namespace__ = "Tests.FluentResults"

    m = Mine()
    assert m.Add(3) is m
    assert m.Again() is m


def test_a_fluent_method_that_throws_raises_and_leaves_nothing(fixtures: Any) -> None:
    from Fixtures.Fluent import Chain

    c = Chain()
    live = fixtures.stats()["live_handles"]
    with pytest.raises(ValueError, match="x"):
        c.Fail(-1)
    assert c.Fail(1) is c
    fixtures.collect()
    assert fixtures.stats()["live_handles"] == live


def test_a_decoder_applies_to_a_fluent_result_as_to_any_result(fixtures: Any) -> None:
    from Fixtures.Fluent import Chain

    seen: list[Any] = []
    c = Chain()
    undo = pyclrbridge.register_codec(
        clr_type=Chain, decode=lambda chain: seen.append(chain) or ("decoded", chain.Count)
    )
    try:
        assert c.Add(1) == ("decoded", 1)
        assert c.Copy() == ("decoded", 1)
    finally:
        undo()
    assert seen[0] is c
    assert seen[1] is not c
    assert c.Add(2) is c


def test_released_between_calls_the_target_refuses(fixtures: Any) -> None:
    from Fixtures.Fluent import Chain

    c = Chain()
    assert c.Add(1) is c
    pyclrbridge.release(c)
    with pytest.raises(ValueError, match="released"):
        c.Add(2)


def test_many_threads_chain_their_own_builders(fixtures: Any) -> None:
    from Fixtures.Fluent import Chain

    live = fixtures.stats()["live_handles"]

    def work() -> None:
        c = Chain()
        for i in range(500):
            if c.Add(i) is not c:
                raise AssertionError("a fluent result was not the target's proxy")
        if c.Sum != sum(range(500)):
            raise AssertionError(f"lost items: {c.Sum}")

    run_concurrently(work, 8)  # raises the first thread's failure
    fixtures.collect()
    assert fixtures.stats()["live_handles"] == live


if st is not None:

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.one_of(st.integers(-(2**31), 2**31 - 1), st.text(max_size=20)), max_size=30))
    def test_any_chain_of_appends_keeps_identity_and_content(clr: Any, items: list[Any]) -> None:
        from System.Text import StringBuilder

        sb = StringBuilder()
        before = _made(clr)
        r = sb
        for item in items:
            r = r.Append(item)
            assert r is sb
        assert _made(clr) == before
        assert str(sb) == "".join(str(x) for x in items)

else:

    @pytest.mark.skip(reason="the property test of fluent chains needs hypothesis (test extra)")
    def test_any_chain_of_appends_keeps_identity_and_content() -> None:
        pass
