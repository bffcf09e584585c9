"""Members of .NET types: constructors, properties, fields, indexers, nested and static types,
structs, enums, explicit interface implementations, null, and concrete classes of results."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


# ---- constructors ------------------------------------------------------------------------


def test_constructor_takes_positional_arguments() -> None:
    from Fixtures.Members import Widget

    w = Widget(3, "gear")
    assert (w.Size, w.Name) == (3, "gear")


def test_constructor_takes_keyword_arguments_by_parameter_name() -> None:
    from Fixtures.Members import Widget

    w = Widget(name="cog", size=4)
    assert (w.Size, w.Name) == (4, "cog")


def test_constructor_without_arguments_uses_the_parameterless_overload() -> None:
    from Fixtures.Members import Widget

    assert Widget().Describe() == "Widget(size=0, name=widget)"


def test_unknown_keyword_argument_is_a_type_error_listing_constructors() -> None:
    from Fixtures.Members import Widget

    with pytest.raises(TypeError, match=r"Widget\(Int32 size, String name = \"widget\"\)"):
        Widget(colour=3)


# ---- properties and fields ---------------------------------------------------------------


def test_property_get_and_set() -> None:
    from Fixtures.Members import Widget

    w = Widget(1)
    w.Size = 9
    assert w.Size == 9


def test_read_only_property_refuses_assignment_with_attribute_error() -> None:
    from Fixtures.Members import Widget

    with pytest.raises(AttributeError, match="Name is read-only"):
        Widget(1).Name = "other"


def test_static_read_only_property_is_readable_from_the_class() -> None:
    from Fixtures.Members import Widget

    before = Widget.Count
    Widget(1)
    assert Widget.Count == before + 1


def test_const_field_is_readable_and_refuses_assignment() -> None:
    from Fixtures.Members import Widget

    assert Widget.MaxSize == 100
    with pytest.raises(AttributeError, match="MaxSize is read-only"):
        Widget.MaxSize = 5


def test_static_readonly_field_refuses_assignment() -> None:
    from Fixtures.Members import Widget

    assert Widget.Kind == "widget"
    with pytest.raises(AttributeError, match="Kind is read-only"):
        Widget.Kind = "gadget"


def test_static_field_can_be_written_through_the_class() -> None:
    from Fixtures.Members import Widget

    Widget.Shared = 17
    assert Widget.Shared == 17
    Widget.Shared = 0


def test_instance_field_starts_null_and_can_be_set() -> None:
    from Fixtures.Members import Widget

    w = Widget(1)
    assert w.Tag is None
    w.Tag = "red"
    assert w.Tag == "red"


# ---- indexers ----------------------------------------------------------------------------


def test_string_indexer_get_and_set() -> None:
    from Fixtures.Members import Bag

    bag = Bag()
    bag["k"] = "v"
    assert bag["k"] == "v"
    assert bag.Count == 1


def test_two_argument_indexer_takes_a_tuple_key() -> None:
    from Fixtures.Members import Grid

    grid = Grid(2, 3)
    grid[1, 2] = 5
    grid[0, 0] = 1
    assert grid[1, 2] == 5
    assert grid.Total() == 6


# ---- nested and static types -------------------------------------------------------------


def test_nested_type_is_reachable_as_a_class_attribute() -> None:
    from Fixtures.Members import Widget

    part = Widget.Part(4)
    assert part.Id == 4
    assert type(Widget(1).CreatePart(2)) is Widget.Part


def test_static_class_cannot_be_instantiated() -> None:
    from Fixtures.Members import StaticTools

    with pytest.raises(TypeError, match="static class"):
        StaticTools()


def test_static_methods_are_called_on_the_class() -> None:
    from Fixtures.Members import StaticTools

    assert StaticTools.Add(2, 3) == 5


# ---- null ----------------------------------------------------------------------------------


def test_null_results_are_none_and_none_passes_as_null() -> None:
    from Fixtures.Members import StaticTools

    assert StaticTools.Nothing() is None
    assert StaticTools.IsNull(None) is True
    assert StaticTools.Echo(None) is None


# ---- structs -------------------------------------------------------------------------------


def test_datetime_struct_members_and_arithmetic_methods_return_new_values() -> None:
    from System import DateTime

    d = DateTime(2024, 2, 28)
    later = d.AddDays(2)
    assert (later.Month, later.Day) == (3, 1)
    assert d.Day == 28


def test_timespan_and_guid_structs_are_usable() -> None:
    from System import Guid, TimeSpan

    assert TimeSpan.FromMinutes(2).TotalSeconds == 120.0
    g = Guid.NewGuid()
    assert uuid.UUID(str(g)) == uuid.UUID(g.ToString())


def test_python_datetime_is_accepted_for_a_datetime_parameter() -> None:
    from System import DateTime

    assert DateTime.IsLeapYear(2024) is True
    assert DateTime(2020, 1, 2).Subtract(datetime.datetime(2020, 1, 1)).TotalDays == 1.0


def test_user_struct_has_value_equality_and_operators() -> None:
    from Fixtures.Structs import Point

    assert Point(1, 2) == Point(1, 2)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert str(Point(1, 2) + Point(3, 4)) == "(4, 6)"


def test_struct_read_from_a_member_is_a_copy() -> None:
    from Fixtures.Structs import PointHolder

    holder = PointHolder()
    copy = holder.PointField
    copy.X = 9
    assert holder.PointField.X == 0
    holder.OffsetField(1, 1)
    assert holder.PointField.X == 1


def test_struct_method_returning_a_new_value_leaves_the_original() -> None:
    from Fixtures.Structs import Point

    p = Point(1, 1)
    q = p.Moved(2, 3)
    assert (p.X, p.Y, q.X, q.Y) == (1, 1, 3, 4)


def test_struct_default_constructor_gives_zero_value() -> None:
    from Fixtures.Structs import Point

    assert str(Point()) == "(0, 0)"


# ---- enums ---------------------------------------------------------------------------------


def test_enum_members_are_class_attributes_and_int_works() -> None:
    from Fixtures.Enums import Color

    assert int(Color.Blue) == 2
    assert isinstance(Color.Red, Color)
    assert Color.Green == 1


def test_enum_str_gives_the_dotnet_name() -> None:
    from Fixtures.Enums import Color

    assert str(Color.Green) == "Green"


def test_flags_enum_combines_with_or_and_str_lists_the_names() -> None:
    from Fixtures.Enums import Perms

    both = Perms.Read | Perms.Write
    assert str(both) == "Read, Write"
    assert int(both) == 3


def test_flags_enum_tests_membership_with_in_and_and() -> None:
    from Fixtures.Enums import Perms

    both = Perms.Read | Perms.Write
    assert Perms.Read in both
    assert Perms.Execute not in both
    assert (both & Perms.Write) == Perms.Write


def test_enum_values_cross_the_boundary_both_ways() -> None:
    from Fixtures.Enums import Color, EnumTools, Perms

    assert EnumTools.Next(Color.Blue) is Color.Red
    assert EnumTools.Combine(Perms.Read, Perms.Execute) == Perms.Read | Perms.Execute


# ---- interfaces and concrete classes of results ----------------------------------------------


def test_explicit_interface_implementation_is_reached_by_casting() -> None:
    from Fixtures.Interfaces import Explicit, IBaz, IFoo

    e = Explicit()
    assert e.Bar() == "own"
    assert IFoo(e).Bar() == "foo"
    assert IBaz(e).Bar() == "baz"


def test_result_typed_as_interface_is_an_instance_of_its_concrete_class() -> None:
    from Fixtures.Interfaces import IShape, ShapeFactory, Square

    shape = ShapeFactory.Make("square", 3.0)
    assert type(shape) is Square
    assert isinstance(shape, IShape)
    assert shape.Side == 3.0
    assert shape.Perimeter() == 12.0


def test_result_typed_as_base_class_has_the_subclass_members() -> None:
    from Fixtures.Interfaces import Lion, Zoo

    animal = Zoo.GetAnimal()
    assert type(animal) is Lion
    assert (animal.Kind, animal.Legs, animal.Roar()) == ("lion", 4, "ROAR")


def test_result_typed_as_object_is_an_instance_of_its_concrete_class() -> None:
    from Fixtures.Interfaces import ShapeFactory, Square

    assert type(ShapeFactory.MakeAsObject()) is Square


def test_elements_of_an_interface_typed_array_have_their_concrete_classes() -> None:
    from Fixtures.Interfaces import Circle, ShapeFactory, Square

    assert [type(s) for s in ShapeFactory.MakeBoth()] == [Square, Circle]


def test_non_public_result_type_shows_only_its_public_interface_members() -> None:
    from Fixtures.Interfaces import IShape, ShapeFactory

    hidden = ShapeFactory.MakeHidden()
    assert isinstance(hidden, IShape)
    assert (hidden.Name, hidden.Area()) == ("hidden", 42.0)
    assert not hasattr(hidden, "Secret")


def test_non_public_subclass_shows_only_its_public_base_members() -> None:
    from Fixtures.Interfaces import Creature, Zoo

    secret = Zoo.GetSecret()
    assert isinstance(secret, Creature)
    assert secret.Kind == "secret"  # virtual dispatch still reaches the override
    assert not hasattr(secret, "Whisper")


def test_assigning_an_instance_property_on_the_class_is_refused() -> None:
    from Fixtures.Members import Widget

    with pytest.raises(AttributeError, match="instance member"):
        Widget.Size = 1
    assert Widget(2).Size == 2  # the descriptor is still in place


def test_deleting_a_property_is_refused() -> None:
    from Fixtures.Members import Widget

    with pytest.raises(AttributeError, match="cannot delete"):
        del Widget(1).Size


def test_casting_none_to_an_interface_gives_none() -> None:
    from Fixtures.Interfaces import IFoo

    assert IFoo(None) is None


def test_casting_to_an_interface_the_object_does_not_implement_is_a_type_error() -> None:
    from Fixtures.Interfaces import IFoo, Square

    with pytest.raises(TypeError, match="IFoo"):
        IFoo(Square(1.0))


def test_calling_an_interface_with_other_than_one_object_says_what_it_takes() -> None:
    from Fixtures.Interfaces import IFoo, Square
    from System import IDisposable

    with pytest.raises(TypeError, match=r"System\.IDisposable is an interface: IDisposable\(obj\) views one"):
        IDisposable()  # (was IndexError: tuple index out of range)
    with pytest.raises(TypeError, match=r"got 2 positional and 0 keyword"):
        IFoo(Square(1.0), Square(2.0))
    with pytest.raises(TypeError, match=r"got 0 positional and 1 keyword"):
        IFoo(obj=Square(1.0))
