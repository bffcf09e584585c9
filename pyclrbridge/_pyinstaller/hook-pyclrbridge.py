"""PyInstaller hook for pyclrbridge: the C# shim is data, not Python, so it is listed here.

The shim DLL and its json files (deps, runtimeconfig) go into ``pyclrbridge/_bin`` inside
the bundle, where ``pyclrbridge`` looks for them at run time. The .NET runtime itself is not
bundled: the frozen app finds it like any other (``DOTNET_ROOT`` or a standard install).
"""

from __future__ import annotations

from pathlib import Path

_BIN = Path(__file__).resolve().parent.parent / "_bin"
_SHIPPED = ("*.dll", "*.json")

#: (source file, folder in the bundle) pairs, in PyInstaller's ``datas`` format.
datas: list[tuple[str, str]] = sorted(
    (str(path), "pyclrbridge/_bin") for pattern in _SHIPPED for path in _BIN.glob(pattern)
)
