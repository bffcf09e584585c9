"""The operations measured, written once per library.

Each library gets a namespace object (``Lib``) with the same .NET types bound its own way;
every operation is a factory ``make(lib) -> (fn, items)`` whose ``fn(n)`` performs the
operation ``n`` times (or, for bulk operations, once over ``items`` elements per call).
Only BCL types are used, so pythonnet needs no extra assembly.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Factory = Callable[[Any], Callable[[int], Any]]


@dataclass(frozen=True)
class Op:
    name: str
    unit: str  # what one "op" is: call, item, sort...
    items: int  # units per fn(1) call (1 for per-call operations)
    full: int  # fn(n) argument for a full run
    quick: int  # fn(n) argument for a quick run
    make: Factory
    group: str  # target group: overloaded, call, get, bulk, callback
    wall: bool = False  # timed by elapsed time only (the work runs on other threads)
    target: float | None = None  # this row's own ratio limit (else the group's)


class Lib:
    """The .NET types both libraries expose, bound once per process."""

    name: str

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "pyclrbridge":
            import pyclrbridge

            pyclrbridge.load()
        elif name == "pythonnet":
            import pythonnet

            pythonnet.load("coreclr")
            import clr  # noqa: F401  (pythonnet's import hook)
        else:
            raise ValueError(name)
        import System
        from System import Array, Comparison, Double, Int32, Math, String, Version
        from System.Collections.Generic import Dictionary, List
        from System.Text import StringBuilder
        from System.Threading import Thread

        self.System = System
        self.Math, self.String, self.Version = Math, String, Version
        self.Array, self.Int32, self.Double = Array, Int32, Double
        self.List, self.Dictionary, self.Comparison = List, Dictionary, Comparison
        self.StringBuilder, self.Thread = StringBuilder, Thread
        # Generic arguments: pyclrbridge takes Python types, pythonnet its own .NET ones.
        pn = name == "pythonnet"
        self.int_t = Int32 if pn else int
        self.float_t = Double if pn else float
        self.str_t = String if pn else str

    def int_array(self, items: list[int]) -> Any:
        return self.Array[self.int_t](items)

    def double_array(self, items: list[float]) -> Any:
        return self.Array[self.float_t](items)


def _abs(lib: Lib) -> Callable[[int], None]:
    Math = lib.Math

    def run(n: int) -> None:
        for _ in range(n):
            Math.Abs(-5)

    return run


def _max(lib: Lib) -> Callable[[int], None]:
    Math = lib.Math

    def run(n: int) -> None:
        for _ in range(n):
            Math.Max(1.5, 2.5)

    return run


def _concat(lib: Lib) -> Callable[[int], None]:
    String = lib.String

    def run(n: int) -> None:
        for _ in range(n):
            String.Concat("a", "b")

    return run


def _prop_get(lib: Lib) -> Callable[[int], None]:
    xs = lib.List[lib.int_t]()
    xs.Add(1)

    def run(n: int) -> None:
        for _ in range(n):
            xs.Count

    return run


def _string_prop_get(lib: Lib) -> Callable[[int], None]:
    from System import UriBuilder

    ub = UriBuilder("http://example.com/path")

    def run(n: int) -> None:
        for _ in range(n):
            ub.Host

    return run


def _static_prop_get(lib: Lib) -> Callable[[int], None]:
    from System import GC

    def run(n: int) -> None:
        for _ in range(n):
            GC.MaxGeneration

    return run


def _strong_box(lib: Lib) -> Any:
    from System.Runtime.CompilerServices import StrongBox

    return StrongBox[lib.int_t](1)  # a class with a public instance field: Value


def _field_get(lib: Lib) -> Callable[[int], None]:
    box = _strong_box(lib)

    def run(n: int) -> None:
        for _ in range(n):
            box.Value

    return run


def _field_set(lib: Lib) -> Callable[[int], None]:
    box = _strong_box(lib)

    def run(n: int) -> None:
        for _ in range(n):
            box.Value = 5

    return run


def _method_noargs(lib: Lib) -> Callable[[int], None]:
    from System import Random

    rnd = Random(1)

    def run(n: int) -> None:
        for _ in range(n):
            rnd.Next()

    return run


def _method_contains(lib: Lib) -> Callable[[int], None]:
    xs = lib.List[lib.int_t]()
    xs.Add(1)

    def run(n: int) -> None:
        for _ in range(n):
            xs.Contains(1)

    return run


def _new_sb(lib: Lib) -> Callable[[int], None]:
    StringBuilder = lib.StringBuilder

    def run(n: int) -> None:
        for _ in range(n):
            StringBuilder()

    return run


def _list_add(lib: Lib) -> Callable[[int], None]:
    xs = lib.List[lib.int_t]()

    def run(n: int) -> None:
        add = xs.Add
        for _ in range(n):
            add(1)
        xs.Clear()

    return run


def _iterate(count: int) -> Factory:
    def make(lib: Lib) -> Callable[[int], None]:
        xs = lib.List[lib.int_t]()
        for i in range(count):
            xs.Add(i)

        def run(n: int) -> None:
            for _ in range(n):
                for _x in xs:
                    pass

        return run

    return make


def _method_str(lib: Lib) -> Callable[[int], None]:
    d = lib.Dictionary[lib.str_t, lib.int_t]()
    d["key"] = 1

    def run(n: int) -> None:
        for _ in range(n):
            d.ContainsKey("key")

    return run


def _prop_set(lib: Lib) -> Callable[[int], None]:
    sb = lib.StringBuilder()

    def run(n: int) -> None:
        for _ in range(n):
            sb.Capacity = 64

    return run


def _const_get(lib: Lib) -> Callable[[int], None]:
    Math = lib.Math

    def run(n: int) -> None:
        for _ in range(n):
            Math.PI

    return run


def _ctor_args(lib: Lib) -> Callable[[int], None]:
    Version = lib.Version

    def run(n: int) -> None:
        for _ in range(n):
            Version(1, 2, 3, 4)

    return run


def _generic_method(lib: Lib) -> Callable[[int], None]:
    Array, int_t = lib.Array, lib.int_t

    def run(n: int) -> None:
        for _ in range(n):
            Array.Empty[int_t]()

    return run


def _indexer(lib: Lib) -> Callable[[int], None]:
    d = lib.Dictionary[lib.str_t, lib.int_t]()
    d["key"] = 1

    def run(n: int) -> None:
        for _ in range(n):
            d["key"]

    return run


def _int_indexer(lib: Lib) -> Callable[[int], None]:
    d = lib.Dictionary[lib.int_t, lib.int_t]()
    d[1] = 1

    def run(n: int) -> None:
        for _ in range(n):
            d[1]

    return run


_MILLION = 1_000_000


def _to_list(kind: str) -> Factory:
    def make(lib: Lib) -> Callable[[int], None]:
        arr = (
            lib.int_array(list(range(_MILLION)))
            if kind == "int"
            else lib.double_array([i * 0.5 for i in range(_MILLION)])
        )

        def run(n: int) -> None:
            for _ in range(n):
                out = list(arr)
            assert len(out) == _MILLION

        return run

    return make


def _from_list(kind: str) -> Factory:
    def make(lib: Lib) -> Callable[[int], None]:
        items: list[Any] = list(range(_MILLION)) if kind == "int" else [i * 0.5 for i in range(_MILLION)]
        build = lib.int_array if kind == "int" else lib.double_array

        def run(n: int) -> None:
            for _ in range(n):
                arr = build(items)
            assert arr.Length == _MILLION

        return run

    return make


def _list_from_range(lib: Lib) -> Callable[[int], None]:
    List, int_t = lib.List, lib.int_t

    def run(n: int) -> None:
        for _ in range(n):
            xs = List[int_t](range(_MILLION))
        assert xs.Count == _MILLION

    return run


_SORT_N = 10_000


def _callback_sort(lib: Lib) -> Callable[[int], None]:
    rng = random.Random(42)
    data = [rng.randrange(1_000_000) for _ in range(_SORT_N)]
    xs = lib.List[lib.int_t]()
    for x in data:
        xs.Add(x)
    comparer = lib.Comparison[lib.int_t](lambda a, b: (a > b) - (a < b))

    def run(n: int) -> None:
        for _ in range(n):
            xs.Reverse()  # unsorted enough to make every sort do real work
            xs.Sort(comparer)

    return run


_subclass_count = itertools.count()


def _override_sort(lib: Lib) -> Callable[[int], None]:
    """List.Sort calling the Compare of a Python class implementing IComparer<int>."""
    from System.Collections.Generic import IComparer

    rng = random.Random(42)
    xs = lib.List[lib.int_t]()
    for x in (rng.randrange(1_000_000) for _ in range(_SORT_N)):
        xs.Add(x)

    class Ascending(IComparer[lib.int_t]):  # type: ignore[misc,valid-type]
        __namespace__ = f"Benchmarks.Comparers{next(_subclass_count)}"  # pythonnet needs one, unique

        def Compare(self, a: int, b: int) -> int:
            return (a > b) - (a < b)

    comparer = Ascending()

    def run(n: int) -> None:
        for _ in range(n):
            xs.Reverse()
            xs.Sort(comparer)

    return run


_LINQ_ITEMS = 10


def _linq_source(lib: Lib) -> Any:
    import System.Linq  # noqa: F401  (the namespace in scope: C#'s `using System.Linq`)

    xs = lib.List[lib.int_t]()
    for i in range(_LINQ_ITEMS):
        xs.Add(i)
    return xs


def _linq_extension(lib: Lib) -> Callable[[int], None]:
    """xs.Where(f).Select(g).ToList(): extension methods called on the instances."""
    xs = _linq_source(lib)
    keep, double = (lambda x: x > 2), (lambda x: x * 2)
    xs.Where(keep).Select(double).ToList()  # unsupported spellings fail here, before timing

    def run(n: int) -> None:
        for _ in range(n):
            xs.Where(keep).Select(double).ToList()

    return run


def _linq_static(lib: Lib) -> Callable[[int], None]:
    """The same chain as static calls: Enumerable.ToList(Enumerable.Select(Enumerable.Where(xs, f), g))."""
    from System.Linq import Enumerable

    xs = _linq_source(lib)
    keep, double = (lambda x: x > 2), (lambda x: x * 2)
    Enumerable.ToList(Enumerable.Select(Enumerable.Where(xs, keep), double))

    def run(n: int) -> None:
        for _ in range(n):
            Enumerable.ToList(Enumerable.Select(Enumerable.Where(xs, keep), double))

    return run


_POOL_CALLBACKS = 100_000


def _pool_callbacks(lib: Lib) -> Callable[[int], None]:
    """A .NET thread-pool thread calls a Python ``Func[int, int]`` 100,000 times: ``Task.Run`` of
    a .NET delegate (``Enumerable.Sum`` bound to ``Enumerable.Select(range, f)``), so nothing but
    .NET runs between two callbacks. Timed by wall clock: the calling thread only waits."""
    from System import Delegate, Func, Type
    from System.Linq import Enumerable
    from System.Threading.Tasks import Task

    f = Func[lib.int_t, lib.int_t](lambda x: 1)
    query = Enumerable.Select(Enumerable.Range(0, _POOL_CALLBACKS), f)
    ienum = Type.GetType("System.Collections.Generic.IEnumerable`1").MakeGenericType(Type.GetType("System.Int32"))
    sum_method = Type.GetType("System.Linq.Enumerable, System.Linq").GetMethod("Sum", lib.Array[Type]([ienum]))
    func_type = Type.GetType("System.Func`1").MakeGenericType(Type.GetType("System.Int32"))
    work = Delegate.CreateDelegate(func_type, query, sum_method)

    def run(n: int) -> None:
        for _ in range(n):
            total = Task.Run[lib.int_t](work).Result
            assert total == _POOL_CALLBACKS

    return run


OPS: list[Op] = [
    Op("Math.Abs(-5)", "call", 1, 20_000, 2_000, _abs, "overloaded"),
    Op("Math.Max(1.5, 2.5)", "call", 1, 20_000, 2_000, _max, "overloaded"),
    Op('String.Concat("a", "b")', "call", 1, 20_000, 2_000, _concat, "overloaded"),
    Op("property get (List.Count)", "call", 1, 50_000, 5_000, _prop_get, "get", target=1.0),
    Op("StringBuilder()", "call", 1, 20_000, 2_000, _new_sb, "call"),
    Op("List[int].Add(1)", "call", 1, 50_000, 5_000, _list_add, "call"),
    Op("iterate List[int] (200,000)", "item", 200_000, 2, 1, _iterate(200_000), "bulk"),
    Op('instance method, str arg (ContainsKey("key"))', "call", 1, 20_000, 2_000, _method_str, "call"),
    Op("property set (sb.Capacity = 64)", "call", 1, 20_000, 2_000, _prop_set, "call", target=1.0),
    Op("static field get (Math.PI)", "call", 1, 50_000, 5_000, _const_get, "get", target=0.2),
    Op("string property get (UriBuilder.Host)", "call", 1, 50_000, 5_000, _string_prop_get, "get", target=1.3),
    Op("static property get (GC.MaxGeneration)", "call", 1, 50_000, 5_000, _static_prop_get, "get", target=0.5),
    Op("instance field get (StrongBox[int].Value)", "call", 1, 50_000, 5_000, _field_get, "get", target=1.0),
    Op("instance field set (box.Value = 5)", "call", 1, 50_000, 5_000, _field_set, "call", target=1.0),
    Op("instance method, no args (Random.Next())", "call", 1, 50_000, 5_000, _method_noargs, "call", target=0.3),
    Op(
        "instance method, int arg (List[int].Contains(1))",
        "call",
        1,
        50_000,
        5_000,
        _method_contains,
        "call",
        target=0.3,
    ),
    Op("ctor with args (Version(1, 2, 3, 4))", "call", 1, 20_000, 2_000, _ctor_args, "call"),
    Op("generic method (Array.Empty[int]())", "call", 1, 20_000, 2_000, _generic_method, "call"),
    Op('indexer get (Dictionary[str, int]["key"])', "call", 1, 20_000, 2_000, _indexer, "call", target=1.0),
    Op("int-keyed indexer get (Dictionary[int, int][1])", "call", 1, 20_000, 2_000, _int_indexer, "call", target=1.0),
    Op("iterate List[int] (100,000)", "item", 100_000, 3, 1, _iterate(100_000), "bulk"),
    Op("int[] -> list (1,000,000)", "item", _MILLION, 1, 1, _to_list("int"), "bulk"),
    Op("list -> int[] (1,000,000)", "item", _MILLION, 1, 1, _from_list("int"), "bulk"),
    Op("double[] -> list (1,000,000)", "item", _MILLION, 1, 1, _to_list("double"), "bulk"),
    Op("list -> double[] (1,000,000)", "item", _MILLION, 1, 1, _from_list("double"), "bulk"),
    Op("List[int](range(10**6))", "item", _MILLION, 1, 1, _list_from_range, "bulk"),
    Op(f"LINQ chain: extension spelling ({_LINQ_ITEMS} items)", "chain", 1, 2_000, 200, _linq_extension, "callback"),
    Op(f"LINQ chain: static spelling ({_LINQ_ITEMS} items)", "chain", 1, 2_000, 200, _linq_static, "callback"),
    Op("callback sort, 10,000 items (Comparison[int])", "sort", 1, 3, 1, _callback_sort, "callback"),
    Op("override sort, 10,000 items (Python IComparer[int] class)", "sort", 1, 3, 1, _override_sort, "callback"),
    Op(
        "callbacks entered on .NET pool threads",
        "callback",
        _POOL_CALLBACKS,
        3,
        1,
        _pool_callbacks,
        "callback",
        wall=True,
    ),
]

#: The CPU-bound call the thread benchmark repeats: Thread.SpinWait(SPIN) spins in .NET.
SPIN = 200_000
