"""Numbered migrations, applied in order on open and recorded in `schema_migrations`."""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "core",
        """
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    roles TEXT NOT NULL,                       -- JSON list
    weight INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 1),
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    token_hash TEXT NOT NULL UNIQUE,           -- SHA-256 of the token; the token is never stored
    created_at TEXT NOT NULL
);

CREATE TABLE proposals (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    type TEXT NOT NULL CHECK (type IN ('standards', 'informational', 'process')),
    status TEXT NOT NULL,
    author TEXT NOT NULL REFERENCES agents(id),
    version INTEGER NOT NULL,
    round INTEGER NOT NULL DEFAULT 0,
    revision_rounds INTEGER NOT NULL DEFAULT 0,
    deadline TEXT,                             -- end of the current discussion or voting phase
    outcome TEXT,
    outcome_reason TEXT,
    voting_opened_at TEXT,
    voting_closed_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX proposals_due ON proposals(deadline) WHERE deadline IS NOT NULL;
CREATE INDEX proposals_status ON proposals(status);

CREATE TABLE proposal_versions (
    proposal_id TEXT NOT NULL REFERENCES proposals(id),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    abstract TEXT NOT NULL,
    motivation TEXT NOT NULL,
    specification TEXT NOT NULL,
    implementation TEXT NOT NULL,
    dependencies TEXT NOT NULL,                -- JSON list of proposal ids
    change_note TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    author TEXT NOT NULL REFERENCES agents(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (proposal_id, version)
);

CREATE TABLE rounds (
    proposal_id TEXT NOT NULL REFERENCES proposals(id),
    round INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    deadline TEXT NOT NULL,
    concluded_at TEXT,
    outcome TEXT,
    summary TEXT,                              -- JSON of the stored summary of the round
    PRIMARY KEY (proposal_id, round)
);

CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id TEXT NOT NULL REFERENCES proposals(id),
    round INTEGER NOT NULL,
    author TEXT NOT NULL REFERENCES agents(id),
    type TEXT NOT NULL CHECK (type IN ('comment', 'suggestion', 'objection', 'support')),
    content TEXT NOT NULL,
    parent_id INTEGER REFERENCES comments(id),
    refs TEXT NOT NULL,                        -- JSON list of comment ids
    created_at TEXT NOT NULL,
    resolved_by TEXT REFERENCES agents(id),
    resolution_note TEXT,
    resolved_at TEXT
);
CREATE INDEX comments_proposal ON comments(proposal_id, round, author);

CREATE TABLE eligible_voters (
    proposal_id TEXT NOT NULL REFERENCES proposals(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    weight INTEGER NOT NULL,
    PRIMARY KEY (proposal_id, agent_id)
);

CREATE TABLE votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject', 'abstain')),
    justification TEXT NOT NULL,
    cast_at TEXT NOT NULL,
    FOREIGN KEY (proposal_id, agent_id) REFERENCES eligible_voters(proposal_id, agent_id)
);
CREATE INDEX votes_proposal ON votes(proposal_id, agent_id, id);

CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,                     -- canonical JSON
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_subject ON audit_events(subject, seq);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

CREATE VIRTUAL TABLE search_index USING fts5(
    proposal_id UNINDEXED,
    kind UNINDEXED,
    comment_id UNINDEXED,
    title,
    body,
    tokenize = 'porter unicode61'
);
""",
    ),
    (
        2,
        "audit_no_replace",
        """
-- INSERT OR REPLACE deletes the old row without firing DELETE triggers: refuse it too.
CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
WHEN EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq OR hash = NEW.hash)
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
""",
    ),
    (
        3,
        "rules_tallies_limits",
        """
-- Rules live in the database: every version, with the hash of its canonical TOML.
CREATE TABLE rules_versions (
    version INTEGER PRIMARY KEY,
    rules TEXT NOT NULL,                       -- canonical TOML
    hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    actor TEXT NOT NULL
);
-- The rules version a proposal's vote runs under, frozen when voting opens (NULL: version 1).
ALTER TABLE proposals ADD COLUMN rules_version INTEGER;

-- The tally, computed once at close and read ever after (never recounted).
CREATE TABLE vote_tallies (
    proposal_id TEXT PRIMARY KEY REFERENCES proposals(id),
    approve INTEGER NOT NULL,
    reject INTEGER NOT NULL,
    abstain INTEGER NOT NULL,
    eligible_weight INTEGER NOT NULL,
    voted_weight INTEGER NOT NULL,
    quorum_met INTEGER NOT NULL,
    consensus TEXT NOT NULL,                   -- an exact fraction, "n/d"
    outcome TEXT NOT NULL,
    reason TEXT,
    rules_version INTEGER
);
-- Votes closed before this migration: their tally is in the closing audit event.
INSERT INTO vote_tallies
SELECT e.subject,
       json_extract(e.payload, '$.tally.approve'),
       json_extract(e.payload, '$.tally.reject'),
       json_extract(e.payload, '$.tally.abstain'),
       (SELECT COALESCE(SUM(v.weight), 0) FROM eligible_voters v WHERE v.proposal_id = e.subject),
       json_extract(e.payload, '$.tally.approve') + json_extract(e.payload, '$.tally.reject')
           + json_extract(e.payload, '$.tally.abstain'),
       json_extract(e.payload, '$.quorum_met'),
       json_extract(e.payload, '$.consensus'),
       json_extract(e.payload, '$.to'),
       json_extract(e.payload, '$.reason'),
       NULL
FROM audit_events e
WHERE e.action IN ('close_voting', 'voting_deadline', 'early_close')
  AND e.seq = (SELECT MAX(f.seq) FROM audit_events f WHERE f.subject = e.subject
               AND f.action IN ('close_voting', 'voting_deadline', 'early_close'));

-- A stored summary remembers the audit event that stored it (so an unchanged one is not re-stored).
ALTER TABLE rounds ADD COLUMN summary_seq INTEGER;

-- Writes per agent per minute are counted from the audit log.
CREATE INDEX audit_actor ON audit_events(actor, at);

-- The search index keyed by rowid (-number for a proposal, the comment id for a comment), so
-- replacing a proposal's row is a rowid lookup rather than a scan of UNINDEXED columns.
CREATE VIRTUAL TABLE search_index_v2 USING fts5(
    proposal_id UNINDEXED,
    kind UNINDEXED,
    comment_id UNINDEXED,
    title,
    body,
    tokenize = 'porter unicode61'
);
INSERT INTO search_index_v2 (rowid, proposal_id, kind, comment_id, title, body)
SELECT CASE s.kind WHEN 'proposal' THEN -(SELECT p.number FROM proposals p WHERE p.id = s.proposal_id)
       ELSE s.comment_id END,
       s.proposal_id, s.kind, s.comment_id, s.title, s.body
FROM search_index s;
DROP TABLE search_index;
ALTER TABLE search_index_v2 RENAME TO search_index;
""",
    ),
    (
        4,
        "listing_indexes",
        """
-- Every listing filter pages by number (newest first) without a sort: one index per filter.
CREATE INDEX proposals_status_number ON proposals(status, number);
CREATE INDEX proposals_type_number ON proposals(type, number);
CREATE INDEX proposals_author_number ON proposals(author, number);
DROP INDEX proposals_status;
""",
    ),
    (
        5,
        "after_the_vote",
        """
-- Appeals against a resolution: one per resolution (the vote's close time names it).
CREATE TABLE appeals (
    id INTEGER PRIMARY KEY,
    proposal_id TEXT NOT NULL REFERENCES proposals(id),
    resolved_at TEXT NOT NULL,
    appellant TEXT NOT NULL REFERENCES agents(id),
    grounds TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    decision TEXT CHECK (decision IN ('uphold', 'reopen')),
    decided_by TEXT REFERENCES agents(id),
    reason TEXT,
    decided_at TEXT,
    UNIQUE (proposal_id, resolved_at)
);
-- Execution attempts: a claim (a lease), then a report, an expiry or a rollback.
CREATE TABLE executions (
    id INTEGER PRIMARY KEY,
    proposal_id TEXT NOT NULL REFERENCES proposals(id),
    attempt INTEGER NOT NULL,
    executor TEXT NOT NULL REFERENCES agents(id),
    claimed_at TEXT NOT NULL,
    lease_until TEXT NOT NULL,
    outcome TEXT CHECK (outcome IN ('succeeded', 'failed', 'expired')),
    details TEXT,
    artifacts TEXT NOT NULL DEFAULT '[]',
    reported_at TEXT,
    UNIQUE (proposal_id, attempt)
);
-- Validations of a version, and summaries written by summarizer agents, per round.
CREATE TABLE validations (
    id INTEGER PRIMARY KEY,
    proposal_id TEXT NOT NULL REFERENCES proposals(id),
    version INTEGER NOT NULL,
    validator TEXT NOT NULL REFERENCES agents(id),
    result TEXT NOT NULL CHECK (result IN ('pass', 'fail')),
    findings TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX validations_proposal ON validations(proposal_id, version, id);
CREATE TABLE round_summaries (
    id INTEGER PRIMARY KEY,
    proposal_id TEXT NOT NULL REFERENCES proposals(id),
    round INTEGER NOT NULL,
    author TEXT NOT NULL REFERENCES agents(id),
    text TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX round_summaries_proposal ON round_summaries(proposal_id, round, id);
-- Moderation: a hidden comment leaves views, summaries and search, and stays in the log.
ALTER TABLE comments ADD COLUMN hidden_by TEXT;
ALTER TABLE comments ADD COLUMN hidden_reason TEXT;
ALTER TABLE comments ADD COLUMN hidden_at TEXT;
""",
    ),
    (
        6,
        "webhooks",
        """
-- Endpoints an admin registered; each audit event is POSTed to each, signed with its secret.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    removed_at TEXT,
    from_seq INTEGER NOT NULL
);
-- Every delivery attempt. (webhook, seq, attempt 1) is taken by one process only: one delivery.
CREATE TABLE webhook_deliveries (
    webhook_id INTEGER NOT NULL REFERENCES webhooks(id),
    seq INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    delivered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (webhook_id, seq, attempt)
);
""",
    ),
    (
        7,
        "verifiable_log",
        """
-- The RFC 6962 Merkle tree over the audit events (DESIGN §16): the root of every perfect
-- subtree, (level, idx) covering leaves [idx * 2^level, (idx + 1) * 2^level); level 0 holds the
-- leaf hashes. Grown in the transaction of each append, never changed.
CREATE TABLE audit_tree (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TRIGGER audit_tree_no_update BEFORE UPDATE ON audit_tree
BEGIN SELECT RAISE(ABORT, 'audit_tree is append-only'); END;
CREATE TRIGGER audit_tree_no_delete BEFORE DELETE ON audit_tree
BEGIN SELECT RAISE(ABORT, 'audit_tree is append-only'); END;
CREATE TRIGGER audit_tree_no_replace BEFORE INSERT ON audit_tree
WHEN EXISTS (SELECT 1 FROM audit_tree WHERE level = NEW.level AND idx = NEW.idx)
BEGIN SELECT RAISE(ABORT, 'audit_tree is append-only'); END;
-- Every checkpoint signed: one root per size, ever.
CREATE TABLE audit_checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    signed_at TEXT NOT NULL
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
-- The random salt of a ballot's commitment in its cast_vote event (NULL: cast before salting).
ALTER TABLE votes ADD COLUMN salt TEXT;
""",
    ),
    (
        8,
        "decision_methods",
        """
-- Decision methods (DESIGN §20). A version's options: a JSON list of labels, option id = position
-- from 1 (NULL: none, a yes/no proposal).
ALTER TABLE proposal_versions ADD COLUMN options TEXT;
-- A ballot is a decision (majority) or an option ballot's canonical JSON, never both: the table is
-- rebuilt because SQLite can't drop a NOT NULL.
CREATE TABLE votes_methods (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    decision TEXT CHECK (decision IN ('approve', 'reject', 'abstain')),
    justification TEXT NOT NULL,
    cast_at TEXT NOT NULL,
    salt TEXT,
    ballot TEXT,
    CHECK ((decision IS NULL) <> (ballot IS NULL)),
    FOREIGN KEY (proposal_id, agent_id) REFERENCES eligible_voters(proposal_id, agent_id)
);
INSERT INTO votes_methods (id, proposal_id, agent_id, decision, justification, cast_at, salt, ballot)
SELECT id, proposal_id, agent_id, decision, justification, cast_at, salt, NULL FROM votes;
DROP TABLE votes;
ALTER TABLE votes_methods RENAME TO votes;
CREATE INDEX votes_proposal ON votes(proposal_id, agent_id, id);
-- The count of a vote on options (JSON), with its method; approve/reject/abstain stay 0 for it.
ALTER TABLE vote_tallies ADD COLUMN method TEXT;
ALTER TABLE vote_tallies ADD COLUMN option_result TEXT;
-- Where delegated weight went at close (JSON: carried per ballot, uncounted non-voters).
ALTER TABLE vote_tallies ADD COLUMN delegation TEXT;
-- Delegations (liquid democracy with override): one per agent and proposal type ('' = every type).
CREATE TABLE delegations (
    agent_id TEXT NOT NULL REFERENCES agents(id),
    proposal_type TEXT NOT NULL CHECK (proposal_type IN ('', 'standards', 'informational', 'process')),
    delegate TEXT NOT NULL REFERENCES agents(id),
    since TEXT NOT NULL,
    PRIMARY KEY (agent_id, proposal_type)
);
CREATE INDEX delegations_delegate ON delegations(delegate);
""",
    ),
    (
        9,
        "oauth",
        """
-- OAuth for remote MCP clients (DESIGN §21). A client registered itself (RFC 7591 metadata, JSON).
CREATE TABLE oauth_clients (
    client_id TEXT PRIMARY KEY,
    info TEXT NOT NULL,
    registered_at TEXT NOT NULL
);
-- One consent: a client may act as an agent, with these scopes (space-separated), at this resource.
CREATE TABLE oauth_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oauth_clients(client_id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    scopes TEXT NOT NULL,
    resource TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    revoked_at TEXT
);
-- Codes and tokens by their SHA-256 only; a code is redeemed once, a refresh token spent once.
CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants(id),
    redirect_uri TEXT NOT NULL,
    redirect_uri_explicit INTEGER NOT NULL,
    code_challenge TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants(id),
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens(grant_id);
""",
    ),
]

# The triggers that keep the log append-only (audit verify names a missing one).
LOG_GUARDS = (
    "audit_events_no_update",
    "audit_events_no_delete",
    "audit_events_no_replace",
    "audit_tree_no_update",
    "audit_tree_no_delete",
    "audit_tree_no_replace",
    "audit_checkpoints_no_update",
    "audit_checkpoints_no_delete",
)
