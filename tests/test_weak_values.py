"""host.weakvalues.WeakValues: weak values whose entries die with no Python code running, so a
signal cannot interrupt an entry's removal (CPython would print "Exception ignored")."""

from __future__ import annotations

import gc
import signal
import threading

import pytest

from conftest import assert_clean_exit, run_python
from pyclrbridge.host.weakvalues import WeakValues


class _Value:
    pass


def test_an_entry_goes_with_its_value() -> None:
    m: WeakValues[_Value] = WeakValues()
    v = _Value()
    m.set(1, v)
    assert m.get(1) is v
    assert len(m) == 1
    del v
    gc.collect()
    assert m.get(1) is None
    assert len(m) == 0


def test_a_replaced_entry_survives_the_death_of_the_value_it_replaced() -> None:
    m: WeakValues[_Value] = WeakValues()
    old, new = _Value(), _Value()
    m.set("k", old)
    m.set("k", new)
    del old
    gc.collect()
    assert m.get("k") is new
    assert len(m) == 1


def test_values_dying_on_other_threads_are_dropped_at_the_next_write() -> None:
    m: WeakValues[_Value] = WeakValues()
    lock = threading.Lock()  # the owner's lock, as the bridge's maps have

    def work(k: int) -> None:
        for i in range(2000):
            v = _Value()
            with lock:
                m.set((k, i), v)
            del v  # dies on this thread: its reference is appended to the dead list

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gc.collect()
    with lock:
        assert len(m) == 0


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX signals")
def test_alarms_while_dotnet_exceptions_die_report_nothing() -> None:
    """Each caught .NET exception's Python object is in the exception identity map and dies at
    the next round; an alarm every millisecond for 3 s raises in the handler wherever the main thread is."""
    proc = run_python(
        """
        import signal, time
        import pyclrbridge
        pyclrbridge.load()
        from System import Int32

        class Alarm(Exception):
            pass

        def on_alarm(*_):
            raise Alarm

        def work():
            for _ in range(50):
                try:
                    Int32.Parse("not a number")
                except ValueError:
                    pass

        work()
        deadline = time.monotonic() + 3
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)

        def rounds():
            while time.monotonic() < deadline:
                try:
                    work()
                except Alarm:
                    pass

        while True:  # an alarm can land anywhere, also outside the inner try: go on
            try:
                rounds()
                break
            except Alarm:
                pass
        while True:
            try:
                signal.setitimer(signal.ITIMER_REAL, 0, 0)
                break
            except Alarm:
                pass
        print("ok")
        """,
        timeout=300,
    )
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "ok"
    assert "Exception ignored" not in proc.stderr, proc.stderr[-3000:]
