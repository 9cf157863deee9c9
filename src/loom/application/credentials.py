"""Where secrets come from. Never LoomConfig fields, never flags, never logged.

By default secrets are read from the process environment at the point of use. A service that
embeds Loom can hand the container a mapping or a callable instead, so it never has to mutate
os.environ.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

#: The secrets Loom knows by name (env var names). Used for redaction and refusal hints.
KNOWN_SECRET_ENV: tuple[str, ...] = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "NVIDIA_API_KEY",
    "OPENROUTER_API_KEY",
    "LOOM_API_KEY",
    "LOOM_API_KEYS",
)

_SECRET_NAME = re.compile(r"(^|_)(API_KEYS?|KEY|TOKEN|SECRET|PASSWORD|ACCESS_KEY)$", re.IGNORECASE)


def looks_secret(name: str) -> bool:
    """True for an env var name that holds a secret (`*_API_KEY`, `*_TOKEN`, `*_SECRET`, ...)."""
    return name.upper() in KNOWN_SECRET_ENV or bool(_SECRET_NAME.search(name))


@runtime_checkable
class CredentialSource(Protocol):
    """Looks up one secret by its env-var name; None when absent."""

    def get(self, name: str) -> str | None: ...


class EnvCredentials:
    """Reads os.environ at the moment of the call (the CLI's behaviour)."""

    def get(self, name: str) -> str | None:
        value = os.environ.get(name)
        return value or None

    def __repr__(self) -> str:
        return "EnvCredentials()"


class MappingCredentials:
    """Secrets from a mapping the embedding service owns (copied; values never printed)."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def get(self, name: str) -> str | None:
        return self._values.get(name) or None

    def __repr__(self) -> str:
        return f"MappingCredentials(names={sorted(self._values)})"


class CallableCredentials:
    """Secrets from a callable `name -> value | None` (a vault client, say)."""

    def __init__(self, fn: Callable[[str], str | None]) -> None:
        self._fn = fn

    def get(self, name: str) -> str | None:
        return self._fn(name) or None

    def __repr__(self) -> str:
        return "CallableCredentials()"


def as_credential_source(
    source: CredentialSource | Mapping[str, str] | Callable[[str], str | None] | None,
) -> CredentialSource:
    """Coerce None / a mapping / a callable / a source into a CredentialSource."""
    if source is None:
        return EnvCredentials()
    if isinstance(source, Mapping):  # before the Protocol check: a dict has .get too
        return MappingCredentials(source)
    if isinstance(source, CredentialSource):
        return source
    if callable(source):
        return CallableCredentials(source)
    raise TypeError(f"not a credential source: {type(source).__name__}")
