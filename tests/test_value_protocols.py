"""Values as C# sees them (issue 29): C#'s foreach pattern makes a type iterable; conversion
operators give int(), float(), operator.index(), bool() and bytes(); wrongly typed enum values
and violated generic constraints are TypeErrors; MethodInfo.Invoke wraps as in C#
(Fixtures.ValueProtocols and the BCL)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


# ---- 29.7: the foreach pattern ----------------------------------------------------------------


def test_a_public_get_enumerator_without_ienumerable_iterates_and_disposes() -> None:
    from Fixtures.ValueProtocols import Countdown

    before = Countdown.Disposed
    assert isinstance(Countdown(3), Iterable)
    assert list(Countdown(3)) == [3, 2, 1]
    assert Countdown.Disposed == before + 1  # as foreach: the IDisposable enumerator is disposed
    it = iter(Countdown(5))
    assert next(it) == 5
    del it  # abandoned part-way: disposed too
    assert Countdown.Disposed == before + 2
    assert 2 in Countdown(3) and 7 not in Countdown(3)


def test_a_struct_enumerator_advances_in_one_box() -> None:
    from Fixtures.ValueProtocols import Letters

    assert list(Letters("abc")) == ["a", "b", "c"]
    assert list(Letters("")) == []


def test_string_builder_chunks_iterate_through_the_pattern() -> None:
    from System.Text import StringBuilder

    sb = StringBuilder(16)
    for part in ("alpha-" * 10, "beta-" * 2000, "gamma"):  # more than one chunk
        sb.Append(part)
    chunks = [c.ToString() for c in sb.GetChunks()]  # ChunkEnumerator: the pattern, not IEnumerable
    assert len(chunks) > 1 and "".join(chunks) == sb.ToString()


def test_an_exception_from_move_next_is_raised_as_itself() -> None:
    from Fixtures.ValueProtocols import Faulty
    from System import InvalidOperationException

    got = []
    with pytest.raises(InvalidOperationException, match="broken at 3"):
        for x in Faulty():
            got.append(x)
    assert got == [1, 2]


def test_pattern_iteration_survives_the_source_being_released_and_runs_on_many_threads() -> None:
    import threading

    from Fixtures.ValueProtocols import Countdown, Letters

    from pyclrbridge import release

    source = Countdown(4)
    it = iter(source)
    assert next(it) == 4
    release(source)  # the enumerator already holds what it needs
    assert list(it) == [3, 2, 1]
    with pytest.raises(ValueError, match="released"):
        iter(source)

    shared = Letters("abcdefgh")  # one struct, each iteration with its own enumerator
    results: list[list[str]] = []
    lock = threading.Lock()  # owner of results across the worker threads

    def work() -> None:
        for _ in range(50):
            got = list(shared)
            with lock:
                results.append(got)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 200 and all(r == list("abcdefgh") for r in results)


def test_get_enumerator_with_parameters_is_not_the_pattern() -> None:
    from Fixtures.ValueProtocols import NotAPattern

    assert not isinstance(NotAPattern(), Iterable)
    with pytest.raises(TypeError, match="not iterable"):
        iter(NotAPattern())


# ---- 29.8: conversion operators as int(), float(), index(), bool(), bytes() --------------------


def test_conversion_operators_give_int_float_index_bool_bytes() -> None:
    import operator

    from Fixtures.ValueProtocols import Small

    three = Small(3)
    assert int(three) == 3 and operator.index(three) == 3 and [10, 20, 30, 40][three] == 40
    assert float(three) == 1.5 and bytes(three) == b"\x03\x04"
    assert bool(three) and not Small(0)  # implicit operator bool: C#'s if (x)
    assert str(three) == "Small(3)"  # str() stays ToString(), not the string operator


def test_explicit_conversions_do_not_make_an_index_or_a_truth_value() -> None:
    import operator

    from Fixtures.ValueProtocols import ExplicitFlag, Meters, Tristate

    m = Meters(3.7)
    assert float(m) == 3.7 and int(m) == 3 and str(m) == "3.7 m"
    with pytest.raises(TypeError):
        operator.index(m)  # explicit only: may lose information
    with pytest.raises(OverflowError):
        int(Meters(1e30))  # the operator's checked conversion throws OverflowException
    assert bool(ExplicitFlag())  # its explicit operator bool (which throws) is never called
    assert bool(Tristate(1)) and not Tristate(-1)  # operator true


def test_bcl_numbers_convert_exactly() -> None:
    import operator

    from System import Half, Int128, UInt128
    from System.Numerics import BigInteger

    big = BigInteger.Parse("-123456789012345678901234567890")
    assert int(big) == operator.index(big) == -123456789012345678901234567890
    assert float(big) == -1.2345678901234568e29
    assert int(Int128.MinValue) == -(2**127) and int(UInt128.MaxValue) == 2**128 - 1
    assert float(Half.Parse("1.5")) == 1.5 and int(Half.Parse("-2.75")) == -2
    assert list(range(BigInteger.Parse("3"))) == [0, 1, 2]


# ---- 29.15: wrongly typed enum values and broken generic constraints are TypeErrors -----------


def test_text_or_a_float_for_an_enum_member_is_a_type_error_naming_the_member() -> None:
    from Fixtures.ValueProtocols import Painted, Shade
    from System import Array, DayOfWeek
    from System.Globalization import CultureInfo, DateTimeFormatInfo

    painted = Painted()
    for name in ("ShadeField", "ShadeProperty"):
        with pytest.raises(TypeError, match=rf"Painted\.{name}: cannot store System\.String 'Dark' as the enum"):
            setattr(painted, name, "Dark")
        assert getattr(painted, name) == Shade.Light  # unchanged
    with pytest.raises(TypeError, match=r"Painted\.StaticShade: .*give Shade\.Light or an integer"):
        Painted.StaticShade = "Dark"
    with pytest.raises(TypeError, match=r"ShadeField: cannot store System\.Double 1\.5"):
        painted.ShadeField = 1.5
    with pytest.raises(TypeError, match=r"as the enum System\.DayOfWeek"):
        Array[DayOfWeek]([DayOfWeek.Monday])[0] = "Friday"
    fmt = DateTimeFormatInfo.GetInstance(CultureInfo.InvariantCulture).Clone()  # a BCL enum property
    with pytest.raises(TypeError, match=r"DateTimeFormatInfo\.FirstDayOfWeek: .*System\.DayOfWeek"):
        fmt.FirstDayOfWeek = "Monday"
    fmt.FirstDayOfWeek = DayOfWeek.Monday
    assert fmt.FirstDayOfWeek == DayOfWeek.Monday


def test_a_broken_generic_constraint_is_a_type_error_naming_it() -> None:
    from Fixtures.ValueProtocols import ConstraintMethods, OnlyNew, OnlyStructs
    from System import Nullable, Object

    with pytest.raises(TypeError, match=r"Object cannot be T of Nullable\[T\]: .*'where T : struct'"):
        Nullable[Object]
    with pytest.raises(TypeError, match=r"'where T : struct'"):
        OnlyStructs[Object]
    with pytest.raises(TypeError, match=r"String cannot be T of OnlyNew\[T\]: .*'where T : new\(\)'"):
        OnlyNew[str]
    with pytest.raises(TypeError, match=r"'where T : IComparable\[T\]'"):
        ConstraintMethods.Name[Object]()
    assert ConstraintMethods.Name[str]() == "String" and OnlyStructs[int] is OnlyStructs[int]


# ---- 29.17: reflection called from Python wraps as in C# ---------------------------------------


def test_method_info_invoke_raises_target_invocation_exception_as_in_csharp() -> None:
    from System import FormatException, Type
    from System.Reflection import TargetInvocationException

    parse = Type.GetType("System.Int32").GetMethod("Parse", [Type.GetType("System.String")])
    with pytest.raises(TargetInvocationException) as caught:
        parse.Invoke(None, ["not a number"])
    assert isinstance(caught.value.InnerException, FormatException)
    assert caught.value.__cause__ is caught.value.InnerException
    assert parse.Invoke(None, ["42"]) == 42


def test_property_info_and_constructor_info_wrap_too() -> None:
    from System import InvalidOperationException, Type, Uri, UriFormatException
    from System.IO import MemoryStream
    from System.Reflection import TargetInvocationException

    timeout = MemoryStream().GetType().GetProperty("ReadTimeout")
    with pytest.raises(TargetInvocationException) as caught:
        timeout.GetValue(MemoryStream())
    assert isinstance(caught.value.InnerException, InvalidOperationException)
    make_uri = Uri("http://a/").GetType().GetConstructor([Type.GetType("System.String")])
    with pytest.raises(TargetInvocationException) as made:
        make_uri.Invoke(["::not a uri::"])
    assert isinstance(made.value.InnerException, UriFormatException)


def test_the_bridges_own_reflection_raises_the_original_exception() -> None:
    from Fixtures.ValueProtocols import Picky, Unmakeable
    from System import FormatException, InvalidOperationException

    assert Picky.Take("ok") == "ok"
    with pytest.raises(FormatException, match="empty text is not picky"):
        Picky.Take("")  # the implicit operator, applied by the bridge
    with pytest.raises(InvalidOperationException, match="no default Unmakeable"):
        Unmakeable()  # new Unmakeable(): its parameterless constructor
