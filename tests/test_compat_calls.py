"""pythonnet's call shapes on classes: ``Cls.Overloads[...]`` / ``Cls.__overloads__[...]`` pick a
constructor; ``Enum(value, True)`` takes a value no member names, ``Enum(value, False)`` refuses it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def compat_clr(fixtures: Any) -> Iterator[Any]:
    from pyclrbridge import compat

    yield compat


def test_constructor_overloads_under_pythonnet_names(compat_clr: Any) -> None:
    from System import Char, String  # type: ignore[import-not-found]  # a .NET namespace
    from System.Text import StringBuilder  # type: ignore[import-not-found]

    assert StringBuilder.Overloads[int](5).Capacity == 5  # StringBuilder(int capacity)
    assert StringBuilder.__overloads__[str]("ab").Length == 2  # StringBuilder(string value)
    assert StringBuilder.Overloads[str, int]("ab", 40).Capacity == 40
    assert String.Overloads[Char, int]("a", 3) == "aaa"
    # an object reaches its class's selector, as .overloads (a completer offers it the class's names)
    assert StringBuilder("x").Overloads[int](7).Capacity == 7
    with pytest.raises(TypeError):
        StringBuilder.Overloads[bytes]


def test_each_constructor_pick_is_a_new_object_under_compat(compat_clr: Any) -> None:
    # pythonnet code checks that a pick is not kept anywhere (its reference count).
    import sys

    from System.Text import StringBuilder  # type: ignore[import-not-found]  # a .NET namespace

    assert sys.getrefcount(StringBuilder.Overloads[int]) == sys.getrefcount(object())
    first, second = StringBuilder.Overloads[int], StringBuilder.__overloads__[int]
    assert first is not second
    assert first(5).Capacity == second(6).Capacity - 1 == 5
    assert "StringBuilder(Int32 capacity)" in repr(StringBuilder.Overloads)


def test_enum_with_pythonnet_allow_undefined_flag(compat_clr: Any) -> None:
    from System import DayOfWeek  # type: ignore[import-not-found]  # a .NET namespace
    from System.IO import FileAttributes  # type: ignore[import-not-found]

    assert int(DayOfWeek(20, True)) == 20  # explicitly permitted
    assert DayOfWeek(3, False) == DayOfWeek.Wednesday
    with pytest.raises(ValueError, match=r"20 is not a defined value of System\.DayOfWeek"):
        DayOfWeek(20, False)
    assert int(FileAttributes(3, False)) == 3  # [Flags]: any combination is a value


def test_overloads_picked_by_system_type_objects_including_by_ref(compat_clr: Any) -> None:
    # pythonnet code names parameter types by System.Type objects too, a ref/out parameter by a
    # by-reference type (typeof(string).MakeByRefType()).
    import System  # type: ignore[import-not-found]  # a .NET namespace
    from System.Collections.Generic import Dictionary  # type: ignore[import-not-found]

    int64 = System.Type.GetType("System.Int64")
    assert System.Math.Abs.__overloads__[int64](-5) == 5
    ref_int = System.Type.GetType("System.Int32").MakeByRefType()
    string = System.String("").GetType()
    assert System.Int32.TryParse.__overloads__[string, ref_int]("42", 0) == (True, 42)
    d = Dictionary[str, int]()
    d["k"] = 3
    assert d.TryGetValue.Overloads[str, ref_int]("k", 0) == (True, 3)
    with pytest.raises(TypeError, match="has no overload taking"):
        System.Int32.TryParse.__overloads__[string, System.Type.GetType("System.Int32")]  # not by reference


def test_native_overloads_take_system_type_objects_too(fixtures: Any) -> None:
    import System  # type: ignore[import-not-found]  # a .NET namespace

    assert System.Math.Abs.overloads[System.Type.GetType("System.Int16")](-5) == 5
    ref_int = System.Type.GetType("System.Int32").MakeByRefType()
    assert System.Int32.TryParse.overloads[str, ref_int]("42") == (True, 42)


def test_protected_nested_types_are_reachable_under_compat(compat_clr: Any) -> None:
    # pythonnet reaches protected nested types from anywhere, as it reaches protected members.
    from Fixtures.Protected import Nesting  # type: ignore[import-not-found]  # a .NET namespace

    assert Nesting.Open.__name__ == "Open"
    assert [Nesting.Guarded.__name__, Nesting.Measure.__name__, Nesting.IProbe.__name__] == [
        "Guarded",
        "Measure",
        "IProbe",
    ]
    assert {"Open", "Guarded", "Measure", "IProbe"} <= set(dir(Nesting))
    for never in ("Inside", "Hidden"):
        with pytest.raises(AttributeError):
            getattr(Nesting, never)
    assert Nesting.HiddenName == "Hidden"


def test_protected_nested_types_natively_only_from_a_subclass(fixtures: Any) -> None:
    from Fixtures.Protected import Nesting  # type: ignore[import-not-found]  # a .NET namespace

    with pytest.raises(AttributeError, match="Guarded is a protected nested type"):
        Nesting.Guarded
    assert "Guarded" not in dir(Nesting)

    class Mine(Nesting):  # type: ignore[misc]  # a .NET base class
        pass

    assert Mine.Guarded.__name__ == "Guarded"


def test_enums_construct_as_in_pythonnet_under_compat(compat_clr: Any) -> None:
    # pythonnet: no default enum value, and a value no member names needs the True flag
    # (a [Flags] enum takes any combination).
    from System import AttributeTargets, DayOfWeek  # type: ignore[import-not-found]  # a .NET namespace

    with pytest.raises(TypeError, match="needs a value"):
        DayOfWeek()
    with pytest.raises(ValueError, match=r"9 is not a defined value of System\.DayOfWeek"):
        DayOfWeek(9)
    assert int(DayOfWeek(9, True)) == 9
    assert DayOfWeek(3) == DayOfWeek.Wednesday and DayOfWeek("Monday") == DayOfWeek.Monday
    assert int(AttributeTargets(3)) == 3  # [Flags]


def test_enums_natively_take_any_value_of_their_type(fixtures: Any) -> None:
    from System import DayOfWeek  # type: ignore[import-not-found]  # a .NET namespace

    assert int(DayOfWeek(9)) == 9 and int(DayOfWeek()) == 0
