"""Signals stepped through every check of a path: no registration is left without an owner.

tests/test_signal_handles.py fires a timer and counts on chance to land a signal in a window;
here the windows are small and their paths rare (a typed thunk is made once per delegate shape),
so the handler walks them instead: while armed it raises ``SIGALRM`` again as its last action,
so it runs at *every* signal check CPython makes, counts them, and raises ``KeyboardInterrupt``
at a chosen one (a ``BaseException``: the typed-thunk maker swallows an ``Exception`` and falls
back to the generic path) and again at a chosen later one, inside whatever clean-up the first
started. Each (first, second) pair is one trial; afterwards no Python object may still be
registered for .NET and no handle may be left.
"""

from __future__ import annotations

import signal

import pytest

from conftest import assert_clean_exit, run_python

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX signals")

_HARNESS = """
import ctypes, gc, signal, sys
import pyclrbridge
clr = pyclrbridge.load()
import System
from System import Func

class _Signal(int):
    # An attribute read whose getter is C's raise(): the signal is pending for the next check,
    # with no check of its own before the handler's next statement.
    again = property(ctypes.CDLL(None)["raise"])

ALARM = _Signal(signal.SIGALRM)
# armed, checks counted in FIRST_IN frames (phase 1) or SECOND_IN frames (phase 2), first, second
st = {{"armed": False, "phase": 1, "n": 0, "first": 0, "second": 0, "raised": 0}}
FIRST_IN = {first_in!r}
SECOND_IN = {second_in!r}
SKIP_IN = {skip_in!r}  # functions of those files whose checks are not counted (a known window elsewhere)

def on_alarm(signum, frame):
    if not st["armed"]:
        return
    if st["phase"] == 1:
        if frame is None or not frame.f_code.co_filename.endswith(FIRST_IN) or frame.f_code.co_name in SKIP_IN:
            ALARM.again
            return
        st["n"] += 1
        if st["n"] == st["first"]:
            st["phase"] = 2
            st["n"] = 0
            st["raised"] += 1
            exc = KeyboardInterrupt("first")
            ALARM.again
            raise exc
        ALARM.again
        return
    if frame is None or not frame.f_code.co_filename.endswith(SECOND_IN) or frame.f_code.co_name in SKIP_IN:
        ALARM.again
        return
    st["n"] += 1
    if st["n"] == st["second"]:
        st["armed"] = False
        st["raised"] += 1
        raise KeyboardInterrupt("second")
    ALARM.again

signal.signal(signal.SIGALRM, on_alarm)

def trial(first, second, work):
    st.update(armed=True, phase=1, n=0, first=first, second=second)
    try:
        ALARM.again
        work()
        st["armed"] = False
        return "done"
    except BaseException as e:
        st["armed"] = False
        if isinstance(e, KeyboardInterrupt):
            return "interrupted"
        if "could not be reported" in str(e):  # see tests/test_signal_handles.py _ENTRY_WINDOW
            return "unreported"
        raise
    finally:
        st["armed"] = False

def counts():
    gc.collect(); clr.collect()
    s = clr.stats()
    return s["live_handles"], s["python_registry"], s["python_objects_held"]
"""

_MAKER = """
from pyclrbridge.callbacks import typed
P = [System.Int32, System.Int64, System.Double, System.Single, System.Int16, System.UInt16,
     System.Byte, System.SByte, System.UInt32, System.UInt64, System.Boolean, System.Char]
shapes = iter([(a, b, r) for a in P for b in P for r in P])
Func[System.Int32, System.Int32](lambda x: x)  # warm up the delegate path itself
before = counts()
outcomes = {{}}
current = [next(shapes)]
for first in range(1, {firsts}):
    for second in range(1, {seconds}):
        a, b, r = current[0]
        out = trial(first, second, lambda: Func[a, b, r](lambda x, y: 0))
        outcomes[out] = outcomes.get(out, 0) + 1
        if out == "done":  # this shape's thunk is made: the next trial needs a new one
            current[0] = next(shapes)
after = counts()
print("outcomes", sorted(outcomes.items()))
print("leaked", *(y - x for x, y in zip(before, after)))
"""

_RESULT = """
from System import Object
class Held:  # the Python objects the callback hands to .NET inside its result
    pass
make = Func[Object](lambda: [Held(), (Held(), Held()), {{"k": Held(), "j": [Held()]}}, Held()])
for _ in range(3):  # warm up: the delegate, the call, the conversions
    make.Invoke()
before = counts()
outcomes = {{}}
for first in range(1, {firsts}):
    for second in (*range(1, {seconds}), 10**9):  # 10**9: the first signal only
        out = trial(first, second, make.Invoke)
        outcomes[out] = outcomes.get(out, 0) + 1
after = counts()
print("outcomes", sorted(outcomes.items()))
print("leaked", *(y - x for x, y in zip(before, after)))
"""
_ERROR_PATH = """
from System import Converter, Int32
from System.Collections.Generic import List
xs = List[Int32]([0] * 3)
class Boom(Exception):
    pass
def loop_call():
    # A loop across both heaps that only clearing the call's bridge frames breaks: kept -> Boom
    # -> its traceback -> the callback's frame -> f_back: the frames of the call into .NET ->
    # their locals: the delegate's proxy -> .NET's delegate -> cb -> kept.
    kept = []
    def cb(x):
        e = Boom("x")
        kept.append(e)
        raise e
    try:
        xs.ConvertAll[Int32](Converter[Int32, Int32](cb))
    except Boom:
        pass
def failing():  # a failed .NET call (a direct stub): its exception handed to Python
    try:
        Int32.Parse("x")
    except Exception:
        pass
for _ in range(5):
    loop_call()
    failing()
before = counts()
outcomes = {{}}
for first in (*range(1, {firsts}), 10**9):
    for _ in range(3):
        loop_call()
        out = trial(first, 10**9, failing)
        outcomes[out] = outcomes.get(out, 0) + 1
        failing()
after = counts()
print("outcomes", sorted(outcomes.items()))
print("leaked", *(y - x for x, y in zip(before, after)))
"""

#: Where the second signal lands: the callback layer's own code (the maker, the registry, the
#: unraisable hook, the dispatcher). Not the error path of the call that then fails: see
#: _ERROR_PATH_WINDOW.
_CALLBACK_FILES = (
    *("callbacks/typed.py", "callbacks/entry.py", "callbacks/dispatch.py"),
    *("values/objects.py", "values/convert.py"),
)


def _run(body: str, **fmt: object) -> dict[str, str]:
    fmt.setdefault("skip_in", ())
    proc = run_python(_HARNESS.format(**fmt) + body.format(**fmt), timeout=300)
    assert_clean_exit(proc)
    return dict(line.split(" ", 1) for line in proc.stdout.splitlines())


def test_an_interrupted_typed_thunk_maker_leaves_no_registration() -> None:
    """A KeyboardInterrupt while a typed thunk is made is registered for .NET to raise; a second
    one at any later check (between registering it and writing its id where the shim reads it,
    in the unraisable hook that reports it again) leaves no registration without an owner."""
    lines = _run(_MAKER, first_in="typed.py", second_in=_CALLBACK_FILES, firsts=12, seconds=12)
    assert "interrupted" in lines["outcomes"], lines
    assert lines["leaked"] == "0 0 0", lines


def test_a_callback_interrupted_while_its_result_is_converted_leaves_no_registration() -> None:
    """A callback whose result (a list, a tuple, a dict) holds Python objects: each object is
    registered for .NET as its item is written. A signal while the result is converted, or in
    the report of that exception, makes the call fail; .NET reads nothing of the result then,
    so every item already registered must be dropped, not only the result's own slot."""
    lines = _run(
        _RESULT,
        first_in=("values/convert.py", "callbacks/dispatch.py"),
        second_in=_CALLBACK_FILES,
        firsts=40,
        seconds=10,
    )
    assert "interrupted" in lines["outcomes"], lines
    assert lines["leaked"] == "0 0 0", lines


def test_a_signal_in_the_error_path_of_a_failed_call_leaks_nothing() -> None:
    """A signal at each check of the path that turns a failed call's .NET exception into a
    Python one (the direct stub's parked exception, raise_error, exception_from_error, the
    clearing of bridge frames noted at earlier callback errors): the exception's handle is
    claimed or freed, and no noted frame is lost (a lost one kept its loop across both heaps,
    a delegate's handle and its callable, alive for ever)."""
    files = ("proxies/exceptions.py", "proxies/direct.py", "host/bridge.py")
    lines = _run(_ERROR_PATH, first_in=files, second_in=("nothing",), firsts=14)
    assert "interrupted" in lines["outcomes"], lines
    assert lines["leaked"] == "0 0 0", lines


_EXCEPTION_DIES = """
from System import Converter, Int32
from System.Collections.Generic import List
xs = List[Int32]([0] * 3)
def cb(x):
    raise LookupError("raised in a callback")  # carried by the .NET exception: a Python object .NET holds
def carrying():  # the proxy of a .NET exception that carries a Python one dies in the except block
    try:
        xs.ConvertAll[Int32](Converter[Int32, Int32](cb))
    except LookupError:
        pass
def plain():  # the proxy of a plain .NET exception dies in the except block
    try:
        Int32.Parse("x")
    except ValueError:
        pass
for _ in range(5):
    carrying()
    plain()
before = counts()
outcomes = {{}}
for first in range(1, {firsts}):
    for work in (carrying, plain):
        out = trial(first, 10**9, work)
        outcomes[out] = outcomes.get(out, 0) + 1
after = counts()
print("outcomes", sorted(outcomes.items()))
print("leaked", *(y - x for x, y in zip(before, after)))
"""


def test_a_signal_while_an_exception_proxy_dies_leaks_nothing() -> None:
    """A signal at each check made while the proxy of a .NET exception is finalized (it dies in
    the ``except`` block that caught it). A finalizer written in Python is cut short by a handler
    that raises at its first instruction ("Exception ignored in __del__"): the handle leaked,
    and with it the Python exception the .NET one carries when a callback raised it. That was
    the end state ``stress --threads 16 --seconds 60 --signals`` reported once in 4 runs: 1
    handle and 1 Python object held. The finalizer is now the shim's export, called from C."""
    lines = _run(_EXCEPTION_DIES, first_in="proxies/classes.py", second_in=("nothing",), firsts=8)
    assert lines["leaked"] == "0 0 0", lines


_FAILED_EXPORTS = """
from System import Array, Func, Int32
from System.Linq import Enumerable
arr = Array[Int32]([1, 2, 3])
def cb(x):
    raise LookupError("raised in a callback")  # carried by the .NET exception: a Python object .NET holds
select = Func[Int32, Int32](cb)
def get():  # an element read .NET refuses
    try:
        arr[7]
    except IndexError:
        pass
def put():  # an element store .NET refuses
    try:
        arr[7] = 1
    except IndexError:
        pass
def cast():  # a cast .NET's Convert refuses (construction.convert)
    try:
        Int32("x")
    except ValueError:
        pass
def walk():  # a chunk of an iteration whose MoveNext throws (bulk's IterNext)
    try:
        list(Enumerable.Select[Int32, Int32](arr, select))
    except LookupError:
        pass
def generic():  # a generic type .NET refuses to make (host.typeinfo.make_generic: String is no struct)
    try:
        System.Nullable[System.String]
    except TypeError:
        pass
WORK = ({work})
for _ in range(3):
    for work in WORK:
        work()
before = counts()
outcomes = {{}}
for work in WORK:
    for first in range(1, {firsts}):
        for second in (*range(1, {seconds}), 10**9):
            out = trial(first, second, work)
            outcomes[out] = outcomes.get(out, 0) + 1
after = counts()
print("outcomes", sorted(outcomes.items()))
print("leaked", *(y - x for x, y in zip(before, after)))
"""


def test_a_signal_between_a_failed_export_and_its_exception_leaks_nothing() -> None:
    """Exports that report a failure in an error value (an element read or store .NET refuses,
    a cast, a chunk of an iteration whose enumerator throws), with a signal at each check from
    the call to the exception's proxy, and a second one in what the first started: the .NET
    exception's handle is claimed by its proxy or freed (values.exports). Before, a signal that
    landed after the export returned, at the entry of raise_error or while the exception's
    class was looked up, leaked the handle (and the Python exception a callback raised in it).
    The refused generic is stepped through the host layer only: its exception's proxy reads
    ``InnerException`` through a property getter that leaks an object result on a signal before
    the proxy takes it (``proxies.properties``, a window of result values, not of errors)."""
    files = (
        *("values/exports.py", "values/bulk.py", "proxies/arrays.py", "proxies/construction.py"),
        *("proxies/exceptions.py", "proxies/base.py", "proxies/wrapping.py", "host/bridge.py"),
    )
    lines = _run(
        _FAILED_EXPORTS,
        work="get, put, cast, walk",
        first_in=files,
        second_in=tuple(f for f in files if f != "proxies/arrays.py"),
        firsts=40,
        seconds=3,
    )
    assert "interrupted" in lines["outcomes"], lines
    assert lines["leaked"] == "0 0 0", lines
    host = ("host/typeinfo.py", "host/bridge.py", "proxies/exceptions.py")
    lines = _run(_FAILED_EXPORTS, work="generic,", first_in=host, second_in=host, firsts=24, seconds=3)
    assert "interrupted" in lines["outcomes"], lines
    assert lines["leaked"] == "0 0 0", lines


_DERIVED = """
from System.Collections.Generic import IComparer
from pyclrbridge.values import objects as _objects
class ByLength(IComparer[System.String]):
    def Compare(self, a, b):
        return len(a) - len(b)
def make():  # each: a Python object .NET holds, and the handle of its .NET object
    return [ByLength() for _ in range(3)]
def sweep():  # dropped: a drain sweeps their handles, then .NET lets the Python objects go
    objs = make()
    del objs
    _objects.drain()
for _ in range(3):
    sweep()
before = counts()
outcomes = {{}}
for work in (make, sweep):
    for first in range(1, {firsts}):
        for second in (*range(1, {seconds}), 10**9):
            out = trial(first, second, work)
            outcomes[out] = outcomes.get(out, 0) + 1
after = counts()
print("outcomes", sorted(outcomes.items()))
print("leaked", *(y - x for x, y in zip(before, after)))
"""


def test_signals_while_python_subclass_objects_are_made_and_swept_leak_nothing() -> None:
    """Objects of a Python class deriving from .NET, made (the Python object is registered for
    .NET before the base constructor runs) and swept (a drain takes the handle of each one only
    the registry still references, so .NET can let both go), with a signal at each check of
    the derived-object code and a second one in what the first started. Before, a signal between
    registering and the constructor's try kept the Python object registered for ever, and one
    in the middle of a sweep left handles taken from their objects unfreed: the .NET objects
    and the Python objects they hold alive for ever (1 handle + 1 object each, the stress end
    state). ``adopt`` is left out: its window is before it takes the handle, in its caller
    (``proxies.base.wrap_value`` hands it the bare handle)."""
    lines = _run(
        _DERIVED,
        first_in="callbacks/derived.py",
        second_in=("callbacks/derived.py", "values/objects.py"),
        skip_in=("adopt",),
        firsts=80,
        seconds=3,
    )
    assert "interrupted" in lines["outcomes"], lines
    assert lines["leaked"] == "0 0 0", lines


_DERIVED_CLASSES = """
from System.Collections.Generic import IComparer
from pyclrbridge.callbacks import derived
def live():
    for _ in range(3):
        clr.collect()
    return derived.stats()["derived_classes_alive"]
def define():  # a Python class deriving from .NET (its .NET type is emitted), dropped at once
    class ByLength(IComparer[System.String]):
        def Compare(self, a, b):
            return len(a) - len(b)
    del ByLength
    gc.collect()  # the class dies here: its type is listed for the next drain
for _ in range(3):
    define()
before = live()
outcomes = {{}}
for first in range(1, {firsts}):
    for second in (*range(1, {seconds}), 10**9):
        out = trial(first, second, define)
        outcomes[out] = outcomes.get(out, 0) + 1
after = live()
print("outcomes", sorted(outcomes.items()))
print("leaked", after - before)
"""


def test_signals_while_python_subclasses_are_defined_and_die_leak_no_type() -> None:
    """A Python class deriving from .NET defined and dropped, with a signal at each check of the
    derived-class code (and a second one in what the first started): every .NET type emitted
    for such a class is forgotten once the class is gone. Before, the weakref callback that
    lists a dead class for the drain was a Python lambda (a signal at its first instruction
    lost the type for good), a signal between DefineDerived and that weakref left a type no
    class would ever list, and one in the drain after the type was taken off the list lost it."""
    lines = _run(
        _DERIVED_CLASSES,
        first_in="callbacks/derived.py",
        second_in=("callbacks/derived.py",),
        # not counted: the helpers that read the class before its type is made (about 960
        # checks of loops over its members, none of which has made anything yet)
        skip_in=("_python_names", "_declared", "_dotnet_bases", "_namespace", "_ensure_trampoline", "<genexpr>"),
        firsts=24,
        seconds=4,
    )
    assert "interrupted" in lines["outcomes"], lines
    assert lines["leaked"] == "0", lines
