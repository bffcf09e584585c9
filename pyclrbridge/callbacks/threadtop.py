"""Exceptions escaping callbacks that .NET runs at the top of one of its threads.

A Python callable started as a ``Thread``, queued as a thread-pool work item or fired by a
``Timer`` has nobody to raise to: .NET would end the process. Instead the shim hands the
exception to :func:`_report`, which calls :func:`threading.excepthook` like an exception ending
a Python thread (with the callable's traceback), and the process goes on.
``load(thread_exceptions="fail-fast")`` restores .NET's behaviour.
"""

from __future__ import annotations

import threading
from typing import Any

from ..host import bridge as _bridge
from ..proxies.catalog import class_by_name
from ..proxies.exceptions import original_exception
from ..values import exports as _exports
from ..values.objects import handle_of

#: The values of ``load(thread_exceptions=...)``.
MODES = ("excepthook", "fail-fast")


def _report(error: Any) -> None:
    exc = original_exception(error)
    hook_args = threading.ExceptHookArgs((type(exc), exc, exc.__traceback__, threading.current_thread()))
    threading.excepthook(hook_args)


def configure(mode: str) -> None:
    """Tell the shim where exceptions at the top of a .NET thread go (``MODES``)."""
    if mode not in MODES:
        raise ValueError(f"thread_exceptions must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
    action = class_by_name("System.Action`1")[class_by_name("System.Exception")]
    reporter = action(_report)  # .NET keeps the delegate (and through it _report) from now on
    _exports.call(_bridge.shim().SetThreadTopReporter, handle_of(reporter), 1 if mode == "fail-fast" else 0)
