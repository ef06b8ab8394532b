"""Configuration as a file: ``jobbot config export|import|example``.

``yaml_text`` reads and writes YAML (with line numbers), ``schema`` is the file's
form, ``export`` writes the configuration, ``importer`` applies a file, all or nothing.
``example.yaml`` is a realistic job centre to start from.
"""

from __future__ import annotations

from importlib import resources


def example_text() -> str:
    """The example configuration shipped with the package."""
    return resources.files(__package__).joinpath("example.yaml").read_text(encoding="utf-8")
