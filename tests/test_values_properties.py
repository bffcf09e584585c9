"""Round-trip properties of every conversion rule (hypothesis), through Fixtures.Values.Echo.

Each test states its invariant in the docstring. Example counts are small by default so the
file runs in seconds; ``PYCLRBRIDGE_HYPOTHESIS_EXAMPLES=1000`` raises them all.
"""

from __future__ import annotations

import datetime
import decimal
import math
import os
import struct
import uuid
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="value property tests need hypothesis (test extra)")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("PYCLRBRIDGE_HYPOTHESIS_EXAMPLES", "60"))
_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

INTEGERS = {
    "Int8": (-(2**7), 2**7 - 1),
    "UInt8": (0, 2**8 - 1),
    "Int16": (-(2**15), 2**15 - 1),
    "UInt16": (0, 2**16 - 1),
    "Int32": (-(2**31), 2**31 - 1),
    "UInt32": (0, 2**32 - 1),
    "Int64": (-(2**63), 2**63 - 1),
    "UInt64": (0, 2**64 - 1),
}
DECIMAL_MAX = 2**96 - 1


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


def _echo(name: str) -> Any:
    from Fixtures.Values import Echo

    return getattr(Echo, name)


def _in_and_around(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Values in range, with the bounds and their neighbours outside much more likely."""
    edges = st.sampled_from([lo, lo + 1, hi - 1, hi, lo - 1, hi + 1, 0 if lo <= 0 <= hi else lo])
    return st.one_of(edges, st.integers(lo - 2**8, hi + 2**8), st.integers(lo, hi))


@pytest.mark.parametrize("name", list(INTEGERS))
def test_every_integer_in_range_round_trips_and_every_other_raises_overflow_error(name: str) -> None:
    """For each .NET integer type: Echo.T(x) == x inside [min, max]; OverflowError naming the
    type just outside it (never a wrapped or truncated value)."""
    lo, hi = INTEGERS[name]
    echo = _echo(name)

    @_settings
    @given(_in_and_around(lo, hi))
    def check(x: int) -> None:
        if lo <= x <= hi:
            result = echo(x)
            assert result == x and type(result) is int
        else:
            with pytest.raises(OverflowError, match=rf"out of range for System\.{_clr_int_name(name)}"):
                echo(x)

    check()


def _clr_int_name(name: str) -> str:
    return {"Int8": "SByte", "UInt8": "Byte"}.get(name, name)


@_settings
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_every_double_round_trips_bit_for_bit(x: float) -> None:
    """Echo.Double(x) has the same bits as x: NaN stays NaN, -0.0 keeps its sign, inf stays inf."""
    result = _echo("Double")(x)
    if math.isnan(x):
        assert math.isnan(result)
    else:
        assert struct.pack("<d", result) == struct.pack("<d", x)


@_settings
@given(st.floats(width=32, allow_nan=False))
def test_every_single_round_trips_exactly(x: float) -> None:
    """A float that a Single holds exactly comes back unchanged from Echo.Single."""
    assert struct.pack("<d", _echo("Single")(x)) == struct.pack("<d", x)


@_settings
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40))
def test_every_text_round_trips(text: str) -> None:
    """Any str (every plane, NUL, lone surrogates) comes back equal from Echo.String, and .NET
    sees its UTF-16 length."""
    assert _echo("String")(text) == text
    assert _echo("StringLength")(text) == len(text.encode("utf-16-le", "surrogatepass")) // 2


@_settings
@given(st.characters(max_codepoint=0xFFFF, exclude_categories=()))
def test_every_bmp_character_round_trips_as_a_char(ch: str) -> None:
    """Every one-code-unit str (surrogates included) is a System.Char and comes back equal."""
    assert _echo("Char")(ch) == ch


def _system_decimals() -> st.SearchStrategy[decimal.Decimal]:
    """Decimals System.Decimal holds exactly: |mantissa| <= 2**96-1, scale 0..28, edges likely."""
    mantissa = st.one_of(st.sampled_from([0, 1, DECIMAL_MAX, DECIMAL_MAX - 1, 10**28]), st.integers(0, DECIMAL_MAX))
    return st.builds(
        lambda m, scale, neg: decimal.Decimal((int(neg), tuple(map(int, str(m))), -scale)),
        mantissa,
        st.integers(0, 28),
        st.booleans(),
    )


@_settings
@given(_system_decimals())
def test_every_system_decimal_round_trips_exactly(d: decimal.Decimal) -> None:
    """A Decimal that System.Decimal holds comes back equal from Echo.Decimal (no rounding)."""
    assert _echo("Decimal")(d) == d


@_settings
@given(st.integers(DECIMAL_MAX + 1, DECIMAL_MAX * 10**3), st.booleans())
def test_every_decimal_beyond_the_range_raises_overflow_error(m: int, negative: bool) -> None:
    """An integral Decimal beyond ±(2**96-1) raises OverflowError, never a rounded value."""
    with pytest.raises(OverflowError, match=r"System\.Decimal"):
        _echo("Decimal")(decimal.Decimal(-m if negative else m))


@_settings
@given(st.binary(max_size=300))
def test_every_byte_string_round_trips_through_a_byte_array(data: bytes) -> None:
    """bytes -> byte[] -> bytes is the identity, for bytes, bytearray and memoryview."""
    echo = _echo("Bytes")
    assert bytes(echo(data)) == data
    assert bytes(echo(bytearray(data))) == data
    assert bytes(echo(memoryview(data))) == data


@_settings
@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=50))
def test_every_int_list_round_trips_through_an_int_array(xs: list[int]) -> None:
    """list[int] -> int[] -> list is the identity."""
    assert _echo("Ints")(xs)[:] == xs


@_settings
@given(st.lists(st.floats(allow_nan=False), max_size=30))
def test_every_float_list_round_trips_through_a_double_array(xs: list[float]) -> None:
    """list[float] -> double[] -> list is the identity."""
    assert _echo("Doubles")(xs)[:] == xs


@_settings
@given(st.lists(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=6), max_size=6))
def test_every_nested_int_list_round_trips_through_a_jagged_array(rows: list[list[int]]) -> None:
    """list[list[int]] -> int[][] -> nested lists is the identity."""
    assert [row[:] for row in _echo("NestedInts")(rows)] == rows


@_settings
@given(st.integers(0, 5), st.integers(0, 5), st.data())
def test_every_rectangular_int_list_becomes_an_int_matrix_of_its_shape(rows: int, cols: int, data: Any) -> None:
    """rows x cols nested lists -> int[,] with that shape and the same items."""
    grid = [[data.draw(st.integers(-(2**31), 2**31 - 1)) for _ in range(cols)] for _ in range(rows)]
    matrix = _echo("Matrix")(grid)
    assert _echo("MatrixShape")(grid) == f"{rows}x{cols if rows else 0}"
    assert [[matrix[r, c] for c in range(cols)] for r in range(rows)] == grid


@_settings
@given(st.lists(st.text(max_size=8), max_size=20))
def test_every_str_list_round_trips_through_a_string_array(xs: list[str]) -> None:
    """list[str] -> string[] -> list is the identity."""
    assert _echo("Strings")(xs)[:] == xs


@_settings
@given(st.dictionaries(st.text(max_size=6), st.integers(-(2**31), 2**31 - 1), max_size=12))
def test_every_str_int_dict_round_trips_through_a_dictionary(d: dict[str, int]) -> None:
    """dict[str, int] -> Dictionary<string, int> -> dict is the identity (order kept)."""
    assert list(_echo("StrIntDict")(d).items()) == list(d.items())


@_settings
@given(st.datetimes(min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31, 23, 59, 59)))
def test_every_naive_datetime_arrives_with_the_same_fields(dt: datetime.datetime) -> None:
    """A naive datetime reaches a DateTime parameter with the same date, time and microseconds."""
    expected = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}."
        f"{dt.microsecond:06d}0|Unspecified"
    )
    assert _echo("DescribeDateTime")(dt) == expected


@_settings
@given(st.timedeltas(min_value=datetime.timedelta(days=-(10**6)), max_value=datetime.timedelta(days=10**6)))
def test_every_timedelta_arrives_with_the_same_ticks(td: datetime.timedelta) -> None:
    """A timedelta reaches a TimeSpan parameter as exactly its length in 100 ns ticks."""
    ticks = (td.days * 86_400 + td.seconds) * 10_000_000 + td.microseconds * 10
    assert _echo("TimeSpan")(td).Ticks == ticks


@_settings
@given(st.uuids())
def test_every_uuid_arrives_as_the_same_guid(u: uuid.UUID) -> None:
    """A uuid.UUID reaches a Guid parameter with the same text form."""
    assert str(_echo("Guid")(u)) == str(u)
