"""Find .NET, load ``libhostfxr`` with ctypes and start the runtime.

The sequence is short and linear on purpose: every hostfxr return code is checked, and a
failure becomes a :class:`HostError` that carries the hex code and whatever hostfxr wrote
through its error writer.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import HostError

__all__ = ["HostError", "StartedHost", "find_dotnet_root", "find_hostfxr", "start"]

IS_WINDOWS = sys.platform == "win32"
#: ``char_t`` is UTF-16 on Windows and UTF-8 everywhere else.
char_p = ctypes.c_wchar_p if IS_WINDOWS else ctypes.c_char_p
_FUNCTYPE = ctypes.WINFUNCTYPE if IS_WINDOWS else ctypes.CFUNCTYPE  # type: ignore[attr-defined]

_LIB_NAME = {"win32": "hostfxr.dll", "darwin": "libhostfxr.dylib"}.get(sys.platform, "libhostfxr.so")
_EXTRA_ROOTS = (
    *([str(Path(os.environ.get("PROGRAMFILES", r"C:\Program Files")) / "dotnet")] if IS_WINDOWS else []),
    "/usr/local/share/dotnet",  # the macOS installer
    "/usr/share/dotnet",
    "/usr/lib/dotnet",
    "/opt/dotnet",  # Linux packages
    str(Path.home() / ".dotnet"),  # dotnet-install scripts
)

# hostfxr_delegate_type.hdt_load_assembly_and_get_function_pointer
_LOAD_ASSEMBLY_AND_GET_FUNCTION_POINTER = 5
#: Passed as the delegate type name: the target is an [UnmanagedCallersOnly] method.
UNMANAGEDCALLERSONLY_METHOD = ctypes.c_void_p(-1)

_ERROR_WRITER = _FUNCTYPE(None, char_p)
LoadFunction = _FUNCTYPE(
    ctypes.c_int32,
    char_p,
    char_p,
    char_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_void_p),
)


def encode(text: str | os.PathLike[str]) -> str | bytes:
    """A Python string as hostfxr's ``char_t*``."""
    s = os.fspath(text)
    return s if IS_WINDOWS else s.encode("utf-8")


def _decode(raw: str | bytes | None) -> str:
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else raw.decode("utf-8", "replace")


def hex_code(rc: int) -> str:
    return f"0x{rc & 0xFFFFFFFF:08x}"


def find_dotnet_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The .NET install root: ``explicit``, then ``DOTNET_ROOT``, then ``dotnet`` on ``PATH``,
    then the folders the installers use."""
    tried: list[str] = []
    if explicit is not None:
        root = Path(explicit)
        if (root / "host" / "fxr").is_dir():
            return root
        raise HostError(
            f"dotnet_root={os.fspath(explicit)!r} is not a .NET install: {root / 'host' / 'fxr'} does not exist"
        )
    env = os.environ.get("DOTNET_ROOT")
    if env:
        if (Path(env) / "host" / "fxr").is_dir():
            return Path(env)
        tried.append(f"DOTNET_ROOT={env}")
    on_path = shutil.which("dotnet")
    if on_path:
        # /usr/bin/dotnet is usually a link into the install root: follow it.
        found = Path(on_path).resolve().parent
        if (found / "host" / "fxr").is_dir():
            return found
        tried.append(f"dotnet on PATH: {found}")
    for extra in _EXTRA_ROOTS:
        if (Path(extra) / "host" / "fxr").is_dir():
            return Path(extra)
        tried.append(extra)
    raise HostError(
        "no .NET installation found; looked in: "
        + "; ".join(tried)
        + ". Install the .NET runtime 8 or newer, or pass dotnet_root= / set DOTNET_ROOT."
    )


def _version_key(name: str) -> tuple[tuple[int, str], ...]:
    parts = name.replace("-", ".").split(".")
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in parts)


def find_hostfxr(dotnet_root: Path) -> Path:
    """The newest ``host/fxr/<version>/libhostfxr`` under ``dotnet_root``."""
    fxr = dotnet_root / "host" / "fxr"
    versions = (
        sorted((d for d in fxr.iterdir() if (d / _LIB_NAME).is_file()), key=lambda d: _version_key(d.name))
        if fxr.is_dir()
        else []
    )
    if not versions:
        raise HostError(f"no {_LIB_NAME} under {fxr}")
    return versions[-1] / _LIB_NAME


#: What a runtimeconfig for the shim says when pyclrbridge has to write one.
_CONFIG_TEXT = json.dumps(
    {
        "runtimeOptions": {
            "tfm": "net8.0",
            "rollForward": "LatestMajor",
            "framework": {"name": "Microsoft.NETCore.App", "version": "8.0.0"},
        }
    },
    indent=2,
)


def dev_config_of(config: Path) -> Path:
    """The ``*.runtimeconfig.dev.json`` hostfxr also reads beside ``config``."""
    return config.with_name(config.name.removesuffix(".json") + ".dev.json")


def default_runtime_config(shipped: Path | None = None, cache: Path | None = None) -> Path:
    """The runtimeconfig the package ships beside the shim; when it is missing, or a
    ``.dev.json`` sits beside it (hostfxr would merge that in), one written to a private
    per-user cache folder."""
    if shipped is None:
        shipped = Path(__file__).resolve().parent.parent / "_bin" / "PyClrBridge.Shim.runtimeconfig.json"
    if shipped.is_file() and not dev_config_of(shipped).exists():
        return shipped
    return private_runtime_config(cache if cache is not None else _cache_folder())


def _cache_folder() -> Path:
    if IS_WINDOWS:
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "pyclrbridge"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pyclrbridge"


def check_private_folder(
    folder: Path,
    what: str = "runtime config folder",
    setting: str = "PYCLRBRIDGE_RUNTIME_CONFIG",
    error: type[Exception] = HostError,
) -> None:
    """Refuse a folder another user could write to: a symlink, not ours, or group/world-writable.
    Never repairs one: whatever is in it may have been written by someone else first. ``what``
    names the folder in the message, ``setting`` is where to choose another one, and ``error``
    is the exception raised (the caller's layer's error)."""
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise error(f"refusing {what} {folder}: it is not a plain directory")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise error(
            f"refusing {what} {folder}: owned by uid {st.st_uid}, not by you "
            f"(uid {os.getuid()}); remove it or set {setting}"
        )
    if not IS_WINDOWS and st.st_mode & 0o022:
        raise error(
            f"refusing {what} {folder}: others can write to it "
            f"(mode {stat.S_IMODE(st.st_mode):o}), so anything in it may be theirs; remove it or set {setting}"
        )


def private_runtime_config(folder: Path) -> Path:
    """``folder/pyclrbridge.runtimeconfig.json``, in a folder only this user can write."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    check_private_folder(folder)
    path = folder / "pyclrbridge.runtimeconfig.json"
    dev = dev_config_of(path)
    if dev.exists():
        raise HostError(f"refusing runtime config {path}: {dev} beside it would change the runtime's settings")
    if not path.is_file() or path.read_text(encoding="utf-8") != _CONFIG_TEXT:
        # An unpredictable name (O_EXCL) then an atomic rename: nothing can redirect the write,
        # and concurrent processes never read a half-written file.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".runtimeconfig-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(_CONFIG_TEXT)
        os.replace(tmp, path)
    return path


def check_runtime_config(path: Path) -> None:
    """Fail early, naming the file, when a runtimeconfig is missing or not JSON."""
    if not path.is_file():
        raise HostError(f"runtime config {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HostError(f"runtime config {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("runtimeOptions"), dict):
        raise HostError(f'runtime config {path} has no "runtimeOptions" object')


@dataclass(frozen=True)
class StartedHost:
    """What starting (or attaching to) the runtime produced."""

    dotnet_root: Path
    hostfxr_path: Path
    runtime_config: Path
    load_function: Any  # load_assembly_and_get_function_pointer (a ctypes function)
    init_code: int  # 0 first context, 1 or 2: a runtime was already running
    library: ctypes.CDLL


class _HostFxr:
    """The hostfxr exports we use, with prototypes declared once."""

    def __init__(self, path: Path) -> None:
        try:
            self.lib = ctypes.CDLL(os.fspath(path))
        except OSError as exc:
            raise HostError(f"could not load {path}: {exc}") from None
        lib = self.lib
        handle_p = ctypes.POINTER(ctypes.c_void_p)
        self.initialize = lib.hostfxr_initialize_for_runtime_config
        self.initialize.argtypes = [char_p, ctypes.c_void_p, handle_p]
        self.initialize.restype = ctypes.c_int32
        self.get_delegate = lib.hostfxr_get_runtime_delegate
        self.get_delegate.argtypes = [ctypes.c_void_p, ctypes.c_int32, handle_p]
        self.get_delegate.restype = ctypes.c_int32
        self.set_property = lib.hostfxr_set_runtime_property_value
        self.set_property.argtypes = [ctypes.c_void_p, char_p, char_p]
        self.set_property.restype = ctypes.c_int32
        self.close = lib.hostfxr_close
        self.close.argtypes = [ctypes.c_void_p]
        self.close.restype = ctypes.c_int32
        self.set_error_writer = lib.hostfxr_set_error_writer
        self.set_error_writer.argtypes = [ctypes.c_void_p]
        self.set_error_writer.restype = ctypes.c_void_p


class _InitParameters(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("host_path", char_p), ("dotnet_root", char_p)]


@contextmanager
def _captured_errors(fxr: _HostFxr) -> Iterator[list[str]]:
    """Collect what hostfxr writes on this thread while the block runs."""
    messages: list[str] = []

    def write(message: str | bytes | None) -> None:
        messages.append(_decode(message))

    writer = _ERROR_WRITER(write)  # kept alive by this frame until the writer is reset
    fxr.set_error_writer(ctypes.cast(writer, ctypes.c_void_p))
    try:
        yield messages
    finally:
        fxr.set_error_writer(None)


def start(
    runtime_config: Path | None,
    dotnet_root: Path,
    properties: Mapping[str, str] | None,
) -> StartedHost:
    """Initialize hostfxr for a runtimeconfig and get ``load_assembly_and_get_function_pointer``."""
    hostfxr_path = find_hostfxr(dotnet_root)
    config = runtime_config if runtime_config is not None else default_runtime_config()
    check_runtime_config(config)
    fxr = _HostFxr(hostfxr_path)
    params = _InitParameters(ctypes.sizeof(_InitParameters), None, encode(dotnet_root))
    handle = ctypes.c_void_p()
    with _captured_errors(fxr) as messages:
        rc = fxr.initialize(encode(config), ctypes.byref(params), ctypes.byref(handle))
        if rc < 0:
            detail = " ".join(m.strip() for m in messages if m.strip())
            raise HostError(
                f"hostfxr_initialize_for_runtime_config({config}) failed with {hex_code(rc)}"
                + (f": {detail}" if detail else "")
            )
        try:
            if rc == 0:
                for name, value in (properties or {}).items():
                    prc = fxr.set_property(handle, encode(name), encode(value))
                    if prc < 0:
                        raise HostError(f"could not set runtime property {name!r}: {hex_code(prc)}")
            elif properties:
                raise HostError(
                    "the .NET runtime is already running in this process, so properties= "
                    f"{dict(properties)!r} cannot be applied"
                )
            fn = ctypes.c_void_p()
            drc = fxr.get_delegate(handle, _LOAD_ASSEMBLY_AND_GET_FUNCTION_POINTER, ctypes.byref(fn))
            if drc < 0 or not fn.value:
                detail = " ".join(m.strip() for m in messages if m.strip())
                raise HostError(
                    f"hostfxr_get_runtime_delegate failed with {hex_code(drc)}" + (f": {detail}" if detail else "")
                )
        finally:
            fxr.close(handle)
    return StartedHost(
        dotnet_root=dotnet_root,
        hostfxr_path=hostfxr_path,
        runtime_config=config,
        load_function=LoadFunction(fn.value),
        init_code=rc,
        library=fxr.lib,
    )
