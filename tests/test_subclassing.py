"""Python classes deriving from .NET classes and implementing .NET interfaces."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pyclrbridge.testing import run_concurrently


@pytest.fixture(scope="module")
def inheritance(fixtures: Any) -> Any:
    import Fixtures.Inheritance as module

    return module


def _square_class(inheritance: Any) -> Any:
    class Square(inheritance.Shape):
        def __init__(self, side: float) -> None:
            super().__init__("square")
            self.side = side

        def Area(self) -> float:
            return self.side**2

        @property
        def Name(self) -> str:
            return "square"

    return Square


def test_python_comparer_sorts_a_dotnet_list(fixtures: Any) -> None:
    from System.Collections.Generic import IComparer, List

    class ByLength(IComparer[str]):
        def Compare(self, a: str, b: str) -> int:
            return len(a) - len(b)

    xs = List[str](["ccc", "a", "bb"])
    xs.Sort(ByLength())
    assert list(xs) == ["a", "bb", "ccc"]


def test_python_interface_implementation_is_called_by_dotnet(inheritance: Any) -> None:
    class Triple(inheritance.ICalculator):
        def Compute(self, x: int) -> int:
            return 3 * x

    assert inheritance.Consumers.RunCalculator(Triple(), 5) == 15


def test_interface_implementation_is_called_from_another_thread(inheritance: Any) -> None:
    class Double(inheritance.ICalculator):
        def Compute(self, x: int) -> int:
            return 2 * x

    assert inheritance.Consumers.RunCalculatorOnThread(Double(), 21) == 42


def test_python_object_is_an_instance_of_the_dotnet_interface(inheritance: Any) -> None:
    class Same(inheritance.ICalculator):
        def Compute(self, x: int) -> int:
            return x

    assert isinstance(Same(), inheritance.ICalculator)


def test_dotnet_calls_python_overrides_of_an_abstract_class(inheritance: Any) -> None:
    square = _square_class(inheritance)
    assert inheritance.Consumers.TotalArea([square(2.0), square(3.0)]) == 13.0


def test_base_implementation_calls_overridden_method_and_property(inheritance: Any) -> None:
    square = _square_class(inheritance)
    assert inheritance.Consumers.Describe(square(2.0)) == "square with area 4.0"


def test_constructor_arguments_reach_the_base_constructor(inheritance: Any) -> None:
    square = _square_class(inheritance)
    assert square(1.0).Label == "square"


def test_default_base_constructor_is_used_without_super_init(inheritance: Any) -> None:
    class Unit(inheritance.Shape):
        def Area(self) -> float:
            return 1.0

    shape = Unit()
    assert shape.Label is None
    assert inheritance.Consumers.TotalArea([shape]) == 1.0


def test_overriding_a_virtual_method_is_seen_by_dotnet_callers(inheritance: Any) -> None:
    class Shouty(inheritance.Greeter):
        def Greet(self, who: str) -> str:
            return f"HI {who.upper()}"

    assert inheritance.Consumers.UseGreeter(Shouty(), "ann") == "HI ANN HI ANN"


def test_super_reaches_the_dotnet_base_implementation(inheritance: Any) -> None:
    class Polite(inheritance.Greeter):
        def Greet(self, who: str) -> str:
            return "Dear " + super().Greet(who)

    assert Polite().Greet("Bob") == "Dear Hello, Bob"
    assert inheritance.Consumers.UseGreeter(Polite(), "Ann") == "Dear Hello, Ann Dear Hello, Ann"


def test_super_reaches_a_base_property(inheritance: Any) -> None:
    class Fancy(inheritance.Shape):
        def Area(self) -> float:
            return 2.0

        @property
        def Name(self) -> str:
            return "fancy " + super().Name

    assert inheritance.Consumers.Describe(Fancy()) == "fancy shape with area 2.0"


def test_not_overridden_virtual_keeps_the_base_behaviour(inheritance: Any) -> None:
    class Plain(inheritance.Greeter):
        pass

    assert inheritance.Consumers.UseGreeter(Plain(), "x") == "Hello, x Hello, x"


def test_missing_abstract_member_raises_when_dotnet_calls_it(inheritance: Any) -> None:
    class Incomplete(inheritance.Shape):
        pass

    with pytest.raises(NotImplementedError, match="Incomplete"):
        inheritance.Consumers.TotalArea([Incomplete()])


def test_python_exception_in_an_override_comes_back_as_itself(inheritance: Any) -> None:
    error = ArithmeticError("no area")

    class Broken(inheritance.Shape):
        def Area(self) -> float:
            raise error

    with pytest.raises(ArithmeticError) as caught:
        inheritance.Consumers.TotalArea([Broken()])
    assert caught.value is error


def test_object_returned_by_dotnet_is_the_same_python_object(inheritance: Any) -> None:
    from System.Collections.Generic import List

    square = _square_class(inheritance)(2.0)
    items = List[object]()
    items.Add(square)
    assert items[0] is square


def test_python_state_is_kept_across_dotnet_calls(inheritance: Any) -> None:
    class Counter(inheritance.ICalculator):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def Compute(self, x: int) -> int:
            self.calls += 1
            return self.calls

    counter = Counter()
    for _ in range(3):
        inheritance.Consumers.RunCalculator(counter, 0)
    assert counter.calls == 3


def test_dotnet_sees_the_emitted_type_deriving_from_the_base(inheritance: Any) -> None:
    square = _square_class(inheritance)
    name = inheritance.Consumers.RuntimeTypeName(square(1.0))
    assert name.startswith("Python.") and "Square" in name


def test_subclass_of_a_python_subclass_overrides_again(inheritance: Any) -> None:
    square = _square_class(inheritance)

    class Big(square):
        def Area(self) -> float:
            return 100 * super().Area()

    assert inheritance.Consumers.TotalArea([Big(1.0)]) == 100.0


def test_plain_python_mixin_methods_implement_the_interface(inheritance: Any) -> None:
    class Mixin:
        def Compute(self, x: int) -> int:
            return x + 1000

    class Mixed(Mixin, inheritance.ICalculator):
        pass

    assert inheritance.Consumers.RunCalculator(Mixed(), 1) == 1001


def test_one_dotnet_type_is_emitted_per_python_class(inheritance: Any, fixtures: Any) -> None:
    before = fixtures.stats()["derived_types"]

    class Once(inheritance.ICalculator):
        def Compute(self, x: int) -> int:
            return x

    for i in range(20):
        assert inheritance.Consumers.RunCalculator(Once(), i) == i
    assert fixtures.stats()["derived_types"] == before + 1


def test_classes_defined_on_many_threads_get_distinct_types(inheritance: Any) -> None:
    def define(k: int) -> str:
        class Worker(inheritance.ICalculator):
            def Compute(self, x: int) -> int:
                return x + k

        assert inheritance.Consumers.RunCalculator(Worker(), 1) == 1 + k
        return str(inheritance.Consumers.RuntimeTypeName(Worker()))

    names = run_concurrently(define, 8, pass_index=True)
    assert len(set(names)) == 8


def test_a_sealed_class_cannot_be_subclassed(fixtures: Any) -> None:
    from System import String

    with pytest.raises(TypeError):

        class Text(String):
            pass


def test_instance_created_by_dotnet_is_a_python_object_of_the_class(inheritance: Any) -> None:
    from System import Activator

    class Tile(inheritance.Shape):
        def Area(self) -> float:
            return 9.0

    made = Activator.CreateInstance(Tile)
    assert type(made) is Tile
    assert inheritance.Consumers.TotalArea([made]) == 9.0


def test_instance_created_by_dotnet_keeps_its_identity(inheritance: Any) -> None:
    from System import Activator
    from System.Collections.Generic import List

    class Marker(inheritance.ICalculator):
        def Compute(self, x: int) -> int:
            return -x

    made = Activator.CreateInstance(Marker)
    items = List[object]()
    items.Add(made)
    items.Add(made)
    assert items[0] is made and items[1] is made


def test_python_class_is_a_dotnet_type_argument(inheritance: Any) -> None:
    from System.Collections.Generic import List

    class Five(inheritance.ICalculator):
        def Compute(self, x: int) -> int:
            return 5

    items = List[Five]()
    items.Add(Five())
    assert inheritance.Consumers.RunCalculator(items[0], 0) == 5


def test_overrides_stay_correct_while_collections_sweep_handles(inheritance: Any, fixtures: Any) -> None:
    """Derived objects created, called from .NET threads and dropped on several threads while
    another thread keeps sweeping and collecting: every call returns its own object's answer."""
    from System.Collections.Generic import List

    class Scaled(inheritance.ICalculator):
        def __init__(self, k: int) -> None:
            super().__init__()
            self.k = k

        def Compute(self, x: int) -> int:
            return x * self.k

    shared = List[inheritance.ICalculator]()
    for k in range(8):
        shared.Add(Scaled(k))
    stop = threading.Event()
    errors: list[BaseException] = []

    def collector() -> None:
        rounds = 0
        while not stop.is_set():
            fixtures.stats()  # drains the registry: sweeps derived handles
            rounds += 1
            if rounds % 20 == 0:
                fixtures.collect()

    def worker(k: int) -> None:
        try:
            for i in range(25):
                assert inheritance.Consumers.RunCalculatorOnThread(Scaled(k), i) == i * k
                assert inheritance.Consumers.RunCalculator(shared[k], i) == i * k
        except BaseException as exc:
            errors.append(exc)

    background = threading.Thread(target=collector)
    background.start()
    workers = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    background.join()
    assert not errors, errors[0]


def test_python_enumerable_is_consumed_by_linq(fixtures: Any) -> None:
    from System.Collections.Generic import IEnumerable, List
    from System.Linq import Enumerable

    class Numbers(IEnumerable[int]):
        def GetEnumerator(self) -> Any:
            return List[int]([1, 2, 3]).GetEnumerator()

    assert Enumerable.Sum(Numbers()) == 6


def test_python_equality_comparer_drives_a_dictionary(fixtures: Any) -> None:
    from System.Collections.Generic import Dictionary, IEqualityComparer

    class Caseless(IEqualityComparer[str]):
        def Equals(self, a: str, b: str) -> bool:
            return a.lower() == b.lower()

        def GetHashCode(self, s: str) -> int:
            return hash(s.lower()) & 0x7FFFFFFF

    d = Dictionary[str, int](Caseless())
    d["Key"] = 1
    assert d["KEY"] == 1


def test_python_comparable_sorts_in_a_dotnet_list(fixtures: Any) -> None:
    from System import IComparable
    from System.Collections.Generic import List

    class Version(IComparable):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.n = n

        def CompareTo(self, other: Any) -> int:
            return self.n - other.n

    xs = List[Version]([Version(3), Version(1), Version(2)])
    xs.Sort()
    assert [v.n for v in xs] == [1, 2, 3]


def test_subclass_of_a_concrete_class_passes_several_constructor_arguments(inheritance: Any) -> None:
    class Tall(inheritance.Rect):
        def __init__(self, side: float) -> None:
            super().__init__(side, 2 * side)

        def Area(self) -> float:
            return 10 * super().Area()

    tall = Tall(1.5)
    assert (tall.Width, tall.Height, tall.Label) == (1.5, 3.0, "rect")
    assert inheritance.Consumers.TotalArea([tall]) == 45.0


def test_interface_method_named_like_an_object_method_keeps_object_behaviour(fixtures: Any) -> None:
    from System.Collections.Generic import HashSet, IEqualityComparer

    class Caseless(IEqualityComparer[str]):
        def Equals(self, a: str, b: str) -> bool:
            return a.lower() == b.lower()

        def GetHashCode(self, s: str) -> int:
            return hash(s.lower()) & 0x7FFFFFFF

    comparer = Caseless()
    seen = HashSet[object]()
    assert seen.Add(comparer)  # .NET calls object.GetHashCode()/Equals(o): not the Python ones
    assert seen.Contains(comparer)
    words = HashSet[str](comparer)
    words.Add("A")
    assert words.Contains("a")
