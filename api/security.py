"""Response headers that keep browsers from misusing petiflow's pages and data.

Every response: no MIME sniffing, no framing by another site (clickjacking), no referrer
sent elsewhere, and a content security policy allowing only petiflow's own scripts, styles
and images (no inline script, no plugins). JSON, which may carry personal data, is not kept
in shared or browser caches unless a view says otherwise. HSTS belongs to the TLS
terminator in front of petiflow, which knows whether the site is served over HTTPS.
"""
from __future__ import annotations

from flask import Flask, Response

#: Sent on every response.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


_NAMES = {name.lower(): name for name in HEADERS}


def _secure(response: Response) -> Response:
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}  # one pass, not one per header
    headers.extend([(name, HEADERS[name]) for key, name in _NAMES.items() if key not in present])
    if response.mimetype == "application/json" and "cache-control" not in present:
        headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask) -> None:
    """Add the headers to every response of the app, errors included."""
    app.after_request(_secure)
