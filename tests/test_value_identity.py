"""Python objects keep their identity through .NET (object-typed fields, properties, array
elements, collection items, return values, callback arguments), and .NET's Equals,
GetHashCode and ToString on them answer with Python's ==, hash() and str()."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import assert_clean_exit, run_python


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


class Point:
    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other.x == self.x

    def __hash__(self) -> int:
        return hash(("Point", self.x))

    def __str__(self) -> str:
        return f"Point({self.x})"


def _slots() -> Any:
    import System
    from Fixtures.ValueRoundTrip import Slots

    return Slots[System.Object]


def test_python_object_comes_back_identical_through_fields_and_properties() -> None:
    s = _slots()()
    p = Point(1)
    s.Field = p
    s.Property = p
    _slots().StaticField = p
    assert s.Field is p and s.Property is p and _slots().StaticField is p


def test_python_object_comes_back_identical_from_a_method_and_a_callback_argument() -> None:
    s = _slots()()
    p = Point(2)
    seen: list[Any] = []
    assert s.Echo(p) is p
    assert s.ThroughCallback(p, lambda x: seen.append(x) or x) is p
    assert seen[0] is p


def test_python_object_comes_back_identical_from_list_and_array_items() -> None:
    import System
    from System.Collections.Generic import List

    p = Point(3)
    xs = List[object]()
    xs.Add(p)
    arr = System.Array[System.Object]([p, None])
    assert xs[0] is p and next(iter(xs)) is p and arr[0] is p


def test_python_object_is_a_dictionary_key_found_by_an_equal_object() -> None:
    from System.Collections.Generic import Dictionary

    d = Dictionary[object, int]()
    d[Point(4)] = 3
    assert d[Point(4)] == 3
    assert d.ContainsKey(Point(4)) and not d.ContainsKey(Point(5))


def test_hash_set_of_objects_keeps_one_of_equal_python_objects() -> None:
    from System.Collections.Generic import HashSet

    hs = HashSet[object]()
    assert hs.Add(Point(6))
    assert not hs.Add(Point(6))
    assert hs.Count == 1


def test_plain_python_objects_compare_by_identity_in_dotnet() -> None:
    from System.Collections.Generic import List

    a, b = object(), object()
    xs = List[object]([a])
    assert xs.Contains(a) and not xs.Contains(b)


def test_to_string_of_a_python_object_is_its_str() -> None:
    import System

    assert System.String.Format("<{0}>", Point(7)) == "<Point(7)>"
    assert System.Convert.ToString(Point(8)) == "Point(8)"


def test_an_exception_in_hash_reaches_the_python_caller() -> None:
    from System.Collections.Generic import Dictionary

    class Unhashable:
        def __hash__(self) -> int:
            raise ValueError("no hash for this one")

    d = Dictionary[object, int]()
    with pytest.raises(ValueError, match="no hash for this one"):
        d[Unhashable()] = 1


def test_to_string_of_an_object_whose_str_raises_names_the_error() -> None:
    import System

    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("str is broken")

    assert "str is broken" in System.Convert.ToString(Broken())


def test_exit_with_python_object_keys_in_a_dotnet_dictionary_is_clean() -> None:
    proc = run_python("""
        import pyclrbridge
        pyclrbridge.load()
        from System.Collections.Generic import Dictionary
        class K:
            def __hash__(self): return 1
            def __eq__(self, o): return isinstance(o, K)
        d = Dictionary[object, int]()
        d[K()] = 1
        print("found" if d.ContainsKey(K()) else "missing")
    """)
    assert_clean_exit(proc)
    assert "found" in proc.stdout
