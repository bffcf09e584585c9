"""A callback's list, tuple or dict result that .NET refuses leaves nothing registered.

The Python objects inside such a result are registered for .NET as the result is written;
the items .NET never took (the rest of a list it refused, the values after the one that
failed) are handed back when the conversion fails, exactly once, on the typed path (a
delegate of primitives) and on the generic one.
"""

from __future__ import annotations

from typing import Any

import pytest

ROUNDS = 25


def _held(clr: Any) -> tuple[int, int]:
    clr.collect()
    stats = clr.stats()
    return stats["python_registry"], stats["python_objects_held"]


def _refused_shapes() -> list[tuple[str, str, Any, tuple[Any, ...]]]:
    """(delegate type, path, callable, arguments): each result is one .NET refuses."""
    return [
        ("Func[Double]", "typed", lambda: [object(), {"a": object()}], ()),
        ("Func[Int32]", "typed", lambda: (object(), object(), 3), ()),
        ("Func[Int64]", "typed", lambda: [[object()], ({"k": (object(), object())},)], ()),
        ("Func[Boolean]", "typed", lambda: {object(): object()}, ()),
        ("DoubleOf", "generic", lambda x: [object(), object()], (None,)),
        ("DoubleOf", "generic", lambda x: {"a": [object()], "b": (object(),)}, (None,)),
        ("Func[List[Int32]]", "generic", lambda: {"a": object()}, ()),
        ("Func[List[Int32]]", "generic", lambda: [1, object(), object(), object()], ()),
        ("Func[List[Int32]]", "generic", lambda: [object(), "x", object()], ()),
        ("Func[Array[Int32]]", "generic", lambda: ([object()], 2, object()), ()),
        ("Func[Dictionary[String, Int32]]", "generic", lambda: {"a": 1, "b": object(), "c": object()}, ()),
        ("Func[Dictionary[String, Int32]]", "generic", lambda: [object(), object()], ()),
    ]


def _delegate_type(name: str) -> Any:
    import System
    from Fixtures.CallbackResults import DoubleOf
    from System import Array, Boolean, Double, Int32, Int64, String
    from System.Collections.Generic import Dictionary, List

    types = {
        "Func[Double]": System.Func[Double],
        "Func[Int32]": System.Func[Int32],
        "Func[Int64]": System.Func[Int64],
        "Func[Boolean]": System.Func[Boolean],
        "DoubleOf": DoubleOf,
        "Func[List[Int32]]": System.Func[List[Int32]],
        "Func[Array[Int32]]": System.Func[Array[Int32]],
        "Func[Dictionary[String, Int32]]": System.Func[Dictionary[String, Int32]],
    }
    return types[name]


def _outcome(f: Any, args: tuple[Any, ...]) -> str:
    from Fixtures.CallbackResults import Caller
    from System import Array, Object

    return str(Caller.Outcome(f, Array[Object](list(args))))


@pytest.mark.parametrize("index", range(len(_refused_shapes())), ids=lambda i: "-".join(_refused_shapes()[i][:2]))
def test_a_refused_result_leaves_nothing_registered(fixtures: Any, index: int) -> None:
    name, _path, fn, args = _refused_shapes()[index]
    f = _delegate_type(name)(fn)
    assert _outcome(f, args) != "accepted"  # warm up: the delegate's factory, its thunk
    before = _held(fixtures)
    outcomes = {_outcome(f, args) for _ in range(ROUNDS)}
    assert outcomes.isdisjoint({"accepted"}), outcomes
    assert _held(fixtures) == before


def test_an_out_value_after_a_refused_result_is_released_too(fixtures: Any) -> None:
    from Fixtures.CallbackResults import Caller, WithOut

    f = WithOut(lambda: ([object()], [object(), object()]))
    assert Caller.OutcomeWithOut(f) == "InvalidCastException"
    before = _held(fixtures)
    for _ in range(ROUNDS):
        assert Caller.OutcomeWithOut(f) == "InvalidCastException"
    assert _held(fixtures) == before


def test_an_accepted_result_is_released_once_and_usable_while_held(fixtures: Any) -> None:
    import System
    from System import Array, Int32, Object
    from System.Collections.Generic import List

    numbers = System.Func[List[Int32]](lambda: [1, 2, 3]).DynamicInvoke()
    assert list(numbers) == [1, 2, 3]
    a, b = object(), object()
    make = System.Func[Array[Object]](lambda: [a, {"k": b}])  # the dict: a Dictionary holding b
    refuse = System.Func[System.Double](lambda: [a, {"k": b}, a])
    _outcome(refuse, ())
    start = _held(fixtures)
    held = [make.DynamicInvoke() for _ in range(ROUNDS)]
    for _ in range(ROUNDS):  # refusals in between: the held items stay registered
        assert _outcome(refuse, ()) == "InvalidCastException"
    assert _held(fixtures) == (start[0] + 2 * ROUNDS, start[1] + 2 * ROUNDS)
    for items in held:
        assert items[0] is a and items[1]["k"] is b
    del items
    held.clear()
    System.Text.StringBuilder("x").ToString()  # the last result's Python object is held until the next call
    assert _held(fixtures) == start  # each released once: back to the start, never below


def test_a_dict_result_with_python_keys_that_is_accepted_is_held_then_released(fixtures: Any) -> None:
    import System
    from System.Collections.Generic import Dictionary

    keys = [object() for _ in range(3)]
    f = System.Func[Dictionary[System.Object, System.Int32]](lambda: {k: i for i, k in enumerate(keys)})
    f.DynamicInvoke()
    start = _held(fixtures)
    made = f.DynamicInvoke()
    assert made.Count == 3
    assert _held(fixtures)[0] == start[0] + 3
    del made
    assert _held(fixtures) == start


def test_threads_refusing_and_accepting_results_at_once_leave_nothing_registered(fixtures: Any) -> None:
    """The log of ids taken is per thread: refusals on some threads never release what an
    accepted result on another thread holds, and none leak."""
    import System
    from System import Array, Object

    from pyclrbridge.testing import run_concurrently

    keep = object()
    make = System.Func[Array[Object]](lambda: [keep, object()])
    refuse = System.Func[System.Double](lambda: [object(), {"a": (object(), keep)}])
    refuse_generic = System.Func[System.Collections.Generic.List[System.Int32]](lambda: [1, object(), object()])
    make.DynamicInvoke()
    _outcome(refuse, ())
    _outcome(refuse_generic, ())
    before = _held(fixtures)

    def work(index: int) -> list[Any]:
        held = []
        for _ in range(ROUNDS):
            if index % 3 == 0:
                held.append(make.DynamicInvoke())
            else:
                assert _outcome(refuse if index % 3 == 1 else refuse_generic, ()) == "InvalidCastException"
        return held

    results = run_concurrently(work, 6, pass_index=True)
    assert all(items[0] is keep for held in results for items in held)
    assert sum(len(held) for held in results) == 2 * ROUNDS
    results.clear()
    System.Text.StringBuilder("x").ToString()  # the last result's Python object is held until the next call
    assert _held(fixtures) == before


class _Key:
    """A key whose hash .NET asks Python for while it converts the dict (a callback inside the
    conversion of a callback's result)."""

    def __init__(self, i: int) -> None:
        self.i = i

    def __hash__(self) -> int:
        return self.i

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and other.i == self.i


def test_a_dict_result_with_python_keys_arrives_intact(fixtures: Any) -> None:
    """The callbacks .NET makes for the keys' hashes while it reads the dict must not let go of
    the memory the rest of the dict is written in (they did: the values read as garbage)."""
    import System
    from System.Collections.Generic import Dictionary

    def text(k: _Key) -> str:
        return f"value-{k.i}-" + "x" * (k.i % 50)

    keys = [_Key(i) for i in range(200)]
    f = System.Func[Dictionary[System.Object, System.String]](lambda: {k: text(k) for k in keys})
    for _ in range(10):
        made = f.DynamicInvoke()
        assert made.Count == len(keys)
        assert [made[k] for k in keys] == [text(k) for k in keys]


def test_a_list_refused_for_an_array_element_leaves_nothing_registered(fixtures: Any) -> None:
    """Storing into an array element converts in .NET too (Python does not check first)."""
    import System
    from System import Array, Int32, Object
    from System.Collections.Generic import List

    ints = Array[Int32]([1, 2])
    lists = Array[List[Int32]](1)
    objects = Array[Object](1)
    a = object()
    refusals = [
        lambda: ints.__setitem__(0, [object(), object()]),
        lambda: ints.__setitem__(1, {"a": (object(), a)}),
        lambda: lists.__setitem__(0, [1, object(), object()]),
    ]
    for refuse in refusals:
        with pytest.raises(TypeError):
            refuse()
    before = _held(fixtures)
    for _ in range(ROUNDS):
        for refuse in refusals:
            with pytest.raises(TypeError):
                refuse()
        objects[0] = [a, object()]  # accepted: an object[] holding both
    assert objects[0][0] is a
    assert list(ints) == [1, 2]
    objects[0] = None
    System.Text.StringBuilder("x").ToString()  # the last result's Python object is held until the next call
    assert _held(fixtures) == before
