"""Loom's domain: pure value types and rules (stdlib only, no I/O)."""
