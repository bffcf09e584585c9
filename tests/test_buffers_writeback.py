"""Writable Python buffers (bytearray, writable memoryview, array.array) see what .NET wrote
into them on every path that passes one as an argument: plain, ``ref``, ``params``,
constructor and dynamic-member arguments; foreign APIs that fill a buffer (BinaryReader,
Encoding, Buffer.BlockCopy, Array.Copy, RandomNumberGenerator). Paths with no "after the call"
(property and indexer sets, callback results) hand .NET a copy, and say so."""

from __future__ import annotations

import array
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="buffer write-back properties need hypothesis (test extra)")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


def _filled(n: int, start: int) -> bytes:
    return bytes((start + i) % 256 for i in range(n))


# ---- ref parameters -----------------------------------------------------------------------------


@_SETTINGS
@given(n=st.integers(1, 5000), start=st.integers(0, 255), as_view=st.booleans())
def test_ref_byte_array_writes_reach_the_bytearray(n: int, start: int, as_view: bool) -> None:
    """For any size and value: after FillRef(ref byte[] data, v) the caller's buffer holds v+i."""
    from Fixtures.BufferWriteback import Writers

    buf = bytearray(n)
    back = Writers.FillRef(memoryview(buf) if as_view else buf, start)
    assert buf == _filled(n, start)
    assert bytes(back) == _filled(n, start)  # and the ref result is the same array's contents


@_SETTINGS
@given(xs=st.lists(st.floats(allow_nan=False), min_size=1, max_size=2000))
def test_ref_double_array_writes_reach_the_array_array(xs: list[float]) -> None:
    """NegateRef(ref double[]) negates the caller's array('d') in place, for any doubles."""
    from Fixtures.BufferWriteback import Writers

    a = array.array("d", xs)
    Writers.NegateRef(a)
    assert a.tolist() == [-x for x in xs]


def test_ref_parameter_pointed_at_a_new_array_leaves_the_buffer_alone() -> None:
    from Fixtures.BufferWriteback import Writers

    buf = bytearray(3)  # the same length as the new array: still not the caller's memory
    back = Writers.ReplaceRef(buf)
    assert buf == bytearray(3) and list(back) == [7, 7, 7]


def test_out_array_comes_back_as_a_result() -> None:
    from Fixtures.BufferWriteback import Writers

    assert list(Writers.MakeOut(4)) == [0, 1, 2, 3]


# ---- params, constructors, dynamic members ------------------------------------------------------


@_SETTINGS
@given(n=st.integers(1, 3000), start=st.integers(0, 255), repeat=st.integers(1, 3))
def test_params_byte_array_given_a_bytearray_writes_back(n: int, start: int, repeat: int) -> None:
    """A bytearray passed as the whole params byte[] sees the writes, call after call."""
    from Fixtures.BufferWriteback import Writers

    buf = bytearray(n)
    for k in range(repeat):
        value = (start + k) % 256
        assert Writers.FillParams(value, buf) == n
        assert buf == _filled(n, value)


@_SETTINGS
@given(xs=st.lists(st.integers(-(2**30), 2**30 - 1), min_size=1, max_size=2000))
def test_params_int_array_given_an_array_array_writes_back(xs: list[int]) -> None:
    from Fixtures.BufferWriteback import Writers

    a = array.array("i", xs)
    Writers.DoubleParams(a)
    assert a.tolist() == [x * 2 for x in xs]


@_SETTINGS
@given(n=st.integers(1, 3000), start=st.integers(0, 255), keywords=st.booleans())
def test_constructor_argument_writes_reach_the_bytearray(n: int, start: int, keywords: bool) -> None:
    from Fixtures.BufferWriteback import Filler

    buf = bytearray(n)
    if keywords:
        Filler(target=buf, value=start)
    else:
        Filler(buf, start)
    assert buf == _filled(n, start)


def test_property_set_hands_dotnet_a_copy() -> None:
    from Fixtures.BufferWriteback import Filler

    f = Filler()
    buf = bytearray(3)
    f.Data = buf
    f.TouchData()  # .NET writes into the array it keeps, later: not the caller's memory
    assert buf == bytearray(3) and list(f.Data) == [1, 1, 1]


def test_indexer_set_hands_dotnet_a_copy() -> None:
    from Fixtures.BufferWriteback import Filler

    f = Filler()
    buf = bytearray(b"ab")
    f[0] = buf
    buf[0] = 0  # a later Python write does not reach the array .NET keeps either
    assert list(f[0]) == [ord("a"), ord("b")]


def test_callback_result_is_a_copy_dotnet_may_write() -> None:
    from Fixtures.BufferWriteback import Writers

    buf = bytearray(3)
    result = Writers.ScribbleOnResult(lambda: buf)
    assert list(result) == [42, 0, 0] and buf == bytearray(3)


def test_array_lent_to_a_callback_is_the_dotnet_array_itself() -> None:
    from Fixtures.BufferWriteback import Writers

    def fill(arr: Any) -> None:
        arr[0] = 5
        arr[-1] = 9

    assert list(Writers.LendToCallback(3, fill)) == [5, 0, 9]


# ---- foreign APIs that fill a caller's buffer ---------------------------------------------------


@_SETTINGS
@given(data=st.binary(min_size=1, max_size=4000), split=st.integers(0, 4000))
def test_binary_reader_read_fills_the_bytearray(data: bytes, split: int) -> None:
    """BinaryReader.Read(byte[], int, int) into a bytearray, in two reads at any split point."""
    from System.IO import BinaryReader, MemoryStream

    split = min(split, len(data))
    buf = bytearray(len(data))
    with BinaryReader(MemoryStream(data)) as reader:
        first = reader.Read(buf, 0, split)
        second = reader.Read(buf, split, len(data) - split)
    assert (first + second, bytes(buf)) == (len(data), data)


@_SETTINGS
@given(text=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x7E), min_size=1, max_size=500))
def test_encoding_get_bytes_writes_into_the_bytearray(text: str) -> None:
    from System.Text import Encoding

    buf = bytearray(len(text) + 2)
    written = Encoding.UTF8.GetBytes(text, 0, len(text), buf, 1)
    assert written == len(text) and buf == b"\0" + text.encode() + b"\0"


@_SETTINGS
@given(data=st.binary(min_size=1, max_size=4000), offset=st.integers(0, 100))
def test_buffer_block_copy_into_a_bytearray(data: bytes, offset: int) -> None:
    from System import Buffer

    buf = bytearray(len(data) + offset)
    Buffer.BlockCopy(data, 0, buf, offset, len(data))
    assert buf == bytes(offset) + data


@_SETTINGS
@given(data=st.binary(min_size=1, max_size=4000))
def test_array_copy_into_a_writable_memoryview(data: bytes) -> None:
    from System import Array

    buf = bytearray(len(data))
    Array.Copy(data, memoryview(buf), len(data))
    assert buf == data


def test_random_number_generator_fills_the_bytearray() -> None:
    from System.Security.Cryptography import RandomNumberGenerator

    buf = bytearray(64)
    RandomNumberGenerator.Create().GetNonZeroBytes(buf)
    assert all(buf)


def test_random_next_bytes_fills_the_bytearray_the_same_as_a_dotnet_array() -> None:
    from System import Array, Byte, Random

    buf = bytearray(32)
    Random(7).NextBytes(buf)
    expected = Array.CreateInstance(Byte, 32)
    Random(7).NextBytes(expected)
    assert list(buf) == list(expected)
