"""Settings read once from the environment into one immutable object."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

#: The repository root: workflows/, migrations/ and var/ are found from here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_database_url(var_dir: Path) -> str:
    return f"sqlite:///{var_dir / 'petiflow.sqlite3'}"


def _secret_key(var_dir: Path) -> str:
    """Keep one generated key per installation so sessions survive restarts."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    """Everything petiflow reads from its environment, in one place."""

    database_url: str
    redis_url: str | None = None
    secret_key: str = "change-me"
    workflows_dir: Path = PROJECT_ROOT / "workflows"
    var_dir: Path = PROJECT_ROOT / "var"
    timezone: str = "Asia/Taipei"
    script_time_limit: float = 2.0
    host: str = "127.0.0.1"
    port: int = 8080
    load_demo_data: bool = True
    sql_echo: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: worker and scheduler run in-process."""
        return self.redis_url is None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def but(self, **changes) -> "Settings":
        """Return a copy with some values changed (for tests and commands)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Build settings from environment variables; defaults give embedded mode."""
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("PETIFLOW_VAR_DIR", PROJECT_ROOT / "var"))
        return cls(
            database_url=env.get("DATABASE_URL") or _default_database_url(var_dir),
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY") or _secret_key(var_dir),
            workflows_dir=Path(env.get("PETIFLOW_WORKFLOWS_DIR", PROJECT_ROOT / "workflows")),
            var_dir=var_dir,
            timezone=env.get("PETIFLOW_TIMEZONE", "Asia/Taipei"),
            script_time_limit=float(env.get("PETIFLOW_SCRIPT_TIME_LIMIT", "2.0")),
            host=env.get("PETIFLOW_HOST", "127.0.0.1"),
            port=int(env.get("PETIFLOW_PORT", "8080")),
            load_demo_data=env.get("PETIFLOW_DEMO_DATA", "1") not in ("0", "false", "no"),
            sql_echo=env.get("PETIFLOW_SQL_ECHO", "0") in ("1", "true", "yes"),
        )
