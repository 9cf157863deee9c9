"""Ports: the interfaces (typing.Protocol) use-cases depend on. One module per port.

Every adapter is built as `Provider(config)` (model adapters also take `credentials=`), reads
endpoints from LoomConfig, secrets from a CredentialSource at the point of use, and imports its
backend lazily. Adapter classes declare, for `loom providers` / `loom doctor`:

    requires_modules: tuple[str, ...]   # importable modules the adapter needs
    requires_env: tuple[str, ...]       # secret env vars it needs (presence only is reported)
    @classmethod readiness(cls, config, credentials) -> list[Check]   # optional, richer checks
"""
