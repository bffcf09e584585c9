"""Issue 25.3 as a property: any mix of values read through any bulk path (iteration,
``list()``, ``dict()``, ``ToArray``, slices, the block conversion behind them) gives what reading
the elements one by one gives, when enums and classes whose Python classes are not built yet
(their conversion calls .NET) sit among strings, bytes, decimals, nulls, numbers and Python
objects of the same chunk."""

from __future__ import annotations

import decimal
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the mixed bulk-read properties need hypothesis (test extra)")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_bulk_paths import MIXED_PATHS, _as_dictionary, fresh_enum_type

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_ELEMENT = st.one_of(
    st.tuples(st.just("str"), st.text(max_size=40)),
    st.tuples(st.just("bytes"), st.binary(max_size=20)),
    st.tuples(st.just("null"), st.none()),
    st.tuples(st.just("int"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("float"), st.floats(allow_nan=False)),
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.just("decimal"), st.decimals(min_value=-(10**20), max_value=10**20, places=4)),
    st.tuples(st.just("py"), st.none()),
    st.tuples(st.just("enum"), st.none()),
    st.tuples(st.just("struct"), st.none()),
)


def _fresh_struct_array() -> Any:
    """A one-element array of a struct type no Python class exists for yet (ValueTuple<E, int>
    over a fresh enum E): reading its element builds two classes."""
    from System import Array, Type

    vt = Type.GetType("System.ValueTuple`2").MakeGenericType(fresh_enum_type(), Type.GetType("System.Int32"))
    return Array.CreateInstance(vt, 1)


def _build(plan: list[tuple[str, Any]]) -> tuple[Any, list[Any]]:
    """An ArrayList holding the plan's values, the .NET ones added without Python reading them."""
    from System import Enum
    from System.Collections import ArrayList

    al = ArrayList()
    keep: list[Any] = []
    for kind, value in plan:
        if kind == "enum":
            al.AddRange(ArrayList(Enum.GetValues(fresh_enum_type())).GetRange(1, 1))
        elif kind == "struct":
            al.AddRange(_fresh_struct_array())
        elif kind == "py":
            obj = object()
            keep.append(obj)
            al.Add(obj)
        elif kind == "bytes":
            al.Add(bytes(value))
        else:
            al.Add(value)
    return al, keep


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same kind; .NET objects by type and text; Python objects by identity."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (str, int, float, bool, decimal.Decimal)) or a is None:
        return bool(a == b)
    name = getattr(type(a), "__clr_name__", None)
    if name is None:
        return a is b
    if name == "System.Byte[]":
        return bytes(a) == bytes(b)
    return bool(str(a) == str(b))


def _as_keys(plan: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The plan without what cannot be a key of one .NET dictionary: nulls and repeated scalars."""
    seen: list[tuple[str, Any]] = []
    out = []
    for kind, value in plan:
        if kind == "null" or (kind not in _OBJECTS and any(k == kind and v == value for k, v in seen)):
            continue
        seen.append((kind, value))
        out.append((kind, value))
    return out


_OBJECTS = frozenset({"bytes", "py", "enum", "struct"})  # distinct .NET keys by construction


@_SETTINGS
@given(plan=st.lists(_ELEMENT, max_size=80), path=st.sampled_from([*sorted(MIXED_PATHS), "dict keys"]))
def test_any_mix_reads_as_element_by_element_on_every_bulk_path(
    clr: Any, plan: list[tuple[str, Any]], path: str
) -> None:
    if path in ("dict", "dict keys"):
        plan = _as_keys(plan)
    al, _keep = _build(plan)
    if path in ("dict", "dict keys"):
        # dict() reads the keys in bulk and then each value; Python merges keys it finds equal
        # (1, 1.0, True), so the keys themselves are compared.
        got = list(_as_dictionary(al, keys_are_items=True).keys())  # first: no class built yet
    else:
        got = list(MIXED_PATHS[path](al))
    one_by_one = [al[i] for i in range(al.Count)]
    assert len(got) == len(one_by_one) == len(plan)
    bad = [(i, g, e) for i, (g, e) in enumerate(zip(got, one_by_one, strict=True)) if not _same(g, e)]
    assert not bad, f"{path}: {bad[:5]}"
