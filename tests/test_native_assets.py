"""Native libraries of a referenced assembly found where .NET's host would look for an
application published in its folder: the native assets any ``*.deps.json`` there names, then
``runtimes/<rid>/native`` along the RID chain (``linux-x64``, ``linux``, ``unix``, ``any``).

A small C library, built here, stands in for a package's native asset; the assembly that
imports it is the fixture assembly, copied into a folder laid out like a portable publish.
Each case runs in a fresh process: a process loads a native library once."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import assert_clean_exit, run_python

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the library is built as a Linux .so"),
    pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler to build the native library"),
]

_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower(), "")
LIB = "libpyclrbridge_probe.so"


def _native(path: Path, answer: int, tmp: Path) -> None:
    """A libpyclrbridge_probe.so at ``path`` whose pyclrbridge_probe_answer() returns ``answer``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = tmp / f"probe{answer}.c"
    source.write_text(f"int pyclrbridge_probe_answer(void) {{ return {answer}; }}\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(path), str(source)], check=True)


def _publish(tmp: Path, fixtures_dll: Path) -> Path:
    folder = tmp / "publish"
    folder.mkdir()
    shutil.copy(fixtures_dll, folder / fixtures_dll.name)  # no PyClrBridge.Fixtures.deps.json beside it
    return folder


def _answer(folder: Path) -> str:
    proc = run_python(f"""
        import pyclrbridge
        clr = pyclrbridge.load()
        clr.add_reference({str(folder / "PyClrBridge.Fixtures.dll")!r})
        from Fixtures.NativeProbe import Probe
        try:
            print(Probe.Answer())
        except Exception as e:
            print(type(e).__name__, e)
    """)
    assert_clean_exit(proc)
    return proc.stdout.strip()


@pytest.mark.skipif(not _ARCH, reason="an architecture without a known .NET RID name")
def test_the_most_specific_rid_folder_wins(tmp_path: Path, fixtures_dll: Path) -> None:
    folder = _publish(tmp_path, fixtures_dll)
    _native(folder / "runtimes" / f"linux-{_ARCH}" / "native" / LIB, 2, tmp_path)
    _native(folder / "runtimes" / "linux" / "native" / LIB, 1, tmp_path)
    _native(folder / "runtimes" / "unix" / "native" / LIB, 3, tmp_path)
    assert _answer(folder) == "2"


def test_the_rid_chain_falls_back_to_the_os_then_unix(tmp_path: Path, fixtures_dll: Path) -> None:
    folder = _publish(tmp_path, fixtures_dll)
    _native(folder / "runtimes" / "unix" / "native" / LIB, 3, tmp_path)
    _native(folder / "runtimes" / "win" / "native" / LIB, 9, tmp_path)  # another OS: never tried
    assert _answer(folder) == "3"
    _native(folder / "runtimes" / "linux" / "native" / LIB, 1, tmp_path)
    assert _answer(folder) == "1"


@pytest.mark.skipif(not _ARCH, reason="an architecture without a known .NET RID name")
def test_an_asset_the_apps_deps_json_names_is_found_under_any_path(tmp_path: Path, fixtures_dll: Path) -> None:
    folder = _publish(tmp_path, fixtures_dll)
    _native(folder / "custom" / "place" / LIB, 4, tmp_path)
    _native(folder / "runtimes" / "linux" / "native" / LIB, 1, tmp_path)
    deps = {
        "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0"},
        "targets": {
            ".NETCoreApp,Version=v8.0": {
                "Native.Thing/1.0.0": {
                    "runtimeTargets": {f"custom/place/{LIB}": {"rid": f"linux-{_ARCH}", "assetType": "native"}}
                }
            }
        },
    }
    (folder / "SomeApp.deps.json").write_text(json.dumps(deps))  # the app's, not PyClrBridge.Fixtures.deps.json
    assert _answer(folder) == "4"


def test_a_deps_json_cannot_point_outside_its_folder(tmp_path: Path, fixtures_dll: Path) -> None:
    folder = _publish(tmp_path, fixtures_dll)
    _native(tmp_path / "outside" / LIB, 5, tmp_path)
    deps = {
        "targets": {
            ".NETCoreApp,Version=v8.0": {
                "Native.Thing/1.0.0": {
                    "native": {f"../outside/{LIB}": {}},
                    "runtimeTargets": {f"../outside/{LIB}": {"rid": "linux", "assetType": "native"}},
                }
            }
        }
    }
    (folder / "SomeApp.deps.json").write_text(json.dumps(deps))
    (folder / "Broken.deps.json").write_text("{ not json")  # skipped, as if absent
    answer = _answer(folder)
    assert answer.startswith("DllNotFoundException") and "pyclrbridge_probe" in answer
