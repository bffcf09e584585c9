"""Python values for the .NET shapes that view or list them: a ``dict`` for
``IEnumerable<KeyValuePair<K, V>>`` (its items as pairs, in order), and bytes-like buffers for
``ReadOnlyMemory<byte>``, ``Memory<byte>``, ``ReadOnlySpan<T>`` and ``Span<T>`` parameters
(a .NET array made from the buffer; a writable buffer sees what .NET wrote once the call returns)."""

from __future__ import annotations

import array
import base64
import struct
from typing import Any

import pytest

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # no hypothesis for this interpreter (e.g. a free-threaded build): its property tests skip

    class _Absent:
        """Stands in for hypothesis's strategies and health checks at import."""

        def __getattr__(self, name: str) -> Any:
            return self

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return self

    st = HealthCheck = _Absent()  # type: ignore[assignment]

    def settings(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
        return lambda test: test

    def given(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
        return pytest.mark.skip(reason="property test: needs hypothesis (test extra; no wheel for this interpreter)")


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


# ---- bytes-like buffers for spans and Memory<byte> -------------------------------------------------

_settings = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_settings
@given(st.binary(max_size=300), st.sampled_from([bytes, bytearray, memoryview]))
def test_utf8_validation_takes_any_bytes_like_through_its_span_only_overload(data: bytes, kind: Any) -> None:
    from System import Byte, ReadOnlySpan
    from System.Text import Encoding
    from System.Text.Unicode import Utf8

    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    assert Utf8.IsValid(kind(data)) == (text is not None)  # IsValid(ReadOnlySpan<byte>) is its only overload
    if text is not None:
        assert Encoding.UTF8.GetString(kind(data)) == text  # GetString(byte[]) preferred to (ReadOnlySpan<byte>)
        assert Encoding.UTF8.GetString.overloads[ReadOnlySpan[Byte]](kind(data)) == text  # the span one, chosen


@_settings
@given(st.binary(max_size=300), st.sampled_from([bytes, bytearray, memoryview]))
def test_base64_of_any_bytes_like_buffer_through_spans_and_arrays(data: bytes, kind: Any) -> None:
    from System import Convert
    from System.Buffers.Text import Base64

    buffer = kind(data)
    assert Convert.ToBase64String(buffer) == base64.b64encode(data).decode()
    # Base64.GetMaxEncodedToUtf8Length/EncodeToUtf8(ReadOnlySpan<byte>, Span<byte>, out, out) has span parameters only
    out = bytearray(Base64.GetMaxEncodedToUtf8Length(len(data)))
    status, consumed, written = Base64.EncodeToUtf8(buffer, out)
    assert str(status) == "Done" and consumed == len(data)
    assert bytes(out[:written]) == base64.b64encode(data)
    assert buffer == kind(data)  # the input is never written


@_settings
@given(st.integers(-(2**31), 2**31 - 1), st.integers(0, 4))
def test_span_writes_come_back_into_a_bytearray(value: int, offset: int) -> None:
    from System.Buffers.Binary import BinaryPrimitives

    buf = bytearray(b"\xee" * (4 + offset))
    BinaryPrimitives.WriteInt32LittleEndian(memoryview(buf)[offset:], value)  # a writable slice of it
    assert bytes(buf) == b"\xee" * offset + struct.pack("<i", value)
    assert BinaryPrimitives.ReadInt32LittleEndian(bytes(buf[offset:])) == value


def test_a_readonly_buffer_is_refused_where_dotnet_writes_through_a_span() -> None:
    from System.Buffers.Binary import BinaryPrimitives
    from System.Security.Cryptography import RandomNumberGenerator

    data = bytes(4)
    with pytest.raises(TypeError, match=r"read-only bytes cannot be passed as System\.Span\[Byte\].*bytearray"):
        BinaryPrimitives.WriteInt32LittleEndian(data, 7)
    assert data == bytes(4)
    with pytest.raises(TypeError, match="read-only"):
        RandomNumberGenerator.Fill(memoryview(b"abcd"))
    filled = bytearray(64)
    RandomNumberGenerator.Fill(filled)
    assert filled != bytearray(64)


@_settings
@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=50))
def test_typed_buffers_for_spans_of_their_item_type(values: list[int]) -> None:
    from System.Buffers.Binary import BinaryPrimitives

    source = array.array("i", values)
    destination = array.array("i", [0] * len(values))
    BinaryPrimitives.ReverseEndianness(source, destination)  # (ReadOnlySpan<int>, Span<int>)
    swapped = array.array("i", values)
    swapped.byteswap()
    assert destination == swapped and source == array.array("i", values)
    with pytest.raises(TypeError):
        BinaryPrimitives.ReverseEndianness(source, array.array("q", [0] * len(values)))  # long items for Span<int>


@_settings
@given(st.binary(max_size=200))
def test_readonly_memory_and_memory_take_a_copy_of_bytes(data: bytes) -> None:
    from System import Byte, Memory, ReadOnlyMemory

    ro = ReadOnlyMemory[Byte](data)  # ReadOnlyMemory(byte[]): .NET keeps its own array
    assert ro.Length == len(data) and bytes(ro.ToArray()) == data
    buf = bytearray(data)
    mem = Memory[Byte](buf)  # a copy: .NET may keep a Memory past the call
    buf[:1] = b"" if not data else bytes([data[0] ^ 0xFF])
    assert bytes(mem.ToArray()) == data


def test_a_dotnet_array_passes_to_a_span_parameter_as_itself() -> None:
    from System import Array, Byte
    from System.Text import Encoding

    arr = Array[Byte](b"abc")
    assert Encoding.ASCII.GetString(arr) == "abc"


def test_span_writes_reach_each_threads_own_buffer() -> None:
    import threading

    from System.Buffers.Binary import BinaryPrimitives

    errors: list[str] = []

    def worker(n: int) -> None:
        buf = bytearray(8)
        for i in range(300):
            value = n * 1_000_000 + i
            BinaryPrimitives.WriteInt64BigEndian(buf, value)
            if bytes(buf) != struct.pack(">q", value):
                errors.append(f"thread {n} call {i}: {bytes(buf).hex()}")
                return

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
