"""Proposal operations: create, read, list, revise, history, diff, withdraw, search."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from datetime import datetime

from hivegov_mcp.domain import limits
from hivegov_mcp.domain.ballots import check_options_fit, checked_options
from hivegov_mcp.domain.config import ProposalType
from hivegov_mcp.domain.errors import (
    InvalidInput,
    NotFound,
    StaleVersion,
)
from hivegov_mcp.domain.models import (
    Agent,
    Proposal,
    ProposalContent,
    ProposalDiff,
    ProposalHistory,
    ProposalPage,
    ProposalReceipt,
    ProposalSummary,
    SearchHit,
    SearchResults,
    Transition,
    VersionInfo,
)
from hivegov_mcp.domain.permissions import require
from hivegov_mcp.domain.phases import INITIAL_STATUS, Action, Status, check_action
from hivegov_mcp.domain.render import content_markdown, snippet
from hivegov_mcp.service import engine
from hivegov_mcp.service.base import (
    INITIAL_NOTE,
    ServiceBase,
    hash_content,
    reads,
    writes,
)
from hivegov_mcp.store.base import ProposalState, Version


class ProposalOperations(ServiceBase):
    @writes
    async def create_proposal(
        self,
        actor: Agent,
        *,
        title: str,
        type: str,
        abstract: str,
        motivation: str,
        specification: str,
        implementation: str = "",
        dependencies: Sequence[str] = (),
        options: Sequence[str] | None = None,
    ) -> ProposalReceipt:
        require(actor.id, "create_proposal", actor.roles)
        kind = limits.choice("type", ProposalType, type)
        content = ProposalContent(
            title=title,
            abstract=abstract,
            motivation=motivation,
            specification=specification,
            implementation=implementation,
            dependencies=list(dependencies),
            options=checked_options(options) if options else [],
        )
        self._check_content(content)
        async with self._begin(actor) as (tx, now):
            _, config = await self.rules.current(tx)
            check_options_fit(kind.value, config.rules_for(kind).method, content.options)
            content = content.model_copy(
                update={"dependencies": await self._check_dependencies(tx, dependencies, own_id=None)}
            )
            number = await tx.next_proposal_number()
            proposal_id = f"{config.id_prefix}-{number:03d}"
            state = ProposalState(
                id=proposal_id,
                number=number,
                type=kind.value,
                status=INITIAL_STATUS,
                author=actor.id,
                version=1,
                round=0,
                revision_rounds=0,
                deadline=None,
                outcome=None,
                outcome_reason=None,
                voting_opened_at=None,
                voting_closed_at=None,
                created_at=now,
                updated_at=now,
            )
            await tx.insert_proposal(state)
            digest = hash_content(content)
            await tx.insert_version(Version(proposal_id, 1, content, INITIAL_NOTE, digest, actor.id, now))
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="create_proposal",
                subject=proposal_id,
                payload={"type": kind.value, "version": 1, "content_hash": digest, "title": content.title},
            )
            return await self._proposal_receipt(tx, state, receipt)

    @reads
    async def get_proposal(self, actor: Agent, proposal_id: str, version: int | None = None) -> Proposal:
        limits.check_encodable("proposal_id", proposal_id)
        async with self._read(proposal_id) as (tx, _):
            return await self._proposal(tx, await self._state(tx, proposal_id), version)

    @reads
    async def list_proposals(
        self,
        actor: Agent,
        *,
        status: str | None = None,
        type: str | None = None,
        author: str | None = None,
        limit: int = limits.DEFAULT_LIST,
        cursor: str | None = None,
    ) -> ProposalPage:
        if not 1 <= limit <= limits.MAX_LIST:
            raise InvalidInput("limit", f"{limit} must be between 1 and {limits.MAX_LIST}")
        if status is not None and status not in Status.__members__.values():
            raise InvalidInput("status", f"{status!r} is not a status; use one of {', '.join(Status)}")
        if type is not None and type not in ProposalType.__members__.values():
            raise InvalidInput("type", f"{type!r} is not a type; use one of {', '.join(ProposalType)}")
        before: int | None = None
        if cursor is not None:
            if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
                raise InvalidInput("cursor", f"{cursor!r} is not a cursor from a previous list_proposals page")
            before = int(cursor)
        async with self._read() as (tx, _):
            rows = await tx.list_proposals(
                status=status, type=type, author=author, before_number=before, limit=limit + 1
            )
        page = rows[:limit]
        summaries = [
            ProposalSummary(
                id=s.id,
                title=title,
                type=ProposalType(s.type),
                status=s.status,
                author=s.author,
                version=s.version,
                deadline=s.deadline,
                updated_at=s.updated_at,
            )
            for s, title in page
        ]
        next_cursor = str(page[-1][0].number) if len(rows) > limit else None
        return ProposalPage(proposals=summaries, next_cursor=next_cursor)

    @writes
    async def revise_proposal(
        self,
        actor: Agent,
        proposal_id: str,
        *,
        expected_version: int,
        change_note: str,
        title: str | None = None,
        abstract: str | None = None,
        motivation: str | None = None,
        specification: str | None = None,
        implementation: str | None = None,
        dependencies: Sequence[str] | None = None,
        options: Sequence[str] | None = None,
    ) -> ProposalReceipt:
        limits.check_text("change_note", change_note, max_bytes=limits.MAX_REASON_BYTES)
        labels = (checked_options(options) if options else []) if options is not None else None
        limits.check_encodable("proposal_id", proposal_id)
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.REVISE)
            require(actor.id, "revise_proposal", actor.roles, is_author=actor.id == state.author)
            if expected_version != state.version:
                raise StaleVersion(state.id, expected_version, state.version)
            current = await tx.get_version(state.id, state.version)
            assert current is not None
            changes: dict[str, object] = {
                k: v
                for k, v in {
                    "title": title,
                    "abstract": abstract,
                    "motivation": motivation,
                    "specification": specification,
                    "implementation": implementation,
                }.items()
                if v is not None
            }
            if dependencies is not None:
                changes["dependencies"] = await self._check_dependencies(tx, dependencies, own_id=state.id)
            if labels is not None:
                _, config = await self.rules.current(tx)
                check_options_fit(state.type, config.rules_for(state.type).method, labels)
                changes["options"] = labels
            content = current.content.model_copy(update=changes)
            self._check_content(content)
            digest = hash_content(content)
            if digest == current.content_hash:
                raise InvalidInput("revision", "changes nothing; pass at least one field with new text")
            number = state.version + 1
            await tx.insert_version(Version(state.id, number, content, change_note, digest, actor.id, now))
            state, receipt = await engine.move(
                tx,
                state,
                Action.REVISE,
                actor=actor.id,
                now=now,
                payload={"version": number, "content_hash": digest, "change_note": change_note},
                version=number,
            )
            return await self._proposal_receipt(tx, state, receipt)

    @reads
    async def get_proposal_history(self, actor: Agent, proposal_id: str) -> ProposalHistory:
        async with self._read(proposal_id) as (tx, _):
            await self._state(tx, proposal_id)
            versions = [
                VersionInfo(
                    version=v.version,
                    title=v.content.title,
                    change_note=v.change_note,
                    content_hash=v.content_hash,
                    author=v.author,
                    created_at=v.created_at,
                )
                for v in await tx.list_versions(proposal_id)
            ]
            transitions = []
            for ev in await tx.audit_events(subject=proposal_id, after_seq=0, limit=None):
                payload = json.loads(ev.payload)
                if "from" in payload and payload["from"] != payload.get("to"):
                    transitions.append(
                        Transition(
                            seq=ev.seq,
                            from_status=Status(payload["from"]),
                            to_status=Status(payload["to"]),
                            actor=ev.actor,
                            action=ev.action,
                            at=datetime.fromisoformat(ev.at),
                        )
                    )
        return ProposalHistory(
            proposal_id=proposal_id,
            versions=versions,
            transitions=transitions,
            appeals=await tx.appeals(proposal_id),
            executions=await tx.executions(proposal_id),
            validations=await tx.validations(proposal_id),
        )

    @reads
    async def diff_proposal(self, actor: Agent, proposal_id: str, from_version: int, to_version: int) -> ProposalDiff:
        async with self._read(proposal_id) as (tx, _):
            state = await self._state(tx, proposal_id)
            texts = []
            for number in (from_version, to_version):
                v = await tx.get_version(proposal_id, number)
                if v is None:
                    raise NotFound("version", number, hint=f"{proposal_id} has versions 1 to {state.version}.")
                texts.append(content_markdown(v.content))
        diff = difflib.unified_diff(
            texts[0].splitlines(keepends=True),
            texts[1].splitlines(keepends=True),
            fromfile=f"{proposal_id} v{from_version}",
            tofile=f"{proposal_id} v{to_version}",
        )
        return ProposalDiff(
            proposal_id=proposal_id, from_version=from_version, to_version=to_version, diff="".join(diff)
        )

    @writes
    async def withdraw_proposal(self, actor: Agent, proposal_id: str, reason: str) -> ProposalReceipt:
        self._reason("reason", reason)
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.WITHDRAW)
            require(actor.id, "withdraw_proposal", actor.roles, is_author=actor.id == state.author)
            if state.status is Status.DISCUSSION:
                await tx.conclude_round(state.id, state.round, now, "withdrawn")
            state, receipt = await engine.move(
                tx,
                state,
                Action.WITHDRAW,
                actor=actor.id,
                now=now,
                payload={"reason": reason},
                deadline=None,
                outcome=Status.WITHDRAWN.value,
                outcome_reason=reason,
            )
            return await self._proposal_receipt(tx, state, receipt)

    @reads
    async def search_proposals(self, actor: Agent, query: str, limit: int = limits.DEFAULT_SEARCH) -> SearchResults:
        if not 1 <= limit <= limits.MAX_SEARCH:
            raise InvalidInput("limit", f"{limit} must be between 1 and {limits.MAX_SEARCH}")
        limits.check_text("query", query, max_bytes=limits.MAX_QUERY_CHARS * 4)
        terms = list(dict.fromkeys(t.lower() for t in re.findall(r"\w+", query)))  # a repeated word adds nothing
        if not terms:
            raise InvalidInput("query", f"{query!r} has no words to search for")
        async with self._read() as (tx, _):
            terms = terms[: limits.MAX_QUERY_TERMS]
            raw = await tx.search(terms, limit)
        hits = [
            SearchHit(
                proposal_id=h.proposal_id,
                kind="comment" if h.kind == "comment" else "proposal",
                comment_id=h.comment_id,
                title=h.title,
                status=h.status,
                snippet=snippet(h.texts, terms),
                score=h.score,
            )
            for h in raw
        ]
        return SearchResults(query=query, hits=hits)
