"""Events: += and -= with Python callables, static events, several handlers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def publisher(fixtures: Any) -> Any:
    from Fixtures.Events import Publisher

    return Publisher()


@pytest.fixture
def static_publisher(fixtures: Any) -> Iterator[Any]:
    from Fixtures.Events import Publisher

    Publisher.ResetStatic()
    yield Publisher
    Publisher.ResetStatic()


def test_subscribed_handler_receives_the_event(publisher: Any) -> None:
    seen: list[str] = []
    publisher.Message += lambda sender, args: seen.append(args.Text)
    publisher.Raise("hello")
    assert seen == ["hello"]


def test_handler_sees_the_sender_and_can_set_handled(publisher: Any) -> None:
    senders: list[Any] = []

    def handle(sender: Any, args: Any) -> None:
        senders.append(sender)
        args.Handled = True

    publisher.Message += handle
    assert publisher.Raise("x") is True
    assert senders == [publisher]


def test_removing_the_same_callable_unsubscribes_it(publisher: Any) -> None:
    seen: list[int] = []
    handler = seen.append
    publisher.Ticked += handler
    assert publisher.TickedHandlerCount == 1
    publisher.Ticked -= handler
    assert publisher.TickedHandlerCount == 0
    publisher.Tick(1)
    assert seen == []


def test_removing_a_never_added_callable_changes_nothing(publisher: Any) -> None:
    publisher.Ticked += print
    publisher.Ticked -= len
    assert publisher.TickedHandlerCount == 1


def test_several_handlers_are_each_called_once(publisher: Any) -> None:
    calls: list[str] = []
    publisher.Ticked += lambda v: calls.append(f"a{v}")
    publisher.Ticked += lambda v: calls.append(f"b{v}")
    publisher.Ticked += lambda v: calls.append(f"c{v}")
    assert publisher.TickedHandlerCount == 3
    publisher.Tick(7)
    assert sorted(calls) == ["a7", "b7", "c7"]


def test_same_callable_added_twice_is_called_twice_and_removed_one_at_a_time(publisher: Any) -> None:
    calls: list[int] = []
    handler = calls.append
    publisher.Ticked += handler
    publisher.Ticked += handler
    publisher.Tick(1)
    assert calls == [1, 1]
    publisher.Ticked -= handler
    assert publisher.TickedHandlerCount == 1


def test_static_event_subscribe_raise_and_remove(static_publisher: Any) -> None:
    calls: list[Any] = []

    def handler(sender: Any, args: Any) -> None:
        calls.append(sender)

    static_publisher.StaticChanged += handler
    assert static_publisher.StaticChangedHandlerCount == 1
    static_publisher.RaiseStatic()
    assert calls == [None]
    static_publisher.StaticChanged -= handler
    assert static_publisher.StaticChangedHandlerCount == 0


def test_event_raised_on_another_thread_calls_the_handler(publisher: Any) -> None:
    seen: list[str] = []
    publisher.Message += lambda sender, args: seen.append(args.Text)
    publisher.RaiseFromThread("threaded")
    assert seen == ["threaded"]


def test_event_raised_on_the_thread_pool_calls_the_handler_every_time(publisher: Any) -> None:
    seen: list[int] = []
    publisher.Ticked += seen.append
    publisher.TickOnPool(200)
    assert sorted(seen) == list(range(200))


def test_handlers_on_two_objects_are_independent(fixtures: Any) -> None:
    from Fixtures.Events import Publisher

    a, b = Publisher(), Publisher()
    handler = print
    a.Ticked += handler
    b.Ticked += handler
    a.Ticked -= handler
    assert (a.TickedHandlerCount, b.TickedHandlerCount) == (0, 1)


def test_event_cannot_be_assigned(publisher: Any) -> None:
    with pytest.raises(AttributeError):
        publisher.Ticked = print


def test_handler_is_let_go_when_dotnet_collects_the_publisher(fixtures: Any) -> None:
    import weakref

    from Fixtures.Events import Publisher

    def subscribe() -> weakref.ref[Any]:
        publisher = Publisher()

        def handler(value: int) -> None:
            pass

        publisher.Ticked += handler
        publisher.Tick(1)
        return weakref.ref(handler)

    ref = subscribe()
    fixtures.collect()
    assert ref() is None


def test_handler_stays_subscribed_while_the_publisher_lives(fixtures: Any) -> None:
    from Fixtures.Events import Publisher

    publisher = Publisher()
    seen: list[int] = []

    def subscribe() -> None:
        publisher.Ticked += lambda v: seen.append(v)

    subscribe()
    fixtures.collect()
    publisher.Tick(5)
    assert seen == [5]


def test_a_bound_dotnet_method_handler_is_removed_by_the_same_method_of_the_same_object(fixtures: Any) -> None:
    # As in C# (pub.Ticked -= numbers.Add): each numbers.Add is a new bound object, but the
    # method and its object name the handler.
    from Fixtures.Events import Publisher  # type: ignore[import-not-found]  # a .NET namespace
    from System.Collections.Generic import List  # type: ignore[import-not-found]

    pub, numbers, others = Publisher(), List[int](), List[int]()
    pub.Ticked += numbers.Add
    pub.Ticked += others.Add
    pub.Tick(5)
    pub.Ticked -= numbers.Add
    pub.Tick(6)
    assert list(numbers) == [5] and list(others) == [5, 6] and pub.TickedHandlerCount == 1
    pub.Ticked -= others.Add
    assert pub.TickedHandlerCount == 0
