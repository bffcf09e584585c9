"""Extension methods on instances: ``xs.Where(f).Select(g).ToList()``.

A namespace is *in scope* (C#'s ``using``) once Python imports it (``import System.Linq``,
``from System.Linq import Enumerable``) or :func:`use` names it (``clr.extensions(...)``).
The extension methods of the static classes in scope are then reachable as attributes of
every .NET object whose type fits their first parameter. Instance members win: extensions
are looked up only when ordinary attribute lookup fails, or when no instance overload
accepts the arguments (``observable.Subscribe(print)``). The overloads of one name from all
extension classes in scope form one method group and resolve together through the binder.

What is found is memoized per (receiver type, name) for the current scope and set of loaded
assemblies; the method group memoizes its plans per argument kinds, as any method group does.

Proxy classes have no ``__getattr__`` (it would slow every attribute read and stop CPython
3.12+ from specialising them): each name an extension method of a loaded assembly has is an
attribute of the proxies' root class (:class:`.missing.ExtensionAttribute`) that binds the
extension in scope when read. :func:`sync` adds the names of assemblies loaded since it last
ran; it runs when a namespace comes into scope, when the importer sees new assemblies, when an
assembly is referenced, when a class is built and for ``dir()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..host.locks import SignalSafeLock
from . import base as _base
from . import declared as _declared
from . import members as _members
from . import missing as _missing
from . import pyterms as _pyterms
from .catalog import AFTER_BUILD, class_for
from .members import MethodGroup
from .signatures import Overload

#: Types of a namespace: ``{short name: [full names]}``; registered by the importer at start-up.
NamespaceTypes = Callable[[str], Mapping[str, list[str]]]

# Owner: _lock guards _scopes and _types_of (replaced whole under it; readers take one
# reference read) and the one-time build of a scope's extension table.
_lock = SignalSafeLock("pyclrbridge.proxies.extensions._lock")
_scopes: frozenset[str] = frozenset()
_scope_version = 0
_types_of: NamespaceTypes | None = None
# Pure memos keyed by the state they were built for (scope version, assembly generation):
# a stale key is never read again; dict.setdefault publishes one winner.
_tables: dict[tuple[int, int], dict[str, tuple[Overload, ...]]] = {}
_groups: dict[tuple[int, int, int, str], MethodGroup | None] = {}
_names: dict[tuple[int, int, int], tuple[str, ...]] = {}


# The assembly generation whose extension names are installed (-1: none yet). One list item,
# written after the names are in place; a stale write only makes the next sync run again.
_synced = [-1]


def sync() -> None:
    """Give every proxy the attribute of each extension method name of the assemblies loaded
    since the last sync (one call into .NET, which scans each assembly once). Nothing before
    the first namespace comes into scope (:func:`use` syncs then)."""
    shim = _bridge.SHIM
    if shim is None or not _scopes:
        return  # not loaded yet, or no namespace in scope: no extension is reachable yet
    if shim.Generation() == _synced[0]:
        return
    data = _bridge.json_call(shim.ListExtensionNames)
    _base.install_extension_names(data["names"])
    _synced[0] = int(data["generation"])


def install(types_of: NamespaceTypes) -> None:
    """Tell this layer how to list a namespace's types (the importer's index)."""
    global _types_of
    _ = _lock.taken
    try:
        _types_of = types_of
    finally:
        _lock.release()


def use(namespace: str) -> None:
    """Put ``namespace``'s extension methods in scope (what importing it does)."""
    global _scopes, _scope_version
    if not isinstance(namespace, str) or not namespace:
        raise TypeError(f"a namespace must be a non-empty str, not {namespace!r}")
    _ = _lock.taken
    try:
        if namespace in _scopes:
            return
        _scopes = _scopes | {namespace}
        _scope_version += 1
    finally:
        _lock.release()
    sync()


def scopes() -> tuple[str, ...]:
    """The namespaces whose extension methods are in scope, sorted."""
    return tuple(sorted(_scopes))


def _state() -> tuple[int, int]:
    return _scope_version, _bridge.shim().Generation()


def _table(state: tuple[int, int]) -> dict[str, tuple[Overload, ...]]:
    """Every extension overload in scope, by method name."""
    found = _tables.get(state)
    if found is not None:
        return found
    _ = _lock.taken
    try:
        scopes_now, types_of = _scopes, _types_of
    finally:
        _lock.release()
    by_name: dict[str, list[Overload]] = {}
    # A type forwarded by several assemblies (netstandard.dll forwards System.Linq.Enumerable)
    # is listed once per assembly but is one type: each method is one candidate (one member id).
    seen: set[int] = set()
    if types_of is not None:
        for ns in sorted(scopes_now):
            for full_names in types_of(ns).values():
                for full in full_names:
                    type_id = _typeinfo.id_by_name(full)
                    if not type_id or not _typeinfo.info(type_id).static:
                        continue
                    for member in vars(class_for(type_id)).values():
                        if isinstance(member, MethodGroup):
                            for ov in member.overloads_list:
                                if ov.extension and ov.params and ov.id not in seen:
                                    seen.add(ov.id)
                                    by_name.setdefault(ov.name, []).append(ov)
    table = {name: tuple(ovs) for name, ovs in by_name.items()}
    return _tables.setdefault(state, table)


def _supertypes(type_id: int) -> list[int]:
    """The type, its base classes and all its interfaces."""
    out: list[int] = []
    t: int = type_id
    while t:
        info = _typeinfo.info(t)
        out.append(t)
        out.extend(info.interfaces)
        t = info.base
    return out


def fits(param_type: int, receiver: int) -> bool:
    """Could an object of type ``receiver`` be an extension method's first argument?"""
    if param_type == receiver:
        return True
    p = _typeinfo.info(param_type)
    if not p.open:
        return _typeinfo.assignable(param_type, receiver) == 1
    if p.kind == "generic-param":
        return True  # ``this T``: the binder checks the constraints when it constructs the method
    if p.kind == "array":
        return _typeinfo.info(receiver).kind == "array"
    if p.generic_def_id:
        return any(_typeinfo.info(s).generic_def_id == p.generic_def_id for s in _supertypes(receiver))
    return False


def group_for(receiver: int, name: str) -> MethodGroup | None:
    """The extension method group ``name`` for objects of type ``receiver`` (None: none in scope)."""
    state = _state()
    key = (*state, receiver, name)
    try:
        return _groups[key]
    except KeyError:
        pass
    candidates = tuple(o for o in _table(state).get(name, ()) if fits(o.params[0].type_id, receiver))
    group = None
    if candidates:
        owners = sorted({_typeinfo.info(o.declaring).display if o.declaring else "extension" for o in candidates})
        group = MethodGroup(name, "|".join(owners), candidates)
    return _groups.setdefault(key, group)


def names_for(receiver: int) -> tuple[str, ...]:
    """Names of the extension methods in scope that apply to objects of type ``receiver``."""
    state = _state()
    key = (*state, receiver)
    found = _names.get(key)
    if found is None:
        table = _table(state)
        found = tuple(sorted(n for n, ovs in table.items() if any(fits(o.params[0].type_id, receiver) for o in ovs)))
        found = _names.setdefault(key, found)
    return found


class BoundExtension:
    """An extension method group bound to its receiver: ``xs.Where``."""

    __slots__ = ("__self__", "_group")

    def __init__(self, group: MethodGroup, obj: Any) -> None:
        self._group = group
        self.__self__ = obj

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._group(self.__self__, *args, **kwargs)

    def __getitem__(self, type_args: Any) -> BoundExtension:
        """Generic type arguments: ``services.AddSingleton[IFoo, Foo]()``."""
        return BoundExtension(self._group[type_args], self.__self__)

    @property
    def overloads(self) -> Any:
        return self._group.overloads

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        return "extension method; overloads (the first parameter is the object):\n" + "\n".join(
            _pyterms.signature(o, self._group.__name__) for o in self._group.overloads_list
        )

    @property
    def __name__(self) -> str:
        return self._group.__name__

    def __repr__(self) -> str:
        return f"<bound .NET extension method {self._group.__qualname__}>"


def bound(obj: Any, name: str) -> BoundExtension | None:
    """``obj.name`` as an extension method in scope, or None. As C# does, the extensions of
    the type a member declared it returns (an interface) are looked at first: a fluent
    builder's class may implement several builder interfaces whose extensions all apply."""
    receiver = getattr(type(obj), "__clr_type_id__", 0)
    if not receiver:
        return None
    declared = _declared.of(obj)
    if declared and declared != receiver:
        group = group_for(declared, name)
        if group is not None:
            return BoundExtension(group, obj)
    group = group_for(receiver, name)
    return None if group is None else BoundExtension(group, obj)


def _dir_names(obj: Any) -> tuple[str, ...]:
    sync()
    receiver = getattr(type(obj), "__clr_type_id__", 0)
    return names_for(receiver) if receiver and _scopes else ()


_missing.install_extensions(bound, _dir_names)
AFTER_BUILD.append(sync)
_members.install_extension_fallback(bound)
