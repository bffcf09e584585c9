"""pythonnet's convention for Python callables behind delegates, and Python methods overriding
.NET ones, with ``out`` parameters under ``pyclrbridge.compat``: a placeholder argument (None)
for each ``out`` parameter; the callable returns the out values (after the result, if any). A
callable written for pyclrbridge's own convention (input arguments only) works unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def compat_clr(fixtures: Any) -> Iterator[Any]:
    from pyclrbridge import compat

    yield compat


def test_out_parameter_gets_a_placeholder_argument(compat_clr: Any) -> None:
    from Fixtures.Delegates import Invoker, TryConvert  # type: ignore[import-not-found]  # a .NET namespace

    seen: list[Any] = []

    def pythonnet_style(s: str, placeholder: Any) -> Any:
        seen.append(placeholder)
        return True, int(s) * 2

    assert Invoker.RunTry(TryConvert(pythonnet_style), "21") == "True:42"
    assert seen == [None]


def test_a_callable_for_the_native_convention_is_unchanged(compat_clr: Any) -> None:
    from Fixtures.Delegates import Invoker, TryConvert  # type: ignore[import-not-found]

    assert Invoker.RunTry(TryConvert(lambda s: (True, int(s) + 1)), "41") == "True:42"
    assert Invoker.RunTry(TryConvert(lambda *args: (len(args) == 1, 7)), "x") == "True:7"  # *args: native


def test_a_callable_passed_straight_to_a_method_gets_placeholders_too(compat_clr: Any) -> None:
    # pythonnet code passes the callable itself, not TryConvert(fn), to a delegate parameter.
    from Fixtures.Delegates import Invoker  # type: ignore[import-not-found]  # a .NET namespace

    seen: list[Any] = []

    def pythonnet_style(s: str, placeholder: Any) -> Any:
        seen.append(placeholder)
        return True, int(s) * 2

    assert Invoker.RunTry(pythonnet_style, "21") == "True:42"
    assert seen == [None]
    assert Invoker.RunTry(lambda s: (True, int(s) + 1), "41") == "True:42"  # native convention


def test_a_python_override_with_an_out_parameter_gets_a_placeholder(compat_clr: Any) -> None:
    from Fixtures.CompatViews import Finders, IFinder  # type: ignore[import-not-found]  # a .NET namespace

    seen: list[Any] = []

    class PythonnetStyle(IFinder):  # type: ignore[misc]  # a .NET interface
        def Find(self, key: str, position: Any) -> Any:
            seen.append(position)
            return key.upper(), len(key)

    class NativeStyle(IFinder):  # type: ignore[misc]  # a .NET interface
        def Find(self, key: str) -> Any:
            return key, 7

    assert Finders.Ask(PythonnetStyle(), "abc") == "ABC@3"
    assert seen == [None]
    assert Finders.Ask(NativeStyle(), "abc") == "abc@7"  # pyclrbridge's convention still works


def test_a_python_override_natively_gets_the_input_arguments_only(fixtures: Any) -> None:
    from Fixtures.CompatViews import Finders, IFinder  # type: ignore[import-not-found]  # a .NET namespace

    class NativeStyle(IFinder):  # type: ignore[misc]  # a .NET interface
        def Find(self, *args: Any) -> Any:
            return "got", len(args)

    assert Finders.Ask(NativeStyle(), "abc") == "got@1"
