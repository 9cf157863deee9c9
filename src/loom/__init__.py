"""Loom: an agentic data-science engine (CLI `loom` and embeddable library).

The embeddable API is `loom.api` (imported on first use: `import loom` stays light).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "api":  # `import loom; loom.api.Loom(...)` without importing it eagerly
        import importlib

        return importlib.import_module("loom.api")
    raise AttributeError(f"module 'loom' has no attribute {name!r}")
