"""The proxy layer: Python classes standing for .NET types, and their members.

Lowest first: ``signatures`` (what a method looks like), ``catalog`` (the one class per type),
``inference`` and ``binder`` (choosing an overload), ``construction`` (calling a class),
``wrapping``, ``enum_values`` and ``missing`` (handles made proxies, enum values, missing
attributes), ``meta`` (the metaclass), ``base`` (the base classes; ``release`` and
``finalizers`` on top), ``direct``/``fastcall`` (compiled call paths), ``properties``,
``events``, ``members``, ``protocols`` with ``arrays`` and ``views``, ``exceptions``, and
``classes``, which builds each class from those parts.

Importing this package registers the layer into the ones below it, once: how a .NET object,
an enum value and an error become Python objects, and how the catalog builds a class.
"""

from __future__ import annotations

from ..host import bridge as _bridge
from ..values import convert as _convert
from ..values import objects as _objects
from . import arrays as _arrays  # noqa: F401  (registers the System.Array protocol)
from . import base as _base
from . import catalog as _catalog
from . import classes as _classes
from . import direct as _direct
from . import enum_values as _enum_values
from . import events as _events
from . import exceptions as _exceptions
from . import extensions as _extensions  # noqa: F401  (registers extension methods on instances)
from . import meta as _meta
from . import shapes as _shapes  # noqa: F401  (registers the tuple and enumerator protocols)
from . import views as _views  # noqa: F401  (registers the buffer protocol of primitive arrays)
from . import wrapping as _wrapping

_convert.install_proxy_rules(
    enum_class=_base.ClrEnum,
    proxy_metaclass=_meta.ClrMeta,
    wrap=_wrapping.wrap,
    wrap_value=_wrapping.wrap_value,
    enum_value=_enum_values.enum_value,
)
_bridge.install_exception_factory(_exceptions.exception_from_error)
_objects.add_drain_hook(_exceptions.clear_finished_frames)
_catalog.install_builder(_classes.create, _classes.populate)
_objects.add_drain_hook(_events.forget_dead_publishers)
_base.install_object_calls(_direct.object_call)
