"""Issue 32.1: no CPython object whose operations mutate its internal state is shared by threads
on the string-read paths. A memoryview counts its exports without atomics, so threads slicing
one shared view lose updates on a free-threaded build and the view is released for good (every
later string read then fails). Each thread (and each pooled call frame) reads through its own
view; docs/threads.md lists the shared objects that remain and why each is safe."""

from __future__ import annotations

from typing import Any

from pyclrbridge.host import shim
from pyclrbridge.testing import run_concurrently

THREADS = 6


def test_the_shim_module_exposes_no_shared_view_of_memory() -> None:
    assert not hasattr(shim, "MEMORY")
    assert not [name for name, value in vars(shim).items() if isinstance(value, memoryview)]


def test_each_thread_reads_through_a_view_of_its_own() -> None:
    def view_of_this_thread() -> Any:
        view = shim.thread_memory()
        assert shim.thread_memory() is view  # the same one on every read of this thread
        return view

    views = run_concurrently(view_of_this_thread, THREADS)  # all alive at once: no thread id reused
    assert len({id(v) for v in views}) == THREADS
    mine = shim.thread_memory()
    assert not any(v is mine for v in views)  # (never ==: that compares all of memory)


def test_pooled_frames_each_have_their_own_view(clr: Any) -> None:
    from pyclrbridge.host import bridge

    frames = [bridge.acquire_frame() for _ in range(4)]
    try:
        memories = [f.memory for f in frames]
        assert len({id(m) for m in memories}) == 4
        assert not any(m is shim.thread_memory() for m in memories)
    finally:
        for f in frames:
            bridge.release_frame(f)


def test_threads_reading_strings_at_once_all_read_them_right(clr: Any) -> None:
    """Threads x String.Concat (the fast call path), string properties, bulk string reads."""
    from System import String
    from System.Collections.Generic import List
    from System.Text import StringBuilder

    words = List[str]([f"word {i} " * (i % 7) for i in range(300)])
    expected_words = [f"word {i} " * (i % 7) for i in range(300)]

    def run(index: int) -> None:
        sb = StringBuilder(f"thread {index}")
        for i in range(3000):
            a, b = f"t{index}-", str(i) * (i % 5)
            got = String.Concat(a, b)
            if got != a + b:
                raise AssertionError(f"Concat({a!r}, {b!r}) read {got!r}")
            if i % 100 == 0:
                if sb.ToString() != f"thread {index}":
                    raise AssertionError("ToString read wrong")
                if list(words) != expected_words:
                    raise AssertionError("a bulk read of strings read wrong")

    run_concurrently(run, THREADS, pass_index=True, timeout=300)  # raises the first thread's failure
    assert String.Concat("still ", "readable") == "still readable"
