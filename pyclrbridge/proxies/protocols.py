"""Python protocols from .NET interfaces: one table keyed by interface.

=========================================  ====================================================
.NET interface (or type)                   Python protocol
=========================================  ====================================================
``IDictionary<K,V>``, ``IReadOnlyDictionary``  ``d[k]``, ``d[k] = v``, ``del d[k]``, ``k in d``,
``IDictionary``                            iteration over keys, ``keys()``, ``values()``,
                                           ``items()``, ``get()``
``IList<T>``, ``IReadOnlyList<T>``,        ``xs[i]`` (negative too), ``xs[a:b]`` (a list),
``IList``, arrays                          ``xs[i] = v``, ``del xs[i]``, ``x in xs``
``ICollection<T>``, ``ICollection``,       ``len()`` (and so ``bool()``: empty is false),
``IReadOnlyCollection<T>``                 ``x in xs``
``IEnumerable<T>``, ``IEnumerable``,       ``iter()``
a public ``GetEnumerator()`` (C#'s
``foreach`` pattern)
``KeyValuePair<K,V>``                      unpacks as ``(key, value)``
``IDisposable``                            ``with obj:`` (``Dispose()`` on exit)
``IComparable<T>``, ``IComparable``        ``<``, ``<=``, ``>``, ``>=``
``op_Addition``... (any type)              ``+ - * / % & | ^ == != < <= > >= ~ -x +x``
=========================================  ====================================================

Each entry is a small prototype class whose methods are copied onto every proxy class whose
.NET type implements that interface (unless the class already defines the method). Entries
with a lower ``rank`` win: a dictionary's ``in`` tests keys, not the key/value pairs of its
``ICollection<KeyValuePair>``. The methods call the interface's own members, so explicit
implementations work too. Equality, hashing, ``str`` and ``repr`` for every object live in
:class:`pyclrbridge._proxy.ClrObject` (``Equals``, ``GetHashCode``, ``ToString``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..host import typeinfo as _typeinfo
from ..values import bulk as _bulk
from . import native as _native
from .binder import arg_kind
from .catalog import class_for

#: interface (or type) full name -> prototype class; generic interfaces by definition name.
#: Written only by @implementation_for at module import (serialized by the import lock), read
#: after; a late registration only affects classes built after it.
_PROTOCOLS: dict[str, type] = {}
DEFAULT_RANK = 0
#: Indexers the class builder installs as __getitem__/__setitem__ are kept under these names,
#: so the sequence and mapping prototypes can wrap them (negative indexes, slices, KeyError).
#: Read-only after import: no lock.
RAW_INDEXERS = {"__getitem__": "__clr_getitem__", "__setitem__": "__clr_setitem__"}


def implementation_for(*interface_names: str, rank: int = DEFAULT_RANK) -> Callable[[type], type]:
    """Register a prototype class for .NET interfaces (generic ones by definition name).

    Prototypes with a lower ``rank`` take precedence when a type matches several entries.
    """

    def register(proto: type) -> type:
        proto.__clr_rank__ = rank  # type: ignore[attr-defined]
        for name in interface_names:
            _PROTOCOLS[name] = proto
        return proto

    return register


_STR_KEY = (arg_kind("text"),)  # the invoker key of one str that is not a single character

# (type id, interface name) -> class of that interface as the type implements it. Pure memo of
# immutable facts: dict.setdefault publishes, a lost race recomputes the same class.
_iface_cache: dict[tuple[int, str], Any] = {}


def _iface(obj: Any, full_name: str) -> Any:
    """The proxy class of the interface ``full_name`` (or its constructed form) ``obj`` implements."""
    info = type(obj).__clr_info__
    key = (info.id, full_name)
    found = _iface_cache.get(key)
    if found is not None:
        return found
    for candidate in (info.id, *info.interfaces):
        c = _typeinfo.info(candidate)
        def_name = _typeinfo.info(c.generic_def_id).full_name if c.generic_def_id else c.full_name
        if def_name == full_name:
            found = class_for(candidate)
            if "__clr_mentions__" in found.__dict__:  # IList[S]: must stay free to die (not cached)
                return found
            return _iface_cache.setdefault(key, found)
    raise TypeError(f"{type(obj).__clr_name__} does not implement {full_name}")


def _member(obj: Any, iface: str, name: str) -> Any:
    return _iface(obj, iface).__dict__[name]


def _get(obj: Any, iface: str, key: Any) -> Any:
    """``obj[key]`` through the indexer of interface ``iface``."""
    return _member(obj, iface, "__clr_getitem__")(obj, key)


def _set(obj: Any, iface: str, key: Any, value: Any) -> None:
    _member(obj, iface, "__clr_setitem__")(obj, key, value)


def _call(obj: Any, iface: str, name: str, *args: Any) -> Any:
    return _member(obj, iface, name).call(obj, args, {})


def _read(obj: Any, iface: str, name: str) -> Any:
    return _member(obj, iface, name).read(obj)


def _indexer_group(getters: dict[type, Any], obj: Any, iface: str) -> Any:
    """The MethodGroup behind ``iface``'s indexer for ``type(obj)`` (False: none), memoized in
    ``getters`` (a protocol's pure memo, published with setdefault)."""
    raw = _member(obj, iface, "__clr_getitem__")
    return _remember(getters, type(obj), getattr(raw, "__clr_group__", False))


def _remember(memo: dict[type, Any], cls: type, value: Any) -> Any:
    """``memo.setdefault(cls, value)``, except for a class built from a Python class's type
    (``List[S]``): a memo must not keep it alive (docs/lifetime.md), so it is not stored."""
    if "__clr_mentions__" in cls.__dict__:
        return value
    return memo.setdefault(cls, value)


def _own_indexer(cls: type, raw: str) -> Any:
    """The class's own indexer (``raw``: ``__clr_getitem__``), when one of its overloads takes
    something other than an integer (``KeyedCollection<TKey, TItem>[TKey]``); None otherwise."""
    fn = getattr(cls, raw, None)
    group = getattr(fn, "__clr_group__", None)
    if group is None:
        return None
    for overload in group.overloads_list:
        if len(overload.params) == 1 and not _typeinfo.info(overload.params[0].type_id).type_code.startswith(
            ("Int", "UInt", "Byte", "SByte")
        ):
            return fn
    return None


def _index(self: Any, i: Any) -> int:
    """A Python index (negative counts from the end) as a .NET one, or IndexError."""
    if not isinstance(i, int):
        i = i.__index__() if hasattr(i, "__index__") else i
    if not isinstance(i, int):
        raise TypeError(f"{type(self).__clr_name__} indices must be integers or slices, not {type(i).__name__}")
    n = len(self)
    j = i + n if i < 0 else i
    if not 0 <= j < n:
        raise IndexError(f"index {i} is out of range for a {type(self).__clr_name__} of length {n}")
    return j


def _same_length_slice(self: Any, key: slice, value: Any, length: str) -> zip[tuple[int, Any]]:
    """The (index, item) pairs of ``self[key] = value`` for a sequence whose ``length`` (its
    length, its fixed length) a slice assignment cannot change; ValueError when the counts differ."""
    indices = range(*key.indices(len(self)))
    values = list(value)
    if len(values) != len(indices):
        raise ValueError(
            f"slice assignment to a {type(self).__clr_name__} cannot change "
            f"{length} ({len(values)} values for {len(indices)} items)"
        )
    return zip(indices, values, strict=True)


# ---- enumeration ----------------------------------------------------------------------------


@implementation_for("System.Collections.IEnumerable", rank=41)
class _Enumerable:
    def __iter__(self: Any) -> Iterator[Any]:
        return _bulk.iterate(self)  # chunked: many elements per call into .NET


@implementation_for("System.Collections.Generic.IEnumerable`1", rank=40)
class _GenericEnumerable:
    def __iter__(self: Any) -> Iterator[Any]:
        return _bulk.iterate(self)  # chunked; disposes the enumerator when done or abandoned


# ---- collections ----------------------------------------------------------------------------


def _count(iface: str) -> Callable[[Any], int]:
    # Proxy class -> the interface's Count descriptor. A pure memo of immutable facts
    # published with setdefault.
    counts: dict[type, Any] = {}

    def __len__(self: Any) -> int:
        count = counts.get(type(self))
        if count is None:
            count = _remember(counts, type(self), _member(self, iface, "Count"))
        return int(count.read(self))

    return __len__


@implementation_for("System.Collections.ICollection", rank=31)
class _Collection:
    __len__ = _count("System.Collections.ICollection")


@implementation_for("System.Collections.Generic.ICollection`1", rank=30)
class _GenericCollection:
    __len__ = _count("System.Collections.Generic.ICollection`1")

    def __contains__(self: Any, item: Any) -> bool:
        try:
            return bool(_call(self, "System.Collections.Generic.ICollection`1", "Contains", item))
        except TypeError:
            return False  # an item of a type the collection cannot hold is not in it


@implementation_for("System.Collections.Generic.IReadOnlyCollection`1", rank=32)
class _ReadOnlyCollection:
    __len__ = _count("System.Collections.Generic.IReadOnlyCollection`1")


# ---- lists ----------------------------------------------------------------------------------


def _list_protocol(iface: str, *, writable: bool, contains: bool) -> type:
    generic = iface == "System.Collections.Generic.IList`1"
    # Proxy class -> the indexer's MethodGroup (False: an indexer without one), for get and for
    # set. Pure memos of immutable facts published with setdefault.
    getters: dict[type, Any] = {}
    setters: dict[type, Any] = {}

    class _Sequence:
        def __getitem__(self: Any, key: Any) -> Any:
            if type(key) is int:  # what _get(self, iface, _index(self, key)) does, to the cached invoker
                group = getters.get(type(self))
                if group is None:
                    group = _indexer_group(getters, self, iface)
                    if group and generic:  # a List<T>'s first get: a native indexer may serve the next ones
                        fn = _Sequence.__dict__["__getitem__"]
                        _native.protocol_indexer(type(self), "__getitem__", fn, group, list_index=True)
                try:
                    h = self._h
                except AttributeError:
                    h = 0
                if group and h:
                    i = _index(self, key)
                    run = group._invokers.get((arg_kind(i),))
                    if run is not None:
                        return run(h, (i,))
                    return _get(self, iface, i)
            if isinstance(key, slice):
                return [_get(self, iface, i) for i in range(*key.indices(len(self)))]
            if not isinstance(key, int) and not hasattr(key, "__index__"):
                own = _own_indexer(type(self), "__clr_getitem__")
                if own is not None:
                    return own(self, key)  # a list with a keyed indexer too: KeyedCollection["key"]
            return _get(self, iface, _index(self, key))

        if writable:

            def __setitem__(self: Any, key: Any, value: Any) -> None:
                if generic and type(self) not in setters:  # a List<T>'s first set: a native indexer may serve the next
                    raw = _member(self, iface, "__clr_setitem__")
                    group = _remember(setters, type(self), getattr(raw, "__clr_group__", False))
                    if group:
                        fn = _Sequence.__dict__["__setitem__"]
                        _native.protocol_indexer(type(self), "__setitem__", fn, group, list_index=True)
                if isinstance(key, slice):
                    for i, v in _same_length_slice(self, key, value, "its length"):
                        _set(self, iface, i, v)
                    return
                _set(self, iface, _index(self, key), value)

            def __delitem__(self: Any, key: Any) -> None:
                if isinstance(key, slice):
                    for i in sorted(range(*key.indices(len(self))), reverse=True):
                        _call(self, iface, "RemoveAt", i)
                    return
                _call(self, iface, "RemoveAt", _index(self, key))

        if contains:

            def __contains__(self: Any, item: Any) -> bool:
                try:
                    return bool(_call(self, iface, "Contains", item))
                except TypeError:
                    return False

    return _Sequence


implementation_for("System.Collections.Generic.IList`1", rank=20)(
    _list_protocol("System.Collections.Generic.IList`1", writable=True, contains=False)
)
implementation_for("System.Collections.Generic.IReadOnlyList`1", rank=21)(
    _list_protocol("System.Collections.Generic.IReadOnlyList`1", writable=False, contains=False)
)
implementation_for("System.Collections.IList", rank=22)(
    _list_protocol("System.Collections.IList", writable=True, contains=True)
)


# ---- dictionaries -----------------------------------------------------------------------------


def _mapping(iface: str, *, writable: bool, has_key: str) -> type:
    pairs = iface != "System.Collections.IDictionary"

    # Proxy class -> the indexer's MethodGroup (False: an indexer without one), for get and for
    # set. Pure memos of immutable facts published with setdefault.
    getters: dict[type, Any] = {}
    setters: dict[type, Any] = {}

    class _Mapping:
        def __getitem__(self: Any, key: Any) -> Any:
            if not pairs:
                if not self.__contains__(key):
                    raise KeyError(key)  # a Hashtable's indexer returns null for a missing key
            elif type(key) is not tuple:  # what _get does, straight to the cached invoker
                group = getters.get(type(self))
                if group is None:
                    group = _indexer_group(getters, self, iface)
                    if group:  # a class's first get: a native indexer may serve the next ones
                        _native.protocol_indexer(type(self), "__getitem__", _Mapping.__dict__["__getitem__"], group)
                try:
                    h = self._h
                except AttributeError:
                    h = 0
                if group and h:
                    run = group._invokers.get(_STR_KEY if type(key) is str and len(key) != 1 else (arg_kind(key),))
                    if run is not None:
                        return run(h, (key,))
            # A dictionary's indexer takes one key: a tuple is that key (a ValueTuple, equal by
            # value), not the indexes of a multi-dimensional indexer.
            return _get(self, iface, (key,) if isinstance(key, tuple) else key)

        def __contains__(self: Any, key: Any) -> bool:
            try:
                return bool(_call(self, iface, has_key, key))
            except TypeError:
                return False  # a key of a type the dictionary cannot hold is not in it

        def __iter__(self: Any) -> Iterator[Any]:
            return iter(list(_read(self, iface, "Keys")))

        def keys(self: Any) -> list[Any]:
            """The keys, as a list (a snapshot)."""
            return list(_read(self, iface, "Keys"))

        def values(self: Any) -> list[Any]:
            """The values, as a list (a snapshot)."""
            return list(_read(self, iface, "Values"))

        def items(self: Any) -> list[tuple[Any, Any]]:
            """(key, value) pairs, as a list (a snapshot)."""
            if pairs:
                return [tuple(kv) for kv in _GenericEnumerable.__iter__(self)]
            return [(k, self[k]) for k in self.keys()]

        def get(self: Any, key: Any, default: Any = None) -> Any:
            return self[key] if key in self else default  # noqa: SIM401 (this is get)

        if writable:

            def __setitem__(self: Any, key: Any, value: Any) -> None:
                if pairs and type(self) not in setters:  # a class's first set: a native indexer may serve the next ones
                    raw = _member(self, iface, "__clr_setitem__")
                    group = _remember(setters, type(self), getattr(raw, "__clr_group__", False))
                    if group:
                        _native.protocol_indexer(type(self), "__setitem__", _Mapping.__dict__["__setitem__"], group)
                _set(self, iface, (key,) if isinstance(key, tuple) else key, value)  # one key, as in __getitem__

            def __delitem__(self: Any, key: Any) -> None:
                if key not in self:
                    raise KeyError(key)
                _call(self, iface, "Remove", key)

    return _Mapping


implementation_for("System.Collections.Generic.IDictionary`2", rank=10)(
    _mapping("System.Collections.Generic.IDictionary`2", writable=True, has_key="ContainsKey")
)
implementation_for("System.Collections.Generic.IReadOnlyDictionary`2", rank=11)(
    _mapping("System.Collections.Generic.IReadOnlyDictionary`2", writable=False, has_key="ContainsKey")
)
implementation_for("System.Collections.IDictionary", rank=12)(
    _mapping("System.Collections.IDictionary", writable=True, has_key="Contains")
)


@implementation_for("System.Collections.Generic.KeyValuePair`2", rank=1)
class _KeyValuePair:
    def __iter__(self: Any) -> Iterator[Any]:
        cls = type(self)
        yield cls.__dict__["Key"].read(self)
        yield cls.__dict__["Value"].read(self)

    def __len__(self: Any) -> int:
        return 2

    def __getitem__(self: Any, i: int) -> Any:
        return tuple(self)[i]


# ---- other interfaces -----------------------------------------------------------------------


@implementation_for("System.IDisposable", rank=50)
class _Disposable:
    def __enter__(self: Any) -> Any:
        return self

    def __exit__(self: Any, *exc: Any) -> None:
        _call(self, "System.IDisposable", "Dispose")


def _compare(self: Any, other: Any) -> int:
    for iface in ("System.IComparable`1", "System.IComparable"):
        try:
            group = _member(self, iface, "CompareTo")
        except TypeError:
            continue
        try:
            return int(group.call(self, (other,), {}))
        except TypeError:
            if iface == "System.IComparable":
                raise
    raise TypeError(f"{type(self).__clr_name__} is not comparable with {type(other).__name__}")


def _ordering(test: Callable[[int], bool]) -> Callable[[Any, Any], Any]:
    def compare(self: Any, other: Any) -> Any:
        try:
            return test(_compare(self, other))
        except TypeError:
            return NotImplemented

    return compare


@implementation_for("System.IComparable", "System.IComparable`1", rank=51)
class _Comparable:
    __lt__ = _ordering(lambda c: c < 0)
    __le__ = _ordering(lambda c: c <= 0)
    __gt__ = _ordering(lambda c: c > 0)
    __ge__ = _ordering(lambda c: c >= 0)


# ---- operators ------------------------------------------------------------------------------

# Read-only after import: no lock.
_OPERATORS = {
    "op_Addition": ("__add__", "__radd__"),
    "op_Subtraction": ("__sub__", "__rsub__"),
    "op_Multiply": ("__mul__", "__rmul__"),
    "op_Division": ("__truediv__", "__rtruediv__"),
    "op_Modulus": ("__mod__", "__rmod__"),
    "op_BitwiseAnd": ("__and__", "__rand__"),
    "op_BitwiseOr": ("__or__", "__ror__"),
    "op_ExclusiveOr": ("__xor__", "__rxor__"),
    "op_Equality": ("__eq__", None),
    "op_Inequality": ("__ne__", None),
    "op_LessThan": ("__lt__", None),
    "op_LessThanOrEqual": ("__le__", None),
    "op_GreaterThan": ("__gt__", None),
    "op_GreaterThanOrEqual": ("__ge__", None),
}
_UNARY = {"op_UnaryNegation": "__neg__", "op_OnesComplement": "__invert__", "op_UnaryPlus": "__pos__"}


def _binary(group: Any, reflected: bool) -> Callable[[Any, Any], Any]:
    def op(self: Any, other: Any) -> Any:
        args = (other, self) if reflected else (self, other)
        try:
            return group(*args)
        except TypeError:
            return NotImplemented

    return op


def _unary(group: Any) -> Callable[[Any], Any]:
    def op(self: Any) -> Any:
        return group(self)

    return op


# ---- applying the table ---------------------------------------------------------------------

_NOT_COPIED = frozenset({"__dict__", "__module__", "__weakref__", "__doc__", "__qualname__", "__clr_rank__"})
_PUBLIC_COPIED = frozenset({"keys", "values", "items", "get"})


def _protocol_names(info: _typeinfo.TypeInfo) -> list[str]:
    names = [info.full_name]
    if info.generic_def_id:  # a constructed generic type (KeyValuePair<K,V>, ValueTask<int>) by its definition
        names.append(_typeinfo.info(info.generic_def_id).full_name)
    if info.kind == "array":  # after the array's own name (System.Byte[]), before its interfaces
        names.append("System.Array")
    for i in info.interfaces:
        c = _typeinfo.info(i)
        names.append(_typeinfo.info(c.generic_def_id).full_name if c.generic_def_id else c.full_name)
    return names


def apply_protocols(cls: Any, info: _typeinfo.TypeInfo) -> None:
    """Give a freshly built proxy class the Python protocols of its interfaces and operators."""
    for dunder, raw in RAW_INDEXERS.items():
        indexer = cls.__dict__.get(dunder)
        if indexer is not None:
            type.__setattr__(cls, raw, indexer)
    protos = [p for p in (_PROTOCOLS.get(n) for n in _protocol_names(info)) if p is not None]
    protos.sort(key=lambda p: getattr(p, "__clr_rank__", DEFAULT_RANK))  # stable: ties keep name order
    done: set[str] = set()
    for proto in protos:
        for attr, fn in vars(proto).items():
            if attr in _NOT_COPIED or attr in done:
                continue
            if not (attr.startswith("__") or attr in _PUBLIC_COPIED):
                continue
            if attr in cls.__dict__ and attr not in RAW_INDEXERS:
                continue  # the class's own member wins (a .NET method named keys, an override)
            type.__setattr__(cls, attr, fn)
            done.add(attr)
    if info.enumerable_pattern and "__iter__" not in done and "__iter__" not in cls.__dict__:
        type.__setattr__(cls, "__iter__", _Enumerable.__iter__)  # C#'s foreach pattern (GetEnumerator)
    for op_name, (forward, backward) in _OPERATORS.items():
        group = cls.__dict__.get(op_name)
        if group is None:
            continue
        type.__setattr__(cls, forward, _binary(group, False))
        if forward == "__eq__":
            type.__setattr__(cls, "__hash__", cls.__mro__[1].__hash__)
        if backward:
            type.__setattr__(cls, backward, _binary(group, True))
    for op_name, dunder in _UNARY.items():
        group = cls.__dict__.get(op_name)
        if group is not None:
            type.__setattr__(cls, dunder, _unary(group))
