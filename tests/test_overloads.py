"""Overload resolution like C#, its per-kinds cache, explicit choice, out/ref/params/optional
parameters, user conversions, and operators from op_* methods."""

from __future__ import annotations

import decimal
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


# ---- choosing like C# ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        (1, "int"),
        (2**40, "long"),
        (1.5, "double"),
        ("text", "string"),
        (True, "bool"),
    ],
)
def test_exact_type_wins_for_python_primitives(arg: Any, expected: str) -> None:
    from Fixtures.Overloads import Picker

    assert Picker.Pick(arg) == expected


def test_a_dotnet_object_without_its_own_overload_goes_to_object() -> None:
    from Fixtures.Members import Widget
    from Fixtures.Overloads import Picker

    assert Picker.Pick(Widget(1)) == "object"


def test_the_number_of_arguments_selects_the_overload() -> None:
    from Fixtures.Overloads import Picker

    assert Picker.Pick(1, 2) == "int,int"


def test_most_derived_parameter_type_wins() -> None:
    from Fixtures.Overloads import Cat, Dog, Picker

    assert Picker.Speak(Dog()) == "dog"
    assert Picker.Speak(Cat()) == "animal"


def test_integer_widens_to_long_and_double_parameters() -> None:
    from Fixtures.Overloads import Picker

    assert Picker.OnlyLong(5) == 5
    assert Picker.OnlyDouble(3) == 3.0


def test_float_reaches_a_struct_through_its_implicit_conversion() -> None:
    from Fixtures.Overloads import Meters, Picker

    assert Picker.Length(2.5) == 2.5
    assert Picker.Length(Meters(1.5)) == 1.5


def test_int_reaches_op_implicit_of_double_through_a_standard_conversion() -> None:
    from Fixtures.Overloads import Picker

    assert Picker.Length(2) == 2.0


def test_ambiguous_call_raises_type_error_listing_the_tied_signatures_and_the_rule() -> None:
    from Fixtures.Overloads import Both, Picker

    with pytest.raises(TypeError, match="ambiguous") as info:
        Picker.Ambiguous(Both())
    assert "Ambiguous(IFirst x)" in str(info.value)
    assert "Ambiguous(ISecond x)" in str(info.value)
    assert "the rule that could not separate them: better conversion" in str(info.value)


def test_no_matching_overload_raises_type_error_listing_every_candidate() -> None:
    from Fixtures.Overloads import Picker

    with pytest.raises(TypeError, match="no overload") as info:
        Picker.Pick(1, 2, 3)
    message = str(info.value)
    for sig in (
        "Pick(Int32 x)",
        "Pick(Int64 x)",
        "Pick(Double x)",
        "Pick(String x)",
        "Pick(Object x)",
        "Pick(Boolean x)",
        "Pick(Single x)",
        "Pick(Int32 x, Int32 y)",
    ):
        assert sig in message


# ---- the per-kinds cache ----------------------------------------------------------------------


@pytest.fixture
def choose_calls(monkeypatch: Any) -> list[int]:
    """One entry per overload resolution (``_binder.choose`` call) made during the test."""
    from pyclrbridge.proxies import binder as _binder

    calls: list[int] = []
    real_choose = _binder.choose

    def counting_choose(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real_choose(*args, **kwargs)

    monkeypatch.setattr(_binder, "choose", counting_choose)
    return calls


def test_second_call_with_the_same_argument_kinds_does_no_resolution(choose_calls: list[int]) -> None:
    from Fixtures.Overloads import Picker

    assert Picker.Pick(decimal.Decimal("1.5")) == "double"  # a kind no other test uses
    assert len(choose_calls) == 1
    assert Picker.Pick(decimal.Decimal("2.5")) == "double"
    assert len(choose_calls) == 1


def test_a_new_argument_kind_is_resolved_on_its_own(choose_calls: list[int]) -> None:
    from Fixtures.Overloads import Picker

    assert Picker.Pick(2**64) == "double"  # beyond UInt64: only floating point takes it (one cached kind)
    assert Picker.Pick(2**70) == "double"
    assert len(choose_calls) == 1


# ---- explicit choice --------------------------------------------------------------------------


def test_overloads_selects_a_method_by_parameter_types() -> None:
    import System
    from Fixtures.Overloads import Picker
    from System import Math

    assert Picker.Pick.overloads[System.Int64](1) == "long"
    assert Math.Abs.overloads[System.Int64](-(2**40)) == 2**40


def test_overloads_selects_a_constructor_by_parameter_types() -> None:
    from Fixtures.Members import Widget

    assert Widget.overloads[int](3).Size == 3
    assert Widget.overloads[int, str](3, "x").Name == "x"


def test_overloads_with_unknown_parameter_types_lists_candidates() -> None:
    from Fixtures.Overloads import Picker

    with pytest.raises(TypeError, match=r"Pick\(Int32 x, Int32 y\)"):
        Picker.Pick.overloads[str, str]


# ---- out, ref, params, optional -----------------------------------------------------------------


def test_out_parameter_returns_a_result_tuple() -> None:
    from System import Int32

    assert Int32.TryParse("42") == (True, 42)
    assert Int32.TryParse("nope") == (False, 0)


def test_ref_parameters_come_back_in_the_result_tuple() -> None:
    from Fixtures.Members import StaticTools

    assert StaticTools.TryDouble(4) == (True, 8)
    assert StaticTools.Swap(1, 2) == (2, 1)


def test_params_array_takes_loose_arguments() -> None:
    from Fixtures.Members import StaticTools
    from System import String

    assert StaticTools.Concat("a", "b", "c") == "a,b,c"
    assert String.Join("-", "x", "y", "z") == "x-y-z"


def test_params_array_takes_no_arguments_or_a_list() -> None:
    from Fixtures.Members import StaticTools

    assert StaticTools.Concat() == ""
    assert StaticTools.Concat(["a", "b"]) == "a,b"


def test_optional_parameters_take_their_defaults() -> None:
    from Fixtures.Members import StaticTools

    assert StaticTools.Optional(1) == "1-10-x"
    assert StaticTools.Optional(1, 2) == "1-2-x"
    assert StaticTools.Optional(1, c="z") == "1-10-z"


# ---- operators ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("a + b", "Vector(9, 8)"),
        ("a - b", "Vector(3, -2)"),
        ("-a", "Vector(-6, -3)"),
        ("a * 2", "Vector(12, 6)"),
        ("2 * a", "Vector(12, 6)"),
        ("a / 2", "Vector(3, 1.5)"),
        ("a % 4", "Vector(2, 3)"),
        ("a & b", "Vector(2, 1)"),
        ("a | b", "Vector(7, 7)"),
        ("a ^ b", "Vector(5, 6)"),
        ("~a", "Vector(-7, -4)"),
    ],
)
def test_arithmetic_and_bitwise_operators_come_from_op_methods(expression: str, expected: str) -> None:
    from Fixtures.Operators import Vector

    a, b = Vector(6, 3), Vector(3, 5)
    assert str(eval(expression, {"a": a, "b": b})) == expected


def test_operator_overloads_are_chosen_by_operand_type() -> None:
    from Fixtures.Operators import Vector

    assert Vector(6, 3) * Vector(3, 5) == 33.0


def test_comparison_operators_come_from_op_methods() -> None:
    from Fixtures.Operators import Vector

    small, big = Vector(1, 0), Vector(3, 4)
    assert small < big and small <= big and big > small and big >= small
    assert Vector(1, 2) == Vector(1, 2)
    assert Vector(1, 2) != Vector(2, 1)


def test_calling_a_primitive_type_converts_like_a_cast() -> None:
    from System import Decimal, Int64

    assert Int64(5) == 5
    assert Decimal("1.25") == decimal.Decimal("1.25")


def test_calling_a_primitive_type_uses_an_explicit_conversion_operator() -> None:
    from Fixtures.Overloads import Meters
    from System import Double

    assert Double(Meters(2.5)) == 2.5


def test_sixteen_threads_making_the_first_call_of_a_group_all_get_the_right_overload() -> None:
    import threading

    from Fixtures.Overloads import Picker

    from pyclrbridge.proxies.members import MethodGroup

    fresh = MethodGroup("Pick", "Fixtures.Overloads.Picker", Picker.Pick.overloads_list)  # empty plan cache
    barrier = threading.Barrier(16)
    results: list[Any] = [None] * 16
    args = [(1,), (2**40,), (1.5,), ("s",)]

    def call(i: int) -> None:
        barrier.wait()
        results[i] = fresh(*args[i % 4])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["int", "long", "double", "string"] * 4


def test_ambiguity_error_also_lists_the_other_candidates() -> None:
    from Fixtures.Overloads import Both, Picker

    with pytest.raises(TypeError, match="ambiguous") as info:
        Picker.Tied(Both())
    message = str(info.value)
    assert "Tied(IFirst x)" in message and "Tied(ISecond x)" in message
    assert "other candidates:\n  static String Tied(Int32 x)" in message


def test_python_list_prefers_an_array_parameter_over_an_enumerable_one() -> None:
    from System import String

    assert String.Join(",", ["a", "b"]) == "a,b"


# ---- the plan cache keys on everything the choice depends on ----------------------------------


def test_a_keyword_call_does_not_reuse_the_overload_of_other_keyword_value_kinds() -> None:
    from System import Math

    assert Math.Max(val1=1, val2=2) == 2
    assert Math.Max(val1=1.5, val2=2.5) == 2.5  # was: a float cannot be passed as System.Int32
    assert Math.Max(1, val2=2.5) == 2.5
    assert Math.Max(val2=2**40, val1=1) == 2**40


def test_a_list_is_keyed_by_every_item_the_choice_reads_not_only_the_first() -> None:
    from Fixtures.Binding import KeywordPick

    assert KeywordPick.P([1, 2]) == "int[],object"
    assert KeywordPick.P([1, 2.5]) == "double[],double"  # was: the int[] plan of [1, 2]
    assert KeywordPick.P(a=[1, 2]) == "int[],object"
    assert KeywordPick.P(a=[1, 2.5]) == "double[],double"
    assert KeywordPick.P({1, 2.5}) == "double[],double"


def test_a_callable_object_is_keyed_by_its_arity() -> None:
    import functools

    from System import Func

    def add(x: int, y: int) -> int:
        return x + y

    # A partial of one argument fits Func<int,int>, a partial of none only Func<int,int,int>.
    assert Func[int, int](functools.partial(add, 1))(2) == 3
    from System.Threading.Tasks import Task

    assert Task.Run(functools.partial(add, 1, 2)).Result == 3
    with pytest.raises(TypeError):
        Task.Run(functools.partial(add, 1))  # needs one more argument: fits no delegate overload


# ---- decimal.Decimal is a System.Decimal, never a System.Type -----------------------------------


def test_a_decimal_does_not_fit_a_type_parameter() -> None:
    from System import Convert, Type, TypeCode

    with pytest.raises(TypeError, match=r"no overload of System\.Type\.GetTypeCode accepts"):
        Type.GetTypeCode(decimal.Decimal("1"))  # was: InvalidCastException inside .NET
    assert Convert.GetTypeCode(decimal.Decimal("1")) == TypeCode.Decimal  # GetTypeCode(object)


def test_a_generic_overload_beside_a_type_overload_takes_a_decimal_as_t() -> None:
    from Fixtures.Binding import TypeOrValue
    from System import String

    assert TypeOrValue.Overloaded(decimal.Decimal("1.5")) == "T=Decimal"  # was: the Type overload
    assert TypeOrValue.Overloaded(String) == "Type"
    assert TypeOrValue.Overloaded(1.5) == "T=Double"


def test_bcl_overloads_of_object_and_type_take_a_decimal_as_the_object() -> None:
    from System.Runtime.InteropServices import Marshal

    assert Marshal.SizeOf(decimal.Decimal("1")) == 16  # SizeOf(object), not SizeOf(Type)


# ---- omitted [Optional] parameters as C# fills them in ------------------------------------------


def test_an_omitted_optional_object_parameter_is_type_missing_as_csharp_passes() -> None:
    from Fixtures.Binding import OptionalArgs

    assert OptionalArgs.DescribeFromCSharp() == "Type.Missing"  # what the C# compiler passes
    assert OptionalArgs.Describe() == "Type.Missing"  # was: null
    assert OptionalArgs.Describe(None) == "null"  # given explicitly: what was given
    assert OptionalArgs.Describe(3) == "3"


def test_an_omitted_optional_typed_parameter_is_its_default_as_csharp_passes() -> None:
    from Fixtures.Binding import OptionalArgs

    assert OptionalArgs.Typed() == OptionalArgs.TypedFromCSharp() == "null,0"
    assert OptionalArgs.Typed(number=2) == "null,2"


# ---- indexers whose indexes may be omitted or repeated ------------------------------------------


def test_an_indexer_with_an_optional_second_index_can_be_written_with_one_index() -> None:
    from Fixtures.Binding import OptionalIndex

    ob = OptionalIndex()
    ob[1] = "x"  # was: no overload of ...__setitem__ accepts (int, str)
    ob[1, "c"] = "y"
    assert (ob[1], ob[1, "default"], ob[1, "c"], ob[2]) == ("x", "x", "y", "")


def test_an_indexer_ending_in_a_params_index_can_be_written() -> None:
    from Fixtures.Binding import OptionalIndex

    ob = OptionalIndex()
    ob["root", 1, 2] = "deep"
    ob["root"] = "top"
    assert (ob["root", 1, 2], ob["root"], ob["root", 1]) == ("deep", "top", "")


def test_a_codec_registered_after_a_call_changes_the_choice_for_its_python_type() -> None:
    from fractions import Fraction

    from Fixtures.Overloads import Picker

    from pyclrbridge.values.codecs import register_codec

    assert Picker.Pick(Fraction(1, 2)) == "object"  # a Python object
    undo = register_codec(Fraction, float)
    try:
        assert Picker.Pick(Fraction(1, 2)) == "double"  # was: the cached object plan
    finally:
        undo()
    assert Picker.Pick(Fraction(1, 2)) == "object"
