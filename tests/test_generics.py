"""Generic types and methods: instantiation with Python or .NET type arguments, user generics,
nested generics, arity families, explicit and inferred generic methods."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


def test_list_of_int_holds_python_ints() -> None:
    from System.Collections.Generic import List

    xs = List[int]([3, 1, 2])
    xs.Sort()
    assert list(xs) == [1, 2, 3]


def test_python_types_stand_for_their_dotnet_types() -> None:
    import System
    from System.Collections.Generic import List

    assert List[int] is List[System.Int32]
    assert List[str] is List[System.String]
    assert List[float] is List[System.Double]
    assert List[bool] is List[System.Boolean]
    assert List[object] is List[System.Object]


def test_nested_type_arguments_build_a_dictionary_of_lists() -> None:
    from System.Collections.Generic import Dictionary, List

    d = Dictionary[str, List[float]]()
    d["a"] = List[float]([1.5])
    assert d["a"][0] == 1.5
    assert type(d).__clr_name__ == "System.Collections.Generic.Dictionary[String, List[Double]]"


def test_user_generic_class_with_one_type_argument() -> None:
    from Fixtures.Generics import Box

    box = Box[int](5)
    assert box.Value == 5
    assert box.TypeArgument == "System.Int32"


def test_user_generic_class_with_two_type_arguments() -> None:
    from Fixtures.Generics import Pair

    assert str(Pair[int, str](1, "a").Swap()) == "(a, 1)"


def test_generic_class_methods_use_the_type_arguments() -> None:
    from Fixtures.Generics import Registry

    r = Registry[str, int]()
    r.Add("x", 1)
    assert r.Get("x") == 1
    assert r.TryGet("x") == (True, 1)
    assert list(r.Keys()) == ["x"]


def test_generic_definition_cannot_be_instantiated_without_type_arguments() -> None:
    from Fixtures.Generics import Box

    with pytest.raises(TypeError, match="generic type definition"):
        Box(5)


def test_unsatisfied_constraint_is_a_clear_error() -> None:
    from Fixtures.Generics import Constrained

    assert Constrained[int].Max(3, 7) == 7
    with pytest.raises(Exception, match=r"Constrained|constraint|violates"):
        Constrained[object]


def test_same_name_family_picks_by_number_of_type_arguments() -> None:
    from Fixtures.Generics import Multi

    assert Multi().Arity == 0
    assert Multi[int]().Arity == 1
    assert Multi[int, str]().Arity == 2


def test_nested_generic_takes_outer_then_inner_type_arguments() -> None:
    from Fixtures.Generics import Outer

    inner = Outer[int].Inner[str](1, "a")
    assert (inner.OuterValue, inner.InnerValue) == (1, "a")
    assert Outer[int].Inner[str].Describe() == "Inner<Int32, String>"


def test_nested_generic_class_is_the_same_object_each_time() -> None:
    from Fixtures.Generics import Outer

    assert Outer[int].Inner[str] is Outer[int].Inner[str]


def test_generic_method_with_explicit_type_argument() -> None:
    from System.Linq import Enumerable

    assert list(Enumerable.Repeat[str]("a", 3)) == ["a", "a", "a"]


def test_generic_method_infers_its_type_argument() -> None:
    from System.Linq import Enumerable

    assert list(Enumerable.Repeat("a", 3)) == ["a", "a", "a"]


def test_user_generic_method_infers_from_a_plain_argument() -> None:
    from Fixtures.Generics import GenericTools

    assert GenericTools.Identity(5) == 5
    assert GenericTools.Identity("s") == "s"


def test_generic_method_infers_from_a_python_list_and_a_dotnet_list() -> None:
    from Fixtures.Generics import GenericTools
    from System.Collections.Generic import List

    assert GenericTools.First([7, 8]) == 7
    assert GenericTools.Count(List[int]([1, 2, 3])) == 3


def test_generic_method_without_inferable_arguments_takes_explicit_ones() -> None:
    from Fixtures.Generics import GenericTools

    assert GenericTools.TypeName[str]() == "System.String"
    assert GenericTools.DefaultOf[int]() == 0


def test_non_generic_overload_wins_a_tie_with_a_generic_one() -> None:
    from Fixtures.Generics import GenericTools

    assert GenericTools.Which(5) == "int"
    assert GenericTools.Which("s") == "generic:System.String"


def test_generic_method_returning_a_constructed_type() -> None:
    from Fixtures.Generics import GenericTools
    from System.Collections.Generic import List

    made = GenericTools.MakeList("z", 2)
    assert type(made) is List[str]
    assert list(made) == ["z", "z"]


def test_result_type_decided_only_by_a_python_callable_becomes_object() -> None:
    from Fixtures.Generics import Box
    from System.Linq import Enumerable

    mapped = Box[int](5).Map(lambda v: str(v))
    assert type(mapped) is Box[object]
    assert mapped.Value == "5"
    assert list(Enumerable.Select([1, 2, 3], lambda x: x * 2)) == [2, 4, 6]


def test_explicit_type_argument_overrides_the_object_default_for_callables() -> None:
    from Fixtures.Generics import Box

    assert type(Box[int](5).Map[str](lambda v: str(v))) is Box[str]


def test_uninferable_type_argument_error_says_to_give_it_explicitly() -> None:
    from Fixtures.Generics import GenericTools

    with pytest.raises(TypeError, match=r"give them explicitly"):
        GenericTools.DefaultOf()


def test_none_alone_makes_the_type_argument_object() -> None:
    from Fixtures.Generics import GenericTools

    assert GenericTools.Identity(None) is None
    assert GenericTools.Which(None) == "generic:System.Object"


def test_sixteen_threads_instantiating_a_nested_generic_get_one_class() -> None:
    import threading

    from Fixtures.Generics import Outer
    from System import Guid

    barrier = threading.Barrier(16)
    results: list[Any] = [None] * 16

    def make(i: int) -> None:
        barrier.wait()
        results[i] = Outer[Guid].Inner[Guid]  # a combination no other test builds

    threads = [threading.Thread(target=make, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is results[0] for r in results)
    assert results[0].Describe() == "Inner<Guid, Guid>"


def test_a_python_object_alone_decides_a_type_parameter_as_object() -> None:
    """A generic parameter only a Python object meets (no .NET type of its own) is ``object``,
    and the object crosses as itself, as for an ``object`` parameter."""
    from System import Tuple
    from System.Linq import Enumerable

    class Session:
        pass

    s = Session()
    pair = Tuple.Create(s, 1)  # was: no overload of Tuple.Create accepts (Session, int)
    assert pair.Item1 is s and pair.Item2 == 1
    assert [x is s for x in Enumerable.Repeat(s, 2)] == [True, True]


# ---- type arguments only a callback's result decides ---------------------------------------------


def test_a_return_annotation_decides_a_type_argument_only_the_result_fixes() -> None:
    from System.Collections.Generic import List
    from System.Linq import Enumerable

    def as_text(x: int) -> str:
        return str(x * 2)

    texts = Enumerable.ToList(Enumerable.Select(List[int]([1, 2]), as_text))
    assert texts.GetType().GetGenericArguments()[0].Name == "String"  # not Object
    assert list(texts) == ["2", "4"]

    # A module that imports List and annotates lazily (from __future__ import annotations):
    # the annotation is the text "List[int]", looked up in the module's globals.
    module: dict[str, Any] = {"List": List}
    exec("from __future__ import annotations\ndef digits(x) -> List[int]:\n    return List[int]([x, x])\n", module)
    digits = module["digits"]
    many = Enumerable.ToList(Enumerable.SelectMany(List[int]([1, 2]), digits))
    assert many.GetType().GetGenericArguments()[0].Name == "Int32"  # IEnumerable<TResult> from List<int>
    assert list(many) == [1, 1, 2, 2]


def test_a_callbacks_result_converts_losslessly_to_the_inferred_object_type() -> None:
    from System.Collections.Generic import List
    from System.Linq import Enumerable
    from System.Threading.Tasks import Task

    nested = List[List[int]]([List[int]([1, 2]), List[int]([3])])
    # TResult is object (Python cannot read the lambda): List<int> is given as IEnumerable<object>.
    assert list(Enumerable.SelectMany(nested, lambda x: x)) == [1, 2, 3]  # was: InvalidCastException
    # A Func<Task<object>> whose Python callable returns a Task<string>: given as Task<object>.
    from System import Func

    make = Func[Task[object]](lambda: Task.FromResult("v"))
    assert make().Result == "v"  # was: cannot convert Task`1[String] to Task`1[Object]
    assert Task.Run(make).Result == "v"


def test_a_faulted_task_result_keeps_its_exception_through_the_conversion() -> None:
    from System import Func, InvalidOperationException
    from System.Threading.Tasks import Task

    failing = Task.FromException[str](InvalidOperationException("boom"))
    converted = Func[Task[object]](lambda: failing)()
    with pytest.raises(Exception, match="boom"):
        converted.Wait()
    assert converted.IsFaulted and converted.Exception.InnerException.Message == "boom"  # not nested twice
