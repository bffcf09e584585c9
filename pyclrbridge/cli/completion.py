"""Tab completion for the REPL that offers only attributes that work.

The standard completer (``rlcompleter``) adds every attribute of an object's *class* to what
``dir(obj)`` lists, so on a .NET object it would offer class-only helpers (``overloads``) and
protected members (``MemberwiseClone``) that raise ``AttributeError`` from outside. For .NET
objects this one offers exactly ``dir(obj)``: the public members, extension methods in scope
and Python's dunders.
"""

from __future__ import annotations

import re
import rlcompleter
from typing import Any

import __main__

from ..proxies.base import ClrObject

_ATTRIBUTE = re.compile(r"(\w+(?:\.\w+)*)\.(\w*)$")
_CALL_SUFFIX = re.compile(r"\(\)?$")


class Completer(rlcompleter.Completer):
    """``rlcompleter.Completer`` that completes a .NET instance's attributes from ``dir()`` only."""

    def __init__(self, namespace: dict[str, Any] | None = None) -> None:
        super().__init__(namespace)
        self._names = namespace  # None: the __main__ module's, as rlcompleter does

    def attr_matches(self, text: str) -> list[str]:
        matches: list[str] = super().attr_matches(text)
        m = _ATTRIBUTE.match(text)
        if not m:
            return matches
        expr = m.group(1)
        try:  # rlcompleter evaluated the same expression to find these matches
            obj: Any = eval(expr, self._names if self._names is not None else vars(__main__))
        except Exception:
            return matches
        if not isinstance(obj, ClrObject):
            return matches
        allowed = set(dir(obj))
        prefix = f"{expr}."
        # a match is "expr.word", or "expr.word(" / "expr.word()" for callables
        return [match for match in matches if _CALL_SUFFIX.sub("", match[len(prefix) :]) in allowed]
