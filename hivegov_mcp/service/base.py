"""What every service operation shares: the rules from the database, the one write entry
(with the per-agent write limit), deadlines first, loading proposals."""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from hivegov_mcp.domain import limits, replay_registry
from hivegov_mcp.domain.audit import content_hash
from hivegov_mcp.domain.clock import Clock
from hivegov_mcp.domain.config import GovernanceConfig, ProposalType, parse_config
from hivegov_mcp.domain.errors import ConfigError, InvalidInput, NotFound, RateLimited, ReadOnlyGrant
from hivegov_mcp.domain.models import Agent, Proposal, ProposalContent, ProposalReceipt, Receipt
from hivegov_mcp.domain.phases import DEADLINE_ACTIONS, phase_of
from hivegov_mcp.service import engine, guards
from hivegov_mcp.service.checkpoint import Signer
from hivegov_mcp.store.base import ProposalState, Store, StoredRules, Transaction

INITIAL_NOTE = "initial version"
WRITE_WINDOW = timedelta(minutes=1)
MAX_DEADLINE_PASSES = 3  # a read finding passed deadlines applies them and reads again, this often


P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="ServiceBase")


def writes(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """A write operation: run whole on the store's writer, committed with its batch (group commit).

    The one write entry: an acting agent that may not write (an OAuth grant of hivegov:read only,
    `Agent.may_write`) is refused here, before anything is checked or written, whatever the write
    (one every agent may make, one its author may, one of its roles). The acting agent is the
    method's first argument, `actor`, when it has one (checked here when the method is defined)."""
    names = list(inspect.signature(method).parameters)
    if "actor" in names and names.index("actor") != 1:
        raise TypeError(f"{method.__qualname__}: a write's actor is its first argument")

    @functools.wraps(method)
    async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        actor = kwargs.get("actor", args[0] if args else None)
        if isinstance(actor, Agent) and not actor.may_write:
            raise ReadOnlyGrant(actor.id, method.__name__)
        return await self.store.submit(lambda: method(self, *args, **kwargs))

    run.__transaction__ = "write"  # type: ignore[attr-defined]  # read by the catalogue's checks
    return run


class DeadlinesDue(Exception):
    """Raised inside a read operation that found passed deadlines: `@reads` applies them (a
    write) and runs the read again."""

    def __init__(self, due: list[str], now: datetime) -> None:
        super().__init__(f"{len(due)} deadlines to apply first")
        self.due, self.now = due, now


def reads(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """A read operation: run whole on the store's reader, in one snapshot in which no deadline
    has passed unapplied."""

    @functools.wraps(method)
    async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        for _ in range(MAX_DEADLINE_PASSES):
            try:
                return await self.store.run_read(lambda: method(self, *args, **kwargs))
            except DeadlinesDue as due:
                await self._apply_deadlines(due.due, due.now)
        return await method(self, *args, **kwargs)  # deadlines keep passing: read as they come

    run.__transaction__ = "read"  # type: ignore[attr-defined]  # read by the catalogue's checks
    return run


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hash_content(content: ProposalContent) -> str:
    return content_hash(content.hashed_fields())


def is_system(agent: Agent) -> bool:
    """The local administrator (@cli) and the engine (@engine) are not agents that a limit slows."""
    return agent.id.startswith("@")


class RuleBook:
    """The rules stored in the database, parsed once per version (versions never change)."""

    def __init__(self) -> None:
        self._parsed: dict[int, GovernanceConfig] = {}
        # The version in force as read by the latest transaction: within one transaction (one
        # snapshot) it can't change, so the write limit, the operation and the engine share one read.
        self._seen: tuple[Transaction, tuple[int, GovernanceConfig]] | None = None

    async def current(self, tx: Transaction) -> tuple[int, GovernanceConfig]:
        if self._seen is not None and self._seen[0] is tx:
            return self._seen[1]
        stored = await tx.current_rules()
        # A database opened without the factory has no rules stored: the defaults are version 0.
        found = (0, GovernanceConfig()) if stored is None else (stored.version, await self._parse(tx, stored))
        self._seen = (tx, found)
        return found

    async def at(self, tx: Transaction, version: int) -> GovernanceConfig:
        if version in self._parsed:
            return self._parsed[version]
        stored = await tx.rules_version(version)
        if stored is None:
            return GovernanceConfig()
        return await self._parse(tx, stored)

    async def _parse(self, tx: Transaction, stored: StoredRules) -> GovernanceConfig:
        """A version's rules, parsed once, after checking its text against the hash its
        rules_changed event recorded: a rewritten rules row is refused (LogTampered), not used."""
        version = stored.version
        if version not in self._parsed:
            events = await tx.audit_events(subject="rules", after_seq=0, limit=None)
            found = replay_registry.check_rules(
                [(version, stored.toml, stored.hash)],
                [e for e in map(guards.logged, events) if e.payload.get("version") == version],
            )
            if found is not None:
                raise guards.tampered(tx, "rules_versions", f"version {version}: {found.problem}", found.seq)
            try:
                self._parsed[version] = parse_config(stored.toml)
            except ConfigError as exc:
                raise ConfigError(f"rules version {version} in the database", exc.problem) from None
        return self._parsed[version]


class ServiceBase:
    """The store, the rules book and the clock, and the plumbing every operation shares."""

    def __init__(self, store: Store, clock: Clock, signer: Signer) -> None:
        self.store = store
        self.clock = clock
        self.signer = signer  # signs checkpoints of the audit log
        self.rules = RuleBook()
        self._tokens_checked: set[tuple[str, str]] = set()  # (agent, token hash) found as the log issued it

    # -- the one write entry --------------------------------------------------------------------
    @asynccontextmanager
    async def _begin(self, actor: Agent) -> AsyncIterator[tuple[Transaction, datetime]]:
        """A write transaction for `actor`, refused when it has used up its writes for the minute.

        The count comes from the audit log inside the write lock, so the limit holds across
        every process on the database."""
        async with self.store.write() as tx:
            now = self.clock.now()
            await self._check_write_limit(tx, actor, now)
            yield tx, now

    async def _check_write_limit(self, tx: Transaction, actor: Agent, now: datetime) -> None:
        if is_system(actor):
            return
        _, config = await self.rules.current(tx)
        limit = config.writes_per_agent_per_minute
        written, oldest = await tx.count_writes_since(actor.id, now - WRITE_WINDOW)
        if written >= limit and oldest is not None:
            retry_at = oldest + WRITE_WINDOW
            seconds = max(1, int((retry_at - now).total_seconds() + 0.999))
            raise RateLimited(actor.id, limit, retry_at, seconds)

    @asynccontextmanager
    async def _write(
        self, actor: Agent, proposal_id: str
    ) -> AsyncIterator[tuple[Transaction, ProposalState, datetime]]:
        """A write transaction on one proposal, after applying its passed deadline.

        A passed deadline is committed in a transaction of its own first, so that an operation
        refused afterwards can't undo the engine's move."""
        async with self.store.write() as tx:
            now = self.clock.now()
            state, moved = await engine.apply_deadline(tx, self.rules, proposal_id, now)
            if state is None:
                raise self._unknown_proposal(proposal_id)
            if not moved:
                await self._check_write_limit(tx, actor, now)
                yield tx, state, now
                return
        async with self._begin(actor) as (tx, now):
            state, _ = await engine.apply_deadline(tx, self.rules, proposal_id, now)
            assert state is not None
            yield tx, state, now

    @asynccontextmanager
    async def _begin_settled(self, actor: Agent) -> AsyncIterator[tuple[Transaction, datetime]]:
        """A write transaction for `actor` after every passed deadline is applied (committed first,
        in a transaction of its own): a write that changes how open votes are counted (a
        delegation) then counts only for votes still open, never for one whose deadline passed."""
        async with self.store.write() as tx:
            now = self.clock.now()
            for proposal_id in await self._due(tx, now):
                await engine.apply_deadline(tx, self.rules, proposal_id, now)
        async with self._begin(actor) as (tx, now):
            yield tx, now

    @asynccontextmanager
    async def _read(self, proposal_id: str | None = None) -> AsyncIterator[tuple[Transaction, datetime]]:
        """A read snapshot in which no deadline (of this proposal, or of any) has passed unapplied."""
        now = self.clock.now()
        async with self.store.read() as tx:
            due = [p for p in await self._due(tx, now) if proposal_id is None or p == proposal_id]
            if not due:
                yield tx, now
                return
        if self.store.in_read_operation:
            raise DeadlinesDue(due, now)
        await self._apply_deadlines(due, now)
        async with self.store.read() as tx:
            yield tx, now

    @staticmethod
    async def _due(tx: Transaction, now: datetime) -> list[str]:
        return await tx.due_proposals(now, tuple(DEADLINE_ACTIONS))

    async def _state(self, tx: Transaction, proposal_id: str) -> ProposalState:
        state = await tx.get_proposal(proposal_id)
        if state is None:
            raise self._unknown_proposal(proposal_id)
        return state

    @staticmethod
    def _unknown_proposal(proposal_id: str) -> NotFound:
        return NotFound("proposal", proposal_id, hint="List or search the proposals to find their ids.")

    @writes
    async def apply_due_deadlines(self, now: datetime | None = None) -> list[str]:
        """Process every passed deadline; return the ids this call processed."""
        now = now or self.clock.now()
        async with self.store.read() as tx:
            due = await self._due(tx, now)
        return await self._apply_deadlines(due, now) if due else []

    @writes
    async def _apply_deadlines(self, due: list[str], now: datetime) -> list[str]:
        processed = []
        async with self.store.write() as tx:
            for proposal_id in due:
                _, moved = await engine.apply_deadline(tx, self.rules, proposal_id, now)
                if moved:
                    processed.append(proposal_id)
        return processed

    async def _proposal(self, tx: Transaction, state: ProposalState, version: int | None = None) -> Proposal:
        number = state.version if version is None else version
        v = await tx.get_version(state.id, number)
        if v is None:
            raise NotFound(
                "version",
                number,
                hint=f"{state.id} has versions 1 to {state.version}; its history lists them.",
            )
        return Proposal(
            **v.content.model_dump(),
            id=state.id,
            type=ProposalType(state.type),
            status=state.status,
            phase=phase_of(state.status),
            author=state.author,
            version=v.version,
            latest_version=state.version,
            change_note=v.change_note,
            content_hash=v.content_hash,
            round=state.round,
            revision_rounds=state.revision_rounds,
            deadline=state.deadline,
            rules_version=state.rules_version,
            outcome_reason=state.outcome_reason,
            created_at=state.created_at,
            updated_at=state.updated_at,
        )

    async def _proposal_receipt(self, tx: Transaction, state: ProposalState, receipt: Receipt) -> ProposalReceipt:
        proposal = await self._proposal(tx, state)
        return ProposalReceipt(**proposal.model_dump(), receipt=receipt)

    async def _check_dependencies(self, tx: Transaction, deps: Sequence[str], *, own_id: str | None) -> list[str]:
        if len(deps) > limits.MAX_DEPENDENCIES:
            raise InvalidInput("dependencies", f"has {len(deps)} entries; the limit is {limits.MAX_DEPENDENCIES}")
        unique = list(dict.fromkeys(deps))
        for dep in unique:
            limits.check_encodable("dependencies", dep)
            if dep == own_id:
                raise InvalidInput("dependencies", f"{dep} can't depend on itself")
            if await tx.get_proposal(dep) is None:
                raise NotFound("proposal", dep, hint="Dependencies must name existing proposals.")
        return unique

    @staticmethod
    def _check_content(content: ProposalContent) -> None:
        limits.check_title(content.title)
        for name in ("abstract", "motivation", "specification", "implementation"):
            limits.check_text(
                name,
                getattr(content, name),
                max_bytes=limits.MAX_FIELD_BYTES,
                required=name != "implementation",
            )

    @staticmethod
    def _reason(field: str, value: str) -> str:
        return limits.check_text(field, value, max_bytes=limits.MAX_REASON_BYTES)
