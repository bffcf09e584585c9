"""Scripts a user would write against real NuGet packages, one domain each."""

from __future__ import annotations

from .conftest import run_script


def test_json_newtonsoft_round_trip() -> None:
    out = run_script("""
        clr.add_package("Newtonsoft.Json", "13.0.3", progress=False)
        from Newtonsoft.Json import JsonConvert
        from Newtonsoft.Json.Linq import JObject
        from System.Collections.Generic import Dictionary

        d = Dictionary[str, int]()
        d["apples"] = 3
        text = JsonConvert.SerializeObject(d)
        print(text)
        print(JObject.Parse('{"name": "Ada", "langs": ["en", "fr"]}')["langs"].Count)
    """)
    assert out.split() == ['{"apples":3}', "2"]


def test_dates_nodatime_periods() -> None:
    out = run_script("""
        clr.add_package("NodaTime", "3.3.7", progress=False)
        from NodaTime import LocalDate, Period

        start, end = LocalDate(2024, 1, 31), LocalDate(2024, 3, 1)
        p = Period.Between(start, end)
        print(p.Months, p.Days, start.PlusMonths(1).Day, end.DayOfWeek)
    """)
    assert out.split() == ["1", "1", "29", "Friday"]


def test_csv_csvhelper_reads_rows() -> None:
    out = run_script("""
        clr.add_package("CsvHelper", "33.1.0", progress=False)
        from CsvHelper import CsvReader
        from System.Globalization import CultureInfo
        from System.IO import StringReader

        with CsvReader(StringReader("name,qty\\napple,3\\npear,5\\n"), CultureInfo.InvariantCulture) as csv:
            csv.Read()
            csv.ReadHeader()
            rows = []
            while csv.Read():
                rows.append((csv.GetField("name"), int(csv.GetField("qty"))))
        print(rows)
    """)
    assert out.strip() == "[('apple', 3), ('pear', 5)]"


def test_sqlite_with_dapper_extension_methods() -> None:
    out = run_script("""
        clr.add_package([("Microsoft.Data.Sqlite", "10.0.0"), ("Dapper", "2.1.66")], progress=False)
        import Dapper  # `using Dapper;`: Execute/ExecuteScalar become methods of the connection
        from Microsoft.Data.Sqlite import SqliteConnection

        with SqliteConnection("Data Source=:memory:") as db:
            db.Open()
            db.Execute("create table fruit(name text, qty integer)")
            db.Execute("insert into fruit values ('apple', 3), ('pear', 5)")
            print(db.ExecuteScalar("select sum(qty) from fruit"))
    """)
    assert out.strip() == "8"


def test_reactive_linq_over_an_observable() -> None:
    out = run_script("""
        clr.add_package("System.Reactive", "6.0.1", progress=False)
        import System.Reactive.Linq  # Where/Select on IObservable
        from System.Reactive.Linq import Observable

        seen = []
        evens = Observable.Range(1, 6).Where(lambda x: x % 2 == 0)
        subscription = evens.Select(lambda x: x * 10).Subscribe(seen.append)
        subscription.Dispose()
        print(seen)
    """)
    assert out.strip() == "[20, 40, 60]"


def test_dependency_injection_and_logging() -> None:
    out = run_script("""
        clr.add_package([("Microsoft.Extensions.DependencyInjection", "9.0.0"),
                         ("Microsoft.Extensions.Logging", "9.0.0")], progress=False)
        import Microsoft.Extensions.DependencyInjection  # AddSingleton, AddLogging, GetRequiredService
        from Microsoft.Extensions.DependencyInjection import ServiceCollection
        from Microsoft.Extensions.Logging import ILoggerFactory
        from System.Collections.Generic import List

        services = ServiceCollection()
        services.AddLogging()
        services.AddSingleton[List[int]]()
        provider = services.BuildServiceProvider()
        same = provider.GetRequiredService[List[int]]()
        same.Add(7)
        print(list(provider.GetRequiredService[List[int]]()))
        logger = provider.GetRequiredService[ILoggerFactory]().CreateLogger("app")
        print(type(logger).__name__ != "")
    """)
    assert out.split() == ["[7]", "True"]


def test_resilience_polly_retries_a_flaky_call() -> None:
    out = run_script("""
        clr.add_package("Polly", "7.2.4", progress=False)
        import Polly  # Retry() is an extension method of PolicyBuilder
        from Polly import Policy
        from System import Exception as DotNetException

        calls = []

        def flaky():
            calls.append(1)
            if len(calls) < 3:
                raise RuntimeError("not yet")

        Policy.Handle[DotNetException]().Retry(5).Execute(flaky)
        print(len(calls))
    """)
    assert out.strip() == "3"


def test_yaml_yamldotnet_serializes_a_dictionary() -> None:
    out = run_script("""
        clr.add_package("YamlDotNet", "16.3.0", progress=False)
        from System.Collections.Generic import Dictionary
        from YamlDotNet.Serialization import SerializerBuilder

        d = Dictionary[str, int]()
        d["retries"] = 3
        print(SerializerBuilder().Build().Serialize(d).strip())
    """)
    assert out.strip() == "retries: 3"


def test_numerics_mathnet_statistics_and_fit() -> None:
    out = run_script("""
        clr.add_package("MathNet.Numerics", "5.0.0", progress=False)
        from MathNet.Numerics import Fit
        from MathNet.Numerics.Statistics import Statistics

        intercept, slope = Fit.Line([0.0, 1.0, 2.0], [1.0, 3.0, 5.0])
        print(round(intercept, 6), round(slope, 6), Statistics.Mean([1.0, 2.0, 6.0]))
    """)
    assert out.split() == ["1.0", "2.0", "3.0"]


def test_async_streams_system_linq_async() -> None:
    out = run_script("""
        clr.add_package("System.Linq.Async", "6.0.1", progress=False)
        import asyncio
        import System.Linq  # AsyncEnumerable's extension methods live in System.Linq
        from System.Linq import AsyncEnumerable

        async def main():
            items = []
            async for x in AsyncEnumerable.Range(1, 4).Select(lambda x: x * x):
                items.append(x)
            return items

        print(asyncio.run(main()))
    """)
    assert out.strip() == "[1, 4, 9, 16]"


def test_http_restsharp_against_a_loopback_server() -> None:
    out = run_script("""
        clr.add_package("RestSharp", "112.1.0", progress=False)
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        class Hello(BaseHTTPRequestHandler):
            def do_GET(self):
                body = b'{"greeting": "hi"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = HTTPServer(("127.0.0.1", 0), Hello)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        from RestSharp import RestClient, RestRequest

        with RestClient(f"http://127.0.0.1:{server.server_port}") as client:
            response = client.ExecuteGet(RestRequest("/hello"))
            print(int(response.StatusCode), response.Content.strip())
        server.shutdown()
    """)
    assert out.strip() == '200 {"greeting": "hi"}'


def test_compression_sharpziplib_round_trip() -> None:
    out = run_script("""
        clr.add_package("SharpZipLib", "1.4.2", progress=False)
        from ICSharpCode.SharpZipLib.GZip import GZip
        from System.IO import MemoryStream

        packed = MemoryStream()
        GZip.Compress(MemoryStream(b"hello " * 100), packed, False)
        print(packed.Length < 600)
        packed.Position = 0
        unpacked = MemoryStream()
        GZip.Decompress(packed, unpacked, False)
        print(bytes(unpacked.ToArray())[:11])
    """)
    assert out.split() == ["True", "b'hello", "hello'"]


def test_text_humanizer_static_spelling_for_python_strings() -> None:
    out = run_script("""
        clr.add_package("Humanizer.Core", "2.14.1", progress=False)
        from Humanizer import InflectorExtensions

        print(InflectorExtensions.Pluralize("person"), InflectorExtensions.Singularize("mice"))
    """)
    assert out.split() == ["people", "mouse"]


def test_memory_cache_finds_an_entry_under_an_equal_tuple_key() -> None:
    out = run_script("""
        clr.add_package("Microsoft.Extensions.Caching.Memory", "9.0.0", progress=False)
        from Microsoft.Extensions.Caching.Memory import MemoryCache, MemoryCacheOptions
        import Microsoft.Extensions.Caching.Memory  # CacheExtensions.Set/Get as extension methods

        cache = MemoryCache(MemoryCacheOptions())
        cache.Set((1, "a"), "value")
        print(cache.Get((1, "a")), cache.Get((1, "b")), cache.Count)
    """)
    assert out.split() == ["value", "None", "1"]
