"""Protected members of .NET classes, reached the way C# and pythonnet users reach them.

Natively (C#'s rule) a Python subclass reaches its base's protected and protected internal
members through itself (``self.reading``, ``super().InsertItem(...)``, ``MyGauge.Created``);
from outside (an instance of a .NET class, the .NET class itself) they are refused with a
message that says so. Under ``pyclrbridge.compat`` they are reachable on any object, as in
pythonnet. Shapes: our ``Fixtures.Protected.Gauge`` and framework classes users subclass
(``Collection<T>``, ``KeyedCollection<TKey, TItem>``, ``Stream``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pyclrbridge.host import bridge
from pyclrbridge.proxies import direct as _direct
from pyclrbridge.proxies import protected


@pytest.fixture
def native(fixtures: Any) -> Iterator[Any]:
    """C#'s rule, whatever an earlier test's ``import pyclrbridge.compat`` switched on."""
    previous = protected.open_protected(False)
    yield fixtures
    protected.open_protected(previous)


@pytest.fixture
def pythonnet_rule(fixtures: Any) -> Iterator[Any]:
    """The rule ``pyclrbridge.compat`` sets (importing it switches it on)."""
    from pyclrbridge import compat  # noqa: F401  # importing compat is the switch

    previous = protected.open_protected(True)
    yield fixtures
    protected.open_protected(previous)


def _gauge_class() -> Any:
    from Fixtures.Protected import Gauge  # type: ignore[import-not-found]  # a .NET namespace

    class TankGauge(Gauge):
        def __init__(self, level: int) -> None:
            super().__init__("tank")
            self.level = level
            self.changes = 0

        def Sample(self) -> int:  # protected abstract int Sample()
            return self.level

        def Kind(self) -> str:  # protected virtual string Kind()
            return "tank " + super().Kind()

        def OnChanged(self, e: Any) -> None:  # protected virtual void OnChanged(EventArgs)
            self.changes += 1
            super().OnChanged(e)

        def percent(self) -> int:
            return self.Clamp(self.reading)  # protected method and field

    return TankGauge


def test_subclass_reads_and_writes_protected_fields(native: Any) -> None:
    tank = _gauge_class()(40)
    assert tank.Read() == 40
    assert tank.reading == 40
    tank.reading = 7
    assert tank.Reading == 7  # protected property over the field
    assert tank.unit == "mm"  # protected internal
    tank.unit = "cm"
    assert tank.Describe() == "tank gauge tank: 7 cm"
    assert tank.Limit == 100  # protected const


def test_subclass_calls_protected_methods_including_direct_call_shapes(native: Any) -> None:
    tank = _gauge_class()(500)
    assert tank.Read() == 100  # Clamp(int) ran inside .NET
    assert tank.Clamp(250) == 100
    assert tank.percent() == 100
    assert tank.Format(3) == "3 mm"
    clamp = type(tank).__mro__[1].__dict__["Clamp"].overloads_list[0]
    assert _direct.stub(clamp.id) is not None  # the typed stub calls a protected member too
    assert bridge.is_short(clamp.id)  # and the GIL policy reads its IL like any other


def test_dotnet_calls_python_overrides_of_protected_virtual_and_abstract_methods(native: Any) -> None:
    tank = _gauge_class()(12)
    assert tank.Read() == 12  # Read() calls the abstract Sample() and the virtual OnChanged()
    assert tank.changes == 1
    assert tank.Describe().startswith("tank gauge tank")  # Kind() override with super().Kind()


def test_protected_property_with_a_setter_and_a_public_getter_with_a_protected_setter(native: Any) -> None:
    tank = _gauge_class()(50)
    tank.Scale = 0.5  # protected double Scale { get; set; }
    assert tank.Read() == 25
    assert tank.Scale == 0.5
    tank.Name = "renamed"  # public string Name { get; protected set; }
    assert tank.Name == "renamed"


def test_protected_static_members_through_the_subclass(native: Any) -> None:
    TankGauge = _gauge_class()
    tank = TankGauge(1)
    assert TankGauge.Twice(21) == 42
    assert tank.Twice(2) == 4
    assert TankGauge.Created >= 1
    TankGauge.Label = "tank"  # protected static string Label { get; set; }
    assert tank.Label == "tank"
    TankGauge.Label = "gauge"


def test_protected_event_raised_through_the_protected_on_method(native: Any) -> None:
    tank = _gauge_class()(3)
    seen: list[Any] = []
    tank.Changed += lambda sender, args: seen.append(sender)
    tank.Read()
    assert len(seen) == 1 and seen[0] is tank
    assert tank.changes == 1


def test_protected_overload_of_a_public_method_name(native: Any) -> None:
    from Fixtures.Protected import FixedGauge  # type: ignore[import-not-found]  # a .NET namespace

    tank = _gauge_class()(9)
    tank.Read()
    tank.Reset(5)  # protected void Reset(int)
    assert tank.reading == 5
    tank.Reset()  # public void Reset()
    assert tank.reading == 0
    fixed = FixedGauge()
    fixed.Reset()  # from outside only the public overload is there
    with pytest.raises(TypeError, match="Reset"):
        fixed.Reset(4)


def test_unbound_base_call_from_a_subclass_method(native: Any) -> None:
    from Fixtures.Protected import Gauge  # type: ignore[import-not-found]  # a .NET namespace

    tank = _gauge_class()(1)
    assert Gauge.Clamp(tank, 300) == 100  # pythonnet users' Base.Method(self, ...)


def test_protected_members_are_not_reachable_from_outside(native: Any) -> None:
    from Fixtures.Protected import FixedGauge, Gauge  # type: ignore[import-not-found]  # a .NET namespace

    fixed = FixedGauge()
    assert fixed.Read() == 7  # the public surface works
    with pytest.raises(AttributeError, match=r"FixedGauge\.reading is a protected \.NET field"):
        fixed.reading
    with pytest.raises(AttributeError, match=r"protected \.NET method: reachable through a Python subclass"):
        fixed.Clamp(3)
    with pytest.raises(AttributeError, match="setter of"):
        fixed.Name = "other"
    with pytest.raises(AttributeError, match=r"Gauge\.Created is a protected"):
        Gauge.Created
    with pytest.raises(TypeError, match=r"Gauge\.Twice is a protected"):
        Gauge.Twice(3)
    with pytest.raises(TypeError, match="Clamp is a protected"):
        Gauge.Clamp(fixed, 3)  # the unbound form on an outside object
    assert not hasattr(fixed, "reading")
    assert "reading" not in dir(fixed) and "Reset" in dir(fixed)
    assert "reading" in dir(_gauge_class()(1))
    assert fixed.Name == "fixed"  # the public getter still reads


def test_a_collection_subclass_overrides_insert_item_and_uses_items(native: Any) -> None:
    from System.Collections.ObjectModel import Collection  # type: ignore[import-not-found]  # a .NET namespace

    class Upper(Collection[str]):
        def InsertItem(self, index: int, item: str) -> None:  # protected virtual
            super().InsertItem(index, item.upper())

        def SetItem(self, index: int, item: str) -> None:
            Collection[str].SetItem(self, index, item.upper())

        def RemoveItem(self, index: int) -> None:
            self.removed = self.Items[index]  # protected IList<T> Items
            super().RemoveItem(index)

    names = Upper()
    names.Add("ada")
    names.Insert(0, "bob")
    names[1] = "cy"
    assert list(names) == ["BOB", "CY"]
    names.RemoveAt(0)
    assert names.removed == "BOB" and list(names) == ["CY"]
    assert list(names.Items) == ["CY"]
    with pytest.raises(AttributeError, match="protected"):
        Collection[str]().Items


def test_a_keyed_collection_implements_its_protected_abstract_key(native: Any) -> None:
    from System import Version  # type: ignore[import-not-found]  # a .NET namespace
    from System.Collections.ObjectModel import KeyedCollection  # type: ignore[import-not-found]  # a .NET namespace

    class ByMajor(KeyedCollection[str, Version]):
        def GetKeyForItem(self, item: Any) -> str:  # protected abstract TKey GetKeyForItem(TItem)
            return f"v{item.Major}"

    versions = ByMajor()
    versions.Add(Version(1, 2))
    versions.Add(Version(3, 0))
    assert versions.Contains("v1") and versions.Contains("v3") and not versions.Contains("v2")
    assert versions.Dictionary["v3"].ToString() == "3.0"  # protected IDictionary<TKey, TItem> Dictionary
    with pytest.raises(Exception, match="same key"):
        versions.Add(Version(3, 5))


def test_a_stream_subclass_overrides_protected_dispose_bool(native: Any) -> None:
    from System.IO import Stream  # type: ignore[import-not-found]  # a .NET namespace

    calls: list[bool] = []

    class Probe(Stream):
        def Dispose(self, disposing: bool) -> None:  # protected virtual void Dispose(bool)
            calls.append(disposing)
            super().Dispose(disposing)

    stream = Probe()
    stream.Close()  # Close() -> Dispose(true), both .NET
    assert calls == [True]
    with Probe():  # IDisposable: Dispose() -> Dispose(true)
        pass
    assert calls == [True, True]


def test_a_subclass_uses_a_protected_indexer(native: Any) -> None:
    from Fixtures.Protected import Slots  # type: ignore[import-not-found]  # a .NET namespace

    class Named(Slots):  # type: ignore[misc]  # a .NET base class
        def put(self, i: int, text: str) -> None:
            self[i] = text

        def get(self, i: int) -> Any:
            return self[i]

    named = Named()
    named.put(1, "one")
    assert named.get(1) == "one" and named.Peek(1) == "one" and named.get(0) is None
    outside = Slots()
    with pytest.raises(TypeError, match=r"Fixtures.Protected.Slots.this\[...\] is a protected .NET indexer"):
        outside[0] = "x"
    with pytest.raises(TypeError, match=r"protected \.NET indexer"):
        outside[0]
    assert outside.Peek(0) is None


def test_compat_reaches_a_protected_indexer_on_any_object(pythonnet_rule: Any) -> None:
    from Fixtures.Protected import Slots  # type: ignore[import-not-found]  # a .NET namespace

    slots = Slots()
    slots[2] = "two"
    assert slots[2] == "two" and slots.Peek(2) == "two" and slots[3] is None


def test_compat_reaches_protected_members_on_any_object_as_pythonnet(pythonnet_rule: Any) -> None:
    from Fixtures.Protected import FixedGauge, Gauge  # type: ignore[import-not-found]  # a .NET namespace
    from System.Collections.ObjectModel import Collection  # type: ignore[import-not-found]  # a .NET namespace

    fixed = FixedGauge()
    fixed.Read()
    assert fixed.reading == 7
    assert fixed.Clamp(300) == 100
    fixed.Reset(2)
    assert fixed.reading == 2
    assert Gauge.Twice(4) == 8
    fixed.Name = "set from outside"
    assert fixed.Name == "set from outside"
    xs = Collection[int]()
    xs.InsertItem(0, 5)  # what pythonnet allows on a plain Collection<int>
    assert list(xs.Items) == [5]
    assert "reading" in dir(fixed)


def test_refusals_keep_their_message_with_compat_s_getattr_hook(fixtures_dll: Any) -> None:
    """Importing pyclrbridge.compat gives proxies a __getattr__ again (pythonnet's get_X
    accessors), and it stays once compat's rules are off (which open protected members): a
    protected member refused from outside still says why, not just 'no attribute'."""
    from conftest import assert_clean_exit, run_python

    proc = run_python(
        """
        import os
        import pyclrbridge
        from pyclrbridge.proxies import base
        clr = pyclrbridge.load()
        clr.add_reference(os.environ["FIXTURES_DLL"])
        base.install_missing_hook()  # what importing pyclrbridge.compat installs
        from Fixtures.Protected import FixedGauge
        fixed = FixedGauge()
        for name in ("reading", "Clamp", "nothing_here"):
            try:
                getattr(fixed, name)
            except AttributeError as e:
                print(e)
        """,
        fixtures_dll=fixtures_dll,
    )
    assert_clean_exit(proc)
    lines = proc.stdout.splitlines()
    assert "FixedGauge.reading is a protected .NET field" in lines[0], proc.stdout
    assert "protected .NET method" in lines[1], proc.stdout
    assert lines[2] == "'FixedGauge' object has no attribute 'nothing_here'", proc.stdout
