"""A URL's password is never shown or saved: `http://user:PW@host` becomes `http://user:***@host`.

One helper for every place Loom shows or writes a URL (config show, manifest.json, doctor lines,
log lines, the gateway's start-up line). It works on any text, so a URL inside a message is
masked too. Stdlib only.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
# scheme://user:password@ -- the password runs to the last `@` before the host part ends
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:]*:)([^\s/?#]*)@")


def hide_password(text: str) -> str:
    """`text` with the password of every `scheme://user:password@host` in it replaced by ***."""
    if "@" not in text or "://" not in text:
        return text
    return _USERINFO.sub(lambda m: m.group(1) + (MASK if m.group(2) else "") + "@", text)


def hide_passwords(value: Any) -> Any:
    """hide_password() over every string in a JSON-like value (dicts, lists, tuples)."""
    if isinstance(value, str):
        return hide_password(value)
    if isinstance(value, dict):
        return {k: hide_passwords(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(hide_passwords(v) for v in value)
    return value
