"""Loom's application layer: use-cases, ports (typing.Protocol) and the LoomConfig schema.

Imports no backend or framework (metaflow, aide, nemo_automodel, anthropic, openai, httpx,
cyclopts, dependency_injector, structlog); logs through stdlib logging.
"""
