"""Python values for the .NET shapes that view or list them: a ``dict`` for
``IEnumerable<KeyValuePair<K, V>>`` (its items as pairs, in order), and bytes-like buffers for
``ReadOnlyMemory<byte>``, ``Memory<byte>``, ``ReadOnlySpan<T>`` and ``Span<T>`` parameters
(a .NET array made from the buffer; a writable buffer sees what .NET wrote once the call returns)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _clr(clr: Any) -> Any:
    return clr


# ---- a dict for IEnumerable<KeyValuePair<K, V>> --------------------------------------------------


def test_dict_fills_a_concurrent_dictionary_through_its_pairs_constructor() -> None:
    from System import Int32, String
    from System.Collections.Concurrent import ConcurrentDictionary

    # ConcurrentDictionary(IEnumerable<KeyValuePair<K, V>>) is its only collection constructor
    made = ConcurrentDictionary[String, Int32]({"a": 1, "b": 2})
    assert made.Count == 2 and made["a"] == 1 and made["b"] == 2


def test_dict_items_reach_dotnet_as_pairs_in_the_dicts_order() -> None:
    from System import Int32, String
    from System.Collections.Generic import KeyValuePair, List

    pairs = List[KeyValuePair[String, Int32]]()
    pairs.AddRange({"z": 26, "a": 1, "m": 13})  # AddRange(IEnumerable<T>) with T a KeyValuePair
    assert [(p.Key, p.Value) for p in pairs] == [("z", 26), ("a", 1), ("m", 13)]


def test_dict_values_are_converted_and_checked_against_the_pair_types() -> None:
    from System import Byte, String
    from System.Collections.Concurrent import ConcurrentDictionary

    with pytest.raises(OverflowError, match=r"256 is out of range for System\.Byte"):
        ConcurrentDictionary[String, Byte]({"a": 256})
    with pytest.raises(TypeError):
        ConcurrentDictionary[String, Byte]({1: 1})  # an int key for String


def test_dictionary_type_is_preferred_to_pairs_when_both_fit() -> None:
    from System import Int32, String
    from System.Collections.Generic import Dictionary

    # Dictionary(IDictionary<K, V>) and Dictionary(IEnumerable<KeyValuePair<K, V>>) both take a dict
    made = Dictionary[String, Int32]({"a": 1})
    assert made.Count == 1 and made["a"] == 1
