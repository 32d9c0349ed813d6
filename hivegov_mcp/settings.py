"""Where the database and the rules come from: flags, then environment, then defaults."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from hivegov_mcp.domain.clock import Clock, SystemClock
from hivegov_mcp.domain.config import GovernanceConfig, parse_config
from hivegov_mcp.domain.errors import ConfigError
from hivegov_mcp.service.checkpoint import key_path
from hivegov_mcp.store.base import BUSY_TIMEOUT_MS

ENV_DB = "HIVEGOV_DB"
ENV_CONFIG = "HIVEGOV_CONFIG"
ENV_TOKEN = "HIVEGOV_TOKEN"
ENV_LOG_LEVEL = "HIVEGOV_LOG_LEVEL"
ENV_SIGNING_KEY = "HIVEGOV_SIGNING_KEY"  # the Ed25519 key (PEM) that signs checkpoints
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Settings:
    """What the factory needs: the database, the rules a file asks for (if any) and the clock."""

    db: Path | str
    rules: GovernanceConfig | None = None  # from --config / HIVEGOV_CONFIG; None: the database's rules
    rules_source: str = "defaults"  # the file named in messages and in the rules_changed event
    clock: Clock = field(default_factory=SystemClock)
    busy_timeout_ms: int = BUSY_TIMEOUT_MS  # how long a write waits for another process's write lock
    signing_key: Path | None = None  # None: HIVEGOV_SIGNING_KEY, else `<db>.ed25519` (created on first use)

    def signing_key_file(self) -> Path:
        """The checkpoints' key: given, else beside the SQLite file; for PostgreSQL, in this
        user's data folder (several machines: give each instance the same HIVEGOV_SIGNING_KEY)."""
        if self.signing_key is not None:
            return self.signing_key
        named = os.environ.get(ENV_SIGNING_KEY)
        if named:
            return Path(named).expanduser()
        if self.is_postgres():
            return default_db_path().with_name(f"{self._database_name()}.ed25519")
        return key_path(Path(str(self.db)))

    def log_origin(self) -> str:
        """The first line of this log's checkpoints: names the log (C2SP tlog-checkpoint)."""
        return f"hivegov.local/{self._database_name()}"

    def is_postgres(self) -> bool:
        return str(self.db).startswith(("postgresql://", "postgres://"))

    def _database_name(self) -> str:
        """The file's name, or the PostgreSQL database's (not its host: instances may reach it by
        different names). Once a checkpoint is signed, the log keeps the name it gave."""
        if self.is_postgres():
            return urlsplit(str(self.db)).path.strip("/") or "postgres"
        return Path(str(self.db)).name


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hivegov" / "hivegov.db"


def resolve_db_path(flag: str | None) -> Path | str:
    """A SQLite file's path, or a PostgreSQL URL as given."""
    value = flag or os.environ.get(ENV_DB)
    if value and value.startswith(("postgresql://", "postgres://")):
        return value
    return Path(value or default_db_path()).expanduser()


def config_path(flag: str | None) -> str | None:
    return flag or os.environ.get(ENV_CONFIG) or None


def read_rules_file(path: str) -> GovernanceConfig:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"can't be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "is not UTF-8 text") from None
    try:
        return parse_config(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.key}", exc.problem) from None


def settings_from(db_flag: str | None, config_flag: str | None, *, clock: Clock | None = None) -> Settings:
    if db_flag is not None and not db_flag.strip():
        raise ConfigError("--db", "is empty; give the database file's path")
    path = config_path(config_flag)
    return Settings(
        db=resolve_db_path(db_flag),
        rules=read_rules_file(path) if path else None,
        rules_source=path or "defaults",
        clock=clock or SystemClock(),
    )


def log_level(value: str | None) -> str:
    """HIVEGOV_LOG_LEVEL, checked: an unknown level is an error, not silently WARNING."""
    level = (value or "WARNING").strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(ENV_LOG_LEVEL, f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
    return level


def configure_logging(level: str) -> None:
    """The server's own log at `level`, to stderr; libraries stay at WARNING, so their debug output
    (psycopg and the HTTP stack at DEBUG print statements, parameters and headers: token hashes,
    comment text) never shows."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("hivegov_mcp").setLevel(level)
