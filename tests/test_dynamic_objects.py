"""Dynamic objects (any IDynamicMetaObjectProvider) from Python: a DynamicObject subclass
(Fixtures.Dynamic.Bag) and ExpandoObject. Dynamic members are attributes: getattr, setattr,
delattr, dir(), calls; a missing one is AttributeError; the type's real members win.
Json.NET's JObject is in tests/integration/test_dynamic_packages.py."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


def test_setattr_stores_a_dynamic_member_dotnet_code_reads() -> None:
    from Fixtures.Dynamic import Bag

    b = Bag()
    b.x = 5
    b.greeting = "hi"
    assert (b.x, b.greeting) == (5, "hi")
    assert b.Peek("x") == 5 and Bag.ReadDynamically(b, "greeting") == "hi"  # C#'s `dynamic` sees them


def test_python_objects_keep_their_identity_as_dynamic_members() -> None:
    from Fixtures.Dynamic import Bag

    class Thing:
        pass

    b = Bag()
    t = Thing()
    b.thing = t
    assert b.thing is t


def test_missing_dynamic_member_is_attribute_error() -> None:
    from Fixtures.Dynamic import Bag

    b = Bag()
    with pytest.raises(AttributeError, match="has no member 'nothing'"):
        _ = b.nothing
    assert not hasattr(b, "nothing") and getattr(b, "nothing", 9) == 9


def test_delattr_removes_a_dynamic_member() -> None:
    from Fixtures.Dynamic import Bag

    b = Bag()
    b.x = 1
    del b.x
    assert b.Peek("x") == "<none>"
    with pytest.raises(AttributeError, match="no dynamic member 'x' to delete"):
        del b.x


def test_setattr_the_object_refuses_is_attribute_error() -> None:
    from Fixtures.Dynamic import Bag

    with pytest.raises(AttributeError, match="does not accept a dynamic member 'Frozen'"):
        Bag().Frozen = 1


def test_dir_lists_dynamic_and_real_members() -> None:
    from Fixtures.Dynamic import Bag

    b = Bag()
    b.x = 1
    names = dir(b)
    assert {"x", "Add", "Fail", "Label", "Count", "Peek"} <= set(names) and names == sorted(names)


def test_calling_a_dynamic_method_runs_try_invoke_member() -> None:
    from Fixtures.Dynamic import Bag

    b = Bag()
    assert b.Add(2, 3) == 5
    assert b.Add(2**40, -1) == 2**40 - 1
    add = b.Add
    assert add(1, 1) == 2 and "Add" in repr(add)


def test_exception_from_a_dynamic_method_is_the_dotnet_exception() -> None:
    from Fixtures.Dynamic import Bag

    with pytest.raises(Exception, match="the bag was asked to fail") as info:
        Bag().Fail()
    assert type(info.value).__name__ == "InvalidOperationException"


def test_dynamic_method_the_object_cannot_call_with_those_arguments_is_type_error() -> None:
    from Fixtures.Dynamic import Bag

    with pytest.raises(TypeError, match="cannot call 'Add' with 1 arguments"):
        Bag().Add(1)


def test_delegate_stored_as_a_dynamic_member_is_called() -> None:
    import System
    from Fixtures.Dynamic import Bag

    b = Bag()
    b.twice = System.Func[int, int](lambda v: v * 2)
    assert b.twice(21) == 42


def test_real_members_win_over_dynamic_ones() -> None:
    from Fixtures.Dynamic import Bag

    b = Bag()
    b.Label = "mine"  # the real property, not TrySetMember
    assert b.Label == "mine" and b.Peek("Label") == "<none>"
    b.y = 1
    assert b.Count() == 1  # the real method


def test_object_answering_every_name_reads_any_member() -> None:
    from Fixtures.Dynamic import Echo

    e = Echo()
    assert (e.hello, e.ab) == (5, 2)
    assert not hasattr(e, "_private")  # the bridge's own names never ask the object


def test_dynamic_members_are_per_object() -> None:
    from Fixtures.Dynamic import Bag

    a, b = Bag(), Bag()
    a.v = 1
    b.v = "two"
    assert (a.v, b.v) == (1, "two")


def test_expando_object_through_the_same_attribute_protocol() -> None:
    import System
    from System.Dynamic import ExpandoObject

    e = ExpandoObject()
    e.n = 3
    e.f = System.Func[int](lambda: 7)
    assert (e.n, e.f(), dir(e)) == (3, 7, ["f", "n"])
    del e.n
    assert not hasattr(e, "n")


def test_many_members_and_values_round_trip() -> None:
    """Many names, every common value kind: each comes back equal."""
    from Fixtures.Dynamic import Bag

    b = Bag()
    values: dict[str, Any] = {
        f"m{i}": v for i, v in enumerate([0, -(2**63), 2**63 - 1, 1.5, "s\0\U0001f600", True, None, [1, 2]])
    }
    for name, value in values.items():
        setattr(b, name, value)
    for name, value in values.items():
        got = getattr(b, name)
        assert (list(got) if isinstance(value, list) else got) == value, name


def test_dynamic_member_values_round_trip_for_many_values() -> None:
    """Property (hypothesis): any text (surrogates, NULs), bytes and integer set as a dynamic
    member reads back equal, and .NET code sees the same value; the argument memory stays valid
    for the whole call."""
    pytest.importorskip("hypothesis", reason="the property needs hypothesis (test extra)")
    from Fixtures.Dynamic import Bag
    from hypothesis import given, settings
    from hypothesis import strategies as st

    bag = Bag()

    @settings(max_examples=300, deadline=None)
    @given(
        text=st.text(st.characters(exclude_categories=()) | st.sampled_from("\0\ud800\udfff"), max_size=300),
        data=st.binary(max_size=2000),
        number=st.integers(-(2**63), 2**63 - 1),
    )
    def check(text: str, data: bytes, number: int) -> None:
        bag.text = text
        bag.data = data
        bag.number = number
        assert (bag.text, bytes(bag.data), bag.number) == (text, data, number)
        assert bag.Peek("text") == text and bag.Peek("number") == number

    check()


def test_dynamic_members_from_many_threads_at_once() -> None:
    """The compiled call sites are shared: threads reading, writing and calling at once each
    see their own object's members."""
    from concurrent.futures import ThreadPoolExecutor

    from Fixtures.Dynamic import Bag

    def work(k: int) -> bool:
        bag = Bag()
        for i in range(200):
            setattr(bag, f"m{i % 7}", k * 1000 + i)
            if getattr(bag, f"m{i % 7}") != k * 1000 + i or bag.Add(k, i) != k + i:
                return False
        return True

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(work, range(8)))


def test_python_subclass_of_dynamic_object_keeps_its_own_attributes() -> None:
    """A Python class deriving from DynamicObject: its own attributes stay Python's, and names
    it does not have reach its TryGetMember override, as .NET code's `dynamic` does."""
    from System.Dynamic import DynamicObject

    class Settings(DynamicObject):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.store = {"colour": "blue"}

        def TryGetMember(self, binder: Any) -> tuple[bool, Any]:
            name = str(binder.Name)
            return (True, self.store[name]) if name in self.store else (False, None)

        def GetDynamicMemberNames(self) -> list[str]:
            return list(self.store)

    s = Settings()
    assert s.store == {"colour": "blue"} and s.colour == "blue"
    assert {"colour", "store"} <= set(dir(s)) and not hasattr(s, "size")


# ---- issue 25.6: what dynamic member access keeps -------------------------------------------


def test_the_call_site_cache_is_bounded_and_old_names_still_work(fixtures: Any) -> None:
    """Before: every distinct dynamic member name compiled a call site kept for ever
    (20,000 names: 135 MB). Now the least recently used sites go beyond a fixed number."""
    from Fixtures.Dynamic import Echo

    e = Echo()
    names = [f"member_{i}" for i in range(1500)]
    assert [getattr(e, n) for n in names] == [len(n) for n in names]
    assert fixtures.stats()["dynamic_call_sites"] <= 512
    assert e.member_0 == len("member_0")  # evicted long ago: compiled again
    assert getattr(e, names[-1]) == len(names[-1])


def _dynamic_class_that_reads_a_member() -> Any:
    import weakref

    from System.Dynamic import DynamicObject

    class Lookup(DynamicObject):  # type: ignore[misc]
        def TryGetMember(self, binder: Any) -> tuple[bool, Any]:
            return (True, str(binder.Name).upper())

    obj = Lookup()
    assert obj.anything == "ANYTHING"  # one dynamic member read: a call site over Lookup's type
    return weakref.ref(Lookup)


def test_python_dynamic_object_subclasses_unload_after_a_dynamic_member_read(fixtures: Any) -> None:
    """Before: 20 of 20 dead classes stayed loaded (the call sites kept their types)."""
    from pyclrbridge.callbacks import derived

    def settle() -> None:
        for _ in range(4):
            fixtures.collect()

    settle()
    before = derived.stats()
    refs = [_dynamic_class_that_reads_a_member() for _ in range(20)]
    settle()
    assert [r() for r in refs] == [None] * 20
    after = derived.stats()
    assert after["derived_classes_forgotten"] == before["derived_classes_forgotten"] + 20, after
    assert after["derived_assemblies_loaded"] == before["derived_assemblies_loaded"], after


@pytest.mark.parametrize("name", ["ToString", "Equals", "GetType", "keys", "get"])
def test_expando_attribute_naming_a_class_member_is_refused_and_the_item_works(name: str) -> None:
    """Before: ``e.ToString = 5`` stored 5 in the expando while ``e.ToString`` read the .NET
    method. The rule: such names are the class's; the expando member is an item."""
    from System.Dynamic import ExpandoObject

    e = ExpandoObject()
    with pytest.raises(AttributeError, match=rf"e\['{name}'\]"):
        setattr(e, name, 5)
    assert "ToString" not in dir(e) and len(e) == 0  # nothing was stored
    with pytest.raises(AttributeError, match="member of the ExpandoObject's class"):
        delattr(e, name)
    e[name] = 5
    assert e[name] == 5 and callable(getattr(e, name))
    assert e.ToString() == "System.Dynamic.ExpandoObject"
    e.plain = 1  # other names stay attributes
    assert e.plain == 1 and e["plain"] == 1
