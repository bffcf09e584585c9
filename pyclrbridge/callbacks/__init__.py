"""The callbacks layer: Python code that .NET calls.

``dispatch`` is the one entry point .NET calls Python callables through, ``typed`` the generated
thunks for common delegate shapes, ``derived`` Python classes deriving from .NET types, and
``tasks`` awaiting .NET tasks and cancellation.

Importing this package registers Python subclasses of .NET types into the proxy layer and their
sweep into every drain of the object registry.
"""

from __future__ import annotations

from ..proxies import meta as _meta
from ..values import objects as _objects
from . import derived as _derived
from . import entry as _entry
from . import tasks as _tasks  # noqa: F401  (registers the Task and IAsyncEnumerable protocols)

_meta.install_derived(_derived.prepare, _derived.adopt)
_objects.add_drain_hook(_derived.sweep)
_objects.add_drain_hook(_derived.forget_dead_classes)
_entry.install()
