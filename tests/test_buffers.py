"""Zero-copy views of .NET arrays (buffer protocol) and .NET arrays from Python buffers."""

from __future__ import annotations

import array
import sys
from typing import Any

import pytest

import pyclrbridge
from pyclrbridge.testing import run_concurrently


@pytest.fixture(scope="module")
def tools(fixtures: Any) -> Any:
    from Fixtures.Arrays import ArrayTools

    return ArrayTools


def pinned(runtime: Any) -> int:
    return int(runtime.stats()["pinned_arrays"])


ELEMENTS = [
    ("System.Byte", "B", 1),
    ("System.SByte", "b", 1),
    ("System.Int16", "h", 2),
    ("System.UInt16", "H", 2),
    ("System.Int32", "i", 4),
    ("System.UInt32", "I", 4),
    ("System.Int64", "q", 8),
    ("System.UInt64", "Q", 8),
    ("System.Single", "f", 4),
    ("System.Double", "d", 8),
    ("System.Boolean", "?", 1),
    ("System.Char", "H", 2),
]


# ---- views of .NET arrays -------------------------------------------------------------


@pytest.mark.parametrize(("element", "fmt", "itemsize"), ELEMENTS, ids=[e[0] for e in ELEMENTS])
def test_view_has_the_element_format_and_itemsize(fixtures: Any, element: str, fmt: str, itemsize: int) -> None:
    from System import Array

    arr = Array[fixtures.get_type(element)](5)
    with pyclrbridge.buffer(arr) as view:
        assert (view.format, view.itemsize, len(view), view.nbytes) == (fmt, itemsize, 5, 5 * itemsize)
        assert not view.readonly


def test_view_reads_the_array_contents(tools: Any) -> None:
    with pyclrbridge.buffer(tools.Doubles(4)) as view:
        assert view.tolist() == [0.0, 0.5, 1.0, 1.5]


def test_view_shares_memory_with_the_array(tools: Any) -> None:
    data = tools.Bytes(8)
    with pyclrbridge.buffer(data) as view:
        tools.Fill(data, 7)  # .NET writes, the existing view sees it
        assert bytes(view) == b"\x07" * 8


def test_writes_through_the_view_change_the_dotnet_array(tools: Any) -> None:
    ints = tools.Ints(4)
    with pyclrbridge.buffer(ints) as view:
        view[0] = 100
        view[3] = -5
    assert tools.Sum(ints) == 100 + 1 + 2 - 5


def test_view_of_an_empty_array_is_empty(tools: Any) -> None:
    with pyclrbridge.buffer(tools.Empty()) as view:
        assert len(view) == 0 and view.format == "i"


def test_array_array_reads_the_view_in_one_block(tools: Any) -> None:
    doubles = array.array("d")
    with pyclrbridge.buffer(tools.Doubles(1000)) as view:
        doubles.frombytes(view.cast("B"))  # frombytes wants a byte-format buffer
    assert doubles == array.array("d", [i * 0.5 for i in range(1000)])


def test_bytes_of_a_byte_array(tools: Any) -> None:
    assert bytes(tools.Bytes(300)) == bytes(i % 256 for i in range(300))


def test_bytes_of_a_double_array_is_its_raw_memory(tools: Any) -> None:
    assert bytes(tools.Doubles(3)) == array.array("d", [0.0, 0.5, 1.0]).tobytes()


def test_bytes_leaves_no_pin(fixtures: Any, tools: Any) -> None:
    before = pinned(fixtures)
    bytes(tools.Bytes(10))
    assert pinned(fixtures) == before


def test_array_of_strings_has_no_buffer(tools: Any) -> None:
    with pytest.raises(TypeError, match="no buffer"):
        pyclrbridge.buffer(tools.Strings(2))


def test_two_dimensional_array_has_no_buffer(tools: Any) -> None:
    with pytest.raises(TypeError, match="no buffer"):
        pyclrbridge.buffer(tools.Matrix(2, 2))


def test_a_plain_python_object_has_no_dotnet_buffer() -> None:
    with pytest.raises(TypeError, match=r"\.NET array"):
        pyclrbridge.buffer(bytearray(3))


@pytest.mark.skipif(sys.version_info < (3, 12), reason="memoryview(obj) calls __buffer__ from Python 3.12 (PEP 688)")
def test_memoryview_of_an_array_is_a_pinned_view(tools: Any) -> None:
    with memoryview(tools.Ints(3)) as view:
        assert view.tolist() == [0, 1, 2]


# ---- pinning lifetime -----------------------------------------------------------------


def test_array_is_pinned_while_a_view_exists(fixtures: Any, tools: Any) -> None:
    before = pinned(fixtures)
    view = pyclrbridge.buffer(tools.Bytes(4))
    assert pinned(fixtures) == before + 1
    del view
    assert pinned(fixtures) == before


def test_release_unpins_at_once(fixtures: Any, tools: Any) -> None:
    before = pinned(fixtures)
    view = pyclrbridge.buffer(tools.Bytes(4))
    view.release()
    assert pinned(fixtures) == before


def test_slice_of_a_view_keeps_the_pin_until_it_goes(fixtures: Any, tools: Any) -> None:
    before = pinned(fixtures)
    view = pyclrbridge.buffer(tools.Ints(10))
    part = view[2:5]
    view.release()
    assert pinned(fixtures) == before + 1
    assert part.tolist() == [2, 3, 4]
    del part
    assert pinned(fixtures) == before


def test_cast_of_a_view_keeps_the_pin_until_it_goes(fixtures: Any, tools: Any) -> None:
    before = pinned(fixtures)
    raw = pyclrbridge.buffer(tools.Doubles(2)).cast("B")
    assert pinned(fixtures) == before + 1
    assert len(raw) == 16
    del raw
    assert pinned(fixtures) == before


def test_view_stays_valid_across_dotnet_garbage_collections(fixtures: Any, tools: Any) -> None:
    data = tools.Bytes(64)
    view = pyclrbridge.buffer(data)
    garbage = [tools.Bytes(1000) for _ in range(200)]
    del garbage
    fixtures.collect()  # a compacting GC would move an unpinned array
    view[0] = 99
    assert tools.Checksum(data) == _fnv1a(bytes([99]) + bytes(range(1, 64)))
    del view


def test_views_from_many_threads_leave_no_pins(fixtures: Any, tools: Any) -> None:
    data = tools.Doubles(100)
    before = pinned(fixtures)

    def worker() -> None:
        for _ in range(200):
            with pyclrbridge.buffer(data) as view:
                assert view[2] == 1.0

    run_concurrently(worker, 4)
    assert pinned(fixtures) == before


def test_many_views_leave_no_pins_or_handles(fixtures: Any, tools: Any) -> None:
    data = tools.Ints(10)
    fixtures.collect()
    before = fixtures.stats()
    views = [pyclrbridge.buffer(data) for _ in range(50)]
    assert pinned(fixtures) == before["pinned_arrays"] + 50
    del views
    fixtures.collect()
    after = fixtures.stats()
    assert after["pinned_arrays"] == before["pinned_arrays"]
    assert after["live_handles"] == before["live_handles"]


# ---- Python buffers to .NET arrays ----------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [bytes, bytearray, lambda b: memoryview(bytearray(b)), memoryview],
    ids=["bytes", "bytearray", "memoryview", "readonly-memoryview"],
)
def test_bytes_like_objects_pass_as_byte_arrays(tools: Any, make: Any) -> None:
    data = bytes(range(200))
    assert tools.Checksum(make(data)) == _fnv1a(data)


def test_array_array_of_doubles_passes_as_double_array(tools: Any) -> None:
    assert tools.Sum(array.array("d", [1.5, 2.5, 3.0])) == 7.0


def test_array_array_of_ints_passes_as_int_array(tools: Any) -> None:
    assert tools.Sum(array.array("i", range(100))) == sum(range(100))


def test_array_arrays_of_different_type_codes_choose_their_own_overloads(tools: Any) -> None:
    assert tools.Sum(array.array("i", [1, 2])) == 3
    assert tools.Sum(array.array("d", [1.0, 2.5])) == 3.5


def test_typed_memoryviews_pass_as_arrays_of_their_element_type(tools: Any) -> None:
    ints = tools.Sum(memoryview(array.array("i", [1, 2])))
    doubles = tools.Sum(memoryview(array.array("d", [1.0, 2.5])))
    assert (ints, type(ints), doubles) == (3, int, 3.5)


def test_memoryview_of_another_element_type_converts_items(tools: Any) -> None:
    assert tools.Sum(memoryview(array.array("h", [1, 2]))) == 3


@pytest.mark.parametrize(
    ("element", "source"),
    [
        ("System.Double", array.array("d", [1.0, 2.5])),
        ("System.Int32", array.array("i", [1, -2])),
        ("System.Int64", memoryview(array.array("q", [1, 2**40]))),
        ("System.Byte", bytearray(b"\x01\xff")),
        ("System.Byte", b"\x01\xff"),
        ("System.Single", memoryview(array.array("f", [0.5]))),
    ],
    ids=["array-d", "array-i", "memoryview-q", "bytearray", "bytes", "memoryview-f"],
)
def test_array_from_a_buffer_of_the_same_element_type(fixtures: Any, element: str, source: Any) -> None:
    from System import Array

    made = Array[fixtures.get_type(element)](source)
    assert type(made).__clr_name__ == f"{element}[]"
    assert list(made) == list(memoryview(source).tolist())


def test_array_from_a_buffer_is_a_copy(fixtures: Any) -> None:
    from System import Array, Double

    source = array.array("d", [1.0, 2.0])
    made = Array[Double](source)
    source[0] = 9.0
    assert list(made) == [1.0, 2.0]


def test_array_from_a_buffer_of_another_element_type_converts_items(fixtures: Any) -> None:
    from System import Array, Int64

    assert list(Array[Int64](array.array("i", [1, 2, 3]))) == [1, 2, 3]


def test_round_trip_through_a_view(tools: Any) -> None:
    source = array.array("d", [0.25 * i for i in range(100)])
    from System import Array, Double

    back = array.array("d")
    with pyclrbridge.buffer(Array[Double](source)) as view:
        back.frombytes(view.cast("B"))
    assert back == source


def _fnv1a(data: bytes) -> int:
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h
