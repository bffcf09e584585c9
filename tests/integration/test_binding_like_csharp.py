"""Calls that compile in C# against real packages bind the same way here: overloads,
extension methods, generic methods and delegates (issue 28), one script per library."""

from __future__ import annotations

import glob
import os

import pytest

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


def test_jint_calls_a_delegate_made_from_a_python_callable_by_its_method() -> None:
    out = run_script("""
        clr.add_package("Jint", "4.18.0", progress=False)
        from Jint import Engine
        from System import Func

        engine = Engine()
        engine.SetValue("add", Func[int, int, int](lambda a, b: a + b))  # Jint reads d.Method
        engine.SetValue("shout", Func[str, str](lambda s: s.upper() + "!"))
        print(engine.Evaluate("add(2, 3)").AsNumber(), engine.Evaluate("shout('hi')").AsString())
    """)
    assert out.split() == ["5.0", "HI!"]  # was: Invalid cast from 'System.Double' to 'TypedTarget'


def test_aspnetcore_minimal_api_binds_a_python_handler_by_its_method() -> None:
    """RequestDelegateFactory (minimal APIs) reads handler.Method's parameters and calls it on
    handler.Target: the shared framework beside the runtime, as a web app references it."""
    found = glob.glob("/usr/share/dotnet/shared/Microsoft.AspNetCore.App/*/") + glob.glob(
        os.path.expanduser("~/.dotnet/shared/Microsoft.AspNetCore.App/*/")
    )
    if not found:
        pytest.skip("the Microsoft.AspNetCore.App shared framework is not installed")
    out = run_script(f"""
        folder = {sorted(found)[-1]!r}
        for name in ("Microsoft.AspNetCore.Http.Abstractions", "Microsoft.AspNetCore.Http",
                     "Microsoft.AspNetCore.Http.Extensions", "Microsoft.AspNetCore.Http.Features",
                     "Microsoft.Extensions.Features", "Microsoft.Extensions.Primitives"):
            clr.add_reference(folder + name + ".dll")
        from Microsoft.AspNetCore.Http import DefaultHttpContext, QueryString, RequestDelegateFactory
        from System import Func
        from System.IO import MemoryStream

        handler = Func[str, int, str](lambda name, n: name * n)
        run = RequestDelegateFactory.Create(handler).RequestDelegate
        ctx = DefaultHttpContext()
        ctx.Request.QueryString = QueryString("?arg1=ab&arg2=3")  # Func's parameter names
        ctx.Response.Body = MemoryStream()
        run.Invoke(ctx).Wait()
        print(bytes(ctx.Response.Body.ToArray()).decode())
    """)
    assert out.strip() == "ababab"


def test_anglesharp_query_selector_all_with_a_type_argument_finds_the_generic_extension() -> None:
    out = run_script("""
        clr.add_package("AngleSharp", "1.10.4", progress=False)
        import AngleSharp.Dom  # using AngleSharp.Dom: QuerySelectorAll<TElement>(this IParentNode, ...)
        from AngleSharp.Html.Dom import IHtmlAnchorElement
        from AngleSharp.Html.Parser import HtmlParser

        doc = HtmlParser().ParseDocument('<p><a href="/x">x</a><b>b</b><a href="/y">y</a></p>')
        anchors = doc.QuerySelectorAll[IHtmlAnchorElement]("a")  # was: no generic overload with 1 type argument
        print([a.PathName for a in anchors], doc.QuerySelectorAll("a").Length)
    """)
    assert out.strip() == "['/x', '/y'] 2"


def test_memory_cache_set_with_a_python_object_infers_titem_object() -> None:
    out = run_script("""
        clr.add_package("Microsoft.Extensions.Caching.Memory", "10.0.0", progress=False)
        import Microsoft.Extensions.Caching.Memory  # using: CacheExtensions.Set<TItem>(...)
        from Microsoft.Extensions.Caching.Memory import MemoryCache, MemoryCacheOptions

        class Session:
            user = "ada"

        cache = MemoryCache(MemoryCacheOptions())
        session = Session()
        back = cache.Set("sess", session)  # was: no overload of CacheExtensions.Set accepts (...)
        print(back is session, cache.Get("sess") is session, cache.Get("sess").user)
    """)
    assert out.split() == ["True", "True", "ada"]


def test_memory_cache_get_or_create_async_takes_a_lambdas_task_of_string() -> None:
    out = run_script("""
        clr.add_package("Microsoft.Extensions.Caching.Memory", "10.0.0", progress=False)
        import Microsoft.Extensions.Caching.Memory
        from Microsoft.Extensions.Caching.Memory import MemoryCache, MemoryCacheOptions
        from System.Threading.Tasks import Task

        cache = MemoryCache(MemoryCacheOptions())
        # TItem is object (the lambda body cannot be read); its Task<string> is one Task<object>.
        print(cache.GetOrCreateAsync("k", lambda entry: Task.FromResult("v")).Result)  # was: cannot convert
        print(cache.GetOrCreateAsync("k", lambda entry: Task.FromResult("other")).Result)  # cached
    """)
    assert out.split() == ["v", "v"]


def test_bogus_rule_for_type_takes_ttype_from_a_return_annotation() -> None:
    out = run_script("""
        clr.add_package("Bogus", "35.6.5", progress=False)
        from Bogus import Faker
        from System import UriBuilder

        def word(f) -> str:  # C# reads TType from the lambda body; Python from the annotation
            return "example"

        made = Faker[UriBuilder]().RuleForType(str, word).Generate()
        print(made.Host, made.Scheme)
    """)
    assert out.split() == ["example", "example"]


def test_fluentvalidation_rule_chains_bind_extensions_on_the_declared_builder_interface() -> None:
    out = run_script("""
        clr.add_package("FluentValidation", "12.2.0", progress=False)
        import FluentValidation  # using FluentValidation: the rule builder extensions
        from FluentValidation import CascadeMode, InlineValidator
        from System import Func, UriBuilder
        from System.Linq.Expressions import Expression

        u = Expression.Parameter(UriBuilder, "u")
        host = Expression.Lambda[Func[UriBuilder, str]](Expression.Property(u, "Host"), u)
        v = InlineValidator[UriBuilder]()
        # RuleFor returns IRuleBuilderInitial, NotEmpty IRuleBuilderOptions: each picks its own
        # Cascade / When among the builder class's several interfaces (was: ambiguous).
        v.RuleFor(host).Cascade(CascadeMode.Stop).NotEmpty().When(lambda b: b.Port != 1)
        empty, skipped = UriBuilder(), UriBuilder()
        empty.Host, empty.Port = "", 80
        skipped.Host, skipped.Port = "", 1
        print(v.Validate(empty).IsValid, v.Validate(skipped).IsValid)
    """)
    assert out.split() == ["False", "True"]
