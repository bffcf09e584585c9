"""Python <-> .NET values: one table of rules, plus user codecs.

``to_value`` writes a Python object into a :class:`Value` (keeping any memory it points at
alive through ``keep``). When the caller knows the .NET parameter type (``type_id``), the
rule for the Python type checks the value against it first: integers against the range of
the integer type, ``str`` against ``Char``, ``Decimal`` against ``System.Decimal``, and
sequences become packed buffers when the element type allows one block copy.
``from_value`` turns a result value back into a Python object.

The rules, by Python type (``_RULES``; subclasses fall back to ``_FALLBACK_RULES``; the rules for
single values are in :mod:`.scalars`):

=====================  =====================================================================
Python                 .NET
=====================  =====================================================================
``None``               null (``TypeError`` for a non-nullable value type)
``bool``               Boolean
``int``                the parameter's integer type, range-checked (``OverflowError``);
                       Double/Single/Decimal when asked; Int32, Int64 or UInt64 for object
``float``              Double (Single range-checked)
``str``                String; Char when one UTF-16 code unit; Guid parsed from text
``decimal.Decimal``    System.Decimal, exactly (``OverflowError``/``ValueError`` otherwise)
``bytes``-likes        byte[] (one block copy)
``datetime``           DateTime (aware values become UTC), ``timedelta`` TimeSpan,
                       ``uuid.UUID`` Guid
list/tuple/range/set   T[], List<T>, IEnumerable<T>, IList<T>, HashSet<T>..., nested for T[][], T[,];
                       a tuple for object: a System.ValueTuple of its items (equal and hashed by value)
other iterables        the same, materialized (generators, deques...) when a sequence is asked for
``array.array``        T[] of the same element type (one block copy)
Mapping                Dictionary<K, V>, IDictionary<K, V>, IEnumerable<KeyValuePair<K, V>>
a .NET proxy           the object itself; a proxy class or ``int``/``str``... a System.Type
anything else          a Python object reference (delegates from callables, object params)
=====================  =====================================================================
"""

from __future__ import annotations

import array
import ctypes
import datetime
import decimal
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..host import typeinfo as _typeinfo
from ..host.shim import KindInt as Kind  # plain ints: IntEnum member reads are slow on every call
from ..host.shim import Value
from . import codecs as _codecs
from . import results as _results
from .buffers import array_from_buffer, array_from_list, lend
from .iterables import bounded_list, is_lazy_target, write_lazy
from .objects import handle_of, register_into
from .results import from_value, from_values
from .scalars import (
    Rule,
    _bool,
    _datetime,
    _decimal,
    _float,
    _int,
    _none,
    _python_type,
    _str,
    _timedelta,
    _uuid,
)
from .targets import (
    _BUFFER_CODES,
    MAP_DEFS,
    PYTHON_TYPE_NAMES,
    SINGLE_MAX,
    _element_of,
    _target,
    pair_types,
    span_of,
    type_label,
)

__all__ = ["from_value", "from_values", "install_proxy_rules", "mismatch", "to_value"]


class _NoProxyYet:
    """Stands for the proxy classes until the proxy layer installs them: nothing is one."""


# The proxy layer's base classes, which ``to_value`` tests with isinstance: module globals (read
# on every argument) written once by install_proxy_rules at package import.
ClrEnum: Any = _NoProxyYet
ClrMeta: Any = _NoProxyYet


def install_proxy_rules(
    *,
    enum_class: type,
    proxy_metaclass: type,
    wrap: Callable[[int, int], Any],
    wrap_value: Callable[[Any], Any],
    enum_value: Callable[[int, int], Any],
) -> None:
    """The one registration of the proxy layer into the values layer: which Python objects are
    .NET enum values and proxy classes (arguments), and how results become proxies."""
    global ClrEnum, ClrMeta
    ClrEnum, ClrMeta = enum_class, proxy_metaclass
    _results.install_proxies(wrap, enum_value, wrap_value)


class _DryRun(list[Any]):
    """The ``keep`` list of a conversion made only to see whether it fails (nothing is registered)."""


def mismatch(arg: Any, type_id: int) -> BaseException | None:
    """Why ``arg`` cannot be passed as ``type_id``, when a rule can say it clearly; else None.

    Overload resolution uses it to explain the failure of the only candidate: the rule for
    the argument's Python type runs against the parameter type, and its error is the answer.
    """
    if _codecs.encoders:
        arg = _codecs.encode_custom(arg)
    t, nullable = _target(type_id)
    rule = _RULES.get(type(arg))
    if t is None or rule is None:
        return None
    try:
        rule(arg, Value(), _DryRun(), t, nullable)
    except (TypeError, ValueError, OverflowError) as error:
        return error
    return None


# ---- the rules for collections (those for single values: .scalars) -------------------------


def _span_array(obj: Any, t: _typeinfo.TypeInfo | None) -> _typeinfo.TypeInfo | None:
    """For a ``Span<T>``/``ReadOnlySpan<T>`` target, the ``T[]`` the buffer is passed as (a writable
    buffer sees what .NET wrote through the span once the call returns); ``t`` otherwise. A
    read-only buffer (``bytes``) is refused for a ``Span<T>``: .NET's writes would be lost."""
    span = span_of(t)
    if span is None:
        return t
    array_id, writable = span
    if writable and memoryview(obj).readonly:
        assert t is not None
        raise TypeError(
            f"a read-only {type(obj).__name__} cannot be passed as {type_label(t)}, which .NET writes into: "
            "pass a bytearray (or another writable buffer)"
        )
    return _typeinfo.info(array_id)


def _bytes(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    t = _span_array(obj, t)
    if t is not None and t.kind == "array" and t.rank == 1 and _typeinfo.info(t.element).type_code != "Byte":
        # A typed buffer for a T[] (memoryview of array('d'), numpy): one block copy when its items
        # are exactly T, else item by item.
        if _writable_buffer(obj, v, keep, t.element):
            return
        made = array_from_buffer(obj, t.element)
        if made is None:
            _sequence(memoryview(obj).tolist(), v, keep, t, nullable)
            return
        keep.append(made)
        v.kind = Kind.OBJECT
        v.i = handle_of(made) or 0
        v.extra = type(made).__clr_type_id__
        return
    if type(obj) is not bytes:
        view = memoryview(obj)
        if not view.c_contiguous:
            raise ValueError("only C-contiguous buffers can be passed as byte[]")
        view = view.cast("B")
        if view.readonly or not view.nbytes:
            obj = bytes(view)
        else:
            block = (ctypes.c_char * view.nbytes).from_buffer(view)
            keep.append(block)
            address = ctypes.addressof(block)
            lend(block, address)  # held past the call if it returns an unfinished task (ReadAsync)
            v.kind = Kind.BYTES_OUT  # .NET's writes come back after the call (Stream.Read)
            v.p = address
            v.extra = view.nbytes
            return
    if len(obj) > 2**31 - 1:
        raise OverflowError("a byte[] holds at most 2**31 - 1 bytes")
    keep.append(obj)
    v.kind = Kind.BYTES
    v.s = obj
    v.extra = len(obj)


def _writable_buffer(obj: Any, v: Value, keep: list[Any], element: int) -> bool:
    """A writable C-contiguous buffer whose items are exactly the element type (memoryview of
    array('d') for double[]): passed as its own memory, .NET's writes copied back. False otherwise."""
    e = _typeinfo.info(element)
    code = _BUFFER_CODES.get(e.type_code) if e.kind != "enum" else None
    view = memoryview(obj)
    if code is None or view.readonly or not view.c_contiguous or view.format != code or not view.nbytes:
        return False
    block = (ctypes.c_char * view.nbytes).from_buffer(view)
    keep.append(block)
    address = ctypes.addressof(block)
    lend(block, address)  # held past the call if it returns an unfinished task
    v.kind = Kind.BUFFER_OUT
    v.p = address
    v.extra = view.nbytes // view.itemsize
    return True


def _sequence(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    element = _element_of(t)
    if t is not None and t.kind == "array" and t.rank > 1:
        _nested(obj, v, keep, t.element, t.rank)
        return
    if element and t is not None and t.kind == "array" and type(obj) in (list, tuple) and not isinstance(keep, _DryRun):
        # A long list of numbers for T[]: .NET allocates the array and each block is copied in,
        # with no packed copy of the whole list (None: short, or not all numbers of T).
        made = array_from_list(obj, element)
        if made is not None:
            keep.append(made)
            v.kind = Kind.OBJECT
            v.i = handle_of(made) or 0
            v.extra = type(made).__clr_type_id__
            return
    if element and _buffer(obj, v, keep, element):
        return
    _list(obj, v, keep, element)


def _changed_size(obj: Any, sized: int, seen: int) -> RuntimeError:
    more = f"more than {sized}" if seen > sized else str(seen)
    return RuntimeError(
        f"the {type(obj).__name__} changed size while it was converted for .NET: "
        f"len() said {sized}, iterating it gave {more} items"
    )


def _list(items: Any, v: Value, keep: list[Any], element: int) -> None:
    # Sized once: .NET reads exactly n values, so an iteration that gives more or fewer
    # (a __len__ or a conversion that changes the sequence) is refused, never passed on.
    n = len(items)
    values = (Value * max(n, 1))()
    keep.append(values)  # before any item: a caller that fails finds the items registered so far
    # v points at the block before any item is written (the block is zeroed: Null items), so an
    # except path that hands back unsent ids (Unsent.cs) reaches the items registered so far.
    # A tuple stays a tuple where .NET is given no sequence type (an object key): equal by value.
    _point(v, Kind.TUPLE if isinstance(items, tuple) else Kind.LIST, values, n)
    count = 0
    for i, item in enumerate(items):
        if i == n:
            raise _changed_size(items, n, n + 1)
        try:
            to_value(item, values[i], keep, element)
        except (TypeError, ValueError, OverflowError) as error:
            raise type(error)(f"item {i}: {error}") from None
        count = i + 1
    if count != n:
        raise _changed_size(items, n, count)


def _point(v: Value, kind: int, block: Any, n: int) -> None:
    """``v`` becomes a list, tuple or map of the ``n`` items in ``block``: three field stores, with
    no signal check between them (the payload never pairs with another kind)."""
    v.p = ctypes.addressof(block)
    v.extra = n
    v.kind = kind


def _nested(items: Any, v: Value, keep: list[Any], element: int, depth: int) -> None:
    if depth == 1:
        _list(items, v, keep, element)
        return
    if not isinstance(items, (list, tuple, range)):
        raise TypeError(f"a rectangular array needs sequences nested {depth} deep, got {type(items).__name__}")
    n = len(items)
    values = (Value * max(n, 1))()
    keep.append(values)  # before any row, as in _list
    _point(v, Kind.LIST, values, n)  # before any row, as in _list
    count = 0
    for i, row in enumerate(items):
        if i == n:
            raise _changed_size(items, n, n + 1)
        _nested(row, values[i], keep, element, depth - 1)
        count = i + 1
    if count != n:
        raise _changed_size(items, n, count)


def _buffer(obj: Any, v: Value, keep: list[Any], element: int) -> bool:
    """Pack numbers for a primitive element type into one block; False when they do not fit."""
    e = _typeinfo.info(element)
    code = _BUFFER_CODES.get(e.type_code) if e.kind != "enum" else None
    if code is None:
        return False
    if isinstance(obj, array.array):
        if obj.typecode != code:
            return False
        packed = obj
    else:
        try:
            packed = array.array(code, obj)
        except OverflowError:
            for i, item in enumerate(obj):
                error = mismatch(item, element)
                if error is not None:
                    raise OverflowError(f"item {i}: {error}") from None
            raise
        except TypeError:
            return False  # not all plain numbers: element-by-element rules decide
        if e.type_code in ("Single",):
            for i, item in enumerate(obj):
                if isinstance(item, float) and math.isfinite(item) and abs(item) > SINGLE_MAX:
                    raise OverflowError(f"item {i}: {item!r} is out of range for System.Single")
    keep.append(packed)
    address, count = packed.buffer_info()
    v.kind = Kind.BUFFER_OUT if packed is obj else Kind.BUFFER  # the caller's own array: writes come back
    v.p = address
    v.extra = count
    return True


def _array(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    element = _element_of(_span_array(obj, t))
    if element and _buffer(obj, v, keep, element):
        return
    _list(obj.tolist(), v, keep, element)


def _iterable(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    """Any other iterable (generator, deque...): read lazily for an IEnumerable parameter, else
    its items (at most ``EAGER_LIMIT``), when a sequence is asked for."""
    if t is not None and is_lazy_target(t):
        write_lazy(obj, v, isinstance(keep, _DryRun))
        return
    if t is not None and (
        _element_of(t)
        or t.kind == "array"
        or t.full_name
        in (
            "System.Collections.IList",
            "System.Collections.ICollection",
            "System.Array",
        )
    ):
        _sequence(bounded_list(obj), v, keep, t, nullable)
        return
    _pyobject(obj, v, keep, t, nullable)


def _mapping(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    key_id = value_id = 0
    if (
        t is not None
        and t.generic_def_id
        and len(t.generic_args) == 2
        and (_typeinfo.info(t.generic_def_id).full_name in MAP_DEFS)
    ):
        key_id, value_id = t.generic_args
    else:
        pairs = pair_types(t)  # IEnumerable<KeyValuePair<K, V>>: the items as pairs, in order
        if pairs is not None:
            key_id, value_id = pairs
    n = len(obj)  # sized once, as in _list
    items = (Value * max(2 * n, 1))()
    keep.append(items)  # before any item, as in _list
    _point(v, Kind.MAP, items, n)  # before any item, as in _list
    count = 0
    for i, (key, value) in enumerate(obj.items()):
        if i == n:
            raise _changed_size(obj, n, n + 1)
        to_value(key, items[2 * i], keep, key_id)
        to_value(value, items[2 * i + 1], keep, value_id)
        count = i + 1
    if count != n:
        raise _changed_size(obj, n, count)


# How a Python callable passed for a delegate parameter is adapted first (pyclrbridge.compat:
# pythonnet's placeholder arguments for out parameters). One function or None, replaced whole;
# read on each such conversion.
_delegate_adapter: list[Callable[[Any, int], Any] | None] = [None]


def adapt_delegate_callables(adapter: Callable[[Any, int], Any] | None) -> None:
    """``adapter(fn, delegate_type_id)`` gives the callable a delegate parameter gets for ``fn``."""
    _delegate_adapter[0] = adapter


def adapts_delegate_callables() -> bool:
    """Whether callables for delegate parameters are adapted (pythonnet's out placeholders)."""
    return _delegate_adapter[0] is not None


def _pyobject(obj: Any, v: Value, keep: list[Any], t: _typeinfo.TypeInfo | None, nullable: bool) -> None:
    if t is not None and (t.value_type or t.type_code == "String"):
        raise TypeError(f"a {type(obj).__name__} cannot be passed as {type_label(t)}")
    adapt = _delegate_adapter[0]
    if adapt is not None and t is not None and t.kind == "delegate" and callable(obj):
        obj = adapt(obj, t.id)
    # The id field is zeroed before the kind says "Python object": an except path that hands back
    # unsent ids (Unsent.cs) must never find an old payload under this kind (a signal handler can
    # raise at register_into's entry). Extra 0: an argument, not a result .NET holds.
    v.i = 0
    v.extra = 0
    v.kind = Kind.PYOBJECT
    if isinstance(keep, _DryRun):
        return
    register_into(obj, v)


#: The one table: exact Python type -> rule. Subclasses go through _FALLBACK_RULES in order.
_RULES: dict[type, Rule] = {
    type(None): _none,
    bool: _bool,
    int: _int,
    float: _float,
    str: _str,
    decimal.Decimal: _decimal,
    bytes: _bytes,
    bytearray: _bytes,
    memoryview: _bytes,
    datetime.datetime: _datetime,
    datetime.timedelta: _timedelta,
    uuid.UUID: _uuid,
    list: _sequence,
    tuple: _sequence,
    range: _sequence,
    set: _sequence,
    frozenset: _sequence,
    array.array: _array,
    dict: _mapping,
}
_FALLBACK_RULES: tuple[tuple[Any, Rule], ...] = (
    (bool, _bool),
    (int, _int),
    (float, _float),
    (str, _str),
    (decimal.Decimal, _decimal),
    ((bytes, bytearray, memoryview), _bytes),
    (datetime.datetime, _datetime),
    (datetime.timedelta, _timedelta),
    (uuid.UUID, _uuid),
    ((list, tuple, range, set, frozenset), _sequence),
    (array.array, _array),
    (Mapping, _mapping),
    (Iterable, _iterable),
)


def to_value(obj: Any, v: Value, keep: list[Any], type_id: int = 0) -> None:
    """Write ``obj`` into ``v`` for a parameter of type ``type_id`` (0: not known).

    Objects whose memory ``v`` points at are appended to ``keep``; the caller holds ``keep``
    until the call returns. A block of ``Value`` items (a sequence's, a map's) is in ``keep``
    before its first item is written, so a caller whose conversion fails part-way (a signal
    handler raising) finds every Python object registered so far in it (the callback
    dispatcher drops them). Values the parameter type cannot hold raise ``OverflowError``,
    ``TypeError`` or ``ValueError`` naming the type.
    """
    if _codecs.encoders:
        obj = _codecs.encode_custom(obj)
    t, nullable = _target(type_id)
    rule = _RULES.get(type(obj))
    if rule is not None:
        rule(obj, v, keep, t, nullable)
        return
    if isinstance(obj, ClrEnum):
        v.kind = Kind.ENUM
        v.i = obj._value
        v.extra = type(obj).__clr_type_id__
        return
    h = handle_of(obj)
    if h is not None:
        v.kind = Kind.OBJECT
        v.i = h
        # The proxy may exist only for this conversion (an item of a generator materialized for
        # an array, a codec's result, an item a Mapping's items() made): its handle dies with it,
        # so the caller holds it with everything else .NET reads, until .NET is done.
        keep.append(obj)
        return
    if isinstance(obj, ClrMeta):
        v.kind = Kind.TYPE
        v.extra = obj.__clr_type_id__
        return
    if isinstance(obj, type) and obj in PYTHON_TYPE_NAMES:
        _python_type(obj, v, keep, t, nullable)
        return
    for py_type, fallback in _FALLBACK_RULES:
        if isinstance(obj, py_type):
            fallback(obj, v, keep, t, nullable)
            return
    _pyobject(obj, v, keep, t, nullable)
