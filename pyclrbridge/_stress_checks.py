"""What the stress workload (:mod:`._stress_workload`) draws from and checks against: the
namespaces it loads, the member names the shim reports for a type, the supply of enum types
not built yet, and the error a broken invariant raises."""

from __future__ import annotations

from typing import Any

from .host import typeinfo as _typeinfo
from .host.locks import SignalSafeLock


class InvariantViolation(AssertionError):
    """A concurrency invariant did not hold."""


#: Namespaces whose assemblies the workload loads, so there are many types to discover.
NAMESPACES = (
    "System",
    "System.Collections",
    "System.Collections.Generic",
    "System.Collections.Concurrent",
    "System.Collections.Specialized",
    "System.Text",
    "System.Text.RegularExpressions",
    "System.IO",
    "System.Globalization",
    "System.Linq",
    "System.Net",
    "System.Threading",
    "System.Threading.Tasks",
)
#: .NET's messages when it refuses a type argument (ArgumentException, a ValueError here).
REFUSED_TYPE_ARGUMENT = ("violates the constraint", "may not be used as a type argument")
#: Python types the delegate operation uses for Func type arguments, with a sample value each.
DELEGATE_ARGS: tuple[tuple[type, Any], ...] = ((int, 7), (float, 2.5), (str, "s"), (bool, True))


def expected_members(type_id: int) -> frozenset[str]:
    """The member names the shim reports for a .NET type: the reference a class must match.

    A non-public class or struct (``List[SomeInternalType]`` too) deliberately shows only what
    its public base offers, inherited rather than in its own ``__dict__``: nothing is expected
    there (exceptions excepted: they always get their members).
    """
    info = _typeinfo.info(type_id)
    if not info.visible and info.kind in ("class", "struct") and not _is_exception(info):
        return frozenset()
    table = _typeinfo.members(type_id)
    names = set(table["methods"])
    names.update(p["name"] for p in table["properties"] if not p["index"])
    names.update(f["name"] for f in table["fields"])
    names.update(e["name"] for e in table["events"])
    names.update(n["name"].split("`")[0] for n in table["nested"])
    return frozenset(names)


def _is_exception(info: Any) -> bool:
    while info is not None:
        if info.full_name == "System.Exception":
            return True
        info = _typeinfo.info(info.base) if info.base else None
    return False


def _type_id(name: str) -> int:
    return _typeinfo.id_by_name(name)


# bulk_mixed's supply of enum types whose classes are probably not built: assembly-qualified
# names (strings: the supply holds no .NET object, so no handle outlives the run).
# Owner: _enum_lock (filled once, popped by any worker; when it runs out, it is filled again).
_enum_lock = SignalSafeLock("pyclrbridge._stress_checks._enum_lock")
_enum_supply: list[str] = []


def _fresh_enum(runtime: Any) -> Any:
    """A System.Type of an enum whose Python class is probably not built yet."""
    AppDomain, Type = runtime.get_type("System.AppDomain"), runtime.get_type("System.Type")

    while True:
        _ = _enum_lock.taken
        try:
            if not _enum_supply:
                _enum_supply.extend(
                    t.AssemblyQualifiedName
                    for a in AppDomain.CurrentDomain.GetAssemblies()
                    if not a.IsDynamic and not a.IsCollectible
                    for t in a.GetExportedTypes()
                    if t.IsEnum and not t.ContainsGenericParameters and t.GetEnumNames().Length
                )
            name = _enum_supply.pop()
        finally:
            _enum_lock.release()
        found = Type.GetType(name)  # None for a type of an assembly loaded only by path
        if found is not None:
            return found
