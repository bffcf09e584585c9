"""The inlined hot paths (pyclrbridge/_members.py invokers, Property.__get__/__set__, the
callback dispatcher's number shortcut, block iteration of arrays) behave exactly like the
general rules they shortcut: the second call (cached invoker) equals the first, encoders
registered later still apply, and out-of-range or odd values still take the checked path."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


def test_repeated_calls_with_the_same_argument_kinds_return_the_same_results() -> None:
    from Fixtures.Values import Echo

    assert [Echo.Int32(7) for _ in range(3)] == [7, 7, 7]
    assert [Echo.String("héllo \ud800") for _ in range(3)] == ["héllo \ud800"] * 3
    assert [Echo.Double(0.25) for _ in range(3)] == [0.25] * 3
    assert [Echo.Boolean(True) for _ in range(3)] == [True] * 3
    assert Echo.Boolean(False) is False


def test_an_out_of_range_int_still_raises_overflow_after_the_invoker_is_cached() -> None:
    from Fixtures.Values import Echo

    assert Echo.UInt8(200) == 200  # caches the invoker for this argument kind
    with pytest.raises(OverflowError):
        Echo.UInt8(-1)
    with pytest.raises(OverflowError):
        Echo.Int32(2**31)


def test_an_encoder_registered_after_the_first_call_applies_to_ints() -> None:
    from Fixtures.Values import Echo

    import pyclrbridge

    assert Echo.Int32(5) == 5
    undo = pyclrbridge.register_codec(int, lambda x: x + 1)
    try:
        assert Echo.Int32(5) == 6
    finally:
        undo()
    assert Echo.Int32(5) == 5


def test_instance_method_on_a_released_object_raises_value_error() -> None:
    from Fixtures.Members import Widget

    import pyclrbridge

    w = Widget(1)
    w.Grow(2)  # caches the invoker
    pyclrbridge.release(w)
    with pytest.raises(ValueError, match="released"):
        w.Grow(2)


def test_property_get_and_set_round_trip_on_an_instance() -> None:
    from Fixtures.Members import Widget

    w = Widget(3)
    w.Size = 40
    assert w.Size == 40
    w.Size = -(2**31)
    assert w.Size == -(2**31)
    with pytest.raises(OverflowError):
        w.Size = 2**31


def test_property_of_a_released_object_raises_value_error() -> None:
    from Fixtures.Members import Widget

    import pyclrbridge

    w = Widget(3)
    assert w.Size == 3
    pyclrbridge.release(w)
    with pytest.raises(ValueError, match="released"):
        w.Size


def test_callback_int_results_and_arguments_cross_unchanged() -> None:
    from System import Comparison
    from System.Collections.Generic import List

    xs = List[int]([5, -3, 2**31 - 1, -(2**31), 0])
    seen: list[tuple[int, int]] = []

    def compare(a: int, b: int) -> int:
        seen.append((a, b))
        return (a > b) - (a < b)

    xs.Sort(Comparison[int](compare))
    assert list(xs) == [-(2**31), -3, 0, 5, 2**31 - 1]
    assert all(type(a) is int and type(b) is int for a, b in seen)


def test_int_and_double_arrays_iterate_to_equal_python_lists() -> None:
    from System import Array

    ints = list(range(-5, 70_000))  # more than one 64K block
    assert list(Array[int](ints)) == ints
    doubles = [i * 0.5 for i in range(1000)]
    assert list(Array[float](doubles)) == doubles
    assert list(Array[int]([])) == []


def test_multi_argument_calls_with_cached_invokers_keep_every_argument() -> None:
    from System import String, Version

    assert [String.Concat("a", "é\ud800") for _ in range(3)] == ["aé\ud800"] * 3
    v = [Version(1, 2, 3, 4) for _ in range(3)][-1]
    assert (v.Major, v.Minor, v.Build, v.Revision) == (1, 2, 3, 4)


def test_a_string_parameter_still_takes_none_after_a_str_call() -> None:
    from Fixtures.Values import Echo

    assert Echo.String("x") == "x"
    assert Echo.String("") == ""
    assert Echo.String(None) is None


def test_an_encoder_registered_after_the_first_call_applies_to_strings() -> None:
    from Fixtures.Values import Echo

    import pyclrbridge

    assert Echo.String("a") == "a"
    undo = pyclrbridge.register_codec(str, lambda s: s + "!")
    try:
        assert Echo.String("a") == "a!"
    finally:
        undo()
    assert Echo.String("a") == "a"


def test_dictionary_get_through_the_cached_invoker_matches_the_first_and_missing_keys_raise() -> None:
    from System.Collections.Generic import Dictionary

    import pyclrbridge

    d = Dictionary[str, int]()
    d["key"] = 1
    assert [d["key"] for _ in range(3)] == [1, 1, 1]
    with pytest.raises(KeyError):
        d["nope"]
    pyclrbridge.release(d)
    with pytest.raises(ValueError, match="released"):
        d["key"]


def test_long_string_results_with_astral_and_lone_surrogates_round_trip() -> None:
    from Fixtures.Values import Echo

    text = "a😀\ud800é" * 5000
    assert Echo.String(text) == text
    assert Echo.String(text[:1]) == "a"
