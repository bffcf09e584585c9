"""Values as C# sees them (issue 29): C#'s foreach pattern makes a type iterable; conversion
operators give int(), float(), operator.index(), bool() and bytes(); wrongly typed enum values
and violated generic constraints are TypeErrors; MethodInfo.Invoke wraps as in C#
(Fixtures.ValueProtocols and the BCL)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


# ---- 29.7: the foreach pattern ----------------------------------------------------------------


def test_a_public_get_enumerator_without_ienumerable_iterates_and_disposes() -> None:
    from Fixtures.ValueProtocols import Countdown

    before = Countdown.Disposed
    assert isinstance(Countdown(3), Iterable)
    assert list(Countdown(3)) == [3, 2, 1]
    assert Countdown.Disposed == before + 1  # as foreach: the IDisposable enumerator is disposed
    it = iter(Countdown(5))
    assert next(it) == 5
    del it  # abandoned part-way: disposed too
    assert Countdown.Disposed == before + 2
    assert 2 in Countdown(3) and 7 not in Countdown(3)


def test_a_struct_enumerator_advances_in_one_box() -> None:
    from Fixtures.ValueProtocols import Letters

    assert list(Letters("abc")) == ["a", "b", "c"]
    assert list(Letters("")) == []


def test_string_builder_chunks_iterate_through_the_pattern() -> None:
    from System.Text import StringBuilder

    sb = StringBuilder(16)
    for part in ("alpha-" * 10, "beta-" * 2000, "gamma"):  # more than one chunk
        sb.Append(part)
    chunks = [c.ToString() for c in sb.GetChunks()]  # ChunkEnumerator: the pattern, not IEnumerable
    assert len(chunks) > 1 and "".join(chunks) == sb.ToString()


def test_an_exception_from_move_next_is_raised_as_itself() -> None:
    from Fixtures.ValueProtocols import Faulty
    from System import InvalidOperationException

    got = []
    with pytest.raises(InvalidOperationException, match="broken at 3"):
        for x in Faulty():
            got.append(x)
    assert got == [1, 2]


def test_get_enumerator_with_parameters_is_not_the_pattern() -> None:
    from Fixtures.ValueProtocols import NotAPattern

    assert not isinstance(NotAPattern(), Iterable)
    with pytest.raises(TypeError, match="not iterable"):
        iter(NotAPattern())
