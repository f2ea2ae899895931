"""POST a message to an HTTP endpoint of the outside world (a webhook, an SMS gateway) and tell a
message it may try again from one it never will."""
from __future__ import annotations

import urllib.error
import urllib.request

from engine.errors import DeliveryFailed, DeliveryRejected

#: 4xx answers that mean "not now" rather than "never": timeout, too early, too many requests.
RETRYABLE_4XX = frozenset({408, 425, 429})


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirected POST would be replayed as a GET, or to wherever the answer points.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(request: urllib.request.Request, *, timeout: float, what: str) -> None:
    """Send the request; returns on a 2xx. Raises DeliveryRejected for an answer that will not
    change (a redirect, a 4xx other than RETRYABLE_4XX) and DeliveryFailed for one that may (a 5xx,
    a retryable 4xx, a network error or timeout). `what` names the endpoint in the error."""
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed(f"{what}: {type(exc).__name__}: {exc}") from exc
    if 200 <= status < 300:
        return
    error = f"{what} answered HTTP {status}"
    if 300 <= status < 500 and status not in RETRYABLE_4XX:
        raise DeliveryRejected(error)
    raise DeliveryFailed(error)
