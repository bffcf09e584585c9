"""pyclrbridge: call .NET from Python, with or without the GIL.

Examples:
    >>> from pyclrbridge import load
    >>> clr = load()
    >>> from System import Math
    >>> Math.Abs(-5)
    5
"""

from __future__ import annotations

from . import _importer
from ._runtime import AssemblyInfo, Runtime, load
from .callbacks.tasks import Cancellation, cancellation
from .host.errors import ClrError, HostError
from .packages import PackageError, PackageSet
from .proxies.release import release
from .proxies.views import buffer
from .values.codecs import register_codec

__version__ = "0.2.0.dev0"  # between releases: the next version, .dev0 (see CHANGELOG.md)

_importer.install_hint()  # `import System` before load() says to call load()

__all__ = [
    "AssemblyInfo",
    "Cancellation",
    "ClrError",
    "HostError",
    "PackageError",
    "PackageSet",
    "Runtime",
    "__version__",
    "buffer",
    "cancellation",
    "load",
    "register_codec",
    "release",
]
