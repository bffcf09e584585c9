"""Releasing native members: properties the GIL policy does not prove leaf, served by the shim.

Their slots (managed_shim/FastPath/NativeMembers.cs, Releasing.cs) release the GIL around the
.NET call, as the Python descriptor's stubs do, and must be invisible otherwise: every result,
exception and message is the Python descriptor's (``cls.__clr_members__``, the reference). The
fixtures (``Fixtures.FastPath.Releasing``) sleep or call a delegate in every accessor, so none
is leaf; ``StringBuilder.Capacity``'s setter is a real one.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # no hypothesis for this interpreter (e.g. a free-threaded build): that test skips
    st = None

from native_checks import in_forked_child, outcome_of, release_race
from test_fast_path import _assert_both_paths_agree, _python_descriptor_runs

from conftest import assert_clean_exit, run_python
from pyclrbridge.proxies import native as _native

pytestmark = pytest.mark.skipif(not _native.ENABLED, reason="native members need CPython 3.10+ with ctypes.pythonapi")

NAMES = ("Number", "Text", "Ratio", "Flag", "Letter", "Bounded", "Broken", "Hooked")


@pytest.fixture(scope="module")
def releasing(fixtures: Any) -> Any:
    from Fixtures.FastPath import Releasing

    r = Releasing()
    for name in NAMES:
        outcome_of(lambda name=name: getattr(r, name))  # the first access through a live proxy upgrades
    r.Number = 0
    Releasing.Total = 0
    _ = Releasing.Total  # a static member upgrades at its first read
    return Releasing


def _accessor_ids(cls: Any, name: str) -> tuple[int, int]:
    prop = cls.__clr_members__[name]
    return prop._get, prop._set


def test_members_not_proved_leaf_get_releasing_native_members(releasing: Any) -> None:
    from System.Text import StringBuilder

    sb = StringBuilder("abc")
    sb.Capacity = 64
    assert sb.Capacity == 64
    for cls, name in [(releasing, n) for n in NAMES] + [(releasing, "Total"), (StringBuilder, "Capacity")]:
        assert _native.is_native(cls.__dict__[name]), name
    # The GIL policy proves none of the fixture's accessors leaf, nor Capacity's setter.
    for name in ("Number", "Text", "Hooked"):
        getter, setter = _accessor_ids(releasing, name)
        assert not _native._leaf(getter, 0) and not _native._leaf(setter, 0)
    assert not _native._leaf(_accessor_ids(StringBuilder, "Capacity")[1], 0)
    # Served natively: no frame of the Python descriptor runs.
    r = releasing()
    assert _python_descriptor_runs(lambda: (setattr(r, "Number", 5), r.Number, setattr(sb, "Capacity", 70))) == []
    assert r.Number == 5 and sb.Capacity == 70


def _step(name: str, value: Any, cls: Any) -> Any:
    """Set ``name`` to ``value`` through the native member (``native``) or the reference."""

    def run(obj: Any, native: bool) -> Any:
        if native:
            setattr(obj, name, value)
        else:
            cls.__clr_members__[name].__set__(obj, value)

    return run


def _read(name: str, cls: Any) -> Any:
    def run(obj: Any, native: bool) -> Any:
        return getattr(obj, name) if native else cls.__clr_members__[name].__get__(obj, cls)

    return run


if st is not None:
    _VALUES = st.one_of(
        st.integers(min_value=-(2**33), max_value=2**33),
        st.sampled_from([0, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, True, False, None, 1.5, float("nan")]),
        st.floats(allow_nan=False),
        st.text(alphabet=st.characters(), max_size=6),
        st.sampled_from(["", "\ud800", "a\udfffb", "\U0001f600", "h\u00e9llo"]),
        st.lists(st.integers(), max_size=2),
    )

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        steps=st.lists(
            st.tuples(st.sampled_from(("Number", "Text", "Ratio", "Flag", "Bounded", "Hooked")), _VALUES), max_size=6
        )
    )
    def test_releasing_members_match_the_python_descriptor(releasing: Any, steps: list[tuple[str, Any]]) -> None:
        native_obj, python_obj = releasing(), releasing()
        actions = []
        for name, value in steps:
            actions += [_step(name, value, releasing), _read(name, releasing)]
        actions += [_read("Letter", releasing), _read("Broken", releasing)]
        _assert_both_paths_agree(
            native_obj,
            python_obj,
            actions,
            lambda o: (o.Number, o.Text, repr(o.Ratio), o.Flag),  # repr: nan equals itself
        )

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        text=st.text(max_size=40),
        capacities=st.lists(st.one_of(st.integers(min_value=-5, max_value=300), _VALUES), max_size=5),
    )
    def test_string_builder_capacity_matches_the_python_descriptor(clr: Any, text: str, capacities: list[Any]) -> None:
        """A real setter that is not leaf: below Length it throws ArgumentOutOfRangeException,
        the same exception type and message through both paths."""
        from System.Text import StringBuilder

        actions = []
        for c in capacities:
            actions += [_step("Capacity", c, StringBuilder), _read("Capacity", StringBuilder)]
        _assert_both_paths_agree(
            StringBuilder(text), StringBuilder(text), actions, lambda sb: (sb.Capacity, sb.ToString())
        )

else:

    def test_releasing_members_match_the_python_descriptor() -> None:
        pytest.skip("hypothesis is not installed for this interpreter")


def test_capacity_below_length_raises_the_same_exception_object_type_and_message(clr: Any) -> None:
    from System.Text import StringBuilder

    sb = StringBuilder("abcdef")
    sb.Capacity = 10
    with pytest.raises(Exception) as native_error:
        sb.Capacity = 2
    with pytest.raises(Exception) as python_error:
        StringBuilder.__clr_members__["Capacity"].__set__(sb, 2)
    assert type(native_error.value) is type(python_error.value)
    assert "ArgumentOutOfRangeException" in type(native_error.value).__qualname__
    assert str(native_error.value) == str(python_error.value)
    assert sb.Capacity == 10


def test_the_gil_is_released_during_a_slow_get_and_set(releasing: Any) -> None:
    """While one thread is in a releasing accessor that sleeps, another runs Python."""
    r = releasing()
    r.DelayMs = 300
    ticks = [0]
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks[0] += 1

    def during(action: Any) -> int:
        ticker = threading.Thread(target=tick)
        ticker.start()
        try:
            time.sleep(0.05)
            before = ticks[0]
            action()
            return ticks[0] - before
        finally:
            stop.set()
            ticker.join()
            stop.clear()

    assert during(lambda: r.Number) > 1000
    assert during(lambda: setattr(r, "Text", "slow")) > 1000
    assert during(lambda: releasing.Total) >= 0  # static (it yields only): runs, releasing too
    r.DelayMs = 0
    assert r.Text == "slow"


def test_a_setter_that_calls_back_into_python(releasing: Any) -> None:
    """The setter calls a Python callable on the calling thread while the GIL is released: the
    callback takes it, may use native members itself, and its exception reaches the caller as
    the Python descriptor's does."""
    r, other = releasing(), releasing()
    other.Number = 100
    r.OnSet = lambda v: v * 2 + other.Number  # reads a releasing member from inside the setter
    r.Hooked = 21
    assert r.Hooked == 142

    def boom(v: int) -> int:
        raise KeyError(f"no {v}")

    r.OnSet = boom
    reference = releasing()
    reference.OnSet = boom
    native = outcome_of(lambda: setattr(r, "Hooked", 3))
    python = outcome_of(lambda: releasing.__clr_members__["Hooked"].__set__(reference, 3))
    assert native == python and native[0] == "raised" and "no 3" in native[1]
    r.OnSet = None
    r.Hooked = 7
    assert r.Hooked == 7


def test_release_race_on_releasing_members_ends_in_clean_errors(releasing: Any) -> None:
    """Four threads read and write releasing members while a fifth releases the objects: every
    access works or raises the released-object error."""
    from System.Text import StringBuilder

    objects = [releasing() for _ in range(150)]
    builders = [StringBuilder("ab") for _ in range(150)]

    def access(pair: tuple[Any, Any], i: int) -> None:
        o, sb = pair
        o.Number = o.Number + 1
        o.Text = "x"
        _ = o.Text
        sb.Capacity = 40 + i % 7
        _ = sb.Capacity

    unexpected = release_race(list(zip(objects, builders, strict=True)), access, pause=0.05)
    assert not unexpected, unexpected[:5]
    with pytest.raises(ValueError, match="released"):
        _ = objects[0].Number


def test_signals_at_random_points_of_releasing_accesses(releasing: Any) -> None:
    """A SIGALRM handler that raises, firing at random points of a loop of releasing gets and
    sets: each access completes or the handler's exception surfaces between accesses; the
    object stays consistent and the members keep working."""
    import random
    import signal

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        pytest.skip("needs SIGALRM on the main thread")

    class Alarm(Exception):
        pass

    def handler(signum: int, frame: Any) -> None:
        raise Alarm

    r = releasing()
    rng = random.Random(33)
    previous = signal.signal(signal.SIGALRM, handler)
    alarms = 0
    try:
        for _trial in range(150):
            try:
                signal.setitimer(signal.ITIMER_REAL, rng.uniform(0.00005, 0.002))
                for i in range(200):
                    r.Number = i
                    assert r.Number == i
                    r.Text = str(i)
                    assert r.Text == str(i)
                signal.setitimer(signal.ITIMER_REAL, 0)
            except Alarm:
                alarms += 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert alarms > 0
    r.Number = 12
    r.Text = "after"
    assert (r.Number, r.Text) == (12, "after")


_EXIT_SCRIPT = """
import os, random, sys, threading, time
import pyclrbridge
pyclrbridge.load().add_reference(os.environ["FIXTURES_DLL"])
from Fixtures.FastPath import Releasing
from System.Text import StringBuilder

def loop(delay):
    o = Releasing()
    o.DelayMs = delay
    sb = StringBuilder("ab")
    while True:
        try:
            o.Number = o.Number + 1
            _ = o.Text
            sb.Capacity = 32
            _ = Releasing.Total
        except Exception:
            pass

warm = Releasing()
warm.Number = warm.Number
_ = warm.Text, Releasing.Total
StringBuilder("ab").Capacity = 32  # the first accesses install the native members
assert type(Releasing.__dict__["Number"]).__name__ == "NativeMember"
for delay in (0, 0, 1, 1, 3):
    threading.Thread(target=loop, args=(delay,), daemon=True).start()
time.sleep(random.uniform(0.05, 0.3))
print("exiting", flush=True)
"""


def test_daemon_threads_in_releasing_accesses_while_the_interpreter_exits(fixtures_dll: Any) -> None:
    """Daemon threads loop through releasing gets and sets (some sleeping inside .NET) while the
    main thread exits: a thread whose .NET call ends after exit began parks instead of taking
    the GIL back; the process exits cleanly, every time."""
    for _ in range(20):
        proc = run_python(_EXIT_SCRIPT, timeout=60, fixtures_dll=fixtures_dll)
        assert_clean_exit(proc)
        assert proc.stdout.strip() == "exiting"
        assert "Aborted" not in proc.stderr and "SIGSEGV" not in proc.stderr


def test_releasing_members_in_a_forked_child_raise_the_spawn_error(fixtures_dll: Any) -> None:
    lines = in_forked_child(
        """
        from Fixtures.FastPath import Releasing
        r = Releasing()
        r.Number; r.Number = 3
        assert type(Releasing.__dict__["Number"]).__name__ == "NativeMember"
        """,
        '(lambda: r.Number, lambda: setattr(r, "Number", 4))',
        "r.Number",
        fixtures_dll=fixtures_dll,
    )
    assert lines == ["['spawn', 'spawn']", "child exit 0 parent 3"]


_EDGE_TEXTS = [
    "",
    "a",
    "a\x00b",
    "\x00",
    "x" * 255,
    "x" * 256,
    "x" * 257,
    "x" * 255 + "\u00e9",
    "\x7f" * 3,
    "\u00e9",
    "\ud800",
    "a\udfffb",
    "\U0001f600",
    "h\u00e9llo \U0001f600",
    None,
]


@pytest.mark.parametrize("text", _EDGE_TEXTS, ids=repr)
def test_string_reads_at_the_edges_of_the_ascii_path(releasing: Any, fixtures: Any, text: str | None) -> None:
    """A str read natively is built by an ASCII path (up to 256 chars, no NUL) or by UTF-16
    decoding: the same value as the Python descriptor's, on a leaf member and a releasing one."""
    from Fixtures.Direct import Gauge

    for cls, name in ((releasing, "Text"), (Gauge, "Label")):
        obj = cls()
        setattr(obj, name, "warm")
        _ = getattr(obj, name)  # the first access installs the native member
        assert _native.is_native(cls.__dict__[name])
        setattr(obj, name, text)
        native = getattr(obj, name)
        assert native == cls.__clr_members__[name].__get__(obj, cls) == text
        assert type(native) is (str if text is not None else type(None))
