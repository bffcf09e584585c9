"""A Python object registered for an argument is dropped when no call takes it.

Converting an argument registers a Python object .NET will hold (a callable for a delegate
parameter, any object for an ``object`` parameter, the items of a list) and writes its id into
the argument's value. A signal handler that raises (Ctrl-C, an alarm) can land at any signal
check after that and before the call, and a call can fail before it read every argument: the
id was then never taken, and before, the registry held the object for ever.

These tests raise an exception at every point of each call where CPython could run a signal
handler (every Python function entry and every return from a C function: ``sys.setprofile``
events, raised from the profile function exactly as a handler's exception would be), one point
per attempt, and also at that point and the next one (a second signal inside the except path
the first started). After each attempt nothing may stay registered and no handle may stay
allocated; and an object a call did take stays registered, whatever fails later on the same
pooled frame.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any

import pytest


class Injected(Exception):
    """What the profile function raises: a stand-in for a signal handler's exception."""


def _events(op: Callable[[], object]) -> int:
    """How many call and C-return events one run of ``op`` has."""
    count = [0]

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event in ("call", "c_return"):
            count[0] += 1

    sys.setprofile(profile)
    try:
        op()
    finally:
        sys.setprofile(None)
    return count[0]


def _interrupted(op: Callable[[], object], at: int, twice: bool) -> None:
    """Run ``op`` raising Injected at event ``at`` (and at the next one when ``twice``)."""
    seen = [0]

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event in ("call", "c_return"):
            seen[0] += 1
            if seen[0] == at or (twice and seen[0] == at + 1):
                raise Injected(f"at event {seen[0]}: {event} in {frame.f_code.co_name}")

    sys.setprofile(profile)
    try:
        op()
    except Injected:
        pass
    finally:
        sys.setprofile(None)


def _counts(clr: Any) -> tuple[int, int]:
    gc.collect()
    clr.collect()
    stats = clr.stats()
    return stats["python_registry"], stats["live_handles"]


def _every_point_leaves_nothing(clr: Any, op: Callable[[], object], reset: Callable[[], object]) -> None:
    """Interrupt ``op`` at each of its points in turn; ``reset`` (uninterrupted) then lets go of
    what a completed ``op`` left in .NET, so every attempt must end where the first began. All
    points are counted at once (one collection); when something is left, each point is tried
    again on its own to name the ones that leave it."""
    for _ in range(3):  # warm: classes, invokers and caches made before counting
        op()
        reset()
    total = _events(op)
    reset()
    assert total > 5, "the operation ran no Python code to interrupt"
    points = [(at, twice) for twice in (False, True) for at in range(1, total + 1)]
    before = _counts(clr)
    for at, twice in points:
        _interrupted(op, at, twice)
        reset()
    if _counts(clr) == before:
        return
    leaks = []
    before = _counts(clr)
    for at, twice in points:
        _interrupted(op, at, twice)
        reset()
        after = _counts(clr)
        if after != before:
            leaks.append((at, twice, after[0] - before[0], after[1] - before[1]))
            before = after
    assert not leaks, f"(event, second signal, registry entries, handles) left behind: {leaks}"


def _nothing() -> None:
    pass


def _shapes(clr: Any) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """Each shape of call: (the operation, what lets go of what it left in .NET)."""
    from Fixtures.Delegates import DelegateHolder
    from System import Array, Func, Object
    from System.Collections.Generic import List
    from System.Dynamic import ExpandoObject

    xs = List[int]()
    for i in range(3):
        xs.Add(i)
    objects = List[Object]()
    funcs = List[Func[int]]()
    array = Array.CreateInstance(Object, 2)
    bag = ExpandoObject()

    def unset_global() -> None:
        DelegateHolder.Global = None

    return {
        # a compiled invoker: a lambda for a delegate parameter
        "compiled method": (lambda: xs.ConvertAll(lambda x: x * 2), _nothing),
        # a compiled invoker: any Python object for an object parameter
        "object argument": (lambda: objects.Add(object()), objects.Clear),
        # a list argument whose items are callables (registered in the list's block)
        "list of callables": (lambda: funcs.AddRange([lambda: 1, lambda: 2]), funcs.Clear),
        # the general path (keyword argument)
        "keyword argument": (lambda: xs.ConvertAll(converter=lambda x: x + 1), _nothing),
        # a property set (a static one: the frame path of Property.write)
        "property set": (lambda: setattr(DelegateHolder, "Global", lambda: None), unset_global),
        # an array element set (ArraySet)
        "array element": (lambda: array.__setitem__(0, object()), lambda: array.__setitem__(0, None)),
        # a dynamic member set (DynamicMember)
        "dynamic member": (lambda: setattr(bag, "item", object()), lambda: setattr(bag, "item", None)),
    }


_SHAPES = [
    "compiled method",
    "object argument",
    "list of callables",
    "keyword argument",
    "property set",
    "array element",
    "dynamic member",
]


@pytest.mark.parametrize("shape", _SHAPES)
def test_an_exception_at_any_point_leaves_no_registration(fixtures: Any, shape: str) -> None:
    _every_point_leaves_nothing(fixtures, *_shapes(fixtures)[shape])


def test_objects_calls_took_stay_registered_while_other_calls_are_cut_short(fixtures: Any) -> None:
    """The except path hands back only ids no call took: a callable .NET stores (a static
    delegate property) and an object in a list, given through the same pooled frames, stay."""
    from Fixtures.Delegates import DelegateHolder
    from System import Object
    from System.Collections.Generic import List

    calls = []
    DelegateHolder.Global = lambda: calls.append(1)
    kept = object()
    objects = List[Object]()
    objects.Add(kept)
    xs = List[int]()
    xs.Add(1)
    shapes = _shapes(fixtures)
    for name in ("compiled method", "keyword argument", "object argument", "list of callables"):
        op, reset = shapes[name]
        for at in range(1, _events(op) + 1):
            _interrupted(op, at, twice=False)
            reset()
    gc.collect()
    fixtures.collect()
    assert DelegateHolder.InvokeGlobal() is True
    assert calls == [1]
    assert objects[0] is kept
    DelegateHolder.Global = None


def test_a_call_refused_in_dotnet_hands_back_the_arguments_it_never_read(fixtures: Any) -> None:
    """A call that fails before it read every argument (here: the member takes fewer arguments
    than given, refused by .NET before any is read) leaves nothing registered."""
    from System.Collections.Generic import List

    from pyclrbridge.host import bridge
    from pyclrbridge.host.shim import Kind, Value
    from pyclrbridge.values.objects import register_into

    xs = List[int]()
    member_id = type(xs).__dict__["Clear"].overloads_list[0].id  # Clear takes no argument
    before = _counts(fixtures)
    for _ in range(50):
        args = (Value * 2)()
        for slot in args:
            slot.kind = Kind.PYOBJECT
            register_into(object(), slot)
        with pytest.raises(Exception, match="expected at most 0 arguments"):
            bridge.invoke(member_id, xs._h, args, 2)
    assert _counts(fixtures) == before
