"""``python -m pyclrbridge.stress``: many threads, a mixed workload, every invariant checked.

Each worker thread repeatedly picks an operation at random (type lookup of a type never seen
before, namespace import, generic instantiation, delegate conversion for fresh ``Func`` types,
object creation and dropping, event add/remove, callbacks from .NET threads, ``add_reference``;
with ``--signals`` the main thread meanwhile makes ``SIGALRM`` handlers raise during callbacks)
and checks as it goes that:

* there is exactly one Python class per .NET type, whichever thread asked first;
* a class is complete the first time any thread sees it (its members equal the shim's table);
* results are the documented ones (a delegate returns what the callable returned, a callback
and at the end, after a full collection, that live handles and Python objects held by .NET
are back to their baseline and no handle was freed twice (``refused_frees`` stayed 0).

The same operations are the building blocks of the property tests
(``tests/test_concurrency_properties.py``): :class:`Workload` is importable.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import random
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _importer, load, release
from .host import typeinfo as _typeinfo
from .host.locks import SignalSafeLock
from .proxies import catalog as _catalog
from .proxies import enum_values as _enum_values
from .testing import contention

__all__ = ["InvariantViolation", "Report", "Workload", "expected_members", "main"]


class InvariantViolation(AssertionError):
    """A concurrency invariant did not hold."""


#: Namespaces whose assemblies the workload loads, so there are many types to discover.
NAMESPACES = (
    "System",
    "System.Collections",
    "System.Collections.Generic",
    "System.Collections.Concurrent",
    "System.Collections.Specialized",
    "System.Text",
    "System.Text.RegularExpressions",
    "System.IO",
    "System.Globalization",
    "System.Linq",
    "System.Net",
    "System.Threading",
    "System.Threading.Tasks",
)
#: .NET's messages when it refuses a type argument (ArgumentException, a ValueError here).
REFUSED_TYPE_ARGUMENT = ("violates the constraint", "may not be used as a type argument")
#: Python types the delegate operation uses for Func type arguments, with a sample value each.
DELEGATE_ARGS: tuple[tuple[type, Any], ...] = ((int, 7), (float, 2.5), (str, "s"), (bool, True))


def expected_members(type_id: int) -> frozenset[str]:
    """The member names the shim reports for a .NET type: the reference a class must match.

    A non-public class or struct (``List[SomeInternalType]`` too) deliberately shows only what
    its public base offers, inherited rather than in its own ``__dict__``: nothing is expected
    there (exceptions excepted: they always get their members).
    """
    info = _typeinfo.info(type_id)
    if not info.visible and info.kind in ("class", "struct") and not _is_exception(info):
        return frozenset()
    table = _typeinfo.members(type_id)
    names = set(table["methods"])
    names.update(p["name"] for p in table["properties"] if not p["index"])
    names.update(f["name"] for f in table["fields"])
    names.update(e["name"] for e in table["events"])
    names.update(n["name"].split("`")[0] for n in table["nested"])
    return frozenset(names)


def _is_exception(info: Any) -> bool:
    while info is not None:
        if info.full_name == "System.Exception":
            return True
        info = _typeinfo.info(info.base) if info.base else None
    return False


class Workload:
    """The stress operations, each callable from any thread, each checking its invariants.

    Args:
        runtime: the loaded runtime (``pyclrbridge.load()``).
        fixtures_dll: an assembly to ``add_reference`` concurrently (default: a BCL assembly
            by name).
        seed: seeds the order in which never-seen types are handed out.
    """

    def __init__(self, runtime: Any, *, fixtures_dll: str | None = None, seed: int = 0) -> None:
        self.runtime = runtime
        self.fixtures_dll = fixtures_dll
        runtime.add_reference("System.ObjectModel")  # ObservableCollection (events)
        runtime.add_reference("System.Threading.Tasks.Parallel")  # Parallel.For (callbacks)
        for ns in NAMESPACES:
            importlib.import_module(ns)
        ix = _importer.index(refresh=True)
        built = set(_catalog._complete)
        # Non-generic, non-nested public types of the BCL namespaces, not built yet.
        names = sorted(
            f
            for ns, by_short in ix.types.items()
            if ns.startswith("System")
            for fulls in by_short.values()
            for f in fulls
            if "`" not in f and "+" not in f
        )
        self.all_type_names: tuple[str, ...] = tuple(names)
        fresh = [n for n in names if _type_id(n) not in built]
        random.Random(seed).shuffle(fresh)
        # Owner: _fresh_lock hands each never-seen type name to one caller (next() is one step).
        self._fresh_lock = SignalSafeLock("pyclrbridge.stress._fresh_lock")
        self._fresh = iter(fresh)
        self.fresh_total = len(fresh)
        self.namespaces: tuple[str, ...] = tuple(sorted(ns for ns in ix.types if ns.startswith("System")))
        # Pure memos of first sight: setdefault / one store are single atomic dict operations.
        self._seen: dict[int, int] = {}
        self._complete_checked: dict[int, bool] = {}
        self.types: dict[str, Any] = {
            short: runtime.get_type(full)
            for short, full in [
                ("List", "System.Collections.Generic.List`1"),
                ("Func", "System.Func`1"),
                ("StringBuilder", "System.Text.StringBuilder"),
                ("Action", "System.Action`1"),
                ("Converter", "System.Converter`2"),
                ("Int32", "System.Int32"),
                ("ObservableCollection", "System.Collections.ObjectModel.ObservableCollection`1"),
                ("Parallel", "System.Threading.Tasks.Parallel"),
            ]
        }
        # The first Python subclass of a .NET type registers the trampoline its overrides call,
        # a Python object .NET holds for the life of the process: before any baseline is taken.
        self.derived_churn(1)

    # ---- invariant helpers -------------------------------------------------------------

    def check_class(self, cls: Any) -> Any:
        """One class per type (compared with every earlier sighting) and complete at first sight."""
        type_id = int(cls.__dict__["__clr_type_id__"])
        first = self._seen.setdefault(type_id, id(cls))
        if first != id(cls):
            raise InvariantViolation(f"two Python classes for .NET type {cls.__clr_name__} (id {type_id})")
        if type_id not in self._complete_checked:
            missing = expected_members(type_id) - set(cls.__dict__)
            if missing:
                raise InvariantViolation(f"{cls.__clr_name__} seen without members {sorted(missing)}")
            self._complete_checked[type_id] = True
        return cls

    def next_fresh(self) -> str | None:
        """A type name no caller got before (None when the supply ran out)."""
        _ = self._fresh_lock.taken
        try:
            return next(self._fresh, None)
        finally:
            self._fresh_lock.release()

    # ---- operations --------------------------------------------------------------------

    def lookup(self, name: str) -> str:
        """Type lookup by name (a fresh type builds its class now)."""
        cls = self.check_class(self.runtime.get_type(name))
        return str(cls.__clr_name__)

    def lookup_fresh(self, rng: random.Random) -> str:
        name = self.next_fresh() or rng.choice(self.all_type_names)
        return self.lookup(name)

    def import_namespace(self, ns: str) -> str:
        """Import a namespace and read one of its non-generic types from the module."""
        module = importlib.import_module(ns)
        if sys.modules[ns] is not module:
            raise InvariantViolation(f"two module objects for namespace {ns}")
        shorts = sorted(
            s
            for s, fulls in _importer.index().types.get(ns, {}).items()
            if any("`" not in f and "+" not in f for f in fulls)
        )
        if not shorts:
            return ns
        short = shorts[len(shorts) // 2]
        cls = self.check_class(getattr(module, short))
        if getattr(module, short) is not cls:
            raise InvariantViolation(f"{ns}.{short} changed between two reads")
        return str(cls.__clr_name__)

    def generic_list(self, element: Any) -> str:
        """``List[X]`` for a type X: one class per instantiation, usable at once."""
        List = self.types["List"]
        try:
            constructed = List[element]
        except TypeError as exc:  # documented: .NET refuses byref-like structs and Void as type arguments
            if not any(m in str(exc) for m in REFUSED_TYPE_ARGUMENT):
                raise
            return f"refused List[{getattr(element, '__clr_name__', element)}]"
        cls = self.check_class(constructed)
        if List[element] is not cls:
            raise InvariantViolation(f"List[{element}] gave two classes")
        self.check_class(List)
        if cls.__dict__.get("__clr_ctors__"):  # List[SomeInternalType] shows no constructor
            instance = cls()
            if instance.Count != 0:
                raise InvariantViolation("a new List is not empty")
        return str(cls.__clr_name__)

    def delegate(self, arg_types: Sequence[tuple[type, Any]], result: tuple[type, Any]) -> str:
        """A Python callable converted to ``Func[...]`` of the drawn types, then invoked."""
        types = [t for t, _ in arg_types] + [result[0]]
        func_cls = self.check_class(self.types["Func"][tuple(types)])
        seen: list[tuple[Any, ...]] = []

        def fn(*args: Any) -> Any:
            seen.append(args)
            return result[1]

        d = func_cls(fn)
        got = d.Invoke(*[v for _, v in arg_types])
        if got != result[1] or len(seen) != 1 or list(seen[0]) != [v for _, v in arg_types]:
            raise InvariantViolation(f"{func_cls.__clr_name__} returned {got!r} for {seen!r}")
        return str(func_cls.__clr_name__)

    def objects(self, n: int, release_every: int) -> int:
        """Create ``n`` objects, check them, release some explicitly and drop the rest."""
        List, StringBuilder = self.types["List"], self.types["StringBuilder"]

        made: list[Any] = []
        for i in range(n):
            sb = StringBuilder(f"x{i}")
            if sb.ToString() != f"x{i}" or str(sb) != f"x{i}" or hash(sb) != hash(sb):
                raise InvariantViolation("StringBuilder lost its text")
            lst = List[int]([i, i + 1])
            if lst.Count != 2:
                raise InvariantViolation("List[int] lost items")
            made += [sb, lst]
        for i, obj in enumerate(made):
            if release_every and i % release_every == 0:
                release(obj)
        del made
        return n

    def release_race(self, fresh: int) -> int:
        """``release(obj)`` while another thread calls ``obj``: the call either runs on ``obj`` or
        raises ValueError, and never reaches one of the ``fresh`` objects made right after."""
        StringBuilder = self.types["StringBuilder"]
        obj = StringBuilder()
        started = threading.Event()

        def use() -> None:
            started.set()
            for _ in range(100):
                try:
                    obj.Append("x")
                except ValueError:
                    return  # released

        user = threading.Thread(target=use)
        user.start()
        started.wait()
        release(obj)
        made = [StringBuilder() for _ in range(fresh)]
        user.join()
        changed = sum(1 for sb in made if sb.Length)
        if changed:
            raise InvariantViolation(f"a call on a released proxy changed {changed} newer object(s)")
        return fresh

    def signals(self, trials: int, *, build: bool = True) -> int:
        """Main thread only: a ``SIGALRM`` whose handler raises lands while .NET calls a Python
        converter (typed thunk) and comparer; every signal that lands during the call surfaces as
        the handler's exception, and a call that finishes has only the values Python returned.
        With ``build``, alarms also land while this thread builds classes and makes objects
        (locks, half-built classes); an alarm landing inside a weakref callback there is
        reported by CPython as "Exception ignored" (it cannot reach the code that raised it)."""
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
            return 0
        List, Converter, Int32 = self.types["List"], self.types["Converter"], self.types["Int32"]
        xs = List[Int32]([0] * 20_000)

        # The alarm raises only while armed: a signal that is delivered late (after the
        # timer was disarmed, or between two trials) must not escape this workload.
        armed = [False]

        def on_alarm(*_: Any) -> None:
            if armed[0]:
                raise TimeoutError("stress alarm")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        rng = random.Random(trials)
        try:
            for trial in range(trials):
                try:
                    try:
                        armed[0] = True
                        signal.setitimer(signal.ITIMER_REAL, 0.0005 + 0.0002 * (trial % 10))
                        ys = xs.ConvertAll[Int32](Converter[Int32, Int32](lambda x: 1))
                        armed[0] = False
                        if any(v != 1 for v in ys):
                            raise InvariantViolation("a callback interrupted by a signal gave .NET a garbage value")
                    finally:
                        armed[0] = False
                        signal.setitimer(signal.ITIMER_REAL, 0)
                except TimeoutError:
                    pass  # the signal surfaced
                if not build:
                    continue
                # The same while this thread builds classes and registers objects: the alarm
                # lands at random points of the lock sites (the locks must not stay held, and a
                # class interrupted mid-build must not be published).
                try:
                    try:
                        armed[0] = True
                        signal.setitimer(signal.ITIMER_REAL, 0.00005 + 0.00005 * (trial % 20))
                        for _ in range(20):
                            self.lookup_fresh(rng)
                            self.objects(5, 2)
                    finally:
                        armed[0] = False
                        signal.setitimer(signal.ITIMER_REAL, 0)
                except TimeoutError:
                    pass
        finally:
            signal.signal(signal.SIGALRM, previous)
        return trials

    def events(self, handlers: int) -> int:
        """Add ``handlers`` event handlers, raise once, remove them all, raise again."""
        collection = self.types["ObservableCollection"][int]()
        calls = [0] * handlers
        fns = []
        for k in range(handlers):

            def handler(sender: Any, args: Any, k: int = k) -> None:
                calls[k] += 1

            fns.append(handler)
            collection.CollectionChanged += handler
        collection.Add(1)
        for fn in fns:
            collection.CollectionChanged -= fn
        collection.Add(2)
        if calls != [1] * handlers:
            raise InvariantViolation(f"event handlers ran {calls} times, expected once each")
        return handlers

    def callbacks(self, n: int) -> int:
        """``Parallel.For`` calls a Python function from .NET worker threads ``n`` times."""
        Action, Parallel = self.types["Action"], self.types["Parallel"]
        # Owner: lock guards the list the .NET threads append to (one list per operation).
        lock = SignalSafeLock("pyclrbridge.stress.lock")
        got: list[int] = []

        def body(i: int) -> None:
            _ = lock.taken
            try:
                got.append(i)
            finally:
                lock.release()

        Parallel.For(0, n, Action[int](body))
        if sorted(got) != list(range(n)):
            raise InvariantViolation(f"Parallel.For callbacks: got {len(got)} calls, expected {n}")
        return n

    def bulk_mixed(self, rng: random.Random, n: int) -> int:
        """Bulk reads (iteration, ``list()``, ``ToArray``, slices) of an ArrayList mixing strings,
        numbers, decimals, nulls, bytes, Python objects and values of enums and structs whose
        classes are not built yet (converting them calls .NET in the middle of a chunk): each
        read equals the element-by-element one."""
        import decimal

        get = self.runtime.get_type
        Array, Enum, Type = get("System.Array"), get("System.Enum"), get("System.Type")
        ArrayList = get("System.Collections.ArrayList")
        al = ArrayList()
        keep: list[Any] = []
        for i in range(n):
            kind = rng.randrange(8)
            if kind == 0:
                al.AddRange(ArrayList(Enum.GetValues(_fresh_enum(self.runtime))).GetRange(0, 1))
            elif kind == 1:
                pair = Type.GetType("System.ValueTuple`2")
                vt = pair.MakeGenericType(_fresh_enum(self.runtime), Type.GetType("System.Int32"))
                al.AddRange(Array.CreateInstance(vt, 1))
            elif kind == 2:
                keep.append(object())
                al.Add(keep[-1])
            elif kind == 3:
                al.Add(bytes([i % 256]) * rng.randrange(4))
            else:
                al.Add(
                    rng.choice([f"string {i} " * rng.randrange(1, 6), i * 7919, i / 3, None, decimal.Decimal(i) / 8])
                )
        path = rng.choice(["iteration", "list", "ToArray", "slice"])
        if path == "iteration":
            got = [x for x in al]
        elif path == "list":
            got = list(al)
        elif path == "ToArray":
            got = list(al.ToArray())
        else:
            got = al.ToArray()[0 : al.Count]
        for i, x in enumerate(got):
            y = al[i]
            same = type(x) is type(y) and (
                x is y or (str(x) == str(y) if getattr(type(x), "__clr_name__", None) else x == y)
            )
            if not same:
                raise InvariantViolation(f"bulk {path}: item {i} read {x!r}, one by one {y!r}")
        return n

    def add_reference(self) -> str:
        """``add_reference`` of the same assembly from many threads: always the same answer."""
        info = self.runtime.add_reference(self.fixtures_dll or "System.ObjectModel")
        return str(info.full_name)

    def derived_churn(self, rounds: int) -> int:
        """Python classes deriving from .NET types, made and dropped ``rounds`` times, with a
        constructed generic, an array and a delegate type over each (only they keep the class
        alive), and finalizers that call Python overrides when .NET collects the objects."""
        get = self.runtime.get_type
        icomparer, component = get("System.Collections.Generic.IComparer`1"), get("System.ComponentModel.Component")
        list_, array, func = self.types["List"], get("System.Array"), self.types["Func"]
        for _ in range(rounds):

            class ByLength(icomparer[str]):  # type: ignore[misc, valid-type]
                def Compare(self, a: str, b: str) -> int:
                    return len(a) - len(b)

            class Part(component):  # type: ignore[misc, valid-type]
                def Dispose(self, disposing: bool) -> None:  # .NET's finalizer calls it
                    pass

            words = list_[str](["ccc", "a", "bb"])
            words.Sort(ByLength())
            if list(words) != ["a", "bb", "ccc"]:
                raise InvariantViolation(f"Sort with a Python IComparer gave {list(words)}")
            built = (list_[ByLength](), array[ByLength](2), func[ByLength](lambda: None))
            del ByLength
            Part()
            del Part
            if (built[0].Count, built[1].Length, built[2]()) != (0, 2, None):
                raise InvariantViolation("a type built from a Python class changed after the class's name was gone")
        return rounds

    # ---- random mix (the stress tool) -------------------------------------------------

    def random_operation(self, rng: random.Random) -> tuple[str, Callable[[], Any]]:
        kind = rng.choices(
            [
                "lookup",
                "import",
                "generic",
                "delegate",
                "objects",
                "events",
                "callbacks",
                "add_reference",
                "release_race",
                "bulk_mixed",
                "derived_churn",
            ],
            weights=[4, 2, 3, 3, 4, 2, 2, 1, 1, 2, 1],
        )[0]
        if kind == "lookup":
            return kind, lambda: self.lookup_fresh(rng)
        if kind == "import":
            ns = rng.choice(self.namespaces)
            return kind, lambda: self.import_namespace(ns)
        if kind == "generic":
            element = (
                rng.choice([int, float, str, bool, object])
                if rng.random() < 0.3
                else self.runtime.get_type(rng.choice(self.all_type_names))
            )
            return kind, lambda: self.generic_list(element)
        if kind == "delegate":
            args = [rng.choice(DELEGATE_ARGS) for _ in range(rng.randint(0, 6))]
            result = rng.choice(DELEGATE_ARGS)
            return kind, lambda: self.delegate(args, result)
        if kind == "objects":
            return kind, lambda: self.objects(rng.randint(1, 20), rng.choice([0, 1, 2, 3]))
        if kind == "events":
            return kind, lambda: self.events(rng.randint(1, 4))
        if kind == "callbacks":
            return kind, lambda: self.callbacks(rng.randint(1, 64))
        if kind == "release_race":
            return kind, lambda: self.release_race(rng.randint(1, 30))
        if kind == "bulk_mixed":
            return kind, lambda: self.bulk_mixed(rng, rng.randint(1, 200))
        if kind == "derived_churn":
            return kind, lambda: self.derived_churn(rng.randint(1, 3))
        return kind, self.add_reference


def _type_id(name: str) -> int:
    return _typeinfo.id_by_name(name)


# bulk_mixed's supply of enum types whose classes are probably not built: assembly-qualified
# names (strings: the supply holds no .NET object, so no handle outlives the run).
# Owner: _enum_lock (filled once, popped by any worker; when it runs out, it is filled again).
_enum_lock = SignalSafeLock("pyclrbridge.stress._enum_lock")
_enum_supply: list[str] = []


def _fresh_enum(runtime: Any) -> Any:
    """A System.Type of an enum whose Python class is probably not built yet."""
    AppDomain, Type = runtime.get_type("System.AppDomain"), runtime.get_type("System.Type")

    while True:
        _ = _enum_lock.taken
        try:
            if not _enum_supply:
                _enum_supply.extend(
                    t.AssemblyQualifiedName
                    for a in AppDomain.CurrentDomain.GetAssemblies()
                    if not a.IsDynamic and not a.IsCollectible
                    for t in a.GetExportedTypes()
                    if t.IsEnum and not t.ContainsGenericParameters and t.GetEnumNames().Length
                )
            name = _enum_supply.pop()
        finally:
            _enum_lock.release()
        found = Type.GetType(name)  # None for a type of an assembly loaded only by path
        if found is not None:
            return found


@dataclass
class Report:
    """What a stress run did: operations per kind, seconds, failures (thread, operation, text)."""

    seconds: float = 0.0
    operations: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.operations.values())


def run(
    workload: Workload,
    *,
    threads: int,
    seconds: float,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    signals: bool = False,
) -> Report:
    """Run the mixed workload on ``threads`` threads for ``seconds``, then check the end state.
    ``signals``: the main thread meanwhile runs :meth:`Workload.signals`."""
    report = Report()
    # Owner: report_lock guards report.operations and report.failures (many writers).
    report_lock = SignalSafeLock("pyclrbridge.stress.report_lock")
    workload.runtime.collect()
    before = workload.runtime.stats()
    enum_values_before = len(_enum_values._enum_values)
    barrier = threading.Barrier(threads + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        counts: Counter[str] = Counter()
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            kind, op = workload.random_operation(rng)
            try:
                op()
                counts[kind] += 1
            except BaseException:
                _ = report_lock.taken
                try:
                    report.failures.append((threading.current_thread().name, kind, traceback.format_exc()))
                finally:
                    report_lock.release()
        _ = report_lock.taken
        try:
            report.operations.update(counts)
        finally:
            report_lock.release()

    workers = [threading.Thread(target=worker, args=(i,), name=f"stress-{i}", daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    start = time.perf_counter()
    deadline[0] = start + seconds
    barrier.wait()
    signal_rounds = 0
    while signals and time.perf_counter() < deadline[0]:  # the main thread: signals in callbacks
        try:
            signal_rounds += workload.signals(5)
        except BaseException:
            report.failures.append(("main", "signal", traceback.format_exc()))
        if not signal_rounds:
            break  # no signals here (not the main thread, or no setitimer)
    if signal_rounds:
        _ = report_lock.taken
        try:
            report.operations["signal"] += signal_rounds
        finally:
            report_lock.release()
    for w in workers:
        w.join(timeout=max(0.0, deadline[0] + STUCK_SECONDS - time.perf_counter()))
    stuck = [w.name for w in workers if w.is_alive()]
    if stuck:  # a lock left held (or a deadlock): report it instead of waiting for ever
        held = [lock.name for lock in _held_locks()]
        report.failures.append(("main", "end state", f"threads {stuck} stuck; locks held: {held or 'none'}"))
        report.seconds = time.perf_counter() - start
        return report
    if _catalog._in_progress:
        report.failures.append(("main", "end state", f"half-built classes left: {sorted(_catalog._in_progress)}"))
    held = [lock.name for lock in _held_locks()]
    if held:
        report.failures.append(("main", "end state", f"locks still held after every thread ended: {held}"))
    report.seconds = time.perf_counter() - start
    workload.runtime.collect()
    workload.runtime.collect()
    after = workload.runtime.stats()
    cached_handles = len(_enum_values._enum_values) - enum_values_before
    report.final = {"before": before, "after": after, "cached_enum_handles": cached_handles}
    if after["refused_frees"] != before["refused_frees"]:
        report.failures.append(
            (
                "main",
                "end state",
                f"{after['refused_frees'] - before['refused_frees']} handle(s) freed twice (refused_frees grew)",
            )
        )
    leaked = after["live_handles"] - before["live_handles"] - cached_handles
    if leaked != 0:
        report.failures.append(
            (
                "main",
                "end state",
                f"live handles off baseline by {leaked} after collect() "
                f"(before {before['live_handles']}, after {after['live_handles']}, "
                f"{cached_handles} held by the enum value cache)",
            )
        )
    if after["python_objects_held"] > before["python_objects_held"]:
        report.failures.append(
            (
                "main",
                "end state",
                "Python objects still held by .NET after collect(): "
                f"{before['python_objects_held']} -> {after['python_objects_held']}",
            )
        )
    if after["callbacks_in_flight"] != 0:
        report.failures.append(("main", "end state", f"{after['callbacks_in_flight']} callbacks still in flight"))
    return report


#: How long after the deadline a worker may still be running before it counts as stuck.
STUCK_SECONDS = 120.0


def _held_locks() -> list[SignalSafeLock]:
    """The package's module-level locks that some thread holds now (probed without blocking)."""
    held: list[SignalSafeLock] = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("pyclrbridge") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, SignalSafeLock) and all(value is not h for h in held):
                if value.acquire(False):  # False: another thread holds it
                    value.release()
                    if value.held_by_me():  # reentrant and held by this thread further up
                        held.append(value)
                else:
                    held.append(value)
    return held


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m pyclrbridge.stress``. Returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m pyclrbridge.stress", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--signals", action="store_true", help="the main thread makes SIGALRM handlers raise during callbacks meanwhile"
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=1e-6,
        help="sys.setswitchinterval during the run on GIL builds (default 1e-6)",
    )
    parser.add_argument(
        "--assembly",
        default=os.environ.get("FIXTURES_DLL"),
        help="an assembly to add_reference concurrently (default: System.ObjectModel)",
    )
    args = parser.parse_args(argv)
    if args.threads < 1 or args.seconds <= 0:
        parser.error("--threads must be >= 1 and --seconds > 0")

    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    runtime = load()
    print(
        f"pyclrbridge stress: {args.threads} threads, {args.seconds:g} s, Python {sys.version.split()[0]} "
        f"({'GIL' if gil else 'free-threaded'}), .NET {runtime.version}",
        flush=True,
    )
    workload = Workload(runtime, fixtures_dll=args.assembly, seed=args.seed)
    print(f"  {workload.fresh_total} never-built types available for fresh lookups", flush=True)
    with contention(args.switch_interval) if gil else contextlib.nullcontext():
        report = run(workload, threads=args.threads, seconds=args.seconds, seed=args.seed, signals=args.signals)
    rate = report.total / report.seconds if report.seconds else 0.0
    print(f"  {report.total} operations in {report.seconds:.1f} s: {rate:,.0f} operations/s")
    for kind, count in sorted(report.operations.items()):
        print(f"    {kind:<14} {count:>9}  ({count / report.seconds:,.0f}/s)")
    after = report.final["after"]
    print(
        f"  end state: live_handles {report.final['before']['live_handles']} -> {after['live_handles']} "
        f"({report.final['cached_enum_handles']} cached enum values), refused_frees {after['refused_frees']}, "
        f"python_objects_held {after['python_objects_held']}, cached_classes {after['cached_classes']}, "
        f"callbacks {after['callbacks']}"
    )
    for thread, kind, text in report.failures:
        print(f"FAILURE in {kind} on {thread}:\n{text}", file=sys.stderr)
    print(f"  {len(report.failures)} failure(s)")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
