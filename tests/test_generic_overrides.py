"""Python classes implementing interfaces with generic methods and overriding generic virtual
methods (the shape of Microsoft.Extensions.Logging's ILogger: ``Log<TState>``,
``BeginScope<TState>``), called from .NET with several type arguments."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


def _recording_log() -> tuple[Any, list[tuple[int, str]], list[Any]]:
    from Fixtures.OverloadShapes import ILog

    records: list[tuple[int, str]] = []
    scopes: list[Any] = []

    class Recorder(ILog):
        def Log(self, level: int, state: Any, exception: Any, formatter: Any) -> None:
            records.append((level, formatter(state, exception)))

        def IsEnabled(self, level: int) -> bool:
            return True

        def BeginScope(self, state: Any) -> None:
            scopes.append(dict(state))

    return Recorder(), records, scopes


def test_a_python_class_implements_an_interface_with_generic_methods() -> None:
    from Fixtures.OverloadShapes import LogUser

    log, records, _ = _recording_log()
    assert LogUser.Write(log, "bob") == "written"
    assert records == [(2, "hello bob"), (4, "number 42: boom")]


def test_a_generic_interface_method_receives_its_typed_state() -> None:
    from Fixtures.OverloadShapes import LogUser

    log, _, scopes = _recording_log()
    LogUser.Write(log, "ann")
    assert scopes == [{"scope": "ann"}]


def test_a_python_class_overrides_a_generic_virtual_method_and_reaches_super() -> None:
    from Fixtures.OverloadShapes import LogUser, Visitor

    class Loud(Visitor):
        def Visit(self, item: Any) -> str:
            return "py " + super().Visit(item)

    assert LogUser.Visit(Loud()) == "py base 3|py base x|7"


def test_a_generic_override_result_is_converted_to_the_instantiated_type() -> None:
    from Fixtures.OverloadShapes import LogUser, Visitor

    class Doubler(Visitor):
        def Echo(self, item: Any) -> Any:
            return item * 2

    assert LogUser.Visit(Doubler()) == "base 3|base x|14"


def test_a_generic_override_result_of_the_wrong_type_raises_a_clear_error() -> None:
    from Fixtures.OverloadShapes import LogUser, Visitor

    class Wrong(Visitor):
        def Echo(self, item: Any) -> Any:
            return "not an int"

    with pytest.raises(TypeError, match=r"a str cannot be passed as System.Int32"):
        LogUser.Visit(Wrong())
