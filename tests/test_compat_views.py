"""pythonnet's interface views under ``pyclrbridge.compat``: a .NET object that a member declares
as an interface (a method result, an ``out`` value, a property or field, an item of an array
or of an enumerable of that interface) comes back as a view of the interface, as
``IGreeter(obj)`` makes it. Natively it is the object's own class.

``Fixtures.CompatViews.Greeter`` implements ``IGreeter.Greet`` explicitly ("through IGreeter")
next to its own ``Greet`` ("own"), so what ``Greet()`` answers tells a view from the object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def compat_clr(fixtures: Any) -> Iterator[Any]:
    from pyclrbridge import compat

    yield compat


def _is_view(obj: Any) -> bool:
    return type(obj).__name__ == "IGreeter" and obj.Greet() == "through IGreeter"


def test_method_results_and_out_values_are_interface_views(compat_clr: Any) -> None:
    from Fixtures.CompatViews import Greeter  # type: ignore[import-not-found]  # a .NET namespace

    greeter = Greeter()
    view = greeter.AsGreeter()
    assert _is_view(view)
    assert type(view.__implementation__) is Greeter and view.__implementation__.Greet() == "own"
    assert not hasattr(view, "Extra")  # the view has the interface's members only
    assert _is_view(greeter.Out(None))  # pythonnet's placeholder for the out parameter
    assert _is_view(Greeter.PassThrough(greeter))
    assert type(greeter.AsItself()) is Greeter  # declared as the class: the object itself
    assert greeter.Nothing() is None
    assert Greeter.GreetThrough(view) == "through IGreeter"  # a view passes as the object


def test_properties_and_fields_of_an_interface_type_are_views(compat_clr: Any) -> None:
    from Fixtures.CompatViews import Greeter  # type: ignore[import-not-found]  # a .NET namespace

    greeter = Greeter()
    assert _is_view(greeter.Property)
    assert _is_view(greeter.Field)
    assert _is_view(Greeter.Shared)
    greeter.Field = None
    assert greeter.Field is None
    greeter.Field = greeter.AsGreeter()  # a view is assigned as the object it views
    assert _is_view(greeter.Field)


def test_arrays_declared_of_an_interface_are_that_array_type_with_views(compat_clr: Any) -> None:
    from Fixtures.CompatViews import Greeter  # type: ignore[import-not-found]  # a .NET namespace

    many = Greeter().Many()  # made as Greeter[]: seen as the declared IGreeter[]
    assert type(many).__name__ == "IGreeter[]"
    assert len(many) == 2
    assert _is_view(many[0]) and _is_view(many[-1])
    assert all(_is_view(item) for item in many)
    assert all(_is_view(item) for item in many[0:2])


def test_enumerables_of_an_interface_give_views(compat_clr: Any) -> None:
    from Fixtures.CompatViews import Greeter  # type: ignore[import-not-found]  # a .NET namespace

    listed = Greeter().Listed()
    assert [_is_view(item) for item in listed] == [True, True]
    assert _is_view(listed[0])


def test_a_python_object_behind_an_interface_comes_back_as_a_view(compat_clr: Any) -> None:
    # pythonnet gives a new wrapper of the interface, not the Python object itself.
    from Fixtures.CompatViews import Greeter, IGreeter  # type: ignore[import-not-found]  # a .NET namespace

    class PythonGreeter(IGreeter):  # type: ignore[misc]  # a .NET interface
        def Greet(self) -> str:
            return "python"

    mine = PythonGreeter()
    back = Greeter.PassThrough(mine)
    assert back is not mine and type(back).__name__ == "IGreeter"
    assert back.Greet() == "python"  # the interface call reaches the Python method
    assert back.__implementation__ is mine


def test_strings_and_numbers_behind_an_interface_stay_python_values(compat_clr: Any) -> None:
    from Fixtures.CompatViews import Greeter  # type: ignore[import-not-found]  # a .NET namespace

    greeter = Greeter()
    assert greeter.Number() == 5 and type(greeter.Number()) is int
    assert greeter.Text() == "text"


def test_interface_typed_results_are_the_objects_natively(fixtures: Any) -> None:
    from Fixtures.CompatViews import Greeter  # type: ignore[import-not-found]  # a .NET namespace

    greeter = Greeter()
    for result in (greeter.AsGreeter(), greeter.Property, greeter.Field, Greeter.Shared, greeter.Out()):
        assert type(result) is Greeter and result.Greet() == "own"
    many = greeter.Many()
    assert type(many).__name__ == "Greeter[]" and all(type(item) is Greeter for item in many)
    assert all(type(item) is Greeter for item in greeter.Listed())


def test_raw_implementation_is_the_unconverted_dotnet_object_under_compat(compat_clr: Any) -> None:
    import System  # type: ignore[import-not-found]  # a .NET namespace

    number = System.IComparable(System.Int32(100))
    assert number.__implementation__ == 100 and type(number.__implementation__) is int
    raw = number.__raw_implementation__
    assert type(raw) is System.Int32 and raw.CompareTo(99) == 1
    text = System.IComparable(System.String("ab"))
    assert text.__implementation__ == "ab" and text.__raw_implementation__.Substring(1) == "b"
    from Fixtures.CompatViews import Greeter  # type: ignore[import-not-found]  # a .NET namespace

    view = Greeter().AsGreeter()
    assert type(view.__raw_implementation__) is Greeter  # a .NET object is itself either way


def test_raw_implementation_natively_converts_like_implementation(fixtures: Any) -> None:
    import System  # type: ignore[import-not-found]  # a .NET namespace

    text = System.IComparable("ab")
    assert text.__raw_implementation__ == "ab" and type(text.__raw_implementation__) is str
