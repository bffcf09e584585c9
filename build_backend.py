"""The build backend: hatchling, with wheel metadata that never needs the .NET SDK.

Under pip, hatchling answers ``prepare_metadata_for_build_wheel`` by building the whole
wheel, and building the wheel runs ``hatch_build.py``, which compiles the C# shim with
``dotnet``. So ``pip install .`` on a machine without the SDK would fail while "preparing
metadata", before pip even says what it is building. This module writes the metadata
from ``pyproject.toml`` alone; only the wheel build itself needs the SDK (and says so).
"""

from __future__ import annotations

import os
from typing import Any

from hatchling.build import (
    build_editable,
    build_sdist,
    build_wheel,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
)

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_wheel",
]


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    """Write ``<name>-<version>.dist-info/METADATA`` from the project table; run no build hook."""
    from hatchling.builders.wheel import WheelBuilder

    builder = WheelBuilder(os.getcwd())
    dist_info = f"{builder.artifact_project_id}.dist-info"
    folder = os.path.join(metadata_directory, dist_info)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "METADATA"), "w", encoding="utf-8") as out:
        out.write(builder.config.core_metadata_constructor(builder.metadata))
    return dist_info
