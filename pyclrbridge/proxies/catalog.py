"""The one Python class per .NET type: the two-level class cache and the names that find classes.

One pipeline: complete-cache check, then under the build lock: in-progress check, the class
object (parked in ``_in_progress``), its members and protocols, publish to ``_complete`` last.
Only complete classes are ever visible outside the lock. What a class holds is decided by
:mod:`.classes`, which installs itself here (:func:`install_builder`) when the layer loads.

Classes of types built from the type of a Python class (``List[S]``, ``S[]``, ``Func[S]``,
whose ``__clr_mentions__`` name those types) are cached weakly: such a class holds the
Python classes it is built from (``__clr_pins__``), so caching it for ever would keep them
alive for ever. :func:`live_mentions` tells the drain which types must not be forgotten yet.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..host.locks import SignalSafeLock
from ..values.targets import type_id_for

# Owner: _build_lock (reentrant: building a class builds its base first, on the same thread).
# _complete is read without the lock and holds only finished classes; _in_progress is only
# touched under the lock.
_build_lock = SignalSafeLock("pyclrbridge.proxies.catalog._build_lock", reentrant=True)
_complete: dict[int, Any] = {}
_in_progress: dict[int, Any] = {}
# Owner: _build_lock for writes (set when built, dead entries pruned); read without the lock
# like _complete. Weak references to the finished classes that have ``__clr_mentions__``.
_transient: dict[int, weakref.ref[Any]] = {}
_builds = 0  # how many classes were built (stats); written under _build_lock


def _not_installed(*args: Any) -> Any:
    raise RuntimeError("the proxy classes are not installed (import pyclrbridge first)")


# The two steps of building a class (:mod:`.classes`): make the class object, then add its
# members. Written once by install_builder at package import, read after.
_create: Callable[[int], Any] = _not_installed
_populate: Callable[[Any], None] = _not_installed


#: Called after class_for built a class (outside the build lock): proxies.extensions syncs the
#: extension names of assemblies loaded meanwhile. Appended once at package import.
AFTER_BUILD: list[Callable[[], None]] = []


def install_builder(create: Callable[[int], Any], populate: Callable[[Any], None]) -> None:
    """Registration from :mod:`.classes`: how a class is made and filled."""
    global _create, _populate
    _create, _populate = create, populate


def class_for(type_id: int) -> Any:
    """The one Python class for a .NET type id."""
    cls = _complete.get(type_id)
    if cls is not None:
        return cls
    ref = _transient.get(type_id)
    cls = ref() if ref is not None else None
    if cls is not None:
        return cls
    _ = _build_lock.taken
    try:
        ref = _transient.get(type_id)
        cls = _complete.get(type_id) or _in_progress.get(type_id) or (ref() if ref is not None else None)
        if cls is not None:
            return cls
        cls = _build(type_id)
    finally:
        _build_lock.release()
    for hook in AFTER_BUILD:
        hook()
    return cls


def forget(type_id: int) -> None:
    """Drop the class of a .NET type that is going away (a Python class's emitted type)."""
    _ = _build_lock.taken
    try:
        _complete.pop(type_id, None)
    finally:
        _build_lock.release()


def cached_class_count() -> int:
    return len(_complete)


def built_classes() -> list[Any]:
    """The classes built so far (a snapshot, taken under the build lock)."""
    _ = _build_lock.taken
    try:
        return list(_complete.values())
    finally:
        _build_lock.release()


def build_lock() -> SignalSafeLock:
    """The lock every class is built under (the drain forgets dead Python classes' types under it)."""
    return _build_lock


def live_mentions() -> set[int]:
    """The emitted types that live classes (built or being built) are made from; call under
    :func:`build_lock`. Prunes the weak cache of classes that died."""
    found: set[int] = set()
    for type_id, ref in list(_transient.items()):
        cls = ref()
        if cls is None:
            del _transient[type_id]
        else:
            found.update(cls.__dict__["__clr_mentions__"])
    for cls in _in_progress.values():
        found.update(cls.__dict__.get("__clr_mentions__", ()))
    return found


def class_by_name(name: str) -> Any:
    """The class for a full or assembly-qualified .NET type name."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a .NET type name must be a non-empty str, not {name!r}")
    type_id = _typeinfo.id_by_name(name)
    if not type_id and "." in name and "," not in name:
        data, n = _bridge.utf16(name.rsplit(".", 1)[0])
        if _bridge.shim().TryLoadNamespace(data, n):
            type_id = _typeinfo.id_by_name(name)
    if not type_id:
        raise LookupError(
            f"no .NET type named {name!r} in the loaded assemblies (add_reference() the assembly that defines it)"
        )
    return class_for(type_id)


def _build(type_id: int) -> Any:
    global _builds
    cls = _create(type_id)
    _in_progress[type_id] = cls
    try:
        _populate(cls)
        if cls.__dict__.get("__clr_mentions__"):
            # weakref.ref() is a call, after which a signal handler may raise: the parked class
            # must still leave _in_progress (the finally), published or not.
            _transient[type_id] = weakref.ref(cls)  # publish last: now every member is present
        else:
            _complete[type_id] = cls  # publish last: now every member is present
    finally:
        del _in_progress[type_id]
    _builds += 1
    return cls


def instantiate(cls: Any, args: tuple[Any, ...]) -> Any:
    """``Cls[T1, T2]``: a generic instantiation (or ``System.Array[T]``: an array type)."""
    info: _typeinfo.TypeInfo = cls.__clr_info__
    ids = [type_id_for(a) for a in args]
    if info.full_name == "System.Array":
        if len(ids) != 1:
            raise TypeError("System.Array[T] takes one element type")
        return class_for(_typeinfo.array_type(ids[0]))
    if info.generic_def and len(info.generic_args) == len(ids):
        return class_for(_typeinfo.make_generic(info.id, ids))
    base = _strip_arity((_typeinfo.info(info.generic_def_id) if info.generic_def_id else info).full_name)
    sibling = _typeinfo.id_by_name(f"{base}`{len(ids)}, {info.assembly}") or _typeinfo.id_by_name(f"{base}`{len(ids)}")
    if sibling:
        return class_for(_typeinfo.make_generic(sibling, ids))
    raise TypeError(f"{cls.__clr_name__} has no generic form with {len(ids)} type argument(s)")


def _strip_arity(full_name: str) -> str:
    """``Ns.Outer`1+Inner`1`` -> ``Ns.Outer`1+Inner`` (only the last name's arity)."""
    tick = full_name.rfind("`")
    if tick > max(full_name.rfind("."), full_name.rfind("+")):
        return full_name[:tick]
    return full_name
