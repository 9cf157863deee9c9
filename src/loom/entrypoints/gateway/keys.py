"""The gateway's allowlist: which LOOM_API_KEYs may call, and whose calls they are.

Keys come only from the credential source (the environment by default), never from LoomConfig:

- ``LOOM_API_KEY``: one key;
- ``LOOM_API_KEYS``: a comma-separated list of keys;
- ``LOOM_API_KEYS_FILE``: a path to a file with one key per line::

      # key                 tenant     owner
      lk-3f9a...            acme       alice
      lk-77c1...            acme       bob
      lk-a0b2...                                  # tenant/owner default as below

  Fields are whitespace-separated; ``#`` starts a comment (so no field contains ``#`` or
  spaces); blank lines are skipped.

Keys from the environment variables, and file lines without a tenant/owner, get the server's
``tenant`` and ``owned_by`` settings. The tenant and owner of a call always come from the key's
entry, never from what the caller sends. Matching is constant time: the presented key's
sha256 is compared (hmac.compare_digest) with every entry, with no early exit.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path

from loom.application.credentials import CredentialSource
from loom.domain.errors import ConfigError

KEY_ENV = "LOOM_API_KEY"
KEYS_ENV = "LOOM_API_KEYS"
KEYS_FILE_ENV = "LOOM_API_KEYS_FILE"


def key_id(key: str | bytes) -> str:
    """A short, stable, non-reversible id for a key (what the log records, never the key)."""
    raw = key.encode("utf-8") if isinstance(key, str) else key
    return hashlib.sha256(raw).hexdigest()[:12]


@dataclass(frozen=True)
class KeyEntry:
    """One allowed key: its digest (the key itself is not kept), id, tenant and owner."""

    digest: bytes = field(repr=False)
    key_id: str
    tenant: str
    owner: str
    source: str  # where it came from: LOOM_API_KEY, LOOM_API_KEYS or FILE:LINE


class KeyRing:
    """The allowlist. `match(presented)` -> the KeyEntry, or None; constant time in the keys."""

    def __init__(self, entries: list[KeyEntry]) -> None:
        seen: dict[bytes, KeyEntry] = {}
        for entry in entries:
            seen.setdefault(entry.digest, entry)  # first definition of a key wins
        self.entries: tuple[KeyEntry, ...] = tuple(seen.values())

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"KeyRing({len(self.entries)} keys)"

    def match(self, presented: bytes | None) -> KeyEntry | None:
        if not presented or not self.entries:
            return None
        digest = hashlib.sha256(presented).digest()
        found: KeyEntry | None = None
        for entry in self.entries:  # no early exit: every entry is compared
            if hmac.compare_digest(digest, entry.digest) and found is None:
                found = entry
        return found

    @classmethod
    def from_keys(cls, keys: list[str], *, tenant: str = "local", owner: str = "unknown") -> "KeyRing":
        """Handy for embedding and tests: plain keys, one tenant/owner."""
        return cls([_entry(k, tenant, owner, "keys") for k in keys])


def _entry(key: str, tenant: str, owner: str, source: str) -> KeyEntry:
    raw = key.encode("utf-8")
    return KeyEntry(hashlib.sha256(raw).digest(), key_id(raw), tenant, owner, source)


def load_keyring(credentials: CredentialSource, *, tenant: str, owner: str) -> KeyRing:
    """Build the allowlist from LOOM_API_KEY, LOOM_API_KEYS and LOOM_API_KEYS_FILE."""
    entries: list[KeyEntry] = []
    single = (credentials.get(KEY_ENV) or "").strip()
    if single:
        entries.append(_entry(single, tenant, owner, KEY_ENV))
    for part in (credentials.get(KEYS_ENV) or "").split(","):
        if part.strip():
            entries.append(_entry(part.strip(), tenant, owner, KEYS_ENV))
    path = (credentials.get(KEYS_FILE_ENV) or "").strip()
    if path:
        entries.extend(read_keys_file(Path(path).expanduser(), tenant=tenant, owner=owner))
    return KeyRing(entries)


def read_keys_file(path: Path, *, tenant: str, owner: str) -> list[KeyEntry]:
    """Parse a keys file (`key [tenant [owner]]` per line). Errors name the line, never the key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read {KEYS_FILE_ENV}={path}: {exc.strerror or type(exc).__name__}"
        ) from None
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) > 3:
            raise ConfigError(
                f"{path}:{number}: expected `key [tenant [owner]]`, got {len(fields)} fields "
                "(keys, tenants and owners cannot contain spaces)"
            )
        key = fields[0]
        line_tenant = fields[1] if len(fields) > 1 else tenant
        line_owner = fields[2] if len(fields) > 2 else owner
        entries.append(_entry(key, line_tenant, line_owner, f"{path.name}:{number}"))
    return entries
