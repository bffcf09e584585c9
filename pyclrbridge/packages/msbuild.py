"""MSBuild escaping: every value pyclrbridge gives MSBuild, on the command line or in the project.

MSBuild reads ``-p:Name=value`` as an escaped string: ``;`` and ``,`` separate properties,
``$(...)``, ``@(...)`` and ``%(...)`` are expanded, quotes group. Each character that means
something to it (and every control character, a newline included) is written as ``%XX``, which
MSBuild turns back into that character when a task reads the value. So a path holding
``x;CustomBeforeMicrosoftCommonTargets=/tmp/evil.targets`` stays one path.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

#: Characters MSBuild gives a meaning to in a property value or an item's metadata.
_SPECIAL = frozenset("%;,$@'\"*?=<>&|`")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def escape(value: str) -> str:
    """``value`` with every MSBuild-special and control character as ``%XX``."""
    return "".join(f"%{ord(c):02X}" if c in _SPECIAL or ord(c) < 0x20 or ord(c) == 0x7F else c for c in value)


def property_switch(name: str, value: str) -> str:
    """``-p:Name=value`` for dotnet's command line, the value escaped; ``name`` must be a plain name."""
    if not _NAME.match(name):
        raise ValueError(f"not an MSBuild property name: {name!r}")
    return f"-p:{name}={escape(value)}"


def attribute(value: str) -> str:
    """An XML attribute value (quotes included) that MSBuild reads back as ``value``."""
    return quoteattr(escape(value))
