"""Calls that compile in C# against real packages bind the same way here: overloads,
extension methods, generic methods and delegates (issue 28), one script per library."""

from __future__ import annotations

from .conftest import run_script


def test_quikgraph_netstandard_package_linq_is_not_ambiguous_with_itself() -> None:
    out = run_script("""
        clr.add_package("QuikGraph", "2.5.0", progress=False)
        import System.Linq
        from QuikGraph import AdjacencyGraph, Edge

        g = AdjacencyGraph[int, Edge[int]]()
        for a, b in [(1, 2), (2, 3), (1, 3)]:
            g.AddVerticesAndEdge(Edge[int](a, b))
        print(sorted(g.Vertices.Where(lambda v: v > 1)), g.Edges.Count(), g.Edges.First().Target)
    """)
    assert out.strip() == "[2, 3] 3 2"


def test_litedb_netstandard_package_linq_is_not_ambiguous_with_itself() -> None:
    out = run_script("""
        clr.add_package("LiteDB", "5.0.21", progress=False)
        import System.Linq
        from LiteDB import BsonArray, BsonValue

        arr = BsonArray()
        for n in (1, 2, 3):
            arr.Add(BsonValue(n))
        print(arr.Where(lambda v: v.AsInt32 > 1).Count(), arr.Last().AsInt32, arr.Skip(1).First().AsInt32)
    """)
    assert out.strip() == "2 3 2"


def test_bogus_pick_random_from_a_python_list_takes_the_array_overload() -> None:
    out = run_script("""
        clr.add_package("Bogus", "35.6.5", progress=False)
        from Bogus import Faker

        f = Faker()
        f.Random = __import__("Bogus").Randomizer(7)
        picks = {f.PickRandom([10, 20, 30]) for _ in range(50)}  # was: ambiguous List<T> / params T[]
        print(picks <= {10, 20, 30}, f.PickRandom((1, 2)) in (1, 2), f.Random.ListItem([4, 5]) in (4, 5))
        print(f.Random.CollectionItem(["a", "b"]) in ("a", "b"), len(list(f.PickRandom([1, 2, 3], 2))))
    """)
    assert out.split() == ["True"] * 4 + ["2"]
