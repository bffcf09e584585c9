"""pyclrbridge: call .NET from Python, with or without the GIL.

>>> from pyclrbridge import load
>>> clr = load()
>>> from System import Math
>>> Math.Abs(-5)
5
"""

from __future__ import annotations

from ._async import Cancellation, cancellation
from ._buffers import buffer
from ._codecs import register_codec
from ._errors import ClrError, HostError
from ._proxy import release
from ._runtime import AssemblyInfo, Runtime, load

__version__ = "0.1.0"

__all__ = ["AssemblyInfo", "Cancellation", "ClrError", "HostError", "Runtime", "__version__", "buffer",
           "cancellation", "load", "register_codec", "release"]
