""".NET shapes that feel native (Fixtures.ValueShapes and the BCL): tuples unpack and compare
as tuples, enumerators are iterators, writable Python buffers see what .NET wrote into them,
and a .NET class's own members cannot be rebound or deleted from Python."""

from __future__ import annotations

import array
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


# ---- tuples -------------------------------------------------------------------------------------


def test_value_tuple_result_unpacks_into_names() -> None:
    from Fixtures.ValueShapes import Shapes

    intercept, slope = Shapes.Line([0.0, 1.0, 2.0], [1.0, 3.0, 5.0])
    assert (intercept, slope) == (1.0, 2.0)


def test_value_tuple_equals_the_python_tuple_of_its_items() -> None:
    from System import ValueTuple

    t = ValueTuple.Create(1, "a")
    assert t == (1, "a") and t != (1, "b")
    assert hash(t) == hash((1, "a"))


def test_reference_tuple_indexes_and_has_a_length_like_a_tuple() -> None:
    from Fixtures.ValueShapes import Shapes

    t = Shapes.Triple()
    assert (len(t), t[0], t[-1], t[1:]) == (3, 1, True, ("two", True))
    assert list(t) == [1, "two", True]


# ---- enumerators --------------------------------------------------------------------------------


def test_generic_enumerator_is_a_python_iterator() -> None:
    from Fixtures.ValueShapes import Shapes

    assert list(Shapes.CountTo(4)) == [1, 2, 3, 4]


def test_non_generic_enumerator_is_a_python_iterator() -> None:
    from Fixtures.ValueShapes import Shapes

    it = Shapes.Untyped()
    assert iter(it) is it
    assert list(it) == [1, "b"]


def test_list_get_enumerator_iterates_the_items() -> None:
    from System.Collections.Generic import List

    assert list(List[int]([3, 1, 2]).GetEnumerator()) == [3, 1, 2]


# ---- buffers .NET writes into ------------------------------------------------------------------


def test_bytearray_passed_to_a_byte_array_parameter_sees_dotnet_writes() -> None:
    from Fixtures.ValueShapes import Shapes

    buf = bytearray(5)
    assert Shapes.Fill(buf, 1, 3) == 3
    assert buf == bytearray(b"\x00\x01\x02\x03\x00")


def test_memory_stream_read_fills_a_bytearray() -> None:
    from System.IO import MemoryStream

    stream = MemoryStream(bytes(range(10, 20)))
    buf = bytearray(4)
    assert stream.Read(buf, 0, 4) == 4
    assert buf == bytearray(range(10, 14))


def test_writable_memoryview_of_bytes_sees_dotnet_writes() -> None:
    from Fixtures.ValueShapes import Shapes

    backing = bytearray(3)
    Shapes.Fill(memoryview(backing), 0, 2)
    assert backing == bytearray(b"\x01\x02\x00")


def test_array_array_of_the_element_type_sees_dotnet_writes() -> None:
    from Fixtures.ValueShapes import Shapes

    doubles = array.array("d", [1.0, 2.5])
    ints = array.array("i", [1, -2])
    Shapes.Twice(doubles)
    Shapes.TwiceInts(ints)
    assert (doubles.tolist(), ints.tolist()) == ([2.0, 5.0], [2, -4])


def test_typed_memoryview_sees_dotnet_writes() -> None:
    from Fixtures.ValueShapes import Shapes

    backing = array.array("d", [3.0, -1.0])
    Shapes.Twice(memoryview(backing))
    assert backing.tolist() == [6.0, -2.0]


def test_read_only_bytes_are_left_unchanged() -> None:
    from Fixtures.ValueShapes import Shapes

    data = bytes(3)
    Shapes.Fill(data, 0, 3)
    assert data == bytes(3)


# ---- class-level rebinding refused --------------------------------------------------------------


def test_deleting_a_static_field_from_the_class_is_refused() -> None:
    from System import Math

    with pytest.raises(AttributeError, match="cannot delete"):
        del Math.PI
    assert round(Math.PI, 6) == 3.141593


def test_assigning_an_enum_member_is_refused() -> None:
    from System import DayOfWeek

    with pytest.raises(AttributeError, match=r"cannot assign System\.DayOfWeek\.Sunday"):
        DayOfWeek.Sunday = 13
    assert int(DayOfWeek.Sunday) == 0


def test_replacing_or_deleting_a_method_group_is_refused() -> None:
    from System import Math

    with pytest.raises(AttributeError, match=r"cannot assign System\.Math\.Abs"):
        Math.Abs = len
    with pytest.raises(AttributeError, match=r"cannot delete System\.Math\.Abs"):
        del Math.Abs
    assert Math.Abs(-2) == 2


def test_attributes_a_user_adds_to_a_dotnet_class_can_be_removed_again() -> None:
    from System import Version

    Version.note = "mine"
    assert Version.note == "mine"
    del Version.note
    assert not hasattr(Version, "note")


# ---- multi-dimensional arrays -------------------------------------------------------------------


def test_array_class_called_with_two_lengths_makes_a_rectangular_array() -> None:
    from System import Array

    grid = Array[int](3, 4)
    assert (type(grid).__clr_name__, grid.GetLength(0), grid.GetLength(1)) == ("System.Int32[,]", 3, 4)


def test_rectangular_array_takes_negative_indices_per_dimension() -> None:
    from System import Array

    grid = Array[int](2, 3)
    grid[-1, -1] = 9
    assert (grid[1, 2], grid[-1, 2], grid[1, -1]) == (9, 9, 9)


def test_rectangular_array_gives_rows_and_columns_as_lists() -> None:
    from System import Array

    grid = Array[int](2, 3)
    grid[0, 1] = 4
    grid[1, 2] = 9
    assert grid[0] == [0, 4, 0]
    assert grid[1, 1:] == [0, 9]
    assert grid[:, 2] == [0, 9]


def test_rectangular_array_refuses_two_slices_at_once() -> None:
    from System import Array

    with pytest.raises(IndexError, match="one slice at a time"):
        Array[int](2, 2)[:, :]


# ---- dynamic objects ----------------------------------------------------------------------------


def test_expando_object_members_are_attributes() -> None:
    from System.Dynamic import ExpandoObject

    e = ExpandoObject()
    e.name = "Ada"
    e.age = 36
    assert (e.name, e.age, dir(e)) == ("Ada", 36, ["age", "name"])
    del e.age
    with pytest.raises(AttributeError, match="no member 'age'"):
        _ = e.age


def test_delegate_stored_in_an_expando_object_is_called_as_a_method() -> None:
    import System
    from System.Dynamic import ExpandoObject

    e = ExpandoObject()
    e.greet = System.Func[str, str](lambda who: f"hi {who}")
    assert e.greet("you") == "hi you"
