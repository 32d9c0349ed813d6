"""The SQL of an agent's agenda: what may need it, read across proposals, ballots, comments,
summaries, validations and appeals (both engines). Each kind is one statement, at most 200 rows,
oldest proposal first. A proposal's current round is `proposals.round` (the latest row of
`rounds`: both are written by the move that opens a round)."""

from __future__ import annotations

from collections.abc import Collection

from hivegov_mcp.domain.phases import Status
from hivegov_mcp.store.rows import dt
from hivegov_mcp.store.sql.executor import Executor
from hivegov_mcp.store.values import AgendaRow

_HEAD = "p.id AS pid, v.title AS title, p.status AS status, p.deadline AS deadline"
_LATEST = "JOIN proposal_versions v ON v.proposal_id = p.id AND v.version = p.version"
_DISCUSSED = f"SELECT {_HEAD}, NULL AS ref FROM proposals p {_LATEST} WHERE p.status = 'discussion'"
# The current round has a comment a moderator has not hidden.
_ROUND_HAS_COMMENTS = (
    "EXISTS (SELECT 1 FROM comments c WHERE c.proposal_id = p.id AND c.round = p.round AND c.hidden_at IS NULL)"
)

_OPEN_OBJECTION = (  # unresolved and not hidden, on the proposal (as conclude_discussion counts them)
    "SELECT 1 FROM comments o WHERE o.proposal_id = p.id AND o.type = 'objection' AND o.resolved_by IS NULL "
    "AND o.hidden_at IS NULL"
)


class AgendaSQL(Executor):
    async def agenda(self, agent_id: str, kinds: Collection[str]) -> list[AgendaRow]:
        a = self.dialect.named("a")
        queries = {
            "vote": (
                f"SELECT {_HEAD}, NULL AS ref FROM eligible_voters e JOIN proposals p ON p.id = e.proposal_id "
                f"{_LATEST} WHERE e.agent_id = {a} AND p.status = 'voting' AND NOT EXISTS "
                f"(SELECT 1 FROM votes x WHERE x.proposal_id = p.id AND x.agent_id = {a})"
            ),
            "objection": (
                f"SELECT {_HEAD}, c.id AS ref FROM comments c JOIN proposals p ON p.id = c.proposal_id {_LATEST} "
                f"WHERE c.author = {a} AND c.type = 'objection' AND c.resolved_by IS NULL AND c.hidden_at IS NULL "
                "AND v.version > 1 AND v.created_at >= c.created_at"
            ),
            "revise": (
                f"SELECT {_HEAD}, NULL AS ref FROM proposals p {_LATEST} WHERE p.author = {a} AND p.status = 'revision'"
            ),
            # someone else's open discussion the agent has not commented on in this round
            "discussion": (
                f"{_DISCUSSED} AND p.author <> {a} AND NOT EXISTS (SELECT 1 FROM comments c "
                f"WHERE c.proposal_id = p.id AND c.round = p.round AND c.author = {a})"
            ),
            # a round with comments and no summary published for it
            "summary": (
                f"{_DISCUSSED} AND {_ROUND_HAS_COMMENTS} AND NOT EXISTS "
                "(SELECT 1 FROM round_summaries s WHERE s.proposal_id = p.id AND s.round = p.round)"
            ),
            # a round with comments and no objection open (unresolved and not hidden) on the proposal
            "conclude": f"{_DISCUSSED} AND {_ROUND_HAS_COMMENTS} AND NOT EXISTS ({_OPEN_OBJECTION})",
            # a round with comments and an objection open: it can only end in revision (or wait)
            "conclude_blocked": f"{_DISCUSSED} AND {_ROUND_HAS_COMMENTS} AND EXISTS ({_OPEN_OBJECTION})",
            # a current version the agent has not validated
            "validate": (
                f"{_DISCUSSED} AND NOT EXISTS (SELECT 1 FROM validations x "
                f"WHERE x.proposal_id = p.id AND x.version = p.version AND x.validator = {a})"
            ),
            "claim": (
                f"SELECT {_HEAD}, NULL AS ref FROM proposals p {_LATEST} "
                "WHERE p.status IN ('approved', 'execution_failed') AND p.deadline IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM appeals x WHERE x.proposal_id = p.id AND x.decision IS NULL)"
            ),
            "appeal": (
                f"SELECT {_HEAD}, x.id AS ref FROM appeals x JOIN proposals p ON p.id = x.proposal_id {_LATEST} "
                "WHERE x.decision IS NULL"
            ),
        }
        found: list[AgendaRow] = []
        unknown = set(kinds) - set(queries)
        if unknown:
            raise ValueError(f"no agenda kind {sorted(unknown)}")
        for kind, sql in queries.items():
            if kind not in kinds:
                continue
            for r in await self._all(sql + " ORDER BY p.number LIMIT 200", {"a": agent_id}):
                found.append(AgendaRow(kind, r["pid"], r["title"], Status(r["status"]), dt(r["deadline"]), r["ref"]))
        return found
