"""Regression tests, one per known race: each hammers one shared structure from many threads.

Every docstring says what goes wrong without the lock or atomic operation that prevents it.
GIL builds run them under ``contention()`` (``sys.setswitchinterval(1e-6)``) to force
interleavings; calls into .NET release the GIL, so .NET-side races need no help.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pyclrbridge import _importer, _types
from pyclrbridge.testing import contention, run_concurrently

pytestmark = pytest.mark.usefixtures("fixtures")

THREADS = 8


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    with contention():
        yield


def _fresh_type_names(n: int) -> list[str]:
    """``n`` BCL type names whose Python classes were never built in this process."""
    import System.Collections.Specialized
    import System.Text.RegularExpressions  # noqa: F401  (load the assemblies: more types)

    from pyclrbridge import _typeinfo

    found: list[str] = []
    for ns, by_short in sorted(_importer.index().types.items()):
        if not ns.startswith("System"):
            continue
        for fulls in by_short.values():
            for full in fulls:
                if "`" in full or "+" in full:
                    continue
                type_id = _typeinfo.id_by_name(full)
                if type_id and type_id not in _types._complete:
                    found.append(full)
                    if len(found) == n:
                        return found
    pytest.skip(f"fewer than {n} never-built types left in this process")


# ---- callback results -------------------------------------------------------------------

def test_callback_string_results_survive_until_dotnet_reads_them() -> None:
    """A string returned by a Python callback is written into the result Value by pointer.

    Without keeping the encoded bytes alive past the callback's return (``keep`` in
    ``_convert._str``, held per OS thread by ``_callbacks``), the bytes are freed when the
    callback returns and .NET reads freed memory: other threads' allocations show up as
    garbage strings.
    """
    from Fixtures.Delegates import Invoker

    def work(index: int) -> list[tuple[str, str]]:
        wrong = []
        for k in range(150):
            text = f"t{index}-{k}-" + "x" * (k % 7)
            got = Invoker.Transform(lambda s: s.upper() + "!", text)
            if got != text.upper() + "!":
                wrong.append((text, got))
        return wrong

    assert run_concurrently(work, threads=THREADS, pass_index=True) == [[]] * THREADS
