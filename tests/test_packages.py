"""add_package without the network: argument checks, the cache's shape and its errors.
(Restores against a NuGet source are in tests/integration/.)"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from pyclrbridge import PackageError
from pyclrbridge import packages as pk
from pyclrbridge.packages import cache, config, msbuild
from pyclrbridge.packages import restorer as rs


def test_one_name_means_the_latest_version() -> None:
    assert pk.normalize("NodaTime") == (("NodaTime", None),)


def test_name_and_version() -> None:
    assert pk.normalize("Newtonsoft.Json", "13.0.3") == (("Newtonsoft.Json", "13.0.3"),)


def test_one_pair_is_one_package() -> None:
    assert pk.normalize(("Dapper", "2.1.66")) == (("Dapper", "2.1.66"),)


def test_list_form_mixes_names_and_pairs_and_sorts_them() -> None:
    assert pk.normalize(["YamlDotNet", ("Dapper", "2.1.66")]) == (("Dapper", "2.1.66"), ("YamlDotNet", None))


def test_a_package_id_with_markup_is_refused() -> None:
    with pytest.raises(ValueError, match="not a NuGet package id"):
        pk.normalize('Evil" /><Target Name="x')


def test_a_version_with_markup_is_refused() -> None:
    with pytest.raises(ValueError, match="not a NuGet version for Dapper"):
        pk.normalize("Dapper", '1.0" Condition="')


def test_the_same_package_twice_with_two_versions_is_refused() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        pk.normalize([("Dapper", "2.1.66"), ("dapper", "2.0.35")])


def test_a_list_and_a_separate_version_is_refused() -> None:
    with pytest.raises(TypeError, match="each package's version"):
        pk.normalize(["Dapper"], "2.1.66")


def test_an_empty_list_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one package"):
        pk.normalize([])


def test_framework_moniker_follows_the_runtime_version() -> None:
    assert pk.framework_moniker("10.0.12") == "net10.0"
    assert pk.framework_moniker("8.0.1-preview.1") == "net8.0"


def _default() -> pk.NuGetConfig:
    return config.NuGetConfig(None, "default", "0" * 64, (config.NUGET_ORG,))


def test_cache_key_ignores_the_order_and_case_of_the_names() -> None:
    a = rs.cache_key(pk.normalize(["Dapper", "NodaTime"]), "net10.0", _default())
    b = rs.cache_key(pk.normalize(["nodatime", "dapper"]), "net10.0", _default())
    assert a == b
    assert a != rs.cache_key(pk.normalize(["Dapper", "NodaTime"]), "net9.0", _default())


def test_cache_key_follows_the_config_file_its_content_and_the_sources(tmp_path: Path) -> None:
    specs = pk.normalize("Dapper", "2.1.66")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    text = '<configuration><packageSources><add key="f" value="https://feed/" /></packageSources></configuration>'
    (tmp_path / "a" / "nuget.config").write_text(text)
    (tmp_path / "b" / "nuget.config").write_text(text)
    first = rs.cache_key(specs, "net10.0", pk.choose_config(tmp_path / "a" / "nuget.config"))
    assert first != rs.cache_key(specs, "net10.0", pk.choose_config(tmp_path / "b" / "nuget.config"))  # path
    assert first != rs.cache_key(specs, "net10.0", pk.choose_config(tmp_path / "a" / "nuget.config"), offline=True)
    (tmp_path / "a" / "nuget.config").write_text(text.replace("https://feed/", "https://other/"))
    assert first != rs.cache_key(specs, "net10.0", pk.choose_config(tmp_path / "a" / "nuget.config"))  # content
    assert first != rs.cache_key(specs, "net10.0", _default())


def test_the_generated_project_names_every_package_and_version() -> None:
    text = rs.project_text(pk.normalize(["Dapper", ("NodaTime", "3.3.7")]), "net10.0")
    assert '<PackageReference Include="Dapper" Version="%2A" />' in text  # "*", escaped
    assert '<PackageReference Include="NodaTime" Version="3.3.7" />' in text
    assert "<TargetFramework>net10.0</TargetFramework>" in text


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_the_cache_folder_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "cache"
    monkeypatch.setenv("PYCLRBRIDGE_PACKAGE_CACHE", str(root))
    cache.private_dir(pk.cache_root())
    assert stat.S_IMODE(root.stat().st_mode) & 0o077 == 0


def _entry(clr: Any, root: Path, package: str, version: str) -> Path:
    """The cache entry add_package(package, version) looks for under ``root``."""
    specs = pk.normalize(package, version)
    return root / pk.entry_name(specs, pk.framework_moniker(clr.version), pk.choose_config(None))


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_world_writable_cache_root_is_refused_not_repaired(
    clr: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "shared"
    root.mkdir()
    root.chmod(0o777)
    monkeypatch.setenv("PYCLRBRIDGE_PACKAGE_CACHE", str(root))
    with pytest.raises(PackageError, match=rf"refusing package cache {root}: others can write to it \(mode 777\)"):
        clr.add_package("Dapper", "2.1.66", progress=False)
    assert stat.S_IMODE(root.stat().st_mode) == 0o777  # left as it was: never chmodded into shape


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_group_writable_cache_root_is_refused(clr: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "team"
    root.mkdir()
    root.chmod(0o770)
    monkeypatch.setenv("PYCLRBRIDGE_PACKAGE_CACHE", str(root))
    with pytest.raises(PackageError, match="others can write to it"):
        clr.add_package("Dapper", "2.1.66", progress=False)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_cache_under_a_folder_others_can_write_is_refused(
    clr: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone could rename the cache away and put theirs there
    monkeypatch.setenv("PYCLRBRIDGE_PACKAGE_CACHE", str(shared / "cache"))
    with pytest.raises(PackageError, match=rf"parent folder {shared} is writable by others \(mode 777, not sticky\)"):
        clr.add_package("Dapper", "2.1.66", progress=False)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_cache_under_a_sticky_shared_folder_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp: others add their own files, but cannot rename ours
    assert cache.private_dir(shared / "cache") == shared / "cache"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_a_cache_under_another_users_folder_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    (theirs / "cache").mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(PackageError, match=rf"its parent folder {theirs} is owned by uid 65534"):
        cache.private_dir(theirs / "cache")


def _plant_entry(clr: Any, root: Path, content: bytes = b"MZ planted") -> Path:
    """A complete entry for Dapper 2.1.66 at the key add_package computes, manifest and all."""
    root.mkdir(mode=0o700, exist_ok=True)
    entry = _entry(clr, root, "Dapper", "2.1.66")
    entry.mkdir(mode=0o700)
    (entry / "Dapper.dll").write_bytes(content)
    (entry / "runtimes" / "linux-x64" / "native").mkdir(parents=True)
    (entry / "runtimes" / "linux-x64" / "native" / "libdapper.so").write_bytes(b"\x7fELF native")
    manifest = {
        "format": pk.MANIFEST_FORMAT,
        "assemblies": ["Dapper.dll"],
        "versions": {"Dapper": "2.1.66"},
        "files": cache.file_table(entry),
    }
    cache.write_manifest(entry, manifest)
    return entry


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_a_cache_entry_owned_by_another_user_is_refused(
    clr: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "cache"
    entry = _plant_entry(clr, root)
    os.chown(entry, 65534, 65534)  # nobody
    monkeypatch.setenv("PYCLRBRIDGE_PACKAGE_CACHE", str(root))
    with pytest.raises(PackageError, match=rf"refusing package cache entry {entry}: owned by uid 65534, not by you"):
        clr.add_package("Dapper", "2.1.66", progress=False)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_group_writable_cache_entry_is_refused(clr: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "cache"
    entry = _plant_entry(clr, root)
    entry.chmod(0o775)
    monkeypatch.setenv("PYCLRBRIDGE_PACKAGE_CACHE", str(root))
    with pytest.raises(PackageError, match=rf"refusing package cache entry {entry}: others can write to it"):
        clr.add_package("Dapper", "2.1.66", progress=False)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o775


@pytest.mark.skipif(os.name != "posix", reason="symbolic links without privileges")
def test_a_cache_entry_that_is_a_link_is_refused(clr: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = _plant_entry(clr, tmp_path / "elsewhere")
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    entry = root / elsewhere.name
    entry.symlink_to(elsewhere)
    monkeypatch.setenv("PYCLRBRIDGE_PACKAGE_CACHE", str(root))
    with pytest.raises(PackageError, match=rf"refusing package cache entry {entry}: it is not a plain directory"):
        clr.add_package("Dapper", "2.1.66", progress=False)


def test_an_entry_without_a_manifest_is_not_a_cache_hit(tmp_path: Path) -> None:
    entry = tmp_path / "entry"
    entry.mkdir(mode=0o700)
    (entry / "Half.dll").write_bytes(b"MZ")  # a restore that stopped before its manifest
    assert cache.cached(entry) is None


def test_a_manifest_of_the_old_format_is_not_a_cache_hit(tmp_path: Path) -> None:
    (tmp_path / "There.dll").write_bytes(b"")
    (tmp_path / pk.MANIFEST).write_text(json.dumps({"format": 1, "assemblies": ["There.dll"]}))
    assert pk.read_manifest(tmp_path) is None


def test_the_manifest_records_every_file_with_size_and_sha256(clr: Any, tmp_path: Path) -> None:
    entry = _plant_entry(clr, tmp_path / "cache")
    manifest = json.loads((entry / pk.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["files"] == {
        "Dapper.dll": [10, hashlib.sha256(b"MZ planted").hexdigest()],
        "runtimes/linux-x64/native/libdapper.so": [11, hashlib.sha256(b"\x7fELF native").hexdigest()],
    }
    assert [p.name for p in entry.iterdir() if p.name.startswith(".")] == []  # no temporary manifest left
    assert cache.cached(entry) == manifest


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda e: (e / "Dapper.dll").write_bytes(b"MZ plantex"), "Dapper.dll changed content"),
        (lambda e: (e / "Dapper.dll").write_bytes(b"MZ planted, longer"), r"Dapper.dll changed size \(18 bytes"),
        (lambda e: (e / "Dapper.dll").unlink(), "Dapper.dll is missing"),
        (
            lambda e: (e / "runtimes" / "linux-x64" / "native" / "libdapper.so").write_bytes(b"\x7fELF nativX"),
            "runtimes/linux-x64/native/libdapper.so changed content",
        ),
        (lambda e: (e / "Extra.dll").write_bytes(b"MZ"), "Extra.dll was added after the restore"),
    ],
    ids=["same-size", "size", "missing", "native", "added"],
)
def test_a_changed_cache_entry_is_refused_naming_the_file(
    clr: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tamper: Any, message: str
) -> None:
    root = tmp_path / "cache"
    entry = _plant_entry(clr, root)
    tamper(entry)
    monkeypatch.setenv("PYCLRBRIDGE_PACKAGE_CACHE", str(root))
    with pytest.raises(PackageError, match=rf"package cache entry {entry} is not as its restore left it: {message}"):
        clr.add_package("Dapper", "2.1.66", progress=False)


def test_a_missing_sdk_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    (tmp_path / ("dotnet.exe" if os.name == "nt" else "dotnet")).write_text("")  # a runtime-only install
    with pytest.raises(PackageError, match=r"needs the \.NET SDK"):
        pk.find_dotnet(tmp_path)


def test_a_missing_nuget_config_is_named(clr: Any, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"NuGet config .*nope\.config does not exist \(from nuget_config=\)"):
        clr.add_package("Dapper", nuget_config=tmp_path / "nope.config")


def test_a_bad_package_id_fails_before_any_restore(clr: Any) -> None:
    with pytest.raises(ValueError, match="not a NuGet package id"):
        clr.add_package("../../etc")


def test_restore_failure_names_package_version_and_source() -> None:
    lines = [
        "/x/PyClrBridge.Packages.csproj : error NU1101: Unable to find package Nope.Pkg. "
        "No packages exist with this id in source(s): corp-feed, nuget.org [/x/PyClrBridge.Packages.csproj]"
    ]
    error = rs.failure(pk.normalize("Nope.Pkg", "1.2.3"), lines, None)
    text = str(error)
    assert "Nope.Pkg 1.2.3" in text
    assert "corp-feed, nuget.org" in text
    assert "NU1101" in text


def test_cli_add_package_refuses_a_bad_id() -> None:
    from pyclrbridge.cli.main import EXIT_USAGE, main

    assert main(["add-package", "bad id"]) == EXIT_USAGE


def test_cli_add_package_names_a_missing_nuget_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pyclrbridge.cli.main import EXIT_USAGE, main

    assert main(["add-package", "Dapper", "--nuget-config", str(tmp_path / "nope.config")]) == EXIT_USAGE
    assert "nope.config does not exist (from nuget_config=)" in capsys.readouterr().err


def test_find_dotnet_takes_the_runtime_root_with_an_sdk(clr: Any) -> None:
    found = pk.find_dotnet(clr.dotnet_root)
    assert (found.parent / "sdk").is_dir()


SPECIAL = [";", "%", "$", "@", "'", '"', "<", ">", "&", "\n"]
SPECIAL_IDS = ["semicolon", "percent", "dollar", "at", "quote", "double-quote", "lt", "gt", "amp", "newline"]


@pytest.mark.parametrize("char", SPECIAL, ids=SPECIAL_IDS)
def test_msbuild_escape_writes_each_special_character_as_percent_hex(char: str) -> None:
    value = f"/x{char}CustomBeforeMicrosoftCommonTargets=/tmp/evil.targets{char}y"
    escaped = msbuild.escape(value)
    assert escaped == value.replace(char, f"%{ord(char):02X}").replace("=", "%3D")
    assert urllib.parse.unquote(escaped) == value  # what MSBuild reads back
    assert msbuild.property_switch("RestoreConfigFile", value) == f"-p:RestoreConfigFile={escaped}"


def test_msbuild_property_names_are_refused_unless_plain() -> None:
    with pytest.raises(ValueError, match="not an MSBuild property name"):
        msbuild.property_switch("A;B", "x")


def test_the_generated_project_escapes_its_attribute_values() -> None:
    text = rs.project_text((("Some.Id", "[1.0,2.0)"),), "net10.0")
    assert '<PackageReference Include="Some.Id" Version="[1.0%2C2.0)" />' in text


def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None) -> Path:
    """A home folder whose user-wide NuGet.Config is ``text`` (none when None)."""
    home = tmp_path / "home"
    (home / ".nuget" / "NuGet").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("APPDATA", str(home / ".nuget"))
    monkeypatch.delenv(pk.NUGET_CONFIG_ENV, raising=False)
    path = home / ".nuget" / "NuGet" / "NuGet.Config"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    return path


FEED = (
    '<configuration><packageSources><clear /><add key="mine" value="https://mine/" /></packageSources></configuration>'
)
PLANTED = '<configuration><packageSources><add key="planted" value="/tmp/planted" /></packageSources></configuration>'


def test_without_a_user_config_the_restore_reads_nuget_org_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _home(tmp_path, monkeypatch, None)
    chosen = pk.choose_config(None)
    assert (chosen.path, chosen.origin, chosen.sources) == (None, "default", (config.NUGET_ORG,))


def test_a_planted_config_above_the_working_directory_is_not_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _home(tmp_path, monkeypatch, FEED)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "nuget.config").write_text(PLANTED)
    cwd = tmp_path / "shared" / "a" / "b"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    chosen = pk.choose_config(None)
    assert (chosen.path, chosen.origin, chosen.sources) == (user, "user", ("https://mine/",))


def test_nuget_config_wins_over_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _home(tmp_path, monkeypatch, FEED)
    (tmp_path / "env.config").write_text(PLANTED)
    (tmp_path / "arg.config").write_text(FEED.replace("mine", "arg"))
    monkeypatch.setenv(pk.NUGET_CONFIG_ENV, str(tmp_path / "env.config"))
    env = pk.choose_config(None)
    assert (env.path, env.origin, env.sources) == (tmp_path / "env.config", pk.NUGET_CONFIG_ENV, ("/tmp/planted",))
    arg = pk.choose_config(tmp_path / "arg.config")
    assert (arg.path, arg.origin, arg.sources) == (tmp_path / "arg.config", "nuget_config=", ("https://arg/",))


def test_the_sources_of_a_config_follow_clear_remove_and_disabled(tmp_path: Path) -> None:
    (tmp_path / "n.config").write_text(
        "<configuration><packageSources>"
        '<add key="gone" value="https://gone/" /><clear /><add key="a" value="https://a/" />'
        '<add key="b" value="https://b/" /><add key="c" value="https://c/" /><remove key="b" />'
        '</packageSources><disabledPackageSources><add key="c" value="true" /></disabledPackageSources>'
        "</configuration>"
    )
    assert pk.choose_config(tmp_path / "n.config").sources == ("https://a/",)


def test_a_config_that_is_not_xml_is_named(tmp_path: Path) -> None:
    (tmp_path / "n.config").write_text("<configuration>")
    with pytest.raises(PackageError, match=r"NuGet config .*n\.config is not valid XML"):
        pk.choose_config(tmp_path / "n.config")


def test_a_config_path_with_a_semicolon_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "a;b"
    folder.mkdir()
    (folder / "nuget.config").write_text(FEED)
    with pytest.raises(PackageError, match=r"NuGet cannot read the config file .*a;b.*splits its path at the ';'"):
        pk.choose_config(folder / "nuget.config")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_user_config_others_can_write_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = _home(tmp_path, monkeypatch, FEED)
    user.chmod(0o666)
    with pytest.raises(PackageError, match=rf"refusing the user-wide NuGet config {user}: others can write to it"):
        pk.choose_config(None)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_a_user_config_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = _home(tmp_path, monkeypatch, FEED)
    os.chown(user, 65534, 65534)
    with pytest.raises(PackageError, match=r"refusing the user-wide NuGet config .*owned by uid 65534"):
        pk.choose_config(None)


@pytest.mark.parametrize("syntax", ["$(X)", "@(X)", "%(X)", "%3B", "*", "?"])
def test_a_cache_root_msbuild_would_read_as_syntax_is_refused(
    clr: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syntax: str
) -> None:
    root = tmp_path / f"cache{syntax}"
    monkeypatch.setenv("PYCLRBRIDGE_PACKAGE_CACHE", str(root))
    with pytest.raises(PackageError, match=r"cannot restore into the package cache .*MSBuild reads the '"):
        clr.add_package("Dapper", "2.1.66", progress=False)
    assert [p.name for p in root.iterdir()] == []  # nothing was generated there
