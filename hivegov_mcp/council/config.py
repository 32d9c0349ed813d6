"""The council file (DESIGN §19), read and checked before anything starts.

```toml
[council]
server = "http://127.0.0.1:8811/mcp"   # Streamable HTTP; or db = "gov.db" to run over stdio
max_steps_per_item = 8

[[member]]
agent = "gpt"
token_env = "GPT_HIVEGOV_TOKEN"
model = "gpt-4.1-mini"
base_url = "https://api.openai.com/v1"
api_key_env = "OPENAI_API_KEY"
```

Every mistake is refused with the key it concerns (`member[2].base_url`) and what to write
instead; secrets are named by the environment variables that hold them, never written here.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hivegov_mcp.domain.errors import ConfigError

MAX_MEMBERS = 64
EVENTS_PATH = "/api/governance/events"

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]


def _http_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL ({what})")
    return value.rstrip("/")


class CouncilSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    server: str | None = Field(
        None, description="The server's Streamable HTTP endpoint, e.g. http://127.0.0.1:8811/mcp"
    )
    db: str | None = Field(None, description="A database file: each member runs its own `hivegov-mcp serve` on stdio")
    max_steps_per_item: int = Field(8, ge=1, le=100)
    blind_first_round: bool = False
    status_file: str | None = None  # default: beside the council file, `<name>.status.json`

    @field_validator("server")
    @classmethod
    def _server(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, "the server's MCP endpoint, e.g. http://127.0.0.1:8811/mcp")

    @model_validator(mode="after")
    def _one_door(self) -> CouncilSection:
        if (self.server is None) == (self.db is None):
            raise ValueError("give exactly one of server (a Streamable HTTP URL) or db (a database file, over stdio)")
        return self


class MemberSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    agent: str = Field(min_length=1, max_length=64)
    token_env: EnvName
    model: str = Field(min_length=1, max_length=200)
    base_url: str
    api_key_env: EnvName | None = None
    persona: str | None = Field(None, max_length=2000)
    max_requests_per_hour: int = Field(60, ge=1, le=1_000_000)
    max_tokens_per_day: int = Field(200_000, ge=1, le=10_000_000_000)
    blind_first_round: bool | None = None  # None: the council's setting
    timeout_seconds: float = Field(120, gt=0, le=3600)  # one model request

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _http_url(value, "an OpenAI-compatible API root, e.g. http://127.0.0.1:11434/v1")


class CouncilFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    council: CouncilSection
    member: list[MemberSection] = Field(min_length=1, max_length=MAX_MEMBERS)

    @model_validator(mode="after")
    def _distinct(self) -> CouncilFile:
        seen: set[str] = set()
        for i, m in enumerate(self.member):
            if m.agent in seen:
                raise ValueError(f"member[{i + 1}]: agent {m.agent!r} is listed twice (one member per agent)")
            seen.add(m.agent)
        return self


@dataclass(frozen=True)
class Member:
    """A member as it runs: its settings with the secrets read from the environment."""

    agent: str
    token: str
    model: str
    base_url: str
    api_key: str | None
    persona: str | None
    max_requests_per_hour: int
    max_tokens_per_day: int
    blind_first_round: bool
    timeout_seconds: float
    token_env: str = "HIVEGOV_TOKEN"  # where the token came from (named in messages, never the token)


@dataclass(frozen=True)
class Council:
    path: Path
    server: str | None
    db: Path | str | None  # a file, or a postgresql:// URL
    max_steps_per_item: int
    members: tuple[Member, ...]
    status_file: Path

    @property
    def events_url(self) -> str | None:
        """The server's event stream, on the MCP endpoint's origin."""
        if self.server is None:
            return None
        parts = urlsplit(self.server)
        return f"{parts.scheme}://{parts.netloc}{EVENTS_PATH}"


def _database(db: str | None, file: Path) -> Path | str | None:
    """`db`: a PostgreSQL URL as given, or a SQLite file (relative to the council file) that exists."""
    if db is None or db.startswith(("postgresql://", "postgres://")):
        return db
    path = (file.parent / Path(db).expanduser()).resolve()
    if not path.is_file():
        raise ConfigError(
            f"{file}: council.db",
            f"there is no database at {path}",
            f"create it with `hivegov-mcp --db {path} agent add …`, or give the path of an existing one",
        )
    return path


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def parse(text: str, source: str) -> CouncilFile:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"is not valid TOML: {exc}") from None
    try:
        return CouncilFile.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a misspelt key first
        where = _where(tuple(first["loc"]))
        problem = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            problem = "is not a council key (see the README's council section)"
        raise ConfigError(f"{source}: {where}", problem) from None


def load(path: str | Path, environ: dict[str, str] | None = None) -> Council:
    """Read and check the council file, and each member's secrets from the environment."""
    env = dict(os.environ) if environ is None else environ
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            str(file), f"can't be read ({exc.strerror})", "write one from the README's council section"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(str(file), "is not UTF-8 text") from None
    parsed = parse(text, str(file))
    members = []
    for i, m in enumerate(parsed.member, start=1):
        token = env.get(m.token_env, "").strip()
        if not token:
            raise ConfigError(
                f"{file}: member[{i}].token_env",
                f"the environment variable {m.token_env} (the hivegov token of agent {m.agent!r}) is not set",
                f"export {m.token_env}=$(hivegov-mcp agent add {m.agent} --role discussant --role voter)",
            )
        key = None
        if m.api_key_env is not None:
            key = env.get(m.api_key_env, "").strip()
            if not key:
                raise ConfigError(
                    f"{file}: member[{i}].api_key_env",
                    f"the environment variable {m.api_key_env} (the key for {m.base_url}) is not set",
                    "set it, or drop api_key_env for a local server that needs no key",
                )
        blind = parsed.council.blind_first_round if m.blind_first_round is None else m.blind_first_round
        members.append(
            Member(
                agent=m.agent,
                token=token,
                model=m.model,
                base_url=m.base_url,
                api_key=key,
                persona=m.persona,
                max_requests_per_hour=m.max_requests_per_hour,
                max_tokens_per_day=m.max_tokens_per_day,
                blind_first_round=blind,
                timeout_seconds=m.timeout_seconds,
                token_env=m.token_env,
            )
        )
    c = parsed.council
    db = _database(c.db, file)
    status = Path(c.status_file).expanduser() if c.status_file else file.with_name(f"{file.stem}.status.json")
    if not status.is_absolute():
        status = file.parent / status
    return Council(
        path=file,
        server=c.server,
        db=db,
        max_steps_per_item=c.max_steps_per_item,
        members=tuple(members),
        status_file=status,
    )
