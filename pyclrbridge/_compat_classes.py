"""Adapting each .NET class under `pyclrbridge.compat`: pythonnet rules that live on a class's
members (interface views, ``del obj[i]``) are given to a class when it is built, and to the
classes built before compat was switched on when it is.

Each adapter takes one class, marks what it did in the class dict and does nothing the second
time; the members it installs read compat's switch on each use, so switching compat off gives
pyclrbridge's behaviour back without undoing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .proxies import catalog as _catalog

# The adapters, in order. Appended at compat's import (under the import lock), read after.
_adapters: list[Callable[[Any], None]] = []
# Whether compat's class rules are on (pythonnet_rules); one bool, replaced whole.
ON = [False]
# The builder's populate step before compat wrapped it (None: not wrapped yet). Written once,
# under the import lock (compat's import), read after.
_native_populate: list[Callable[[Any], None] | None] = [None]


def add_adapter(adapter: Callable[[Any], None]) -> None:
    """Run ``adapter(cls)`` on every class built while compat is on (and those built before)."""
    if adapter not in _adapters:
        _adapters.append(adapter)


def _populate(cls: Any) -> None:
    populate = _native_populate[0]
    assert populate is not None  # set before this is installed
    populate(cls)
    if ON[0]:
        for adapter in _adapters:
            adapter(cls)


def adapt_classes(enabled: bool) -> None:
    """Switch the class rules on (``enabled``: the first time wraps the class builder's populate
    step; every class built so far is adapted) or off."""
    ON[0] = enabled
    if not enabled:
        return
    if _native_populate[0] is None:
        _native_populate[0] = _catalog._populate
        _catalog.install_builder(_catalog._create, _populate)
    for cls in _catalog.built_classes():
        for adapter in _adapters:
            adapter(cls)
