"""Every value kind through every member kind reads back equal (Fixtures.ValueRoundTrip.Slots<T>):
fields, properties (static and instance), the indexer, constructor and method arguments,
``params``, ``out``/``ref``, and callback results and arguments. The regression tests first
(a list or tuple set on an array-typed property or field once read freed memory), then the
hypothesis property test (PYCLRBRIDGE_HYPOTHESIS_EXAMPLES raises its example count)."""

from __future__ import annotations

import datetime
import decimal
import itertools
import math
import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from pyclrbridge.values.targets import INTEGER_RANGES, SINGLE_MAX


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


# ---- the regression: sequences set on array-typed properties and fields ------------------------


def test_aes_key_set_from_a_list_reads_back_the_same_bytes() -> None:
    from System.Security.Cryptography import Aes

    aes = Aes.Create()
    aes.Key = list(range(32))
    assert bytes(aes.Key) == bytes(range(32))


def test_int64_array_field_set_from_a_list_reads_back_every_item() -> None:
    from Fixtures.ValueRoundTrip import ArrayFields

    holder = ArrayFields()
    for _ in range(50):  # freed memory is reused quickly: repeat so a stale read shows
        holder.Longs = [7, 8, 9, 10]
        assert list(holder.Longs) == [7, 8, 9, 10]


def test_string_array_field_set_from_a_tuple_reads_back_the_strings() -> None:
    from Fixtures.ValueRoundTrip import ArrayFields

    holder = ArrayFields()
    for _ in range(50):
        holder.Strings = ("x", "yz", "")
        assert list(holder.Strings) == ["x", "yz", ""]


def test_static_array_field_and_property_set_from_lists_read_back() -> None:
    from Fixtures.ValueRoundTrip import ArrayFields

    ArrayFields.StaticLongs = [1, 2, 3]
    ArrayFields.StaticStrings = ["a", "b"]
    assert (list(ArrayFields.StaticLongs), list(ArrayFields.StaticStrings)) == ([1, 2, 3], ["a", "b"])


def test_byte_array_property_checks_items_against_byte() -> None:
    from Fixtures.ValueRoundTrip import ArrayFields

    holder = ArrayFields()
    with pytest.raises(OverflowError, match=r"256 is out of range for System\.Byte"):
        holder.Bytes = [1, 256]


def test_list_and_dictionary_properties_set_from_python_containers_read_back() -> None:
    from Fixtures.ValueRoundTrip import ArrayFields

    holder = ArrayFields()
    holder.Doubles = [0.5, -1.0]
    holder.Map = {"k": [1, 2], "empty": []}
    assert list(holder.Doubles) == [0.5, -1.0]
    assert {k: list(v) for k, v in dict(holder.Map).items()} == {"k": [1, 2], "empty": []}


# ---- the property test ---------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis", reason="the property test needs hypothesis (pip install hypothesis)")
st = hypothesis.strategies

EXAMPLES = int(os.environ.get("PYCLRBRIDGE_HYPOTHESIS_EXAMPLES", "60"))
_EPOCH = datetime.datetime(1, 1, 1)
_DECIMAL_MAX_6 = decimal.Decimal(10**28 - 1).scaleb(-6)  # 28 digits, 6 places: System.Decimal holds it


def _plain(value: Any) -> Any:
    """A .NET result as plain Python values, to compare with what was sent."""
    if value is None or isinstance(value, (bool, int, float, str, decimal.Decimal)):
        return value
    name = getattr(type(value), "__clr_name__", "")
    if name == "System.Byte[]":
        return bytes(value)
    if name == "System.DateTime":
        return _EPOCH + datetime.timedelta(microseconds=value.Ticks // 10)
    if name == "System.TimeSpan":
        return datetime.timedelta(microseconds=value.Ticks // 10)
    if name == "System.Guid":
        return uuid.UUID(str(value))
    if name.startswith("System.Collections.Generic.Dictionary"):
        return {_plain(k): _plain(v) for k, v in dict(value).items()}
    if name.endswith("]") or name.startswith("System.Collections.Generic.List"):
        return [_plain(x) for x in value]
    return value  # a proxy (System.Version...): compared with ==


def _no_surrogate_pairs(text: str) -> bool:
    """UTF-16 cannot tell a lone high+low surrogate pair from the character they encode."""
    return not any("\ud800" <= a <= "\udbff" and "\udc00" <= b <= "\udfff" for a, b in itertools.pairwise(text))


def _targets() -> dict[str, tuple[Any, Any]]:
    """Target type label -> (Slots instantiation argument, strategy of values it holds)."""
    import System
    from System.Collections.Generic import Dictionary, List

    def ints(lo: int, hi: int) -> Any:
        return st.integers(lo, hi) | st.sampled_from([lo, hi, 0])

    text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())).filter(
        _no_surrogate_pairs
    )
    arr = System.Array
    return {
        "Byte": (System.Byte, ints(0, 2**8 - 1)),
        "SByte": (System.SByte, ints(-(2**7), 2**7 - 1)),
        "Int16": (System.Int16, ints(-(2**15), 2**15 - 1)),
        "UInt16": (System.UInt16, ints(0, 2**16 - 1)),
        "Int32": (System.Int32, ints(-(2**31), 2**31 - 1)),
        "UInt32": (System.UInt32, ints(0, 2**32 - 1)),
        "Int64": (System.Int64, ints(-(2**63), 2**63 - 1)),
        "UInt64": (System.UInt64, ints(0, 2**64 - 1)),
        "Double": (System.Double, st.floats(allow_nan=False)),
        "Boolean": (System.Boolean, st.booleans()),
        "String": (System.String, st.none() | text),
        "Decimal": (
            System.Decimal,
            st.decimals(
                min_value=-_DECIMAL_MAX_6, max_value=_DECIMAL_MAX_6, places=6, allow_nan=False, allow_infinity=False
            ),
        ),
        "DateTime": (System.DateTime, st.datetimes()),
        "TimeSpan": (
            System.TimeSpan,
            st.timedeltas(min_value=datetime.timedelta(days=-(10**7)), max_value=datetime.timedelta(days=10**7)),
        ),
        "Guid": (System.Guid, st.uuids()),
        "Nullable<Int32>": (System.Nullable[System.Int32], st.none() | ints(-(2**31), 2**31 - 1)),
        "Byte[]": (arr[System.Byte], st.binary(max_size=64)),
        "Int64[]": (arr[System.Int64], st.lists(ints(-(2**63), 2**63 - 1), max_size=40)),
        "String[]": (arr[System.String], st.lists(st.none() | text, max_size=8)),
        "Double[][]": (arr[arr[System.Double]], st.lists(st.lists(st.floats(allow_nan=False), max_size=5), max_size=5)),
        "List<String>": (List[System.String], st.lists(text, max_size=8)),
        "Dictionary<String, Int32[]>": (
            Dictionary[System.String, arr[System.Int32]],
            st.dictionaries(text, st.lists(ints(-(2**31), 2**31 - 1), max_size=4), max_size=5),
        ),
        "Version": (System.Version, st.builds(System.Version, st.integers(0, 999), st.integers(0, 999))),
        "Single": (System.Single, st.floats(width=32, allow_nan=False) | st.sampled_from(_SINGLE_EDGES)),
        **{
            f"enum : {underlying}": (enum, st.builds(enum, ints(*_RANGES[underlying])))
            for underlying, enum in _enums().items()
        },
    }


_SINGLE_MAX = SINGLE_MAX
#: The edges of System.Single: its largest finite values, infinities, the smallest subnormal, -0.0.
_SINGLE_EDGES = [_SINGLE_MAX, -_SINGLE_MAX, math.inf, -math.inf, 1.401298464324817e-45, -1.401298464324817e-45, -0.0]
_RANGES = INTEGER_RANGES  # the conversion table's own ranges, not a copy


def _enums() -> dict[str, Any]:
    """Underlying type name -> the fixture enum backed by it (Fixtures.ValueChecks)."""
    from Fixtures.ValueChecks import E8, E16, E32, E64, ES8, EU16, EU32, EU64

    return {
        "Byte": E8,
        "SByte": ES8,
        "Int16": E16,
        "UInt16": EU16,
        "Int32": E32,
        "UInt32": EU32,
        "Int64": E64,
        "UInt64": EU64,
    }


def _through(member: str) -> Callable[[Any, Any], Any]:
    """``send(Slots[T], value)`` -> what .NET gives back through ``member``."""

    def field(cls: Any, v: Any) -> Any:
        s = cls()
        s.Field = v
        return s.Field

    def static_field(cls: Any, v: Any) -> Any:
        cls.StaticField = v
        return cls.StaticField

    def prop(cls: Any, v: Any) -> Any:
        s = cls()
        s.Property = v
        return s.Property

    def static_prop(cls: Any, v: Any) -> Any:
        cls.StaticProperty = v
        return cls.StaticProperty

    def indexer(cls: Any, v: Any) -> Any:
        s = cls()
        s[7] = v
        return s[7]

    return {
        "field": field,
        "static field": static_field,
        "property": prop,
        "static property": static_prop,
        "indexer": indexer,
        "constructor": lambda cls, v: cls(v).Field,
        "method": lambda cls, v: cls().Echo(v),
        "static method": lambda cls, v: cls.StaticEcho(v),
        "params": lambda cls, v: cls().First(v, v),
        "out": lambda cls, v: cls().Out(v),
        "ref": lambda cls, v: cls().Ref(v),
        "callback result": lambda cls, v: cls().FromCallback(lambda: v),
        "callback argument": lambda cls, v: cls().ThroughCallback(v, lambda x: x),
    }[member]


_MEMBERS = [
    "field",
    "static field",
    "property",
    "static property",
    "indexer",
    "constructor",
    "method",
    "static method",
    "params",
    "out",
    "ref",
    "callback result",
    "callback argument",
]


@pytest.mark.parametrize("member", _MEMBERS)
def test_every_value_kind_round_trips_equal_through_member(member: str) -> None:
    from Fixtures.ValueRoundTrip import Slots

    targets = _targets()
    send = _through(member)
    pairs = st.sampled_from(sorted(targets)).flatmap(lambda k: st.tuples(st.just(k), targets[k][1]))

    @hypothesis.settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck)
    )
    @hypothesis.given(pairs)
    def check(pair: tuple[str, Any]) -> None:
        label, value = pair
        back = send(Slots[targets[label][0]], value)
        assert _plain(back) == value, f"{label} through {member}"

    check()


def _out_of_range() -> Any:
    """(target type, a value just outside what it holds): enums of every underlying type given
    an int past either end of that type, System.Single given a double past Single.MaxValue."""
    import System

    enums = _enums()
    past = st.sampled_from(sorted(enums)).flatmap(
        lambda u: st.tuples(
            st.just(enums[u]),
            st.sampled_from([_RANGES[u][0] - 1, _RANGES[u][1] + 1])
            | st.integers(_RANGES[u][1] + 1, 2**65)
            | st.integers(-(2**64), _RANGES[u][0] - 1),
        )
    )
    singles = st.tuples(
        st.just(System.Single),
        st.floats(min_value=3.4028235677973366e38, max_value=1.7976931348623157e308).flatmap(
            lambda d: st.sampled_from([d, -d])
        ),
    )
    return past | singles


@pytest.mark.parametrize("member", _MEMBERS)
def test_values_past_the_target_range_are_refused_through_member(member: str) -> None:
    """Never stored wrapped (2**32 + 3 as Wednesday) or as infinity: OverflowError on every path."""
    from Fixtures.ValueRoundTrip import Slots

    send = _through(member)

    @hypothesis.settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck)
    )
    @hypothesis.given(_out_of_range())
    def check(pair: tuple[Any, Any]) -> None:
        target, value = pair
        # params: the binder takes no int for an enum parameter (TypeError: no overload accepts int).
        refused = (OverflowError, TypeError) if member == "params" and type(value) is int else OverflowError
        with pytest.raises(refused):
            send(Slots[target], value)

    check()
