"""Values crossing the boundary: one rule per Python type (pyclrbridge/_convert.py), checked
against Fixtures.Values (Echo, Limits, SharedBuffer), Fixtures.Arrays and the BCL."""

from __future__ import annotations

import array
import datetime
import decimal
import math
import uuid
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


# ---- integers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "lo", "hi"),
    [
        ("Int8", -128, 127),
        ("UInt8", 0, 255),
        ("Int16", -(2**15), 2**15 - 1),
        ("UInt16", 0, 2**16 - 1),
        ("Int32", -(2**31), 2**31 - 1),
        ("UInt32", 0, 2**32 - 1),
        ("Int64", -(2**63), 2**63 - 1),
        ("UInt64", 0, 2**64 - 1),
    ],
)
def test_int_round_trips_at_both_bounds_of_every_integer_type(method: str, lo: int, hi: int) -> None:
    from Fixtures.Values import Echo

    echo = getattr(Echo, method)
    assert (echo(lo), echo(hi)) == (lo, hi)
    assert type(echo(hi)) is int


def test_int_above_the_range_raises_overflow_error_naming_type_and_range() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(OverflowError, match=r"256 is out of range for System\.Byte \(0 to 255\)"):
        Echo.UInt8(256)


def test_int_below_the_range_raises_overflow_error_naming_type_and_range() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(OverflowError, match=r"-129 is out of range for System\.SByte \(-128 to 127\)"):
        Echo.Int8(-129)


def test_out_of_range_after_an_in_range_call_still_raises_overflow_error() -> None:
    from Fixtures.Values import Echo

    assert Echo.UInt16(65535) == 65535  # caches the plan for this kind of argument
    with pytest.raises(OverflowError, match=r"System\.UInt16"):
        Echo.UInt16(65536)


def test_negative_int_for_an_unsigned_type_raises_overflow_error() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(OverflowError, match=r"System\.UInt64 \(0 to 18446744073709551615\)"):
        Echo.UInt64(-1)


def test_overflow_error_is_raised_for_an_overflowing_list_item() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(OverflowError, match=r"item 1: 3000000000 is out of range for System\.Int32"):
        Echo.Ints([1, 3_000_000_000])


def test_int_beyond_every_integer_type_is_accepted_as_a_double() -> None:
    from System import Math

    assert Math.Sqrt(2**80) == 2.0**40


def test_int_passed_as_object_arrives_as_int32_when_it_fits() -> None:
    from Fixtures.Values import Echo

    assert Echo.TypeOf(5) == "System.Int32"
    assert Echo.TypeOf(2**40) == "System.Int64"
    assert Echo.TypeOf(2**64 - 1) == "System.UInt64"


def test_limits_come_back_as_python_ints() -> None:
    from Fixtures.Values import Limits

    assert (Limits.Int64Min(), Limits.UInt64Max(), Limits.UInt8Max()) == (-(2**63), 2**64 - 1, 255)


def test_int_to_a_decimal_parameter_beyond_int64_is_exact() -> None:
    from Fixtures.Values import Echo

    assert Echo.Decimal(2**95) == decimal.Decimal(2**95)


# ---- bool -------------------------------------------------------------------------------------


def test_bool_round_trips_as_bool() -> None:
    from Fixtures.Values import Echo

    assert Echo.Boolean(True) is True
    assert Echo.Boolean(False) is False


def test_bool_prefers_a_boolean_overload_to_an_integer_one() -> None:
    from System import Convert

    assert Convert.ToString(True) == "True"


def test_bool_where_only_an_integer_fits_is_accepted_as_0_or_1() -> None:
    from Fixtures.Values import Echo

    assert Echo.Int32(True) == 1


def test_bool_passed_as_object_arrives_as_boolean() -> None:
    from Fixtures.Values import Echo

    assert Echo.TypeOf(True) == "System.Boolean"


def test_int_is_not_accepted_for_a_boolean_parameter() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(TypeError, match=r"Boolean"):
        Echo.Boolean(1)


# ---- floating point ---------------------------------------------------------------------------


def test_float_round_trips_as_double_exactly() -> None:
    from Fixtures.Values import Echo

    assert Echo.Double(0.1) == 0.1


def test_double_specials_come_back_as_python_floats() -> None:
    from Fixtures.Values import Limits

    assert math.isnan(Limits.DoubleNaN())
    assert Limits.DoublePositiveInfinity() == math.inf
    assert Limits.DoubleNegativeInfinity() == -math.inf
    assert math.copysign(1.0, Limits.DoubleNegativeZero()) == -1.0
    assert Limits.DoubleEpsilon() == 5e-324


def test_float_beyond_single_raises_overflow_error() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(OverflowError, match=r"System\.Single"):
        Echo.Single(1e300)


def test_single_infinity_is_not_an_overflow() -> None:
    from Fixtures.Values import Echo

    assert Echo.Single(math.inf) == math.inf


def test_int_is_accepted_for_a_double_parameter() -> None:
    from Fixtures.Values import Echo

    result = Echo.Double(3)
    assert result == 3.0
    assert type(result) is float


# ---- strings and chars ------------------------------------------------------------------------


def test_str_with_every_plane_round_trips() -> None:
    from Fixtures.Values import Echo

    text = "aé€😀\U0010ffff"
    assert Echo.String(text) == text


def test_str_crosses_as_utf16_code_units() -> None:
    from Fixtures.Values import Echo

    assert Echo.StringLength("😀") == 2
    assert list(Echo.CodeUnits("a😀")) == [0x61, 0xD83D, 0xDE00]


def test_embedded_nul_round_trips() -> None:
    from Fixtures.Values import Echo

    assert Echo.String("a\x00b") == "a\x00b"
    assert Echo.StringLength("a\x00b") == 3


def test_lone_surrogates_round_trip_both_ways() -> None:
    from Fixtures.Values import Echo

    assert Echo.String("x\ud800y") == "x\ud800y"
    assert Echo.FromCodeUnits([0xDC00, 0x41]) == "\udc00A"


def test_empty_string_is_not_none() -> None:
    from Fixtures.Values import Echo

    assert Echo.String("") == ""


def test_char_is_a_one_character_str() -> None:
    from Fixtures.Values import Echo, Limits

    assert Echo.Char("é") == "é"
    assert Limits.CharMax() == "\uffff"
    assert Limits.CharMin() == "\x00"


def test_longer_str_for_a_char_raises_type_error() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(TypeError, match=r"System\.Char is one UTF-16 code unit"):
        Echo.Char("ab")


def test_astral_character_for_a_char_raises_type_error() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(TypeError, match=r"one UTF-16 code unit"):
        Echo.Char("😀")


# ---- None -------------------------------------------------------------------------------------


def test_none_round_trips_as_null_for_a_reference_type() -> None:
    from Fixtures.Values import Echo

    assert Echo.String(None) is None
    assert Echo.Object(None) is None


def test_none_for_a_value_type_raises_type_error_naming_it() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(TypeError, match=r"None cannot be passed as System\.Int32: it is a value type"):
        Echo.Int32(None)


def test_nullable_value_type_takes_none_and_values() -> None:
    from Fixtures.Values import Echo

    assert Echo.NullableInt(None) is None
    assert Echo.NullableInt(7) == 7


# ---- decimal ----------------------------------------------------------------------------------


def test_decimal_round_trips_exactly_with_its_scale() -> None:
    from Fixtures.Values import Echo

    result = Echo.Decimal(decimal.Decimal("1.50"))
    assert result == decimal.Decimal("1.50")
    assert str(result) == "1.50"


def test_decimal_limits_come_back_exactly() -> None:
    from Fixtures.Values import Limits

    assert Limits.DecimalMax() == decimal.Decimal(2**96 - 1)
    assert Limits.DecimalMin() == decimal.Decimal(-(2**96 - 1))


def test_decimal_beyond_system_decimal_raises_overflow_error() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(OverflowError, match=r"System\.Decimal"):
        Echo.Decimal(decimal.Decimal(2**96))


def test_decimal_with_too_many_places_raises_value_error() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(ValueError, match=r"more than 28 decimal places"):
        Echo.Decimal(decimal.Decimal("1e-29"))


def test_decimal_nan_raises_value_error() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(ValueError, match=r"only finite values"):
        Echo.Decimal(decimal.Decimal("NaN"))


# ---- bytes and arrays -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"\x00\x01\xff", bytearray(b"\x00\x01\xff"), memoryview(b"\x00\x01\xff")],
    ids=["bytes", "bytearray", "memoryview"],
)
def test_bytes_like_objects_become_byte_arrays(data: Any) -> None:
    from Fixtures.Arrays import ArrayTools

    expected = 2166136261
    for b in bytes(data):
        expected = ((expected ^ b) * 16777619) & 0xFFFFFFFF
    assert ArrayTools.Checksum(data) == expected


def test_byte_array_result_converts_with_bytes() -> None:
    from Fixtures.Values import Echo

    assert bytes(Echo.Bytes(b"abc")) == b"abc"


def test_array_result_supports_len_indexing_and_negative_indexes() -> None:
    from Fixtures.Arrays import ArrayTools

    xs = ArrayTools.Ints(5)
    assert (len(xs), xs[0], xs[4], xs[-1]) == (5, 0, 4, 4)


def test_array_index_out_of_range_raises_index_error() -> None:
    from Fixtures.Arrays import ArrayTools

    with pytest.raises(IndexError, match=r"out of range"):
        ArrayTools.Ints(3)[3]


def test_array_slice_is_a_python_list() -> None:
    from Fixtures.Arrays import ArrayTools

    xs = ArrayTools.Doubles(6)
    assert xs[1:4] == [0.5, 1.0, 1.5]
    assert xs[::2] == [0.0, 1.0, 2.0]


def test_array_iterates_in_order() -> None:
    from Fixtures.Arrays import ArrayTools

    assert list(ArrayTools.Strings(3)) == ["s0", "s1", "s2"]
    assert list(ArrayTools.Ints(5000)) == list(range(5000))


def test_object_array_holds_mixed_python_values() -> None:
    from Fixtures.Arrays import ArrayTools

    assert ArrayTools.Mixed()[:] == [1, "two", 3.0, None, True]


def test_multidimensional_array_takes_tuple_indexes() -> None:
    from Fixtures.Arrays import ArrayTools

    m = ArrayTools.Matrix(2, 3)
    assert (m[0, 0], m[1, 2]) == (0, 5)


def test_jagged_array_rows_are_arrays() -> None:
    from Fixtures.Arrays import ArrayTools

    rows = ArrayTools.Jagged(3)
    assert [r[:] for r in rows] == [[0], [0, 1], [0, 1, 2]]


def test_shared_buffer_mutation_from_python_is_seen_by_dotnet() -> None:
    from Fixtures.Values import SharedBuffer

    sb = SharedBuffer(4)
    buf = sb.GetBuffer()
    buf[0] = 200
    buf[-1] = 7
    assert (sb.Get(0), sb.Get(3), sb.Checksum()) == (200, 7, 207)
    assert sb.IsSameBuffer(buf)


def test_shared_buffer_mutation_from_dotnet_is_seen_by_python() -> None:
    from Fixtures.Values import SharedBuffer

    sb = SharedBuffer(3)
    buf = sb.GetBuffer()
    sb.Set(1, 9)
    assert bytes(buf) == b"\x00\x09\x00"


def test_dotnet_filling_a_returned_array_in_place_is_visible() -> None:
    from Fixtures.Arrays import ArrayTools

    buf = ArrayTools.Bytes(4)
    ArrayTools.Fill(buf, 3)
    assert bytes(buf) == b"\x03\x03\x03\x03"


def test_array_element_assignment_converts_to_the_element_type() -> None:
    from Fixtures.Arrays import ArrayTools

    xs = ArrayTools.Doubles(2)
    xs[0] = 4  # an int into a double[]
    assert xs[0] == 4.0


def test_array_element_assignment_out_of_range_raises_overflow_error() -> None:
    from Fixtures.Values import SharedBuffer

    with pytest.raises(OverflowError, match=r"System\.Byte"):
        SharedBuffer(2).GetBuffer()[0] = 256


def test_array_slice_assignment_replaces_items() -> None:
    from Fixtures.Arrays import ArrayTools

    xs = ArrayTools.Ints(4)
    xs[1:3] = [10, 20]
    assert xs[:] == [0, 10, 20, 3]


def test_array_slice_assignment_cannot_change_the_length() -> None:
    from Fixtures.Arrays import ArrayTools

    with pytest.raises(ValueError, match=r"fixed length"):
        ArrayTools.Ints(4)[1:3] = [1]


def test_empty_and_null_arrays() -> None:
    from Fixtures.Arrays import ArrayTools

    assert len(ArrayTools.Empty()) == 0
    assert ArrayTools.Null() is None


def test_array_repr_shows_type_and_items() -> None:
    from Fixtures.Arrays import ArrayTools

    assert repr(ArrayTools.Ints(3)) == "<System.Int32[] [0, 1, 2]>"


def test_python_array_array_of_the_element_type_becomes_a_dotnet_array() -> None:
    from Fixtures.Arrays import ArrayTools

    assert ArrayTools.Sum(array.array("d", [1.5, 2.5])) == 4.0


# ---- sequences and dictionaries ---------------------------------------------------------------


def test_list_becomes_an_int_array() -> None:
    from Fixtures.Arrays import ArrayTools

    assert ArrayTools.Sum([1, 2, 3]) == 6


def test_tuple_and_range_become_arrays() -> None:
    from Fixtures.Arrays import ArrayTools

    assert ArrayTools.Sum((1, 2)) == 3
    assert ArrayTools.Sum(range(5)) == 10


def test_list_of_str_becomes_a_string_array() -> None:
    from Fixtures.Values import Echo

    assert Echo.Strings(["a", "é"])[:] == ["a", "é"]


def test_list_becomes_a_generic_list() -> None:
    from Fixtures.Values import Echo

    result = Echo.IntList([3, 1, 2])
    assert list(result) == [3, 1, 2]
    assert type(result).__clr_name__ == "System.Collections.Generic.List[Int32]"


def test_list_becomes_an_ienumerable() -> None:
    from Fixtures.Values import Echo

    assert Echo.IntEnumerable([1, 2, 3]) == 6


def test_nested_lists_become_a_jagged_array() -> None:
    from Fixtures.Values import Echo

    result = Echo.NestedInts([[1], [2, 3]])
    assert [row[:] for row in result] == [[1], [2, 3]]


def test_nested_lists_become_a_rectangular_array() -> None:
    from Fixtures.Values import Echo

    assert Echo.MatrixShape([[1, 2, 3], [4, 5, 6]]) == "2x3"
    assert Echo.Matrix([[1, 2], [3, 4]])[1, 0] == 3


def test_ragged_lists_for_a_rectangular_array_raise_a_clear_error() -> None:
    from Fixtures.Values import Echo

    with pytest.raises((TypeError, ValueError), match=r"rectangular|Int32\[,\]"):
        Echo.MatrixShape([[1, 2], [3]])


def test_dict_becomes_a_dictionary() -> None:
    from Fixtures.Values import Echo

    result = Echo.StrIntDict({"a": 1, "b": 2})
    assert dict(result.items()) == {"a": 1, "b": 2}


def test_dict_value_out_of_range_raises_overflow_error() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(OverflowError, match=r"System\.Int32"):
        Echo.StrIntDict({"a": 2**40})


def test_list_with_an_unconvertible_item_raises_type_error() -> None:
    from Fixtures.Arrays import ArrayTools

    assert ArrayTools.Sum([1, 2]) == 3  # a cached plan, keyed by the items' kinds (not reused below)
    with pytest.raises(TypeError, match=r"no overload of .*Sum accepts \(list\[int \| str\]\)"):
        ArrayTools.Sum([1, "two"])


def test_float_for_an_integer_parameter_is_never_rounded() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(TypeError):
        Echo.Int32(1.5)
    with pytest.raises(TypeError, match=r"a float cannot be passed as System\.Int32"):
        Echo.Ints([1, 2.5])


# ---- dates, times, guids ----------------------------------------------------------------------


def test_naive_datetime_is_accepted_for_a_datetime_parameter() -> None:
    from Fixtures.Values import Echo

    described = Echo.DescribeDateTime(datetime.datetime(2024, 2, 29, 13, 14, 15, 123456))
    assert described == "2024-02-29T13:14:15.1234560|Unspecified"


def test_aware_datetime_arrives_as_utc() -> None:
    from Fixtures.Values import Echo

    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    described = Echo.DescribeDateTime(datetime.datetime(2024, 1, 1, 12, 0, tzinfo=plus2))
    assert described == "2024-01-01T10:00:00.0000000|Utc"


def test_timedelta_is_accepted_for_a_timespan_parameter() -> None:
    from Fixtures.Values import Echo

    span = Echo.TimeSpan(datetime.timedelta(days=1, seconds=2, microseconds=3))
    assert (span.Days, span.Seconds, span.Ticks) == (1, 2, 864_000_000_000 + 20_000_000 + 30)


def test_uuid_is_accepted_for_a_guid_parameter() -> None:
    from Fixtures.Values import Echo

    u = uuid.UUID("12345678-1234-5678-9abc-def012345678")
    assert str(Echo.Guid(u)) == str(u)


def test_uuid_passed_as_object_arrives_as_a_guid() -> None:
    from Fixtures.Values import Echo

    assert Echo.TypeOf(uuid.uuid4()) == "System.Guid"


# ---- codecs -----------------------------------------------------------------------------------


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


def test_codec_encoder_lets_a_python_type_pass_as_a_dotnet_one() -> None:
    from Fixtures.Values import Echo

    import pyclrbridge

    undo = pyclrbridge.register_codec(Celsius, lambda c: c.degrees)
    try:
        assert Echo.Double(Celsius(21.5)) == 21.5
    finally:
        undo()
    with pytest.raises(TypeError):
        Echo.Double(Celsius(1.0))


def test_codec_decoder_replaces_results_of_a_dotnet_type() -> None:
    from Fixtures.Structs import Point

    import pyclrbridge

    p = Point(1, 2)
    undo = pyclrbridge.register_codec(clr_type=Point, decode=lambda p: (p.X, p.Y))
    try:
        assert p.Moved(1, 1) == (2, 3)
    finally:
        undo()
    assert isinstance(Point(1, 2).Moved(1, 1), Point)


def test_codec_decoder_by_generic_definition_name_matches_every_instantiation() -> None:
    from Fixtures.Collections import CollectionTools

    import pyclrbridge

    undo = pyclrbridge.register_codec(clr_type="System.Collections.Generic.List`1", decode=list)
    try:
        assert CollectionTools.NewList() == [1, 2, 3]
    finally:
        undo()


def test_register_codec_needs_both_halves_of_a_pair() -> None:
    import pyclrbridge

    with pytest.raises(TypeError, match=r"python_type and encode"):
        pyclrbridge.register_codec(Celsius)


# ---- bad input never crashes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [object(), [object()], {"a": object()}, 2**200, float("nan"), b"x", "x" * 10_000],
    ids=["object", "list-of-object", "dict-of-object", "huge-int", "nan", "bytes", "long-str"],
)
def test_bad_arguments_raise_python_exceptions(bad: Any) -> None:
    from Fixtures.Values import Echo

    for method in ("Int32", "UInt8", "Char", "Decimal", "Ints", "StrIntDict", "Guid"):
        try:
            getattr(Echo, method)(bad)
        except (TypeError, ValueError, OverflowError):
            pass


def test_released_array_raises_value_error_instead_of_touching_memory() -> None:
    from Fixtures.Arrays import ArrayTools

    import pyclrbridge

    xs = ArrayTools.Ints(3)
    pyclrbridge.release(xs)
    with pytest.raises(ValueError, match="released"):
        len(xs)
    with pytest.raises(ValueError, match="released"):
        ArrayTools.Sum(xs)


def test_self_containing_list_raises_recursion_error() -> None:
    from Fixtures.Values import Echo

    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(RecursionError):
        Echo.Object(loop)


def test_non_contiguous_memoryview_raises_value_error() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(ValueError, match="C-contiguous"):
        Echo.Bytes(memoryview(b"abcdef")[::2])


def test_wrong_index_types_raise_type_error() -> None:
    from Fixtures.Arrays import ArrayTools

    with pytest.raises(TypeError, match="indices must be integers or slices"):
        ArrayTools.Ints(3)["a"]
    with pytest.raises(IndexError, match="takes 1 index"):
        ArrayTools.Ints(3)[1, 2]


@pytest.mark.parametrize(
    "key",
    [
        slice(None),
        slice(None, None, -1),
        slice(1, 6, 2),
        slice(5, 1, -2),
        slice(-2, None),
        slice(10, 20),
        slice(None, None, 3),
    ],
    ids=["all", "reversed", "step", "negative-step", "tail", "past-end", "every-third"],
)
def test_array_slices_match_python_list_slices(key: slice) -> None:
    from Fixtures.Arrays import ArrayTools

    expected = [f"s{i}" for i in range(7)]
    assert ArrayTools.Strings(7)[key] == expected[key]
    assert ArrayTools.Ints(7)[key] == list(range(7))[key]


def test_property_setter_never_parses_str_into_a_number() -> None:
    from Fixtures.Members import Widget

    w = Widget()
    with pytest.raises(TypeError, match=r"a str cannot be passed as System\.Int32"):
        w.Size = "5"


def test_property_setter_never_rounds_a_float_into_an_integer() -> None:
    from Fixtures.Members import Widget

    w = Widget()
    with pytest.raises(TypeError, match="without rounding"):
        w.Size = 2.7


def test_explicit_cast_of_text_to_a_number_parses() -> None:
    from System import Decimal, Int32

    assert Int32("5") == 5
    assert Decimal("1.25") == decimal.Decimal("1.25")


def test_property_setter_out_of_range_raises_overflow_error_naming_type_and_range() -> None:
    from Fixtures.Members import Widget

    with pytest.raises(OverflowError, match=r"1099511627776 is out of range for System\.Int32 \(-2147483648 to"):
        Widget().Size = 2**40


def test_bool_char_and_decimal_arrays_read_and_write_python_values() -> None:
    from System import Array, Char
    from System import Decimal as ClrDecimal

    flags = Array[bool]([True, False])
    chars = Array[Char](["a", "\ud800"])
    amounts = Array[ClrDecimal]([decimal.Decimal("1.5")])
    flags[1] = True
    chars[0] = "z"
    assert (flags[:], chars[:], amounts[:]) == ([True, True], ["z", "\ud800"], [decimal.Decimal("1.5")])


def test_a_barrage_of_bad_values_never_crashes_the_process(fixtures_dll: Any) -> None:
    from conftest import assert_clean_exit, run_python

    proc = run_python(
        """
        import os, decimal, datetime, uuid, array, pyclrbridge
        clr = pyclrbridge.load()
        clr.add_reference(os.environ["FIXTURES_DLL"])
        from Fixtures.Values import Echo, SharedBuffer
        from Fixtures.Arrays import ArrayTools
        loop = []; loop.append(loop)
        bad = [None, -1, 2**64, 2**200, -2**200, 1e308, float("nan"), "", "xy", "\\ud800" * 3, b"", object(),
               [object()], [[1], 2], loop, {1: object()}, decimal.Decimal("NaN"), decimal.Decimal("1e999"),
               datetime.datetime.max, datetime.timedelta.max, uuid.UUID(int=0), array.array("d", [1.5]),
               memoryview(b"abcd")[::2], Echo, pyclrbridge, lambda: 0]
        names = [n for n in dir(Echo) if n[0].isupper() and callable(getattr(Echo, n))]
        failures = 0
        for name in names:
            for value in bad:
                try:
                    getattr(Echo, name)(value)
                except (TypeError, ValueError, OverflowError, RecursionError, pyclrbridge.ClrError):
                    failures += 1
        buf = SharedBuffer(2).GetBuffer()
        for key in [5, -5, "a", 1.5, (0, 0), slice(None, None, 0)]:
            try:
                buf[key]
            except (TypeError, ValueError, IndexError):
                failures += 1
        print("survived", failures)
    """,
        fixtures_dll=fixtures_dll,
    )
    assert_clean_exit(proc)
    assert "survived" in proc.stdout


def test_set_becomes_an_enumerable_an_array_or_a_hash_set() -> None:
    from Fixtures.Collections import CollectionTools
    from Fixtures.Values import Echo
    from System.Collections.Generic import HashSet

    assert CollectionTools.Sum({1, 2, 3}) == 6
    assert Echo.Ints(frozenset([5]))[:] == [5]
    assert sorted(HashSet[int]({1, 2})) == [1, 2]


def test_generator_becomes_an_ienumerable() -> None:
    from Fixtures.Collections import CollectionTools

    assert CollectionTools.Sum(x * x for x in range(4)) == 14
    assert CollectionTools.Join(map(str, range(3))) == "0,1,2"


def test_other_sized_iterables_become_arrays() -> None:
    import collections

    from Fixtures.Values import Echo

    assert Echo.Ints(collections.deque([1, 2]))[:] == [1, 2]


def test_generator_items_are_checked_when_converted() -> None:
    from Fixtures.Values import Echo

    with pytest.raises(TypeError, match=r"item 1: a str cannot be passed as System\.Int32"):
        Echo.Ints(x for x in [1, "b"])


def test_codecs_registered_and_removed_while_other_threads_convert() -> None:
    import threading

    from Fixtures.Values import Echo

    import pyclrbridge

    undo_celsius = pyclrbridge.register_codec(Celsius, lambda c: c.degrees)
    stop = threading.Event()
    errors: list[BaseException] = []

    def convert() -> None:
        try:
            while not stop.is_set():
                assert Echo.Double(Celsius(1.5)) == 1.5
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=convert) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(200):
            kind = type(f"Unit{i}", (), {})
            pyclrbridge.register_codec(kind, float)()  # register and remove at once
    finally:
        stop.set()
        for t in threads:
            t.join()
        undo_celsius()
    assert errors == []


@pytest.mark.parametrize(("text", "error"), [("1E+100000000", OverflowError), ("1E-100000000", ValueError)])
def test_decimal_with_a_huge_exponent_fails_at_once(text: str, error: type[BaseException]) -> None:
    from Fixtures.Values import Echo

    with pytest.raises(error, match=r"System\.Decimal"):
        Echo.Decimal(decimal.Decimal(text))


def test_decimal_zero_with_any_exponent_is_zero() -> None:
    from Fixtures.Values import Echo

    assert Echo.Decimal(decimal.Decimal("0E-100000000")) == 0


def test_a_list_with_a_keyed_indexer_takes_keys_and_indexes() -> None:
    # KeyedCollection<TKey, TItem> is a list (Collection<T>) with a second indexer by key, a
    # shape users subclass: k["key"] goes to the keyed indexer, k[0] and k[-1] stay positions.
    from System import String
    from System.Collections.ObjectModel import KeyedCollection

    class ByInitial(KeyedCollection[String, String]):
        def GetKeyForItem(self, item: str) -> str:
            return item[0]

    k = ByInitial()
    k.Add("apple")
    k.Add("banana")
    assert (k["a"], k["b"]) == ("apple", "banana")
    assert (k[0], k[-1], k[0:2]) == ("apple", "banana", ["apple", "banana"])
    with pytest.raises(KeyError):
        k["z"]
