"""pythonnet's formats under ``pyclrbridge.compat``: ``repr()`` of .NET objects is Python's
default (``<Namespace.Name object at 0x...>``) unless the type has a ``__repr__`` of its own;
enum values are ``<DayOfWeek.Monday: 1>``; docstrings are .NET's own signatures
(``Void .ctor(Int32)``, ``System.Type GetType()``), and a delegate type has none. Natively
pyclrbridge keeps its own formats.

Each case runs in a fresh interpreter: importing compat switches process-wide behaviour."""

from __future__ import annotations

from pathlib import Path

from conftest import assert_clean_exit, run_python, run_started

FORMATS = """
import os
{imports}
clr.AddReference(os.environ["FIXTURES_DLL"])
import System
from System.Collections.Generic import List
from Fixtures.Members import Widget

print(repr(Widget(1)).split(" at 0x")[0])
print(repr(System.Uri("http://example.org/")).split(" at 0x")[0])
print(repr(System.DayOfWeek.Monday))
print(repr(System.Exception("boom")))
print(repr(Widget.__doc__))
print(repr(Widget(1).Grow.__doc__))
print(repr(Widget.Grow.__doc__))
print(repr(System.Object.GetType.__doc__))
print(repr(System.Action.__doc__))
print(repr(System.IDisposable.__doc__))
print(repr(System.AttributeTargets.Class | System.AttributeTargets.Method))
class Mine(Widget):
    '''my own'''
print(repr(Mine.__doc__))
"""


def test_reprs_and_docstrings_follow_pythonnet_under_compat(fixtures_dll: Path) -> None:
    lines = run_started(FORMATS, "compat", fixtures_dll)
    assert lines == [
        "<Fixtures.Members.Widget object",
        "<System.Uri object",
        "<DayOfWeek.Monday: 1>",
        "Exception('boom')",
        "'Void .ctor()\\nVoid .ctor(Int32)\\nVoid .ctor(Int32, System.String)'",
        "'Void Grow()\\nVoid Grow(Int32)'",
        "'Void Grow()\\nVoid Grow(Int32)'",
        "'System.Type GetType()'",
        "None",
        "'Python wrapper for .NET type System.IDisposable'",
        "<AttributeTargets.Class, Method: 0x00000044>",
        "'my own'",
    ]


def test_reprs_and_docstrings_stay_pyclrbridge_s_natively(fixtures_dll: Path) -> None:
    lines = run_started(FORMATS, "native", fixtures_dll)
    assert lines[2] == "<System.DayOfWeek.Monday: 1>"
    assert lines[3] == "<System.Exception: boom>"
    assert lines[1] == "<System.Uri: http://example.org/>"
    assert lines[4].startswith("'.NET class Fixtures.Members.Widget (assembly ")
    assert lines[7] == "'GetType() -> Type'"
    assert lines[-1] == "'my own'"


def test_compat_rules_switch_off_and_on_again(fixtures_dll: Path) -> None:
    # The test suite shares one process between compat and native tests (conftest switches
    # compat's rules off for native ones): switching off must give every native format back.
    proc = run_python(
        """
        import os
        from pyclrbridge import compat as clr
        clr.AddReference(os.environ["FIXTURES_DLL"])
        import System
        from Fixtures.Members import Widget

        def show():
            w = Widget(1)
            try:
                w.MaxSize = 3
            except AttributeError as error:
                refused = isinstance(error, TypeError)
            print(repr(System.DayOfWeek.Monday), type(System.String).__name__, Widget.__doc__.splitlines()[0],
                  System.Object.GetType.__doc__, refused, type(System.String("x")).__name__)

        show()
        clr._pythonnet_rules(False)
        show()
        clr._pythonnet_rules(True)
        show()
        """,
        fixtures_dll=fixtures_dll,
    )
    assert_clean_exit(proc)
    compat = "<DayOfWeek.Monday: 1> CLRMetatype Void .ctor() System.Type GetType() True String"
    native = (
        "<System.DayOfWeek.Monday: 1> ClrMeta .NET class Fixtures.Members.Widget (assembly PyClrBridge.Fixtures) "
        "GetType() -> Type False str"
    )
    assert proc.stdout.splitlines() == [compat, native, compat]
