"""A map whose values are held weakly, and whose entries die with no Python code running.

``weakref.WeakValueDictionary`` removes an entry from a weakref callback written in Python. CPython
checks for signals at that function's first instruction, so a signal handler that raises there
(Ctrl-C, an alarm) interrupts the removal: CPython prints "Exception ignored while calling weakref
callback", and the program sees noise for a removal it never asked for. Here each value's weak
reference calls ``list.append`` (C) with itself when the value dies: the reference goes on a
list, and the entry is dropped at the next write, under the owner's lock. A read finds a dead
entry absent, as the dictionary's own reads do.
"""

from __future__ import annotations

import weakref
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class WeakValues(Generic[V]):
    """``key -> value`` with weak values. Not locked itself: its owner guards reads and writes
    with one lock (the dead list alone is written by any thread, by ``list.append``, which is
    atomic)."""

    __slots__ = ("_dead", "_entries")

    def __init__(self) -> None:
        self._entries: dict[Any, weakref.KeyedRef[Any, V]] = {}
        # Dead references, appended from C by each reference as its value dies.
        self._dead: list[weakref.KeyedRef[Any, V]] = []

    def get(self, key: Any) -> V | None:
        """The live value of ``key``, or None."""
        ref = self._entries.get(key)
        return None if ref is None else ref()

    def set(self, key: Any, value: V) -> None:
        """Map ``key`` to ``value`` (weakly), and drop entries whose values died."""
        self._purge()
        self._entries[key] = weakref.KeyedRef(value, self._dead.append, key)

    def __len__(self) -> int:
        self._purge()
        return len(self._entries)

    def _purge(self) -> None:
        while self._dead:
            try:
                ref = self._dead.pop()
            except IndexError:  # another thread took the last one
                break
            if self._entries.get(ref.key) is ref:  # not replaced by a newer entry since
                del self._entries[ref.key]
