"""A bulk loader for benchmark databases: many proposals, comments and votes in the store's own
schema, with the search index, a valid audit chain and its Merkle tree, and state that agrees
with the log; written in large transactions.

Not a front door: it writes as `@bench`, skips the service's checks, and exists so that the
scale benchmark can build a 100,000-proposal database in minutes rather than hours.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hivegov_mcp.domain.audit import GENESIS, ballot_commitment, canonical_json, content_hash, event_bytes, event_hash
from hivegov_mcp.domain.merkle import Frontier, cover, leaf_hash
from hivegov_mcp.domain.models import ProposalContent
from hivegov_mcp.domain.render import search_body

ACTOR = "@bench"
FORMAT = 2  # bump when what the loader writes changes: cached databases of another format are rebuilt
JUSTIFICATION = "A benchmark vote, justified."
VOTE_ROW = "INSERT INTO votes (proposal_id, agent_id, decision, justification, cast_at) VALUES (?, ?, ?, ?, ?)"
INDEX_ROW = "INSERT INTO search_index (rowid, proposal_id, kind, comment_id, title, body) VALUES (?, ?, ?, ?, ?, ?)"
STATUSES = (
    ["approved"] * 50 + ["rejected"] * 30 + ["draft"] * 8 + ["discussion"] * 6 + ["voting"] * 4 + ["revision"] * 2
)
VOCABULARY = [f"term{n}" for n in range(5000)]
BIG_DISCUSSION = 1000  # comments on BIP-001, for get_discussion at scale


@dataclass(frozen=True)
class Scale:
    proposals: int
    comments: int
    votes: int
    agents: int = 100


def _words(rng: random.Random, count: int) -> str:
    # A skewed vocabulary: low-numbered terms are common, high-numbered ones rare; every text
    # also holds "governance", the common word of the benchmark.
    picks = [VOCABULARY[min(len(VOCABULARY) - 1, int(rng.paretovariate(1.2)) - 1)] for _ in range(count)]
    return "governance " + " ".join(picks)


class Chain:
    """The audit chain and its Merkle tree, grown as the store grows them."""

    def __init__(self, con: sqlite3.Connection) -> None:
        row = con.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
        self.seq: int = row[0] if row else 0
        self.prev: str = row[1] if row else GENESIS
        edge = [
            con.execute("SELECT hash FROM audit_tree WHERE level = ? AND idx = ?", node).fetchone()[0]
            for node in cover(0, self.seq)
        ]
        self.tree = Frontier(self.seq, edge)
        self.rows: list[tuple[object, ...]] = []
        self.nodes: list[tuple[int, int, bytes]] = []

    def add(self, at: str, action: str, subject: str, payload: dict[str, object], actor: str = ACTOR) -> None:
        self.seq += 1
        body = canonical_json(payload)
        digest = event_hash(self.prev, seq=self.seq, at=at, actor=actor, action=action, subject=subject, payload=body)
        self.rows.append((self.seq, at, actor, action, subject, body, self.prev, digest))
        self.prev = digest
        data = event_bytes(seq=self.seq, at=at, actor=actor, action=action, subject=subject, payload=body)
        self.nodes += [(level, idx, h) for (level, idx), h in self.tree.append(leaf_hash(data))]

    def flush(self, con: sqlite3.Connection) -> None:
        con.executemany("INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self.rows)
        con.executemany("INSERT INTO audit_tree (level, idx, hash) VALUES (?, ?, ?)", self.nodes)
        self.rows.clear()
        self.nodes.clear()


def _batches(total: int, size: int) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(total, start + size))


def load(path: Path, scale: Scale, *, seed: int = 6) -> None:
    """Fill a migrated, empty database (rules stored) with `scale` worth of governance."""
    rng = random.Random(seed)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    at = start.isoformat(timespec="microseconds")
    chain = Chain(con)
    agents = [f"agent{n:03d}" for n in range(scale.agents)]
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO agents (id, display_name, roles, weight, active, token_hash, created_at) "
        "VALUES (?, ?, ?, 1, 1, ?, ?)",
        [(a, a, json.dumps(["discussant", "proposer", "voter"]), f"bench-{a}", at) for a in agents],
    )
    for a in agents:
        chain.add(at, "register_agent", f"agent:{a}", {"roles": ["discussant", "proposer", "voter"], "weight": 1})
    chain.flush(con)
    con.execute("COMMIT")

    statuses = [rng.choice(STATUSES) for _ in range(scale.proposals)]
    statuses[0] = "discussion"
    for batch in _batches(scale.proposals, 5000):
        con.execute("BEGIN")
        proposals, versions, index = [], [], []
        for i in batch:
            number, status = i + 1, statuses[i]
            pid = f"BIP-{number:03d}"
            when = (start + timedelta(seconds=i)).isoformat(timespec="microseconds")
            content = ProposalContent(
                title=f"Proposal {number} on {_words(rng, 3)}",
                abstract=_words(rng, 30),
                motivation=_words(rng, 40),
                specification=_words(rng, 80),
                implementation="",
                dependencies=[],
            )
            digest = content_hash(content.hashed_fields())
            voting = status in ("voting", "approved", "rejected")
            deadline = (start + timedelta(days=400)).isoformat(timespec="microseconds")
            proposals.append(
                (pid, number, rng.choice(["standards", "informational", "process"]), status, rng.choice(agents),
                 1, 1 if status != "draft" else 0, 0, deadline if status in ("discussion", "voting") else None,
                 status if status in ("approved", "rejected") else None, None, when if voting else None,
                 when if status in ("approved", "rejected") else None, when, when, 1 if voting else None)
            )  # fmt: skip
            versions.append(
                (pid, 1, content.title, content.abstract, content.motivation, content.specification, "", "[]",
                 "initial version", digest, proposals[-1][4], when, None)
            )  # fmt: skip
            index.append((-number, pid, "proposal", None, content.title, search_body(content)))
            chain.add(when, "create_proposal", pid, {"type": proposals[-1][2], "version": 1, "content_hash": digest})
            if status != "draft":  # one event for the moves the loader skips (the state check reads it)
                reached = "voting" if status in ("approved", "rejected") else status
                chain.add(when, "bulk_load", pid, {"from": "draft", "to": reached})
        con.executemany(f"INSERT INTO proposals VALUES ({', '.join('?' * 16)})", proposals)
        con.executemany(f"INSERT INTO proposal_versions VALUES ({', '.join('?' * 13)})", versions)
        con.executemany(
            INDEX_ROW,
            index,
        )
        chain.flush(con)
        con.execute("COMMIT")

    discussed = [i for i, s in enumerate(statuses) if s != "draft"]
    next_comment = 1 + (con.execute("SELECT COALESCE(MAX(id), 0) FROM comments").fetchone()[0])
    for batch in _batches(scale.comments, 20000):
        con.execute("BEGIN")
        comments, index = [], []
        for k in batch:
            i = 0 if k < min(BIG_DISCUSSION, scale.comments // 2) else rng.choice(discussed)
            pid, cid = f"BIP-{i + 1:03d}", next_comment
            next_comment += 1
            text = _words(rng, 25)
            kind = rng.choice(["comment", "comment", "support", "suggestion"])
            comments.append((cid, pid, 1, rng.choice(agents), kind, text, None, "[]", at))
            index.append((cid, pid, "comment", cid, "", text))
            digest = hashlib.sha256(text.encode()).hexdigest()
            chain.add(at, "add_comment", pid, {"comment_id": cid, "type": kind, "round": 1, "content_sha256": digest})
        con.executemany(
            "INSERT INTO comments (id, proposal_id, round, author, type, content, parent_id, refs, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            comments,
        )
        con.executemany(
            INDEX_ROW,
            index,
        )
        chain.flush(con)
        con.execute("COMMIT")

    voted = [i for i, s in enumerate(statuses) if s in ("voting", "approved", "rejected")]
    per = max(1, min(scale.agents, -(-scale.votes // max(1, len(voted)))))  # ceil: exactly `votes` in all
    remaining = scale.votes
    for batch in _batches(len(voted), 2000):
        con.execute("BEGIN")
        eligible, votes = [], []
        for j in batch:
            pid = f"BIP-{voted[j] + 1:03d}"
            chosen = rng.sample(agents, per)
            eligible += [(pid, a, 1) for a in chosen]
            ballots = {}
            for a in chosen[: min(per, remaining)]:
                decision = rng.choice(["approve", "reject", "abstain"])
                votes.append((pid, a, decision, JUSTIFICATION, at))
                ballots[a] = decision
                commitment = ballot_commitment(decision, JUSTIFICATION, None)
                chain.add(at, "cast_vote", pid, {"ballot_sha256": commitment, "replaces_earlier": False}, actor=a)
            if statuses[voted[j]] != "voting":  # the vote was closed with these ballots
                chain.add(at, "bulk_load", pid, {"from": "voting", "to": statuses[voted[j]], "ballots": ballots})
            remaining -= min(per, remaining)
        con.executemany("INSERT INTO eligible_voters VALUES (?, ?, ?)", eligible)
        con.executemany(VOTE_ROW, votes)
        chain.flush(con)
        con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
