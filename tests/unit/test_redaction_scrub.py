"""scrub(): text from outside Loom (an upstream's error body) loses every credential it echoes."""

from __future__ import annotations

import json

import pytest

from loom.application.redaction import scrub, scrub_bytes

ENV = {"sk-env-secret-0001": "OPENAI_API_KEY"}


@pytest.mark.parametrize("text", [
    "headers={'authorization': 'Bearer sk-unknown-9999', 'host': 'h'}",  # a Python dict repr
    '{"error": {"message": "x-api-key: abc.def-123 was refused"}}',       # a header line in JSON
    "Authorization: Basic dXNlcjpwYXNzd29yZA==",
    "GET /v1/models?api_key=zz-1234567&x=1",
    "proxy-authorization=Bearer tok_42abc",
])
def test_credential_shapes_are_redacted_even_for_unknown_keys(text: str) -> None:
    out = scrub(text, values={})
    assert out is not None and "[REDACTED]" in out
    for secret in ("sk-unknown-9999", "abc.def-123", "dXNlcjpwYXNzd29yZA==", "zz-1234567", "tok_42abc"):
        assert secret not in out


def test_known_values_are_named_and_the_literal_key_too() -> None:
    text = "echo sk-env-secret-0001 and x-api-key=lit-key-777 and bare lit-key-777 again"
    out = scrub(text, {"lit-key-777": "LOOM_API_KEY"}, values=ENV)
    assert out == ("echo [REDACTED:OPENAI_API_KEY] and x-api-key=[REDACTED:LOOM_API_KEY] and bare "
                   "[REDACTED:LOOM_API_KEY] again")


def test_prose_is_left_alone() -> None:
    text = "invalid x-api-key header; a Bearer token is required (HTTP 401)"
    assert scrub(text, values={}) == text
    assert scrub(None) is None and scrub("") == ""


def test_bytes_stay_valid_json_with_the_same_shape() -> None:
    body = json.dumps({"type": "error", "error": {
        "message": "headers={'x-api-key': 'sk-env-secret-0001', 'authorization': 'Bearer other-key-55'}"}}).encode()
    out = scrub_bytes(body + b"\xff", values=ENV)
    assert out.endswith(b"\xff")  # undecodable bytes kept as they are
    parsed = json.loads(out[:-1])
    assert parsed["error"]["message"] == ("headers={'x-api-key': '[REDACTED:OPENAI_API_KEY]', "
                                          "'authorization': 'Bearer [REDACTED]'}")
    clean = b'{"ok": true}'
    assert scrub_bytes(clean, values=ENV) is clean
