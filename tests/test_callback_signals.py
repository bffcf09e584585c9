"""Signals landing as .NET enters a Python callback (issue 15.1): the exception a handler
raises, even before the callback's own code starts, fails the .NET call with that exception;
.NET never gets an unset value. Each test runs in its own interpreter (signals, Ctrl-C)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import assert_clean_exit, run_python

# A process started in the background (nohup, `&`, some CI runners) inherits SIGINT ignored, and
# Python then installs no handler for it: Ctrl-C and PyErr_SetInterrupt do nothing. Every child
# that expects a KeyboardInterrupt sets the handler itself first (issue 25.7); each such test
# also runs a child started with SIGINT ignored, whatever the way pytest itself was started.
_CTRL_C = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
_STARTS = {
    "as-started": "",
    "sigint-ignored": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n",
}


def _child(code: str, start: str) -> str:
    """The code of a child that expects Ctrl-C, started as ``start`` says."""
    return _STARTS[start] + _CTRL_C + textwrap.dedent(code)


# The fixture makes the interrupt pending right before it calls the callback, so the
# KeyboardInterrupt is raised at the callback's entry, ahead of every try: in the bridge.
_AT_ENTRY = """
    import ctypes, os
    import pyclrbridge
    clr = pyclrbridge.load()
    clr.add_reference(os.environ["FIXTURES_DLL"])
    from Fixtures.ExceptionRoundTrip import Entry
    interrupt = ctypes.cast(ctypes.pythonapi.PyErr_SetInterrupt, ctypes.c_void_p).value
    ran = []
    try:
        result = Entry.{method}(interrupt, lambda: ran.append(1) or {value})
    except KeyboardInterrupt:
        print("KeyboardInterrupt", ran)
    else:
        print("returned", repr(result), ran)
"""


@pytest.mark.parametrize("start", sorted(_STARTS))
@pytest.mark.parametrize(
    ("method", "value"),
    [
        ("InterruptThenCall", "5"),  # Func<int>: a typed thunk
        ("InterruptThenCallGeneric", "'x'"),  # Func<string>: the generic dispatcher
        ("InterruptThenAct", "None"),  # Action: a void typed thunk
    ],
)
def test_interrupt_at_callback_entry_raises_keyboard_interrupt_in_the_caller(
    fixtures_dll: Path, method: str, value: str, start: str
) -> None:
    proc = run_python(_child(_AT_ENTRY.format(method=method, value=value), start), fixtures_dll=fixtures_dll)
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "KeyboardInterrupt []"
    assert "Exception ignored" not in proc.stderr


def test_alarm_during_convert_all_surfaces_every_time_and_values_are_never_garbage() -> None:
    proc = run_python("""
        import signal
        import pyclrbridge
        pyclrbridge.load()
        from System import Converter, Int32
        from System.Collections.Generic import List

        def on_alarm(*_):
            raise TimeoutError()

        signal.signal(signal.SIGALRM, on_alarm)
        xs = List[Int32]([0] * 50_000)
        surfaced = garbage = 0
        for trial in range(30):
            signal.setitimer(signal.ITIMER_REAL, 0.001 + trial * 0.0003)
            try:
                ys = xs.ConvertAll[Int32](Converter[Int32, Int32](lambda x: 1))
                signal.setitimer(signal.ITIMER_REAL, 0)
                garbage += any(v != 1 for v in ys)
            except TimeoutError:
                surfaced += 1
            signal.setitimer(signal.ITIMER_REAL, 0)
        print(surfaced, garbage)
    """)
    assert_clean_exit(proc)
    surfaced, garbage = map(int, proc.stdout.split())
    assert garbage == 0
    assert surfaced > 0
    assert "Exception ignored" not in proc.stderr


@pytest.mark.parametrize("start", sorted(_STARTS))
def test_ctrl_c_during_sort_with_a_python_comparer_raises_keyboard_interrupt(start: str) -> None:
    proc = run_python(
        _child(
            """
        import os, signal, threading
        import pyclrbridge
        pyclrbridge.load()
        from System.Collections.Generic import List

        xs = List[int](list(range(200_000, 0, -1)))
        outcomes = []
        for _ in range(5):
            try:  # start() waits for the timer's thread: on a busy machine it may fire meanwhile
                threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
                xs.Sort(lambda a, b: (a > b) - (a < b))
                xs.Reverse()
                outcomes.append("finished")
            except KeyboardInterrupt:
                outcomes.append("interrupted")
        print(" ".join(outcomes))
    """,
            start,
        )
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["interrupted"] * 5
    assert "Exception ignored" not in proc.stderr


def test_the_stress_signal_workload_finds_no_garbage_values() -> None:
    # The callback phase only: there every alarm must surface as the handler's exception. The
    # class-building phase (tests/test_signal_locks.py) lets alarms land in weakref callbacks,
    # which CPython reports as "Exception ignored" by design.
    proc = run_python("""
        import pyclrbridge
        from pyclrbridge.stress import Workload
        print(Workload(pyclrbridge.load()).signals(40, build=False))
    """)
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "40"
    assert "Exception ignored" not in proc.stderr


def test_signals_while_making_delegates_leak_neither_callables_nor_handles() -> None:
    # The alarm lands anywhere in "make a Converter for a lambda, let .NET call it": also after
    # .NET made the delegate but before its proxy existed, which used to keep the lambda and
    # the delegate alive for ever (a registration and a handle nobody owned).
    proc = run_python("""
        import gc, signal
        import pyclrbridge
        clr = pyclrbridge.load()
        from System import Converter, Int32
        from System.Collections.Generic import List
        xs = List[Int32]([0] * 20_000)
        armed = [False]
        def on_alarm(*_):
            if armed[0]:
                raise TimeoutError
        signal.signal(signal.SIGALRM, on_alarm)
        clr.collect()
        before = clr.stats()
        surfaced = 0
        for trial in range(300):
            try:
                try:
                    armed[0] = True
                    signal.setitimer(signal.ITIMER_REAL, 0.0005 + 0.0002 * (trial % 10))
                    xs.ConvertAll[Int32](Converter[Int32, Int32](lambda x: 1))
                finally:
                    armed[0] = False
                    signal.setitimer(signal.ITIMER_REAL, 0)
            except TimeoutError:
                surfaced += 1
        gc.collect(); clr.collect(); gc.collect(); clr.collect()
        after = clr.stats()
        print(surfaced > 0, after["python_objects_held"] - before["python_objects_held"],
              after["live_handles"] - before["live_handles"], after["refused_frees"] - before["refused_frees"])
    """)
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["True", "0", "0", "0"]
