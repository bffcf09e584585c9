""".NET shapes that behave as their Python counterparts: tuples and enumerators.

- ``ValueTuple``/``Tuple`` (anything implementing ``ITuple``) unpack, index, compare and hash
  like Python tuples: ``a, b = Fit.Line(xs, ys)``, ``ValueTuple.Create(1, "a") == (1, "a")``.
- An ``IEnumerator``/``IEnumerator<T>`` is a Python iterator: ``list(xs.GetEnumerator())``.
- An ``ExpandoObject``'s members are attributes (get, set, delete, ``dir()``, call).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .protocols import _call, _get, _read, _set, implementation_for

_ITUPLE = "System.Runtime.CompilerServices.ITuple"


@implementation_for(_ITUPLE, rank=5)
class _Tuple:
    def __len__(self: Any) -> int:
        return int(_read(self, _ITUPLE, "Length"))

    def __iter__(self: Any) -> Iterator[Any]:
        for i in range(len(self)):
            yield _get(self, _ITUPLE, i)

    def __getitem__(self: Any, i: Any) -> Any:
        return tuple(self)[i]  # negative indices and slices as a tuple has them

    def __eq__(self: Any, other: object) -> bool:
        if isinstance(other, tuple):
            return tuple(self) == other
        if getattr(type(other), "__len__", None) is _Tuple.__len__:  # another .NET tuple
            return tuple(self) == tuple(other)  # type: ignore[arg-type]
        return NotImplemented

    def __ne__(self: Any, other: object) -> bool:
        equal = _Tuple.__eq__(self, other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self: Any) -> int:
        return hash(tuple(self))


def _next(self: Any, iface: str) -> Any:
    if not _call(self, iface, "MoveNext"):
        raise StopIteration
    return _read(self, iface, "Current")


@implementation_for("System.Collections.Generic.IEnumerator`1", rank=45)  # after IEnumerable: a yield iterator is both
class _GenericEnumerator:
    def __iter__(self: Any) -> Any:
        return self

    def __next__(self: Any) -> Any:
        return _next(self, "System.Collections.Generic.IEnumerator`1")


@implementation_for("System.Collections.IEnumerator", rank=46)
class _Enumerator:
    def __iter__(self: Any) -> Any:
        return self

    def __next__(self: Any) -> Any:
        return _next(self, "System.Collections.IEnumerator")


_EXPANDO_ITEMS = "System.Collections.Generic.IDictionary`2"


@implementation_for("System.Dynamic.ExpandoObject", rank=1)
class _Expando:
    """An ExpandoObject's members as attributes: ``e.name = 1``, ``e.name``, ``del e.name``,
    ``dir(e)``; a delegate stored in it is called as a method (``e.greet()``)."""

    def __getattr__(self: Any, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        found, value = _call(self, _EXPANDO_ITEMS, "TryGetValue", name)
        if not found:
            raise AttributeError(f"the ExpandoObject has no member {name!r}")
        return value

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)  # the bridge's own slots (_h)
            return
        _set(self, _EXPANDO_ITEMS, name, value)

    def __delattr__(self: Any, name: str) -> None:
        if name.startswith("_") or not _call(self, _EXPANDO_ITEMS, "Remove", name):
            raise AttributeError(f"the ExpandoObject has no member {name!r}")

    def __dir__(self: Any) -> list[str]:
        return sorted(str(k) for k in _read(self, _EXPANDO_ITEMS, "Keys"))
