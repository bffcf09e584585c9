"""Python protocols from .NET interfaces (pyclrbridge/_protocols.py): iteration, len, indexing,
mappings, context managers, ordering, equality, str/repr; enums and structs (Fixtures.Collections,
Fixtures.Structs, Fixtures.Enums and the BCL)."""

from __future__ import annotations

import decimal
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


# ---- IEnumerable -> iter ----------------------------------------------------------------------


def test_generic_enumerable_iterates() -> None:
    from Fixtures.Collections import Inventory

    assert list(Inventory(["a", "b", "c"])) == ["a", "b", "c"]


def test_enumerable_only_type_supports_in_through_iteration() -> None:
    from Fixtures.Collections import Inventory

    inv = Inventory(["a", "b"])
    assert "b" in inv
    assert "z" not in inv


def test_each_iteration_asks_for_a_new_enumerator() -> None:
    from Fixtures.Collections import Inventory

    inv = Inventory(["a"])
    list(inv)
    list(inv)
    assert inv.EnumerationCount == 2


def test_enumerable_without_count_has_no_len() -> None:
    from Fixtures.Collections import Inventory

    with pytest.raises(TypeError):
        len(Inventory(["a"]))


def test_lazy_iterator_method_result_iterates() -> None:
    from Fixtures.Collections import CollectionTools

    assert list(CollectionTools.Lazy(4)) == [0, 1, 2, 3]


def test_framework_collections_iterate_in_their_order() -> None:
    from Fixtures.Collections import CollectionTools

    assert list(CollectionTools.NewQueue()) == [1, 2, 3]
    assert list(CollectionTools.NewStack()) == [3, 2, 1]
    assert sorted(CollectionTools.NewSet(2, 1, 2)) == [1, 2]


def test_non_generic_enumerable_iterates() -> None:
    from Fixtures.Collections import LegacyList

    items = LegacyList()
    items.Add(1)
    items.Add("two")
    items.Add(None)
    assert list(items) == [1, "two", None]


# ---- ICollection -> len, bool, in --------------------------------------------------------------


def test_collection_has_len() -> None:
    from Fixtures.Collections import CountOnly

    c = CountOnly()
    c.Add(5)
    c.Add(6)
    assert len(c) == 2


def test_empty_collection_is_false_and_non_empty_is_true() -> None:
    from Fixtures.Collections import CountOnly

    c = CountOnly()
    assert not c
    c.Add(1)
    assert c


def test_collection_in_uses_contains() -> None:
    from Fixtures.Collections import CountOnly

    c = CountOnly()
    c.Add(3)
    assert 3 in c
    assert 4 not in c


def test_in_with_an_item_of_the_wrong_type_is_false() -> None:
    from Fixtures.Collections import CountOnly

    c = CountOnly()
    c.Add(3)
    assert "three" not in c


# ---- IList -> indexing -------------------------------------------------------------------------


def test_list_indexing_counts_negative_indexes_from_the_end() -> None:
    from System.Collections.Generic import List

    xs = List[int]([10, 20, 30])
    assert (xs[0], xs[-1], xs[-3]) == (10, 30, 10)


def test_list_index_out_of_range_raises_index_error() -> None:
    from System.Collections.Generic import List

    with pytest.raises(IndexError, match="out of range"):
        List[int]([1])[1]


def test_list_slice_is_a_python_list() -> None:
    from System.Collections.Generic import List

    xs = List[int](range(6))
    assert xs[1:4] == [1, 2, 3]
    assert xs[::-2] == [5, 3, 1]


def test_list_item_assignment_and_deletion() -> None:
    from System.Collections.Generic import List

    xs = List[str](["a", "b", "c"])
    xs[-1] = "z"
    del xs[0]
    assert list(xs) == ["b", "z"]


def test_list_item_assignment_checks_the_element_range() -> None:
    from System.Collections.Generic import List

    xs = List[int]([0])
    with pytest.raises(OverflowError, match=r"System\.Int32"):
        xs[0] = 2**40


def test_read_only_list_indexes_and_slices() -> None:
    from Fixtures.Collections import ReadOnlyView

    view = ReadOnlyView.Range(4)
    assert (view[1], view[-1], view[1:3], len(view)) == (1, 3, [1, 2], 4)


def test_read_only_list_refuses_assignment() -> None:
    from Fixtures.Collections import ReadOnlyView

    with pytest.raises(TypeError):
        ReadOnlyView.Range(2)[0] = 5  # type: ignore[index]


def test_non_generic_list_indexes_and_contains() -> None:
    from Fixtures.Collections import LegacyList

    items = LegacyList()
    items.Add("x")
    items.Add(None)
    assert (items[0], items[-1], len(items)) == ("x", None, 2)
    assert None in items
    del items[0]
    assert list(items) == [None]


def test_dotnet_list_passed_back_to_dotnet_is_mutated_in_place() -> None:
    from Fixtures.Collections import CollectionTools
    from System.Collections.Generic import List

    dotnet_list = List[int]([1])
    CollectionTools.AppendTo(dotnet_list, 2)
    assert list(dotnet_list) == [1, 2]


# ---- IDictionary -> mapping -------------------------------------------------------------------


def test_dictionary_get_set_contains_len() -> None:
    from System.Collections.Generic import Dictionary

    d = Dictionary[str, int]()
    d["a"] = 1
    d["b"] = 2
    assert (d["a"], len(d), "a" in d, "z" in d) == (1, 2, True, False)


def test_dictionary_missing_key_raises_key_error() -> None:
    from Fixtures.Collections import CollectionTools

    with pytest.raises(KeyError):
        CollectionTools.NewDictionary()["zzz"]


def test_dictionary_iterates_over_keys_like_a_dict() -> None:
    from Fixtures.Collections import CollectionTools

    assert list(CollectionTools.NewDictionary()) == ["a", "b", "c"]


def test_dictionary_keys_values_items() -> None:
    from Fixtures.Collections import CollectionTools

    d = CollectionTools.NewDictionary()
    assert list(d.keys()) == ["a", "b", "c"]
    assert list(d.values()) == [1, 2, 3]
    assert list(d.items()) == [("a", 1), ("b", 2), ("c", 3)]


def test_dict_of_a_dotnet_dictionary_copies_it() -> None:
    from Fixtures.Collections import CollectionTools

    assert dict(CollectionTools.NewDictionary()) == {"a": 1, "b": 2, "c": 3}


def test_dictionary_get_with_default() -> None:
    from Fixtures.Collections import CollectionTools

    d = CollectionTools.NewDictionary()
    assert (d.get("a"), d.get("zzz"), d.get("zzz", 0)) == (1, None, 0)


def test_dictionary_deletion_and_missing_deletion() -> None:
    from Fixtures.Collections import CollectionTools

    d = CollectionTools.NewDictionary()
    del d["a"]
    assert "a" not in d
    with pytest.raises(KeyError):
        del d["a"]


def test_user_idictionary_is_a_mapping() -> None:
    from Fixtures.Collections import NumberDictionary

    d = NumberDictionary()
    d["x"] = 1
    d["y"] = 2
    assert (d["x"], len(d), "y" in d, dict(d.items()), d.Total()) == (1, 2, True, {"x": 1, "y": 2}, 3)


def test_key_value_pair_unpacks_as_a_two_tuple() -> None:
    from Fixtures.Collections import CollectionTools

    d = CollectionTools.NewDictionary()
    enumerator = d.GetEnumerator()
    enumerator.MoveNext()
    key, value = enumerator.Current
    assert (key, value) == ("a", 1)
    assert tuple(enumerator.Current) == ("a", 1)


def test_non_generic_dictionary_is_a_mapping_with_key_error() -> None:
    from System.Collections import Hashtable

    h = Hashtable()
    h["k"] = 5
    assert (h["k"], "k" in h, len(h)) == (5, True, 1)
    with pytest.raises(KeyError):
        h["missing"]


def test_read_only_dictionary_view_is_a_mapping() -> None:
    from System.Collections.Generic import Dictionary
    from System.Collections.ObjectModel import ReadOnlyDictionary

    inner = Dictionary[str, int]()
    inner["a"] = 1
    ro = ReadOnlyDictionary[str, int](inner)
    assert (ro["a"], "a" in ro, list(ro.items())) == (1, True, [("a", 1)])


# ---- IDisposable, IComparable, equality, str/repr ------------------------------------------


def test_disposable_is_a_context_manager_that_disposes() -> None:
    from System.IO import MemoryStream

    with MemoryStream() as stream:
        stream.WriteByte(1)
        assert stream.CanRead
    assert not stream.CanRead


def test_context_manager_disposes_when_the_block_raises() -> None:
    from System.IO import MemoryStream

    stream = MemoryStream()
    with pytest.raises(RuntimeError), stream:
        raise RuntimeError("boom")
    assert not stream.CanRead


def test_comparable_orders_and_sorts() -> None:
    from Fixtures.Structs import Money

    a = Money(decimal.Decimal("1.5"), "EUR")
    b = Money(decimal.Decimal("2"), "EUR")
    assert a < b and b > a and a <= a and b >= a
    assert sorted([b, a]) == [a, b]


def test_comparable_bcl_type_without_operators_orders_through_compare_to() -> None:
    from System import Version

    assert Version("1.2") < Version("1.10")
    assert max(Version("2.0"), Version("10.0")) == Version("10.0")


def test_ordering_against_an_unrelated_type_raises_type_error() -> None:
    from System import Version

    with pytest.raises(TypeError):
        _ = Version("1.0") < object()


def test_equals_and_hash_follow_dotnet() -> None:
    from System import Version

    a, b = Version("1.2.3"), Version("1.2.3")
    assert a is not b
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


def test_reference_type_without_equals_compares_by_identity() -> None:
    from System.Collections.Generic import List

    a = List[int]()
    assert a == a
    assert a != List[int]()


def test_str_is_to_string() -> None:
    from Fixtures.Structs import Point

    assert str(Point(3, 4)) == "(3, 4)"


def test_repr_shows_the_dotnet_type_name_and_to_string() -> None:
    from Fixtures.Structs import Point

    assert repr(Point(3, 4)) == "<Fixtures.Structs.Point: (3, 4)>"


def test_repr_with_the_default_to_string_shows_the_type_name_once() -> None:
    from System.Collections.Generic import List

    assert repr(List[int]()) == "<System.Collections.Generic.List[Int32]>"


# ---- structs --------------------------------------------------------------------------------


def test_struct_fields_and_computed_properties() -> None:
    from Fixtures.Structs import Point

    p = Point(3, 4)
    assert (p.X, p.Y, p.Length) == (3, 4, 5.0)


def test_struct_has_value_equality_and_hash() -> None:
    from Fixtures.Structs import Point

    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert hash(Point(1, 2)) == hash(Point(1, 2))


def test_struct_stored_in_a_field_is_a_copy() -> None:
    from Fixtures.Structs import Point, PointHolder

    holder = PointHolder()
    p = Point(1, 2)
    holder.PointField = p
    p.X = 99
    assert holder.PointField.X == 1


def test_struct_read_from_a_property_is_a_copy() -> None:
    from Fixtures.Structs import Point, PointHolder

    holder = PointHolder()
    holder.PointProperty = Point(1, 1)
    copy = holder.PointProperty
    copy.X = 50
    assert holder.PointProperty.X == 1


def test_struct_method_returning_a_new_value_leaves_the_original() -> None:
    from Fixtures.Structs import Point

    p = Point(1, 1)
    q = p.Moved(2, 3)
    assert (p.X, q.X, q.Y) == (1, 3, 4)


def test_struct_operators() -> None:
    from Fixtures.Structs import Point

    assert Point(1, 2) + Point(3, 4) == Point(4, 6)
    assert Point(5, 5) - Point(1, 2) == Point(4, 3)


def test_bcl_structs_datetime_timespan_guid() -> None:
    from System import DateTime, Guid, TimeSpan

    d = DateTime(2024, 5, 6)
    assert (d.Year, d.Month, d.Day) == (2024, 5, 6)
    assert d.AddDays(1) > d
    assert TimeSpan.FromMinutes(90).TotalHours == 1.5
    assert Guid.Empty == Guid("00000000-0000-0000-0000-000000000000")


# ---- enums ----------------------------------------------------------------------------------


def test_enum_members_are_class_attributes_with_int_and_str() -> None:
    from Fixtures.Enums import Color

    assert (int(Color.Blue), str(Color.Green)) == (2, "Green")
    assert Color.Red is Color.Red


def test_enum_round_trips_through_dotnet() -> None:
    from Fixtures.Enums import Color, EnumTools

    assert EnumTools.Next(Color.Blue) is Color.Red
    assert EnumTools.Describe(Color.Green) == "Green"


def test_enum_from_number_and_name() -> None:
    from Fixtures.Enums import Color

    assert Color(1) is Color.Green
    assert Color["Blue"] is Color.Blue
    assert Color("Red") is Color.Red


def test_enum_class_iterates_its_members() -> None:
    from Fixtures.Enums import Color

    assert [str(c) for c in Color] == ["Red", "Green", "Blue"]


def test_undefined_enum_value_is_kept() -> None:
    from Fixtures.Enums import EnumTools

    seven = EnumTools.FromInt(7)
    assert int(seven) == 7
    assert not EnumTools.IsDefined(seven)


def test_enum_number_outside_the_underlying_type_raises_overflow_error() -> None:
    from Fixtures.Enums import Tiny

    with pytest.raises(OverflowError, match=r"System\.Byte"):
        Tiny(256)


def test_unknown_enum_member_name_raises_key_error_listing_members() -> None:
    from Fixtures.Enums import Color

    with pytest.raises(KeyError, match="Red, Green, Blue"):
        Color["Purple"]


def test_flags_combine_with_or_and_test_with_in_and_and() -> None:
    from Fixtures.Enums import EnumTools, Perms

    rw = Perms.Read | Perms.Write
    assert Perms.Read in rw
    assert Perms.Execute not in rw
    assert rw & Perms.Write == Perms.Write
    assert EnumTools.DescribePerms(rw) == "Read, Write"
    assert EnumTools.Combine(Perms.Read, Perms.Execute) == Perms.Read | Perms.Execute


def test_long_and_byte_backed_enums() -> None:
    from Fixtures.Enums import Big, EnumTools, Tiny

    assert int(Big.Huge) == 1 << 40
    assert EnumTools.BigValue(Big.Huge) == 1 << 40
    assert EnumTools.TinyValue(Tiny.B) == 255


def test_enum_is_not_accepted_for_a_different_enum_type() -> None:
    from Fixtures.Enums import EnumTools, Perms

    with pytest.raises(TypeError):
        EnumTools.Describe(Perms.Read)


def test_a_plain_class_is_not_iterable() -> None:
    from System import Math

    with pytest.raises(TypeError, match="not iterable"):
        iter(Math)


def test_list_slice_deletion_removes_every_selected_item() -> None:
    from System.Collections.Generic import List

    xs = List[int](range(6))
    del xs[::2]
    assert list(xs) == [1, 3, 5]


def test_list_slice_assignment_replaces_items_of_the_same_count() -> None:
    from System.Collections.Generic import List

    xs = List[int](range(4))
    xs[1:3] = [10, 20]
    assert list(xs) == [0, 10, 20, 3]
    with pytest.raises(ValueError, match="cannot change its length"):
        xs[0:2] = [1]


def test_non_generic_dictionary_item_deletion() -> None:
    from System.Collections import Hashtable

    h = Hashtable()
    h["k"] = 1
    del h["k"]
    assert len(h) == 0
    with pytest.raises(KeyError):
        del h["k"]


def test_read_only_dictionary_refuses_assignment() -> None:
    from System.Collections.Generic import Dictionary
    from System.Collections.ObjectModel import ReadOnlyDictionary

    ro = ReadOnlyDictionary[str, int](Dictionary[str, int]())
    with pytest.raises((TypeError, NotImplementedError)):
        ro["a"] = 1


def test_overloads_of_a_bound_method_show_their_signatures() -> None:
    from System.Text import StringBuilder

    shown = repr(StringBuilder().Append.overloads)
    assert "StringBuilder Append(String value)" in shown and "object at 0x" not in shown
    assert repr(StringBuilder.Append.overloads) == shown
    assert "StringBuilder Append(Char value)" in list(StringBuilder().Append.overloads)


def test_only_iterable_classes_claim_iterable() -> None:
    from collections.abc import Iterable

    from System import DayOfWeek
    from System.Collections.Generic import List
    from System.Text import StringBuilder

    assert not isinstance(StringBuilder, Iterable) and not isinstance(List[int], Iterable)
    with pytest.raises(TypeError, match="not iterable"):
        iter(StringBuilder)
    assert isinstance(DayOfWeek, Iterable) and list(DayOfWeek)[1] == DayOfWeek.Monday  # an enum's members
    assert isinstance(List[int](), Iterable) and not isinstance(StringBuilder(), Iterable)


def test_class_level_deletion_of_protocol_members_is_refused() -> None:
    from Fixtures.Members import Bag
    from System.Collections.Generic import List
    from System.Text import StringBuilder

    refused = 0
    for cls, name in ((Bag, "__getitem__"), (Bag, "__setitem__"), (StringBuilder, "__str__")):
        if name not in cls.__dict__:
            continue
        with pytest.raises(AttributeError, match=r"it is a member of the \.NET type"):
            delattr(cls, name)
        refused += 1
    assert refused >= 2  # at least the indexer's two
    bag = Bag()
    bag["k"] = "v"
    assert bag["k"] == "v"  # indexing still works on every instance
    with pytest.raises(AttributeError):
        del List[int].__len__  # a protocol mixin's member: not the class's own either

    class Mine(Bag):
        def __getitem__(self, key: str) -> str:
            return "mine"

    assert Mine()["k"] == "mine"
    del Mine.__getitem__  # a Python subclass's own members stay free
    assert "__getitem__" not in Mine.__dict__


def test_interface_views_have_system_objects_members() -> None:
    from System import IComparable
    from System.Collections import IEnumerable
    from System.Collections.Generic import IList, List

    xs = List[int]([1, 2])
    view = IEnumerable(xs)
    assert view.ToString() == "System.Collections.Generic.List`1[System.Int32]"
    assert view.GetType().Name == "List`1" and view.Equals(xs) and not view.Equals(List[int]())
    assert view.GetHashCode() == xs.GetHashCode()
    assert IList[int](xs).GetType().Name == "List`1"
    five = IComparable(5)
    assert five.ToString() == "5" and five.CompareTo(3) == 1 and five.Equals(5)
