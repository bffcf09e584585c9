"""Normal interpreter exit while .NET threads keep calling Python: the process exits cleanly.

After Python has shut down, a .NET thread that enters a Python callback cannot run it. A void
callback is skipped; one that must produce a value makes its thread wait until the process
ends (an exception would end the process with an abort, since a timer or a thread loop has
nobody to catch it). Each case runs many fresh interpreters: the race with exit is narrow
and must be lost by nobody.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import assert_clean_exit, run_python

PRELUDE = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # whatever the parent ignored
import pyclrbridge
clr = pyclrbridge.load()
clr.add_reference(os.environ["FIXTURES_DLL"])
from Fixtures.ThreadCallers import Callers
from System import Action, Func
"""

#: The .NET callers of each case, started before the interpreter exits.
CASES = {
    "value callback on a timer (pool thread)": "keep = [Callers.ValueTimer(Func[int](lambda: 1), 1)]",
    "void callback on a timer (pool thread)": "keep = [Callers.VoidTimer(Action(lambda: None), 1)]",
    "value callback on a foreground thread": "keep = [Callers.ValueLoop(Func[int](lambda: 1))]",
    "void callback on a foreground thread": "keep = [Callers.VoidLoop(Action(lambda: None))]",
    "all four at once, four timers each": """
keep = []
for _ in range(4):
    keep += [Callers.ValueTimer(Func[int](lambda: 1), 1), Callers.VoidTimer(Action(lambda: None), 1)]
keep += [Callers.ValueLoop(Func[int](lambda: 1)), Callers.VoidLoop(Action(lambda: None))]
""",
}

#: Fresh interpreters per case (each exit is one chance for the race to abort the process):
#: 20 for the case that runs all four callers at once, 5 for each alone (before the fix a
#: value callback aborted 9 or 10 exits of 10), which keeps the file near a minute.
RUNS = {"all four at once, four timers each": 20}


@pytest.mark.parametrize("case", list(CASES))
def test_exit_while_dotnet_threads_call_python_is_clean_every_time(case: str, fixtures_dll: Path) -> None:
    runs = RUNS.get(case, 5)
    code = (
        PRELUDE
        + CASES[case]
        + """
deadline = time.monotonic() + 10
while Callers.Calls < 200 and time.monotonic() < deadline:
    time.sleep(0.002)
print("calls before exit:", Callers.Calls > 0)
"""
    )
    failures = []
    for run in range(runs):
        proc = run_python(code, fixtures_dll=fixtures_dll, timeout=60)
        try:
            assert_clean_exit(proc)
            assert "calls before exit: True" in proc.stdout
        except AssertionError as exc:
            failures.append(f"run {run}: {str(exc)[:2000]}")
    assert failures == [], f"{len(failures)} of {runs} exits were not clean:\n" + "\n".join(failures[:3])


def test_after_an_explicit_shutdown_a_value_callback_raises_where_dotnet_can_catch_it(fixtures_dll: Path) -> None:
    """``Runtime.shutdown()`` while the program goes on: no thread parks; .NET code calling a
    value callback gets an ``InvalidOperationException`` it can catch, and the exit is clean."""
    code = (
        PRELUDE
        + """
timer = Callers.CatchingValueTimer(Func[int](lambda: 1), 1)
deadline = time.monotonic() + 10
while Callers.Calls < 20 and time.monotonic() < deadline:
    time.sleep(0.002)
clr.shutdown()
time.sleep(0.5)  # the timer keeps firing: each call is refused with an exception .NET catches
print("done")
"""
    )
    proc = run_python(code, fixtures_dll=fixtures_dll, timeout=60)
    assert_clean_exit(proc)
    assert "done" in proc.stdout
    assert "caught: Python has shut down; the callback was not run" in proc.stdout
