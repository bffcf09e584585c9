"""Native libraries of assemblies referenced from a portable ``dotnet publish`` folder (no RID):
``runtimes/<rid>/native/`` and the application's ``.deps.json`` are all there is, as .NET's host
would find them for the application. One small project, published once, uses Microsoft.Data.Sqlite
(e_sqlite3) and SkiaSharp (libSkiaSharp)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import dotnet, run_script, sqlite_sum

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SkiaSharp's native assets are the Linux package's"
)

PROJECT = """<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net8.0</TargetFramework>
    <RollForward>LatestMajor</RollForward>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Microsoft.Data.Sqlite" Version="10.0.0" />
    <PackageReference Include="SkiaSharp" Version="3.119.0" />
    <PackageReference Include="SkiaSharp.NativeAssets.Linux" Version="3.119.0" />
  </ItemGroup>
</Project>
"""


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("app")
    (project / "App.csproj").write_text(PROJECT)
    (project / "Program.cs").write_text('System.Console.WriteLine("app");\n')
    out = project / "out"
    dotnet("publish", str(project / "App.csproj"), "-c", "Release", "-o", str(out), "--nologo", "-v", "q")
    # portable: the native libraries are only under runtimes/, named by App.deps.json
    assert not list(out.glob("*.so")) and (out / "App.deps.json").is_file()
    assert not (out / "Microsoft.Data.Sqlite.deps.json").exists()
    return out


def test_sqlite_from_a_portable_publish_folder_finds_e_sqlite3(published: Path) -> None:
    out = sqlite_sum(f"clr.add_reference({str(published / 'Microsoft.Data.Sqlite.dll')!r})", [20, 22])
    assert out.strip() == "42"


def test_skiasharp_from_a_portable_publish_folder_finds_libskiasharp(published: Path) -> None:
    out = run_script(f"""
        clr.add_reference({str(published / "SkiaSharp.dll")!r})
        from SkiaSharp import SKBitmap, SKColors

        bitmap = SKBitmap(3, 2)
        bitmap.Erase(SKColors.Red)
        pixel = bitmap.GetPixel(2, 1)
        print(bitmap.Width, bitmap.Height, pixel.Red, pixel.Green)
    """)
    assert out.split() == ["3", "2", "255", "0"]
