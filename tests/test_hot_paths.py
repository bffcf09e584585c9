"""The fast paths: pooled call frames, chunked iteration, const fields read once.

They must be invisible: same results, same errors, same lifetimes as the plain paths.
"""

from __future__ import annotations

import gc
import math
import threading
from typing import Any

from conftest import assert_clean_exit, run_python


def test_iterating_a_list_of_ints_crosses_chunk_boundaries_intact(clr: Any) -> None:
    from System.Collections.Generic import List

    expected = [-(2**31), 2**31 - 1, 0, *range(-5000, 5000)]
    xs = List[int](expected)
    assert list(xs) == expected


def test_iterating_a_double_array_gives_the_exact_doubles(clr: Any) -> None:
    from System import Array

    expected = [0.1, -0.0, 1e308, 5e-324, math.inf, *[i / 7 for i in range(3000)]]
    got = list(Array[float](expected))
    assert got == expected
    assert math.copysign(1.0, got[1]) == -1.0


def test_iterating_longs_keeps_64_bit_values(clr: Any) -> None:
    from System import Array, Int64

    expected = [-(2**63), 2**63 - 1, 12345678901234]
    assert list(Array[Int64](expected)) == expected


def test_iterating_strings_and_objects_keeps_every_string() -> None:
    # A fresh process, so the element type's proxy class is built during the iteration:
    # building it calls .NET, which must not clobber the strings of the same chunk.
    proc = run_python("""
        import pyclrbridge
        pyclrbridge.load()
        from System.Collections.Generic import List
        xs = List[object]()
        xs.Add("before")
        from System import AppDomain
        xs.AddRange(AppDomain.CurrentDomain.GetAssemblies())
        xs.Add("after \\u00e9\\U0001f600")
        items = list(xs)
        assert items[0] == "before", items[0]
        assert items[-1] == "after \\u00e9\\U0001f600", items[-1]
        assert type(items[1]).__clr_name__.endswith("Assembly"), type(items[1])
        print("ok")
    """)
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "ok"


def test_a_lazy_sequence_is_not_read_ahead(clr: Any) -> None:
    from System import Func
    from System.Collections.Generic import List
    from System.Linq import Enumerable

    seen: list[int] = []

    def project(x: int) -> int:
        seen.append(x)
        return x * 10

    lazy = Enumerable.Select(List[int](range(100)), Func[int, int](project))
    it = iter(lazy)
    assert next(it) == 0
    assert seen == [0]
    assert next(it) == 10
    assert seen == [0, 1]


def test_an_abandoned_iteration_releases_its_state(clr: Any) -> None:
    from System.Collections.Generic import List

    xs = List[int](range(1000))
    gc.collect()
    before = clr.stats()["live_handles"]
    it = iter(xs)
    next(it)
    del it
    gc.collect()
    assert clr.stats()["live_handles"] == before


def test_an_exception_raised_while_iterating_reaches_the_caller(clr: Any) -> None:
    from System import Func
    from System.Collections.Generic import List
    from System.Linq import Enumerable

    def explode(x: int) -> int:
        if x == 3:
            raise KeyError("boom")
        return x

    items = Enumerable.Select(List[int](range(10)), Func[int, int](explode))
    try:
        list(items)
    except KeyError as e:
        assert "boom" in str(e)
    else:
        raise AssertionError("the callback's KeyError did not come back")


def test_a_callback_that_calls_dotnet_during_a_call_gets_its_own_frame(clr: Any) -> None:
    from System import Comparison, Math
    from System.Collections.Generic import List

    xs = List[int]([5, -3, 9, 0, 2])
    xs.Sort(Comparison[int](lambda a, b: Math.Sign(a - b)))  # .NET -> Python -> .NET
    assert list(xs) == [-3, 0, 2, 5, 9]


def test_concurrent_calls_from_many_threads_get_their_own_results(clr: Any) -> None:
    from System import Math, String

    errors: list[str] = []

    def work(k: int) -> None:
        for i in range(300):
            if Math.Max(i, k) != max(i, k) or String.Concat(str(k), str(i)) != f"{k}{i}":
                errors.append(f"thread {k} call {i}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_call_wider_than_a_pooled_frame_gets_its_own(clr: Any) -> None:
    from pyclrbridge.host import bridge as _bridge

    frame = _bridge.acquire_frame(_bridge.FRAME_SLOTS + 10)
    assert len(frame.slots) == _bridge.FRAME_SLOTS + 10
    _bridge.release_frame(frame)  # not pooled: the pool keeps only standard frames
    assert all(len(f.slots) == _bridge.FRAME_SLOTS for f in _bridge.pooled_frames())


def test_const_fields_read_their_value(clr: Any) -> None:
    from System import Int32, Math

    assert math.pi == Math.PI
    assert math.pi == Math.PI  # the second read comes from the kept value
    assert Int32.MaxValue == 2**31 - 1


def test_a_static_readonly_field_is_read_each_time(clr: Any) -> None:
    from System import String

    assert String.Empty == ""
    assert String.Empty == ""
