"""The stress operations (:class:`Workload`): each callable from any thread, each checking its
invariants as it goes. ``python -m pyclrbridge.stress`` runs them (:mod:`._stress_run`); the
property tests draw them (``tests/test_concurrency_properties.py``)."""

from __future__ import annotations

import importlib
import random
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from . import _importer, release
from ._stress_checks import (
    DELEGATE_ARGS,
    NAMESPACES,
    REFUSED_TYPE_ARGUMENT,
    InvariantViolation,
    _fresh_enum,
    _type_id,
    expected_members,
)
from .host.locks import SignalSafeLock
from .proxies import catalog as _catalog


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
