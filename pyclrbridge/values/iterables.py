"""Python iterables (generators, iterators, deques, dict views...) passed to .NET.

For an ``IEnumerable<T>`` or ``IEnumerable`` parameter they go lazily: .NET gets a
``PythonIterable<T>`` (``managed_shim/Callbacks/PythonIterables.cs``) whose enumerator calls
``iter(obj).__next__`` once per item, so ``Enumerable.Take[Int32](itertools.count(), 5)`` reads
five items. Other parameters (arrays, lists, collections) need every item before the call:
those copies stop at :data:`EAGER_LIMIT` items with a clear error instead of filling memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

from ..host import typeinfo as _typeinfo
from ..host.shim import KindInt as Kind
from ..host.shim import Value
from .objects import register_into

#: Most items an eager copy of a Python iterable takes (pass a list, or an IEnumerable parameter).
EAGER_LIMIT = 10_000_000

_LAZY_DEF = "System.Collections.Generic.IEnumerable`1"


def is_lazy_target(t: _typeinfo.TypeInfo) -> bool:
    """``IEnumerable`` or ``IEnumerable<T>``: a parameter that reads its items as it goes."""
    if t.full_name == "System.Collections.IEnumerable":
        return True
    return bool(t.generic_def_id) and _typeinfo.info(t.generic_def_id).full_name == _LAZY_DEF


class _Opener:
    """What .NET holds: calling it starts one pass (``iter(obj).__next__``)."""

    __slots__ = ("source",)

    def __init__(self, source: Iterable[Any]) -> None:
        self.source = source

    def __call__(self) -> Callable[[], Any]:
        return iter(self.source).__next__


def write_lazy(obj: Iterable[Any], v: Value, dry_run: bool) -> None:
    v.i = 0  # no old payload under this kind (see convert._pyobject)
    v.kind = Kind.LAZY_ITERABLE
    if not dry_run:
        register_into(_Opener(obj), v)  # the id lands in v in the step that registers it


def bounded_list(obj: Iterable[Any]) -> list[Any]:
    """All items of ``obj``, refusing more than :data:`EAGER_LIMIT`."""
    items = list(itertools.islice(obj, EAGER_LIMIT + 1))
    if len(items) > EAGER_LIMIT:
        raise ValueError(
            f"the {type(obj).__name__} gave more than {EAGER_LIMIT:,} items for a parameter that needs all of "
            "them before the call (an array or collection); pass a list, or call an overload taking IEnumerable<T>"
        )
    return items
