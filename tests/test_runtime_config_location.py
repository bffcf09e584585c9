"""The runtimeconfig .NET starts with must not come from a place another user can write."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pyclrbridge.host import hostfxr
from pyclrbridge.host.errors import HostError

SHIPPED = Path(hostfxr.__file__).resolve().parent.parent / "_bin" / "PyClrBridge.Shim.runtimeconfig.json"


def test_the_default_runtime_config_is_the_one_shipped_in_the_package() -> None:
    if not SHIPPED.is_file():
        pytest.skip("the package was installed without its shim runtimeconfig")
    assert hostfxr.default_runtime_config() == SHIPPED


def test_a_world_writable_config_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(HostError, match="others can write to it"):
        hostfxr.private_runtime_config(folder)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_a_config_folder_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    shutil.chown(folder, user="nobody")
    with pytest.raises(HostError, match="not by you"):
        hostfxr.private_runtime_config(folder)


def test_a_private_folder_gets_a_config_only_its_owner_can_change(tmp_path: Path) -> None:
    path = hostfxr.private_runtime_config(tmp_path / "cache")
    assert path.parent.stat().st_mode & 0o077 == 0
    assert '"rollForward": "LatestMajor"' in path.read_text(encoding="utf-8")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_a_planted_dev_json_beside_the_shipped_config_is_not_used(tmp_path: Path) -> None:
    shipped = tmp_path / "bin" / "PyClrBridge.Shim.runtimeconfig.json"
    shipped.parent.mkdir()
    shipped.write_text('{"runtimeOptions": {}}', encoding="utf-8")
    (shipped.parent / "PyClrBridge.Shim.runtimeconfig.dev.json").write_text(
        '{"runtimeOptions": {"configProperties": {"System.GC.Server": true}}}', encoding="utf-8"
    )
    chosen = hostfxr.default_runtime_config(shipped=shipped, cache=tmp_path / "cache")
    assert chosen.parent == tmp_path / "cache"
    assert not hostfxr.dev_config_of(chosen).exists()


def test_a_dev_json_in_the_private_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    (folder / "pyclrbridge.runtimeconfig.dev.json").write_text("{}", encoding="utf-8")
    with pytest.raises(HostError, match=r"dev\.json beside it"):
        hostfxr.private_runtime_config(folder)
