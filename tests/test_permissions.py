"""Who may do what (DESIGN §5, with the "who" of the lifecycle in §2 and of §15), role by role.

The code keeps one table, action -> roles. These tests don't copy it: each states, from the
design, what one role lets an agent do, and asks `may` (the check every operation makes) about
every action the table knows. Together the sentences pin every cell: a grant that a role gains or
loses, an action given to everyone, or one that disappears fails the sentence that covers it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hivegov_mcp.domain.errors import HivegovError, PermissionDenied
from hivegov_mcp.domain.permissions import PERMISSIONS, Role, grants, may, may_ever, require, role_grants_text

R = Role

# every active agent, whatever its roles: read, store the deterministic summary, and report the
# model usage it spent acting (§19: a council member reports its own, with its own token)
EVERYONE = {"read", "summarize_discussion", "report_model_usage"}


def _allowed(*roles: str, is_author: bool = False) -> set[str]:
    """What an agent with these roles may do, beyond what every agent may."""
    return {action for action in PERMISSIONS if may(action, roles, is_author=is_author)} - EVERYONE


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


def test_every_agent_may_read_summarize_and_report_its_model_usage_and_without_a_role_nothing_more() -> None:
    assert {action for action in PERMISSIONS if may(action, [])} == EVERYONE
    assert all(may(action, [role]) for action in EVERYONE for role in Role)
    assert may_ever("report_model_usage", [])  # so every agent is shown the tool


def test_a_proposer_may_create_proposals_and_nothing_else() -> None:
    assert _allowed(R.PROPOSER) == {"create_proposal"}


def test_a_discussant_or_a_reviewer_may_comment_and_nothing_else() -> None:
    assert _allowed(R.DISCUSSANT) == {"add_comment"}
    assert _allowed(R.REVIEWER) == {"add_comment"}


def test_a_mediator_runs_the_discussion_and_the_vote_but_neither_votes_nor_overrides_an_objection() -> None:
    assert _allowed(R.MEDIATOR) == {
        "start_discussion",  # §5: start, conclude, close
        "conclude_discussion",
        "close_voting",
        "withdraw_proposal",  # §2: author, mediator or arbiter
        "moderate_comment",  # §15: hides or restores a comment
        "add_comment",  # takes part in the discussion it runs: comments, and marks comments resolved
        "resolve_comment",
    }
    assert not may("override_objections", [R.MEDIATOR]) and not may("resolve_objection", [R.MEDIATOR])


def test_a_voter_may_vote_and_appeal_the_result() -> None:
    assert _allowed(R.VOTER) == {"cast_vote", "file_appeal"}  # §15: an eligible voter of that vote may appeal


def test_an_executor_claims_reports_and_rolls_back_an_execution() -> None:
    assert _allowed(R.EXECUTOR) == {"claim_execution", "report_execution", "rollback_execution"}


def test_a_summarizer_may_publish_a_summary_and_nothing_else() -> None:
    assert _allowed(R.SUMMARIZER) == {"publish_summary"}


def test_an_arbiter_overrides_objections_decides_appeals_and_rolls_back_but_runs_no_discussion() -> None:
    assert _allowed(R.ARBITER) == {
        "override_objections",  # §5: override objections, decide appeals, roll back
        "decide_appeal",
        "rollback_execution",
        "resolve_objection",  # §1: an objection is resolved by its author or an arbiter
        "withdraw_proposal",  # §2: author, mediator or arbiter
        "moderate_comment",  # §15: only an arbiter hides an unresolved objection
        "add_comment",
        "resolve_comment",
    }
    assert not may("conclude_discussion", [R.ARBITER]) and not may("close_voting", [R.ARBITER])


def test_a_validator_may_record_a_validation_and_nothing_else() -> None:
    assert _allowed(R.VALIDATOR) == {"record_validation"}


def test_a_reporter_may_read_the_per_agent_figures_and_nothing_else() -> None:
    assert _allowed(R.REPORTER) == {"read_agent_figures"}


def test_an_admin_manages_agents_rules_and_webhooks_but_takes_no_part_in_a_proposal() -> None:
    assert _allowed(R.ADMIN) == {
        "register_agent",
        "set_agent_roles",
        "deactivate_agent",
        "activate_agent",
        "rotate_token",
        "set_rules",
        "manage_webhooks",
    }


def test_every_role_grants_something_every_agent_cannot_do() -> None:
    assert [role for role in Role if not _allowed(role)] == []


def test_every_action_is_allowed_to_someone() -> None:
    everything = [role.value for role in Role]
    assert [action for action in PERMISSIONS if not may(action, everything, is_author=True)] == []


def test_an_author_without_roles_may_revise_withdraw_discuss_resolve_and_appeal() -> None:
    assert _allowed(is_author=True) == {
        "revise_proposal",
        "withdraw_proposal",
        "start_discussion",
        "add_comment",
        "resolve_objection",  # of its own objection
        "resolve_comment",
        "file_appeal",
    }


def test_roles_add_up_and_count_as_the_words_the_database_stores() -> None:
    assert _allowed("proposer", "discussant") == {"create_proposal", "add_comment"}
    assert _allowed("discussant", "voter") == {"add_comment", "cast_vote", "file_appeal"}
    assert _allowed("proposer", is_author=True) == _allowed(is_author=True) | {"create_proposal"}


def test_only_the_author_may_revise_even_a_mediator_may_not() -> None:
    with pytest.raises(PermissionDenied) as info:
        require("carol", "revise_proposal", ["mediator", "arbiter", "admin"])
    assert info.value.needed == ("to be the author",)
    require("alice", "revise_proposal", [], is_author=True)


def test_being_the_author_does_not_grant_role_only_actions() -> None:
    for action in ("conclude_discussion", "close_voting", "cast_vote", "override_objections", "register_agent"):
        assert not may(action, [], is_author=True), action


def test_the_author_may_start_the_discussion_of_its_own_proposal_only() -> None:
    assert may("start_discussion", ["proposer"], is_author=True)
    assert not may("start_discussion", ["proposer"], is_author=False)


def test_an_objection_is_resolved_by_its_author_or_an_arbiter_not_a_mediator() -> None:
    assert may("resolve_objection", [], is_author=True)
    assert may("resolve_objection", ["arbiter"])
    assert not may("resolve_objection", ["mediator"])


def test_an_agent_is_shown_an_author_s_action_only_if_its_roles_let_it_author_what_it_acts_on() -> None:
    assert may_ever("revise_proposal", ["proposer"])  # it writes proposals, so it may revise its own
    assert not may_ever("revise_proposal", ["voter", "mediator"])
    assert may_ever("resolve_objection", ["discussant"])  # it writes objections, so it may resolve its own
    assert not may_ever("resolve_objection", ["voter"])
    assert may_ever("read", []) and may_ever("cast_vote", ["voter"]) and not may_ever("cast_vote", ["admin"])


def test_an_action_no_one_has_heard_of_is_an_error_not_a_permission() -> None:
    with pytest.raises(KeyError):
        may("launch_rockets", ["admin"])


# -- refusals --------------------------------------------------------------------------------------


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


def test_managing_agents_needs_admin() -> None:
    for action in ("register_agent", "set_agent_roles", "deactivate_agent"):
        assert may(action, ["admin"])
        with pytest.raises(PermissionDenied, match=f"may not {action}: it needs the admin role"):
            require("carol", action, ["mediator", "voter"])


def test_a_permission_refusal_is_a_hivegov_error() -> None:
    with pytest.raises(HivegovError):
        require("x", "close_voting", ["voter"])


# -- what the help and the README say ----------------------------------------------------------------


def test_what_a_role_is_said_to_grant_is_what_it_allows() -> None:
    for role in Role:
        assert {action for action in grants(role) if action in PERMISSIONS} == _allowed(role), role
    assert any("eligible" in granted for granted in grants(R.VOTER))  # the voter's place in the eligible set


def test_the_role_help_names_what_each_role_grants() -> None:
    names = {r.value for r in Role}
    lines = {line.split()[0]: line for line in role_grants_text().splitlines() if line.split()[0] in names}
    assert set(lines) == names
    for role in Role:
        assert set(re.split(r"[,\s]+", lines[role.value].strip())) >= _allowed(role), role
    assert "eligible" in lines["voter"]


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
        for action in _allowed(role):
            assert f"`{action}`" in rows[role.value], (role, action)
