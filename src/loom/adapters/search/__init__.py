"""Search brains: aide (default), baseline (keyless)."""
