"""Foundation: starting .NET, idempotent load(), clear errors, round trips through the shim."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import pytest

from conftest import assert_clean_exit, run_python


def test_load_returns_a_runtime_with_version_and_root(clr: Any) -> None:
    assert clr.version.split(".")[0].isdigit()
    assert int(clr.version.split(".")[0]) >= 8
    assert (clr.dotnet_root / "host" / "fxr").is_dir()
    assert clr.shim_path.is_file()
    assert repr(clr).startswith("<pyclrbridge.Runtime .NET ")


def test_load_again_returns_the_same_object(clr: Any) -> None:
    from pyclrbridge import load

    assert load() is clr


def test_32_threads_calling_load_at_once_get_one_runtime(clr: Any) -> None:
    from pyclrbridge import load

    barrier = threading.Barrier(32)
    seen: list[Any] = []

    def worker() -> None:
        barrier.wait()
        seen.append(load())

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 32
    assert all(r is clr for r in seen)


def test_32_threads_racing_the_first_load_start_the_runtime_once() -> None:
    proc = run_python("""
        import threading, pyclrbridge, pyclrbridge.host.hostfxr as h
        starts = []
        original = h.start
        def counting(*a, **k):
            starts.append(1)
            return original(*a, **k)
        h.start = counting
        barrier = threading.Barrier(32)
        seen = []
        def worker():
            barrier.wait()
            seen.append(pyclrbridge.load())
        threads = [threading.Thread(target=worker) for _ in range(32)]
        for t in threads: t.start()
        for t in threads: t.join()
        assert len(seen) == 32 and len({id(r) for r in seen}) == 1, seen
        print("starts", len(starts))
    """)
    assert_clean_exit(proc)
    assert "starts 1" in proc.stdout


def test_load_with_incompatible_arguments_names_both(clr: Any, tmp_path: Any) -> None:
    from pyclrbridge import load

    other = tmp_path / "other.runtimeconfig.json"
    other.write_text(
        json.dumps({"runtimeOptions": {"framework": {"name": "Microsoft.NETCore.App", "version": "8.0.0"}}})
    )
    with pytest.raises(RuntimeError) as info:
        load(other)
    assert "running:" in str(info.value) and "asked:" in str(info.value)
    assert str(other.resolve()) in str(info.value)


def _host_error_output(load_arguments: str, env: dict[str, str] | None = None) -> str:
    """What a fresh interpreter prints for the HostError of ``pyclrbridge.load(<load_arguments>)``."""
    proc = run_python(
        f"""
        import pyclrbridge
        try:
            pyclrbridge.load({load_arguments})
        except pyclrbridge.HostError as e:
            print("HostError:", e)
    """,
        env=env,
    )
    assert_clean_exit(proc)
    return proc.stdout


def test_wrong_dotnet_root_says_where_it_looked(tmp_path: Any) -> None:
    out = _host_error_output(f"dotnet_root={str(tmp_path)!r}")
    assert "HostError:" in out
    assert str(tmp_path) in out


def test_missing_runtime_config_names_the_file(tmp_path: Any) -> None:
    missing = tmp_path / "nope.runtimeconfig.json"
    out = _host_error_output(repr(str(missing)))
    assert str(missing) in out and "does not exist" in out


def test_malformed_runtime_config_names_the_file(tmp_path: Any) -> None:
    bad = tmp_path / "bad.runtimeconfig.json"
    bad.write_text("{ this is not json")
    out = _host_error_output(repr(str(bad)))
    assert str(bad) in out and "not valid JSON" in out


def test_hostfxr_failure_reports_hex_code_and_host_text(tmp_path: Any) -> None:
    config = tmp_path / "future.runtimeconfig.json"
    config.write_text(
        json.dumps(
            {"runtimeOptions": {"tfm": "net99.0", "framework": {"name": "Microsoft.NETCore.App", "version": "99.0.0"}}}
        )
    )
    out = _host_error_output(repr(str(config)))
    assert "HostError:" in out
    assert "0x8000" in out  # hostfxr's code in hex
    assert "99.0.0" in out  # the text hostfxr wrote names the missing framework


def test_missing_shim_names_its_path(tmp_path: Any) -> None:
    missing = tmp_path / "PyClrBridge.Shim.dll"
    out = _host_error_output("", env={"PYCLRBRIDGE_SHIM": str(missing)})
    assert str(missing) in out and "missing" in out


def test_environment_version_round_trips_as_the_runtime_version(clr: Any) -> None:
    version = clr.get_type("System.Environment").Version
    assert str(version) == clr.version


def test_string_round_trip_through_the_shim(clr: Any) -> None:
    String = clr.get_type("System.String")
    text = "héllo wörld ✓ 𝄞"
    assert String.Concat(text, "!") == text + "!"
    assert String.Copy(text) == text if hasattr(String, "Copy") else True


def test_int_round_trip_through_the_shim(clr: Any) -> None:
    Math = clr.get_type("System.Math")
    assert Math.Abs(-(2**31) + 1) == 2**31 - 1
    assert Math.Max(2**40, 3) == 2**40


def test_stats_counts_handles_and_classes(clr: Any) -> None:
    stats = clr.stats()
    for key in ("live_handles", "cached_classes", "handles_allocated", "python_objects_held"):
        assert isinstance(stats[key], int), key
    assert stats["cached_classes"] >= 1


def test_add_reference_of_a_missing_assembly_names_the_paths_tried(clr: Any) -> None:
    with pytest.raises(FileNotFoundError) as info:
        clr.add_reference("Definitely.Not.There")
    assert "Definitely.Not.There" in str(info.value)
    assert "tried" in str(info.value)


def test_add_reference_by_path_lists_the_assembly_types(fixtures: Any, fixtures_dll: Any) -> None:
    assembly = fixtures.add_reference(fixtures_dll)
    assert assembly.name == "PyClrBridge.Fixtures"
    assert "Fixtures.Members.Widget" in assembly.types


def test_info_command_prints_versions_paths_and_gil_state() -> None:
    proc = run_python("""
        import sys
        from pyclrbridge.__main__ import main
        sys.exit(main(["info"]))
    """)
    assert_clean_exit(proc)
    out = proc.stdout
    for word in ("dotnet runtime", "dotnet root", "hostfxr", "shim", "python", "gil enabled"):
        assert word in out, (word, out)


def test_info_json_reports_gil_state_truthfully() -> None:
    proc = run_python("""
        import sys
        from pyclrbridge.__main__ import main
        sys.exit(main(["info", "--json"]))
    """)
    assert_clean_exit(proc)
    data = json.loads(proc.stdout)
    expected = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    assert data["gil_enabled"] is expected
    assert data["dotnet_runtime"]
