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
    with pytest.raises(Exception, match="was collected"):
        Activator.CreateInstance(types[0])


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
