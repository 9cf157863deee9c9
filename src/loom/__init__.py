"""Loom: an agentic data-science engine (CLI `loom` and embeddable library).

The embeddable API is `loom.api` (imported on first use: `import loom` stays light).
"""

from __future__ import annotations

import logging
from typing import Any

__version__ = "0.1.0"

# A library never prints: without this, Python's last-resort handler writes loom's WARNINGs to
# stderr when the host application configured no logging. The CLI configures its own handlers.
logging.getLogger("loom").addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    if name == "api":  # `import loom; loom.api.Loom(...)` without importing it eagerly
        import importlib

        return importlib.import_module("loom.api")
    raise AttributeError(f"module 'loom' has no attribute {name!r}")
