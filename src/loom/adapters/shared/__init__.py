"""Adapter code shared across adapter families (e.g. the Metaflow runtime: mlops + builders)."""
