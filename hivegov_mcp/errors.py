"""Domain errors. Each one keeps its structured arguments and builds its own message.

The message is read by a model through MCP, so it names the value and says what to do next.

    HivegovError
    ├── NotAuthenticated        no valid token for this server process
    ├── PermissionDenied        the agent lacks a role (or is not the author)
    ├── NotFound                unknown proposal, version, comment or agent
    ├── TransitionNotAllowed    the move is not in the transition table for this status
    ├── InvalidInput            a value breaks a limit or a rule (lengths, NUL bytes, ranges)
    ├── Conflict                a duplicate agent id, a concurrent edit
    │   └── StaleVersion        expected_version is not the current version
    ├── ObjectionsUnresolved    voting can't open while objections are open
    ├── NotEligible             the voter is not in the frozen eligible set
    ├── ConfigError             the TOML configuration is wrong
    └── StoreBusy               another process held the write lock past the busy timeout
"""

from __future__ import annotations

from collections.abc import Sequence


class HivegovError(Exception):
    """Base class of every error the service raises on purpose."""


class NotAuthenticated(HivegovError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"No valid identity: {reason}. Ask an operator to run "
            "`hivegov-mcp agent add YOUR_ID --role proposer --role voter …` and start this server "
            "with the printed token in HIVEGOV_TOKEN."
        )


class PermissionDenied(HivegovError):
    def __init__(self, agent_id: str, action: str, needed: Sequence[str], *, detail: str = "") -> None:
        self.agent_id = agent_id
        self.action = action
        self.needed = tuple(needed)
        need = " or ".join(self.needed)
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"Agent {agent_id!r} may not {action}: it needs {need}{extra}. "
            "An admin can grant roles with set_agent_roles."
        )


class NotFound(HivegovError):
    def __init__(self, kind: str, value: object, *, hint: str = "") -> None:
        self.kind = kind
        self.value = value
        tail = f" {hint}" if hint else ""
        super().__init__(f"Unknown {kind} {value!r}.{tail}")


class TransitionNotAllowed(HivegovError):
    def __init__(self, proposal_id: str, status: str, action: str, *, allowed_from: Sequence[str] = ()) -> None:
        self.proposal_id = proposal_id
        self.status = status
        self.action = action
        self.allowed_from = tuple(allowed_from)
        hint = f" {action} works on proposals in {', '.join(allowed_from)}." if allowed_from else ""
        super().__init__(f"Can't {action} on {proposal_id}: it is in {status}.{hint}")


class InvalidInput(HivegovError):
    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"Invalid {field}: {problem}")


class Conflict(HivegovError):
    def __init__(self, message: str) -> None:
        super().__init__(message)


class StaleVersion(Conflict):
    def __init__(self, proposal_id: str, expected: int, actual: int) -> None:
        self.proposal_id = proposal_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{proposal_id} is at version {actual}, not {expected}: someone revised it meanwhile. "
            f"Read it with get_proposal, then revise with expected_version={actual}."
        )


class ObjectionsUnresolved(HivegovError):
    def __init__(self, proposal_id: str, comment_ids: Sequence[int]) -> None:
        self.proposal_id = proposal_id
        self.comment_ids = tuple(comment_ids)
        ids = ", ".join(str(i) for i in self.comment_ids)
        super().__init__(
            f"Can't open voting on {proposal_id}: objection(s) {ids} are unresolved. Their authors (or an "
            "arbiter) resolve them with resolve_comment; or conclude with requires-revision; or an arbiter "
            "concludes with override=true and a reason."
        )


class NotEligible(HivegovError):
    def __init__(self, agent_id: str, proposal_id: str) -> None:
        self.agent_id = agent_id
        self.proposal_id = proposal_id
        super().__init__(
            f"Agent {agent_id!r} is not an eligible voter on {proposal_id}: the eligible set was frozen "
            "when voting opened (active agents holding the voter role at that moment)."
        )


class ConfigError(HivegovError):
    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"Configuration error at {key}: {problem}")


class StoreBusy(HivegovError):
    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"The database stayed busy ({detail}): another server process held the write lock too long. "
            "Nothing was written; retry the call."
        )
