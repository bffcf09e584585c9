"""Interpreter exit while .NET is calling Python: every case exits with its intended code,
no signal, no "Fatal Python error". Each test runs a fresh interpreter."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import assert_clean_exit, run_python

PRELUDE = """
import os, sys, threading, time
import pyclrbridge
clr = pyclrbridge.load()
clr.add_reference(os.environ["FIXTURES_DLL"])
from Fixtures.Delegates import Invoker
"""


def _run(body: str, fixtures_dll: Path) -> subprocess.CompletedProcess[str]:
    return run_python(PRELUDE + body, fixtures_dll=fixtures_dll, timeout=60)


def test_exit_while_a_timer_keeps_calling_python(fixtures_dll: Path) -> None:
    proc = _run(
        """
hits = []
timer = Invoker.Timer(lambda: hits.append(1), 1)
while len(hits) < 50:
    time.sleep(0.005)
print("exiting with", len(hits) > 0)
""",
        fixtures_dll,
    )
    assert_clean_exit(proc)
    assert "exiting with True" in proc.stdout


def test_exit_while_four_dotnet_threads_are_inside_python_callbacks(fixtures_dll: Path) -> None:
    proc = _run(
        """
inside = threading.Semaphore(0)

def work():
    inside.release()
    time.sleep(0.02)

runner = threading.Thread(target=Invoker.CallOnThreads, args=(work, 4, 10_000_000), daemon=True)
runner.start()
for _ in range(8):
    inside.acquire()
print("exiting")
""",
        fixtures_dll,
    )
    assert_clean_exit(proc)
    assert "exiting" in proc.stdout


def test_exit_with_a_hundred_thousand_live_proxies(fixtures_dll: Path) -> None:
    proc = _run(
        """
from System import Object
keep = [Object() for _ in range(100_000)]
print(clr.stats()["live_handles"] >= 100_000)
""",
        fixtures_dll,
    )
    assert_clean_exit(proc)
    assert "True" in proc.stdout


def test_sys_exit_inside_a_callback_exits_with_its_code(fixtures_dll: Path) -> None:
    proc = _run(
        """
Invoker.CallAction(lambda: sys.exit(3))
print("not reached")
""",
        fixtures_dll,
    )
    assert_clean_exit(proc, 3)
    assert "not reached" not in proc.stdout


def test_finalizers_after_shutdown_free_no_handles(fixtures_dll: Path) -> None:
    proc = _run(
        """
import gc
from System.Text import StringBuilder
from pyclrbridge.host import bridge as _bridge
items = [StringBuilder() for _ in range(100)]
before = _bridge.stats()["handles_freed"]
clr.shutdown()
del items
gc.collect()
print("freed after shutdown:", _bridge.stats()["handles_freed"] - before)
""",
        fixtures_dll,
    )
    assert_clean_exit(proc)
    assert "freed after shutdown: 0" in proc.stdout


def test_callback_with_a_result_after_shutdown_is_refused_in_dotnet(fixtures_dll: Path) -> None:
    proc = _run(
        """
from Fixtures.Exceptions import Thrower
calls = []
clr.shutdown()
print("void:", Thrower.Catch(lambda: calls.append(1)), calls)
try:
    Invoker.CallFunc(lambda: 1)
except Exception as e:
    print("refused:", "shut down" in str(e))
""",
        fixtures_dll,
    )
    assert_clean_exit(proc)
    assert "void: none []" in proc.stdout
    assert "refused: True" in proc.stdout


def test_exit_while_dotnet_threads_call_python_overrides(fixtures_dll: Path) -> None:
    proc = _run(
        """
from Fixtures.Inheritance import Consumers, ICalculator

class Slow(ICalculator):
    def Compute(self, x):
        time.sleep(0.005)
        return x

calc = Slow()
calls = threading.Semaphore(0)

def work():
    Consumers.RunCalculator(calc, 1)
    calls.release()

runner = threading.Thread(target=Invoker.CallOnThreads, args=(work, 4, 10_000_000), daemon=True)
runner.start()
for _ in range(20):
    calls.acquire()
print("exiting")
""",
        fixtures_dll,
    )
    assert_clean_exit(proc)
    assert "exiting" in proc.stdout


def test_exit_after_an_explicit_shutdown_parks_a_thread_still_inside_a_releasing_call(fixtures_dll: Path) -> None:
    # The exit after Runtime.shutdown() still marks the exit in the shim: the thread whose .NET
    # call (a releasing native member, sleeping) ends during the exit parks instead of taking the
    # GIL back. An atexit handler registered before load() runs after pyclrbridge's and waits.
    proc = run_python(
        """
import atexit, os, threading, time
import pyclrbridge

def late():
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and clr.stats()["releasing_parked"] == 0:
        time.sleep(0.02)
    print("parked:", clr.stats()["releasing_parked"], flush=True)

atexit.register(late)
clr = pyclrbridge.load()
clr.add_reference(os.environ["FIXTURES_DLL"])
from Fixtures.FastPath import Releasing

r = Releasing()
r.Number = 1
r.Number  # the first read makes the native member
print("native:", type(Releasing.__dict__["Number"]).__name__ == "NativeMember")
r.DelayMs = 1000
inside = threading.Thread(target=lambda: r.Number, daemon=True)
inside.start()
time.sleep(0.3)
clr.shutdown()
print("exiting", flush=True)
""",
        fixtures_dll=fixtures_dll,
        timeout=60,
    )
    assert_clean_exit(proc)
    assert "native: True" in proc.stdout
    assert "exiting" in proc.stdout
    assert "parked: 1" in proc.stdout
