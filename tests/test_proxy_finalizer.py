"""The proxies' finalizer: ``ClrObject.__del__`` is a C function CPython calls with the dying
proxy (a method descriptor the shim makes), freeing its handle exactly once, on any thread, with
no Python code on the way and nothing reported for a proxy whose slot was never set."""

from __future__ import annotations

import ctypes
import sys
from typing import Any

import pytest

from pyclrbridge.proxies.base import ClrObject
from pyclrbridge.testing import run_concurrently

pytestmark = pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="the native finalizer needs 64-bit handles")


def _freed(clr: Any) -> tuple[int, int, int]:
    stats = clr.stats()
    return stats["handles_freed"], stats["refused_frees"], stats["live_handles"]


def test_the_finalizer_is_a_method_of_clrobject_not_a_ctypes_call(fixtures: Any) -> None:
    finalizer = ClrObject.__dict__["__del__"]
    assert type(finalizer).__name__ == "method_descriptor"
    assert finalizer.__name__ == "__del__"
    assert finalizer.__objclass__ is ClrObject


def test_dropped_proxies_free_one_handle_each(fixtures: Any) -> None:
    from System.Text import StringBuilder

    freed, refused, live = _freed(fixtures)
    for _ in range(500):
        StringBuilder()  # a new proxy, dropped at once
    after = _freed(fixtures)
    assert after[0] - freed == 500
    assert after[1] == refused
    assert after[2] == live


def test_proxies_dying_on_many_threads_free_every_handle_once(fixtures: Any) -> None:
    from System.Text import StringBuilder

    freed, refused, live = _freed(fixtures)

    def work() -> None:
        for _ in range(300):
            StringBuilder().Append("y").ToString()  # one proxy dies per round (Append returns it)

    run_concurrently(work, 8)  # raises the first thread's failure
    after = _freed(fixtures)
    assert after[0] - freed == 8 * 300
    assert after[1] == refused
    assert after[2] == live


def test_a_proxy_whose_slot_was_never_set_dies_silently(fixtures: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from System.Text import StringBuilder

    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    freed, refused, _ = _freed(fixtures)
    empty = object.__new__(StringBuilder)  # as a signal between allocation and the slot's store leaves it
    del empty
    assert reported == []
    assert _freed(fixtures)[:2] == (freed, refused)


def test_calling_the_finalizer_on_something_else_is_a_clear_type_error(fixtures: Any) -> None:
    with pytest.raises(TypeError, match=r"__del__.*ClrObject"):
        ClrObject.__dict__["__del__"](5)


def test_an_explicit_del_call_frees_once_and_the_later_death_frees_nothing(fixtures: Any) -> None:
    from System.Text import StringBuilder

    sb = StringBuilder()
    freed, refused, _ = _freed(fixtures)
    sb.__del__()
    assert _freed(fixtures)[:2] == (freed + 1, refused)
    with pytest.raises(Exception, match="released"):
        sb.Append("x")
    mid = _freed(fixtures)  # (the exception's own proxy came and went)
    del sb  # the slot still holds the freed handle: .NET refuses the second free, nothing else
    after = _freed(fixtures)
    assert after[0] == mid[0]
    assert after[1] == mid[1] + 1
