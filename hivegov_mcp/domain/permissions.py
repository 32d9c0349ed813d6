"""Who may do what (DESIGN §5): one table, action -> roles.

`AUTHOR` is a pseudo-role: it holds when the acting agent wrote the proposal (or the
comment, for resolving one). `ANY` means every active agent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum

from hivegov_mcp.errors import PermissionDenied


class Role(StrEnum):
    PROPOSER = "proposer"
    DISCUSSANT = "discussant"
    REVIEWER = "reviewer"
    MEDIATOR = "mediator"
    VOTER = "voter"
    EXECUTOR = "executor"
    SUMMARIZER = "summarizer"
    ARBITER = "arbiter"
    VALIDATOR = "validator"
    REPORTER = "reporter"
    ADMIN = "admin"


AUTHOR = "author"
ANY = "any agent"

_DISCUSS = frozenset({Role.DISCUSSANT, Role.REVIEWER, Role.MEDIATOR, Role.ARBITER, AUTHOR})

PERMISSIONS: Mapping[str, frozenset[str]] = {
    # reads
    "read": frozenset({ANY}),
    "summarize_discussion": frozenset({ANY}),
    # proposals
    "create_proposal": frozenset({Role.PROPOSER}),
    "revise_proposal": frozenset({AUTHOR}),
    "withdraw_proposal": frozenset({AUTHOR, Role.MEDIATOR, Role.ARBITER}),
    # discussion
    "start_discussion": frozenset({AUTHOR, Role.MEDIATOR}),
    "add_comment": _DISCUSS,
    "resolve_objection": frozenset({AUTHOR, Role.ARBITER}),  # AUTHOR = the objection's author
    "resolve_comment": frozenset({AUTHOR, Role.MEDIATOR, Role.ARBITER}),  # comment or proposal author
    "conclude_discussion": frozenset({Role.MEDIATOR}),
    "override_objections": frozenset({Role.ARBITER}),
    # voting
    "cast_vote": frozenset({Role.VOTER}),
    "close_voting": frozenset({Role.MEDIATOR}),
    # agents
    "register_agent": frozenset({Role.ADMIN}),
    "set_agent_roles": frozenset({Role.ADMIN}),
    "deactivate_agent": frozenset({Role.ADMIN}),
}


def may(action: str, roles: Collection[str], *, is_author: bool = False) -> bool:
    needed = PERMISSIONS[action]
    if ANY in needed:
        return True
    if is_author and AUTHOR in needed:
        return True
    return any(role in needed for role in roles)


def require(agent_id: str, action: str, roles: Collection[str], *, is_author: bool = False) -> None:
    """Raise PermissionDenied naming the agent, the action and what it lacks."""
    if not may(action, roles, is_author=is_author):
        needed = sorted(PERMISSIONS[action], key=lambda r: (r != AUTHOR, r))
        shown = [f"the {r} role" if r != AUTHOR else "to be the author" for r in needed]
        raise PermissionDenied(agent_id, action, shown, detail=f"it has {', '.join(sorted(roles)) or 'no roles'}")
