"""The last line of defence: secret values never leave Loom inside candidate output.

Candidates never receive a secret (the sandbox scrubs their environment), but without isolation
(LOOM_SANDBOX=none) they can read the user's files, and a key found there could be printed. Every
text that came from a candidate (stdout, stderr, exception, submission) passes through here before
Loom writes it anywhere (journal, corpus, tree, card) or sends it (an LLM prompt): each value of a
secret-looking environment variable is replaced by `[REDACTED:<NAME>]`.

Where the values must not travel (a Metaflow step, which must never hold the keys), `digests()`
gives (length, sha256) pairs and `redact_digests()` finds the same strings by hash.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from loom.application.credentials import looks_secret

if TYPE_CHECKING:
    from loom.application.ports.mlops import ExecRequest, ExecResult, Executor

MIN_SECRET_LEN = 8  # shorter values ("1", "true") would redact ordinary text
_TOKEN = re.compile(r"[A-Za-z0-9_\-.+/~]+")  # key-like runs; `=`, `:`, quotes and spaces split them


def secret_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """{value: NAME} of every secret-looking variable in the environment (long enough to matter)."""
    environ = os.environ if environ is None else environ
    found = {}
    for name, value in environ.items():
        if looks_secret(name) and value and len(value) >= MIN_SECRET_LEN:
            found.setdefault(value, name)
    return found


def redact(text: str | None, values: Mapping[str, str]) -> str | None:
    """`text` with each secret value replaced (longest first, so a key inside another stays whole)."""
    if not text or not values:
        return text
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, f"[REDACTED:{values[value]}]")
    return text


#: `Bearer <token>`, `x-api-key: <token>`, `'authorization': 'Basic <token>'`, `api_key=<token>`:
#: a credential however an upstream echoes it (header dump, dict repr, JSON, query string).
_AUTH = re.compile(
    r"""(?ix)
    ( \b(?:x-api-key|api[-_]?key|authorization|proxy-authorization)["']?\s*[:=]\s*["']?
      (?:(?:bearer|basic|token)\s+)?+
    | \b(?:bearer|basic)\s+ )
    (?!\[REDACTED)(?=[^\s"',;}\]\\)]*[0-9_./+=-])  # a key-like token (not prose: "Bearer token")
    ([^\s"',;}\]\\)]+)""")


def scrub(text: str | None, keys: Mapping[str, str] | None = None,
          values: Mapping[str, str] | None = None) -> str | None:
    """Text from outside Loom (an upstream's error body) fit to show, log or save.

    Every secret value Loom knows (`values`, default secret_values() of the environment), every
    literal key in `keys` ({value: NAME}, e.g. the key an adapter sent) and anything that looks
    like a credential header (`Bearer ...`, `x-api-key: ...`) is replaced by `[REDACTED...]`.
    """
    if not text:
        return text
    known = dict(secret_values() if values is None else values)
    for value, name in (keys or {}).items():
        if value and len(value) >= 4:
            known.setdefault(value, name)
    text = redact(text, known) or ""
    return _AUTH.sub(lambda m: m.group(1) + "[REDACTED]", text)


def scrub_bytes(data: bytes, keys: Mapping[str, str] | None = None,
                values: Mapping[str, str] | None = None) -> bytes:
    """scrub() for a raw body (undecodable bytes kept as they are)."""
    if not data:
        return data
    text = data.decode("utf-8", errors="surrogateescape")
    clean = scrub(text, keys, values) or ""
    return data if clean == text else clean.encode("utf-8", errors="surrogateescape")


def digests(values: Mapping[str, str]) -> list[list[object]]:
    """[[length, sha256 hex, NAME], ...]: what a process that must not hold the keys redacts by."""
    return [[len(v), hashlib.sha256(v.encode()).hexdigest(), name] for v, name in values.items()]


def redact_digests(text: str | None, pairs: Iterable[list[object]] | None) -> str | None:
    """Like redact(), knowing only each secret's length and sha256 (windows inside key-like tokens)."""
    pairs = [(int(str(n)), str(h), str(name)) for n, h, name in (pairs or [])]
    if not text or not pairs:
        return text
    hits: dict[str, str] = {}
    for match in _TOKEN.finditer(text):
        token = match.group()
        for length, digest, name in pairs:
            if len(token) < length:
                continue
            if len(token) <= 4 * length:  # a key glued to a few neighbours: every window
                starts = range(0, len(token) - length + 1)
            else:  # a very long run (a progress bar of x's): only where a key would start or end
                starts = range(0, len(token) - length + 1, len(token) - length)
            for start in starts:
                piece = token[start:start + length]
                if piece not in hits and hashlib.sha256(piece.encode()).hexdigest() == digest:
                    hits[piece] = name
    return redact(text, hits)


class RedactingExecutor:
    """An Executor that passes every candidate's output through redact() before anyone reads it.

    Wraps whatever executor the MLOps port gives (local, metaflow, a plugin), so the journal, the
    corpus, tree.html and every prompt built from a result only ever see redacted text.
    """

    def __init__(self, inner: "Executor", values: Mapping[str, str] | None = None) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", "executor")
        self.values = secret_values() if values is None else dict(values)

    def __getattr__(self, item: str) -> object:  # sandbox_warning, workspace, ... of the inner one
        return getattr(self.inner, item)

    def execute(self, request: "ExecRequest") -> "ExecResult":
        from dataclasses import replace

        result = self.inner.execute(request)
        if not self.values:
            return result
        if result.submission is not None and Path(result.submission).is_file():
            text = Path(result.submission).read_text(encoding="utf-8", errors="replace")
            clean = redact(text, self.values)
            if clean != text:
                Path(result.submission).write_text(clean or "", encoding="utf-8")
        return replace(
            result, stdout=redact(result.stdout, self.values) or "", stderr=redact(result.stderr, self.values) or "",
            exc_message=redact(result.exc_message, self.values), exc_trace=redact(result.exc_trace, self.values),
        )
