"""Tab completion for the REPL that offers only attributes that work, without running .NET code.

The standard completer (``rlcompleter``) lists ``dir(obj)`` and the names of the object's class
and bases, then reads every candidate to decide whether to add a ``(``. On a .NET object or
class that runs each property getter: a getter that throws (``MemoryStream.ReadTimeout``,
``Console.KeyAvailable`` without a console) ends the completion with no candidates at all, and
a getter with side effects runs on every Tab. For .NET objects and classes this one offers
``dir()``'s names (the public members, extension methods in scope, Python's dunders), reads
none of the properties or fields, and marks methods with ``(``.
"""

from __future__ import annotations

import re
import rlcompleter
from typing import Any

import __main__

from ..proxies.base import ClrObject
from ..proxies.meta import ClassMember, ClrMeta

_ATTRIBUTE = re.compile(r"(\w+(?:\.\w+)*)\.(\w*)$")


class Completer(rlcompleter.Completer):
    """``rlcompleter.Completer`` that completes .NET objects and classes from ``dir()`` only."""

    def __init__(self, namespace: dict[str, Any] | None = None) -> None:
        super().__init__(namespace)
        self._names = namespace  # None: the __main__ module's, as rlcompleter does

    def attr_matches(self, text: str) -> list[str]:
        m = _ATTRIBUTE.match(text)
        if not m:
            return list(super().attr_matches(text))
        expr, attr = m.group(1), m.group(2)
        try:  # rlcompleter evaluates the same expression
            obj: Any = eval(expr, self._names if self._names is not None else vars(__main__))
        except Exception:
            return []
        if not isinstance(obj, (ClrObject, ClrMeta)):
            return list(super().attr_matches(text))
        words = set(dir(obj))
        if isinstance(obj, type):  # and the dunders a class has from its metaclass (__name__, __mro__)
            words |= {n for n in dir(type(obj)) if n[:2] == "__" == n[-2:] and hasattr(obj, n)}
        # rlcompleter's rule: no "_" names unless typed, no "__" names unless "_" is typed
        # (and when nothing else matches, the next level is offered)
        for hidden in ("_", "__", None) if attr == "" else ("__", None) if attr == "_" else (None,):
            found = [w for w in words if w.startswith(attr) and not (hidden and w.startswith(hidden))]
            if found:
                break
        return sorted(f"{expr}.{w}{_suffix(obj, w)}" for w in found)


def _suffix(obj: Any, word: str) -> str:
    """``(`` for a method, nothing for a property, field or event (which is never read)."""
    klass = obj if isinstance(obj, type) else type(obj)
    for k in klass.__mro__:
        member = k.__dict__.get(word)
        if member is not None:
            if isinstance(member, ClassMember):
                return ""  # a property, field or event: reading it would run .NET code
            break
    try:
        value = getattr(obj, word)
    except Exception:  # an attribute that fails to read is still offered, as rlcompleter does
        return ""
    return "(" if callable(value) else ""
