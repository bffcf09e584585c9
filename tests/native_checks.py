"""Checks the native fast paths' test files share (test_fast_path, test_releasing_members,
test_native_release): what an action gave, which Python functions ran during it, objects
released under threads that use them, and a forked child.
"""

from __future__ import annotations

import math
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from conftest import assert_clean_exit, run_python


def outcome_of(action: Callable[[], Any]) -> tuple[str, Any]:
    """What ``action`` gave, comparable between two paths: ``("raised", "module.Type: message")``
    or ``("value", (type, value))`` (a NaN as ``("value", "nan")``)."""
    try:
        value = action()
    except Exception as e:
        return ("raised", f"{type(e).__module__}.{type(e).__qualname__}: {e}")
    if isinstance(value, float) and math.isnan(value):
        return ("value", "nan")
    return ("value", (type(value), value))


def functions_run(action: Callable[[], Any], in_file: Callable[[str], bool]) -> list[str]:
    """The names of the Python functions called during ``action`` (this thread) whose file
    ``in_file`` accepts, in order."""
    seen: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and in_file(frame.f_code.co_filename):
            seen.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return seen


def note_unless_released(e: Exception, unexpected: list[str]) -> None:
    """A release race may end in the bridge's "released" ValueError or .NET's
    ObjectDisposedException; anything else goes into ``unexpected``."""
    released = isinstance(e, ValueError) and "released" in str(e)
    if not (released or type(e).__name__ == "ObjectDisposedException"):
        unexpected.append(f"{type(e).__name__}: {e}")


def release_race(
    items: Sequence[Any],
    access: Callable[[Any, int], object],
    *,
    pause: float = 0.0,
    beside: Callable[[], object] | None = None,
) -> list[str]:
    """Four threads call ``access(items[i % len(items)], i)`` for i = 1, 2, ... while this
    thread releases every item (a .NET object, or a tuple of them) in turn: after ``pause``
    seconds, and waiting ``pause`` again before the threads stop. ``beside``, when given, runs
    over and over on a fifth thread meanwhile. What the accesses raised other than the
    released-object error (:func:`note_unless_released`)."""
    import pyclrbridge

    unexpected: list[str] = []
    stop = threading.Event()

    def work() -> None:
        i = 0
        while not stop.is_set():
            item = items[i % len(items)]
            i += 1
            try:
                access(item, i)
            except Exception as e:
                note_unless_released(e, unexpected)

    def besides() -> None:
        while not stop.is_set():
            beside()

    threads = [threading.Thread(target=work) for _ in range(4)]
    if beside is not None:
        threads.append(threading.Thread(target=besides))
    for t in threads:
        t.start()
    time.sleep(pause)
    for item in items:
        for obj in item if isinstance(item, tuple) else (item,):
            pyclrbridge.release(obj)
    time.sleep(pause)
    stop.set()
    for t in threads:
        t.join(60)
    return unexpected


_FORK_SCRIPT = """
import multiprocessing
import os
import pyclrbridge
clr = pyclrbridge.load()
{reference}
{setup}

def child(queue):
    outcome = []
{child_first}
    for use in {uses}:
        try:
            use()
            outcome.append("ran")
        except RuntimeError as e:
            outcome.append("spawn" if "'spawn' start method" in str(e) else str(e))
    queue.put(outcome)

ctx = multiprocessing.get_context("fork")
queue = ctx.Queue()
worker = ctx.Process(target=child, args=(queue,))
worker.start()
print(queue.get(timeout=60))
worker.join(60)
print("child exit", worker.exitcode, "parent", {parent})
"""


def in_forked_child(
    setup: str, uses: str, parent: str, *, child_first: str = "pass", fixtures_dll: Path | None = None
) -> list[str]:
    """Run ``setup`` in a fresh interpreter (``clr`` loaded, the fixture assembly referenced when
    given), then fork. The child runs ``child_first`` (it may append to ``outcome``), then calls
    each of ``uses`` (a tuple of callables), noting "ran", "spawn" for the RuntimeError that
    names the 'spawn' start method or another RuntimeError's message, and hands that list to
    the parent. The parent prints it, then ``child exit <code> parent <parent>`` (``parent``:
    expressions evaluated after the child ended). It must exit cleanly: its output lines."""
    script = _FORK_SCRIPT.format(
        reference='clr.add_reference(os.environ["FIXTURES_DLL"])' if fixtures_dll is not None else "",
        setup=textwrap.dedent(setup),
        child_first=textwrap.indent(textwrap.dedent(child_first).strip(), "    "),
        uses=uses,
        parent=parent,
    )
    proc = run_python(script, timeout=90, fixtures_dll=fixtures_dll)
    assert_clean_exit(proc)
    return proc.stdout.splitlines()
