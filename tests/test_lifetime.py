"""Who keeps what alive across the boundary, exactly-once handle release, and stats()."""

from __future__ import annotations

import weakref
from typing import Any

import pytest

import pyclrbridge
from pyclrbridge.testing import run_concurrently

COUNTS = ("live_handles", "python_objects_held", "python_registry", "derived_objects", "event_subscriptions")


def _counts(clr: Any) -> dict[str, int]:
    clr.collect()
    stats = clr.stats()
    return {k: stats[k] for k in COUNTS}


def test_stats_reports_every_lifetime_counter(fixtures: Any) -> None:
    stats = fixtures.stats()
    for key in (*COUNTS, "cached_classes", "delegate_factories", "derived_types", "callbacks_in_flight"):
        assert isinstance(stats[key], int), key


def test_dropping_a_proxy_frees_its_handle(fixtures: Any) -> None:
    from System.Text import StringBuilder

    before = _counts(fixtures)["live_handles"]
    sb = StringBuilder()
    assert _counts(fixtures)["live_handles"] == before + 1
    del sb
    assert _counts(fixtures)["live_handles"] == before


def test_release_frees_once_and_the_later_finalizer_frees_nothing(fixtures: Any) -> None:
    from System.Text import StringBuilder

    start = fixtures.stats()
    sb = StringBuilder()
    pyclrbridge.release(sb)
    pyclrbridge.release(sb)
    del sb
    end = fixtures.stats()
    assert end["handles_freed"] - start["handles_freed"] == 1
    assert end["refused_frees"] == start["refused_frees"]


def test_released_proxy_refuses_further_calls(fixtures: Any) -> None:
    from System.Text import StringBuilder

    sb = StringBuilder()
    pyclrbridge.release(sb)
    with pytest.raises(Exception):
        sb.Append("x")


def test_racing_releases_free_a_handle_exactly_once(fixtures: Any) -> None:
    from System.Text import StringBuilder

    objects = [StringBuilder() for _ in range(200)]
    start = fixtures.stats()

    def release_all() -> None:
        for obj in objects:
            pyclrbridge.release(obj)

    run_concurrently(release_all, 4)
    end = fixtures.stats()
    assert end["handles_freed"] - start["handles_freed"] == 200
    assert end["refused_frees"] == start["refused_frees"]


def test_delegate_keeps_its_callable_alive_while_dotnet_holds_it(fixtures: Any) -> None:
    from Fixtures.Delegates import DelegateHolder

    holder = DelegateHolder()
    calls: list[int] = []

    def install() -> weakref.ref[Any]:
        def callback() -> None:
            calls.append(1)

        holder.Set(callback)
        return weakref.ref(callback)

    ref = install()
    fixtures.collect()
    assert ref() is not None
    assert holder.Invoke()
    assert calls == [1]


def test_callable_is_let_go_after_dotnet_drops_the_delegate(fixtures: Any) -> None:
    from Fixtures.Delegates import DelegateHolder

    holder = DelegateHolder()

    def install() -> weakref.ref[Any]:
        def callback() -> None:
            pass

        holder.Set(callback)
        return weakref.ref(callback)

    ref = install()
    holder.Clear()
    fixtures.collect()
    assert ref() is None


def test_derived_object_stays_alive_while_dotnet_holds_it(fixtures: Any) -> None:
    from Fixtures.Inheritance import Consumers, ICalculator
    from System.Collections.Generic import List

    class Adder(ICalculator):
        def __init__(self, k: int) -> None:
            super().__init__()
            self.k = k

        def Compute(self, x: int) -> int:
            return x + self.k

    kept = List[ICalculator]()

    def install() -> weakref.ref[Any]:
        adder = Adder(100)
        kept.Add(adder)
        return weakref.ref(adder)

    ref = install()
    fixtures.collect()
    assert ref() is not None
    assert Consumers.RunCalculator(kept[0], 1) == 101
    assert kept[0] is ref()


def test_derived_object_is_let_go_after_dotnet_drops_it(fixtures: Any) -> None:
    from Fixtures.Inheritance import ICalculator
    from System.Collections.Generic import List

    class Ident(ICalculator):
        def Compute(self, x: int) -> int:
            return x

    kept = List[ICalculator]()

    def install() -> weakref.ref[Any]:
        obj = Ident()
        kept.Add(obj)
        return weakref.ref(obj)

    ref = install()
    fixtures.collect()
    assert ref() is not None
    kept.Clear()
    fixtures.collect()
    assert ref() is None


def test_derived_object_held_only_by_python_is_collected(fixtures: Any) -> None:
    from Fixtures.Inheritance import Shape

    class Dot(Shape):
        def Area(self) -> float:
            return 0.0

    before = _counts(fixtures)
    ref = weakref.ref(Dot())
    assert _counts(fixtures) == before
    assert ref() is None


def test_creating_and_dropping_many_objects_and_delegates_leaks_nothing(fixtures: Any) -> None:
    """100,000 proxies and 10,000 delegates later, every counter is back at its baseline."""
    from Fixtures.Delegates import Invoker
    from System import Func
    from System.Text import StringBuilder

    before = _counts(fixtures)
    for _ in range(100):
        batch = [StringBuilder() for _ in range(1000)]
        del batch
    func = Func[int, int]
    for i in range(10_000):
        f = func(lambda x, i=i: x + i)
        if i % 1000 == 0:
            assert Invoker.CallMany(f, 1) == i
        del f
    assert _counts(fixtures) == before


def test_subscribing_on_dropped_publishers_leaks_nothing(fixtures: Any) -> None:
    from Fixtures.Events import Publisher

    before = _counts(fixtures)
    for i in range(500):
        publisher = Publisher()
        publisher.Ticked += lambda v, i=i: None
        publisher.Message += print
    del publisher
    assert _counts(fixtures) == before


def test_objects_returned_by_callbacks_on_pool_threads_leak_no_handles(fixtures: Any) -> None:
    from System import Func, Object
    from System.Text import StringBuilder
    from System.Threading.Tasks import Task

    before = _counts(fixtures)
    make = Func[Object]
    for i in range(50):
        task = Task.Run(make(lambda i=i: StringBuilder(str(i))))
        assert str(task.Result) == str(i)
    del task
    assert _counts(fixtures) == before
