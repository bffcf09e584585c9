"""Where add_package's packages may come from, against local folder feeds this module packs.

Two packages, packed here with ``dotnet pack``: ``PyClrBridge.Probe.Good`` on the feed of the
user-wide NuGet configuration (each script gets its own ``HOME``), and ``PyClrBridge.Probe.Planted``
on a feed that only planted configuration names; the planted package's ``build/*.targets``
writes a marker file when a restore takes it in. Nothing here needs the network."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import dotnet, run_script

GOOD = "PyClrBridge.Probe.Good"
PLANTED = "PyClrBridge.Probe.Planted"
SPECIAL = [";", "%", "$", "@", "'", '"', "<", ">", "&", "\n"]
SPECIAL_IDS = ["semicolon", "percent", "dollar", "at", "quote", "double-quote", "lt", "gt", "amp", "newline"]


def _runtime_tfm() -> str:
    out = subprocess.run(["dotnet", "--list-runtimes"], capture_output=True, text=True, check=True).stdout
    versions = [line.split()[1] for line in out.splitlines() if line.startswith("Microsoft.NETCore.App ")]
    major, minor = max(versions, key=lambda v: [int(p) for p in v.split("-")[0].split(".")]).split(".")[:2]
    return f"net{major}.{minor}"


def _feed_config(*feeds: Path) -> str:
    adds = "".join(f'<add key="feed{i}" value="{feed}" />' for i, feed in enumerate(feeds))
    return f"<configuration><packageSources><clear />{adds}</packageSources></configuration>"


def _pack(base: Path, package: str, where: str, feed: Path, tfm: str, *, targets: bool) -> None:
    """``dotnet pack`` a one-class library; with ``targets``, its build targets write
    $(PYCLRBRIDGE_PROBE_MARKER) in every project that restores it."""
    src = base / "src" / package
    (src / "build").mkdir(parents=True)
    (src / f"{package}.csproj").write_text(
        textwrap.dedent(f"""\
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>{tfm}</TargetFramework>
                <PackageId>{package}</PackageId>
                <Version>1.0.0</Version>
                <Authors>pyclrbridge tests</Authors>
                <Description>A probe for add_package's tests.</Description>
                <NoWarn>$(NoWarn);NU5128</NoWarn>
              </PropertyGroup>
              <ItemGroup Condition="{targets}">
                <None Include="build/{package}.targets" Pack="true" PackagePath="build/" />
              </ItemGroup>
            </Project>
            """),
        encoding="utf-8",
    )
    (src / "Probe.cs").write_text(
        f'namespace {package} {{ public static class Probe {{ public static string Where() => "{where}"; }} }}\n',
        encoding="utf-8",
    )
    (src / "build" / f"{package}.targets").write_text(
        textwrap.dedent(f"""\
            <Project InitialTargets="{package.replace(".", "")}Marker">
              <Target Name="{package.replace(".", "")}Marker" Condition="'$(PYCLRBRIDGE_PROBE_MARKER)' != ''">
                <WriteLinesToFile File="$(PYCLRBRIDGE_PROBE_MARKER)" Lines="{package}" Overwrite="false" />
              </Target>
            </Project>
            """),
        encoding="utf-8",
    )
    (base / "empty.config").write_text(_feed_config(), encoding="utf-8")
    env = {**os.environ, "NUGET_PACKAGES": str(base / "pack-packages"), "DOTNET_NOLOGO": "1"}
    cmd = ["pack", str(src / f"{package}.csproj"), "-c", "Release", "-o", str(feed), "-nodeReuse:false"]
    cmd += [f"-p:RestoreConfigFile={base / 'empty.config'}", "-p:ImportDirectoryBuildProps=false"]
    dotnet(*cmd, env=env, timeout=300)


@dataclass(frozen=True)
class Feeds:
    good: Path
    planted: Path


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Feeds:
    base = tmp_path_factory.mktemp("feeds")
    tfm = _runtime_tfm()
    found = Feeds(base / "good", base / "planted")
    _pack(base, GOOD, "good", found.good, tfm, targets=False)
    _pack(base, PLANTED, "planted", found.planted, tfm, targets=True)
    return found


@dataclass
class User:
    """A user of their own: a home whose NuGet.Config names the good feed, a package cache,
    a global packages folder and the marker file the planted package writes."""

    home: Path
    cache: Path
    marker: Path
    env: dict[str, str]

    def script(self, code: str, *, cwd: Path | None = None, extra: dict[str, str] | None = None) -> str:
        start = f"import os\nos.chdir({str(cwd)!r})\n" if cwd is not None else ""
        return run_script(start + textwrap.dedent(code), env={**self.env, **(extra or {})})


@pytest.fixture
def user(tmp_path: Path, feeds: Feeds) -> User:
    home = tmp_path / "home"
    (home / ".nuget" / "NuGet").mkdir(parents=True)
    (home / ".nuget" / "NuGet" / "NuGet.Config").write_text(_feed_config(feeds.good), encoding="utf-8")
    marker = tmp_path / "marker.txt"
    env = {
        "HOME": str(home),
        "NUGET_PACKAGES": str(tmp_path / "global-packages"),
        "PYCLRBRIDGE_PACKAGE_CACHE": str(tmp_path / "cache"),
        "PYCLRBRIDGE_PROBE_MARKER": str(marker),
    }
    for name in ("PYCLRBRIDGE_NUGET_CONFIG", "DOTNET_CLI_HOME"):
        env[name] = ""
    return User(home, tmp_path / "cache", marker, env)


RESTORE_BOTH = f"""
    try:
        clr.add_package("{PLANTED}", "1.0.0", progress=False)
        print("planted restored")
    except pyclrbridge.PackageError as e:
        print("planted refused:", "NU1101" in str(e))
    found = clr.add_package("{GOOD}", progress=False)
    from PyClrBridge.Probe.Good import Probe
    print(Probe.Where(), found.cached)
"""


def test_a_planted_config_above_the_working_directory_is_not_honoured(tmp_path: Path, user: User, feeds: Feeds) -> None:
    shared = tmp_path / "shared"  # a folder others can write to: /tmp, a shared checkout
    cwd = shared / "a" / "b"
    cwd.mkdir(parents=True)
    (shared / "nuget.config").write_text(_feed_config(feeds.planted, feeds.good), encoding="utf-8")
    out = user.script(RESTORE_BOTH, cwd=cwd)
    assert out.split("\n")[:2] == ["planted refused: True", "good False"]
    assert not user.marker.exists()


PLANTED_ABOVE = {
    "Directory.Build.props": '<Project><Target Name="P" BeforeTargets="Restore;Build"><Touch Files="{m}.props" '
    'AlwaysCreate="true" /></Target></Project>',
    "Directory.Build.targets": '<Project InitialTargets="T"><Target Name="T"><Touch Files="{m}.targets" '
    'AlwaysCreate="true" /></Target></Project>',
    "Directory.Packages.props": '<Project InitialTargets="C"><Target Name="C"><Touch Files="{m}.cpm" '
    'AlwaysCreate="true" /></Target></Project>',
    "Directory.Build.rsp": "-p:CustomBeforeMicrosoftCommonTargets={evil}",
    "global.json": '{{"sdk": {{"version": "1.0.0", "rollForward": "disable"}}}}',
}


def test_nothing_planted_above_the_package_cache_takes_part(tmp_path: Path, user: User, feeds: Feeds) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "nuget.config").write_text(_feed_config(feeds.planted, feeds.good), encoding="utf-8")
    evil = tmp_path / "evil.targets"
    evil.write_text(
        f'<Project InitialTargets="E"><Target Name="E"><Touch Files="{user.marker}.rsp" '
        'AlwaysCreate="true" /></Target></Project>',
        encoding="utf-8",
    )
    for name, text in PLANTED_ABOVE.items():
        (shared / name).write_text(text.format(m=user.marker, evil=evil), encoding="utf-8")
    out = user.script(RESTORE_BOTH, extra={"PYCLRBRIDGE_PACKAGE_CACHE": str(shared / "cache")})
    assert out.split("\n")[:2] == ["planted refused: True", "good False"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("marker")) == []


def test_a_config_passed_explicitly_is_honoured(tmp_path: Path, user: User, feeds: Feeds) -> None:
    # The control of the tests above: the planted feed, named on purpose, is used, and its
    # package's build targets run (so their marker would show a planted config being honoured).
    config = tmp_path / "project" / "nuget.config"
    config.parent.mkdir()
    config.write_text(_feed_config(feeds.planted), encoding="utf-8")
    out = user.script(f"""
        found = clr.add_package("{PLANTED}", "1.0.0", progress=False, nuget_config={str(config)!r})
        from PyClrBridge.Probe.Planted import Probe
        print(Probe.Where(), found.cached)
    """)
    assert out.strip() == "planted False"
    assert user.marker.read_text().strip() == PLANTED


def test_the_environment_variable_names_a_config(tmp_path: Path, user: User, feeds: Feeds) -> None:
    config = tmp_path / "env.config"
    config.write_text(_feed_config(feeds.planted), encoding="utf-8")
    out = user.script(
        f'print(clr.add_package("{PLANTED}", "1.0.0", progress=False))',
        extra={"PYCLRBRIDGE_NUGET_CONFIG": str(config)},
    )
    assert f"{PLANTED} 1.0.0" in out


def test_the_cli_flag_names_a_config(tmp_path: Path, user: User, feeds: Feeds) -> None:
    config = tmp_path / "cli.config"
    config.write_text(_feed_config(feeds.planted), encoding="utf-8")
    out = user.script(f"""
        from pyclrbridge.cli.main import main
        raise SystemExit(main(["add-package", "{PLANTED}", "1.0.0", "--nuget-config", {str(config)!r}, "-q"]))
    """)
    assert f"{PLANTED} 1.0.0" in out


def test_another_config_is_another_cache_entry(tmp_path: Path, user: User, feeds: Feeds) -> None:
    config = tmp_path / "nuget.config"
    config.write_text(_feed_config(feeds.good), encoding="utf-8")
    out = user.script(f"""
        a = clr.add_package("{GOOD}", "1.0.0", progress=False)
        b = clr.add_package("{GOOD}", "1.0.0", progress=False, nuget_config={str(config)!r})
        with open({str(config)!r}, "a") as f:
            f.write("<!-- changed -->")
        c = clr.add_package("{GOOD}", "1.0.0", progress=False, nuget_config={str(config)!r})
        d = clr.add_package("{GOOD}", "1.0.0", progress=False, nuget_config={str(config)!r})
        print(a.cached, b.cached, c.cached, d.cached, len({{a.folder, b.folder, c.folder}}))
    """)
    assert out.split() == ["False", "False", "False", "True", "3"]
    manifests = [json.loads((p / "pyclrbridge-packages.json").read_text()) for p in user.cache.glob("net*")]
    assert sorted(m["config"]["origin"] for m in manifests) == ["nuget_config=", "nuget_config=", "user"]
    assert all(m["sources"] == [str(feeds.good)] for m in manifests)


@pytest.mark.parametrize("char", SPECIAL, ids=SPECIAL_IDS)
def test_special_characters_in_the_working_directory_config_and_cache_stay_one_value(
    tmp_path: Path, user: User, feeds: Feeds, char: str
) -> None:
    evil = tmp_path / "evil.targets"
    evil.write_text(
        f'<Project InitialTargets="E"><Target Name="E"><Touch Files="{user.marker}" '
        'AlwaysCreate="true" /></Target></Project>',
        encoding="utf-8",
    )
    # x;CustomBeforeMicrosoftCommonTargets=/.../evil.targets;y=z with ';', and the same shape for the others
    weird = tmp_path / f"x{char}CustomBeforeMicrosoftCommonTargets={evil}{char}y=z"
    weird.mkdir(parents=True)
    config = weird / "nuget.config"
    config.write_text(_feed_config(feeds.good), encoding="utf-8")
    out = user.script(
        f"""
        try:
            found = clr.add_package("{GOOD}", "1.0.0", progress=False, nuget_config={str(config)!r})
            print("explicit", found.cached)
        except pyclrbridge.PackageError as e:
            print("explicit refused:", "splits its path at the ';'" in str(e))
        found = clr.add_package("{GOOD}", "1.0.0", progress=False)
        from PyClrBridge.Probe.Good import Probe
        print("user", Probe.Where(), found.cached, os.getcwd() == {str(weird)!r})
    """,
        cwd=weird,
        extra={"PYCLRBRIDGE_PACKAGE_CACHE": str(weird / "cache")},
    )
    first = "explicit refused: True" if char == ";" else "explicit False"
    assert out.split("\n")[:2] == [first, "user good False True"]
    assert not user.marker.exists()
