"""The gateway's one connection pool to the upstream Anthropic API.

One `httpx.AsyncClient` per server, opened at start-up and closed at shutdown; every call
reuses its keep-alive connections. The upstream sees the server's ANTHROPIC_API_KEY (as
`x-api-key`, with `anthropic-version`, like the SDK), never the caller's key or headers beyond
the few Anthropic ones that change the call's meaning (version, beta flags).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

DEFAULT_UPSTREAM = "https://api.anthropic.com"
DEFAULT_VERSION = "2023-06-01"

#: Caller headers forwarded upstream (everything else, including every credential, is dropped).
FORWARD_REQUEST = ("anthropic-version", "anthropic-beta")

#: Upstream response headers passed back to the caller.
PASS_RESPONSE_PREFIXES = ("anthropic-",)
PASS_RESPONSE = frozenset({"content-type", "request-id", "retry-after", "retry-after-ms", "x-should-retry"})


class Upstream:
    """The upstream endpoint, its vendor key, and the shared client (after `open()`)."""

    def __init__(self, base_url: str | None, vendor_key: str, *, timeout: float = 300.0,
                 max_connections: int = 512) -> None:
        self.base_url = (base_url or DEFAULT_UPSTREAM).rstrip("/")
        self._vendor_key = vendor_key
        self._timeout = timeout
        self._max_connections = max_connections
        self.client: httpx.AsyncClient | None = None
        self._urls: dict[str, httpx.URL] = {}

    def __repr__(self) -> str:  # never the key, nor the URL's password
        from loom.domain.urls import hide_password

        return f"Upstream({hide_password(self.base_url)!r})"

    def open(self) -> None:
        import httpx

        from loom.entrypoints.gateway.pool import PooledTransport

        limits = httpx.Limits(max_connections=self._max_connections,
                              max_keepalive_connections=self._max_connections, keepalive_expiry=30.0)
        self.client = _client_class()(
            timeout=httpx.Timeout(self._timeout, connect=10.0),
            transport=PooledTransport(limits=limits),
            follow_redirects=False,
            trust_env=True,  # HTTPS_PROXY / NO_PROXY / SSL_CERT_FILE of the server are honoured
            headers={"user-agent": "loom-gateway"},
        )

    def url(self, path: str) -> "httpx.URL | str":
        """The absolute upstream URL of `path` (parsed once per path: no per-call URL merging)."""
        if "?" in path:
            return self.base_url + path
        cached = self._urls.get(path)
        if cached is None:
            import httpx

            cached = self._urls[path] = httpx.URL(self.base_url + path)
        return cached

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    def scrub(self, body: bytes) -> bytes:
        """An upstream error body fit for the caller and the log: the vendor key, every secret of
        the server's environment and any `Bearer ...` / `x-api-key: ...` value redacted (an upstream
        that echoes the request headers must not hand the server's key to every caller)."""
        from loom.application.redaction import scrub_bytes

        return scrub_bytes(body, {self._vendor_key: "ANTHROPIC_API_KEY"})

    def headers(self, caller: Mapping[str, str], *, json_body: bool) -> dict[str, str]:
        """The upstream request headers: the vendor key plus the forwarded Anthropic headers."""
        out = {"x-api-key": self._vendor_key, "anthropic-version": DEFAULT_VERSION,
               "accept-encoding": "identity"}  # plain bytes: streamed text is read for the log
        for name in FORWARD_REQUEST:
            value = caller.get(name)
            if value:
                out[name] = value
        if json_body:
            out["content-type"] = "application/json"
        return out


def response_headers(headers: "httpx.Headers") -> dict[str, str]:
    """The upstream response headers worth passing back (no hop-by-hop, no lengths)."""
    out = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in PASS_RESPONSE or lower.startswith(PASS_RESPONSE_PREFIXES):
            out[lower] = value
    return out


def _client_class() -> type:
    """httpx.AsyncClient without a cookie jar: an upstream's Set-Cookie must never ride along on
    another tenant's call (and parsing cookies on every response is a measurable cost)."""
    import httpx

    class NoCookies(httpx.Cookies):
        def extract_cookies(self, response: httpx.Response) -> None:
            return None

        def __bool__(self) -> bool:
            return False

    no_cookies = NoCookies()

    class UpstreamClient(httpx.AsyncClient):
        @property  # type: ignore[override]
        def cookies(self) -> httpx.Cookies:
            return no_cookies

        @cookies.setter
        def cookies(self, value: object) -> None:
            return None

    return UpstreamClient
