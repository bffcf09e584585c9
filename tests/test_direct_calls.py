"""Direct calls: members with plain signatures go through one typed native stub each.

They must be invisible: every result, error and side effect is what the general (frame) path
gives, which ``PYCLRBRIDGE_DIRECT=0`` selects for the comparison below.
"""

from __future__ import annotations

import gc
import math
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python

FAILED = -0x6000_0000_0000_0000  # what a failed stub returns; also a real long result here


def test_plain_members_use_direct_stubs(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge

    from pyclrbridge.proxies import direct as _direct
    from pyclrbridge.proxies import native as _native

    g = Gauge()
    g.Level = 3
    assert g.Level == 3
    assert Gauge.Add(2, 3) == 5
    assert Gauge.Echo("x") == "x"
    shapes = {shape for found in _direct._stubs.values() if found for shape in [found[1]]}
    assert {"iii", "ss"} <= shapes
    # Level becomes a native member at its first read through a live proxy (proxies.native), and
    # then serves the set too (releasing the GIL: the setter is not leaf) without a stub; an
    # earlier test may have read it. With native members off (PYCLRBRIDGE_NATIVE_MEMBERS=0) its
    # Property writes and reads through the "v@i" and "i@" stubs.
    native = _native.is_native(Gauge.__dict__["Level"])
    assert native or {"v@i", "i@"} <= shapes


def test_results_of_every_kind(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge

    assert Gauge.Add(-(2**31), 2**31 - 1) == -1
    assert Gauge.AddLong(2**62, 2**62 - 1) == 2**63 - 1
    assert Gauge.Scale(1.5, -2.0) == -3.0
    assert Gauge.Half(3.0) == 1.5
    assert Gauge.Not(True) is False and Gauge.Not(False) is True
    assert Gauge.Byte(255) == 255
    assert Gauge.Echo(None) is None
    assert Gauge.Null() is None
    assert Gauge.Echo("") == ""
    assert Gauge.Join("a", 7, True, 0.1) == "a|7|True|0.1"
    assert Gauge.First("xyz") == "x"  # a char result: the general path
    assert Gauge.Touch() is None


@pytest.mark.parametrize(
    "text", ["", "a", "héllo wörld", "nul\x00inside", "emoji \U0001f600", "lone \ud800 surrogate", "x" * 100_000]
)
def test_strings_cross_both_ways_intact(fixtures: Any, text: str) -> None:
    from Fixtures.Direct import Gauge

    assert Gauge.Echo(text) == text
    assert Gauge.Length(text) == len(text.encode("utf-16-le", "surrogatepass")) // 2


def test_properties_of_every_kind_round_trip(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge

    g = Gauge()
    cases = {
        "Level": -(2**31),
        "Big": -(2**63),
        "On": True,
        "Ratio": -0.0,
        "Single": 0.25,
        "Label": "naïve",
        "Small": 255,
        "Unsigned": 2**32 - 1,
        "Signed16": -(2**15),
    }
    for name, value in cases.items():
        setattr(g, name, value)
        got = getattr(g, name)
        assert got == value and type(got) is type(value), name
    assert math.copysign(1.0, g.Ratio) == -1.0
    g.Label = None
    assert g.Label is None
    g.On = False
    assert g.On is False


def test_fields_read_and_write_through_their_stubs(fixtures: Any) -> None:
    from Fixtures.Direct import Counter, Gauge

    from pyclrbridge.proxies import direct as _direct

    g = Gauge()
    g.Hits = 5
    g.Note = "née"
    g.Weight = 2.5
    g.Flag = True
    assert (g.Hits, g.Note, g.Weight, g.Flag, g.Fixed) == (5, "née", 2.5, True, 7)
    g.Note = None
    assert g.Note is None
    with pytest.raises(AttributeError, match="read-only"):
        g.Fixed = 8
    with pytest.raises(OverflowError):
        g.Hits = 2**40
    Gauge.Total = 2**40
    assert Gauge.Total == 2**40
    c = Counter()
    c.Value = 3  # a struct's field: written by the general path
    c.Bump()
    assert c.Value == 4
    variants = {key[1] for key, found in _direct._stubs.items() if found}
    assert variants == {0, 1}


def test_static_properties_read_through_their_stub(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge

    from pyclrbridge.proxies import direct as _direct

    before = Gauge.Touched
    Gauge.Touch()
    assert Gauge.Touched == before + 1
    assert Gauge().Touched == before + 1  # through an instance too
    assert any(found and found[1] == "i" for found in _direct._stubs.values())


def test_values_a_stub_cannot_take_take_the_general_path(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge

    g = Gauge()
    g.Ratio = 2  # an int for a double: converted by the general path
    assert g.Ratio == 2.0 and type(g.Ratio) is float
    assert Gauge.Scale(3, 2) == 6.0
    with pytest.raises((OverflowError, TypeError)):
        g.Level = 2**31
    with pytest.raises((OverflowError, TypeError)):
        Gauge.Add(2**31, 0)
    with pytest.raises(TypeError):
        g.Level = "3"
    with pytest.raises(Exception, match="out of range"):
        g.Small = -1
    assert g.Level == 0 and g.Small == 0


def test_exceptions_from_stubs_are_the_mapped_dotnet_exceptions(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge
    from System import ArgumentException, ArgumentOutOfRangeException, InvalidOperationException

    g = Gauge()
    with pytest.raises(InvalidOperationException, match="has no reading"):
        g.Throwing
    with pytest.raises(ArgumentOutOfRangeException, match="must not be negative"):
        g.Checked = -1
    g.Checked = 4
    assert g.Checked == 4
    with pytest.raises(ArgumentException, match="bad code"):
        Gauge.Check(-1, "bad code")
    assert Gauge.Check(5, "fine") == 5  # nothing left over from the failure
    with pytest.raises(InvalidOperationException, match="void failure"):
        Gauge.Fail("void failure")
    assert Gauge.Add(1, 1) == 2


def test_constructors_with_plain_parameters(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge
    from System import ArgumentOutOfRangeException, Version

    from pyclrbridge.proxies import direct as _direct

    g = Gauge(7, "seven")
    assert type(g) is Gauge and g.Level == 7 and g.Label == "seven"
    assert str(Version(1, 2, 3, 4)) == "1.2.3.4"
    with pytest.raises(ArgumentOutOfRangeException, match="must not be negative"):
        Gauge(-1, "x")
    assert Gauge(0, "zero").Level == 0
    assert any(found and found[1].startswith("ois#") for found in _direct._stubs.values())


def test_constructed_objects_free_their_handles(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge

    gc.collect()
    before = fixtures.stats()["live_handles"]
    for i in range(2000):
        Gauge(i, "g")
    gc.collect()
    assert fixtures.stats()["live_handles"] <= before


def test_a_failure_collected_late_is_not_lost_to_a_nested_one(fixtures: Any) -> None:
    """Python may run another failing call (a finalizer, a callback) between a stub's failure
    and its check: each check collects its own call's exception."""
    from Fixtures.Direct import Gauge
    from System import ArgumentException

    from pyclrbridge.proxies import direct as _direct

    assert Gauge.Check(1, "warm up") == 1
    found = _direct.stub(Gauge.Check.overloads_list[0].id)
    assert found is not None
    stub, _ = found
    outer = "outer".encode("utf-16-le")
    assert stub(-1, outer, len(outer) // 2) == FAILED  # failed, not yet collected
    with pytest.raises(ArgumentException, match="inner"):
        Gauge.Check(-1, "inner")
    with pytest.raises(ArgumentException, match="outer"):
        _direct.failed()
    assert _direct.failed() is False  # nothing left behind


def test_the_failure_signal_is_also_a_real_result(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge

    g = Gauge()
    assert g.Sentinel() == FAILED
    assert g.SentinelDouble() == float(FAILED)
    assert math.isnan(g.NotANumber())
    g.Big = FAILED
    assert g.Big == FAILED


def test_a_released_proxy_is_refused(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge

    import pyclrbridge

    g = Gauge()
    g.Level = 1
    pyclrbridge.release(g)
    with pytest.raises(ValueError, match="released"):
        g.Raise(1)
    with pytest.raises(ValueError, match="released"):
        g.Level


def test_calls_on_a_boxed_struct_mutate_the_box(fixtures: Any) -> None:
    from Fixtures.Direct import Counter

    c = Counter()
    c.Bump()
    c.Bump()
    assert c.Get() == 2
    assert c.Value == 2


def test_a_python_subclass_reaching_the_base_method_gets_the_base_one(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge

    class Tuned(Gauge):
        def Measure(self, x: int) -> int:
            return super().Measure(x) + 1

        def Describe(self) -> str:
            return "tuned " + super().Describe()

    t = Tuned()
    assert t.Measure(5) == 11
    assert t.MeasureTwice(5) == 22  # .NET calls the override, which calls the base
    assert Gauge.Measure(t, 5) == 10  # the base method, named through the base class
    t.Level = 2
    assert t.Describe() == "tuned gauge at 2"
    assert Gauge().Measure(5) == 10


def test_each_thread_gets_its_own_failures(fixtures: Any) -> None:
    """A stub parks its exception for the calling thread: interleaved failing and succeeding
    calls on many threads never see another thread's exception or lose their own."""
    from Fixtures.Direct import Gauge
    from System import ArgumentException

    errors: list[str] = []
    barrier = threading.Barrier(8)

    def work(k: int) -> None:
        try:
            barrier.wait()
            for i in range(300):
                if i % 3 == 0:
                    try:
                        Gauge.Check(-1, f"thread {k} call {i}")
                    except ArgumentException as e:
                        if f"thread {k} call {i}" not in str(e):
                            errors.append(f"thread {k} got {e}")
                    else:
                        errors.append(f"thread {k} call {i} did not fail")
                elif Gauge.Check(i, "no") != i:
                    errors.append(f"thread {k} call {i} wrong result")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors


def test_many_threads_setting_and_reading_properties(fixtures: Any) -> None:
    from Fixtures.Direct import Gauge

    gauges = [Gauge() for _ in range(4)]
    barrier = threading.Barrier(4)
    problems: list[str] = []

    def work(k: int) -> None:
        g = gauges[k]
        barrier.wait()
        for i in range(2000):
            g.Level = i
            g.Label = f"{k}:{i}"
            if g.Level != i or g.Label != f"{k}:{i}":
                problems.append(f"{k}:{i}")
        gc.collect()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not problems


_SCRIPT = r"""
import math, os, pyclrbridge
pyclrbridge.load().add_reference(os.environ["FIXTURES_DLL"])
from Fixtures.Direct import Gauge, Counter

def show(f):
    try:
        r = f()
        print(type(r).__name__, repr(r))
    except Exception as e:
        print("raised", type(e).__name__, str(e).splitlines()[0])

g = Gauge()
for value in [0, -1, 2**31 - 1, 2**31, -(2**31) - 1, True, 1.5, "7", None]:
    show(lambda: setattr(g, "Level", value)); show(lambda: g.Level)
for value in [0, 255, 256, -1, 1.0]:
    show(lambda: setattr(g, "Small", value)); show(lambda: g.Small)
for value in [0.5, 1, float("inf"), "x", True]:
    show(lambda: setattr(g, "Ratio", value)); show(lambda: g.Ratio)
for value in [True, False, 1, 0, None]:
    show(lambda: setattr(g, "On", value)); show(lambda: g.On)
for value in ["s", "", None, 5, "\ud800"]:
    show(lambda: setattr(g, "Label", value)); show(lambda: g.Label)
show(lambda: g.Throwing)
show(lambda: setattr(g, "Checked", -5))
show(lambda: Gauge.Add(1, 2)); show(lambda: Gauge.Add(True, 2)); show(lambda: Gauge.Add(1.0, 2))
show(lambda: Gauge.Add(2**40, 1)); show(lambda: Gauge.AddLong(2**63 - 1, 0)); show(lambda: Gauge.AddLong(2**63, 0))
show(lambda: Gauge.Scale(2.0, 0.5)); show(lambda: Gauge.Scale(2, 3)); show(lambda: Gauge.Half(1e300))
show(lambda: Gauge.Not(True)); show(lambda: Gauge.Not(0))
show(lambda: Gauge.Echo("abc")); show(lambda: Gauge.Echo(None)); show(lambda: Gauge.Echo(5))
show(lambda: Gauge.Join("a", 1, False, 2.5)); show(lambda: Gauge.Null())
show(lambda: Gauge.Check(-1, "bad")); show(lambda: Gauge.Fail("boom")); show(lambda: Gauge.Byte(300))
show(lambda: g.Sentinel()); show(lambda: g.SentinelDouble()); show(lambda: g.NotANumber())
g.Level = 3
show(lambda: g.Raise(4)); show(lambda: g.Level); show(lambda: g.Reset()); show(lambda: g.Level)
show(lambda: g.Measure(21)); show(lambda: g.Describe())
c = Counter(); show(lambda: c.Bump()); show(lambda: c.Get()); show(lambda: c.Value)
show(lambda: Gauge(3, "x").Label); show(lambda: Gauge(-3, "x"))
show(lambda: Gauge(2**31, "x")); show(lambda: Gauge(1, None).Label)
show(lambda: type(Gauge()).__name__)
show(lambda: Gauge.Touch()); show(lambda: Gauge.Touched > 0); show(lambda: Gauge().Touched > 0)
for value in [1, -1, 2**31, 1.5, None, "x", True]:
    show(lambda: setattr(g, "Hits", value)); show(lambda: g.Hits)
for value in ["n", None, 3]:
    show(lambda: setattr(g, "Note", value)); show(lambda: g.Note)
for value in [0.25, 2, "w"]:
    show(lambda: setattr(g, "Weight", value)); show(lambda: g.Weight)
show(lambda: setattr(g, "Fixed", 1)); show(lambda: g.Fixed)
show(lambda: setattr(Gauge, "Total", 2**40)); show(lambda: Gauge.Total)
show(lambda: setattr(c, "Value", 9)); show(lambda: c.Value)
"""


def test_direct_and_general_paths_agree_on_everything(fixtures_dll: Path) -> None:
    outputs = []
    for setting in ("1", "0"):
        proc = run_python(_SCRIPT, fixtures_dll=fixtures_dll, env={"PYCLRBRIDGE_DIRECT": setting})
        assert_clean_exit(proc)
        outputs.append(proc.stdout)
    direct, general = outputs
    assert direct.count("\n") > 60
    assert direct == general
