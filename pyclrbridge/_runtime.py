"""``load()`` and the `Runtime` it returns: one .NET runtime per process."""

from __future__ import annotations

import atexit
import ctypes
import gc
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _importer
from . import packages as _packages
from .callbacks import derived as _derived
from .callbacks import dispatch as _dispatch
from .callbacks import tasks as _tasks
from .callbacks import threadstates as _threadstates
from .callbacks import threadtop as _threadtop
from .callbacks import typed as _typed_callbacks
from .host import bridge as _bridge
from .host import hostfxr as _hostfxr
from .host.locks import SignalSafeLock
from .host.shim import ABI_VERSION, Shim, Value, default_shim_path, read_string, utf16
from .proxies import catalog as _catalog
from .proxies import direct as _direct
from .proxies import events as _events
from .proxies import extensions as _extensions
from .proxies import finalizers as _proxy_finalizers
from .proxies import views as _views
from .values import bulk as _bulk
from .values import objects as _objects

#: How long interpreter exit waits for .NET threads that are inside Python callbacks.
SHUTDOWN_WAIT_MS = 5000


#: Most rounds :meth:`Runtime.collect` runs (it stops at the first that frees nothing).
_COLLECT_ROUNDS = 8


@dataclass(frozen=True)
class AssemblyInfo:
    """An assembly loaded by [`Runtime.add_reference`][pyclrbridge.Runtime.add_reference].

    Examples:
        >>> info = clr.add_reference("System.Xml")
        >>> info.name
        'System.Xml'
    """

    name: str
    """The simple name (``System.Xml``)."""
    full_name: str
    """The full name with version, culture and public key token."""
    location: str
    """The file the assembly was loaded from (empty for in-memory assemblies)."""
    types: tuple[str, ...]
    """Full names of its public types."""

    def __repr__(self) -> str:
        return f"<.NET assembly {self.full_name} ({len(self.types)} public types)>"


@dataclass(frozen=True)
class _LoadArgs:
    runtime_config: Path | None
    dotnet_root: Path | None
    properties: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return (
            f"runtime_config={str(self.runtime_config) if self.runtime_config else None!r}, "
            f"dotnet_root={str(self.dotnet_root) if self.dotnet_root else None!r}, "
            f"properties={dict(self.properties)!r}"
        )


class Runtime:
    """The .NET runtime in this process. Get it from [`load()`][pyclrbridge.load]; there is one per
    process and it cannot restart.

    Examples:
        >>> clr = pyclrbridge.load()
        >>> clr.version            # doctest: +SKIP
        '10.0.12'
    """

    def __init__(
        self, host: _hostfxr.StartedHost, shim: Shim, versions: dict[str, Any], args: _LoadArgs, started_seconds: float
    ) -> None:
        self._host = host
        self._shim = shim
        self._args = args
        self.version: str = versions["runtime"]
        """The running .NET version (``Environment.Version``), e.g. ``"10.0.12"``."""
        self.framework: str = versions["framework"]
        """The framework description, e.g. ``".NET 10.0.12"``."""
        self.dotnet_root: Path = host.dotnet_root
        """The .NET installation in use."""
        self.hostfxr_path: Path = host.hostfxr_path
        """The ``hostfxr`` library that started the runtime."""
        self.runtime_config: Path = host.runtime_config
        """The ``runtimeconfig.json`` the runtime was started with."""
        self.shim_path: Path = shim.path
        """The pyclrbridge shim DLL loaded into the runtime."""
        self.attached: bool = host.init_code != 0
        """True when another host (pythonnet, say) had started .NET first and pyclrbridge joined it."""
        self.start_seconds: float = started_seconds
        """How long ``load()`` took to start .NET and the shim, in seconds."""

    def __repr__(self) -> str:
        return f"<pyclrbridge.Runtime .NET {self.version} at {self.dotnet_root}>"

    def get_type(self, name: str) -> Any:
        """The Python class for a .NET type, by name.

        Args:
            name: A full name (``"System.Collections.Generic.List`1"``) or an
                assembly-qualified name, of a type in a loaded assembly.

        Returns:
            The proxy class, the same object ``from System... import ...`` gives.

        Raises:
            TypeError: ``name`` is not a non-empty string.
            LookupError: No loaded assembly defines a type of that name.

        Examples:
            >>> clr.get_type("System.Int32").Parse("42")
            42
        """
        return _catalog.class_by_name(name)

    def add_reference(self, name_or_path: str | os.PathLike[str]) -> AssemblyInfo:
        """Load an assembly by file path or by name; its namespaces become importable.

        A path is that file; a name resolves through the runtime only: the framework's
        assemblies, then the folders (and ``.deps.json``) of assemblies loaded by path; never a
        ``Name.dll`` in the working directory or on ``sys.path``, and a file found by name must
        be the assembly of that name.

        Args:
            name_or_path: A path (a ``PathLike``, or text ending in ``.dll``/``.exe`` or
                containing a separator; relative to the working directory), or an assembly
                name such as ``"System.Xml"``.

        Returns:
            What was loaded: its names, location and public types.

        Raises:
            FileNotFoundError: No such file, or no assembly of that name; the message says
                where it looked.
            OSError: A file found by name is another assembly (``FileLoadException``).

        Examples:
            >>> clr.add_reference("System.Xml").name
            'System.Xml'
            >>> from System.Xml import XmlDocument
        """
        text = os.fspath(name_or_path)
        looks_like_path = (
            isinstance(name_or_path, os.PathLike)
            or text.lower().endswith((".dll", ".exe"))
            or os.sep in text
            or "/" in text
        )
        if looks_like_path:
            path = Path(text)
            if path.is_file():
                return self._load(str(path.resolve()), by_path=True)
            raise FileNotFoundError(f"assembly {text!r} not found; tried: {path.absolute()}")
        try:
            return self._load(text, by_path=False)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"assembly {text!r} not found; tried: {text} by name (the framework's assemblies and "
                "the folders of assemblies loaded by path). To load a file, pass its path "
                f"(for example './{text}.dll')"
            ) from None

    def extensions(self, *namespaces: str) -> tuple[str, ...]:
        """Put the extension methods of ``namespaces`` in scope, as C#'s ``using`` does (importing
        a namespace does it too): ``clr.extensions("System.Linq")`` makes ``xs.Where(f)`` work.
        Returns every namespace in scope."""
        for ns in namespaces:
            if not isinstance(ns, str) or not ns:
                raise TypeError(f"a namespace must be a non-empty str, not {ns!r}")
            if ns not in _importer.index().namespaces:
                _importer.try_load(ns)
            if ns not in _importer.index().namespaces:
                raise LookupError(
                    f".NET namespace {ns!r} is not in any loaded assembly "
                    "(add_reference() or add_package() the one that defines it)"
                )
            _extensions.use(ns)
        return _extensions.scopes()

    def add_package(
        self,
        packages: _packages.PackageSpec | Iterable[_packages.PackageSpec],
        version: str | None = None,
        *,
        progress: _packages.Progress | bool = True,
        nuget_config: str | os.PathLike[str] | None = None,
        offline: bool = False,
    ) -> _packages.PackageSet:
        """Restore NuGet packages (and their dependencies) and reference their assemblies.

        ``add_package("NodaTime")``, ``add_package("Newtonsoft.Json", "13.0.3")`` or a list:
        ``add_package(["Dapper", ("Microsoft.Data.Sqlite", "9.0.0")])``. The .NET SDK restores
        them for this runtime's target framework into a per-user cache (keyed by the package set
        and the framework), reading one NuGet configuration file: ``nuget_config=``, else
        ``PYCLRBRIDGE_NUGET_CONFIG``, else your user-wide ``NuGet.Config`` (never a
        ``nuget.config`` above the current folder); ``offline=True`` restores only from NuGet's global
        packages folder. A set restored before is a cache hit that runs no ``dotnet``.
        ``progress`` is True (lines on stderr), False, or a callable taking each line.
        Raises [`PackageError`][pyclrbridge.PackageError] naming the package, version and sources when
        the restore fails or no SDK is installed.
        """
        specs = _packages.normalize(packages, version)
        return _packages.add_packages(
            specs,
            self.version,
            self.dotnet_root,
            self.add_reference,
            progress=progress,
            nuget_config=nuget_config,
            offline=offline,
        )

    def _load(self, text: str, *, by_path: bool) -> AssemblyInfo:
        data, n = utf16(text)
        result = _bridge.json_call(_bridge.shim().LoadAssembly, data, n, 1 if by_path else 0)
        _extensions.sync()  # its extension method names, as attributes of every proxy
        return AssemblyInfo(result["name"], result["fullName"], result["location"], tuple(result["types"]))

    def stats(self) -> dict[str, Any]:
        """Counters of what crosses the boundary, for leak hunting and tests.

        Returns:
            A dict of counts: ``live_handles`` (.NET objects Python holds), ``python_objects_held`` (Python objects
        .NET holds; ``python_registry`` is the Python side of the same count),
        ``cached_classes`` (proxy classes), ``delegate_factories`` (delegate types compiled),
        ``derived_types`` (.NET types emitted for Python classes), ``derived_objects``
        (instances of those the registry holds), ``event_subscriptions`` (delegates kept for
        ``-=``), ``callbacks`` / ``callbacks_in_flight`` / ``callbacks_parked`` (.NET threads waiting for
        the process to end after exit refused their callback), ``releasing_parked`` (Python threads
        parked at exit inside a native call that had released the GIL), ``thread_states_kept`` /
        ``thread_states_created`` / ``thread_states_released`` (Python thread states of .NET threads),
        ``held_handlers_first`` (the bridge's handlers run first on first-chance exceptions and
        assembly loads, see threads.md) / ``held_escapes`` (calls that kept the GIL and released
        it because the bridge's own work around them threw or loaded an assembly),
        and compiled-stub and type-catalog sizes.

        Examples:
            >>> clr.stats()["live_handles"] >= 0
            True
        """
        _objects.drain()
        counts = _bridge.stats()
        counts["cached_classes"] = _catalog.cached_class_count()
        counts["python_registry"] = _objects.live_count()
        counts["derived_objects"] = _derived.live_count()
        counts.update(_derived.stats())
        counts["event_subscriptions"] = _events.subscription_count()
        counts.update(_tasks.stats())
        counts.update(_views.stats())
        return counts

    def collect(self) -> None:
        """Run a full Python and .NET garbage collection, then release what .NET let go.

        Rounds until one finds nothing to free on the Python side and nothing .NET let go (at
        least two, at most eight): objects one side lets go may hold the last references to
        objects of the other side, and a chain that crosses several times (a callback's
        exception .NET held, whose frames hold a delegate whose callable .NET holds) lets go
        one crossing per round; free-threaded builds free some objects (functions) only in a
        collection.

        Examples:
            >>> clr.collect()
        """
        forgotten = _derived.forgotten_count()
        for round_ in range(_COLLECT_ROUNDS):
            found = gc.collect()
            _derived.sweep()  # derived objects only .NET may hold: let the .NET GC decide
            _bridge.shim().Collect()
            released = _objects.drain()
            if round_ and not found and not released:
                break
        _threadstates.sweep()  # Python thread states of .NET threads that ended
        if _derived.forgotten_count() != forgotten:
            _bridge.shim().Collect()  # the assemblies of the classes just forgotten unload now
        gc.collect()

    def shutdown(self) -> None:
        """Stop crossing the boundary, as interpreter exit does; the runtime itself stays.

        Afterwards no call goes from Python to .NET and no new callback from .NET to Python;
        callbacks already running get a bounded time to finish.
        """
        _shutdown()


# Owner: _load_lock makes load() one step: start once, publish _runtime last.
_load_lock = SignalSafeLock("pyclrbridge._runtime._load_lock")
_runtime: Runtime | None = None


#: Environment variable naming a runtimeconfig.json when ``load()`` gets none.
RUNTIME_CONFIG_ENV = "PYCLRBRIDGE_RUNTIME_CONFIG"


def _normalize(runtime_config: Any, dotnet_root: Any, properties: Mapping[str, str] | None) -> _LoadArgs:
    if runtime_config is None:
        runtime_config = os.environ.get(RUNTIME_CONFIG_ENV) or None
    return _LoadArgs(
        Path(runtime_config).resolve() if runtime_config is not None else None,
        Path(dotnet_root).resolve() if dotnet_root is not None else None,
        tuple(sorted((properties or {}).items())),
    )


def _compatible(have: _LoadArgs, want: _LoadArgs, runtime: Runtime) -> bool:
    if want.runtime_config is not None and want.runtime_config != (have.runtime_config or runtime.runtime_config):
        return False
    if want.dotnet_root is not None and want.dotnet_root != runtime.dotnet_root.resolve():
        return False
    return not (want.properties and want.properties != have.properties)


def load(
    runtime_config: str | os.PathLike[str] | None = None,
    *,
    dotnet_root: str | os.PathLike[str] | None = None,
    properties: Mapping[str, str] | None = None,
    thread_exceptions: str | None = None,
    packages: Iterable[_packages.PackageSpec] | None = None,
) -> Runtime:
    """Start .NET in this process (once) and return the [`Runtime`][pyclrbridge.Runtime].

    Idempotent and thread-safe: every call with compatible arguments returns the same object.
    After it, .NET namespaces import like Python modules (``from System import Math``).

    Args:
        runtime_config: A ``runtimeconfig.json`` to start .NET with (framework version,
            roll-forward policy, runtime properties). Default: ``$PYCLRBRIDGE_RUNTIME_CONFIG``,
            else .NET 8 or the newest installed major version.
        dotnet_root: The .NET installation to use. Default: ``$DOTNET_ROOT``, else ``dotnet``
            on ``PATH``, else the installers' default folders.
        properties: Runtime properties (``AppContext`` switches and values) to start with.
        thread_exceptions: Where an exception goes that escapes a Python callback .NET runs at
            the top of a thread (a ``Thread`` start, a thread-pool work item, a ``Timer``):
            ``"excepthook"`` (the default) reports it through ``threading.excepthook`` and
            the process goes on; ``"fail-fast"`` lets .NET end the process, as it does for
            its own code.
        packages: NuGet packages to restore and reference, as for
            [`Runtime.add_package`][pyclrbridge.Runtime.add_package]: ``["NodaTime", ("Dapper", "2.1.66")]``.

    Returns:
        The process's runtime; the same object on every call.

    Raises:
        HostError: No .NET installation was found, or hostfxr could not start it (the
            message carries hostfxr's error code and text).
        RuntimeError: .NET is already running with different arguments; it cannot restart.
            Or this is a subinterpreter: pyclrbridge runs only in the main interpreter.

    Examples:
        >>> import pyclrbridge
        >>> clr = pyclrbridge.load()
        >>> from System import Math
        >>> Math.Abs(-5)
        5
    """
    global _runtime
    if _bridge.FORKED:
        raise RuntimeError(_bridge.FORK_MESSAGE)
    want = _normalize(runtime_config, dotnet_root, properties)
    current = _runtime
    if current is None:
        _ = _load_lock.taken
        try:
            current = _runtime
            if current is None:
                current = _start(want)
                _runtime = current
        finally:
            _load_lock.release()
    if thread_exceptions is not None:
        _threadtop.configure(thread_exceptions)
    if not _compatible(current._args, want, current):
        raise RuntimeError(
            "pyclrbridge.load() was already called with different arguments; .NET cannot restart "
            f"in one process.\n  running: {current._args.describe()}\n  asked:   {want.describe()}"
        )
    if packages is not None:
        current.add_package(list(packages))
    return current


def _start(args: _LoadArgs) -> Runtime:
    if _bridge.in_subinterpreter():  # before anything starts (each interpreter has its own _runtime)
        raise RuntimeError(_bridge.SUBINTERPRETER_MESSAGE)
    began = time.perf_counter()
    root = _hostfxr.find_dotnet_root(args.dotnet_root)
    host = _hostfxr.start(args.runtime_config, root, dict(args.properties))
    shim = Shim(host, default_shim_path())
    result = Value()
    error = Value()
    if shim.Initialize(_dispatch.DISPATCH_ADDRESS, ctypes.byref(result), ctypes.byref(error)) != 0:
        raise _hostfxr.HostError(f"the shim at {shim.path} failed to initialize")
    _threadstates.install(shim)
    if not shim.held_setup():
        raise _hostfxr.HostError(f"the shim at {shim.path} refused the Python C-API functions for held calls")
    if _typed_callbacks.ENABLED and shim.RegisterTypedThunks(_typed_callbacks.MAKER_ADDRESS) != 0:
        raise _hostfxr.HostError(f"the shim at {shim.path} refused the typed callback maker")
    versions = json.loads(read_string(result))
    if versions["abi"] != ABI_VERSION:
        raise _hostfxr.HostError(
            f"the shim at {shim.path} speaks ABI {versions['abi']}, "
            f"this package expects {ABI_VERSION}: reinstall pyclrbridge"
        )
    _bridge.FORK_FLAG = int(versions.get("forkFlag", 0))
    _bridge.SHIM = shim  # publish: the shim is fully bound
    _proxy_finalizers.install_finalizer(shim)
    _bulk.install_finalizer(shim)
    _direct.install_unclaimed_cell(shim)
    _objects.install_protocol(shim)
    _importer.install()
    _threadtop.configure("excepthook")
    atexit.register(_shutdown, exiting=True)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_bridge.after_fork_in_child)
    return Runtime(host, shim, versions, args, time.perf_counter() - began)


def _shutdown(*, exiting: bool = False) -> None:
    """Stop both directions: no Python -> .NET calls, no new .NET -> Python callbacks, and wait
    (bounded, with the GIL released inside the shim) for callbacks already in flight.
    ``exiting``: the interpreter is exiting (atexit): a .NET thread that then enters a callback
    needing a value waits until the process ends instead of raising (``Callbacks.Refuse``)."""
    if _bridge.SHUTTING_DOWN.is_set() and not exiting:
        return
    # After an explicit Runtime.shutdown() the exit still tells the shim, once more (atexit calls
    # this once): a thread still inside a .NET call that released the GIL then parks instead of
    # taking the GIL back after finalization began (see Releasing.cs); both closings are idempotent.
    _bridge.SHUTTING_DOWN.set()
    shim = _bridge.SHIM
    if shim is not None:
        try:
            shim.Shutdown(SHUTDOWN_WAIT_MS, 1 if exiting else 0)
            pass  # a Ctrl-C during the wait is raised at this point, still inside the try
        except KeyboardInterrupt:
            pass  # the user wants out: stop waiting for callbacks in flight, exit quietly


def current() -> Runtime | None:
    return _runtime
