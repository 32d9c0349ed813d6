"""Domain errors. Each one keeps its structured arguments and builds its own message.

Every error carries a machine-readable `code`, a `message` that names the value, a `hint` that
says what to do next, the HTTP status it answers with, and whether the caller is at fault (a
request to change) or the server is (retry, or an operator acts). Neither message nor hint
names a transport; each front door reads these attributes and nothing else: REST and the
dashboard answer `http_status` with the JSON envelope, MCP tools answer a tool error and MCP
resources, prompts and completions an "invalid params" or "internal error" by `caller_fault`,
the command line prints message and hint and exits 2.

    HivegovError                                                                   code                  HTTP
    ├── NotAuthenticated        no valid token                                     not_authenticated     401
    ├── PermissionDenied        the agent lacks a role (or is not the author)      permission_denied     403
    │   └── ReadOnlyGrant       a write through an OAuth grant of hivegov:read     read_only_grant       403
    ├── NotEligible             the voter is not in the frozen eligible set        not_eligible          403
    ├── NotFound                unknown proposal, version, comment or agent        not_found             404
    ├── TransitionNotAllowed    the move is not in the transition table            wrong_status          409
    ├── InvalidInput            a value breaks a limit or a rule                   invalid_input         400
    ├── Conflict                a duplicate agent id, nothing to do                conflict              409
    │   ├── StaleVersion        expected_version is not the current version        stale_version         409
    │   ├── NoEligibleVoters    voting can't open: nobody holds the voter role     no_eligible_voters    409
    │   └── NotNow              allowed by the table, not yet (appeal window, …)   not_now               409
    ├── ObjectionsUnresolved    voting can't open while objections are open        objections_unresolved 409
    ├── RateLimited             too many writes by one agent in a minute           rate_limited          429
    ├── TooManyStreams          too many event streams open                        too_many_streams      429
    ├── ReadTooCostly           a read ran past its time budget                    read_too_costly       400
    ├── ConfigError             the TOML rules are wrong                  (server) config_error          503
    │   └── RulesMismatch       --config differs from the database's rules(server) rules_mismatch        503
    ├── StoreBusy               the write lock was held past the busy timeout      store_busy            503
    ├── StorageError            the database can't be opened, read or written      storage_error         503
    └── LogTampered             the audit log was changed outside the server       log_tampered          503

The 5xx errors are the server's (`caller_fault = False`); every other one is the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar


class HivegovError(Exception):
    """Base class of every error the service raises on purpose."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400
    caller_fault: ClassVar[bool] = True  # False: the server's trouble (retry, or an operator acts)

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}".strip())


class NotAuthenticated(HivegovError):
    code = "not_authenticated"
    http_status = 401

    def __init__(self, reason: str, hint: str = "", *, database: str = "") -> None:
        self.reason = reason
        # Which database was asked and how many agents it holds: for the local doors (stdio, the
        # command line), where a mistyped --db is the likely cause; never sent over the network.
        self.database = database
        super().__init__(
            f"No valid identity: {reason}.",
            hint
            or "An operator registers an agent with `hivegov-mcp agent add YOUR_ID --role …` and gives you its token.",
        )


class PermissionDenied(HivegovError):
    code = "permission_denied"
    http_status = 403

    def __init__(self, agent_id: str, action: str, needed: Sequence[str], *, detail: str = "") -> None:
        self.agent_id = agent_id
        self.action = action
        self.needed = tuple(needed)
        need = " or ".join(self.needed)
        extra = f" ({detail})" if detail else ""
        super().__init__(f"Agent {agent_id!r} may not {action}: it needs {need}{extra}.", "An admin can grant roles.")


class ReadOnlyGrant(PermissionDenied):
    """A write by a client connected over OAuth with hivegov:read only: whatever the agent's roles,
    and even as a proposal's author, the connection reads and never writes."""

    code = "read_only_grant"

    def __init__(self, agent_id: str, action: str) -> None:
        self.agent_id = agent_id
        self.action = action
        self.needed = ("hivegov:write",)
        HivegovError.__init__(
            self,
            f"Agent {agent_id!r} may not {action} through this connection: this connection was granted "
            "read only (hivegov:read).",
            "Ask for hivegov:write on the consent page: connect the client again and tick it.",
        )


class NotFound(HivegovError):
    code = "not_found"
    http_status = 404

    def __init__(self, kind: str, value: object, *, hint: str = "") -> None:
        self.kind = kind
        self.value = value
        super().__init__(f"Unknown {kind} {value!r}.", hint)


class TransitionNotAllowed(HivegovError):
    code = "wrong_status"
    http_status = 409

    def __init__(self, proposal_id: str, status: str, action: str, *, allowed_from: Sequence[str] = ()) -> None:
        self.proposal_id = proposal_id
        self.status = status
        self.action = action
        self.allowed_from = tuple(allowed_from)
        hint = f"{action} works on proposals in {', '.join(allowed_from)}." if allowed_from else ""
        super().__init__(f"Can't {action} on {proposal_id}: it is in {status}.", hint)


class InvalidInput(HivegovError):
    code = "invalid_input"

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"Invalid {field}: {problem}")


class Conflict(HivegovError):
    code = "conflict"
    http_status = 409


class StaleVersion(Conflict):
    code = "stale_version"

    def __init__(self, proposal_id: str, expected: int, actual: int) -> None:
        self.proposal_id = proposal_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{proposal_id} is at version {actual}, not {expected}: someone revised it meanwhile.",
            f"Read version {actual}, then revise again with expected_version={actual}.",
        )


class NoEligibleVoters(Conflict):
    code = "no_eligible_voters"

    def __init__(self, proposal_id: str) -> None:
        self.proposal_id = proposal_id
        super().__init__(
            f"Can't open voting on {proposal_id}: no active agent holds the voter role.",
            "An admin gives the voter role to at least one active agent; then conclude again.",
        )


class NotNow(Conflict):
    """A move the table allows, refused by a condition that can change: an open appeal window,
    a pending appeal, dependencies not yet executed, attempts used up, a decided appeal."""

    code = "not_now"

    def __init__(self, proposal_id: str, action: str, why: str, hint: str = "") -> None:
        self.proposal_id = proposal_id
        self.action = action
        self.why = why
        super().__init__(f"Can't {action} on {proposal_id} now: {why}.", hint)


class ObjectionsUnresolved(HivegovError):
    code = "objections_unresolved"
    http_status = 409

    def __init__(self, proposal_id: str, comment_ids: Sequence[int]) -> None:
        self.proposal_id = proposal_id
        self.comment_ids = tuple(comment_ids)
        ids = ", ".join(str(i) for i in self.comment_ids)
        super().__init__(
            f"Can't open voting on {proposal_id}: objection(s) {ids} are unresolved.",
            "Their authors (or an arbiter) resolve them; or conclude with requires-revision; or an arbiter "
            "concludes with override=true and a reason.",
        )


class NotEligible(HivegovError):
    code = "not_eligible"
    http_status = 403

    def __init__(self, agent_id: str, proposal_id: str) -> None:
        self.agent_id = agent_id
        self.proposal_id = proposal_id
        super().__init__(
            f"Agent {agent_id!r} is not an eligible voter on {proposal_id}.",
            "The eligible set was frozen when voting opened (active agents holding the voter role at that moment).",
        )


class RateLimited(HivegovError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, agent_id: str, limit: int, retry_at: datetime, retry_seconds: int) -> None:
        self.agent_id = agent_id
        self.limit = limit
        self.retry_at = retry_at
        self.retry_seconds = retry_seconds
        super().__init__(
            f"Agent {agent_id!r} has made {limit} writes in the last minute, the limit "
            f"(writes_per_agent_per_minute = {limit}).",
            f"Nothing was written; retry in {retry_seconds} s (after {retry_at.isoformat(timespec='seconds')}).",
        )


class ConfigError(HivegovError):
    code = "config_error"
    http_status = 503
    caller_fault = False

    def __init__(self, key: str, problem: str, hint: str = "") -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"Configuration error at {key}: {problem}", hint)


class RulesMismatch(ConfigError):
    code = "rules_mismatch"

    def __init__(self, source: str, given_hash: str, stored_hash: str, stored_version: int, *, db: str = "DB") -> None:
        self.given_hash = given_hash
        self.stored_hash = stored_hash
        self.stored_version = stored_version
        super().__init__(
            source,
            f"these rules (sha256 {given_hash}) differ from the rules in force in the database "
            f"(version {stored_version}, sha256 {stored_hash}); every process on a database counts under "
            "the same rules, so this one refuses to start",
            f"To adopt the file's rules for everyone run `hivegov-mcp --db {db} rules set {source}`; "
            "or start without --config (and without HIVEGOV_CONFIG) to use the database's rules "
            f"(`hivegov-mcp --db {db} rules show`).",
        )


class StoreBusy(HivegovError):
    code = "store_busy"
    http_status = 503
    caller_fault = False

    def __init__(self, detail: str, path: str = "") -> None:
        self.detail = detail
        self.path = path
        where = f" {path}" if path else ""
        super().__init__(
            f"The database{where} stayed busy ({detail}): another process held the write lock too long.",
            "Nothing was written; retry.",
        )


class TooManyStreams(HivegovError):
    code = "too_many_streams"
    http_status = 429

    def __init__(self, detail: str) -> None:
        super().__init__(f"No new event stream: {detail}.", "Close a stream you no longer read, then retry.")


class ReadTooCostly(HivegovError):
    code = "read_too_costly"
    # The caller's: the hint is to ask for less (a retry of the same read would cost as much).

    def __init__(self, budget_seconds: float) -> None:
        self.budget_seconds = budget_seconds
        super().__init__(
            f"The read ran past its budget of {budget_seconds:g} s and was stopped.",
            "Ask for less: fewer or rarer search words, a smaller page, or a narrower filter.",
        )


class StorageError(HivegovError):
    code = "storage_error"
    http_status = 503
    caller_fault = False

    def __init__(self, path: str, cause: str) -> None:
        self.path = path
        self.cause = cause
        super().__init__(
            f"The database {path} can't be used: {cause}.",
            "Check that the file and its folder exist and are writable by this user, that the disk has space "
            "and is not mounted read-only; or choose another file with --db or HIVEGOV_DB. Nothing was written.",
        )


class LogTampered(HivegovError):
    """The audit log, its Merkle tree, or a state table the log fixes was changed outside the
    server: the write that found it stops, nothing written."""

    code = "log_tampered"
    http_status = 503
    caller_fault = False

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(
            f"The governance data of {path} was changed outside the server: {detail}.",
            "Nothing was written. An operator should run `hivegov-mcp audit verify` and restore the database "
            "from a backup.",
        )
