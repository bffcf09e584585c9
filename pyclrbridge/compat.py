"""pythonnet's Python-side surface (the ``clr`` module) on the pyclrbridge engine.

Code written for pythonnet usually starts with:

```python
import clr
clr.AddReference("MyLib")
from MyLib import Widget
```

With pythonnet **not** installed, `install()` makes ``import clr`` give this module,
so such code runs unchanged. Without ``install()``, use it directly:
``from pyclrbridge import compat as clr``.

Provided: `AddReference()`, `GetClrType()`, `FindAssembly()`,
`ListAssemblies()`, ``__version__``; namespace imports (``import System``,
``from System.Collections.Generic import List``) and ``method.Overloads[...]`` /
``method.__overloads__[...]`` work as in pythonnet because the engine provides them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from . import __version__ as _pyclrbridge_version
from . import load
from .values.targets import type_id_for

__version__ = _pyclrbridge_version

__all__ = ["AddReference", "FindAssembly", "GetClrType", "ListAssemblies", "install"]


def _runtime() -> Any:
    return load()


def _loaded_assemblies() -> list[Any]:
    _runtime()
    from System import AppDomain  # type: ignore[import-not-found]  # a .NET namespace

    return list(AppDomain.CurrentDomain.GetAssemblies())


def AddReference(name: str) -> Any:  # pythonnet's name
    """Load an assembly by name (``"System.Xml"``) or path and return its
    ``System.Reflection.Assembly``; its namespaces become importable.

    Raises `FileNotFoundError` (pythonnet raises ``System.IO.FileNotFoundException``)
    listing the places it looked.
    """
    found = _runtime().add_reference(name)
    for assembly in _loaded_assemblies():
        if assembly.FullName == found.full_name:
            return assembly
    raise FileNotFoundError(f"assembly {name!r} was loaded but is not in the AppDomain")  # pragma: no cover


def GetClrType(python_type: Any) -> Any:  # pythonnet's name
    """The ``System.Type`` of a .NET class (``GetClrType(List[int])``), or of a Python
    type that stands for one (``int`` is ``System.Int32``, ``str`` is ``System.String``)."""
    _runtime()
    from System.Reflection import IntrospectionExtensions  # type: ignore[import-not-found]

    try:
        type_id_for(python_type)
    except (TypeError, LookupError) as exc:
        raise TypeError(f"GetClrType() needs a .NET class or a Python type that maps to one, "
                        f"not {python_type!r}") from exc
    return IntrospectionExtensions.GetTypeInfo(python_type)


def FindAssembly(name: str) -> str | None:  # pythonnet's name
    """The path of ``name`` (``"MyLib"``, ``"MyLib.dll"``) on ``sys.path``, or None."""
    candidates = [name] if name.lower().endswith((".dll", ".exe")) else [name + ".dll", name + ".exe", name]
    for folder in ["", *sys.path]:
        for candidate in candidates:
            path = Path(folder or os.curdir) / candidate
            if path.is_file():
                return str(path)
    return None


def ListAssemblies(verbose: bool = False) -> list[str]:  # pythonnet's name
    """Names of the assemblies loaded in the runtime (full names when ``verbose``)."""
    assemblies = _loaded_assemblies()
    return [str(a.FullName) if verbose else str(a.GetName().Name) for a in assemblies]


def _pythonnet_importable() -> bool:
    """Whether a real ``clr`` (pythonnet) would be imported by ``import clr``."""
    existing = sys.modules.get("clr")
    if existing is not None:
        return existing is not sys.modules[__name__]
    try:
        return importlib.util.find_spec("clr") is not None
    except (ImportError, ValueError):
        return False


def install(*, override: bool = False) -> bool:
    """Make ``import clr`` give this module, and start .NET. Returns whether it did.

    When pythonnet is installed (a real ``clr`` module is importable or already imported),
    ``install()`` leaves ``import clr`` to pythonnet and returns False: two engines behind
    one name would only confuse. ``override=True`` installs this module anyway when pythonnet
    is installed but not yet imported (for this process only; pythonnet is not touched). A
    ``clr`` already imported is never replaced. Calling it again is harmless.
    """
    me = sys.modules[__name__]
    existing = sys.modules.get("clr")
    if existing is me:
        return True
    if existing is not None or (_pythonnet_importable() and not override):
        return False
    _runtime()
    sys.modules["clr"] = me
    return True
