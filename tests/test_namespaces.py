"""Types and namespaces: get_type, add_reference, the import hook, class identity, isinstance."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest


def test_get_type_finds_a_generic_definition_by_its_backtick_name(clr: Any) -> None:
    List = clr.get_type("System.Collections.Generic.List`1")
    assert List.__clr_name__ == "System.Collections.Generic.List[T]"
    assert list(List[int]([1, 2])) == [1, 2]


def test_get_type_accepts_an_assembly_qualified_bcl_name(clr: Any) -> None:
    Int32 = clr.get_type("System.Int32, System.Private.CoreLib")
    assert Int32 is clr.get_type("System.Int32")
    assert Int32.Parse("41") + 1 == 42


def test_get_type_accepts_an_assembly_qualified_fixture_name(fixtures: Any) -> None:
    Widget = fixtures.get_type("Fixtures.Members.Widget, PyClrBridge.Fixtures")
    assert Widget(7).Size == 7


def test_get_type_finds_a_nested_type_by_its_clr_name(fixtures: Any) -> None:
    from Fixtures.Members import Widget

    assert fixtures.get_type("Fixtures.Members.Widget+Part") is Widget.Part


def test_get_type_of_an_unknown_name_raises_lookup_error_naming_it(clr: Any) -> None:
    with pytest.raises(LookupError, match=r"No\.Such\.Type"):
        clr.get_type("No.Such.Type")


def test_get_type_returns_the_same_class_object_every_time(clr: Any) -> None:
    assert clr.get_type("System.Text.StringBuilder") is clr.get_type("System.Text.StringBuilder")
    from System.Text import StringBuilder

    assert StringBuilder is clr.get_type("System.Text.StringBuilder")


def test_add_reference_returns_an_assembly_listing_its_types(clr: Any, fixtures_dll: Path) -> None:
    assembly = clr.add_reference(fixtures_dll)
    assert assembly.name == "PyClrBridge.Fixtures"
    assert "Fixtures.Members.Widget" in assembly.types
    assert "Fixtures.Generics.Box`1" in assembly.types
    assert "PyClrBridge.Fixtures" in repr(assembly)


def test_add_reference_by_assembly_name_loads_from_the_runtime(clr: Any) -> None:
    assembly = clr.add_reference("System.Xml.ReaderWriter")
    assert assembly.name == "System.Xml.ReaderWriter"
    from System.Xml import XmlDocument

    doc = XmlDocument()
    doc.LoadXml("<a><b/></a>")
    assert doc.DocumentElement.Name == "a"


def test_import_system_gives_a_namespace_module(clr: Any) -> None:
    import System

    assert repr(System) == "<.NET namespace 'System'>"
    assert System.Math.Abs(-5) == 5


def test_from_namespace_import_a_generic_type(clr: Any) -> None:
    from System.Collections.Generic import List

    assert List[str](["a"]).Count == 1


def test_from_a_referenced_assembly_namespace_import_a_type(fixtures: Any) -> None:
    from Fixtures.Members import Widget

    assert Widget(3).Describe() == "Widget(size=3, name=widget)"


def test_namespace_dir_lists_sub_namespaces_and_types(clr: Any) -> None:
    import System.Collections

    names = dir(System.Collections)
    assert "Generic" in names
    assert "ArrayList" in names
    assert "Hashtable" in names


def test_missing_attribute_names_the_namespace_and_the_assemblies_searched(clr: Any) -> None:
    import System.Collections

    with pytest.raises(AttributeError) as info:
        System.Collections.NoSuchThing
    message = str(info.value)
    assert "'System.Collections'" in message
    assert "'NoSuchThing'" in message
    assert "System.Private.CoreLib" in message


def test_from_import_of_a_missing_name_raises_import_error_naming_namespace_and_assemblies(fixtures: Any) -> None:
    with pytest.raises(ImportError) as info:
        from Fixtures.Members import NoSuchWidget  # noqa: F401
    message = str(info.value)
    assert "'Fixtures.Members'" in message
    assert "'NoSuchWidget'" in message
    assert "PyClrBridge.Fixtures" in message


def test_import_of_a_missing_sub_namespace_raises_import_error(clr: Any) -> None:
    with pytest.raises(ImportError, match="'System' has no type or namespace 'NoSuchSpace'"):
        import System.NoSuchSpace  # noqa: F401


def test_importing_a_type_as_a_module_says_to_use_from_import(clr: Any) -> None:
    with pytest.raises(ImportError, match="from System import Math"):
        import System.Math  # noqa: F401


def test_a_class_is_built_once_when_sixteen_threads_ask_at_once(fixtures: Any, monkeypatch: Any) -> None:
    from Fixtures.Generics import Multi
    from System import Guid, Uri

    from pyclrbridge.proxies import catalog as _types

    built: list[int] = []
    real_build = _types._build

    def counting_build(type_id: int) -> Any:
        built.append(type_id)
        return real_build(type_id)

    monkeypatch.setattr(_types, "_build", counting_build)
    barrier = threading.Barrier(16)
    results: list[Any] = [None] * 16

    def ask(i: int) -> None:
        barrier.wait()
        results[i] = Multi[Guid, Uri]  # a combination no other test builds

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    target = results[0].__clr_type_id__
    assert all(r is results[0] for r in results)
    assert built.count(target) == 1
    assert results[0]().Arity == 2


def test_a_class_derives_from_the_class_of_its_dotnet_base(fixtures: Any) -> None:
    from Fixtures.Interfaces import Creature, Lion

    assert issubclass(Lion, Creature)
    assert not issubclass(Creature, Lion)
    assert isinstance(Lion(), Creature)


def test_isinstance_and_issubclass_follow_implemented_interfaces(fixtures: Any) -> None:
    from Fixtures.Interfaces import Circle, IShape, Square

    assert issubclass(Square, IShape)
    assert isinstance(Circle(1.0), IShape)
    assert not isinstance(Circle(1.0), Square)


def test_isinstance_follows_generic_interfaces_of_bcl_types(clr: Any) -> None:
    from System import IComparable, String
    from System.Collections import IEnumerable as NonGenericEnumerable
    from System.Collections.Generic import IEnumerable, List

    xs = List[int]()
    assert isinstance(xs, IEnumerable[int])
    assert isinstance(xs, NonGenericEnumerable)
    assert not isinstance(xs, IEnumerable[str])
    assert issubclass(String, IComparable)


@pytest.mark.parametrize("bad", [None, 5, ""])
def test_get_type_of_a_non_name_raises_type_error(clr: Any, bad: Any) -> None:
    with pytest.raises(TypeError, match="non-empty str"):
        clr.get_type(bad)


def test_star_import_brings_in_every_type_of_the_namespace(fixtures: Any) -> None:
    scope: dict[str, Any] = {}
    exec("from Fixtures.Enums import *", scope)
    assert {"Color", "Perms", "Big", "Tiny", "EnumTools"} <= set(scope)
    assert int(scope["Color"].Blue) == 2


def test_get_type_resolves_a_closed_generic_name_across_assemblies(fixtures: Any) -> None:
    from Fixtures.Generics import Multi
    from System.Collections.Generic import List

    assert fixtures.get_type("Fixtures.Generics.Multi`1[System.Int32]") is Multi[int]
    assert fixtures.get_type("System.Collections.Generic.List`1[System.Int32]") is List[int]
    assert fixtures.get_type("System.Int32[]").__clr_name__ == "System.Int32[]"


def test_a_framework_namespace_in_an_assembly_named_otherwise_imports_without_add_reference() -> None:
    """System.Collections.ObjectModel lives in System.ObjectModel.dll: found from the framework's
    own metadata, in a fresh process where nothing has loaded that assembly yet."""
    from conftest import assert_clean_exit, run_python

    proc = run_python("""
        import pyclrbridge
        pyclrbridge.load()
        from System.Collections.ObjectModel import ObservableCollection
        items = ObservableCollection[int]()
        items.Add(3)
        print(list(items))
    """)
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "[3]"
