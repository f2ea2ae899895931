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


def _secure(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "application/json" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask) -> None:
    """Add the headers to every response of the app, errors included."""
    app.after_request(_secure)
