"""Settings read once from the environment into one immutable object."""
from __future__ import annotations

import math
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.clock import DEFAULT_TIMEZONE
from engine.errors import InvalidInput

#: The repository root: workflows/, migrations/ and var/ are found from here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent



def _default_database_url(var_dir: Path) -> str:
    return f"sqlite:///{var_dir / 'petiflow.sqlite3'}"


def _secret_key(var_dir: Path) -> str:
    """Keep one generated key per installation so sessions survive restarts."""
    path = var_dir / "secret_key"
    try:
        if path.exists():
            return path.read_text().strip()
        var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
    except OSError as exc:
        raise InvalidInput(f"PETIFLOW_VAR_DIR {str(var_dir)!r} cannot hold petiflow's data: "
                           f"{exc.strerror or exc}") from None
    return key


def masked_url(url: str) -> str:
    """The URL with its password, if it has one, shown as ***: for messages and logs."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not (sep and at) or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


#: Database URL schemes petiflow runs on (SQLAlchemy driver names); see engine/store/db.py.
DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
_DATABASE_EXAMPLES = "sqlite:///path/to/petiflow.sqlite3 or postgresql://user:password@host:5432/database"
REDIS_SCHEMES = ("redis", "rediss", "unix")


def _database_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    if url.startswith("postgres://"):  # the short form many hosting services hand out
        url = "postgresql://" + url[len("postgres://"):]
    try:
        scheme = make_url(url).drivername
    except (ArgumentError, ValueError):
        raise InvalidInput(f"DATABASE_URL {masked_url(url)!r} is not a database URL: "
                           f"use {_DATABASE_EXAMPLES}") from None
    if scheme not in DATABASE_SCHEMES:
        raise InvalidInput(f"DATABASE_URL {masked_url(url)!r} is a {scheme} URL; petiflow supports "
                           f"sqlite and postgresql: use {_DATABASE_EXAMPLES}")
    return url


def _redis_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when the port is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in REDIS_SCHEMES:
        raise InvalidInput(f"REDIS_URL {masked_url(url)!r} is not a Redis URL: use redis://host:6379/0 "
                           "(or rediss://, unix://)")
    return url


def _port(name: str, value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise InvalidInput(f"{name} must be a port number from 1 to 65535, not {value!r}")
    return port


def _seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidInput(f"{name} must be a number of seconds above zero such as 2.0, not {value!r}")
    return seconds


_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(name: str, value: str) -> bool:
    if value.strip().lower() in _YES:
        return True
    if value.strip().lower() in _NO:
        return False
    raise InvalidInput(f"{name} must be 1 or 0 (true/false, yes/no, on/off), not {value!r}")


def _timezone(name: str, value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{name} must be a time zone name such as Asia/Taipei, not {value!r}") from None
    return value


def _whole(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise InvalidInput(f"{name} must be a whole number above zero, not {value!r}")
    return number


#: The largest attachment PETIFLOW_MAX_ATTACHMENT_MB may allow, in MiB.
MAX_ATTACHMENT_MB_LIMIT = 1024


def _megabytes(name: str, value: str) -> int:
    if not value.strip().isdigit() or not 1 <= int(value) <= MAX_ATTACHMENT_MB_LIMIT:
        raise InvalidInput(f"{name} must be a whole number of MiB from 1 to {MAX_ATTACHMENT_MB_LIMIT}, not {value!r}")
    return int(value)


def _proxies(name: str, value: str) -> int:
    if not value.strip().isdigit() or int(value) > 5:
        raise InvalidInput(f"{name} must be how many proxies stand in front of petiflow, 0 to 5, not {value!r}")
    return int(value)


#: The log line formats every long-running command can write (PETIFLOW_LOG_FORMAT).
LOG_FORMATS = ("text", "json")


def _log_format(value: str) -> str:
    if value.strip().lower() not in LOG_FORMATS:
        raise InvalidInput(f"PETIFLOW_LOG_FORMAT must be text or json, not {value!r}")
    return value.strip().lower()


def _tile_url(value: str) -> str | None:
    if not value:
        return None
    if not value.lower().startswith(("https://", "http://")) or not all(p in value for p in ("{z}", "{x}", "{y}")):
        raise InvalidInput("PETIFLOW_MAP_TILE_URL must be an http(s) URL template with {z}, {x} and {y}, such as "
                           "https://tiles.city.example/{z}/{x}/{y}.png")
    return value


def _public_url(value: str) -> str | None:
    if not value:
        return None
    if not value.lower().startswith(("https://", "http://")):
        raise InvalidInput(f"PETIFLOW_PUBLIC_URL must be an http(s) URL such as https://mailbox.city.example/, "
                           f"not {value[:100]!r}")
    return value.rstrip("/") + "/"


@dataclass(frozen=True)
class EmailSettings:
    """Where and how e-mail leaves (handlers/notify_email.py); host None: e-mail is not configured."""

    host: str | None = None
    port: int = 25
    sender: str = "petiflow@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env) -> "EmailSettings":
        """The PETIFLOW_SMTP_* variables; STARTTLS defaults to on when a user logs in."""
        user = env.get("PETIFLOW_SMTP_USER") or None
        starttls = env.get("PETIFLOW_SMTP_STARTTLS") or ""
        return cls(host=env.get("PETIFLOW_SMTP_HOST") or None,
                   port=_port("PETIFLOW_SMTP_PORT", env.get("PETIFLOW_SMTP_PORT") or "25"),
                   sender=env.get("PETIFLOW_SMTP_FROM") or "petiflow@localhost",
                   user=user, password=env.get("PETIFLOW_SMTP_PASSWORD") or None,
                   starttls=_flag("PETIFLOW_SMTP_STARTTLS", starttls) if starttls else user is not None,
                   timeout=_seconds("PETIFLOW_SMTP_TIMEOUT", env.get("PETIFLOW_SMTP_TIMEOUT") or "30"))


@dataclass(frozen=True)
class WebhookSettings:
    """Where webhooks go and the secret that signs them (handlers/notify_webhook.py); url None: not configured."""

    url: str | None = None
    secret: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env) -> "WebhookSettings":
        """The PETIFLOW_WEBHOOK_* variables."""
        url = env.get("PETIFLOW_WEBHOOK_URL") or None
        if url is not None and not url.lower().startswith(("https://", "http://")):
            # Not the URL itself: a gateway's URL may carry its token.
            scheme = url.partition("://")[0][:20] if "://" in url else "scheme-less"
            raise InvalidInput(f"PETIFLOW_WEBHOOK_URL must be an http(s) URL such as https://sms.city.example/notify, "
                               f"not a {scheme!r} one")
        return cls(url=url, secret=env.get("PETIFLOW_WEBHOOK_SECRET") or None,
                   timeout=_seconds("PETIFLOW_WEBHOOK_TIMEOUT", env.get("PETIFLOW_WEBHOOK_TIMEOUT") or "10"))


@dataclass(frozen=True)
class SmsSettings:
    """The SMS gateway (handlers/notify_sms.py): its HTTP API's URL and key; url None: not configured."""

    url: str | None = None
    key: str | None = None
    sender: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env) -> "SmsSettings":
        """The PETIFLOW_SMS_* variables."""
        url = env.get("PETIFLOW_SMS_URL") or None
        if url is not None and not url.lower().startswith(("https://", "http://")):
            scheme = url.partition("://")[0][:20] if "://" in url else "scheme-less"
            raise InvalidInput(f"PETIFLOW_SMS_URL must be an http(s) URL such as https://sms.example.tw/api/messages, "
                               f"not a {scheme!r} one")
        return cls(url=url, key=env.get("PETIFLOW_SMS_KEY") or None, sender=env.get("PETIFLOW_SMS_SENDER") or None,
                   timeout=_seconds("PETIFLOW_SMS_TIMEOUT", env.get("PETIFLOW_SMS_TIMEOUT") or "10"))


#: The Redis broker's key prefix when PETIFLOW_REDIS_NAMESPACE is not set.
DEFAULT_REDIS_NAMESPACE = "petiflow"


@dataclass(frozen=True)
class BrokerOptions:
    """The Redis broker's options (handlers/broker.py); None keeps Dramatiq's default."""

    namespace: str = DEFAULT_REDIS_NAMESPACE
    heartbeat_ms: int | None = None
    maintenance_chance: int | None = None

    @classmethod
    def from_env(cls, env) -> "BrokerOptions":
        """The PETIFLOW_REDIS_* variables."""
        heartbeat = env.get("PETIFLOW_REDIS_HEARTBEAT_MS")
        chance = env.get("PETIFLOW_REDIS_MAINTENANCE_CHANCE")
        return cls(namespace=env.get("PETIFLOW_REDIS_NAMESPACE") or DEFAULT_REDIS_NAMESPACE,
                   heartbeat_ms=_whole("PETIFLOW_REDIS_HEARTBEAT_MS", heartbeat) if heartbeat else None,
                   maintenance_chance=(_whole("PETIFLOW_REDIS_MAINTENANCE_CHANCE", chance) if chance else None))


@dataclass(frozen=True)
class Settings:
    """Everything petiflow reads from its environment, in one place."""

    database_url: str
    redis_url: str | None = None
    secret_key: str = "change-me"
    workflows_dir: Path = PROJECT_ROOT / "workflows"
    var_dir: Path = PROJECT_ROOT / "var"
    timezone: str = DEFAULT_TIMEZONE
    script_time_limit: float = 2.0
    host: str = "127.0.0.1"
    port: int = 8080
    load_demo_data: bool = True
    sql_echo: bool = False
    secure_cookies: bool = False
    trusted_proxies: int = 0
    max_attachment_mb: int = 20
    email: EmailSettings = field(default_factory=EmailSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    broker: BrokerOptions = field(default_factory=BrokerOptions)
    log_format: str = "text"
    #: When set, /metrics answers only requests with `Authorization: Bearer <token>`.
    metrics_token: str | None = None
    #: prometheus-client's multiprocess folder (PROMETHEUS_MULTIPROC_DIR), which `petiflow web` sets.
    metrics_dir: Path | None = None
    #: The web mailbox's map tiles (a URL template with {z}/{x}/{y}); None: no map, latitude and longitude fields.
    map_tile_url: str | None = None
    #: The mailbox's own address as citizens reach it (links in e-mails); None: the address of each request.
    public_url: str | None = None
    #: Petitions the web mailbox takes from one address in an hour.
    mailbox_submissions_per_hour: int = 60
    #: The city's Open311 jurisdiction_id (its web site's domain, as GeoReport v2 suggests).
    open311_jurisdiction: str = "tycg.gov.tw"
    #: Open311 reports allowed per client address and per api_key (flask-limiter's notation, `;` between).
    open311_address_limits: str = "10 per minute;100 per hour"
    open311_key_limits: str = "120 per minute;2000 per hour"
    extra: dict = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: worker and scheduler run in-process."""
        return self.redis_url is None

    @property
    def max_attachment_bytes(self) -> int:
        """The largest file a case may have attached (PETIFLOW_MAX_ATTACHMENT_MB, in MiB)."""
        return self.max_attachment_mb * 2**20

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def but(self, **changes) -> "Settings":
        """Return a copy with some values changed (for tests and commands)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Build settings from environment variables; defaults give embedded mode.

        Raises InvalidInput naming the variable when a value cannot be used.
        """
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("PETIFLOW_VAR_DIR", PROJECT_ROOT / "var"))
        database_url = _database_url(env.get("DATABASE_URL") or _default_database_url(var_dir))
        redis_url = _redis_url(env["REDIS_URL"]) if env.get("REDIS_URL") else None
        timezone = _timezone("PETIFLOW_TIMEZONE", env.get("PETIFLOW_TIMEZONE", DEFAULT_TIMEZONE))
        script_time_limit = _seconds("PETIFLOW_SCRIPT_TIME_LIMIT", env.get("PETIFLOW_SCRIPT_TIME_LIMIT", "2.0"))
        port = _port("PETIFLOW_PORT", env.get("PETIFLOW_PORT", "8080"))
        return cls(
            database_url=database_url,
            redis_url=redis_url,
            secret_key=env.get("SECRET_KEY") or _secret_key(var_dir),
            workflows_dir=Path(env.get("PETIFLOW_WORKFLOWS_DIR", PROJECT_ROOT / "workflows")),
            var_dir=var_dir,
            timezone=timezone,
            script_time_limit=script_time_limit,
            host=env.get("PETIFLOW_HOST", "127.0.0.1"),
            port=port,
            load_demo_data=_flag("PETIFLOW_DEMO_DATA", env.get("PETIFLOW_DEMO_DATA", "1")),
            sql_echo=_flag("PETIFLOW_SQL_ECHO", env.get("PETIFLOW_SQL_ECHO", "0")),
            secure_cookies=_flag("PETIFLOW_SECURE_COOKIES", env.get("PETIFLOW_SECURE_COOKIES", "0")),
            trusted_proxies=_proxies("PETIFLOW_TRUSTED_PROXIES", env.get("PETIFLOW_TRUSTED_PROXIES", "0")),
            max_attachment_mb=_megabytes("PETIFLOW_MAX_ATTACHMENT_MB", env.get("PETIFLOW_MAX_ATTACHMENT_MB", "20")),
            email=EmailSettings.from_env(env),
            webhook=WebhookSettings.from_env(env),
            sms=SmsSettings.from_env(env),
            broker=BrokerOptions.from_env(env),
            log_format=_log_format(env.get("PETIFLOW_LOG_FORMAT") or "text"),
            metrics_token=env.get("PETIFLOW_METRICS_TOKEN") or None,
            open311_jurisdiction=env.get("PETIFLOW_OPEN311_JURISDICTION") or "tycg.gov.tw",
            open311_address_limits=env.get("PETIFLOW_OPEN311_ADDRESS_LIMITS") or "10 per minute;100 per hour",
            open311_key_limits=env.get("PETIFLOW_OPEN311_KEY_LIMITS") or "120 per minute;2000 per hour",
            metrics_dir=Path(env["PROMETHEUS_MULTIPROC_DIR"]) if env.get("PROMETHEUS_MULTIPROC_DIR") else None,
            map_tile_url=_tile_url(env.get("PETIFLOW_MAP_TILE_URL") or ""),
            public_url=_public_url(env.get("PETIFLOW_PUBLIC_URL") or ""),
            mailbox_submissions_per_hour=_whole("PETIFLOW_MAILBOX_SUBMISSIONS_PER_HOUR",
                                                env.get("PETIFLOW_MAILBOX_SUBMISSIONS_PER_HOUR") or "60"),
        )
