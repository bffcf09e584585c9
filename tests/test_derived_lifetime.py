"""Python classes deriving from .NET types die: their .NET types go into collectible assemblies
that unload once the class and every instance are gone (issue 15.12), and ``__namespace__``
names the emitted type as in pythonnet (issue 18)."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python
from pyclrbridge.callbacks import derived as _derived
from pyclrbridge.testing import run_concurrently


@pytest.fixture(scope="module")
def inheritance(fixtures: Any) -> Any:
    import Fixtures.Inheritance as module

    return module


def _settle(clr: Any) -> None:
    for _ in range(4):
        clr.collect()


def _forgotten() -> int:
    return _derived.stats()["derived_classes_forgotten"]


# The leak of issue 15.12, measured in a fresh process: 30 classes deriving from a .NET class
# of the framework (Collection<string>, whose Add calls the virtual InsertItem), each holding
# 10 MB, each with an instance .NET called. Before: RSS grew by ~310 MB and never came back.
_LEAK_SCRIPT = """
import psutil
import pyclrbridge
clr = pyclrbridge.load()
from System import Array, Byte, String
from System.Collections.ObjectModel import Collection
from pyclrbridge.callbacks import derived

proc = psutil.Process()

def make(i):
    class Holder(Collection[String]):
        payload = bytes(10_000_000) + bytes([i])  # 10 MB on the Python side
        def InsertItem(self, index, item):
            type(self).seen = item
    h = Holder()
    h.dotnet_payload = Array.CreateInstance(Byte, 1_000_000)  # and 1 MB on the .NET side
    h.Add("x%d" % i)  # .NET calls the Python override
    assert Holder.seen == "x%d" % i
    return h

def settle():
    for _ in range(6):
        clr.collect()

settle()
before = derived.stats()
rss0 = proc.memory_info().rss
held = [make(i) for i in range(30)]
rss1 = proc.memory_info().rss
assert derived.stats()["derived_assemblies_loaded"] == before["derived_assemblies_loaded"] + 30
del held
settle()
rss2 = proc.memory_info().rss
after = derived.stats()
print("RSS_MB", rss0 >> 20, rss1 >> 20, rss2 >> 20)
print("STATS", after)
assert rss1 - rss0 > 250 << 20, "the classes did not hold their payload"
assert rss2 - rss0 < 60 << 20, f"RSS stayed {(rss2 - rss0) >> 20} MB above the start"
assert after["derived_assemblies_loaded"] == before["derived_assemblies_loaded"], after
assert after["derived_classes_forgotten"] == before["derived_classes_forgotten"] + 30, after
print("OK")
"""


def test_thirty_dead_classes_give_their_memory_and_assemblies_back() -> None:
    pytest.importorskip("psutil", reason="measures the process RSS")
    proc = run_python(_LEAK_SCRIPT, timeout=300)
    assert_clean_exit(proc)
    assert "OK" in proc.stdout, proc.stdout + proc.stderr


_UNLOAD_SCRIPT = """
import os, sys
import pyclrbridge
clr = pyclrbridge.load()
clr.add_reference(os.environ["FIXTURES_DLL"])
from System.Collections.Generic import IComparer, List
from Fixtures.Inheritance import Greeter, Consumers
from pyclrbridge.callbacks import derived

def settle():
    for _ in range(6):
        clr.collect()

settle()
start = derived.stats()["derived_assemblies_loaded"]

class Polite(Greeter):
    def Greet(self, who):
        return "Dear " + super().Greet(who)

class VeryPolite(Polite):  # a Python subclass of a Python subclass: its assembly needs Polite's
    def Greet(self, who):
        return "Very " + super().Greet(who)

class ByLength(IComparer[str]):
    def Compare(self, a, b):
        return len(a) - len(b)

assert Consumers.UseGreeter(VeryPolite(), "Ann") == "Very Dear Hello, Ann Very Dear Hello, Ann"
words = List[str](["ccc", "a", "bb"])
words.Sort(ByLength())
assert list(words) == ["a", "bb", "ccc"]
assert derived.stats()["derived_assemblies_loaded"] == start + 3

# .NET still holds an instance of VeryPolite: its class (and Polite's) must stay usable.
keep = List[Greeter]()
keep.Add(VeryPolite())
del Polite, VeryPolite, ByLength, words
settle()
assert derived.stats()["derived_assemblies_loaded"] == start + 2, derived.stats()
assert Consumers.UseGreeter(keep[0], "Bo") == "Very Dear Hello, Bo Very Dear Hello, Bo"
assert type(keep[0]).__name__ == "VeryPolite"

keep.Clear()
settle()
assert derived.stats()["derived_assemblies_loaded"] == start, derived.stats()
print("OK")
"""


def test_subclass_of_subclass_and_interface_assemblies_unload_after_the_last_instance(fixtures_dll: Path) -> None:
    proc = run_python(_UNLOAD_SCRIPT, timeout=300, fixtures_dll=fixtures_dll)
    assert_clean_exit(proc)
    assert "OK" in proc.stdout, proc.stdout + proc.stderr


def test_a_dead_class_is_forgotten_and_its_type_id_fails_cleanly(clr: Any, inheritance: Any) -> None:
    class Shouty(inheritance.Greeter):
        def Greet(self, who: str) -> str:
            return who.upper()

    assert inheritance.Consumers.UseGreeter(Shouty(), "a") == "A A"
    type_id = Shouty.__clr_type_id__
    ref = weakref.ref(Shouty)
    before = _forgotten()
    del Shouty
    _settle(clr)
    assert ref() is None
    assert _forgotten() >= before + 1
    assert type_id not in _derived._classes
    # the retired id resolves to nothing, never to another type
    from pyclrbridge.host import typeinfo

    with pytest.raises(Exception, match=f"unknown type id {type_id}"):
        typeinfo.members(type_id)


def test_an_instance_held_by_dotnet_keeps_its_class_working(clr: Any, inheritance: Any) -> None:
    from System.Collections.Generic import List

    class Triple(inheritance.ICalculator):
        def __init__(self, k: int) -> None:
            self.k = k

        def Compute(self, x: int) -> int:
            return self.k * x

    held = List[inheritance.ICalculator]()
    held.Add(Triple(3))
    before = _forgotten()
    del Triple
    _settle(clr)
    assert _forgotten() == before  # the class lives on through its instance
    assert inheritance.Consumers.RunCalculator(held[0], 5) == 15
    assert inheritance.Consumers.RunCalculatorOnThread(held[0], 7) == 21
    held.Clear()
    del held
    _settle(clr)
    assert _forgotten() >= before + 1


def test_a_type_object_held_by_dotnet_outlives_the_class_and_refuses_new_instances(clr: Any, inheritance: Any) -> None:
    import System
    from System import Activator
    from System.Collections.Generic import List

    class Plain(inheritance.Greeter):
        pass

    types = List[System.Type]()
    types.Add(Plain().GetType())
    assert Activator.CreateInstance(types[0]).Greet("x") == "Hello, x"  # made by .NET
    ref = weakref.ref(Plain)
    del Plain
    _settle(clr)
    assert ref() is None
    from System.Reflection import TargetInvocationException

    with pytest.raises(TargetInvocationException) as info:  # Activator.CreateInstance wraps, as in C#
        Activator.CreateInstance(types[0])
    assert "was collected" in str(info.value.InnerException)


def test_events_and_callbacks_of_a_derived_class_after_its_name_is_gone(clr: Any, fixtures: Any) -> None:
    from Fixtures.Events import Publisher
    from System import Converter, Int32
    from System.Collections.Generic import List

    class Loud(Publisher):
        def __init__(self) -> None:
            super().__init__()
            self.heard: list[str] = []

        def on_message(self, sender: Any, args: Any) -> None:
            self.heard.append(args.Text)
            args.Handled = True

        def double(self, x: int) -> int:
            return 2 * x

    loud = Loud()
    loud.Message += loud.on_message
    del Loud
    _settle(clr)
    assert loud.Raise("hi") is True
    assert loud.RaiseFromThread("there") is True
    assert loud.heard == ["hi", "there"]
    ys = List[Int32]([1, 2, 3]).ConvertAll[Int32](Converter[Int32, Int32](loud.double))
    assert list(ys) == [2, 4, 6]
    loud.Message -= loud.on_message


def test_classes_defined_on_four_threads_while_others_are_collected(clr: Any, inheritance: Any) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def collector() -> None:
        try:
            while not stop.is_set():
                clr.collect()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    def define(index: int) -> list[str]:
        results = []
        for round_ in range(15):

            class Numbered(inheritance.Greeter):
                def Greet(self, who: str, n: int = index * 100 + round_) -> str:
                    return f"{who}{n}"

            results.append(inheritance.Consumers.UseGreeter(Numbered(), "g"))
            del Numbered
            gc.collect()
        return results

    background = threading.Thread(target=collector)
    background.start()
    try:
        results = run_concurrently(define, threads=4, pass_index=True, timeout=240)
    finally:
        stop.set()
        background.join()
    assert not errors
    for index, got in enumerate(results):
        assert got == [f"g{index * 100 + r} g{index * 100 + r}" for r in range(15)]
    _settle(clr)


# ---- __namespace__ (pythonnet's spelling): the emitted type's full name ----


def test_namespace_names_the_emitted_type(clr: Any, inheritance: Any) -> None:
    class Square(inheritance.Shape):
        __namespace__ = "My.Shapes"

        def Area(self) -> float:
            return 4.0

    square = Square()
    assert square.GetType().FullName == "My.Shapes.Square"
    assert square.GetType().Namespace == "My.Shapes"
    assert Square.__clr_name__ == "My.Shapes.Square"
    assert inheritance.Consumers.TotalArea([square]) == 4.0


def test_a_second_class_with_the_same_namespace_and_name_is_refused_while_the_first_lives(
    clr: Any, inheritance: Any
) -> None:
    def define() -> Any:
        class Twin(inheritance.Greeter):
            __namespace__ = "My.Twins"

        return Twin

    first = define()
    with pytest.raises(TypeError, match=r"My\.Twins\.Twin"):
        define()
    assert first().GetType().FullName == "My.Twins.Twin"
    del first
    _settle(clr)
    again = define()  # the name is free once the first class is collected
    assert again().GetType().FullName == "My.Twins.Twin"


@pytest.mark.parametrize("bad", ["", "1Ns", "My..Ns", "My Ns", 5])
def test_a_bad_namespace_raises_a_clear_error(clr: Any, inheritance: Any, bad: Any) -> None:
    with pytest.raises(TypeError, match="__namespace__"):

        class Named(inheritance.Greeter):
            __namespace__ = bad


def test_without_a_namespace_the_name_is_generated_and_unique(clr: Any, inheritance: Any) -> None:
    def define() -> Any:
        class Same(inheritance.Greeter):
            pass

        return Same

    a, b = define(), define()
    assert a().GetType().FullName != b().GetType().FullName
    assert a().GetType().FullName.startswith("Python.")


# ---- issue 25.1: use after unload through types built from a dead Python class ----------
# Before: the .NET type of S was forgotten as soon as the Python class S died, while List[S]
# (its proxy class, its instances, the stubs they hold) was still in use: `ls.Count` aborted
# the process ("A callback was made on a garbage collected delegate", rc 134) and `List[S]()`
# raised "unknown member id". Now a class built from S keeps S alive (docs/lifetime.md).

_BUILT_FROM_DEAD_CLASS_SCRIPT = """
import gc, os, sys, weakref
import pyclrbridge
clr = pyclrbridge.load()
clr.add_reference(os.environ["FIXTURES_DLL"])
from System import Array, Func
from System.Collections.Generic import Dictionary, List
from Fixtures.Inheritance import Consumers, Shape
from pyclrbridge.callbacks import derived

def settle():
    for _ in range(3):
        gc.collect()
        clr.collect()

settle()
start = derived.stats()["derived_assemblies_loaded"]

class S(Shape):
    def Area(self):
        return 3.0

LS = List[S]
ls = LS()
d = Dictionary[str, S]()
a = Array[S](3)
cap = List[S]()
f = Func[S](lambda: None)
assert (ls.Count, d.Count, a.Length, cap.Capacity, f()) == (0, 0, 3, 0, None)
ref = weakref.ref(S)
del S
settle()
assert (ls.Count, d.Count, a.Length, cap.Capacity, f()) == (0, 0, 3, 0, None)
fresh = LS()
fresh.Add(None)
assert fresh.Count == 1 and fresh[0] is None
assert ref() is not None, "List[S] and friends keep S alive"
ls.Add(ref()())
assert Consumers.TotalArea(ls) == 3.0
assert str(ls).startswith("System.Collections.Generic.List")
del LS, ls, d, a, cap, f, fresh
settle()
assert ref() is None, "the class dies with the last thing built from it"
assert derived.stats()["derived_assemblies_loaded"] == start, derived.stats()
print("OK")
"""


def test_types_built_from_a_dead_python_class_keep_working_then_unload(fixtures_dll: Path) -> None:
    proc = run_python(_BUILT_FROM_DEAD_CLASS_SCRIPT, timeout=300, fixtures_dll=fixtures_dll)
    assert_clean_exit(proc)
    assert "OK" in proc.stdout, proc.stdout + proc.stderr


# A List<S> that only .NET holds comes back to Python after S died, before the drain forgot
# S's type: its new proxy class cannot keep S alive, so S's type waits until that class dies.
_COMES_BACK_AFTER_DEATH_SCRIPT = """
import gc, os, weakref
import pyclrbridge
clr = pyclrbridge.load()
clr.add_reference(os.environ["FIXTURES_DLL"])
from System import AppDomain
from System.Collections.Generic import List
from Fixtures.Inheritance import Shape
from pyclrbridge.callbacks import derived

def settle():
    for _ in range(3):
        gc.collect()
        clr.collect()

settle()
start = derived.stats()

def make():
    class S(Shape):
        def Area(self):
            return 1.0
    AppDomain.CurrentDomain.SetData("held", List[S]())
    return weakref.ref(S)

ref = make()
gc.collect()  # S dies; its type waits in the queue (no drain yet)
assert ref() is None
back = AppDomain.CurrentDomain.GetData("held")  # a proxy class built from S's type now
settle()  # the drain must not forget S's type while that class lives
assert back.Count == 0 and back.Capacity == 0
back.Add(None)
assert back.Count == 1
assert derived.stats()["derived_classes_forgotten"] == start["derived_classes_forgotten"]
del back
AppDomain.CurrentDomain.SetData("held", None)
settle()
after = derived.stats()
assert after["derived_classes_forgotten"] == start["derived_classes_forgotten"] + 1, after
assert after["derived_assemblies_loaded"] == start["derived_assemblies_loaded"], after
print("OK")
"""


def test_a_type_handed_back_after_its_class_died_is_forgotten_only_after_its_proxy(fixtures_dll: Path) -> None:
    proc = run_python(_COMES_BACK_AFTER_DEATH_SCRIPT, timeout=300, fixtures_dll=fixtures_dll)
    assert_clean_exit(proc)
    assert "OK" in proc.stdout, proc.stdout + proc.stderr


def test_overload_and_protocol_caches_do_not_keep_classes_built_from_a_python_class(clr: Any, inheritance: Any) -> None:
    from System import Array, Func
    from System.Collections.Generic import Dictionary, List

    def use() -> Any:
        class Dot(inheritance.Shape):
            def Area(self) -> float:
                return 2.0

        ls = List[Dot]([Dot()])
        assert len(ls) == 1 and ls[0].Area() == 2.0 and None not in ls
        assert [x.Area() for x in ls] == [2.0] and str(ls).startswith("System.")
        assert inheritance.Consumers.TotalArea(ls) == 2.0
        d = Dictionary[str, Dot]()
        d["a"] = ls[0]
        assert len(d) == 1 and d["a"].Area() == 2.0 and list(d.Keys) == ["a"]
        a = Array[Dot](2)
        a[1] = ls[0]
        assert len(a) == 2 and a[0] is None
        assert Func[Dot](lambda: None)() is None  # issue 25.6: Func[S] pinned S's assembly
        return weakref.ref(Dot)

    _settle(clr)
    before = _derived.stats()
    refs = [use() for _ in range(3)]
    _settle(clr)
    assert [r() for r in refs] == [None, None, None]
    after = _derived.stats()
    assert after["derived_assemblies_loaded"] == before["derived_assemblies_loaded"], after
    assert after["derived_classes_forgotten"] == before["derived_classes_forgotten"] + 3, after


_CHURN_SCRIPT = """
import gc, os, threading, time
import pyclrbridge
clr = pyclrbridge.load()
clr.add_reference(os.environ["FIXTURES_DLL"])
from System import Array, Func
from System.Collections.Generic import Dictionary, IComparer, List
from Fixtures.Inheritance import Consumers, Shape
from pyclrbridge.callbacks import derived

stop = threading.Event()
errors = []
kept = []  # things built from classes whose name is gone, used by the other threads meanwhile
kept_empty = []  # and such things that hold no instance (only they keep the class alive)
kept_lock = threading.Lock()  # owner of kept and kept_empty

def collector():
    while not stop.is_set():
        clr.collect()

def churn(index):
    try:
        for round_ in range(20):
            class Tile(Shape):
                def Area(self, k=index * 1000 + round_):
                    return float(k)

            class ByLength(IComparer[str]):
                def Compare(self, a, b):
                    return len(a) - len(b)

            k = float(index * 1000 + round_)
            ls = List[Tile]([Tile(), Tile()])
            arr = Array[Tile](1)
            arr[0] = ls[0]
            make = Func[Tile](lambda cls=Tile: cls())
            assert Consumers.TotalArea(ls) == 2 * k
            assert make().Area() == k and arr[0].Area() == k
            words = List[str](["ccc", "a", "bb"])
            words.Sort(ByLength())
            assert list(words) == ["a", "bb", "ccc"]
            d = Dictionary[int, List[Tile]]()
            d[round_] = ls
            # and things built from Tile that hold no instance of it: only they keep it alive
            empty = (List[Tile](), Array[Tile](2), Func[Tile](lambda: None), Dictionary[str, Tile]())
            with kept_lock:
                kept.append((ls, arr, make, d, k))
                old = kept.pop(0) if len(kept) > 2 else None
                kept_empty.append(empty)
                old_empty = kept_empty.pop(0) if len(kept_empty) > 12 else None
            if old is not None:
                ols, oarr, omake, od, ok = old
                assert ols.Count == 2 and Consumers.TotalArea(ols) == 2 * ok
                assert oarr.Length == 1 and omake().Area() == ok and od.Count == 1
            if old_empty is not None:
                e1, e2, e3, e4 = old_empty
                assert (e1.Count, e1.Capacity, e2.Length, e3(), e4.Count) == (0, 0, 2, None, 0)
                e1.Add(None)
                assert e1.Count == 1 and type(e1)().Count == 0
            del Tile, ByLength, ls, arr, make, d, old, empty, old_empty
            gc.collect()
    except BaseException as exc:
        errors.append(repr(exc))

background = threading.Thread(target=collector)
background.start()
threads = [threading.Thread(target=churn, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
stop.set()
background.join()
assert not errors, errors
kept.clear()
kept_empty.clear()
for _ in range(6):
    clr.collect()
stats = derived.stats()
assert stats["derived_classes_alive"] == 0, stats
print("OK", stats)
"""


def test_classes_churned_in_threads_with_generics_arrays_and_delegates_while_collect_loops(
    fixtures_dll: Path,
) -> None:
    proc = run_python(_CHURN_SCRIPT, timeout=600, fixtures_dll=fixtures_dll)
    assert_clean_exit(proc)
    assert "OK" in proc.stdout, proc.stdout + proc.stderr


# ---- issue 25.2: .NET finalizers call Python overrides, in no order ----------------------
# Before: the finalizer of the wrapper that held the Python object could run before the
# derived object's own finalizer (Component.Finalize -> Dispose(false) in Python), which then
# found the Python object gone: LookupError on the finalizer thread, SIGABRT within seconds.

_FINALIZERS_SCRIPT = """
import gc, os, threading
import pyclrbridge
clr = pyclrbridge.load()
clr.add_reference(os.environ["FIXTURES_DLL"])
from System import GC
from System.ComponentModel import Component
from Fixtures.Finalizers import Collector, Noisy, Resource, Watcher

lock = threading.Lock()  # owner of calls (finalizer thread and workers write)
calls = {"component": 0, "resource": 0, "noisy": 0}

def count(kind):
    with lock:
        calls[kind] += 1

class Part(Component):  # public virtual Dispose(bool) called by Component's finalizer
    def Dispose(self, disposing):
        if not disposing:
            count("component")

class Handle(Resource):  # protected virtual Dispose(bool) called by ~Resource()
    def Dispose(self, disposing):
        if not disposing:
            count("resource")

class Loud(Noisy):  # its own finalizer calls OnFinalize; a Watcher's finalizer calls Poke
    def OnFinalize(self):
        count("noisy")
    def Poke(self):
        return 2

def settle():
    for _ in range(4):
        gc.collect()
        clr.collect()

settle()
start = clr.stats()["python_objects_held"]
N, THREADS = int(os.environ.get("ROUNDS", "3000")), 4

while_true = 0
for i in range(1, 15001):  # the issue's loop: `while True: Part()`, GC.Collect() every 5000
    Part()
    if i % 5000 == 0:
        GC.Collect()
while_true = i

def churn(index):
    for i in range(1, N + 1):
        Part()
        Handle()
        Watcher(Loud())
        if i % 1000 == 0:
            GC.Collect()

threads = [threading.Thread(target=churn, args=(k,)) for k in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
settle()
total = N * THREADS
assert calls["component"] == total + while_true, calls
assert calls["resource"] == total and Resource.Finalized == total, (calls, Resource.Finalized)
assert calls["noisy"] == total and Watcher.Pokes == 2 * total, (calls, Watcher.Pokes)
held = clr.stats()["python_objects_held"]
assert held <= start + 5, (start, held)
print("OK", calls)
"""


def test_finalizers_in_any_order_reach_live_python_overrides(fixtures_dll: Path) -> None:
    proc = run_python(_FINALIZERS_SCRIPT, timeout=600, fixtures_dll=fixtures_dll)
    assert_clean_exit(proc)
    assert "OK" in proc.stdout, proc.stdout + proc.stderr


# ---- issue 25.6: `a.__class__ = B` would let A die while .NET holds `a` --------------------


def test_the_class_of_a_python_subclass_instance_cannot_be_reassigned(clr: Any, inheritance: Any) -> None:
    from System.Collections.Generic import List

    def make() -> tuple[Any, Any]:
        class Warm(inheritance.Greeter):
            def Greet(self, who: str) -> str:
                return "warm " + who

        class Cold(inheritance.Greeter):
            def Greet(self, who: str) -> str:
                return "cold " + who

        held = List[inheritance.Greeter]()
        held.Add(Warm())
        for other in (Cold, object, type("Plain", (), {})):
            with pytest.raises(TypeError, match="cannot change the class"):
                held[0].__class__ = other
        with pytest.raises(TypeError, match="cannot change the class"):
            object.__setattr__(held[0], "__class__", Cold)
        return held, weakref.ref(Warm)

    held, warm = make()
    _settle(clr)
    assert warm() is not None and type(held[0]) is warm() and held[0].__class__ is warm()
    assert isinstance(held[0], inheritance.Greeter)
    assert inheritance.Consumers.UseGreeter(held[0], "a") == "warm a warm a"
    held.Clear()
    del held
    _settle(clr)
    assert warm() is None
