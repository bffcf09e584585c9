"""REPL support: dir() lists .NET members (nothing private), help() and __doc__ show every
overload, rlcompleter completes namespaces and members."""

from __future__ import annotations

import os
import pydoc
import rlcompleter
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


def _completions(namespace: dict[str, Any], text: str, kind: Any = rlcompleter.Completer) -> list[str]:
    completer = kind(namespace)
    found: list[str] = []
    for i in range(200):
        item = completer.complete(text, i)
        if item is None:
            break
        found.append(item)
    return found


def test_dir_of_a_namespace_lists_types_and_sub_namespaces() -> None:
    import System

    names = dir(System)
    assert {"Math", "String", "Collections", "Text"} <= set(names)


def test_dir_of_a_class_lists_its_public_members() -> None:
    from Fixtures.Members import Widget

    names = set(dir(Widget))
    assert {"Size", "Name", "Grow", "Describe", "Changed", "MaxSize", "Part", "Count"} <= names


def test_dir_of_a_class_shows_nothing_private() -> None:
    from Fixtures.Members import Widget

    names = dir(Widget)
    assert not [n for n in names if n in ("s_count", "_disposeCount") or n.startswith("__clr") or n == "_h"]


def test_dir_of_an_instance_lists_public_members_and_dunders_and_nothing_private() -> None:
    from Fixtures.Members import Widget

    names = dir(Widget(1))
    assert {"Size", "Grow", "Tag", "ToString"} <= set(names)
    assert {"__class__", "__doc__", "__eq__", "__hash__", "__repr__", "__enter__", "__exit__"} <= set(names)
    assert not [n for n in names if n.startswith("_") and not (n.startswith("__") and n.endswith("__"))]
    assert not [n for n in names if n.startswith("__clr")]
    assert "overloads" not in names  # constructor choice is a class-only helper
    assert "MemberwiseClone" not in names  # protected: only a Python subclass reaches it


def test_repl_completion_on_an_instance_offers_only_attributes_that_work() -> None:
    from Fixtures.Members import Widget

    from pyclrbridge.cli.completion import Completer

    w = Widget(1)
    completer = Completer({"w": w})
    found = []
    for i in range(500):
        item = completer.complete("w.", i)
        if item is None:
            break
        found.append(item)
    words = {item[2:].rstrip("(") for item in found}
    assert {"Size", "Grow", "ToString", "Changed"} <= words
    assert not {"overloads", "MemberwiseClone"} & words
    for word in words:
        getattr(w, word)  # each one works: no AttributeError
    assert completer.complete("w.__ent", 0) in ("w.__enter__(", "w.__enter__()")


def test_repl_completion_on_a_class_still_offers_its_class_helpers() -> None:
    from Fixtures.Members import Widget

    from pyclrbridge.cli.completion import Completer

    assert Completer({"Widget": Widget}).complete("Widget.overl", 0) == "Widget.overloads"


def test_a_folder_that_shadows_a_dotnet_namespace_is_named_in_the_import_error(
    fixtures_dll: Path, tmp_path: Path
) -> None:
    (tmp_path / "Fixtures" / "Members").mkdir(parents=True)  # like a build folder named after the namespace
    proc = run_python(
        f"""
        import os
        os.chdir({str(tmp_path)!r})  # python -c: the working directory is on sys.path
        import pyclrbridge
        clr = pyclrbridge.load()
        clr.add_reference(os.environ["FIXTURES_DLL"])
        try:
            from Fixtures.Members import Widget
        except ImportError as e:
            print(e)
        """,
        fixtures_dll=fixtures_dll,
    )
    assert_clean_exit(proc)
    shadow = os.path.realpath(tmp_path / "Fixtures" / "Members")
    assert proc.stdout.strip() == (
        f"cannot import 'Widget' from the .NET namespace 'Fixtures.Members': the folder {shadow} shadows it "
        "(Python imports it as 'Fixtures.Members' before looking at .NET). Rename or move it, or run from "
        "another working directory"
    )


def test_doc_of_a_method_group_lists_every_overload() -> None:
    from System import Math

    doc = Math.Round.__doc__
    assert "static Round(a: float) -> float" in doc  # Python terms, as describe prints them
    assert "static Round(d: Decimal, decimals: int, mode: MidpointRounding) -> Decimal" in doc
    assert len(doc.splitlines()) == len(Math.Round.overloads_list) == 8


def test_help_and_describe_show_the_same_overloads_in_the_same_terms() -> None:
    from System import Math

    from pyclrbridge.cli.names import describe_data, resolve_type

    text = pydoc.render_doc(Math.Round, renderer=pydoc.plaintext)
    described = describe_data(resolve_type("System.Math"))["methods"]["Round"]
    assert len(described) == 8
    for line in described:
        assert line in text


def test_doc_of_a_bound_method_lists_its_overloads() -> None:
    from Fixtures.Members import Widget

    doc = Widget(1).Grow.__doc__
    assert "Grow() -> None" in doc.splitlines()
    assert "Grow(by: int) -> None" in doc.splitlines()


def test_doc_of_a_class_names_it_and_lists_constructors() -> None:
    from Fixtures.Members import Widget

    doc = Widget.__doc__
    assert doc.startswith(".NET class Fixtures.Members.Widget")
    assert '  Widget(size: int, name: str = "widget")' in doc.splitlines()


def test_doc_of_a_property_gives_its_type_and_accessors() -> None:
    from Fixtures.Members import Widget

    from pyclrbridge.proxies.meta import _member

    # The member's Python descriptor, also once a native member or (for a constant read
    # before) its value has taken its place in the class dict.
    assert _member(Widget, "Name").__doc__ == "Name: str  {get}"  # as describe prints it
    assert _member(Widget, "Size").__doc__ == "Size: int  {get set}"
    _ = Widget.MaxSize  # a constant read becomes a plain class attribute
    assert _member(Widget, "MaxSize").__doc__ == "const MaxSize: int"


def test_rlcompleter_completes_a_sub_namespace() -> None:
    import System

    assert "System.Collections.Generic" in _completions({"System": System}, "System.Collections.Gen")


def test_rlcompleter_completes_members_of_an_instance() -> None:
    from System.Collections.Generic import List

    xs = List[int]()
    found = _completions({"xs": xs}, "xs.Ad")
    assert "xs.Add(" in found
    assert "xs.AddRange(" in found


def test_rlcompleter_completes_members_of_a_class() -> None:
    from Fixtures.Members import Widget

    assert "Widget.CreatePart(" in _completions({"Widget": Widget}, "Widget.Cre")


def test_repr_of_a_class_and_a_method_name_the_dotnet_type() -> None:
    from System import Math

    assert repr(Math) == "<.NET class System.Math>"
    assert repr(Math.Round) == "<.NET method System.Math.Round (8 overload(s))>"


def test_help_of_a_class_starts_with_a_plain_signature_then_the_constructors() -> None:
    from System.Text import StringBuilder

    text = pydoc.render_doc(StringBuilder, renderer=pydoc.plaintext)
    lines = [line.strip(" |") for line in text.splitlines()]
    assert lines[3] == "StringBuilder(*args, **kwargs)"  # any arguments: the constructors are below
    assert lines[5].startswith(".NET class System.Text.StringBuilder")


def _resolving_failures(target: Any, name: str, completer: Any = rlcompleter.Completer) -> set[str]:
    """What a completer offers on ``name.``, ``name._`` and ``name.__`` that ``target`` does not have."""
    failing = set()
    for prefix in ("", "_", "__"):
        for match in _completions({name: target}, f"{name}.{prefix}", completer):
            word = match[len(name) + 1 :].removesuffix("()").removesuffix("(")
            if not hasattr(target, word):
                failing.add(word)
    return failing


class _PlainPython:
    pass


# CPython's completer offers every class the names of ``type``, and ``cls.__abstractmethods__``
# raises AttributeError on any class that is not abstract: not ours to change.
_CPYTHON_OWN = _resolving_failures(_PlainPython, "C") | _resolving_failures(_PlainPython(), "o")


def _bcl_targets() -> dict[str, Any]:
    from System import Math, TimeZoneInfo
    from System.Collections.Generic import Dictionary, IList, List
    from System.Text import StringBuilder

    xs = List[int]([1, 2])
    return {
        "sb": StringBuilder("x"),
        "xs": xs,
        "d": Dictionary[str, int](),
        "view": IList[int](xs),  # an interface view
        "tz": TimeZoneInfo.Utc,  # an object whose class has no public constructor
        "StringBuilder": StringBuilder,
        "ListOfInt": List[int],
        "DictOfStrInt": Dictionary[str, int],
        "IListOfInt": IList[int],
        "Math": Math,  # a static class
        "TimeZoneInfo": TimeZoneInfo,
    }


@pytest.mark.parametrize(
    "name",
    ["sb", "xs", "d", "view", "tz", "StringBuilder", "ListOfInt", "DictOfStrInt", "IListOfInt", "Math", "TimeZoneInfo"],
)
def test_plain_rlcompleter_offers_only_names_that_resolve(name: str) -> None:
    # The plain `python` REPL completes with rlcompleter: dir(obj) plus dir() of its class and
    # bases, so the class's names must work on its objects too.
    target = _bcl_targets()[name]
    assert _resolving_failures(target, name) <= _CPYTHON_OWN, f"offered on {name} but raising AttributeError"


def test_plain_rlcompleter_keeps_the_names_users_need() -> None:
    t = _bcl_targets()
    assert {"sb.Append(", "sb.Length", "sb.ToString("} <= set(_completions(t, "sb."))
    assert {"xs.Add(", "xs.Count", "xs.Sort("} <= set(_completions(t, "xs."))
    assert {"d.ContainsKey(", "d.Keys", "d.TryGetValue("} <= set(_completions(t, "d."))
    assert "StringBuilder.overloads" in _completions(t, "StringBuilder.over")
    assert "Math.Abs(" in _completions(t, "Math.Ab")
    assert "sb.__enter__(" not in _completions(t, "sb.__")  # (StringBuilder is not IDisposable)
    assert "sb.__eq__(" in _completions(t, "sb.__")


def test_protected_members_are_listed_only_where_reachable() -> None:
    from Fixtures.Members import Widget
    from System.Text import StringBuilder

    class MyWidget(Widget):  # type: ignore[misc]
        pass

    assert "MemberwiseClone" not in dir(StringBuilder)
    assert "MemberwiseClone" not in dir(Widget)
    assert "MemberwiseClone" in dir(MyWidget)  # a Python subclass reaches it
    w = MyWidget(1)
    assert "MemberwiseClone" in dir(w) and callable(w.MemberwiseClone)
    assert _resolving_failures(w, "w") <= _CPYTHON_OWN


def test_an_object_reaches_its_class_constructor_selector_like_a_classmethod() -> None:
    from System import Math, TimeZoneInfo
    from System.Text import StringBuilder

    sb = StringBuilder("x")
    assert list(sb.overloads) == list(StringBuilder.overloads)
    made = sb.overloads[int](16)  # StringBuilder(int capacity): a new object, as from the class
    assert isinstance(made, StringBuilder) and made.Capacity == 16 and str(sb) == "x"
    with pytest.raises(TypeError, match=r"System\.Math is a static class"):
        Math.overloads[int]
    with pytest.raises(TypeError, match=r"System\.TimeZoneInfo has no public constructor"):
        TimeZoneInfo.Utc.overloads[str]
    assert list(Math.overloads) == []
    assert "overloads" not in dir(sb)  # the class's helper: dir() of an object does not list it


@pytest.mark.parametrize(
    "name",
    ["sb", "xs", "d", "view", "tz", "StringBuilder", "ListOfInt", "DictOfStrInt", "IListOfInt", "Math", "TimeZoneInfo"],
)
def test_repl_completion_offers_only_names_that_resolve(name: str) -> None:
    from pyclrbridge.cli.completion import Completer

    target = _bcl_targets()[name]
    assert _resolving_failures(target, name, Completer) == set()


def test_repl_completion_reads_no_property_so_a_throwing_getter_hides_nothing() -> None:
    # MemoryStream.ReadTimeout throws InvalidOperationException: rlcompleter reads every
    # candidate, so there it ends the completion with no candidates at all.
    from System.IO import MemoryStream

    from pyclrbridge.cli.completion import Completer

    found = _completions({"ms": MemoryStream()}, "ms.Re", Completer)
    assert {"ms.ReadTimeout", "ms.Read(", "ms.ReadByte("} <= set(found)
    assert "ms.Length" in _completions({"ms": MemoryStream()}, "ms.", Completer)
    from System.Text import StringBuilder

    assert _completions({"SB": StringBuilder}, "SB.__na", Completer) == ["SB.__name__"]


def test_repl_completion_runs_no_getter() -> None:
    from System import Lazy

    from pyclrbridge.cli.completion import Completer

    made = []
    lazy = Lazy[int](lambda: made.append(1) or 42)
    assert {"lazy.Value", "lazy.IsValueCreated"} <= set(_completions({"lazy": lazy}, "lazy.", Completer))
    assert not made and not lazy.IsValueCreated  # Value was offered, not read
    _completions({"lazy": lazy}, "lazy.", rlcompleter.Completer)
    # Before 3.14 the standard completer reads it (why the REPL has its own); 3.14's skips
    # descriptors that are not callable.
    assert made == ([1] if sys.version_info < (3, 14) else [])
