"""Extension methods called on instances once their namespace is in scope (C#'s ``using``)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def ext(fixtures: Any) -> Any:
    import Fixtures.Extensions as ext  # the import puts the namespace's extension methods in scope

    return ext


def test_linq_chain_on_a_list(clr: Any) -> None:
    import System.Linq  # noqa: F401
    from System.Collections.Generic import List

    xs = List[int]([1, 2, 3, 4])
    assert list(xs.Where(lambda x: x > 1).Select(lambda x: x * 2).ToList()) == [4, 6, 8]


def test_linq_aggregates_on_a_list(clr: Any) -> None:
    import System.Linq  # noqa: F401
    from System.Collections.Generic import List

    xs = List[int]([3, 1, 2])
    assert (xs.Sum(), xs.Max(), xs.First()) == (6, 3, 3)


def test_an_extension_method_without_arguments(ext: Any) -> None:
    assert ext.Gadget().Doubled() == 6


def test_instance_member_wins_over_an_extension_of_the_same_shape(ext: Any) -> None:
    assert ext.Gadget().Describe() == "instance"


def test_extension_is_used_when_no_instance_overload_fits(ext: Any) -> None:
    g = ext.Gadget()
    assert g.Accept("a") == "instance a"
    assert g.Accept(5) == "extension 5"


def test_overloads_from_two_extension_classes_resolve_together(ext: Any) -> None:
    g = ext.Gadget()
    assert (g.Tag(1), g.Tag("x")) == ("int 1", "str x")


def test_extension_on_a_base_class_applies_to_a_derived_object(ext: Any) -> None:
    assert ext.BigGadget().Doubled() == 6


def test_extension_on_an_interface(ext: Any) -> None:
    assert ext.Square().Kind() == "shape Square"


def test_generic_extension_infers_from_the_receiver(ext: Any) -> None:
    assert ext.Box[str]("inside").Unwrap() == "inside"


def test_generic_extension_with_explicit_type_arguments(ext: Any) -> None:
    r = ext.ServiceRegistry().Register[ext.IGreeter, ext.Greeter]()
    assert list(r.Entries) == ["IGreeter->Greeter"]


def test_extension_does_not_apply_to_an_unrelated_type(ext: Any) -> None:
    with pytest.raises(AttributeError, match="Doubled"):
        ext.Square().Doubled()


def test_dir_lists_extension_methods_that_apply(ext: Any) -> None:
    names = dir(ext.Gadget())
    assert {"Doubled", "Tag", "Describe"} <= set(names)
    assert "Kind" not in names


def test_help_text_lists_the_extension_overloads(ext: Any) -> None:
    doc = ext.Gadget().Tag.__doc__
    assert "static Tag(g: Gadget, n: int) -> str" in doc and "static Tag(g: Gadget, s: str) -> str" in doc


def test_a_namespace_not_in_scope_adds_nothing_until_clr_extensions(fixtures: Any, ext: Any) -> None:
    g = ext.Gadget()
    assert not hasattr(g, "OnlyWhenUsed")
    assert "Fixtures.Extensions.Scoped" in fixtures.extensions("Fixtures.Extensions.Scoped")
    assert g.OnlyWhenUsed() == "in scope"


def test_clr_extensions_of_an_unknown_namespace_is_a_lookup_error(clr: Any) -> None:
    with pytest.raises(LookupError, match=r"No\.Such\.Namespace"):
        clr.extensions("No.Such.Namespace")


def test_private_attribute_names_are_never_extensions(ext: Any) -> None:
    with pytest.raises(AttributeError):
        ext.Gadget()._missing


def test_a_method_forwarded_by_netstandard_is_one_extension_candidate() -> None:
    """netstandard.dll forwards System.Linq.Enumerable (and Queryable): every LINQ method is
    reachable through two assemblies but is one method, so never ambiguous with itself."""
    from conftest import assert_clean_exit, run_python

    proc = run_python("""
        import pyclrbridge
        clr = pyclrbridge.load()
        clr.add_reference("netstandard")
        import System.Linq
        from System.Collections.Generic import List
        from System.Linq import Queryable

        xs = List[int]([1, 2, 3])
        print(list(xs.Where(lambda x: x > 1)), xs.Where(lambda x: x > 1).Count(), xs.First())
        q = Queryable.AsQueryable(xs)
        print(q.Count(), q.First(), q.Skip(1).Last())
    """)
    assert_clean_exit(proc)
    assert proc.stdout.split("\n")[:2] == ["[2, 3] 2 1", "3 1 3"]


def test_explicit_type_arguments_fall_through_to_a_generic_extension_method(clr: Any) -> None:
    """C# looks for ``list.ToArray<int>()`` among the extension methods when the instance
    methods of that name take no type arguments (List<T>.ToArray() does not)."""
    import System.Linq  # noqa: F401  (using System.Linq)
    from System.Collections.Generic import List

    xs = List[int]([3, 1, 2])
    assert list(xs.ToArray[int]()) == [3, 1, 2]  # was: has no generic overload with 1 type argument(s)
    assert list(xs.Reverse[int]()) == [2, 1, 3]  # Enumerable.Reverse<T>, not List<T>.Reverse()
    assert list(xs) == [3, 1, 2]  # the instance Reverse() did not run
    with pytest.raises(TypeError, match="no generic overload with 2 type argument"):
        xs.ToArray[int, str]


def test_extensions_bind_on_the_interface_a_method_declared_it_returns(fixtures: Any) -> None:
    """C# picks extension methods by the declared (static) type: Start() returns IFirstStage,
    Advance() ISecondStage, though one Stages object implements both."""
    from Fixtures.Binding import StageFactory, Stages

    assert StageFactory.Start().Next() == "first"  # was: ambiguous between Next(IFirstStage), Next(ISecondStage)
    assert StageFactory.Start().Advance().Next() == "second"
    with pytest.raises(TypeError, match="ambiguous"):
        Stages().Next()  # a Stages object as such: ambiguous in C# too


def test_declared_types_stay_right_across_threads_and_dying_proxies(fixtures: Any) -> None:
    """Many threads make, use and drop builders at once (ids of dead proxies are reused):
    each value is bound by the type its own call declared."""
    import gc

    from Fixtures.Binding import StageFactory

    from pyclrbridge.testing import run_concurrently

    def work(i: int) -> list[str]:
        seen = []
        for k in range(300):
            first = StageFactory.Start()
            second = first.Advance()
            seen.append(first.Next() + second.Next())
            del first, second
            if k % 50 == i % 50:
                gc.collect()
        return sorted(set(seen))

    assert run_concurrently(work, 4, pass_index=True) == [["firstsecond"]] * 4
