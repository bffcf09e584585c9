""".NET objects made while an argument is converted (items of a generator, what a Mapping's
``items()`` or a codec returns) stay alive until .NET is done with them: nothing but the
conversion refers to them, and their handles must not be released before .NET reads them."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


def _uris(n: int) -> Iterator[Any]:
    from System import Uri

    for i in range(n):
        yield Uri(f"http://a/{i}")  # the generator keeps no reference to what it yielded


def test_string_join_of_a_generator_of_new_uris() -> None:
    from System import String, Uri

    assert String.Join(",", (Uri(f"http://a/{i}") for i in range(3))) == "http://a/0,http://a/1,http://a/2"


def test_generator_of_new_objects_for_an_array_parameter() -> None:
    from Fixtures.ValueChecks import Readers

    for _ in range(20):  # released handles are reused quickly: repeat so a stale read shows
        assert Readers.Array(_uris(5)) == "/0,/1,/2,/3,/4"
        gc.collect()


def test_generator_of_new_objects_for_a_lazy_ienumerable_parameter() -> None:
    from Fixtures.ValueChecks import Readers

    assert Readers.Lazy(_uris(4)) == "/0,/1,/2,/3"


class _FreshValues(Mapping[str, Any]):
    """A mapping whose values are made on each read: only the conversion holds them."""

    def __getitem__(self, key: str) -> Any:
        from System import Uri

        return Uri(f"http://a/{key}")

    def __iter__(self) -> Iterator[str]:
        return iter(["x", "y"])

    def __len__(self) -> int:
        return 2


def test_mapping_whose_items_are_made_on_read_for_a_dictionary_parameter() -> None:
    from Fixtures.ValueChecks import Readers

    assert Readers.Map(_FreshValues()) == "x=/x,y=/y"


class _Place:
    def __init__(self, path: str) -> None:
        self.path = path


def test_codec_that_returns_a_new_object() -> None:
    from Fixtures.ValueChecks import Readers
    from Fixtures.ValueRoundTrip import Slots
    from System import Object, Uri

    from pyclrbridge import register_codec

    undo = register_codec(_Place, lambda p: Uri(f"http://a/{p.path}"))
    try:
        assert Readers.One(_Place("p")) == "http://a/p"
        assert Readers.Array([_Place("q"), _Place("r")]) == "/q,/r"
        for _ in range(20):  # a callback result the codec made: .NET's handle outlives the proxy
            assert str(Slots[Object]().FromCallback(lambda: _Place("z"))) == "http://a/z"
            gc.collect()
    finally:
        undo()


# ---- tuples as keys: equal by value ------------------------------------------------------------


def test_equal_tuples_are_the_same_key_of_a_dictionary_of_object() -> None:
    from System import Int32, Object
    from System.Collections.Generic import Dictionary

    d = Dictionary[Object, Int32]()
    d[(1, "a")] = 5
    assert d[(1, "a")] == 5
    assert (1, "a") in d and (1, "b") not in d
    d[(1, "a")] = 6  # the same key again: replaced, not added
    assert d.Count == 1 and d[(1, "a")] == 6
    assert list(d.Keys) == [(1, "a")]
    assert d.ContainsKey((1, "a"))


def test_tuple_keys_of_any_length_nested_and_with_none() -> None:
    from System import Int32, Object
    from System.Collections.Generic import Dictionary

    d = Dictionary[Object, Int32]()
    keys = [(), (1,), tuple(range(7)), tuple(range(20)), (None, (2, "x")), ((1, 2), (3, 4))]
    for i, key in enumerate(keys):
        d[key] = i
    assert [d[tuple(key)] for key in keys] == list(range(len(keys)))
    assert d.Count == len(keys)
    del d[(None, (2, "x"))]
    assert (None, (2, "x")) not in d


def test_a_tuple_still_fills_arrays_and_lists() -> None:
    from System import Array, Int32
    from System.Collections.Generic import List

    assert list(List[Int32]((1, 2, 3))) == [1, 2, 3]
    jagged = Array[Array[Int32]]([(1, 2), (3,)])
    assert [list(row) for row in jagged] == [[1, 2], [3]]
    from Fixtures.Values import Echo

    assert Echo.MatrixShape(((1, 2, 3), (4, 5, 6))) == "2x3"
