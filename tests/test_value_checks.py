"""Values that do not fit are refused on every write path, never stored wrapped or rounded:
integers for enums (against the enum's underlying type), doubles for System.Single, and
integers for Boolean (Fixtures.ValueChecks; System.DayOfWeek arrays)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


SINGLE_MAX = 3.4028234663852886e38


# ---- integers into enums ---------------------------------------------------------------------


def test_day_of_week_array_element_refuses_an_integer_past_int32() -> None:
    from System import Array, DayOfWeek

    arr = Array[DayOfWeek]([DayOfWeek.Monday])
    with pytest.raises(OverflowError, match=r"4294967299 is out of range for System\.DayOfWeek \(a System\.Int32"):
        arr[0] = 2**32 + 3
    assert arr[0] == DayOfWeek.Monday
    arr[0] = 3
    assert arr[0] == DayOfWeek.Wednesday


def test_day_of_week_rectangular_array_element_refuses_an_integer_past_int32() -> None:
    from System import Array, DayOfWeek

    arr = Array.CreateInstance(DayOfWeek, 2, 2)
    with pytest.raises(OverflowError, match=r"DayOfWeek"):
        arr[1, 1] = -(2**31) - 1
    assert arr[1, 1] == DayOfWeek.Sunday


def test_short_enum_field_refuses_100000_instead_of_storing_minus_31072() -> None:
    from Fixtures.ValueChecks import E16, Slots

    s = Slots()
    with pytest.raises(OverflowError, match=r"100000 is out of range for Fixtures\.ValueChecks\.E16 \(a System\.Int16"):
        s.ShortField = 100000
    assert s.ShortField == E16(0)
    s.ShortField = 32767
    assert s.ShortField == E16.High


def test_short_enum_property_indexer_and_argument_refuse_out_of_range_integers() -> None:
    from Fixtures.ValueChecks import E16, Slots

    s = Slots()
    with pytest.raises(OverflowError, match=r"E16"):
        s.ShortProperty = 100000
    with pytest.raises(OverflowError, match=r"E16"):
        s[1] = -32769
    with pytest.raises(OverflowError, match=r"E16"):
        Slots.Short(100000)
    assert s.ShortProperty == E16(0) and s[1] == E16(0)
    s[1] = E16.Low
    assert s[1] == E16.Low


def test_byte_and_uint64_enum_fields_take_their_whole_range_and_nothing_more() -> None:
    from Fixtures.ValueChecks import E8, EU64, Slots

    s = Slots()
    with pytest.raises(OverflowError, match=r"-1 is out of range for Fixtures\.ValueChecks\.E8 \(a System\.Byte"):
        s.ByteEnumField = -1
    with pytest.raises(OverflowError, match=r"EU64"):
        s.ULongEnumField = -1
    s.ByteEnumField = 255
    s.ULongEnumField = 2**64 - 1
    assert (s.ByteEnumField, s.ULongEnumField) == (E8.High, EU64.High)
    assert int(s.ULongEnumField) == 2**64 - 1


# ---- System.Single ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1e39, -1e39, 3.402824e38, 2**128])
def test_single_field_property_and_static_field_refuse_values_past_single_max(value: float) -> None:
    from Fixtures.ValueChecks import Slots

    s = Slots()
    for write in (
        lambda: setattr(s, "SingleField", value),
        lambda: setattr(s, "SingleProperty", value),
        lambda: setattr(Slots, "StaticSingle", value),
    ):
        with pytest.raises(OverflowError, match=r"out of range for System\.Single|does not fit in any \.NET"):
            write()
    assert (s.SingleField, s.SingleProperty) == (0.0, 0.0)


def test_system_single_constructor_refuses_past_single_max_and_keeps_the_edges() -> None:
    import System

    with pytest.raises(OverflowError, match=r"out of range for System\.Single"):
        System.Single(3.402824e38)
    assert System.Single(SINGLE_MAX) == SINGLE_MAX
    assert System.Single(-SINGLE_MAX) == -SINGLE_MAX
    assert System.Single(float("inf")) == float("inf")


def test_single_field_keeps_infinities_and_the_largest_single() -> None:
    from Fixtures.ValueChecks import Slots

    s = Slots()
    for value in (SINGLE_MAX, -SINGLE_MAX, float("inf"), float("-inf"), 1.401298464324817e-45):
        s.SingleField = value
        s.SingleProperty = value
        assert (s.SingleField, s.SingleProperty) == (value, value)


# ---- Boolean ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [2, 1, 0, 1.0])
def test_boolean_field_and_property_refuse_numbers_as_arguments_are_refused(value: Any) -> None:
    from Fixtures.ValueChecks import Slots

    s = Slots()
    with pytest.raises(TypeError, match=r"cannot be stored as System\.Boolean"):
        s.BooleanField = value
    with pytest.raises(TypeError, match=r"cannot be stored as System\.Boolean"):
        s.BooleanProperty = value
    assert (s.BooleanField, s.BooleanProperty) == (False, False)
    s.BooleanField = True
    s.BooleanProperty = True
    assert (s.BooleanField, s.BooleanProperty) == (True, True)


def test_boolean_array_element_refuses_an_int() -> None:
    from System import Array, Boolean

    arr = Array[Boolean]([False])
    with pytest.raises(TypeError, match=r"an int cannot be passed as System\.Boolean"):
        arr[0] = 2
    assert arr[0] is False


# ---- indexes of multi-dimensional arrays --------------------------------------------------------


@pytest.mark.parametrize("bad", ["1", 1.9, "wrong", None, 1.0])
def test_rectangular_array_indexes_are_integers_or_type_error(bad: Any) -> None:
    from System import Array, Int32

    items = Array[Int32](2, 2)
    items[1, 0] = 7
    with pytest.raises(TypeError, match=r"indices must be integers or slices, not"):
        items[bad, 0]
    with pytest.raises(TypeError, match=r"indices must be integers or slices"):
        items[0, bad] = 1
    assert items[True, 0] == 7  # a bool is an int, as for a list


def test_rectangular_array_takes_index_objects() -> None:
    from System import Array, Int32

    class Two:  # any object with __index__
        def __index__(self) -> int:
            return 1

    items = Array[Int32](2, 3)
    items[Two(), Two()] = 5
    assert items[1, 1] == 5 and items[-1, Two()] == 5
