"""Loom: an agentic data-science engine (CLI `loom` and embeddable library)."""

__version__ = "0.1.0"
