"""Who may do what (DESIGN §5): one table, action -> roles.

`AUTHOR` is a pseudo-role: it holds when the acting agent wrote the proposal (or the
comment, for resolving one). `ANY` means every active agent. `ROLE_GRANTS` is derived from
the table, so the help and the README say what each role grants without a copy of it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum

from hivegov_mcp.domain.errors import PermissionDenied


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
    # reads, the deterministic summary (it stores a digest only when the discussion changed), and
    # an agent's report of its own model usage
    "read": frozenset({ANY}),
    "summarize_discussion": frozenset({ANY}),
    "report_model_usage": frozenset({ANY}),  # the model usage an agent spent acting, for the metrics
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
    # after the vote (DESIGN §15)
    "publish_summary": frozenset({Role.SUMMARIZER}),
    "record_validation": frozenset({Role.VALIDATOR}),
    "claim_execution": frozenset({Role.EXECUTOR}),
    "report_execution": frozenset({Role.EXECUTOR}),
    "rollback_execution": frozenset({Role.EXECUTOR, Role.ARBITER}),
    "decide_appeal": frozenset({Role.ARBITER}),
    "file_appeal": frozenset({Role.VOTER, AUTHOR}),  # an eligible voter of that vote, checked with the vote
    "read_agent_figures": frozenset({Role.REPORTER}),  # the per-agent figures of get_governance_metrics
    "moderate_comment": frozenset({Role.MEDIATOR, Role.ARBITER}),  # an unresolved objection: arbiter only
    # agents and rules
    "register_agent": frozenset({Role.ADMIN}),
    "set_agent_roles": frozenset({Role.ADMIN}),
    "deactivate_agent": frozenset({Role.ADMIN}),
    "activate_agent": frozenset({Role.ADMIN}),
    "rotate_token": frozenset({Role.ADMIN}),
    "set_rules": frozenset({Role.ADMIN}),
    "manage_webhooks": frozenset({Role.ADMIN}),
}

# The voter role grants something no action names: eligibility, frozen when voting opens.
_IMPLICIT = {Role.VOTER: "be counted in the eligible set frozen when voting opens"}


def grants(role: Role) -> list[str]:
    """The actions a role allows, from the table (plus the voter's eligibility)."""
    actions = [action for action, roles in PERMISSIONS.items() if role in roles]
    return ([_IMPLICIT[role]] if role in _IMPLICIT else []) + actions


def role_grants_text() -> str:
    """One line per role: what it grants."""
    lines = [f"  {role.value:<11} {', '.join(grants(role))}" for role in Role]
    lines.append("  (every agent: read everything, summarize_discussion, report_model_usage; the author of a")
    lines.append("   proposal: revise, withdraw, start_discussion and comment on it; the author of a comment or")
    lines.append("   objection: resolve it)")
    return "\n".join(lines)


# Who can be "the author" an action names: of a proposal (proposers write them), or of a
# comment (those who may comment: discussants and the rest, and proposal authors).
_AUTHORS: Mapping[str, frozenset[str]] = {
    "resolve_objection": _DISCUSS | {Role.PROPOSER},
    "resolve_comment": _DISCUSS | {Role.PROPOSER},
}


def may_ever(action: str, roles: Collection[str]) -> bool:
    """Whether an agent with these roles can ever do the action (on some proposal), for listing
    the tools it is shown. An action not in the table is a KeyError, never "anyone may"."""
    needed = PERMISSIONS[action]
    if ANY in needed or any(role in needed for role in roles):
        return True
    authors = _AUTHORS.get(action, frozenset({Role.PROPOSER}))
    return AUTHOR in needed and any(role in authors for role in roles)


def may(action: str, roles: Collection[str], *, is_author: bool = False) -> bool:
    needed = PERMISSIONS[action]
    if ANY in needed:
        return True
    if is_author and AUTHOR in needed:
        return True
    return any(role in needed for role in roles)


def require(
    agent_id: str, action: str, roles: Collection[str], *, is_author: bool = False, author: str = "the author"
) -> None:
    """Raise PermissionDenied naming the agent, the action and what it lacks (`author` says whose
    authorship counts, e.g. "the objection's author")."""
    if not may(action, roles, is_author=is_author):
        needed = sorted(PERMISSIONS[action], key=lambda r: (r != AUTHOR, r))
        shown = [f"the {r} role" if r != AUTHOR else f"to be {author}" for r in needed]
        raise PermissionDenied(agent_id, action, shown, detail=f"it has {', '.join(sorted(roles)) or 'no roles'}")
