"""The exception a .NET member raises when an attribute operation on it is refused.

Assigning a read-only field or property, a constant, an enum value or a method group,
deleting a .NET member, assigning a static member's descriptor through an instance's class
with the wrong kind, or using a member's descriptor on something that is not a .NET object:
natively an ``AttributeError``, as for a Python attribute. pythonnet raises ``TypeError``
for each, and code written for it catches that: under `pyclrbridge.compat` the error is a
`MemberError`, which is both.
"""

from __future__ import annotations

from typing import Any


class MemberError(AttributeError, TypeError):
    """A refused attribute operation on a .NET member, under `pyclrbridge.compat`: both the
    ``AttributeError`` pyclrbridge raises and the ``TypeError`` pythonnet raises."""


# pythonnet's error type for refused member operations, switched on by pyclrbridge.compat.
# One class, replaced whole; read on each refusal.
_kind: list[type[AttributeError]] = [AttributeError]


def pythonnet_member_errors(enabled: bool) -> bool:
    """Raise `MemberError` (also a ``TypeError``, as pythonnet) for refused member operations
    (``True``), or ``AttributeError`` (``False``, the default). Returns the previous setting."""
    previous = _kind[0] is MemberError
    _kind[0] = MemberError if enabled else AttributeError
    return previous


def member_error(message: str, **details: Any) -> AttributeError:
    """The exception for a refused member operation (``details``: ``name``, ``obj``)."""
    return _kind[0](message, **details)
