"""Which calls keep the GIL, and that keeping it never deadlocks.

A call into .NET that cannot wait for another thread keeps the GIL (no convoy of threads
handing it over at every short call); every call that may wait releases it, so a .NET thread
that calls Python meanwhile always gets it. The shim decides per member by reading its code.
"""

from __future__ import annotations

import sys
import sysconfig
import threading
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python
from pyclrbridge.host import bridge


def _overload(group: Any, sig: str) -> int:
    return next(o.id for o in group.overloads_list if o.sig == sig)


def test_plain_framework_members_are_short(clr: Any) -> None:
    from System import Math
    from System.Collections.Generic import List
    from System.Text import StringBuilder

    assert bridge.is_short(_overload(Math.Abs, "static Int32 Abs(Int32 value)"))
    assert bridge.is_short(List[int].Add.overloads_list[0].id)
    assert bridge.is_short(_overload(StringBuilder.Append, "StringBuilder Append(String value)"))
    assert bridge.is_short(List[int].__dict__["Count"]._get)


@pytest.mark.parametrize(
    ("type_name", "method", "word"),
    [
        ("System.Threading.Tasks.Task", "Wait", "System.Threading.Tasks.Task"),
        ("System.Threading.Thread", "Sleep", "System.Threading.Thread"),
        ("System.Threading.Monitor", "Enter", "System.Threading.Monitor"),
        ("System.Console", "WriteLine", "System.Console"),
    ],
)
def test_members_that_may_wait_release_the_gil_and_say_why(clr: Any, type_name: str, method: str, word: str) -> None:
    group = getattr(clr.get_type(type_name), method)
    for ov in group.overloads_list:
        assert not bridge.is_short(ov.id), ov.sig
        assert word in bridge.short_reason(ov.id), ov.sig


def test_a_member_taking_a_lock_is_not_short(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    member = Shapes.Locked.overloads_list[0].id
    assert not bridge.is_short(member)
    assert "System.Threading.Monitor.Enter" in bridge.short_reason(member)


def test_fixture_plain_members_and_fields_are_short(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    assert bridge.is_short(Shapes.Plain.overloads_list[0].id)
    assert bridge.is_short(Shapes.__dict__["Counted"]._get)
    assert bridge.is_short(Shapes.__dict__["Counted"]._set)
    assert bridge.is_short(Shapes.__dict__["Count"]._get, 0)
    assert bridge.short_reason(Shapes.Plain.overloads_list[0].id) == ""


def test_a_virtual_member_of_an_open_class_is_not_short(fixtures: Any) -> None:
    from Fixtures.Gil import Open

    member = Open.Virtual.overloads_list[0].id
    assert not bridge.is_short(member)
    assert "override" in bridge.short_reason(member)


def test_str_and_hash_give_the_same_answers_on_the_held_path(clr: Any) -> None:
    from System import Version
    from System.Text import StringBuilder

    sb = StringBuilder()
    sb.Append("abc")
    assert str(sb) == "abc" == sb.ToString()
    v = Version(1, 2, 3)
    assert hash(v) == v.GetHashCode() and str(v) == "1.2.3"


# ---- no deadlock: .NET waits for a thread that calls Python -------------------------------


def test_dotnet_waiting_for_a_pool_thread_that_calls_python(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    assert Shapes.WaitForPoolThread(lambda: 41 + 1) == 42


def test_dotnet_joining_a_thread_that_calls_python(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    assert Shapes.JoinThread(lambda: 7) == 7


def test_dotnet_holding_a_lock_while_another_thread_calls_python(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    assert Shapes().HoldWhileOtherThreadCalls(lambda: 5) == 5


def test_a_short_call_on_one_thread_while_another_holds_its_lock_calling_python(fixtures: Any) -> None:
    # The other thread holds the lock until its Python callback returns; the callback waits
    # for this thread's Python code to go on: Locked() must release the GIL while it waits.
    from Fixtures.Gil import Shapes

    shapes = Shapes()
    go_on = threading.Event()

    def callback() -> int:
        go_on.wait(30)
        return 9

    holder = shapes.HoldLockOnAnotherThread(callback)
    t = threading.Timer(0.05, go_on.set)  # Python work that needs the GIL while Locked() waits
    t.start()
    assert shapes.Locked() == 9
    holder.Join()
    t.join()


def test_dotnet_spinning_until_a_python_thread_sets_a_flag(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes

    flag = Shapes.NewFlag()
    t = threading.Timer(0.05, Shapes.Raise, args=(flag,))
    t.start()
    assert Shapes.SpinUntil(flag, 30_000)
    t.join()


def test_many_threads_mixing_short_and_waiting_calls_finish(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes
    from System.Text import StringBuilder

    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(200):
                sb = StringBuilder()
                sb.Append(str(i))
                assert str(sb) == str(i)
                if i % 50 == 0:
                    assert Shapes.WaitForPoolThread(lambda: k) == k
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_hold_gil_off_releases_for_every_call(fixtures_dll: Any) -> None:
    proc = run_python(
        """
        import pyclrbridge
        pyclrbridge.load()
        from pyclrbridge.host import bridge
        from System import Math
        print(any(bridge.is_short(o.id) for o in Math.Abs.overloads_list))
    """,
        env={"PYCLRBRIDGE_HOLD_GIL": "0"},
    )
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "False"


@pytest.mark.skipif(
    not sysconfig.get_config_var("Py_GIL_DISABLED"),
    reason="a free-threaded CPython build is needed to check that the GIL stays off",
)
def test_free_threaded_build_keeps_the_gil_disabled(fixtures: Any) -> None:
    from Fixtures.Gil import Shapes
    from System import Math
    from System.Text import StringBuilder

    assert not sys._is_gil_enabled()  # type: ignore[attr-defined]
    Math.Abs(-5)
    StringBuilder().Append("x")
    Shapes.WaitForPoolThread(lambda: 1)
    Shapes.JoinThread(lambda: 2)
    assert not sys._is_gil_enabled()  # type: ignore[attr-defined]
