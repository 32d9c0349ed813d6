"""The council's status file: each member's model, state, budget used, last action and last
error, written (atomically) whenever one changes, read by `council status`. It also carries
the budgets across restarts: a council stopped and started again within the hour does not get
a fresh hour of requests.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hivegov_mcp.council.budget import Budget
from hivegov_mcp.council.config import Council
from hivegov_mcp.council.scope import printable
from hivegov_mcp.domain.errors import ConfigError


@dataclass
class MemberStatus:
    agent: str
    model: str
    base_url: str
    state: str = "starting"
    actions: int = 0
    items: int = 0
    errors: int = 0
    last_action: str | None = None
    last_action_at: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    budget: dict[str, Any] = field(default_factory=dict)


class StatusBoard:
    def __init__(self, council: Council, budgets: dict[str, Budget], members: dict[str, MemberStatus]) -> None:
        self.path = council.status_file
        self.budgets = budgets
        self.members = members
        self.pid = os.getpid()
        self.running = True

    @classmethod
    def open(cls, council: Council) -> StatusBoard:
        """The board for this council, with the budgets the last run left (if its file is there).
        A council still running on the file (another process) is refused: both would act."""
        saved = read(council.status_file) or {}
        other = int(saved.get("pid", 0))
        if saved.get("running") and other != os.getpid() and _alive(other):
            raise ConfigError(
                str(council.status_file),
                f"another `council run` (pid {other}) is using this status file: its members would act twice",
                "stop it first, or give this council its own [council] status_file",
            )
        budgets: dict[str, Budget] = {}
        members: dict[str, MemberStatus] = {}
        for m in council.members:
            old = saved.get("members", {}).get(m.agent, {}).get("budget", {})
            budget = Budget(m.max_requests_per_hour, m.max_tokens_per_day)
            budget.sent = [datetime.fromisoformat(t) for t in old.get("sent", [])]
            budget.day = old.get("day", "")
            budget.tokens = int(old.get("tokens", 0))
            budget.requests_total = int(old.get("requests_total", 0))
            budget.tokens_total = int(old.get("tokens_total", 0))
            budgets[m.agent] = budget
            members[m.agent] = MemberStatus(agent=m.agent, model=m.model, base_url=m.base_url)
        return cls(council, budgets, members)

    def update(self, agent: str, now: datetime, **changes: Any) -> None:
        status = self.members[agent]
        for key, value in changes.items():
            setattr(status, key, value)
        if "last_action" in changes:
            status.last_action_at = now.isoformat(timespec="seconds")
        if "last_error" in changes:
            status.last_error_at = now.isoformat(timespec="seconds")
        self.save(now)

    def save(self, now: datetime) -> None:
        members = {}
        for agent, status in self.members.items():
            b = self.budgets[agent]
            used = b.used(now)
            status.budget = {
                **used,
                "requests_total": b.requests_total,
                "tokens_total": b.tokens_total,
                "sent": [t.isoformat() for t in b.sent],
                "day": b.day,
                "tokens": b.tokens,
            }
            members[agent] = asdict(status)
        body = {"pid": self.pid, "running": self.running, "updated_at": now.isoformat(timespec="seconds")}
        body["members"] = members
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


def read(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    return data


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def render(data: dict[str, Any]) -> str:
    """`council status`: one block per member."""
    live = data.get("running") and _alive(int(data.get("pid", 0)))
    lines = [
        f"council {'running (pid ' + str(data['pid']) + ')' if live else 'not running'}, "
        f"status as of {data.get('updated_at')}"
    ]
    for agent, m in data.get("members", {}).items():
        b = m.get("budget", {})
        lines.append(f"\n{agent}  model {m['model']} at {m['base_url']}")
        state = m["state"] if live or m["state"].startswith("stopped") else f"stopped (was: {m['state']})"
        lines.append(f"  state      {printable(state)}")
        lines.append(
            f"  budget     {b.get('requests_this_hour', 0)}/{b.get('max_requests_per_hour', '?')} requests this hour, "
            f"{b.get('tokens_today', 0)}/{b.get('max_tokens_per_day', '?')} tokens today "
            f"({b.get('requests_total', 0)} requests, {b.get('tokens_total', 0)} tokens in all)"
        )
        lines.append(f"  work       {m['items']} item(s), {m['actions']} tool call(s), {m['errors']} error(s)")
        if m.get("last_action"):
            lines.append(f"  last       {m['last_action_at']}  {printable(m['last_action'])}")
        if m.get("last_error"):
            lines.append(f"  last error {m['last_error_at']}  {printable(m['last_error'])}")
    return "\n".join(lines) + "\n"
