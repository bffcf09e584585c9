"""The host layer: finding .NET, starting it through hostfxr, and the shim's exports.

``hostfxr`` locates and starts the runtime, ``shim`` declares the C ABI of the managed shim,
``bridge`` holds the loaded shim and the calls every layer above makes through it, and
``typeinfo`` caches what .NET says about each type. Nothing here knows about proxies.
"""
