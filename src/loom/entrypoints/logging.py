"""structlog setup for the entrypoints only (library code logs through stdlib logging).

Console rendering on a TTY, JSON lines otherwise, always on stderr. A processor redacts every
value of a secret-looking environment variable (and any extra secrets the caller names) from
every event, whether it came from structlog or from stdlib `logging`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from loom.application.credentials import looks_secret
from loom.domain.urls import hide_password

REDACTED = "***"
_MIN_SECRET_LEN = 6  # shorter values would redact ordinary words


def secret_values(extra: Iterable[str] = ()) -> list[str]:
    """The secret values to scrub: every secret-looking env var's value, plus `extra`."""
    values = {v for k, v in os.environ.items() if v and looks_secret(k)}
    for k in ("LOOM_API_KEYS",):  # comma lists: each key on its own too
        values.update(part.strip() for part in os.environ.get(k, "").split(",") if part.strip())
    values.update(v for v in extra if v)
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-ready copy of `payload` with every secret value from the environment replaced."""
    import json

    text = json.dumps(payload, default=str)
    secrets = secret_values()
    if secrets:
        text = redact_text(text, secrets)
    result: dict[str, Any] = json.loads(text)
    return result


class RedactSecrets:
    """structlog processor: replaces secret values anywhere in the event dict."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._extra = tuple(extra)

    def _scrub(self, value: Any, secrets: list[str]) -> Any:
        if isinstance(value, str):
            return hide_password(redact_text(value, secrets))  # `http://u:PW@host` -> `u:***@`
        if isinstance(value, dict):
            return {k: self._scrub(v, secrets) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._scrub(v, secrets) for v in value)
        return value

    def __call__(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        secrets = secret_values(self._extra)  # read at each event: keys may be set late
        return {k: self._scrub(v, secrets) for k, v in event_dict.items()}


def configure_logging(debug: bool = False, *, json: bool | None = None, stream: Any = None) -> None:
    """Route structlog and stdlib logging through one redacting renderer on stderr."""
    import structlog

    stream = stream or sys.stderr
    use_json = (not stream.isatty()) if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.stdlib.ExtraAdder(),
        RedactSecrets(),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, RedactSecrets(), renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.set_name("loom")
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "loom"] + [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
