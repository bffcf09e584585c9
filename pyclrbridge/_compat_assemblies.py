"""pythonnet's assembly functions under `pyclrbridge.compat`: `AddReference`, `GetClrType`,
`FindAssembly`, `ListAssemblies` and the preload flag (`getPreload` / `setPreload`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from . import _compat_engine as _engine
from . import load
from .proxies.catalog import class_by_name
from .values.targets import type_id_for


def loaded_assemblies() -> list[Any]:
    """The ``System.Reflection.Assembly`` objects loaded in the runtime."""
    app_domain = class_by_name("System.AppDomain")
    return list(app_domain.CurrentDomain.GetAssemblies())


def AddReference(name: str) -> Any:  # pythonnet's name
    """Load an assembly by name (``"System.Xml"``) or path and return its
    ``System.Reflection.Assembly``; its namespaces become importable.

    A missing assembly raises ``System.IO.FileNotFoundException`` (also a Python
    `FileNotFoundError`) listing the places it looked. pythonnet's engine assembly
    (``Python.Runtime``) is refused with ``System.NotSupportedException``: its code only
    works inside pythonnet.
    """
    if _engine.is_engine(name):
        raise _engine.engine_refusal(str(name))
    try:
        found = load().add_reference(name)
    except FileNotFoundError as missing:
        exception = class_by_name("System.IO.FileNotFoundException")
        error = exception(str(missing), str(name))
        error.args = (str(missing),)  # str(error) is the message, as for a .NET exception raised by a call
        raise error from None
    for assembly in loaded_assemblies():
        if assembly.FullName == found.full_name:
            return assembly
    raise FileNotFoundError(f"assembly {name!r} was loaded but is not in the AppDomain")  # pragma: no cover


def GetClrType(python_type: Any) -> Any:  # pythonnet's name
    """The ``System.Type`` of a .NET class (``GetClrType(List[int])``), or of a Python
    type that stands for one (``int`` is ``System.Int32``, ``str`` is ``System.String``)."""
    try:
        type_id_for(python_type)
    except (TypeError, LookupError) as exc:
        raise TypeError(
            f"GetClrType() needs a .NET class or a Python type that maps to one, not {python_type!r}"
        ) from exc
    return class_by_name("System.Reflection.IntrospectionExtensions").GetTypeInfo(python_type)


def FindAssembly(name: str) -> str | None:  # pythonnet's name
    """The path of the assembly ``name`` (``"MyLib"``, ``"MyLib.dll"``), or None.

    Looked for, in order: an assembly of that name already loaded, the framework's assemblies,
    then ``name.dll`` / ``name.exe`` in the folders on ``sys.path``. Never in the working
    directory (``""``, ``"."`` or any entry that is the working directory): a file planted
    there must not answer a name. A file found on ``sys.path`` must be the assembly of that
    name. Pass the result to `AddReference` to load it.
    """
    if not isinstance(name, str) or not name or os.sep in name or "/" in name:
        raise TypeError(f"FindAssembly() needs an assembly name such as 'MyLib', not {name!r}")
    wanted = name[:-4] if name.lower().endswith((".dll", ".exe")) else name
    key = wanted.lower()  # assembly names compare without case
    for assembly in loaded_assemblies():
        location = str(assembly.Location or "")
        if location and str(assembly.GetName().Name).lower() == key:
            return location
    trusted = class_by_name("System.AppContext").GetData("TRUSTED_PLATFORM_ASSEMBLIES")
    for entry in str(trusted or "").split(os.pathsep):
        if entry and Path(entry).stem.lower() == key:
            return entry
    here = Path.cwd().resolve()
    for folder in sys.path:
        if not folder or not os.path.isabs(folder) or Path(folder).resolve() == here:
            continue  # the working directory, however it is spelled
        for suffix in (".dll", ".exe"):
            candidate = Path(folder) / (wanted + suffix)
            if candidate.is_file() and _assembly_name_of(candidate) == key:
                return str(candidate)
    return None


def _assembly_name_of(path: Path) -> str | None:
    """The assembly name in the file's metadata, lower-cased (None: not an assembly); the
    file is read, not loaded."""
    try:
        return str(class_by_name("System.Reflection.AssemblyName").GetAssemblyName(str(path)).Name).lower()
    except (OSError, ValueError, class_by_name("System.BadImageFormatException")):
        return None


def ListAssemblies(verbose: bool = False) -> list[str]:  # pythonnet's name
    """Names of the assemblies loaded in the runtime (full names when ``verbose``)."""
    assemblies = loaded_assemblies()
    return [str(a.FullName) if verbose else str(a.GetName().Name) for a in assemblies]


# pythonnet's preload switch. pyclrbridge finds the namespaces of every loaded and referenced
# assembly on import either way, so the flag is only remembered (one bool, replaced whole).
_preload = [False]


def getPreload() -> bool:  # pythonnet's name
    """The preload flag `setPreload` last set (False at start)."""
    return _preload[0]


def setPreload(preload: bool) -> None:  # pythonnet's name
    """Accepted for pythonnet code; namespaces are found on import whether it is set or not."""
    _preload[0] = bool(preload)
