"""pythonnet's Python-side surface (the ``clr`` module) on the pyclrbridge engine.

Code written for pythonnet usually starts with:

```python
import clr
clr.AddReference("MyLib")
from MyLib import Widget
```

Importing this module starts .NET, as ``import clr`` does; `install` makes ``import clr``
give this module, so such code runs unchanged (``PYCLRBRIDGE_COMPAT=1`` with the hook of
``python -m pyclrbridge.compat --install-hook`` does it for every process). Without
``install()``, use it directly: ``from pyclrbridge import compat as clr``.

Provided: `AddReference`, `GetClrType`, `FindAssembly`,
`ListAssemblies`, `getPreload` / `setPreload`, `clrmethod`,
`clrproperty`, `keep_primitive_objects`, ``__version__`` (the pythonnet release followed;
pyclrbridge's own is ``__pyclrbridge_version__``) and types declared outside any namespace
(``clr.NoNamespaceType``); the module is named ``clr``. Under this module the binder also
takes pythonnet's placeholders for ``out`` parameters (``Int32.TryParse("42", 0)``), casts to
primitive types keep the .NET object, accessor methods (``get_X``, ``set_Item``, ``add_E``)
are offered, protected members are reachable on every object, as in pythonnet, and
pythonnet's engine (``Python.Runtime``) is refused (see `pyclrbridge._compat_engine`).
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from typing import Any

from . import __version__ as _pyclrbridge_version
from . import _compat_calls, _compat_members, _compat_primitives, _importer, load
from . import _compat_engine as _engine
from ._compat_assemblies import AddReference, FindAssembly, GetClrType, ListAssemblies, getPreload, setPreload
from ._compat_declarations import clrmethod, clrproperty
from ._compat_primitives import keep_primitive_objects
from ._compat_pth import HOOK_LINE as _HOOK_LINE  # noqa: F401  # the hook's line, as tests read it
from ._compat_pth import HOOK_NAME as HOOK_NAME
from ._compat_pth import hook_path as hook_path
from ._compat_pth import main as _main
from ._compat_rules import pythonnet_rules as _pythonnet_rules
from .host.typeinfo import id_by_name
from .proxies.catalog import class_for

#: The pythonnet release whose ``clr`` module this one follows: code checks
#: ``clr.__version__ >= "3.0.0"`` before using pythonnet 3 behaviour.
__version__ = "3.2.1"
#: pyclrbridge's own version (also ``pyclrbridge.__version__``).
__pyclrbridge_version__ = _pyclrbridge_version
_MODULE = __name__  # "pyclrbridge.compat"; the module calls itself "clr" (set at the end)

__all__ = [
    "AddReference",
    "FindAssembly",
    "GetClrType",
    "ListAssemblies",
    "clrmethod",
    "clrproperty",
    "getPreload",
    "install",
    "keep_primitive_objects",
    "setPreload",
]


def _pythonnet_origin() -> str | None:
    """Where ``import clr`` would find pythonnet's module (None: it would not)."""
    try:
        spec = importlib.util.find_spec("clr")
    except (ImportError, ValueError):
        return None
    return None if spec is None else str(spec.origin or "pythonnet")


def install(*, override: bool = True, warn: bool = True) -> bool:
    """Make ``import clr`` give this module for the rest of the process. Returns True.

    An installed pythonnet is shadowed for this process (a `RuntimeWarning` names the
    module that ``import clr`` would have loaded); pythonnet itself is not touched. When a
    ``clr`` module is already imported (pythonnet started in this process) nothing can be
    swapped safely: RuntimeError. Calling it again is harmless. ``override`` is accepted for
    code written for earlier releases and changes nothing; ``warn=False`` (the
    ``PYCLRBRIDGE_COMPAT=1`` hook, an opt-in already) skips the warning.
    """
    me = sys.modules[_MODULE]
    existing = sys.modules.get("clr")
    if existing is me:
        return True
    if existing is not None:
        raise RuntimeError(
            f"pyclrbridge.compat.install(): a 'clr' module ({getattr(existing, '__file__', existing)!r}) "
            "is already imported in this process, so pythonnet's runtime is already running; "
            "two bridges cannot share 'import clr'. Call install() before the first 'import clr'."
        )
    origin = _pythonnet_origin()
    if origin is not None and warn:
        warnings.warn(
            f"pyclrbridge.compat.install(): 'import clr' now gives pyclrbridge.compat, shadowing "
            f"pythonnet's clr ({origin}) for this process",
            RuntimeWarning,
            stacklevel=2,
        )
    sys.modules["clr"] = me
    return True


def __getattr__(name: str) -> Any:
    """pythonnet's ``clr.NoNamespaceType``: a type declared outside any namespace in a loaded
    assembly is an attribute of the module."""
    if not name.startswith("_"):
        full_names = _importer.index().types.get("", {}).get(name)
        if full_names:
            return class_for(id_by_name(min(full_names, key=lambda n: ("`" in n, n))))  # the non-generic first
    raise AttributeError(
        f"module 'clr' has no attribute {name!r} (nor does a loaded assembly declare a type {name!r} "
        "outside a namespace)",
        name=name,
    )


# The public names are defined in the _compat_* modules (one job each); they keep this module
# as theirs, as when they were written here (repr(clr.clrmethod), help()).
for _name in __all__:
    globals()[_name].__module__ = _MODULE
del _name

load()  # like pythonnet's `import clr`: .NET is running and namespaces import
_engine.refuse_engine()  # before any library can load pythonnet's engine as a dependency
_compat_primitives.add_number_protocols()
_compat_members.install_accessors()
_compat_calls.constructor_overloads()
_pythonnet_rules(True)

if __name__ == "__main__":
    raise SystemExit(_main())
__name__ = "clr"  # pythonnet's module name (sys.modules keeps both keys' spellings)
