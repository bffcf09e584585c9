"""The attribute fast path: constants as class attributes and native members.

A native member (proxies.native, managed_shim/FastPath/NativeMembers.cs) must be invisible:
every result, exception and message is what the Python descriptor gives, which stays in
``cls.__clr_members__`` and is called directly below as the reference.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # no hypothesis for this interpreter (e.g. a free-threaded build): that test skips
    st = None

from native_checks import functions_run, in_forked_child, outcome_of, release_race

from conftest import assert_clean_exit, run_python
from pyclrbridge.host import bridge as _bridge
from pyclrbridge.host.bridge import GilRelease
from pyclrbridge.proxies import direct as _direct
from pyclrbridge.proxies import native as _native
from pyclrbridge.proxies import properties as _properties
from pyclrbridge.testing import releasing_gil

pytestmark = pytest.mark.skipif(not _native.ENABLED, reason="native members need CPython 3.10+ with ctypes.pythonapi")

# The plain members of Fixtures.Direct.Gauge, every kind the fast path serves and some it does not.
FIELDS = ("Hits", "Note", "Weight", "Flag", "Fixed", "Total")
PROPERTIES = ("Level", "Big", "On", "Ratio", "Single", "Label", "Small", "Unsigned", "Signed16", "Checked")
MEMBERS = FIELDS + PROPERTIES


def _warm(cls: Any, obj: Any) -> None:
    """Touch every member once, through a live proxy: the first access installs native members."""
    for name in MEMBERS:
        getattr(obj, name)
        try:
            setattr(obj, name, getattr(obj, name))
        except AttributeError:
            pass  # read-only


def _assert_both_paths_agree(
    native_obj: Any,
    python_obj: Any,
    steps: Sequence[Callable[[Any, bool], Any]],
    state: Callable[[Any], Any] | None = None,
) -> None:
    """The skeleton of the property tests comparing the fast path with the Python reference:
    each step, run on ``native_obj`` through the fast path (``step(obj, True)``) and on
    ``python_obj`` through the reference (``step(obj, False)``), ends the same way (the same
    value, or the same exception type and message); then both objects' ``state`` is equal."""
    for step in steps:
        native = outcome_of(functools.partial(step, native_obj, True))
        assert native == outcome_of(functools.partial(step, python_obj, False))
    if state is not None:
        assert state(native_obj) == state(python_obj)


@pytest.fixture(scope="module")
def gauge(fixtures: Any) -> Any:
    from Fixtures.Direct import Gauge

    _warm(Gauge, Gauge())
    return Gauge


def test_leaf_members_get_native_descriptors(gauge: Any) -> None:
    from System.Text import StringBuilder

    sb = StringBuilder("abc")
    assert sb.Length == 3
    assert _native.is_native(StringBuilder.__dict__["Length"])
    assert sb.Length == 3  # now through the native member
    native = [n for n in MEMBERS if _native.is_native(gauge.__dict__[n])]
    assert {"Level", "Label", "Hits", "Note", "Weight", "Flag", "Ratio"} <= set(native)
    # Everything but the access itself is the Python descriptor's.
    member = gauge.__dict__["Level"]
    reference = gauge.__clr_members__["Level"]
    assert repr(member) == repr(reference) == "<.NET property Fixtures.Direct.Gauge.Level>"
    assert member.__doc__ == reference.__doc__
    assert gauge.Level is reference  # class-level access of an instance member: the descriptor


def test_native_get_set_and_errors_match_the_python_descriptor(gauge: Any) -> None:
    g = gauge()
    g.Level = 41
    assert g.Level == 41
    g.Label = "h\u00e9llo \U0001f600"
    assert g.Label == "h\u00e9llo \U0001f600"
    g.Label = None
    assert g.Label is None
    g.Ratio = 2.5
    assert g.Ratio == 2.5
    g.On = True
    assert g.On is True
    with pytest.raises(Exception, match="Checked must not be negative") as native_error:
        g.Checked = -1
    with pytest.raises(Exception, match="Checked must not be negative") as python_error:
        gauge.__clr_members__["Checked"].__set__(g, -1)
    assert type(native_error.value) is type(python_error.value)
    assert outcome_of(lambda: g.Throwing) == outcome_of(lambda: gauge.__dict__["Throwing"].read(g))
    with pytest.raises(AttributeError, match="cannot delete"):
        del g.Level


def test_static_members_through_class_and_instance(gauge: Any) -> None:
    g = gauge()
    gauge.Total = 5
    assert gauge.Total == 5 and g.Total == 5
    g.Total = 6
    assert gauge.Total == 6
    gauge.Total = 0


if st is not None:
    _values = st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.integers(min_value=-300, max_value=300),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.text(max_size=8),
        st.none(),
        st.sampled_from([[], 1 + 2j, b"x", object()]),
    )

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(name=st.sampled_from(MEMBERS), value=_values)
    def test_both_paths_agree_on_every_member_and_value(gauge: Any, name: str, value: Any) -> None:
        reference = gauge.__clr_members__.get(name) or gauge.__dict__[name]

        def set_value(obj: Any, native: bool) -> Any:
            return setattr(obj, name, value) if native else reference.__set__(obj, value)

        def get_value(obj: Any, native: bool) -> Any:
            return getattr(obj, name) if native else reference.__get__(obj, gauge)

        _assert_both_paths_agree(gauge(), gauge(), [set_value, get_value])

else:

    @pytest.mark.skip(reason="the property test comparing both paths needs hypothesis (test extra)")
    def test_both_paths_agree_on_every_member_and_value() -> None:
        pass


def test_python_subclass_instances_take_the_python_descriptor(gauge: Any) -> None:
    class Mine(gauge):  # type: ignore[misc,valid-type]
        __namespace__ = "FastPathTests.Mine"

    m = Mine()
    m.Level = 7
    assert m.Level == 7
    m.Label = "x"
    assert m.Label == "x"
    assert _native.is_native(gauge.__dict__["Level"])


def test_registered_encoders_take_the_python_path(gauge: Any) -> None:
    from pyclrbridge.values.codecs import register_codec

    class Doubled(int):
        pass

    g = gauge()
    undo = register_codec(int, lambda i: int(i) * 2)  # every int goes through the encoder
    try:
        g.Level = 5
        native = g.Level
        gauge.__clr_members__["Level"].__set__(g, 5)
        assert native == g.Level
    finally:
        undo()
    g.Level = 5
    assert g.Level == 5


def test_release_race_ends_in_clean_errors(gauge: Any) -> None:
    """Four threads read and write while a fifth releases the objects under them: every access
    either works or raises the released-object error; nothing else, no crash."""
    objects = [gauge() for _ in range(200)]
    for o in objects:
        o.Level = 1

    def access(o: Any, i: int) -> None:
        o.Level = o.Level + 1 if o.Level < 1000 else 1
        o.Label = "x"
        _ = o.Label

    unexpected = release_race(objects, access)
    assert not unexpected, unexpected[:5]


def test_switch_off_keeps_python_descriptors(fixtures_dll: Any) -> None:
    proc = run_python(
        """
        import pyclrbridge
        pyclrbridge.load()
        from System.Text import StringBuilder
        sb = StringBuilder("ab")
        print(sb.Length, sb.Length, type(StringBuilder.__dict__["Length"]).__name__)
        """,
        env={"PYCLRBRIDGE_NATIVE_MEMBERS": "0"},
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["2", "2", "Property"]


def test_native_member_in_a_forked_child_raises_the_spawn_error() -> None:
    lines = in_forked_child(
        """
        from System.Runtime.CompilerServices import StrongBox
        box = StrongBox[int](3)
        box.Value; box.Value = 3
        assert type(StrongBox[int].__dict__["Value"]).__name__ == "NativeMember"
        """,
        '(lambda: box.Value, lambda: setattr(box, "Value", 4))',
        "box.Value",
        child_first="""
        import gc
        gc.collect()  # visits the native members with CPython's traverse: no .NET code runs
        """,
    )
    assert lines == ["['spawn', 'spawn']", "child exit 0 parent 3"]
    # (A member without a native member whose direct stub the parent resolved but never ran
    # is not safe in a child: the child compiles the stub into memory it shares with the
    # parent. That is the direct calls' matter, not this path's.)


def test_constants_become_class_attributes(clr: Any) -> None:
    from System import BitConverter, Math, String

    assert math.pi == Math.PI
    assert type(Math.__dict__["PI"]) is float  # after the first read: a plain class attribute
    assert String.Empty == ""
    assert type(String.__dict__["Empty"]) is str  # static readonly of an immutable type
    assert BitConverter.IsLittleEndian in (True, False)
    with pytest.raises(AttributeError, match="PI is read-only"):
        Math.PI = 3  # type: ignore[misc]
    with pytest.raises(AttributeError, match="cannot delete"):
        del Math.PI
    assert math.pi == Math.PI


def test_read_only_kinds_and_virtual_overrides(fixtures: Any) -> None:
    """char, ulong and float read natively and write through the Python descriptor; a virtual
    property reads the override of each object's own type (a locking one never with the GIL
    held), the same through both paths."""
    from Fixtures.FastPath import Locked, Plain, Reading

    for cls in (Reading, Plain, Locked):
        obj = cls()
        for name in ("Letter", "Huge", "Small", "Level"):
            getattr(obj, name)  # the first access installs native members
    base_level = Reading.__clr_members__.get("Level") or Reading.__dict__["Level"]
    for cls, level in ((Reading, 1), (Plain, 1), (Locked, 2)):
        obj = cls()
        assert obj.Letter == "x" and obj.Huge == 2**64 - 1 and obj.Small == 1.5
        assert obj.Level == level == base_level.__get__(obj, cls)
        obj.Level = 40
        assert obj.Level == 40
        obj.Letter = "y"
        obj.Huge = 5
        assert (obj.Letter, obj.Huge) == ("y", 5)
    assert _native.is_native(Reading.__dict__["Letter"])
    assert _native.is_native(Reading.__dict__["Huge"])


# --- The GIL release switch (releasing_gil()) on every held attribute path -------------------


@contextlib.contextmanager
def _calls_through(**functions: Any) -> Iterator[dict[str, int]]:
    """Count the real calls made through each ctypes function object: its ``errcheck`` runs
    after every foreign call through it and hands the result back unchanged."""
    counts = dict.fromkeys(functions, 0)

    def counter(name: str) -> Any:
        def check(result: Any, func: Any, args: Any) -> Any:
            counts[name] += 1
            return result

        return check

    for name, fn in functions.items():
        fn.errcheck = counter(name)
    try:
        yield counts
    finally:
        for fn in functions.values():
            del fn.errcheck


def _python_descriptor_runs(action: Any) -> list[str]:
    """The methods of the Python descriptor (proxies.properties) that ran during ``action``."""
    return functions_run(action, _properties.__file__.__eq__)


def _releases_gil(fn: Any) -> bool:
    """Whether a ctypes function object releases the GIL around the call (CFUNCTYPE)."""
    return not fn._flags_ & ctypes._FUNCFLAG_PYTHONAPI  # type: ignore[attr-defined]


def _accesses(g: Any, gauge: Any, served: bool = False) -> list[tuple[str, Any]]:
    """Every kind of access the switch must route: instance property and field get/set (int and
    str), a static field get, then failing sets and a failing get; the outcome of each
    (``served``: only the first seven, which native members serve off the switch)."""
    steps = [
        lambda: setattr(g, "Level", 41),
        lambda: g.Level,
        lambda: setattr(g, "Hits", 7),
        lambda: g.Hits,
        lambda: setattr(g, "Label", "h\u00e9llo"),
        lambda: g.Label,
        lambda: gauge.Total,
        lambda: setattr(g, "Checked", -1),
        lambda: setattr(g, "Hits", "seven"),
        lambda: g.Throwing,
    ]
    return [outcome_of(step) for step in steps[: 7 if served else None]]


def test_native_members_and_accessor_stubs_release_the_gil_under_the_switch(gauge: Any) -> None:
    # Under releasing_gil() the native members' slots hand every access to the Python descriptor,
    # whose short accessors' stubs (which keep the GIL) are then called through their releasing
    # twins; results and exceptions do not change; after the block the native members serve again.
    g = gauge()
    members = {n: gauge.__clr_members__[n] for n in ("Level", "Hits", "Label", "Total")}
    assert all(_native.is_native(gauge.__dict__[n]) for n in members)
    for name in ("Level", "Hits", "Label"):  # the setters' stubs resolve at the descriptor's first set
        members[name].__set__(g, members[name].__get__(g, gauge))
    held: dict[str, Any] = {}
    free: dict[str, Any] = {}
    for name in ("Level", "Hits", "Label"):
        prop = members[name]
        held[f"{name} get"], _, free[f"{name} get"] = prop._direct_get
        _, held[f"{name} set"], _, _, free[f"{name} set"] = prop._direct_set
    held["Total get"], _, free["Total get"] = members["Total"]._direct_static
    for key in held:
        assert free[key] is not None, key
        assert not _releases_gil(held[key]) and _releases_gil(free[key]), key
    reference = _accesses(gauge(), gauge)  # outside the switch: the native members
    assert reference[1] == ("value", (int, 41)) and reference[7][0] == reference[8][0] == reference[9][0] == "raised"

    with _calls_through(**{f"held {k}": f for k, f in held.items()}, **{f"free {k}": f for k, f in free.items()}) as n:
        with releasing_gil():
            with releasing_gil():  # nested: the outer block keeps the switch on
                pass
            assert GilRelease.on
            runs = _python_descriptor_runs(lambda: _accesses(g, gauge))
            assert _accesses(g, gauge) == reference
        assert runs.count("__get__") >= 5 and runs.count("__set__") >= 5
        assert {k: v for k, v in n.items() if k.startswith("held")} == dict.fromkeys((f"held {k}" for k in held), 0)
        assert all(n[f"free {k}"] >= 2 for k in free), n
        before = dict(n)
        # After the block: the native members serve again (no Python descriptor, no stub).
        assert not GilRelease.on
        assert _python_descriptor_runs(lambda: _accesses(g, gauge, served=True)) == []
        assert _accesses(g, gauge) == reference
        assert n == before


def test_the_switch_reaches_python_subclass_instances_and_other_threads(gauge: Any) -> None:
    # A Python subclass instance always takes the Python descriptor: its stub's twin too under
    # the switch; and a block opened on one thread switches every thread's accesses.
    class Sub(gauge):  # type: ignore[misc,valid-type]
        __namespace__ = "FastPathTests.SwitchSub"

    g = gauge()
    g.Level = 1
    prop = gauge.__clr_members__["Level"]
    held, _, free = prop._direct_get
    seen: list[Any] = []
    with _calls_through(held=held, free=free) as n, releasing_gil():
        worker = threading.Thread(target=lambda: seen.append([g.Level for _ in range(50)]))
        worker.start()
        worker.join()
        s = Sub()
        s.Level = 9
        assert s.Level == 9
    assert seen == [[1] * 50]
    assert n["held"] == 0 and n["free"] >= 51


def test_str_and_hash_stubs_release_the_gil_under_the_switch(clr: Any) -> None:
    # Regex.ToString() and Version.GetHashCode() are proved leaf on their exact types: str() and
    # hash() call their stubs keeping the GIL, and the releasing twin under releasing_gil().
    from System import Version
    from System.Text.RegularExpressions import Regex

    regex, version = Regex("a+"), Version(1, 2)
    expected = (str(regex), hash(version))
    assert expected == ("a+", hash(Version(1, 2)))
    held_text, free_text = _direct._object_stubs[("ToString", type(regex))]
    held_hash, free_hash = _direct._object_stubs[("GetHashCode", type(version))]
    assert not _releases_gil(held_text) and not _releases_gil(held_hash)
    assert _releases_gil(free_text) and _releases_gil(free_hash)
    with _calls_through(held_text=held_text, free_text=free_text, held_hash=held_hash, free_hash=free_hash) as n:
        with releasing_gil():
            assert [(str(regex), hash(version)) for _ in range(3)] == [expected] * 3
        assert n == {"held_text": 0, "free_text": 3, "held_hash": 0, "free_hash": 3}
        assert (str(regex), hash(version)) == expected
        assert n == {"held_text": 1, "free_text": 3, "held_hash": 1, "free_hash": 3}


def test_a_switch_opened_before_the_runtime_loads_reaches_native_members() -> None:
    # The shim's copy of the switch is written when native members are set up, so a block opened
    # before load() still sends their accesses to the Python descriptor; after it, they serve.
    proc = run_python(
        """
        import sys
        import pyclrbridge
        from pyclrbridge.host.bridge import releasing_gil
        from pyclrbridge.proxies import native, properties
        runs = []
        def profile(frame, event, arg):
            if event == "call" and frame.f_code.co_filename == properties.__file__:
                runs.append(frame.f_code.co_name)
        with releasing_gil():
            pyclrbridge.load()
            from System.Text import StringBuilder
            sb = StringBuilder("abc")
            sb.Length
            sys.setprofile(profile)
            inside = [sb.Length, sb.Length]
            sys.setprofile(None)
        print(native.is_native(StringBuilder.__dict__["Length"]), inside, runs.count("__get__"))
        runs.clear()
        sys.setprofile(profile)
        after = sb.Length
        sys.setprofile(None)
        print(after, len(runs))
        """
    )
    assert_clean_exit(proc)
    assert proc.stdout.split("\n")[:2] == ["True [3, 3] 2", "3 0"]


# --- Method groups bind natively (proxies.native.group_type, FastPath/NativeGroups.cs) -------

_METHODS = ("Contains", "IndexOf", "Add", "Insert", "RemoveAt", "GetRange", "ToString")


def _python_bound(obj: Any, name: str) -> Any:
    """``obj.name`` bound by the reference: ``MethodGroup.__get__`` in Python."""
    from pyclrbridge.proxies.members import MethodGroup

    cls = type(obj)
    group = next(c.__dict__[name] for c in cls.__mro__ if name in c.__dict__)
    return MethodGroup.__get__(group, obj, cls)


def test_method_groups_bind_natively_as_method_group_get_does(clr: Any) -> None:
    from System.Collections.Generic import List

    from pyclrbridge.proxies.members import BoundMethod, MethodGroup

    native_type = _native.group_type()
    assert native_type is not MethodGroup and issubclass(native_type, MethodGroup)
    xs = List[int]([3, 1, 2])
    group = List[int].__dict__["Contains"]
    assert type(group) is native_type
    assert List[int].Contains is group  # a class-level access is the group itself
    assert group.__get__(None, List[int]) is group
    bound, reference = xs.Contains, _python_bound(xs, "Contains")
    # BoundMethod, or its NativeBound subtype once Contains has a native call (a first call made it).
    assert type(reference) is BoundMethod and issubclass(type(bound), BoundMethod)
    assert bound.__self__ is xs and bound._group is group is reference._group
    assert (repr(bound), bound.__doc__, bound.__name__) == (repr(reference), reference.__doc__, reference.__name__)
    assert group.__doc__ == MethodGroup.__dict__["__doc__"].__get__(group) and "Contains" in group.__doc__
    assert list(xs.IndexOf.overloads) == list(_python_bound(xs, "IndexOf").overloads)
    assert xs.IndexOf.overloads[int, int](2, 0) == 2
    assert xs.ConvertAll[str] is not None  # M[T] on the bound method

    class Sub(List[int]):  # a Python subclass instance binds the same way
        pass

    s = Sub()
    s.Add(5)
    assert s.Contains(5) and s.Contains.__self__ is s
    before = (sys.getrefcount(xs), sys.getrefcount(group))
    for _ in range(10_000):
        _ = xs.Contains  # binding only: no reference may leak
    del _
    assert (sys.getrefcount(xs), sys.getrefcount(group)) == before


if st is not None:
    _arguments = st.one_of(
        st.integers(min_value=-(2**40), max_value=2**40),
        st.integers(min_value=-3, max_value=6),
        st.floats(allow_nan=False, allow_infinity=True),
        st.booleans(),
        st.text(max_size=4),
        st.none(),
        st.sampled_from([[], 1 + 2j, object()]),
    )

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(name=st.sampled_from(_METHODS), args=st.lists(_arguments, max_size=2))
    def test_both_bindings_agree_on_every_method_and_argument(clr: Any, name: str, args: list[Any]) -> None:
        from System.Collections.Generic import List

        def call(obj: Any, native: bool) -> Any:
            value = (getattr(obj, name) if native else _python_bound(obj, name))(*args)
            return list(value) if name == "GetRange" else value  # a new List compares by its items

        _assert_both_paths_agree(List[int]([1, 2, 3]), List[int]([1, 2, 3]), [call], state=list)

else:

    @pytest.mark.skip(reason="the property test comparing both bindings needs hypothesis (test extra)")
    def test_both_bindings_agree_on_every_method_and_argument() -> None:
        pass


def test_method_release_race_ends_in_clean_errors(clr: Any) -> None:
    """Four threads bind and call methods and the indexer while a fifth releases the objects
    under them: every call either works or raises the released-object error; no crash."""
    from System.Collections.Generic import List

    def access(o: Any, i: int) -> None:
        contains = o.Contains
        contains(2)
        o.IndexOf(3)
        o[0] = o[1]

    unexpected = release_race([List[int]([1, 2, 3]) for _ in range(200)], access)
    assert not unexpected, unexpected[:5]


def test_method_groups_in_a_forked_child_bind_in_python() -> None:
    """A forked child runs no .NET code, not even the native binding: it binds through
    MethodGroup.__get__ again, and the call raises the error that names spawn."""
    lines = in_forked_child(
        """
        from System.Collections.Generic import List
        from pyclrbridge.proxies.members import MethodGroup
        xs = List[int]([1])
        native_type = type(List[int].__dict__["Contains"])
        assert native_type is not MethodGroup and xs.Contains(1)
        """,
        "(lambda: xs.Contains(1),)",
        "xs.Contains(1), native_type.__get__ is MethodGroup.__get__",
        child_first="outcome += [native_type.__get__ is MethodGroup.__get__, type(xs.Contains).__name__]",
    )
    assert lines == ["[True, 'BoundMethod', 'spawn']", "child exit 0 parent True False"]


def test_switch_off_keeps_python_method_groups(clr: Any) -> None:
    proc = run_python(
        """
        import pyclrbridge
        pyclrbridge.load()
        from System.Collections.Generic import List
        print(type(List[int].__dict__["Contains"]).__name__, List[int]([1]).Contains(1))
        """,
        env={"PYCLRBRIDGE_NATIVE_MEMBERS": "0"},
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["MethodGroup", "True"]


# --- Native calls: leaf methods and indexers (FastPath/NativeCalls.cs) ------------------------

# Fixtures.FastPath.Counter's methods: (name, leaf) — the GIL policy proves the first ones leaf.
_COUNTER_CALLS = (
    "Add",
    "Scale",
    "IsAbove",
    "Name",
    "Rename",
    "Half",
    "Quarter",
    "Reset",
    "Initial",
    "Big",
    "Flip",
    "IsNull",
)
_COUNTER_PYTHON = ("Over", "Three")  # overloaded, three parameters: the Python path
# Virtual, so not proved leaf: a releasing native call (tests/test_native_release.py).
_COUNTER_RELEASING = ("Level",)


def counter_params(cls: Any, name: str) -> tuple[Any, ...]:
    return tuple(cls.__dict__[name].overloads_list[0].params)


@pytest.fixture(scope="module")
def counter(fixtures: Any) -> Any:
    from Fixtures.FastPath import Counter

    c = Counter()
    warm = {"Scale": (1, 1.0), "Three": (1, 2, 3), "Rename": ("counter",), "Flip": (True,), "IsNull": ("x",)}
    for name in (
        _COUNTER_CALLS + _COUNTER_PYTHON + _COUNTER_RELEASING
    ):  # the first instance call registers a native call
        arity = len(counter_params(Counter, name))
        getattr(c, name)(*warm.get(name, (1,) * arity))
    c[0] = c[0]
    return Counter


def test_leaf_methods_and_indexers_call_natively(counter: Any) -> None:
    from Fixtures.FastPath import Labels, LockedCounter

    from pyclrbridge.proxies.members import BoundMethod

    c = counter()
    bound_type = type(c.Add)
    assert bound_type is not BoundMethod and issubclass(bound_type, BoundMethod)
    assert all(type(getattr(c, name)) is bound_type for name in _COUNTER_CALLS + _COUNTER_RELEASING)
    assert all(type(getattr(c, name)) is BoundMethod for name in _COUNTER_PYTHON)
    assert type(counter.__dict__["__getitem__"]).__name__ == "NativeIndexer"
    assert type(counter.__dict__["__setitem__"]).__name__ == "NativeIndexer"
    assert (c.Add(2), c.Add(3), c.Scale(3, 1.5), c.IsAbove(4), c.Half(), c.Quarter()) == (2, 5, 4, True, 2.5, 1.25)
    assert (c.Name(), c.Rename("h\u00e9 \U0001f600"), c.Name(), c.Rename(None), c.Name()) == (
        "counter",
        None,
        "h\u00e9 \U0001f600",
        None,
        None,
    )
    assert (c.Initial(), c.Big(), c.Flip(True), c.IsNull("x"), c.Reset(), c[3]) == (
        "c",
        2**64 - 1,
        False,
        False,
        None,
        6,
    )
    c[1] = 4
    assert c[0] == 5 and c.Add(0) == 5
    assert (repr(c.Add), c.Add.__doc__, list(c.Add.overloads)) == (
        "<bound .NET method Fixtures.FastPath.Counter.Add>",
        "Add(x: int) -> int",
        ["Int32 Add(Int32 x)"],
    )
    # Binding and attributes of the indexer are the Python function's.
    assert counter.__getitem__.__name__ == "__getitem__" and callable(c.__getitem__) and c.__getitem__(1) == 7
    assert LockedCounter().Level() == 2 and counter().Level() == 1
    labels = Labels()
    labels["a"] = "v"
    assert (labels["a"], labels["b"]) == ("v", "v")  # new strings: never the same object as the last value
    assert type(Labels.__dict__["__getitem__"]).__name__ == "NativeIndexer"

    # Keywords, the unbound form and a wrong argument take the Python path, with its answers.
    assert (c.Add(x=1), counter.Add(c, 1), _python_bound(c, "Add")(x=0)) == (6, 7, 7)
    for args, kwargs in (((), {"y": 1}), ((2**40,), {}), ((True,), {}), ((1, 2), {})):
        native_obj, python_obj = counter(), counter()
        native = outcome_of(lambda o=native_obj, a=args, k=kwargs: o.Add(*a, **k))
        assert native == outcome_of(lambda o=python_obj, a=args, k=kwargs: _python_bound(o, "Add")(*a, **k))

    class Sub(counter):  # a Python subclass instance takes the Python path, same results
        pass

    s = Sub()
    assert (s.Add(2), s[1]) == (2, 4)


def _reference_call(obj: Any, name: str, args: tuple[Any, ...]) -> Any:
    """The Python path: ``obj.name(*args)`` through a plain BoundMethod, ``obj[k]`` and
    ``obj[k] = v`` through the class's Python function (a class-level access of the
    NativeIndexer returns it)."""
    if name == "[]":
        return type(obj).__getitem__(obj, args[0] if len(args) == 1 else args)
    if name == "[]=":
        return type(obj).__setitem__(obj, *args)
    return _python_bound(obj, name)(*args)


def _native_call(obj: Any, name: str, args: tuple[Any, ...]) -> Any:
    if name == "[]":
        return obj[args[0]] if len(args) == 1 else obj[args]
    if name == "[]=":
        if len(args) != 2:
            raise TypeError(f"{len(args)} arguments for an indexer set")
        obj[args[0]] = args[1]
        return None
    return getattr(obj, name)(*args)


if st is not None:

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        name=st.sampled_from(_COUNTER_CALLS + _COUNTER_PYTHON + _COUNTER_RELEASING + ("[]", "[]=")),
        args=st.lists(_arguments, max_size=3),
    )
    def test_native_and_python_calls_agree_on_every_method_and_argument(
        counter: Any, name: str, args: list[Any]
    ) -> None:
        if name == "[]=" and len(args) != 2:
            args = [*args, 1, 1][:2]

        def call(obj: Any, native: bool) -> Any:
            return (_native_call if native else _reference_call)(obj, name, tuple(args))

        _assert_both_paths_agree(counter(), counter(), [call], state=lambda obj: (obj.Add(0), obj.Name()))

else:

    @pytest.mark.skip(reason="the property test comparing native and Python calls needs hypothesis (test extra)")
    def test_native_and_python_calls_agree_on_every_method_and_argument() -> None:
        pass


def test_native_call_release_race_ends_in_clean_errors(counter: Any) -> None:
    """Four threads call leaf methods and indexers while a fifth releases the objects under
    them: every call either works or raises the released-object error; no crash."""

    def access(o: Any, i: int) -> None:
        add = o.Add
        add(1)
        o.Rename("x")
        o[0] = o[1] % 100

    unexpected = release_race([counter() for _ in range(200)], access)
    assert not unexpected, unexpected[:5]


def test_native_calls_in_a_forked_child_take_the_python_path(fixtures_dll: Any) -> None:
    lines = in_forked_child(
        """
        from Fixtures.FastPath import Counter
        c = Counter()
        c.Add(1); c[0] = c[0]
        assert type(Counter.__dict__["__getitem__"]).__name__ == "NativeIndexer"
        assert type(c.Add).__name__ == "NativeBound"
        """,
        "(lambda: c.Add(1), lambda: c[0])",
        "c.Add(1), c[0]",
        child_first='outcome.append(type(Counter.__dict__["__getitem__"]).__name__)',
        fixtures_dll=fixtures_dll,
    )
    assert lines == ["['function', 'spawn', 'spawn']", "child exit 0 parent 2 2"]


def test_native_objects_are_collected_types_with_shared_counts_where_threads_run_free(gauge: Any, counter: Any) -> None:
    """Native members and indexers are objects of garbage-collected types (the collector
    visits them with CPython's own traverse), and on a free-threaded build every native member,
    indexer and method group has a deferred reference count, so threads that use the same
    member on their own objects do not all write its reference count (4 threads ran slower
    than 1). With a GIL there is nothing to share and nothing is changed."""
    import gc

    member = gauge.__dict__["Level"]
    indexer = counter.__dict__["__getitem__"]
    group = counter.__dict__["Add"]
    assert (_native.is_native(member), type(indexer).__name__) == (True, "NativeIndexer")
    assert gc.is_tracked(member) and gc.is_tracked(indexer) and gc.is_tracked(group)
    free_threaded = not getattr(sys, "_is_gil_enabled", lambda: True)()
    has_deferral = hasattr(ctypes.pythonapi, "PyUnstable_Object_EnableDeferredRefcount")
    if free_threaded and has_deferral:
        assert _bridge._DEFER is not None
        # Enabling again answers 0: each already has a deferred count.
        assert [_bridge._DEFER(o) for o in (member, indexer, group)] == [0, 0, 0]
    elif not free_threaded:
        assert _bridge._DEFER is None
    gc.collect()  # traverses them: they stay, and serve as before
    g, c = gauge(), counter()
    g.Level = 41
    c[2] = 7  # the counter's value becomes 2 + 7
    assert (g.Level, c.Add(2), c[2], gauge.__dict__["Level"] is member) == (41, 11, 15, True)


def test_release_race_with_collections_ends_in_clean_errors(gauge: Any, counter: Any) -> None:
    """Four threads read and write native members and call native methods and indexers while
    a fifth releases the objects and a sixth runs the garbage collector over the (deferred,
    on a free-threaded build) native objects: every access works or raises the
    released-object error, and the native objects serve new objects afterwards."""
    import gc

    def access(pair: tuple[Any, Any], i: int) -> None:
        g, c = pair
        g.Level = g.Level + 1 if g.Level < 1000 else 1
        _ = g.Label
        c.Add(1)
        c[0] = c[1] % 100

    unexpected = release_race([(gauge(), counter()) for _ in range(200)], access, beside=gc.collect)
    assert not unexpected, unexpected[:5]
    g, c = gauge(), counter()
    g.Level = 5
    assert (g.Level, c.Add(3), _native.is_native(gauge.__dict__["Level"])) == (5, 3, True)


@pytest.mark.skipif(
    getattr(sys, "_is_gil_enabled", lambda: True)()
    or not hasattr(ctypes.pythonapi, "PyUnstable_Object_EnableDeferredRefcount"),
    reason="deferred reference counts exist only on a free-threaded build with the GIL off (3.14t+)",
)
def test_method_groups_share_their_count_with_native_members_off() -> None:
    """The deferred count is not part of the native path: the Python method groups of
    ``PYCLRBRIDGE_NATIVE_MEMBERS=0`` get it too (enabling again answers 0)."""
    proc = run_python(
        """
        import pyclrbridge
        pyclrbridge.load()
        from System.Text import StringBuilder
        from pyclrbridge.host import bridge
        group = StringBuilder.__dict__["Append"]
        print(type(group).__name__, bridge._DEFER(group))
        """,
        env={"PYCLRBRIDGE_NATIVE_MEMBERS": "0"},
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["MethodGroup", "0"]
