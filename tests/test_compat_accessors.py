"""pythonnet's accessor methods under ``pyclrbridge.compat``: ``get_X()``/``set_X(v)`` for
properties, ``get_Item``/``set_Item`` for indexers, ``add_E(d)``/``remove_E(d)`` for events.
Natively they stay hidden (use the property, ``obj[k]`` and ``+=``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python


@pytest.fixture
def compat_clr(fixtures: Any) -> Iterator[Any]:
    from pyclrbridge import compat

    yield compat


def test_indexer_accessors_get_item_and_set_item(compat_clr: Any) -> None:
    from System.Collections import Hashtable  # type: ignore[import-not-found]  # a .NET namespace
    from System.Collections.Generic import Dictionary, List  # type: ignore[import-not-found]

    table = Hashtable()
    table.set_Item("a", 1)
    assert table.get_Item("a") == 1 and table["a"] == 1
    assert table.get_Item("missing") is None  # the .NET getter's answer: null
    words = Dictionary[str, int]()
    words.set_Item("k", 3)
    assert words.get_Item("k") == 3
    import System  # type: ignore[import-not-found]

    with pytest.raises(System.Collections.Generic.KeyNotFoundException):
        words.get_Item("nope")  # the accessor's own exception, not a reflection wrapper
    numbers = List[int]([1, 2])
    numbers.set_Item(0, 9)
    assert numbers.get_Item(0) == 9 and list(numbers) == [9, 2]
    with pytest.raises(TypeError, match=r"get_Item\(\) takes 1 arguments, not 2"):
        numbers.get_Item(0, 1)


def test_property_accessors_get_x_and_set_x(compat_clr: Any) -> None:
    from System.Text import StringBuilder  # type: ignore[import-not-found]  # a .NET namespace

    builder = StringBuilder()
    builder.set_Capacity(100)
    assert builder.get_Capacity() == 100 == builder.Capacity
    text = StringBuilder("abc")
    for _ in range(300):  # hot: the property may become a native member in the class dict
        assert text.Length == 3
    assert text.get_Length() == 3
    with pytest.raises(AttributeError, match="get_NoSuchProperty"):
        builder.get_NoSuchProperty()
    with pytest.raises(AttributeError):
        builder.get_()


def test_event_accessors_add_and_remove(compat_clr: Any) -> None:
    from Fixtures.Members import Widget  # type: ignore[import-not-found]  # a .NET namespace
    from System import EventHandler  # type: ignore[import-not-found]

    seen: list[int] = []
    widget = Widget(1)
    handler = EventHandler(lambda sender, args: seen.append(sender.Size))
    widget.add_Changed(handler)
    widget.Grow()
    widget.remove_Changed(handler)
    widget.Grow()
    assert seen == [2]

    def plain(sender: Any, args: Any) -> None:
        seen.append(-sender.Size)

    # pythonnet's accessors are the .NET methods: a delegate only (+= takes the callable).
    with pytest.raises(TypeError, match=r"add_Changed\(\) takes a .NET delegate, not function"):
        widget.add_Changed(plain)
    with pytest.raises(TypeError, match=r"remove_Changed\(\) takes a .NET delegate"):
        widget.remove_Changed(plain)
    assert seen == [2]
    widget.Changed += plain
    widget.Grow()
    assert seen == [2, -4]


def test_accessor_methods_are_not_offered_natively() -> None:
    proc = run_python(
        """
        from pyclrbridge import load
        load()
        from System.Collections import Hashtable
        try:
            Hashtable().set_Item("a", 1)
        except AttributeError as error:
            print("native:", error.name)
        """
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["native:", "set_Item"]


def test_removing_a_handler_never_added_is_a_value_error_under_compat(compat_clr: Any) -> None:
    from Fixtures.Members import Widget  # type: ignore[import-not-found]  # a .NET namespace

    widget = Widget(1)

    def handler(sender: Any, args: Any) -> None:
        pass

    with pytest.raises(ValueError, match="is not subscribed to"):
        widget.Changed -= handler
    widget.Changed += handler
    widget.Changed -= handler  # added: removed as usual
    assert widget.ChangedHandlerCount == 0


def test_removing_a_handler_never_added_does_nothing_natively(fixtures: Any) -> None:
    from Fixtures.Members import Widget  # type: ignore[import-not-found]  # a .NET namespace

    widget = Widget(1)
    widget.Changed -= lambda sender, args: None  # .NET's -=: nothing to remove, no error
    assert widget.ChangedHandlerCount == 0


def test_deleting_an_item_follows_pythonnet_under_compat(compat_clr: Any) -> None:
    import System  # type: ignore[import-not-found]
    from System.Collections.Generic import List  # type: ignore[import-not-found]

    items = List[str]()
    for word in ("a", "b", "c"):
        items.Add(word)
    with pytest.raises(System.ArgumentOutOfRangeException) as raised:  # List.RemoveAt's own refusal
        del items[3]
    assert isinstance(raised.value, IndexError)  # still what Python code catches
    del items[-1]  # from the end, as in Python
    del items[0]
    assert list(items) == ["b"]
    array = System.Array[str](["x", "y"])
    with pytest.raises(TypeError, match="does not support item deletion"):
        del array[0]
    with pytest.raises(TypeError, match="does not support item deletion"):
        del System.Array[str](0)[0]
    assert list(array) == ["x", "y"]


def test_deleting_an_item_out_of_range_natively_is_a_python_index_error(fixtures: Any) -> None:
    import System  # type: ignore[import-not-found]
    from System.Collections.Generic import List  # type: ignore[import-not-found]

    items = List[str]()
    items.Add("a")
    with pytest.raises(IndexError, match="out of range") as raised:
        del items[3]
    assert not isinstance(raised.value, System.Exception)  # checked before any .NET call
    with pytest.raises(IndexError):
        del System.Array[str](0)[0]
