"""Rate limits (flask-limiter): failed sign-ins are slowed, then locked, per account and per address.

Only failures count, and an unknown account counts exactly like a known one, so a lockout
never tells whether an account exists. The counts live in Redis in scaled mode (shared by
every web process) and in memory in embedded mode (one process). Each app has a limiter of
its own (app.extensions), so that apps built side by side (tests) keep their own counts.
"""
from __future__ import annotations

import hashlib
import logging
import time
from functools import lru_cache, partial

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from engine.errors import InvalidInput
from engine.settings import Settings

log = logging.getLogger(__name__)

#: Failed sign-ins per account: a few in a minute slow the guesser down, more in an hour lock
#: the account for the rest of that hour. A correct password is refused too while locked.
ACCOUNT_LIMITS = parse_many("5 per minute;20 per hour")

#: Failed sign-ins per address: generous, since a city office's staff may share one address.
ADDRESS_LIMITS = parse_many("30 per minute;200 per hour")

#: Where the app's limiter is kept.
EXTENSION_KEY = "petiflow.limiter"

#: Where the app's prefix of its counters' keys is kept (the public pages' counts are namespaced by it).
PREFIX_KEY = "petiflow.limits_prefix"

#: What a locked-out sign-in is told (the same whether or not the account exists).
LOCKED = "too many failed sign-ins for this account or from this address: wait and try again later"


def install(app: Flask, settings: Settings) -> Limiter:
    """Give the app its limiter, on Redis when petiflow runs scaled, in memory otherwise."""
    options = {"socket_connect_timeout": 1, "socket_timeout": 1} if settings.redis_url else {}
    limiter = Limiter(key_func=get_remote_address, app=app, strategy="moving-window", headers_enabled=True,
                      storage_uri=settings.redis_url or "memory://", storage_options=options,
                      key_prefix=f"{settings.broker.namespace}:limits", in_memory_fallback_enabled=True,
                      swallow_errors=True)
    app.extensions[EXTENSION_KEY] = limiter
    app.extensions[PREFIX_KEY] = f"{settings.broker.namespace}:limits"
    app.extensions[OPEN311_KEY] = (_parsed("PETIFLOW_OPEN311_ADDRESS_LIMITS", settings.open311_address_limits),
                                   _parsed("PETIFLOW_OPEN311_KEY_LIMITS", settings.open311_key_limits))
    _unhook(app, limiter)
    return limiter


def _parsed(name: str, text: str) -> list:
    try:
        return parse_many(text)
    except ValueError:
        raise InvalidInput(f"{name} must be limits such as '10 per minute;100 per hour', not {text!r}") from None


def _unhook(app: Flask, limiter: Limiter) -> None:
    """Take the limiter's per-request hooks off the app again.

    No route carries a limit of its own (sign-in counts and checks its failures by hand, below),
    so the hooks would only look, on every request, for limits that are not there: about a tenth
    of a short request's time.
    """
    def ours(hook) -> bool:
        owner = getattr(hook, "__self__", None)
        if owner is None and isinstance(hook, partial):
            owner = hook.args[0] if hook.args else None
        return owner is limiter

    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        for key, funcs in hooks.items():
            hooks[key] = [hook for hook in funcs if not ours(hook)]


#: Open311 reads per address: generous (the report limits per key and per address,
#: an app's users sharing its key and a household or an office an address, are settings:
#: PETIFLOW_OPEN311_KEY_LIMITS and PETIFLOW_OPEN311_ADDRESS_LIMITS).
OPEN311_READ_LIMITS = parse_many("300 per minute")

#: Where the app's Open311 report limits are kept: (per address, per key).
OPEN311_KEY = "petiflow.open311_limits"

#: What a client over an Open311 limit is told.
OPEN311_SLOW_DOWN = "too many requests from this api_key or this address: wait and try again later"


def _over(limits_and_keys: list[tuple], scope: str) -> None:
    """Count a hit against each (limit, key); raise 429 (with Retry-After) when one is over its limit."""
    strategy = current_app.extensions[EXTENSION_KEY].limiter
    for limit, key in limits_and_keys:
        try:
            allowed = strategy.hit(limit, scope, key)
            reset_at = None if allowed else strategy.get_window_stats(limit, scope, key)[0]
        except Exception as exc:  # the limiter's Redis is down: the service stays open, and says so in the log
            log.warning("Open311 limits not checked, their storage failed: %s", exc)
            return
        if not allowed:
            raise TooManyRequests(OPEN311_SLOW_DOWN, retry_after=max(1, int(reset_at - time.time())))


def check_open311_post(api_key: str | None) -> None:
    """Count a report against its key (by a digest: the key itself is never a storage key) and its address."""
    per_address, per_key = current_app.extensions[OPEN311_KEY]
    address = "address:" + (get_remote_address() or "unknown")
    checks = [(limit, address) for limit in per_address]
    if api_key:
        digest = hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        checks += [(limit, "key:" + digest) for limit in per_key]
    _over(checks, "open311-post")


def check_open311_read() -> None:
    """Count an Open311 read against its address."""
    _over([(limit, "address:" + (get_remote_address() or "unknown")) for limit in OPEN311_READ_LIMITS],
          "open311-read")


def _keys(username: str) -> list[tuple]:
    account = "account:" + username.strip()[:100]
    address = "address:" + (get_remote_address() or "unknown")
    return [(limit, account) for limit in ACCOUNT_LIMITS] + [(limit, address) for limit in ADDRESS_LIMITS]


def check_sign_in(username: str) -> None:
    """Raise 429 (with Retry-After) when the account or the address is locked out."""
    strategy = current_app.extensions[EXTENSION_KEY].limiter
    for limit, key in _keys(username):
        try:
            allowed = strategy.test(limit, "sign-in", key)
            reset_at = None if allowed else strategy.get_window_stats(limit, "sign-in", key)[0]
        except Exception as exc:  # the limiter's Redis is down: sign-in stays open, and says so in the log
            log.warning("Sign-in limits not checked, their storage failed: %s", exc)
            return
        if not allowed:
            # The window is counted in wall-clock seconds, as the storage counts it.
            raise TooManyRequests(LOCKED, retry_after=max(1, int(reset_at - time.time())))


def count_failure(username: str) -> None:
    """Count a refused sign-in against the account and the address."""
    strategy = current_app.extensions[EXTENSION_KEY].limiter
    try:
        for limit, key in _keys(username):
            strategy.hit(limit, "sign-in", key)
    except Exception as exc:
        log.warning("A failed sign-in was not counted, the limits' storage failed: %s", exc)


#: Wrong lookup codes (a status look-up or a survey answer) per address: a person mistypes a
#: few; a guesser is stopped long before an 80-bit code could be found.
LOOKUP_LIMITS = parse_many("10 per minute;30 per hour")

#: What a locked-out look-up is told (the same whether or not the case exists).
LOOKUPS_LOCKED = "too many wrong case numbers or lookup codes from this address: wait and try again later"


def _address() -> str:
    return f"{current_app.extensions[PREFIX_KEY]}:address:{get_remote_address() or 'unknown'}"


def _check(scope: str, limits, message: str) -> None:
    strategy = current_app.extensions[EXTENSION_KEY].limiter
    key = _address()
    for limit in limits:
        try:
            allowed = strategy.test(limit, scope, key)
            reset_at = None if allowed else strategy.get_window_stats(limit, scope, key)[0]
        except Exception as exc:  # the limiter's Redis is down: the page stays open, and says so in the log
            log.warning("%s limits not checked, their storage failed: %s", scope, exc)
            return
        if not allowed:
            raise TooManyRequests(message, retry_after=max(1, int(reset_at - time.time())))


def _hit(scope: str, limits) -> None:
    strategy = current_app.extensions[EXTENSION_KEY].limiter
    try:
        for limit in limits:
            strategy.hit(limit, scope, _address())
    except Exception as exc:
        log.warning("A %s was not counted, the limits' storage failed: %s", scope, exc)


def check_lookup() -> None:
    """Raise 429 (with Retry-After) when this address has given too many wrong codes."""
    _check("lookup", LOOKUP_LIMITS, LOOKUPS_LOCKED)


def count_wrong_lookup() -> None:
    """Count a wrong case number or lookup code against the address."""
    _hit("lookup", LOOKUP_LIMITS)


def submission_limits(settings: Settings):
    """Petitions the web mailbox takes from one address (PETIFLOW_MAILBOX_SUBMISSIONS_PER_HOUR)."""
    return _per_hour(settings.mailbox_submissions_per_hour)


@lru_cache(maxsize=8)
def _per_hour(count: int):
    return parse_many(f"{count} per hour")


def check_submission(settings: Settings) -> None:
    """Raise 429 when this address has filed as many petitions as an hour allows."""
    _check("mailbox", submission_limits(settings),
           "this address has filed as many petitions as an hour allows: try again later")


def count_submission(settings: Settings) -> None:
    """Count a petition filed from this address (a form refused for its errors does not count)."""
    _hit("mailbox", submission_limits(settings))
