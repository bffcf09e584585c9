"""The calls of the overload issue against the real NuGet packages they came from (Polly,
MathNet.Numerics, System.Reactive, Microsoft.Extensions.Logging), each expecting what C#
does. The packages are restored once per machine into a temporary folder; the tests skip,
saying so, when they cannot be restored (no package source)."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

PACKAGES = {
    "Polly.Core": "8.*",
    "MathNet.Numerics": "5.*",
    "System.Reactive": "6.*",
    "Microsoft.Extensions.Logging": "8.*",
}
ASSEMBLIES = (
    "Polly.Core",
    "MathNet.Numerics",
    "System.Reactive",
    "Microsoft.Extensions.Logging.Abstractions",
    "Microsoft.Extensions.Logging",
    "Microsoft.Extensions.Options",
    "Microsoft.Extensions.DependencyInjection.Abstractions",
)


def _project() -> str:
    refs = "\n".join(f'    <PackageReference Include="{n}" Version="{v}" />' for n, v in PACKAGES.items())
    return (
        '<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup><TargetFramework>net8.0</TargetFramework>'
        "</PropertyGroup>\n  <ItemGroup>\n" + refs + "\n  </ItemGroup>\n</Project>\n"
    )


def _restore() -> Path | str:
    """The folder of the published package assemblies, or why they could not be had."""
    project = _project()
    folder = (
        Path(tempfile.gettempdir()) / f"pyclrbridge-library-overloads-{hashlib.sha1(project.encode()).hexdigest()[:12]}"
    )
    folder.mkdir(exist_ok=True)
    out = folder / "out"
    with open(folder / "lock", "w") as lock:  # xdist workers: one restores, the other waits
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "Polly.Core.dll").is_file():
            (folder / "Packages.csproj").write_text(project)
            proc = subprocess.run(
                [
                    "dotnet",
                    "publish",
                    str(folder / "Packages.csproj"),
                    "-c",
                    "Release",
                    "-o",
                    str(out),
                    "--nologo",
                    "-v",
                    "q",
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if proc.returncode != 0:
                return f"the NuGet packages could not be restored: {(proc.stdout + proc.stderr)[-300:]}"
    return out


@pytest.fixture(scope="module", autouse=True)
def packages(clr: Any) -> Any:
    found = _restore()
    if isinstance(found, str):
        pytest.skip(found)
    for name in ASSEMBLIES:
        clr.add_reference(found / f"{name}.dll")
    return clr


def test_polly_pipeline_execute_returns_the_lambdas_result() -> None:
    from Polly import ResiliencePipelineBuilder

    pipeline = ResiliencePipelineBuilder().Build()
    assert pipeline.Execute(lambda: 5) == 5


def test_polly_predicate_builder_converts_to_should_handle_through_its_base_class() -> None:
    from Polly import PredicateBuilder
    from Polly.Retry import RetryStrategyOptions
    from System import InvalidOperationException

    options = RetryStrategyOptions()
    options.ShouldHandle = PredicateBuilder().Handle[InvalidOperationException]()
    assert type(options.ShouldHandle).__clr_name__.startswith("System.Func")


def test_polly_should_handle_built_by_the_predicate_builder_matches_its_exception() -> None:
    from Polly import Outcome, PredicateBuilder, ResilienceContextPool
    from Polly.Retry import RetryPredicateArguments, RetryStrategyOptions
    from System import ArgumentException, InvalidOperationException

    options = RetryStrategyOptions()
    options.ShouldHandle = PredicateBuilder().Handle[InvalidOperationException]()
    context = ResilienceContextPool.Shared.Get()

    def handles(error: Any) -> bool:
        arguments = RetryPredicateArguments[object](context, Outcome.FromException[object](error), 0)
        return bool(options.ShouldHandle(arguments).Result)

    assert handles(InvalidOperationException("x")) is True
    assert handles(ArgumentException("y")) is False


def test_mathnet_median_of_a_python_list_of_ints() -> None:
    from MathNet.Numerics.Statistics import Statistics

    assert Statistics.Median([1, 3, 2]) == 2.0


def test_rx_observable_create_with_an_annotated_subscribe_function() -> None:
    from System import IDisposable
    from System.Reactive.Disposables import Disposable
    from System.Reactive.Linq import Observable

    def subscribe(observer: Any) -> IDisposable:
        observer.OnNext(1)
        observer.OnNext(2)
        observer.OnCompleted()
        return Disposable.Empty

    subscribe.__annotations__["return"] = IDisposable  # `-> IDisposable` without postponed annotations
    assert list(Observable.ToEnumerable(Observable.Create[int](subscribe))) == [1, 2]


def test_rx_observable_create_with_a_lambda_names_the_rule_it_cannot_decide() -> None:
    from System.Reactive.Linq import Observable

    with pytest.raises(TypeError, match="result type cannot be seen"):
        Observable.Create[int](lambda observer: None)


def test_rx_select_with_a_lambda_infers_the_result_as_object() -> None:
    from System.Reactive.Linq import Observable

    squares = Observable.Select(Observable.Range(1, 3), lambda x: x * x)
    assert list(Observable.ToEnumerable(squares)) == [1, 4, 9]


def test_dotnet_logging_reaches_python_logging(caplog: pytest.LogCaptureFixture) -> None:
    from Microsoft.Extensions.Logging import ILogger, ILoggerProvider, LoggerExtensions, LoggerFactory

    levels = {
        0: logging.DEBUG,
        1: logging.DEBUG,
        2: logging.INFO,
        3: logging.WARNING,
        4: logging.ERROR,
        5: logging.CRITICAL,
    }

    class PythonLogger(ILogger):
        def __init__(self, name: str) -> None:
            self.logger = logging.getLogger(name)

        def Log(self, level: Any, event_id: Any, state: Any, exception: Any, formatter: Any) -> None:
            self.logger.log(levels.get(int(level), logging.INFO), formatter(state, exception))

        def IsEnabled(self, level: Any) -> bool:
            return True

        def BeginScope(self, state: Any) -> None:
            return None

    class PythonLoggerProvider(ILoggerProvider):
        def CreateLogger(self, name: str) -> Any:
            return PythonLogger(name)

        def Dispose(self) -> None:
            pass

    factory = LoggerFactory()
    factory.AddProvider(PythonLoggerProvider())
    logger = factory.CreateLogger("dotnet.app")
    with caplog.at_level(logging.DEBUG, logger="dotnet.app"):
        LoggerExtensions.LogInformation(logger, "hello {Name}", "bob")
        LoggerExtensions.LogWarning(logger, "{Count} left", 3)
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("dotnet.app", logging.INFO, "hello bob"),
        ("dotnet.app", logging.WARNING, "3 left"),
    ]
