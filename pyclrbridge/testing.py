"""Tools for testing .NET libraries' thread-safety from Python.

Three kinds of helpers:

* `run_concurrently()` starts N calls of a function at one barrier, so they really
  overlap, and re-raises the first failure naming the thread it happened on.
* `values_for()` is a [hypothesis](https://hypothesis.readthedocs.io) strategy that
  draws Python values (or .NET objects) of a given .NET type: primitives with their exact
  ranges, strings, enums, arrays, ``List<T>``, ``Dictionary<K,V>`` and ``Nullable<T>``.

* `check_linearizable()` (from `pyclrbridge.linearizability`) draws concurrent scenarios
  of `Op` calls and checks that some sequential order of each recorded history explains
  every result (linearizability), reporting the smallest failing history.

``hypothesis`` is optional: it is imported only when `values_for()` is called, and a
missing install raises `ImportError` saying what to install.

Examples:
    >>> from pyclrbridge.testing import run_concurrently
    >>> from Fixtures.Concurrency import SafeCounter      # doctest: +SKIP
    >>> counter = SafeCounter()                           # doctest: +SKIP
    >>> run_concurrently(counter.Increment, threads=8)    # doctest: +SKIP
    [1, 2, 3, 4, 5, 6, 7, 8]  # (in some order)
"""

from __future__ import annotations

import contextlib
import decimal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from .host import typeinfo as _typeinfo
from .host.locks import SignalSafeLock
from .linearizability import (
    Call,
    LinearizabilityReport,
    Op,
    check_linearizable,
    find_linearization,
    linearizability_test,
    releasing_gil,
    state_key,
)
from .proxies.catalog import class_by_name, class_for
from .proxies.meta import ClrMeta
from .values.targets import DECIMAL_MAX, INTEGER_RANGES, type_id_for

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "Call",
    "ConcurrentFailure",
    "LinearizabilityReport",
    "Op",
    "check_linearizable",
    "contention",
    "find_linearization",
    "linearizability_test",
    "releasing_gil",
    "run_concurrently",
    "state_key",
    "values_for",
]

T = TypeVar("T")


class ConcurrentFailure(Exception):
    """A call made by `run_concurrently()` raised; ``__cause__`` is the original error.

    Attributes:
        thread: index (0-based) of the thread whose call failed first.
        thread_name: that thread's name.
        failures: how many of the calls failed in total.
    """

    def __init__(self, thread: int, thread_name: str, failures: int, error: BaseException) -> None:
        self.thread = thread
        self.thread_name = thread_name
        self.failures = failures
        super().__init__(
            f"thread {thread} ({thread_name}) failed first, {failures} call(s) failed in all: "
            f"{type(error).__name__}: {error}"
        )


def run_concurrently(
    fn: Callable[..., T],
    threads: int = 8,
    *,
    args: tuple[Any, ...] = (),
    pass_index: bool = False,
    timeout: float | None = 60.0,
) -> list[T]:
    """Call ``fn`` on ``threads`` threads at once and return the results in thread order.

    All threads wait at one `threading.Barrier` and call ``fn(*args)`` (or
    ``fn(index, *args)`` with ``pass_index=True``) together. When any call raises, the first
    failure (in time) is re-raised as `ConcurrentFailure` naming its thread, with the
    original exception as ``__cause__``.

    Args:
        fn: the function to call on every thread.
        threads: how many threads (at least 1).
        args: positional arguments for every call.
        pass_index: pass the thread's index (0..threads-1) as the first argument.
        timeout: seconds to wait for all threads to finish; ``None`` waits forever.

    Raises:
        ConcurrentFailure: a call raised (the first failure is the ``__cause__``).
        TimeoutError: the threads did not finish within ``timeout``.
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads
    # Owner: failures_lock orders the failures, so "first" means first to finish failing.
    failures_lock = SignalSafeLock("pyclrbridge.testing.failures_lock")
    failures: list[tuple[int, str, BaseException]] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = fn(index, *args) if pass_index else fn(*args)
        except BaseException as exc:  # report everything, KeyboardInterrupt too
            _ = failures_lock.taken
            try:
                failures.append((index, threading.current_thread().name, exc))
            finally:
                failures_lock.release()

    workers = [
        threading.Thread(target=worker, args=(i,), name=f"run_concurrently-{i}", daemon=True) for i in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout)
        if w.is_alive():
            raise TimeoutError(f"{w.name} did not finish within {timeout} s")
    if failures:
        index, name, error = failures[0]
        raise ConcurrentFailure(index, name, len(failures), error) from error
    return results


@contextlib.contextmanager
def contention(interval: float = 1e-6) -> Iterator[None]:
    """Make the interpreter switch threads as often as it can (GIL builds), then restore.

    ``sys.setswitchinterval`` has no effect on free-threaded builds, where threads already run
    in parallel; the context manager is harmless there.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


# ---- hypothesis strategies -------------------------------------------------------------

# Read-only after import: no lock. The conversion layer's own table, by full type name.
_INT_RANGES = {f"System.{code}": bounds for code, bounds in INTEGER_RANGES.items()}


def _hypothesis() -> Any:
    try:
        import hypothesis.strategies as st
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("pyclrbridge.testing.values_for needs hypothesis: pip install hypothesis") from exc
    return st


def _as_class(clr_type: Any) -> Any:
    if isinstance(clr_type, ClrMeta) and clr_type.__dict__.get("__clr_type_id__"):
        return clr_type
    if isinstance(clr_type, str):
        return class_by_name(clr_type)
    return class_for(type_id_for(clr_type))


def values_for(clr_type: Any, *, max_size: int = 20, allow_nan: bool = False) -> SearchStrategy[Any]:
    """A hypothesis strategy drawing values of the .NET type ``clr_type``.

    ``clr_type`` is a proxy class (``Int32``, ``List[str]``, an enum class...), a Python type
    standing for one (``int`` -> ``System.Int32``, ``float``, ``str``, ``bool``) or a full .NET
    type name (``"System.UInt16"``).

    What is drawn:

    * integers (``SByte`` .. ``UInt64``): Python ints over the type's exact range;
    * ``Single``/``Double``: floats (``Single`` ones exactly representable in 32 bits); NaN only
      with ``allow_nan=True``, infinities always;
    * ``Decimal``: `decimal.Decimal` within ``System.Decimal``'s range;
    * ``Boolean``, ``Char`` (one UTF-16 code unit, no lone surrogates), ``String`` (text, no
      ``None``), ``Object`` (a mix of the primitive kinds above);
    * enums: the enum's named values (for ``[Flags]`` enums, also OR-combinations of them);
    * ``Nullable<T>``: ``None`` or a ``T`` value;
    * ``T[]``, ``List<T>``, ``Dictionary<K,V>``: new .NET objects of exactly that type filled
      with drawn elements (at most ``max_size`` of them).

    Raises:
        ImportError: hypothesis is not installed.
        TypeError: the type is not one of the kinds above.
    """
    st = _hypothesis()
    cls = _as_class(clr_type)
    info = cls.__clr_info__
    name: str = info.full_name

    def inner(type_id: int) -> SearchStrategy[Any]:
        return values_for(class_for(type_id), max_size=max_size, allow_nan=allow_nan)

    if name in _INT_RANGES:
        lo, hi = _INT_RANGES[name]
        return st.integers(min_value=lo, max_value=hi)  # type: ignore[no-any-return]
    if name == "System.Boolean":
        return st.booleans()  # type: ignore[no-any-return]
    if name == "System.Double":
        return st.floats(allow_nan=allow_nan)  # type: ignore[no-any-return]
    if name == "System.Single":
        return st.floats(width=32, allow_nan=allow_nan)  # type: ignore[no-any-return]
    if name == "System.Decimal":
        return st.builds(  # type: ignore[no-any-return]
            _exact_decimal,
            st.integers(-DECIMAL_MAX, DECIMAL_MAX),
            st.integers(0, 28),
        )
    if name == "System.Char":
        return st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",))  # type: ignore[no-any-return]
    if name == "System.String":
        return st.text(max_size=max_size)  # type: ignore[no-any-return]
    if name == "System.Object":
        return st.one_of(  # type: ignore[no-any-return]
            st.booleans(),
            st.integers(-(2**31), 2**31 - 1),
            st.floats(allow_nan=allow_nan),
            st.text(max_size=max_size),
        )
    if info.kind == "enum":
        members = sorted({v for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, cls)}, key=int)
        if not members:
            raise TypeError(f"enum {name} has no named values to draw from")
        named = st.sampled_from(members)
        if not info.flags:
            return named  # type: ignore[no-any-return]
        return st.lists(named, min_size=1, max_size=len(members)).map(_or_all)  # type: ignore[no-any-return]
    if info.nullable_of:
        return st.none() | inner(info.nullable_of)  # type: ignore[no-any-return]
    if info.kind == "array" and info.rank == 1:
        return st.lists(inner(info.element), max_size=max_size).map(cls)  # type: ignore[no-any-return]
    definition = _definition_name(info)
    if definition == "System.Collections.Generic.List`1":
        return st.lists(inner(info.generic_args[0]), max_size=max_size).map(  # type: ignore[no-any-return]
            lambda items: _filled_list(cls, items)
        )
    if definition == "System.Collections.Generic.Dictionary`2":
        key_id, value_id = info.generic_args
        return st.dictionaries(inner(key_id), inner(value_id), max_size=max_size).map(  # type: ignore[no-any-return]
            lambda items: _filled_dict(cls, items)
        )
    raise TypeError(
        f"values_for() cannot draw values of {name}: supported are primitives, strings, enums, "
        "Nullable<T>, T[], List<T> and Dictionary<K,V>"
    )


def _definition_name(info: Any) -> str:
    if not info.generic_def_id:
        return str(info.full_name)
    return str(_typeinfo.info(info.generic_def_id).full_name)


def _exact_decimal(mantissa: int, scale: int) -> decimal.Decimal:
    """mantissa * 10**-scale, exactly (a System.Decimal is a 96-bit integer and a scale 0..28)."""
    digits = tuple(int(c) for c in str(abs(mantissa)))
    return decimal.Decimal((1 if mantissa < 0 else 0, digits, -scale))


def _or_all(values: list[Any]) -> Any:
    result = values[0]
    for v in values[1:]:
        result = result | v
    return result


def _filled_list(cls: Any, items: list[Any]) -> Any:
    lst = cls()
    for item in items:
        lst.Add(item)
    return lst


def _filled_dict(cls: Any, items: dict[Any, Any]) -> Any:
    d = cls()
    for key, value in items.items():
        d[key] = value
    return d
