"""The values layer: Python values to and from .NET values.

``convert`` writes Python objects into argument values (one rule table), ``results`` turns result
values back into Python objects, ``objects`` holds the references that cross the boundary (Python
objects .NET holds, GCHandles proxies own), ``codecs`` the user's encoders and decoders,
``buffers`` and ``bulk`` the block copies. Proxies are a layer above: they register how a .NET
object becomes one (``convert.install_proxy_rules``) when that layer loads.
"""
