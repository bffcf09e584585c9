"""The declared type of a .NET object a member returned, where C# binds by it.

C# chooses extension methods by a value's static type: a fluent API whose methods return
``IRuleBuilderOptions<T, P>`` gets that interface's extensions, although the object behind it
implements several builder interfaces whose extensions would all apply. A method group notes,
for each proxy a method declared to return an interface produced, that interface; extension
lookup (:mod:`.extensions`) tries it before the object's own class. Each call returns a new
proxy, so the note is about that value, as C#'s static type is about that expression.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from ..host import typeinfo as _typeinfo
from ..host.locks import SignalSafeLock

# Owner: _lock guards _declared (written by any thread a call returns on, read by extension
# lookups). Entries hold a weak reference, so a noted proxy is never kept alive; an entry
# whose proxy died (its id may be reused) is ignored on read and swept when the table grows.
_lock = SignalSafeLock("pyclrbridge.proxies.declared._lock")
_declared: dict[int, tuple[weakref.ref[Any], int]] = {}
_sweep_at = 1024


def note(obj: Any, type_id: int) -> None:
    """Remember that ``obj`` was returned as ``type_id``."""
    global _sweep_at
    try:
        ref = weakref.ref(obj)
    except TypeError:  # not a proxy (a converted value): nothing to remember
        return
    _ = _lock.taken
    try:
        _declared[id(obj)] = (ref, type_id)
        if len(_declared) >= _sweep_at:
            for key in [k for k, (r, _) in _declared.items() if r() is None]:
                del _declared[key]
            _sweep_at = max(1024, 2 * len(_declared))
    finally:
        _lock.release()


def of(obj: Any) -> int:
    """The type ``obj`` was returned as (0: not noted)."""
    _ = _lock.taken
    try:
        entry = _declared.get(id(obj))
    finally:
        _lock.release()
    if entry is None or entry[0]() is not obj:
        return 0
    return entry[1]


# pythonnet's interface views (set by pyclrbridge.compat, None natively): ``view(obj, type_id)``
# is what a member declared as interface ``type_id`` gives for ``obj``. One reference, replaced
# whole; read once per interface-typed result.
_viewer: list[Callable[[Any, int], Any] | None] = [None]


def view_interfaces(viewer: Callable[[Any, int], Any] | None) -> None:
    """Make interface-typed results ``viewer(obj, type_id)`` (None: the object as it is)."""
    _viewer[0] = viewer


def returned(obj: Any, type_id: int) -> Any:
    """What a member declared to return interface ``type_id`` gives for ``obj``: ``obj``, noted
    (see :func:`note`), or its view under `view_interfaces`."""
    note(obj, type_id)
    viewer = _viewer[0]
    return obj if viewer is None else viewer(obj, type_id)


def viewing() -> bool:
    """Whether interface-typed results are views (`view_interfaces`)."""
    return _viewer[0] is not None


def viewed(type_id: int) -> bool:
    """Whether a member declared as ``type_id`` gives views under `view_interfaces`: an
    interface, or an array of an interface type (seen as that array type)."""
    if not type_id:
        return False
    t = _typeinfo.info(type_id)
    return t.kind == "interface" or (t.kind == "array" and _typeinfo.info(t.element).kind == "interface")


def view(obj: Any, type_id: int) -> Any:
    """``obj`` as a member declared as ``type_id`` gives it under `view_interfaces` (as it is
    natively), without noting it."""
    viewer = _viewer[0]
    return obj if viewer is None or obj is None else viewer(obj, type_id)
