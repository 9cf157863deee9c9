"""Error responses in Anthropic's shape, so the SDKs raise their usual exception classes.

    {"type": "error", "error": {"type": "authentication_error", "message": "..."}}
"""

from __future__ import annotations

import json

from starlette.responses import Response

#: HTTP status -> Anthropic error type.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    504: "api_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str) -> bytes:
    kind = ERROR_TYPES.get(status, "api_error")
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An Anthropic-shaped error. `message` must never contain a key."""
    return Response(error_body(status, message), status_code=status, headers=headers,
                    media_type="application/json")
