"""MLOps muscles: metaflow (default), local (no Metaflow)."""
