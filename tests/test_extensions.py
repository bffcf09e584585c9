"""Extension methods called on instances once their namespace is in scope (C#'s ``using``)."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import assert_clean_exit, run_python


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


def test_proxy_classes_have_no_getattr_hook(ext: Any) -> None:
    """A ``__getattr__`` on the proxies' root would send every attribute read of every object
    through a Python-level hook (and stop CPython 3.12+ from specialising those reads):
    extension methods are attributes of the root class instead."""
    # In a fresh process: importing pyclrbridge.compat (as other tests do) installs the hook
    # pythonnet's accessors need, for the rest of the process.
    proc = run_python(
        """
        import pyclrbridge
        clr = pyclrbridge.load()
        from System.Collections.Generic import List
        from System.Linq import Enumerable
        from System.Text import StringBuilder
        xs = List[int]()
        xs.Add(2)
        for cls in (StringBuilder, List[int], type(Enumerable.Range(0, 1))):
            print(cls.__name__, getattr(cls, "__getattr__", None))
        print("extension", list(xs.Select(lambda x: x * 3)))
        """
    )
    assert_clean_exit(proc)
    lines = proc.stdout.splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines[:3]] == ["None"] * 3, proc.stdout  # was: ClrObject.__getattr__
    assert lines[3] == "extension [6]", proc.stdout  # and the extensions still bind
    assert ext.Gadget().Doubled() == 6


def test_a_missing_attribute_is_python_s_attribute_error(ext: Any) -> None:
    from System.Text import StringBuilder

    with pytest.raises(AttributeError, match="'StringBuilder' object has no attribute 'Lenght'"):
        StringBuilder().Lenght
    with pytest.raises(AttributeError, match="'StringBuilder' object has no attribute 'Doubled'"):
        StringBuilder().Doubled  # an extension name that does not fit the object
    with pytest.raises(AttributeError, match="type object 'Gadget' has no attribute 'Doubled'"):
        ext.Gadget.Doubled  # an extension is no attribute of a class
    assert not hasattr(StringBuilder(), "Doubled")
    assert getattr(StringBuilder(), "Doubled", "default") == "default"


def test_a_python_base_after_the_net_base_wins_over_an_extension_name(ext: Any) -> None:
    """class C(NetClass, Mixin): ordinary lookup reaches Mixin's attribute before any extension."""

    class Mixin:
        def Doubled(self) -> str:
            return "mixin"

        Kind = "mixin attribute"

    class Mine(ext.Gadget, Mixin):
        pass

    m = Mine()
    assert m.Doubled() == "mixin"  # Gadget has an extension Doubled in scope: the mixin still wins
    assert m.Kind == "mixin attribute" and Mine.Kind == "mixin attribute"


def test_extension_methods_of_an_assembly_loaded_after_the_object_was_made() -> None:
    """System.Collections.Immutable.dll is loaded by its import, after List[int]'s class and
    object exist: its extension method names become attributes of every proxy then."""
    from conftest import assert_clean_exit, run_python

    proc = run_python("""
        import pyclrbridge
        clr = pyclrbridge.load()
        from System import AppDomain
        from System.Collections.Generic import List
        xs = List[int]([3, 1, 2])
        def loaded():
            return "System.Collections.Immutable" in [a.GetName().Name for a in AppDomain.CurrentDomain.GetAssemblies()]
        print(loaded(), hasattr(xs, "ToImmutableList"))
        import System.Collections.Immutable
        print(loaded(), list(xs.ToImmutableList()), hasattr(xs, "ToImmutableList"))
    """)
    assert_clean_exit(proc)
    lines = proc.stdout.split("\n")
    assert lines[0] == "False False", proc.stdout  # not loaded before the import
    assert lines[1] == "True [3, 1, 2] True", proc.stdout


def test_a_proxy_whose_handle_slot_was_never_set_dies_silently(fixtures_dll: Any) -> None:
    """The proxies' finalizer reads the handle slot itself: an empty slot (a signal between
    allocation and the slot's store, a failed constructor) frees nothing and prints nothing."""
    from conftest import assert_clean_exit, run_python

    proc = run_python(
        """
        import gc, os
        import pyclrbridge
        clr = pyclrbridge.load()
        clr.add_reference(os.environ["FIXTURES_DLL"])
        from System.Text import StringBuilder
        from Fixtures.Extensions import Gadget
        for _ in range(100):
            StringBuilder.__new__(StringBuilder)
        class Mine(Gadget):
            def __init__(self, bad):
                raise ValueError("refused before the .NET base was made")
        for _ in range(10):
            try:
                Mine(1)
            except ValueError:
                pass
        gc.collect()
        print("done", clr.stats()["live_handles"] >= 0)
        """,
        fixtures_dll=fixtures_dll,
    )
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "done True"
    assert "Exception ignored" not in proc.stderr, proc.stderr


def test_dynamic_members_still_come_before_extension_names(fixtures: Any) -> None:
    """An ExpandoObject is enumerable, so LINQ's names (Count, First...) are extensions that fit:
    its own members of those names are still what reading and writing reach."""
    import System.Linq  # noqa: F401
    from System.Dynamic import ExpandoObject

    e = ExpandoObject()
    e.Count = 5
    e.First = "mine"
    assert (e.Count, e.First) == (5, "mine")


def test_extension_names_installed_while_other_threads_read_them(ext: Any) -> None:
    """Threads re-sync the extension names (as imports and class builds do) while others read
    extension attributes, instance members and missing names: every read gives its one answer."""
    import System.Linq  # noqa: F401
    from System.Collections.Generic import List

    from pyclrbridge.proxies import base, extensions
    from pyclrbridge.testing import run_concurrently

    def work(i: int) -> int:
        xs = List[int]([1, 2, 3])
        g = ext.Gadget()
        done = 0
        for k in range(200):
            if i % 2 == 0:
                extensions._synced[0] = -1  # as if an assembly had loaded: install again
                extensions.sync()
                base.install_extension_names(["Doubled", "Where", f"NoSuchExtension{k % 3}"])
            assert xs.Sum() == 6 and list(xs.Where(lambda x: x > 1)) == [2, 3]
            assert g.Doubled() == 6 and g.Describe() == "instance"
            assert not hasattr(xs, "Doubled") and not hasattr(g, f"NoSuchExtension{k % 3}")
            done += 1
        return done

    assert run_concurrently(work, threads=6, pass_index=True) == [200] * 6
