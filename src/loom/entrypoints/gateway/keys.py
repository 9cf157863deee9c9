"""The gateway's allowlist: which LOOM_API_KEYs may call, and whose calls they are.

Keys come only from the credential source (the environment by default), never from LoomConfig:

- ``LOOM_API_KEY``: one key;
- ``LOOM_API_KEYS``: a comma-separated list of keys;
- ``LOOM_API_KEYS_FILE``: a path to a file with one key per line::

      # key                 tenant     owner    limits (optional, policy.py)
      lk-3f9a...            acme       alice    rpm=60 max_usd=25 budget_period=month
      lk-77c1...            acme       bob
      lk-a0b2...                                  # tenant/owner default as below

  Fields are whitespace-separated; ``#`` starts a comment (so no field contains ``#`` or
  spaces); blank lines are skipped. Fields with ``=`` after the key are limits; they come after
  tenant and owner (so tenants and owners cannot contain ``=``).

Keys from the environment variables, and file lines without a tenant/owner, get the server's
``tenant`` and ``owned_by`` settings. The tenant and owner of a call always come from the key's
entry, never from what the caller sends. Matching is constant time: the presented key's
sha256 is compared (hmac.compare_digest) with every entry, with no early exit.

`KeyWatcher` re-reads the keys file when it changes (the server polls it and reloads on SIGHUP);
a file that no longer parses keeps the previous keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from loom.application.credentials import CredentialSource
from loom.domain.errors import ConfigError
from loom.entrypoints.gateway.policy import NO_LIMITS, KeyPolicy, parse_policy

KEY_ENV = "LOOM_API_KEY"
KEYS_ENV = "LOOM_API_KEYS"
KEYS_FILE_ENV = "LOOM_API_KEYS_FILE"


def key_id(key: str | bytes) -> str:
    """A short, stable, non-reversible id for a key (what the log records, never the key)."""
    raw = key.encode("utf-8") if isinstance(key, str) else key
    return hashlib.sha256(raw).hexdigest()[:12]


@dataclass(frozen=True)
class KeyEntry:
    """One allowed key: its digest (the key itself is not kept), id, tenant, owner and limits."""

    digest: bytes = field(repr=False)
    key_id: str
    tenant: str
    owner: str
    source: str  # where it came from: LOOM_API_KEY, LOOM_API_KEYS or FILE:LINE
    policy: KeyPolicy = NO_LIMITS


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


def _entry(key: str, tenant: str, owner: str, source: str, policy: KeyPolicy = NO_LIMITS) -> KeyEntry:
    raw = key.encode("utf-8")
    return KeyEntry(hashlib.sha256(raw).digest(), key_id(raw), tenant, owner, source, policy)


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
    """Parse a keys file (`key [tenant [owner]] [name=value ...]` per line). Errors name the line,
    never the key."""
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
        where = f"{path}:{number}"
        names = [f for f in fields[1:] if "=" not in f]
        limits = fields[1 + len(names):]
        if len(names) > 2 or any("=" not in f for f in limits):
            raise ConfigError(
                f"{where}: expected `key [tenant [owner]] [name=value ...]`, got {len(names) + 1} fields "
                "before the limits (keys, tenants and owners cannot contain spaces or `=`)"
            )
        line_tenant = names[0] if names else tenant
        line_owner = names[1] if len(names) > 1 else owner
        policy = parse_policy(limits, where) if limits else NO_LIMITS
        entries.append(_entry(fields[0], line_tenant, line_owner, f"{path.name}:{number}", policy))
    return entries


class KeyWatcher:
    """Re-reads LOOM_API_KEYS_FILE when it changes: `poll()` -> a new KeyRing, or None if unchanged.

    A change is a new (inode, size, mtime) of the file, so both in-place edits and atomic
    replaces (write + rename) are seen. A file that fails to parse raises ConfigError once per
    change; the caller keeps serving with the keys it has.
    """

    def __init__(self, credentials: CredentialSource, *, tenant: str, owner: str) -> None:
        self._credentials = credentials
        self._tenant, self._owner = tenant, owner
        raw = (credentials.get(KEYS_FILE_ENV) or "").strip()
        self.path = Path(raw).expanduser() if raw else None
        self._seen = self._signature()

    def _signature(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def changed(self) -> bool:
        return self.path is not None and self._signature() != self._seen

    def poll(self, *, force: bool = False) -> KeyRing | None:
        if self.path is None or not (force or self.changed()):
            return None
        self._seen = self._signature()  # before reading: a write after this is seen next time
        return load_keyring(self._credentials, tenant=self._tenant, owner=self._owner)
