"""Locks that no signal can leave held.

A Python signal handler runs in the main thread wherever the interpreter next checks for
pending work, and it may raise there (``KeyboardInterrupt`` on Ctrl-C, a ``SIGALRM`` handler's
exception). Two common spellings of "take a lock, then make sure it is released" have such a
check between taking the lock and entering the block that releases it:

- ``lock.acquire()`` followed by ``try:``: the call checks for signals after ``acquire``
  returned, before the ``try`` starts (every CPython version);
- ``with lock:`` on CPython 3.14: ``__enter__`` is called through ``CALL``, which checks for
  signals after the call, before the ``with`` block's handler is in place
  (python/cpython#148874; 3.11-3.13 use one ``BEFORE_WITH`` instruction without a check).

An exception raised there leaves the lock held for ever, and every thread that wants it next
waits for ever. :class:`SignalSafeLock` closes the window: reading its ``taken`` attribute
acquires the lock inside the attribute read itself (a property whose getter is a C callable,
so no Python frame and no check runs), and the bytecode between that read and the first
instruction of the following ``try`` (a store, a ``NOP``) checks for nothing. So once the lock
is held, the next place an exception can appear is inside the ``try``; a signal that arrives
while a blocking acquire waits makes the acquire fail without the lock. Releasing is the first
call of the ``finally`` block: the way from an exception to that call checks for nothing
either. Every lock of the package is used in exactly this shape::

    _ = _registry_lock.taken
    try:
        ...
    finally:
        _registry_lock.release()

A lock taken only when free has the same shape with the result kept and tested inside::

    got = lock.taken_if_free
    try:
        if not got:
            return
        ...
    finally:
        if got:
            lock.release()

``tests/test_signal_locks.py`` checks that every lock site has one of these shapes and raises signals at random
points while threads contend for the locks. The object has no ``__enter__``: ``with lock:``
fails at once instead of being unsafe on some versions.
"""

from __future__ import annotations

import operator
import threading
from typing import Any


class SignalSafeLock:
    """A named lock (reentrant on request) whose acquisition no signal can separate from the
    ``try`` that releases it. See the module docstring for the one way to use it."""

    __slots__ = ("_is_owned", "acquire", "name", "release")

    #: Reading it acquires the lock (blocking) and gives True.
    taken = property(operator.methodcaller("acquire"))
    #: Reading it acquires the lock if no other thread holds it: True when it did.
    taken_if_free = property(operator.methodcaller("acquire", False))

    def __init__(self, name: str, *, reentrant: bool = False) -> None:
        lock: Any = threading.RLock() if reentrant else threading.Lock()
        self.name = name
        self.acquire = lock.acquire
        self.release = lock.release
        # Whether the calling thread holds it: RLock knows its owner, a plain Lock does not.
        self._is_owned = getattr(lock, "_is_owned", None)

    def held_by_me(self) -> bool | None:
        """True when the calling thread holds this reentrant lock (None for a plain lock)."""
        return None if self._is_owned is None else bool(self._is_owned())

    def __repr__(self) -> str:
        return f"<SignalSafeLock {self.name}>"


class SignalSafeFlag:
    """A one-way flag shared by threads (``threading.Event`` without waiting) that no signal can
    leave half-set or locked.

    ``threading.Event.set()`` takes the event's internal lock with ``with``; on CPython 3.14 a
    signal handler can raise between taking that lock and entering the block (the gap
    :class:`SignalSafeLock` closes), which leaves the flag unset and the lock held, so the next
    ``set()`` (or ``wait()``) blocks for ever. Setting this flag is one attribute store and
    reading it one attribute load (atomic on free-threaded builds too): no lock, and an exception
    can only land before the store (the flag stays unset, and setting it again works)."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set
