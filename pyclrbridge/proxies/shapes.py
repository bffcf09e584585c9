""".NET shapes that behave as their Python counterparts: tuples and enumerators.

- ``ValueTuple``/``Tuple`` (anything implementing ``ITuple``) unpack, index, compare and hash
  like Python tuples: ``a, b = Fit.Line(xs, ys)``, ``ValueTuple.Create(1, "a") == (1, "a")``.
- An ``IEnumerator``/``IEnumerator<T>`` is a Python iterator: ``list(xs.GetEnumerator())``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .protocols import _call, _get, _read, implementation_for

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
