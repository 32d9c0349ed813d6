"""Who may do what (DESIGN §5): one table, action -> roles."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivegov_mcp.domain.errors import HivegovError, PermissionDenied
from hivegov_mcp.domain.permissions import ANY, AUTHOR, PERMISSIONS, Role, grants, may, require, role_grants_text

R = Role

EXPECTED: dict[str, frozenset[str]] = {
    "read": frozenset({ANY}),
    "summarize_discussion": frozenset({ANY}),
    "create_proposal": frozenset({R.PROPOSER}),
    "revise_proposal": frozenset({AUTHOR}),
    "withdraw_proposal": frozenset({AUTHOR, R.MEDIATOR, R.ARBITER}),
    "start_discussion": frozenset({AUTHOR, R.MEDIATOR}),
    "add_comment": frozenset({R.DISCUSSANT, R.REVIEWER, R.MEDIATOR, R.ARBITER, AUTHOR}),
    "resolve_objection": frozenset({AUTHOR, R.ARBITER}),
    "resolve_comment": frozenset({AUTHOR, R.MEDIATOR, R.ARBITER}),
    "conclude_discussion": frozenset({R.MEDIATOR}),
    "override_objections": frozenset({R.ARBITER}),
    "cast_vote": frozenset({R.VOTER}),
    "close_voting": frozenset({R.MEDIATOR}),
    "publish_summary": frozenset({R.SUMMARIZER}),
    "record_validation": frozenset({R.VALIDATOR}),
    "claim_execution": frozenset({R.EXECUTOR}),
    "report_execution": frozenset({R.EXECUTOR}),
    "rollback_execution": frozenset({R.EXECUTOR, R.ARBITER}),
    "decide_appeal": frozenset({R.ARBITER}),
    "file_appeal": frozenset({R.VOTER, AUTHOR}),
    "export_report": frozenset({R.REPORTER}),
    "moderate_comment": frozenset({R.MEDIATOR, R.ARBITER}),
    "register_agent": frozenset({R.ADMIN}),
    "set_agent_roles": frozenset({R.ADMIN}),
    "deactivate_agent": frozenset({R.ADMIN}),
    "activate_agent": frozenset({R.ADMIN}),
    "rotate_token": frozenset({R.ADMIN}),
    "set_rules": frozenset({R.ADMIN}),
    "manage_webhooks": frozenset({R.ADMIN}),
}


def test_the_permission_table_is_the_one_of_the_design() -> None:
    assert dict(PERMISSIONS) == EXPECTED


def test_the_roles_are_the_eleven_of_the_design() -> None:
    assert {r.value for r in Role} == {
        "proposer",
        "discussant",
        "reviewer",
        "mediator",
        "voter",
        "executor",
        "summarizer",
        "arbiter",
        "validator",
        "reporter",
        "admin",
    }


def test_every_action_needs_a_real_role_or_a_pseudo_role() -> None:
    known = {r.value for r in Role} | {AUTHOR, ANY}
    for action, needed in PERMISSIONS.items():
        assert needed, action
        assert needed <= known, action


def test_a_single_role_grants_exactly_the_actions_listing_it() -> None:
    for role in Role:
        granted = {action for action in PERMISSIONS if may(action, [role])}
        assert granted == {action for action, needed in EXPECTED.items() if role in needed or ANY in needed}, role


def test_an_agent_without_roles_may_only_read_and_summarize() -> None:
    assert {action for action in PERMISSIONS if may(action, [])} == {"read", "summarize_discussion"}


def test_a_voter_may_cast_a_vote() -> None:
    require("bob", "cast_vote", ["discussant", "voter"])


def test_a_discussant_may_not_cast_a_vote_and_is_told_which_role_it_lacks() -> None:
    with pytest.raises(PermissionDenied) as info:
        require("alice", "cast_vote", ["proposer", "discussant"])
    assert str(info.value) == (
        "Agent 'alice' may not cast_vote: it needs the voter role (it has discussant, proposer). "
        "An admin can grant roles."
    )
    assert (info.value.agent_id, info.value.action, info.value.needed) == ("alice", "cast_vote", ("the voter role",))


def test_a_refusal_to_an_agent_with_no_roles_says_so() -> None:
    with pytest.raises(PermissionDenied, match=r"\(it has no roles\)"):
        require("nobody", "create_proposal", [])


def test_a_refusal_lists_being_the_author_first() -> None:
    with pytest.raises(PermissionDenied) as info:
        require("dave", "withdraw_proposal", ["voter"])
    assert info.value.needed == ("to be the author", "the arbiter role", "the mediator role")
    assert "it needs to be the author or the arbiter role or the mediator role (it has voter)" in str(info.value)


def test_only_the_author_may_revise_even_a_mediator_may_not() -> None:
    with pytest.raises(PermissionDenied) as info:
        require("carol", "revise_proposal", ["mediator", "arbiter", "admin"])
    assert info.value.needed == ("to be the author",)
    require("alice", "revise_proposal", [], is_author=True)


def test_being_the_author_does_not_grant_role_only_actions() -> None:
    for action in ("conclude_discussion", "close_voting", "cast_vote", "override_objections", "register_agent"):
        assert not may(action, [], is_author=True), action


def test_the_author_may_start_the_discussion_of_its_own_proposal() -> None:
    assert may("start_discussion", ["proposer"], is_author=True)
    assert not may("start_discussion", ["proposer"], is_author=False)


def test_an_objection_is_resolved_by_its_author_or_an_arbiter_not_a_mediator() -> None:
    assert may("resolve_objection", [], is_author=True)
    assert may("resolve_objection", ["arbiter"])
    assert not may("resolve_objection", ["mediator"])


def test_managing_agents_needs_admin() -> None:
    for action in ("register_agent", "set_agent_roles", "deactivate_agent"):
        assert may(action, ["admin"])
        with pytest.raises(PermissionDenied, match=f"may not {action}: it needs the admin role"):
            require("carol", action, ["mediator", "voter"])


def test_a_permission_refusal_is_a_hivegov_error() -> None:
    with pytest.raises(HivegovError):
        require("x", "close_voting", ["voter"])


def test_every_role_grants_at_least_one_action_of_its_own() -> None:
    for role in Role:
        assert [a for a in grants(role) if ANY not in PERMISSIONS.get(a, frozenset())], role


def test_the_role_help_names_what_each_role_grants_and_marks_what_is_not_served_yet() -> None:
    text = role_grants_text()
    names = {r.value for r in Role}
    lines = {line.split()[0]: line for line in text.splitlines() if line.split() and line.split()[0] in names}
    assert set(lines) == names
    assert "claim_execution" in lines["executor"] and "*" not in lines["executor"]
    assert "export_report*" in lines["reporter"]
    assert "cast_vote" in lines["voter"] and "*" not in lines["voter"]
    assert "set_rules" in lines["admin"] and "activate_agent" in lines["admin"]


def test_the_readme_role_table_names_every_action_each_role_grants() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| role | grants |") :].split("\n\n")[0]
    rows = {}
    for line in table.splitlines()[2:]:
        roles, granted = line.strip("|").split("|", 1)
        for role in roles.split(","):
            rows[role.strip()] = granted
    assert set(rows) == {r.value for r in Role}
    for role in Role:
        for action in grants(role):
            if action in PERMISSIONS:
                assert f"`{action}`" in rows[role.value], (role, action)
