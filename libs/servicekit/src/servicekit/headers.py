"""Security headers: ``nosniff`` on every response, and on every HTML page a content security
policy, no framing, no referrer and no caching (the dashboard carries a token in its links)."""

from __future__ import annotations

# An HTML page of a service loads nothing from elsewhere and runs no script; its styles are
# inline.
HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
Headers = list[tuple[bytes, bytes]]


def security_headers(response_headers: Headers) -> Headers:
    """The headers to add to a response that has ``response_headers`` (a route's own
    ``Content-Security-Policy`` or ``Cache-Control`` is kept)."""
    present = {name.lower(): value for name, value in response_headers}
    added: Headers = []
    if b"x-content-type-options" not in present:
        added.append((b"x-content-type-options", b"nosniff"))
    if not present.get(b"content-type", b"").lower().startswith(b"text/html"):
        return added
    defaults = {
        b"content-security-policy": HTML_POLICY.encode(),
        b"x-frame-options": b"DENY",
        b"referrer-policy": b"no-referrer",
        b"cache-control": b"no-store",
    }
    added += [(name, value) for name, value in defaults.items() if name not in present]
    return added
