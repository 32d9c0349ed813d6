"""The registry checked against the audit log, pure: agents (roles, weight, activity, display
name, token), rules versions (their text against its logged hash) and webhooks (target and
secret, by `url_mac`). The proposals' tables are judged in `replay.py`, with the same types."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from hivegov_mcp.domain.config import parse_config, rules_hash
from hivegov_mcp.domain.errors import ConfigError
from hivegov_mcp.domain.replay import UNKNOWN, Disagreement, LoggedEvent, Unknown

# Events that change an agent (subject `agent:ID`) and what they set.
REGISTER, SET_ROLES, DEACTIVATE, ACTIVATE = "register_agent", "set_agent_roles", "deactivate_agent", "activate_agent"
ROTATE = "rotate_token"
RULES_CHANGED = "rules_changed"
WEBHOOK_ADDED, WEBHOOK_REMOVED = "webhook_added", "webhook_removed"
TOKEN_EVENTS = (REGISTER, ROTATE)  # each logs `token_sha256` (events from before it was logged: not checked)
AGENT_EVENTS = (REGISTER, SET_ROLES, DEACTIVATE, ACTIVATE, ROTATE)  # the events that make or change an agent's row
# An agent's report of the model usage it spent (report_model_usage), also on `agent:ID`: it
# changes no row, so there is nothing to replay; only the metrics read it.
MODEL_USAGE = "model_usage_reported"


def token_digest(token_hash: str) -> str:
    """What the log records of an agent's token: SHA-256 of its stored hash (never the token, and
    not the stored hash itself, the key a presented token is looked up by)."""
    return hashlib.sha256(f"hivegov token hash {token_hash}".encode()).hexdigest()


@dataclass(frozen=True)
class AgentRow:
    id: str
    roles: Sequence[str]
    weight: int
    active: bool
    display_name: str | None = None  # None: not read
    token_hash: str | None = None  # None: not read


def check_agent(row: AgentRow, events: Sequence[LoggedEvent]) -> Disagreement | None:
    """The agent's row against its events (subject = agent:ID; those of other actions, such as
    MODEL_USAGE, change no row and are passed over)."""
    roles: list[str] | None = None
    weight: int | None = None
    active, last = True, None
    name: tuple[str, int] | None = None
    token: tuple[str | Unknown, int] | None = None
    for e in events:
        if e.action in TOKEN_EVENTS:
            given = e.payload.get("token_sha256")
            token = (given if isinstance(given, str) else UNKNOWN, e.seq)
        if e.action == REGISTER:
            roles, weight = list(e.payload.get("roles", [])), int(e.payload.get("weight", 1))
            if isinstance(e.payload.get("display_name"), str):
                name = (str(e.payload["display_name"]), e.seq)
        elif e.action == SET_ROLES:
            roles = list(e.payload.get("to", []))
        elif e.action in (DEACTIVATE, ACTIVATE):
            active = e.action == ACTIVATE
        else:
            continue
        last = e.seq
    where = f"agents: {row.id}"
    if roles is None or weight is None:
        return Disagreement(where, "the log has no register_agent event for it", None)
    if sorted(row.roles) != sorted(roles):
        return Disagreement(f"{where} roles", f"are {sorted(row.roles)}; the log gave it {sorted(roles)}", last)
    if row.weight != weight:
        return Disagreement(f"{where} weight", f"is {row.weight}; the log registered it with {weight}", last)
    if row.active != active:
        state = "active" if active else "deactivated"
        return Disagreement(f"{where} active", f"is {row.active}; the log left it {state}", last)
    if row.display_name is not None and name is not None and row.display_name != name[0]:
        return Disagreement(
            f"{where} display_name", f"is {row.display_name!r}; the log registered it as {name[0]!r}", name[1]
        )
    issued = token[0] if token is not None else UNKNOWN
    if row.token_hash is not None and isinstance(issued, str) and token_digest(row.token_hash) != issued:
        return Disagreement(
            f"{where} token_hash",
            "is not the token the log last issued to it (token_sha256): another agent's token would act as it",
            token[1] if token else None,
        )
    return None


def check_rules(versions: Sequence[tuple[int, str, str]], events: Sequence[LoggedEvent]) -> Disagreement | None:
    """Every stored rules version (number, TOML text, stored hash) against its rules_changed event:
    the text must hash to the hash the log recorded for that version."""
    logged = {int(e.payload["version"]): e for e in events if e.action == RULES_CHANGED and "version" in e.payload}
    kept = {number for number, _, _ in versions}
    for number, e in sorted(logged.items()):
        if number not in kept:
            return Disagreement(f"rules_versions: {number}", "the log recorded it; its row was deleted", e.seq)
    for number, toml, stored in versions:
        row = f"rules_versions: {number}"
        event = logged.get(number)
        if event is None:
            return Disagreement(row, "the log has no rules_changed event for it", None)
        if stored != event.payload.get("hash"):
            return Disagreement(row, "its hash is not the one the log recorded for this version", event.seq)
        if toml_hash(toml) != stored:
            return Disagreement(
                row, "its rules text does not hash to the hash the log recorded (it was rewritten)", event.seq
            )
    return None


def toml_hash(toml: str) -> str | None:
    """The rules hash of a stored TOML text (as `rules_hash` computes it), or None when it does not parse."""
    try:
        return rules_hash(parse_config(toml))
    except ConfigError:
        return None


def webhook_mac(secret: str, url: str) -> str:
    """What the log keeps of a webhook's whole URL: HMAC-SHA256 keyed by its own secret, so the log
    fixes the URL (path and credentials included) and the secret without revealing either."""
    return hmac.new(secret.encode(), url.encode(), hashlib.sha256).hexdigest()


def check_webhook(
    hook_id: int, url: str, removed: bool, events: Sequence[LoggedEvent], *, secret: str | None = None
) -> Disagreement | None:
    """A webhook's row against its events (subject = webhook:ID). The log holds the URL's host in
    clear and, since url_mac, a MAC of the whole URL keyed by the webhook's secret (a URL's path or
    user part is often a credential, and every agent reads the log): a target moved to another
    host, or to another path, or a secret changed, is found."""
    row = f"webhooks: {hook_id}"
    added = next((e for e in events if e.action == WEBHOOK_ADDED), None)
    if added is None:
        return Disagreement(row, "the log has no webhook_added event for it", None)
    host = urlsplit(url.strip()).hostname or ""
    if "host" in added.payload and host != added.payload["host"]:
        return Disagreement(
            f"{row} url", f"points at {host!r}; the log registered it for {added.payload['host']!r}", added.seq
        )
    mac = added.payload.get("url_mac")
    if secret is not None and isinstance(mac, str) and not hmac.compare_digest(mac, webhook_mac(secret, url.strip())):
        return Disagreement(f"{row} url", "its URL or secret is not the one the log registered", added.seq)
    gone = next((e for e in events if e.action == WEBHOOK_REMOVED), None)
    if removed != (gone is not None):
        mine, state = ("removed" if removed else "active"), ("removed" if gone else "active")
        return Disagreement(f"{row} removed_at", f"says {mine}; the log left it {state}", (gone or added).seq)
    return None
