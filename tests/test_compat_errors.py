"""pythonnet's error types under ``pyclrbridge.compat``: refused operations on .NET members
(assigning a constant, a read-only field or property, an enum value or an event; deleting a
member; a member's descriptor used on something that is not a .NET object) raise
``TypeError`` in pythonnet. Under compat they raise a ``MemberError``, which is both that
``TypeError`` and pyclrbridge's own ``AttributeError``; natively they stay ``AttributeError``.

Each case runs in a fresh interpreter: importing compat switches process-wide behaviour."""

from __future__ import annotations

from pathlib import Path

from conftest import assert_clean_exit, run_python, run_started

REFUSALS = """
import os
{imports}
clr.AddReference(os.environ["FIXTURES_DLL"])
from Fixtures.Members import Widget
from System import DayOfWeek

w = Widget(1)
attempts = {{
    "assign a constant on an object": lambda: setattr(w, "MaxSize", 1),
    "assign a constant on the class": lambda: setattr(Widget, "MaxSize", 1),
    "delete a constant": lambda: delattr(w, "MaxSize"),
    "assign a static read-only field": lambda: setattr(Widget, "Kind", "x"),
    "assign a static read-only field on an object": lambda: setattr(w, "Kind", "x"),
    "assign a read-only property": lambda: setattr(w, "Name", "x"),
    "delete a property": lambda: delattr(w, "Size"),
    "delete a field on the class": lambda: delattr(Widget, "Shared"),
    "assign an instance member on the class": lambda: setattr(Widget, "Size", 1),
    "a property's descriptor on a non-.NET object": lambda: Widget.__dict__["Size"].__get__(0, 0),
    "a field's descriptor set on a non-.NET object": lambda: Widget.__dict__["Tag"].__set__(0, 0),
    "assign an event": lambda: setattr(w, "Changed", 0),
    "an event's descriptor on a non-.NET object": lambda: Widget.__dict__["Changed"].__get__(0, 0),
    "assign an enum value": lambda: setattr(DayOfWeek, "Sunday", 13),
    "delete an enum value": lambda: delattr(DayOfWeek, "Sunday"),
}}
for what, attempt in attempts.items():
    try:
        attempt()
        print(what, "ACCEPTED")
    except AttributeError as error:
        print(what, isinstance(error, TypeError))
w.Size = 5  # what is allowed stays allowed
print(w.Size, Widget.MaxSize, Widget.Kind)
"""


def test_refused_member_operations_are_type_errors_under_compat(fixtures_dll: Path) -> None:
    lines = run_started(REFUSALS, "compat", fixtures_dll)
    assert [line for line in lines[:-1] if not line.endswith(" True")] == []
    assert len(lines) == 16 and lines[-1] == "5 100 widget"


def test_refused_member_operations_stay_attribute_errors_natively(fixtures_dll: Path) -> None:
    lines = run_started(REFUSALS, "native", fixtures_dll)
    assert [line for line in lines[:-1] if not line.endswith(" False")] == []
    assert len(lines) == 16 and lines[-1] == "5 100 widget"


def test_a_python_subclass_keeps_its_own_attributes_under_compat(fixtures_dll: Path) -> None:
    # compat's __setattr__ on .NET objects only changes the error type: a Python subclass's
    # own attributes, and .NET members that can be set, work as before.
    proc = run_python(
        """
        import os
        from pyclrbridge import compat as clr
        clr.AddReference(os.environ["FIXTURES_DLL"])
        from Fixtures.Members import Widget

        class Mine(Widget):
            def __init__(self):
                super().__init__(2)
                self.note = "mine"

        m = Mine()
        m.Size = 7
        m.extra = 1
        del m.extra
        try:
            m.MaxSize = 3
        except TypeError as error:
            print("refused", type(error).__name__)
        print(m.note, m.Size, hasattr(m, "extra"))
        """,
        fixtures_dll=fixtures_dll,
    )
    assert_clean_exit(proc)
    assert proc.stdout.splitlines() == ["refused MemberError", "mine 7 False"]
