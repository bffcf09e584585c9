"""The bulk paths: arrays iterated block by block, long lists packed into new arrays block by
block, List<T> of numbers iterated through its struct enumerator.

They must give what the item-by-item rules give: same values, same errors (naming the item),
across block boundaries and partial last blocks.
"""

from __future__ import annotations

import gc
import math
from typing import Any

import pytest

# Block sizes of the paths under test (read here so the tests cross their boundaries).
from pyclrbridge.proxies.arrays import _PRIMITIVE_BLOCK
from pyclrbridge.values.buffers import _FILL_BLOCK, _FILL_MIN

LENGTHS = [_FILL_MIN - 1, _FILL_MIN, 2 * _FILL_BLOCK + 1, 3 * _PRIMITIVE_BLOCK - 1]


def _numbers(name: str, n: int) -> list[Any]:
    """n distinct-ish numbers that fit the element type, including its extremes."""
    ranges = {
        "SByte": (-(2**7), 2**7 - 1),
        "Byte": (0, 2**8 - 1),
        "Int16": (-(2**15), 2**15 - 1),
        "UInt16": (0, 2**16 - 1),
        "Int32": (-(2**31), 2**31 - 1),
        "UInt32": (0, 2**32 - 1),
        "Int64": (-(2**63), 2**63 - 1),
        "UInt64": (0, 2**64 - 1),
    }
    if name == "Double":
        return [i / 7 for i in range(n - 3)] + [-0.0, math.inf, 5e-324]
    lo, hi = ranges[name]
    span = hi - lo + 1
    return [lo + (i * 7919) % span for i in range(n - 2)] + [lo, hi]


@pytest.mark.parametrize("name", ["SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Double"])
@pytest.mark.parametrize("n", LENGTHS)
def test_a_long_list_becomes_an_equal_array_of_its_element_type(clr: Any, name: str, n: int) -> None:
    import System
    from System import Array

    element = getattr(System, name)
    items = _numbers(name, n)
    arr = Array[element](items)
    assert type(arr).__clr_name__ == f"System.{name}[]"
    assert len(arr) == n
    assert list(arr) == items
    assert arr[n - 1] == items[-1] and arr[_FILL_BLOCK] == items[_FILL_BLOCK]


def test_a_long_tuple_and_ints_for_doubles_convert_like_a_short_one(clr: Any) -> None:
    from System import Array

    items = tuple(range(_FILL_MIN + 5))
    assert list(Array[float](items)) == [float(i) for i in items]
    assert list(Array[int]([True, False] * _FILL_MIN)) == [1, 0] * _FILL_MIN


@pytest.mark.parametrize(
    ("bad", "element", "error"),
    [
        (2.5, int, TypeError),
        (2**40, int, OverflowError),
        ("x", float, TypeError),
        (None, float, TypeError),
        (-1, "Byte", OverflowError),
        (2**64, "UInt64", OverflowError),
    ],
)
def test_a_bad_item_in_a_long_list_raises_the_error_that_names_it(clr: Any, bad: Any, element: Any, error: Any) -> None:
    import System
    from System import Array

    t = getattr(System, element) if isinstance(element, str) else element
    at = _FILL_BLOCK + 3
    items: list[Any] = [1] * (_FILL_MIN + 10)
    items[at] = bad
    with pytest.raises(error, match=f"item {at}: ") as long_info:
        Array[t](items)
    with pytest.raises(error) as short_info:
        Array[t]([bad])
    assert str(long_info.value).replace(f"item {at}", "item 0") == str(short_info.value)


def test_a_list_changing_length_while_packed_still_converts_consistently(clr: Any) -> None:
    from System import Array

    items: list[Any] = list(range(_FILL_MIN + 10))

    class Shrinking:
        shrunk = False

        def __index__(self) -> int:
            if not self.shrunk:  # once: while the block holding it is packed
                self.shrunk = True
                del items[-5:]
            return 7

    items[_FILL_BLOCK // 2] = Shrinking()
    arr = Array[int](items)
    expected = list(range(_FILL_MIN + 5))
    expected[_FILL_BLOCK // 2] = 7
    assert list(arr) == expected


def test_a_long_list_passed_as_an_array_argument(fixtures: Any) -> None:
    from Fixtures.Arrays import ArrayTools

    ints = list(range(_FILL_MIN + 3))
    assert ArrayTools.Sum(ints) == sum(ints)
    doubles = [i * 0.25 for i in range(_FILL_MIN + 3)]
    assert ArrayTools.Sum(doubles) == sum(doubles)
    with pytest.raises(OverflowError, match=f"item {_FILL_MIN}: "):
        ArrayTools.Sum([*ints[:-3], 2**40, 1, 2])


@pytest.mark.parametrize("n", [1, _PRIMITIVE_BLOCK, _PRIMITIVE_BLOCK + 1, 2 * _PRIMITIVE_BLOCK + 7])
def test_bool_and_char_arrays_iterate_as_bools_and_strings_across_blocks(clr: Any, n: int) -> None:
    from System import Array, Boolean, Char

    flags = [i % 3 == 0 for i in range(n)]
    assert list(Array[Boolean](flags)) == flags
    chars = [chr(65 + i % 26) for i in range(n)]
    got = list(Array[Char](chars))
    assert got == chars and all(type(c) is str for c in got)


def test_releasing_an_array_mid_iteration_raises_instead_of_reading_it(clr: Any) -> None:
    from System import Array

    import pyclrbridge

    arr = Array[int](list(range(_PRIMITIVE_BLOCK + 10)))
    it = iter(arr)
    assert next(it) == 0
    pyclrbridge.release(arr)
    with pytest.raises(ValueError, match="released"):
        list(it)


def test_len_counts_every_element_of_a_multidimensional_array(fixtures: Any) -> None:
    from Fixtures.Arrays import ArrayTools

    m = ArrayTools.Matrix(3, 4)
    assert len(m) == 12
    assert len(list(m)) == 12
    assert len(ArrayTools.Empty()) == 0


@pytest.mark.parametrize(
    ("element", "values"),
    [
        (int, [-(2**31), 2**31 - 1, *range(-9000, 9000)]),
        ("Int64", [-(2**63), 2**63 - 1, *range(9000)]),
        (float, [-0.0, math.inf, *[i / 3 for i in range(20000)]]),
    ],
)
def test_lists_of_numbers_iterate_exactly_across_chunks(clr: Any, element: Any, values: list[Any]) -> None:
    import System
    from System.Collections.Generic import List

    t = getattr(System, element) if isinstance(element, str) else element
    xs = List[t](values)
    assert list(xs) == values
    assert list(xs) == values  # a second, independent iteration


def test_changing_a_list_while_iterating_it_raises_like_dotnet(clr: Any) -> None:
    from System import InvalidOperationException
    from System.Collections.Generic import List

    xs = List[int](range(100_000))
    with pytest.raises(InvalidOperationException):
        for x in xs:
            if x == 10:
                xs.Add(1)


@pytest.mark.parametrize("make", ["ints", "doubles", "lazy", "strings", "empty"])
def test_a_finished_iteration_leaves_no_state_and_frees_nothing_twice(fixtures: Any, make: str) -> None:
    from Fixtures.Collections import CollectionTools
    from System.Collections.Generic import List

    source = {
        "ints": lambda: List[int](range(70_000)),
        "doubles": lambda: List[float]([0.5] * 1000),
        "lazy": lambda: CollectionTools.Lazy(50),
        "strings": lambda: List[str](["a", "b"] * 100),
        "empty": lambda: List[int](),
    }[make]()
    gc.collect()
    before = fixtures.stats()
    for _ in range(3):
        assert len(list(source)) == len(list(source))
    gc.collect()
    after = fixtures.stats()
    assert after["live_handles"] == before["live_handles"]
    assert after["refused_frees"] == before["refused_frees"]


def test_a_dispose_failure_at_the_end_reaches_the_caller_after_every_element(fixtures: Any) -> None:
    from Fixtures.Collections import CollectionTools
    from System import InvalidOperationException

    seen: list[int] = []
    gc.collect()
    before = fixtures.stats()["live_handles"]
    with pytest.raises(InvalidOperationException, match="dispose failed"):
        for x in CollectionTools.ThrowsOnDispose(5):
            seen.append(x)
    assert seen == [0, 1, 2, 3, 4]
    gc.collect()
    assert fixtures.stats()["live_handles"] == before


# ---- mixed values: converting one element must not overwrite the strings of the others --------

# Every path that converts many .NET values at once: the strings of a chunk or block are read
# before any element whose conversion may call .NET (an enum or class not built yet).
MIXED_PATHS = {
    "iteration": lambda al: [x for x in al],
    "list": lambda al: list(al),
    "ToArray": lambda al: list(al.ToArray()),
    "slice": lambda al: al.ToArray()[0 : al.Count],
    "dict values": lambda al: _as_dictionary(al).values(),
    "dict": lambda al: list(dict(_as_dictionary(al, keys_are_items=True)).keys()),
}


def _as_dictionary(al: Any, *, keys_are_items: bool = False) -> Any:
    """A Dictionary<object, object> of the items (position -> item, or item -> position), built
    in .NET (Array.Copy, MethodInfo.Invoke) so that Python converts none of the items."""
    from System import Array, Object
    from System.Collections.Generic import Dictionary

    d = Dictionary[Object, Object]()
    add = d.GetType().GetMethod("Add")
    items = al.ToArray()
    pair = Array.CreateInstance(Object, 2)
    for i in range(al.Count):
        Array.Copy(items, i, pair, 0 if keys_are_items else 1, 1)
        pair[1 if keys_are_items else 0] = i
        add.Invoke(d, pair)
    return d


def fresh_enum_type() -> Any:
    """A .NET enum type whose Python class has (most likely) not been built yet in this process."""
    if not _ENUM_POOL:
        from System import AppDomain

        found = [
            t
            for a in AppDomain.CurrentDomain.GetAssemblies()
            for t in a.GetExportedTypes()
            if t.IsEnum and not t.ContainsGenericParameters and t.GetEnumNames().Length > 1  # names: no value converted
        ]
        _ENUM_POOL.extend(reversed(found))
    from System import Enum

    while True:
        t = _ENUM_POOL.pop()
        # Distinct values only (no aliases such as SpecialFolder.Personal == MyDocuments): the dict
        # path makes the values keys. The underlying integers do not build the enum's class.
        underlying = list(Enum.GetValuesAsUnderlyingType(t))
        if len(set(underlying)) == len(underlying):
            return t


_ENUM_POOL: list[Any] = []


@pytest.mark.parametrize("path", sorted(MIXED_PATHS))
def test_strings_after_an_enum_not_built_yet_read_intact_on_every_bulk_path(clr: Any, path: str) -> None:
    """Issue 25.3: building the enum's class (a call into .NET) while reading the chunk reused
    the arena the strings after it still pointed into: they came back as type descriptions."""
    from System import Enum
    from System.Collections import ArrayList

    t = fresh_enum_type()
    al = ArrayList()
    al.AddRange(Enum.GetValues(t))  # the values stay in .NET: the enum's class is not built
    words = ["alpha beta gamma delta", "epsilon zeta eta theta", "iota kappa lambda mu"]
    for w in words:
        al.Add(w)
    n = al.Count
    got = MIXED_PATHS[path](al)
    assert list(got)[n - 3 :] == words
    assert [str(x) for x in list(got)[: n - 3]] == [str(x) for x in Enum.GetValues(t)]
