"""Python classes deriving from .NET classes and implementing .NET interfaces.

A class statement whose bases include a .NET proxy class (``class ByLength(IComparer[str])``,
``class Square(Shape)``) gets its own .NET type, emitted once by the shim (``Derived.cs``,
``DerivedEmitter.cs``): it derives from the .NET base, implements the interfaces, and every
member the Python class defines (and every abstract one) calls back into Python through one
trampoline.

Identity: the .NET object holds the Python object (a registry id); whenever .NET hands the
object to Python (a return value, a callback argument), Python gets that same object back.

Lifetime: the Python object owns a GCHandle to its .NET object (``_h``) and the registry
owns the Python object while .NET can reach it. That is a cycle across two heaps, so
:func:`sweep` (run with every drain of the registry, and by ``Runtime.collect()``) drops the
handle of each derived object that nothing in Python references any more. If .NET still holds
the object, it stays alive there and keeps the Python object; when .NET calls it or hands it
back, the Python object takes a new handle. If .NET does not hold it, .NET collects it and
the registry lets the Python object go. (A Python object that references itself, e.g.
``self.me = self``, is never swept: release it with :func:`pyclrbridge.release`.)

Classes die too: the registry of classes holds each weakly, every instance holds its class, and
the .NET type goes into an assembly of its own that the runtime can unload (collectible). When
the class is collected its type id is queued by a weakref callback (any thread, any time; a C
callable, so no Python frame a signal handler could cut short), and :func:`forget_dead_classes`
(a drain hook) tells the shim to let go of the type, after which .NET unloads the assembly once
no instance of the type is left.
"""

from __future__ import annotations

import ctypes
import functools
import json
import re
import sys
import types
import weakref
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..host.errors import ClrError
from ..host.locks import SignalSafeLock
from ..host.shim import utf16
from ..proxies import catalog as _catalog
from ..proxies.binder import DERIVED_BIND_KEYS, BindKey, choose
from ..proxies.catalog import class_for
from ..proxies.catalog import forget as _forget_class
from ..proxies.members import invoke_plan
from ..proxies.release import _release_lock
from ..proxies.signatures import callable_arity
from ..proxies.wrapping import DERIVED_CLASSES, DERIVED_TYPE_IDS
from ..values import exports as _exports
from ..values import objects as _objects
from ..values.targets import type_id_for

# Owner: proxies.release._release_lock. It already makes claiming a proxy's ``_h`` atomic for
# release(); adopt() and sweep() take and drop derived objects' handles under the same lock,
# so a handle is never freed twice nor adopted while it is being dropped.
_claim_lock = _release_lock

# Registry ids of derived Python objects (candidates for sweep). Guarded by _claim_lock.
_derived_ids: set[int] = set()

# Emitted type id -> a weak reference to the Python class (proxies.wrapping.DERIVED_CLASSES: the
# proxy classes of types built from it, List[S], read it to keep the class alive).
_classes: dict[int, weakref.ref[Any]] = DERIVED_CLASSES

# Type ids of classes that died (-> their dead weak reference), stored by their weakref callbacks
# (which may run on any thread, inside a garbage collection): the callback is this dict's own
# setdefault (one atomic dict operation, and no Python frame), and an id leaves it only once
# forget_dead_classes has forgotten its type.
_dead_classes: dict[int, Any] = {}

# Owner: _setup_lock makes registering the trampoline one step (once per process).
_setup_lock = SignalSafeLock("pyclrbridge.callbacks.derived._setup_lock")
_trampoline_id = 0


# How an override is called: None (with the input arguments), or pythonnet's convention under
# compat: ``adapter(obj, name, method, args)`` calls it. One reference, replaced whole.
_override_caller: list[Callable[[Any, str, Any, tuple[Any, ...]], Any] | None] = [None]


def call_overrides_with(caller: Callable[[Any, str, Any, tuple[Any, ...]], Any] | None) -> None:
    """Make every override call ``caller(obj, name, method, args)`` (None: ``method(*args)``)."""
    _override_caller[0] = caller


def _trampoline(obj: Any, name: str, *args: Any) -> Any:
    """What every emitted override calls: the Python member ``name`` of ``obj``."""
    if name.startswith("get:"):
        return getattr(obj, name[4:])
    if name.startswith("set:"):
        setattr(obj, name[4:], args[0])
        return None
    if name == "new:":
        return _new_from_dotnet(args[0])
    caller = _override_caller[0]
    if caller is not None:
        return caller(obj, name, getattr(obj, name), args)
    return getattr(obj, name)(*args)


def _new_from_dotnet(type_id: int) -> int:
    """A .NET constructor ran outside Python: the new Python object's registry id."""
    ref = _classes.get(type_id)
    cls = ref() if ref is not None else None
    if cls is None:
        raise TypeError(f"the Python class of .NET type id {type_id} was collected: no new instance can be made")
    obj = cls.__new__(cls)
    obj._h = 0  # taken when the .NET object first reaches Python (adopt)
    holder = _objects.IdHolder()
    try:
        _objects.register_into(obj, holder)  # registered and stored in one signal-free step
        _ = _claim_lock.taken
        try:
            _derived_ids.add(holder.i)
        finally:
            _claim_lock.release()
    except BaseException:
        _objects.forget_now(holder.i, None)  # never handed to .NET: one C call drops it
        raise
    return holder.i


def _ensure_trampoline() -> None:
    global _trampoline_id
    if _trampoline_id:
        return
    _ = _setup_lock.taken
    try:
        if not _trampoline_id:
            tid = _objects.register(_trampoline)
            _bridge.shim().DerivedSetup(tid)
            _trampoline_id = tid
    finally:
        _setup_lock.release()


class DerivedClass:
    """What a Python class deriving from .NET knows about its emitted .NET type."""

    __slots__ = ("name", "type_id")

    def __init__(self, name: str, type_id: int) -> None:
        self.name = name
        self.type_id = type_id

    def construct(self, cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``cls(...)``: a new Python object, its ``__init__``, and the .NET object behind it."""
        obj = cls.__new__(cls)
        obj._h = 0
        cls.__init__(obj, *args, **kwargs)
        if not obj._h:
            # __init__ did not call super().__init__(...): use the base's default constructor.
            self.init_base(obj, (), {})
        return obj

    def init_base(self, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """``super().__init__(...)``: run the .NET base constructor chosen for these arguments."""
        if getattr(obj, "_h", 0):
            return
        ctors = class_for(self.type_id).__dict__.get("__clr_ctors__", ())
        plan = choose(ctors, args, kwargs, lambda: f"{self.name}.__init__")
        shim = _bridge.shim()
        holder = _objects.IdHolder()
        try:
            # Registered and its id stored in one signal-free step (register_into), so the
            # except below always knows what to drop.
            _objects.register_into(obj, holder)
            _ = _claim_lock.taken
            try:
                _derived_ids.add(holder.i)
            finally:
                _claim_lock.release()
            shim.DerivedPending(holder.i)  # the constructor (same OS thread) binds the .NET object to obj
            made = invoke_plan(plan, 0, args, kwargs)
        except BaseException:
            # An exception (a signal too) before the .NET object took obj: its registration is
            # dropped first, by one C call with only attribute reads before it (a second signal
            # can skip what follows: a stale id in _derived_ids is dropped by the next sweep).
            if not obj._h:
                _objects.forget_now(holder.i, None)
            shim.DerivedPending(0)
            _ = _claim_lock.taken
            try:
                _derived_ids.discard(holder.i)
            finally:
                _claim_lock.release()
            raise
        if made is not obj:  # pragma: no cover - the constructor always binds the pending object
            raise RuntimeError(f"the .NET constructor of {self.name} did not bind the Python object")


def _dotnet_bases(cls: Any) -> tuple[Any, list[int]]:
    """The .NET base class (or None) and interface type ids a Python class derives from."""
    base: Any = None
    interfaces: list[int] = []
    for klass in cls.__mro__[1:]:
        info = klass.__dict__.get("__clr_info__")
        if info is None:
            continue
        if info.kind == "interface":
            interfaces.append(info.id)
        elif base is None and info.kind == "class":
            base = klass
        elif base is None:
            raise TypeError(
                f"{cls.__name__}: a Python class cannot derive from the .NET {info.kind} {klass.__clr_name__}"
            )
    return base, interfaces


def _python_names(cls: Any) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """Member names the Python classes in ``cls``'s MRO define (these override .NET members),
    and for plain methods the positional arguments they take besides ``self``."""
    names: set[str] = set()
    arity: dict[str, tuple[int, int]] = {}
    for klass in reversed(cls.__mro__):
        if "__clr_info__" in klass.__dict__ or klass is object or klass.__module__.startswith(_PACKAGE):
            continue  # .NET proxies, ClrObject and the bridge's own mixins
        for n, member in klass.__dict__.items():
            if n.startswith("__") and n.endswith("__"):
                continue
            names.add(n)
            arity.pop(n, None)
            if isinstance(member, types.FunctionType):
                shape = callable_arity(member)
                if shape is not None:
                    fewest, most = shape
                    arity[n] = (max(fewest - 1, 0), most - 1 if most > 0 else most)
    return sorted(names), arity


_PACKAGE = __name__.rsplit(".", 1)[0] + "."


def _declared(cls: Any) -> list[dict[str, Any]]:
    """Members the class declares for .NET with pythonnet's ``clrmethod`` (``_clr_return_type_``,
    ``_clr_arg_types_``, ``_clr_method_name_``) and ``clrproperty`` (``_clr_property_type_``,
    ``fget``, ``fset``): the emitted type gets a public method or property for each, so .NET
    reflection finds them (``t.GetType().GetProperty("X")``)."""
    found: list[dict[str, Any]] = []
    for n, member in cls.__dict__.items():
        if hasattr(member, "_clr_arg_types_") and hasattr(member, "_clr_return_type_"):
            ret = member._clr_return_type_
            found.append(
                {
                    "kind": "method",
                    "name": getattr(member, "_clr_method_name_", None) or n,
                    "py": n,
                    "type": 0 if ret is None else type_id_for(ret),
                    "params": [type_id_for(t) for t in member._clr_arg_types_],
                }
            )
        elif hasattr(member, "_clr_property_type_"):
            found.append(
                {
                    "kind": "property",
                    "name": n,
                    "py": n,
                    "type": type_id_for(member._clr_property_type_),
                    "params": [],
                    "get": getattr(member, "fget", None) is not None,
                    "set": getattr(member, "fset", None) is not None,
                }
            )
    return found


_NAMESPACE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _namespace(cls: Any) -> str | None:
    """The ``__namespace__`` a class statement gives its .NET type (pythonnet's spelling), or None."""
    ns = cls.__dict__.get("__namespace__")
    if ns is None:
        return None
    if not isinstance(ns, str) or not _NAMESPACE.fullmatch(ns):
        raise TypeError(
            f"class {cls.__qualname__}: __namespace__ must be a dotted .NET namespace like 'My.Types', not {ns!r}"
        )
    if not _NAMESPACE.fullmatch(cls.__name__):
        raise TypeError(f"class {cls.__qualname__}: with __namespace__ the class name must be a .NET identifier")
    return ns


def forget_dead_classes() -> int:
    """Let the shim drop the .NET types of Python classes that died (a drain hook).

    Returns how many were forgotten. Their assemblies unload when no .NET instance is left.

    Under the catalog's build lock: no proxy class is being built from ids about to be
    retired. A type some live proxy class is built from (``List[S]`` made from a .NET object
    after ``S`` died, so it could not keep ``S`` alive) waits for a later drain: the ids and
    stubs that class holds stay valid while it lives. If another thread is building a class
    right now, everything waits for the next drain (never block a drain: it runs anywhere).
    """
    if not _dead_classes:
        return 0
    lock = _catalog.build_lock()
    n = 0
    got = lock.taken_if_free  # no signal can land between taking it and the try (host.locks)
    try:
        if not got:
            return 0
        shim = _bridge.shim()
        still_used = _catalog.live_mentions()
        for type_id in list(_dead_classes):
            if type_id in still_used:
                continue  # waits for a later drain
            # Each step can be repeated: an exception part-way (a signal) leaves the id listed,
            # and the next drain forgets it again; it is unlisted only once all are done.
            _classes.pop(type_id, None)
            DERIVED_TYPE_IDS.discard(type_id)
            _forget_class(type_id)  # the proxy class of the emitted type (its constructors' ids)
            if shim.DerivedForget(type_id) == 1:
                n += 1
            _dead_classes.pop(type_id, None)
    finally:
        if got:
            lock.release()
    return n


def forgotten_count() -> int:
    """How many collectible assemblies of dead classes the shim let go of so far."""
    return stats()["derived_classes_forgotten"]


def stats() -> dict[str, int]:
    """Emitted types whose class lives, collectible assemblies not yet unloaded, emitted, forgotten."""
    counts = (ctypes.c_int64 * 4)()
    _bridge.shim().DerivedStats(counts)
    return {
        "derived_classes_alive": counts[0],
        "derived_assemblies_loaded": counts[1],
        "derived_assemblies_emitted": counts[2],
        "derived_classes_forgotten": counts[3],
    }


def prepare(cls: Any) -> None:
    """Emit the .NET type for a Python class statement (called by ``ClrMeta.__init__``)."""
    namespace = _namespace(cls)
    base, interfaces = _dotnet_bases(cls)
    if base is not None and base.__clr_info__.full_name == "System.Object":
        base = None
    if base is not None and (base.__clr_info__.value_type or base.__clr_info__.static):
        raise TypeError(f"{cls.__name__}: cannot derive from {base.__clr_name__}")
    _ensure_trampoline()
    names, arity = _python_names(cls)
    request = json.dumps(
        {
            "name": cls.__qualname__ if namespace is None else cls.__name__,
            "namespace": namespace,
            "base": base.__clr_info__.id if base is not None else 0,
            "interfaces": interfaces,
            "names": names,
            "arity": {n: list(a) for n, a in arity.items()},
            "declared": _declared(cls),
        }
    )
    data, n = utf16(request)
    out = ctypes.c_int32()  # 0 until DefineDerived made the type
    try:
        _exports.call(_bridge.shim().DefineDerived, data, n, ctypes.byref(out))
        type_id = out.value
        class_id = id(cls)
        # When the class dies: its bind key goes before the id can name another object, and
        # its type is listed for the next drain. Both callbacks are dict methods (the dead
        # reference lands as their unused default / stored value): no Python frame runs, so no
        # signal can cut them short and print "Exception ignored".
        ref = weakref.ref(cls, functools.partial(_dead_classes.setdefault, type_id))
        unkey = weakref.ref(cls, functools.partial(DERIVED_BIND_KEYS.pop, class_id))
        DERIVED_BIND_KEYS[class_id] = (unkey, BindKey(cls.__qualname__))  # the entry keeps unkey alive
        _classes[type_id] = ref  # keeps ref alive
        DERIVED_TYPE_IDS.add(type_id)
        type.__setattr__(cls, "__clr_derived__", DerivedClass(cls.__qualname__, type_id))
        type.__setattr__(cls, "__clr_type_id__", type_id)
        type.__setattr__(cls, "__clr_name__", _typeinfo.info(type_id).full_name)
    except BaseException as exc:
        # The class statement fails (a signal too): a type already made is forgotten by the
        # next drain (one C call first; listing it twice, by its weakref too, is harmless).
        if out.value:
            _dead_classes.setdefault(out.value, None)
        if isinstance(exc, ClrError):
            raise TypeError(f"class {cls.__qualname__} cannot derive from .NET: {exc}") from exc
        raise


def adopt(handle: int) -> Any:
    """The Python object behind a .NET object of an emitted type (``wrap`` for those types).

    The Python object keeps ``handle`` when it has none (it had been swept), else it is freed
    (by the export itself, inside the lock: no signal check between the decision and the free).
    A signal before the decision still leaks ``handle``: the caller took it out of its result
    value before calling (``proxies.base.wrap_value``), so nobody else can free it.
    """
    shim = _bridge.shim()
    pid = int(shim.DerivedSelf(handle))
    obj = _objects.lookup(pid)
    _ = _claim_lock.taken
    try:
        if not getattr(obj, "_h", 0):
            obj._h = handle
            return obj
        shim.FreeHandle(handle)
    finally:
        _claim_lock.release()
    return obj


def _refcount(holder: dict[int, Any], key: int) -> int:
    """References to ``holder[key]``, counted the same way for the baseline and for sweeps."""
    obj = holder.get(key)
    return sys.getrefcount(obj)


class _Probe:
    pass


# References an object has when only the registry holds it (the registry, the local in
# _refcount, getrefcount's argument): measured, since it differs between Python versions.
_ONLY_REGISTRY = _refcount({1: _Probe()}, 1)


def sweep() -> int:
    """Drop the .NET handle of every derived object only the registry still references.

    Returns how many were dropped. .NET keeps such an object alive only if .NET holds it.

    Each handle is moved from its object into a :class:`~pyclrbridge.values.objects.HandleOwner`
    with no signal check between, and freed as that owner dies (its finalizer is the shim's
    export, called from C): a signal handler that raises anywhere here cannot leave a handle
    taken from its object and never freed (the .NET object, and the Python object it holds,
    alive for ever). Before, the handles were freed one by one in a loop of Python calls.
    """
    if not _derived_ids:
        return 0
    registry = _objects.registry()
    dropped: list[_objects.HandleOwner] = []
    survivors: list[Any] = []  # released after the lock: a last reference may run __del__
    _ = _claim_lock.taken
    try:
        for pid in list(_derived_ids):
            if pid not in registry:
                _derived_ids.discard(pid)
                continue
            if _refcount(registry, pid) > _ONLY_REGISTRY:
                continue
            obj: Any = registry.get(pid)
            if getattr(obj, "_h", 0):
                owner = _objects.HandleOwner()
                owner._as_parameter_ = obj._h
                obj._h = 0  # moved to owner: attribute reads and stores, no signal check between
                dropped.append(owner)
            survivors.append(obj)
            obj = None
    finally:
        _claim_lock.release()
    survivors.clear()
    n = len(dropped)
    dropped.clear()  # the owners die here (or with this frame): each frees its handle
    return n


def live_count() -> int:
    """Derived Python objects the registry still holds."""
    return len(_derived_ids)
