"""pyclrbridge runs in the main interpreter only, and a subinterpreter elsewhere in the process
does not disturb it.

``load()`` in a subinterpreter refuses with a RuntimeError that says why (.NET threads enter
Python through the PyGILState API, which knows only the main interpreter; one .NET runtime per
process). A subinterpreter that other code creates makes ``PyGILState_Check`` answer 1 on every
thread; held sections ask for the thread's attached thread state instead, so one that runs
without the GIL (a held export called releasing it) never releases a GIL it does not hold.
Each case runs in a fresh process: the subinterpreter is process-wide state.
"""

from __future__ import annotations

import importlib.util

import pytest

from conftest import assert_clean_exit, run_python

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("_interpreters") is None and importlib.util.find_spec("_xxsubinterpreters") is None,
    reason="this CPython has no _interpreters (3.13+) or _xxsubinterpreters module to create a subinterpreter",
)

#: Defines new_interpreter() and run(interp, code), on every CPython that has the module.
_SUBINTERPRETERS = """
try:
    import _interpreters as interpreters  # 3.13+
except ImportError:
    import _xxsubinterpreters as interpreters

def new_interpreter():
    try:
        return interpreters.create("legacy")  # 3.13+: a config by name
    except TypeError:
        pass
    try:
        return interpreters.create(isolated=False)  # 3.12 (an isolated one cannot load ctypes)
    except TypeError:
        return interpreters.create()  # 3.11

def run(interp, code):
    failed = interpreters.run_string(interp, code)  # 3.11, 3.12 raise instead
    assert failed is None, failed
"""


def test_load_in_a_subinterpreter_refuses_and_says_why() -> None:
    proc = run_python(
        _SUBINTERPRETERS
        + """
run(new_interpreter(), '''
import sys
import pyclrbridge
try:
    pyclrbridge.load()
except RuntimeError as e:
    print("REFUSED", e)
else:
    print("LOADED")
sys.stdout.flush()
''')
import pyclrbridge  # the main interpreter still loads, after the refusal
clr = pyclrbridge.load()
from System import Math
print("MAIN", Math.Abs(-5))
"""
    )
    assert_clean_exit(proc)
    assert "LOADED" not in proc.stdout, proc.stdout
    refusal = next(line for line in proc.stdout.splitlines() if line.startswith("REFUSED "))
    assert "subinterpreter" in refusal and "main interpreter" in refusal and "PyGILState" in refusal, refusal
    assert "MAIN 5" in proc.stdout, proc.stdout


@pytest.mark.parametrize("hold", ["1", "0"])
def test_a_held_helper_that_throws_after_a_subinterpreter_was_created_keeps_the_process(hold: str) -> None:
    # ArrayLength of a handle that is not live throws inside a held section. With
    # PYCLRBRIDGE_HOLD_GIL=0 the export runs with the GIL released, and the bridge's handler
    # must not release it again (PyGILState_Check answered 1 here: "Fatal Python error:
    # PyEval_SaveThread"); with the GIL held, the handler releases it and the call takes it back.
    proc = run_python(
        _SUBINTERPRETERS
        + """
import ctypes
import pyclrbridge
clr = pyclrbridge.load()
from pyclrbridge.host import bridge
run(new_interpreter(), "x = 1")  # a subinterpreter exists from here on
n, error = ctypes.c_int64(), bridge.Value()
for _ in range(3):
    print("RC", bridge.shim().ArrayLength(10**12, ctypes.byref(n), ctypes.byref(error)))
from System import Math
print("AFTER", Math.Abs(-7))
""",
        env={"PYCLRBRIDGE_HOLD_GIL": hold},
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["RC", "1", "RC", "1", "RC", "1", "AFTER", "7"], proc.stdout + proc.stderr
