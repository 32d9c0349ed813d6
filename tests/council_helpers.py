"""For the council's tests: a clock the test moves, members and councils built in code, and
a transcript that a test can wait on (no sleeps)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

from hivegov_mcp.council.config import Council, Member
from hivegov_mcp.council.scripted import ChatRequest, Reply, ballot, call, say
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class FakeTime:
    """The council's clock in a test. A wait shorter than `auto_s` passes at once (and is
    recorded); a longer one waits until the test moves the clock past it."""

    def __init__(self, auto_s: float = 60.0, start: datetime = START) -> None:
        self._now = start
        self.auto_s = auto_s
        self.waits: list[float] = []
        self._moved = anyio.Event()

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        until = self._now + timedelta(seconds=seconds)
        if seconds < self.auto_s:
            self._now = until
            await anyio.lowlevel.checkpoint()
            return
        while self._now < until:
            await self._moved.wait()

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._moved.set()
        self._moved = anyio.Event()


class Transcript:
    """The council's lines, kept; `wait_for` returns once a line containing the text is said."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._said = anyio.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self._said.set()
        self._said = anyio.Event()

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    async def wait_for(self, text: str, timeout: float = 60.0, after: int = 0) -> str:  # noqa: ASYNC109
        """The first line from `after` on that contains `text`, once it is said."""
        with anyio.fail_after(timeout):
            while True:
                for line in self.lines[after:]:
                    if text in line:
                        return line
                await self._said.wait()


def member(agent: str, token: str, model: str, base_url: str, **settings: object) -> Member:
    values: dict[str, object] = {
        "api_key": None,
        "persona": None,
        "max_requests_per_hour": 100,
        "max_tokens_per_day": 10_000_000,
        "blind_first_round": False,
        "timeout_seconds": 30.0,
    }
    values.update(settings)
    return Member(agent=agent, token=token, model=model, base_url=base_url, **values)  # type: ignore[arg-type]


def council(
    folder: Path, members: Iterable[Member], *, server: str | None = None, db: Path | None = None, steps: int = 6
) -> Council:
    return Council(
        path=folder / "council.toml",
        server=server,
        db=db,
        max_steps_per_item=steps,
        members=tuple(members),
        status_file=folder / "council.status.json",
    )


JUSTIFICATION = "The specification is clear and the change is safe to adopt."


async def people(service: GovernanceService) -> None:
    await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])
    await service.register_agent(LOCAL_ADMIN, "carol", ["mediator"])


async def open_vote(service: GovernanceService, options: list[str] | None = None) -> str:
    """alice's proposal (with `options`, for a type decided on them), discussed and sent to voting by carol."""
    alice = await agent(service, "alice")
    carol = await agent(service, "carol")
    pid = (await service.create_proposal(alice, **PROPOSAL, options=options)).id
    await service.start_discussion(alice, pid)
    await service.conclude_discussion(carol, pid, "approved-for-voting", "Ready.")
    return pid


async def agent(service: GovernanceService, agent_id: str) -> Agent:
    async with service.store.read() as tx:
        found = await tx.get_agent(agent_id)
    assert found is not None
    return found


def votes_approve(req: ChatRequest) -> Reply:
    """Approve (a vote on options: in the field its method takes, the first option first)."""
    item = req.item
    if req.calls or item.get("tool") != "cast_vote":
        return say("Done." if req.calls else "Nothing to do.")
    return call("cast_vote", proposal_id=item["proposal_id"], **ballot(req.vote), justification=JUSTIFICATION)


async def ballots(service: GovernanceService, pid: str) -> dict[str, str]:
    log = await service.get_audit_log(LOCAL_ADMIN, proposal_id=pid, limit=200)
    return {e.actor: e.action for e in log.events if e.action == "cast_vote"}
