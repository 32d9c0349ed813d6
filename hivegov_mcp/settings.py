"""Where the database and the configuration come from: flags, then environment, then defaults."""

from __future__ import annotations

import os
from pathlib import Path

from hivegov_mcp.domain.config import GovernanceConfig, parse_config
from hivegov_mcp.errors import ConfigError

ENV_DB = "HIVEGOV_DB"
ENV_CONFIG = "HIVEGOV_CONFIG"
ENV_TOKEN = "HIVEGOV_TOKEN"
ENV_LOG_LEVEL = "HIVEGOV_LOG_LEVEL"


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hivegov" / "hivegov.db"


def resolve_db_path(flag: str | None) -> Path:
    return Path(flag or os.environ.get(ENV_DB) or default_db_path()).expanduser()


def load_config(flag: str | None) -> GovernanceConfig:
    path = flag or os.environ.get(ENV_CONFIG)
    if not path:
        return GovernanceConfig()
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"can't be read ({exc.strerror})") from None
    return parse_config(text)
