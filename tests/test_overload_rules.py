"""Overloads and generic methods decided as C# decides them: the calls users write against the
base library and against fixture types shaped like library APIs (Fixtures.OverloadShapes),
each expecting the overload (and so the result) C# picks for the same call."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


@pytest.fixture(scope="module")
def words() -> Any:
    from System.Collections.Generic import List

    return List[str](["a", "bbb", "cc"])


# ---- Python callables against delegate overloads ---------------------------------------------


def test_task_run_with_a_lambda_takes_the_func_overload_and_keeps_its_result() -> None:
    from System.Threading.Tasks import Task

    assert Task.Run(lambda: 42).Result == 42


def test_task_factory_start_new_keeps_the_lambdas_result() -> None:
    from System.Threading.Tasks import Task

    assert Task.Factory.StartNew(lambda: 1).Result == 1


def test_continue_with_a_lambda_takes_the_derived_tasks_func_overload() -> None:
    from System.Threading.Tasks import Task

    assert Task.Run(lambda: 41).ContinueWith(lambda t: t.Result + 1).Result == 42


@pytest.mark.parametrize(("method", "expected"), [("Max", 3), ("Min", 1), ("Sum", 6), ("Average", 2.0)])
def test_linq_aggregates_take_a_lambda_selector(words: Any, method: str, expected: Any) -> None:
    from System.Linq import Enumerable

    assert getattr(Enumerable, method)(words, lambda w: len(w)) == expected


def test_linq_max_with_an_explicit_func_takes_the_more_specific_overload(words: Any) -> None:
    from System import Func
    from System.Linq import Enumerable

    assert Enumerable.Max(words, Func[str, int](len)) == 3


def test_a_func_overload_is_chosen_over_an_action_overload() -> None:
    from Fixtures.OverloadShapes import Pipeline

    assert Pipeline.Execute(lambda: 5) == 5


def test_a_generic_result_func_is_chosen_over_a_fixed_result_func() -> None:
    from Fixtures.OverloadShapes import Pipeline

    assert Pipeline.Run(lambda: 5) == "Run<TResult>(Func<TResult>): 5"


def test_the_callables_arity_selects_the_delegate_overload() -> None:
    from Fixtures.OverloadShapes import Pipeline

    assert Pipeline.Pick(lambda a, b: a + b) == "Pick(Func<int, int, int>): 3"
    assert Pipeline.Pick(lambda a: a + 1) == "Pick(Func<int, int>): 2"


def test_fixed_result_funcs_are_ordered_by_better_conversion_target() -> None:
    from Fixtures.OverloadShapes import Pipeline

    assert Pipeline.Total(lambda: 5) == "Total(Func<int>): 5"


def test_an_action_wrapper_forces_the_action_overload() -> None:
    from Fixtures.OverloadShapes import Pipeline
    from System import Action

    seen: list[int] = []
    assert Pipeline.Execute(Action(lambda: seen.append(1))) == "Execute(Action)"
    assert seen == [1]


def test_overloads_selection_forces_the_action_overload() -> None:
    from Fixtures.OverloadShapes import Pipeline
    from System import Action

    assert Pipeline.Execute.overloads[Action](lambda: None) == "Execute(Action)"


# ---- tie-breakers ------------------------------------------------------------------------------


def test_dictionary_remove_takes_the_overload_without_an_out_parameter() -> None:
    from System.Collections.Generic import Dictionary

    d = Dictionary[str, int]()
    d["a"] = 1
    assert d.Remove("a") is True
    assert d.Count == 0


def test_math_divrem_of_two_ints_returns_the_value_tuple() -> None:
    from System import Math

    result = Math.DivRem(17, 5)
    assert (result.Item1, result.Item2) == (3, 2)


def test_json_array_without_arguments_takes_the_normal_form_constructor() -> None:
    from System.Text.Json.Nodes import JsonArray

    assert JsonArray().Count == 0


def test_normal_form_beats_the_expanded_params_form() -> None:
    from Fixtures.OverloadShapes import TieBreaks

    assert TieBreaks.Params(1) == "Params(int, int = 0)"
    assert TieBreaks.Params(1, 2, 3) == "Params(params int[]): 3"


def test_non_generic_beats_generic_with_the_same_parameter_types() -> None:
    from Fixtures.OverloadShapes import TieBreaks

    assert TieBreaks.Generic(1) == "Generic(int)"
    assert TieBreaks.Generic("s") == "Generic<T>(T)"


def test_no_default_filled_in_beats_a_default_filled_in() -> None:
    from Fixtures.OverloadShapes import TieBreaks

    assert TieBreaks.Defaults(1) == "Defaults(int)"


def test_no_omitted_out_beats_an_omitted_out() -> None:
    from Fixtures.OverloadShapes import TieBreaks

    assert TieBreaks.Out("k") == "Out(string)"


def test_a_python_list_prefers_ienumerable_of_its_items_over_a_bare_type_parameter() -> None:
    from Fixtures.OverloadShapes import TieBreaks

    assert TieBreaks.Specific([1]) == "Specific<T>(IEnumerable<T>)"


def test_a_list_of_ints_prefers_the_double_sequence_overload() -> None:
    from Fixtures.OverloadShapes import Stats

    assert Stats.Median([1, 3, 2]) == "double 2"


def test_an_unseen_callable_result_ambiguity_says_how_to_choose() -> None:
    from Fixtures.OverloadShapes import Subscribe

    with pytest.raises(TypeError, match="ambiguous") as info:
        Subscribe.Create(lambda observer: None)
    message = str(info.value)
    assert "Create(Func[Object, IDisposable] subscribe)" in message
    assert "Create(Func[Object, Action] subscribe)" in message
    assert "result type cannot be seen" in message and "Func[...](f)" in message


def test_a_return_annotation_settles_delegates_that_differ_only_in_result() -> None:
    from Fixtures.OverloadShapes import Subscribe
    from System import Action

    def subscribe(observer: Any) -> None:
        return None

    subscribe.__annotations__["return"] = Action  # what `-> Action` is without postponed annotations
    assert Subscribe.Create(subscribe) == "Create(Func<object, Action>)"


def test_a_string_return_annotation_is_looked_up_in_the_functions_module() -> None:
    from Fixtures.OverloadShapes import Pipeline

    def five() -> float:  # a string here (postponed annotations): "float"
        return 5.0

    assert Pipeline.Total(five) == "Total(Func<double>): 5"


# ---- keyword arguments ------------------------------------------------------------------------


def test_a_keyword_goes_to_the_overload_that_has_that_parameter() -> None:
    from Fixtures.OverloadShapes import Keywords

    assert Keywords.F(b=5) == 'F(string a = "", int b = 0): a= b=5'
    assert Keywords.F("x") == "F(string a): a=x"


def test_keywords_bind_by_name_to_the_overload_they_fit() -> None:
    from Fixtures.OverloadShapes import Keywords

    assert Keywords.G(a="foo", b=5) == "G(object, object): foo 5"
    assert Keywords.G(b="s", a=1) == "G(int, string): 1 s"


# ---- user-defined conversions -----------------------------------------------------------------


def test_an_implicit_operator_declared_on_a_base_class_is_applied() -> None:
    from Fixtures.OverloadShapes import PredicateBuilder, RetryOptions
    from System import ArgumentException, InvalidOperationException

    options = RetryOptions()
    options.ShouldHandle = PredicateBuilder().Handle[InvalidOperationException]()
    assert options.Handles(InvalidOperationException("x")) is True
    assert options.Handles(ArgumentException("y")) is False


def test_an_explicit_operator_declared_on_a_base_class_serves_a_cast() -> None:
    import System
    from Fixtures.OverloadShapes import Celsius

    assert System.Double(Celsius(21.5)) == 21.5


def test_an_explicit_operator_is_not_applied_to_an_argument_without_a_cast() -> None:
    from Fixtures.OverloadShapes import Celsius, Temperature

    with pytest.raises(TypeError, match="no overload"):
        Temperature.Twice(Celsius(1.0))


# ---- generic inference ------------------------------------------------------------------------


def test_inference_goes_through_nested_sequences() -> None:
    from Fixtures.OverloadShapes import Nested

    assert Nested.Flatten([[1, 2], [3]]) == "Flatten<Int32>: 1,2,3"


def test_inference_reads_key_value_pairs_from_a_dictionary() -> None:
    from Fixtures.OverloadShapes import Nested
    from System.Collections.Generic import Dictionary

    d = Dictionary[str, int]()
    d["a"] = 1
    assert Nested.Keys(d) == "Keys<String, Int32>: a"


def test_enumerable_to_dictionary_infers_key_and_value_from_a_dictionary() -> None:
    from System.Collections.Generic import Dictionary
    from System.Linq import Enumerable

    d = Dictionary[str, int]()
    d["x"] = 3
    copy = Enumerable.ToDictionary(d)
    assert type(copy) is Dictionary[str, int]
    assert copy["x"] == 3


def test_select_many_flattens_a_list_of_lists_with_a_lambda() -> None:
    from System.Linq import Enumerable

    assert list(Enumerable.SelectMany([[1, 2], [3]], lambda x: x)) == [1, 2, 3]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1], "System.Collections.Generic.List`1[[System.Object"),
        ({"a": 1}, "System.Collections.Generic.Dictionary`2[[System.Object"),
        (None, "System.Object"),
    ],
)
def test_an_unconstrained_type_parameter_from_a_list_dict_or_none(value: Any, expected: str) -> None:
    from Fixtures.OverloadShapes import Nested

    assert Nested.Name(value).startswith(expected)


@pytest.mark.parametrize(("value", "expected"), [({"a": [1]}, '{"a":[1]}'), ([1, 2], "[1,2]"), (None, "null")])
def test_json_serializer_serializes_python_values(value: Any, expected: str) -> None:
    from System.Text.Json import JsonSerializer

    assert JsonSerializer.Serialize(value) == expected


# ---- a Python list or tuple among collection overloads ------------------------------------------


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("A", "int[]"),
        ("B", "List"),
        ("C", "ICollection"),
        ("D", "IEnumerable"),
        ("E", "ISet"),
        ("Params", "params int[]"),
    ],
)
@pytest.mark.parametrize("sequence", [list, tuple])
def test_a_python_sequence_takes_the_most_concrete_collection_overload(
    method: str, expected: str, sequence: Any
) -> None:
    """One documented order (docs/overloads.md): T[], List<T>, IList<T>, IReadOnlyList<T>,
    ICollection<T>, IReadOnlyCollection<T>, IEnumerable<T>, the set types, non-generic."""
    from Fixtures.Binding import Collections

    assert getattr(Collections, method)(sequence([1, 2, 3])) == expected
