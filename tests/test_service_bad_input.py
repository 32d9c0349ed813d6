"""Bad input (DESIGN §9): a clear error that names the value, and nothing written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from hivegov_mcp.domain.config import GovernanceConfig, Rules
from hivegov_mcp.domain.errors import (
    Conflict,
    HivegovError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    StaleVersion,
    TransitionNotAllowed,
)
from hivegov_mcp.domain.models import Discussion, Proposal, ProposalPage
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL, Cast

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]  # the store contract: SQLite and PostgreSQL

WHY = "I weighed the specification against the motivation and it holds up."
KIB = 1024


@dataclass(frozen=True)
class World:
    """BIP-001 draft, BIP-002 in discussion (bob's comment), BIP-003 in discussion (dave's), BIP-004 in voting."""

    draft: str
    discussing: str
    other: str
    voting: str
    comment: int
    other_comment: int


@dataclass(frozen=True)
class Snapshot:
    audit_events: int
    audit_head: str | None
    proposals: list[Proposal]
    discussions: list[Discussion]
    listing: ProposalPage


@pytest.fixture
async def world(service: GovernanceService, cast: Cast) -> World:
    alice, carol = cast["alice"], cast["carol"]
    ids = [(await service.create_proposal(alice, **{**PROPOSAL, "title": f"Proposal {n}"})).id for n in range(4)]
    draft, discussing, other, voting = ids
    for pid in (discussing, other, voting):
        await service.start_discussion(alice, pid)
    await service.conclude_discussion(carol, voting, "approved-for-voting", "Ready for a vote.")
    comment = await service.add_comment(cast["bob"], discussing, "A first remark.")
    other_comment = await service.add_comment(cast["dave"], other, "A remark on another proposal.")
    return World(draft, discussing, other, voting, comment.id, other_comment.id)


async def _snapshot(service: GovernanceService, cast: Cast, world: World) -> Snapshot:
    reader = cast["root"]
    status = await service.get_governance_status(reader)
    ids = (world.draft, world.discussing, world.other, world.voting)
    return Snapshot(
        audit_events=status.audit_events,
        audit_head=status.audit_head,
        proposals=[await service.get_proposal(reader, pid) for pid in ids],
        discussions=[await service.get_discussion(reader, pid) for pid in ids],
        listing=await service.list_proposals(reader, limit=100),
    )


Attempt = Callable[[GovernanceService, Cast, World], Awaitable[object]]


@dataclass(frozen=True)
class Case:
    id: str
    attempt: Attempt
    error: type[HivegovError]
    names: tuple[str, ...]


def _create(**changes: str | list[str]) -> Attempt:
    fields: dict[str, str | list[str]] = {**PROPOSAL, **changes}
    return lambda s, c, w: s.create_proposal(
        c["alice"],
        title=str(fields["title"]),
        type=str(fields["type"]),
        abstract=str(fields["abstract"]),
        motivation=str(fields["motivation"]),
        specification=str(fields["specification"]),
        implementation=str(fields.get("implementation", "")),
        dependencies=list(fields.get("dependencies", [])),
    )


def _start(minutes: float) -> Attempt:
    return lambda s, c, w: s.start_discussion(c["alice"], w.draft, duration_minutes=minutes)


CASES = [
    # limits
    Case("title-over-200-characters", _create(title="t" * 201), InvalidInput, ("title", "201 characters", "200")),
    Case(
        "revised-title-over-200-characters",
        lambda s, c, w: s.revise_proposal(c["alice"], w.draft, expected_version=1, change_note="T.", title="é" * 201),
        InvalidInput,
        ("title", "201 characters"),
    ),
    Case("title-on-two-lines", _create(title="One\nTwo"), InvalidInput, ("title", "one line")),
    Case("empty-title", _create(title="  "), InvalidInput, ("title", "empty")),
    Case(
        "abstract-over-64-kib",
        _create(abstract="a" * (64 * KIB + 1)),
        InvalidInput,
        ("abstract", "65537 bytes", "65536"),
    ),
    Case(
        "implementation-over-64-kib-in-multibyte-text",
        _create(implementation="é" * (32 * KIB + 1)),
        InvalidInput,
        ("implementation", "65538 bytes"),
    ),
    Case(
        "revised-specification-over-64-kib",
        lambda s, c, w: s.revise_proposal(
            c["alice"], w.draft, expected_version=1, change_note="Longer.", specification="s" * (64 * KIB + 1)
        ),
        InvalidInput,
        ("specification", "65537 bytes"),
    ),
    Case(
        "comment-over-16-kib",
        lambda s, c, w: s.add_comment(c["bob"], w.discussing, "c" * (16 * KIB + 1)),
        InvalidInput,
        ("content", "16385 bytes", "16384"),
    ),
    Case(
        "justification-over-4-kib",
        lambda s, c, w: s.cast_vote(c["bob"], w.voting, "approve", "j" * (4 * KIB + 1)),
        InvalidInput,
        ("justification", "4097 bytes", "4096"),
    ),
    Case(
        "reason-over-4-kib",
        lambda s, c, w: s.withdraw_proposal(c["alice"], w.draft, "r" * (4 * KIB + 1)),
        InvalidInput,
        ("reason", "4097 bytes"),
    ),
    # NUL bytes, in every kind of text
    Case("nul-in-title", _create(title="Adopt\x00changelogs"), InvalidInput, ("title", "NUL")),
    Case("nul-in-abstract", _create(abstract="Every\x00release"), InvalidInput, ("abstract", "NUL")),
    Case("nul-in-motivation", _create(motivation="x\x00"), InvalidInput, ("motivation", "NUL")),
    Case("nul-in-specification", _create(specification="\x00"), InvalidInput, ("specification", "NUL")),
    Case("nul-in-implementation", _create(implementation="step\x00"), InvalidInput, ("implementation", "NUL")),
    Case(
        "nul-in-revised-field",
        lambda s, c, w: s.revise_proposal(c["alice"], w.draft, expected_version=1, change_note="N.", abstract="\x00"),
        InvalidInput,
        ("abstract", "NUL"),
    ),
    Case(
        "nul-in-change-note",
        lambda s, c, w: s.revise_proposal(c["alice"], w.draft, expected_version=1, change_note="\x00", title="X"),
        InvalidInput,
        ("change_note", "NUL"),
    ),
    Case(
        "nul-in-comment",
        lambda s, c, w: s.add_comment(c["bob"], w.discussing, "Hidden\x00text"),
        InvalidInput,
        ("content", "NUL"),
    ),
    Case(
        "nul-in-justification",
        lambda s, c, w: s.cast_vote(c["bob"], w.voting, "approve", WHY + "\x00"),
        InvalidInput,
        ("justification", "NUL"),
    ),
    Case(
        "nul-in-resolution-note",
        lambda s, c, w: s.resolve_comment(c["bob"], w.comment, "done\x00"),
        InvalidInput,
        ("note", "NUL"),
    ),
    Case(
        "nul-in-withdraw-reason",
        lambda s, c, w: s.withdraw_proposal(c["alice"], w.draft, "because\x00"),
        InvalidInput,
        ("reason", "NUL"),
    ),
    Case(
        "nul-in-conclude-reason",
        lambda s, c, w: s.conclude_discussion(c["carol"], w.discussing, "blocked", "no\x00"),
        InvalidInput,
        ("reason", "NUL"),
    ),
    Case(
        "nul-in-close-reason",
        lambda s, c, w: s.close_voting(c["carol"], w.voting, "over\x00"),
        InvalidInput,
        ("reason", "NUL"),
    ),
    Case(
        "nul-in-display-name",
        lambda s, c, w: s.register_agent(c["root"], "frank", ["voter"], display_name="Frank\x00"),
        InvalidInput,
        ("display_name", "NUL"),
    ),
    Case(
        "nul-in-search-query",
        lambda s, c, w: s.search_proposals(c["bob"], "changelog\x00"),
        InvalidInput,
        ("query", "NUL"),
    ),
    # unknown ids and versions
    Case(
        "unknown-proposal-read",
        lambda s, c, w: s.get_proposal(c["bob"], "BIP-999"),
        NotFound,
        ("proposal", "'BIP-999'"),
    ),
    Case(
        "unknown-proposal-comment",
        lambda s, c, w: s.add_comment(c["bob"], "BIP-999", "Hello?"),
        NotFound,
        ("'BIP-999'",),
    ),
    Case(
        "unknown-proposal-vote",
        lambda s, c, w: s.cast_vote(c["bob"], "BIP-999", "approve", WHY),
        NotFound,
        ("'BIP-999'",),
    ),
    Case(
        "unknown-proposal-start",
        lambda s, c, w: s.start_discussion(c["alice"], "bip-001"),
        NotFound,
        ("'bip-001'",),
    ),
    Case(
        "unknown-proposal-audit-filter",
        lambda s, c, w: s.get_audit_log(c["bob"], proposal_id="BIP-999"),
        NotFound,
        ("'BIP-999'",),
    ),
    Case(
        "unknown-comment",
        lambda s, c, w: s.resolve_comment(c["bob"], 9999, "Done."),
        NotFound,
        ("comment", "9999"),
    ),
    Case(
        "unknown-version",
        lambda s, c, w: s.get_proposal(c["bob"], w.draft, version=7),
        NotFound,
        ("version", "7", "versions 1 to 1"),
    ),
    Case(
        "unknown-version-in-diff",
        lambda s, c, w: s.diff_proposal(c["bob"], w.draft, 1, 3),
        NotFound,
        ("version", "3"),
    ),
    Case(
        "unknown-agent",
        lambda s, c, w: s.set_agent_roles(c["root"], "nobody", ["voter"]),
        NotFound,
        ("agent", "'nobody'"),
    ),
    Case(
        "stale-expected-version",
        lambda s, c, w: s.revise_proposal(c["alice"], w.draft, expected_version=3, change_note="T.", title="New"),
        StaleVersion,
        ("version 1, not 3", "expected_version=1"),
    ),
    Case(
        "revision-that-changes-nothing",
        lambda s, c, w: s.revise_proposal(
            c["alice"], w.draft, expected_version=1, change_note="Same.", title="Proposal 0"
        ),
        InvalidInput,
        ("revision", "changes nothing"),
    ),
    # comments of another proposal
    Case(
        "parent-of-another-proposal",
        lambda s, c, w: s.add_comment(c["bob"], w.discussing, "A reply.", parent_id=w.other_comment),
        InvalidInput,
        ("parent_id", "comment 2", "BIP-003"),
    ),
    Case(
        "reference-to-another-proposal",
        lambda s, c, w: s.add_comment(c["bob"], w.discussing, "See there.", references=[w.comment, w.other_comment]),
        InvalidInput,
        ("references", "comment 2", "BIP-003"),
    ),
    Case(
        "reference-to-an-unknown-comment",
        lambda s, c, w: s.add_comment(c["bob"], w.discussing, "See there.", references=[404]),
        InvalidInput,
        ("references", "comment 404"),
    ),
    Case(
        "parent-that-does-not-exist",
        lambda s, c, w: s.add_comment(c["bob"], w.discussing, "A reply.", parent_id=404),
        InvalidInput,
        ("parent_id", "comment 404"),
    ),
    # dependencies
    Case(
        "dependency-on-unknown-proposal",
        _create(dependencies=["BIP-001", "BIP-404"]),
        NotFound,
        ("proposal", "'BIP-404'"),
    ),
    Case(
        "revised-dependency-on-unknown-proposal",
        lambda s, c, w: s.revise_proposal(
            c["alice"], w.draft, expected_version=1, change_note="Deps.", dependencies=["XYZ-1"]
        ),
        NotFound,
        ("'XYZ-1'",),
    ),
    Case(
        "dependency-on-itself",
        lambda s, c, w: s.revise_proposal(
            c["alice"], w.draft, expected_version=1, change_note="Deps.", dependencies=[w.draft]
        ),
        InvalidInput,
        ("dependencies", "BIP-001"),
    ),
    # bad enumerations
    Case("bad-proposal-type", _create(type="law"), InvalidInput, ("type", "'law'")),
    Case(
        "bad-comment-type",
        lambda s, c, w: s.add_comment(c["bob"], w.discussing, "Hmm.", type="rant"),
        InvalidInput,
        ("type", "'rant'"),
    ),
    Case(
        "bad-decision",
        lambda s, c, w: s.cast_vote(c["bob"], w.voting, "yes", WHY),
        InvalidInput,
        ("decision", "'yes'"),
    ),
    Case(
        "bad-resolution",
        lambda s, c, w: s.conclude_discussion(c["carol"], w.discussing, "maybe", "Unsure."),
        InvalidInput,
        ("resolution", "'maybe'"),
    ),
    Case(
        "override-without-approval",
        lambda s, c, w: s.conclude_discussion(c["erin"], w.discussing, "blocked", "No.", override=True),
        InvalidInput,
        ("override", "approved-for-voting"),
    ),
    Case(
        "bad-status-filter",
        lambda s, c, w: s.list_proposals(c["bob"], status="open"),
        InvalidInput,
        ("status", "'open'"),
    ),
    Case(
        "bad-type-filter",
        lambda s, c, w: s.list_proposals(c["bob"], type="law"),
        InvalidInput,
        ("type", "'law'"),
    ),
    Case(
        "bad-role",
        lambda s, c, w: s.register_agent(c["root"], "frank", ["voter", "king"]),
        InvalidInput,
        ("roles", "'king'"),
    ),
    Case(
        "bad-agent-id",
        lambda s, c, w: s.register_agent(c["root"], "Frank Smith", ["voter"]),
        InvalidInput,
        ("agent_id", "'Frank Smith'"),
    ),
    Case(
        "zero-weight",
        lambda s, c, w: s.register_agent(c["root"], "frank", ["voter"], weight=0),
        InvalidInput,
        ("weight", "0"),
    ),
    Case(
        "duplicate-agent",
        lambda s, c, w: s.register_agent(c["root"], "bob", ["voter"]),
        Conflict,
        ("'bob'", "already exists"),
    ),
    # empty reasons
    Case(
        "empty-withdraw-reason",
        lambda s, c, w: s.withdraw_proposal(c["alice"], w.draft, ""),
        InvalidInput,
        ("reason", "empty"),
    ),
    Case(
        "blank-conclude-reason",
        lambda s, c, w: s.conclude_discussion(c["carol"], w.discussing, "requires-revision", "   "),
        InvalidInput,
        ("reason", "empty"),
    ),
    Case(
        "empty-close-reason",
        lambda s, c, w: s.close_voting(c["carol"], w.voting, ""),
        InvalidInput,
        ("reason", "empty"),
    ),
    Case(
        "empty-resolution-note",
        lambda s, c, w: s.resolve_comment(c["bob"], w.comment, "\n"),
        InvalidInput,
        ("note", "empty"),
    ),
    Case(
        "empty-change-note",
        lambda s, c, w: s.revise_proposal(c["alice"], w.draft, expected_version=1, change_note="", title="New"),
        InvalidInput,
        ("change_note", "empty"),
    ),
    Case(
        "empty-comment",
        lambda s, c, w: s.add_comment(c["bob"], w.discussing, " "),
        InvalidInput,
        ("content", "empty"),
    ),
    # discussion durations outside the configured range (10..1440 minutes by default)
    *[
        Case(
            f"discussion-of-{minutes}-minutes",
            _start(minutes),
            InvalidInput,
            ("duration_minutes", str(minutes), "10..1440"),
        )
        for minutes in (5, 1441, 0, -1, float("inf"), float("nan"))
    ],
    # paging and searching
    Case("list-limit-0", lambda s, c, w: s.list_proposals(c["bob"], limit=0), InvalidInput, ("limit", "0", "100")),
    Case("list-limit-101", lambda s, c, w: s.list_proposals(c["bob"], limit=101), InvalidInput, ("limit", "101")),
    Case("cursor-of-letters", lambda s, c, w: s.list_proposals(c["bob"], cursor="abc"), InvalidInput, ("'abc'",)),
    Case("negative-cursor", lambda s, c, w: s.list_proposals(c["bob"], cursor="-3"), InvalidInput, ("'-3'",)),
    Case("search-limit-0", lambda s, c, w: s.search_proposals(c["bob"], "x", limit=0), InvalidInput, ("limit", "0")),
    Case("search-no-words", lambda s, c, w: s.search_proposals(c["bob"], "?!"), InvalidInput, ("query", "'?!'")),
    Case(
        "audit-limit-0",
        lambda s, c, w: s.get_audit_log(c["bob"], limit=0),
        InvalidInput,
        ("limit", "0"),
    ),
    Case(
        "audit-after-negative",
        lambda s, c, w: s.get_audit_log(c["bob"], after_seq=-1),
        InvalidInput,
        ("after_seq", "-1"),
    ),
    # wrong statuses
    Case(
        "comment-on-a-draft",
        lambda s, c, w: s.add_comment(c["bob"], w.draft, "Too early."),
        TransitionNotAllowed,
        ("add_comment", "BIP-001", "draft"),
    ),
    Case(
        "conclude-during-voting",
        lambda s, c, w: s.conclude_discussion(c["carol"], w.voting, "blocked", "No."),
        TransitionNotAllowed,
        ("conclude_discussion", "BIP-004", "voting"),
    ),
    Case(
        "start-discussion-twice",
        lambda s, c, w: s.start_discussion(c["alice"], w.discussing),
        TransitionNotAllowed,
        ("start_discussion", "BIP-002", "discussion"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_bad_input_is_refused_with_a_message_naming_the_value_and_nothing_is_written(
    service: GovernanceService, cast: Cast, world: World, case: Case
) -> None:
    before = await _snapshot(service, cast, world)

    with pytest.raises(case.error) as refused:
        await case.attempt(service, cast, world)

    message = str(refused.value)
    for name in case.names:
        assert name in message, f"{name!r} not in {message!r}"
    after = await _snapshot(service, cast, world)
    assert after == before
    assert (await service.list_agents(cast["root"])).agents == [cast[a] for a in sorted(cast.agents)]


TOO_BIG = 2**63  # one past the largest SQLite INTEGER


def _beyond_sqlite(id: str, attempt: Attempt, value: object) -> object:
    return pytest.param(attempt, value, id=id)


OUT_OF_RANGE = [
    _beyond_sqlite(
        "cursor-of-superscript-digits",
        lambda s, c, w: s.list_proposals(c["bob"], cursor="²"),
        "²",
    ),
    _beyond_sqlite("cursor-of-25-digits", lambda s, c, w: s.list_proposals(c["bob"], cursor="9" * 25), "9" * 25),
    _beyond_sqlite("huge-version", lambda s, c, w: s.get_proposal(c["bob"], w.draft, version=TOO_BIG), TOO_BIG),
    _beyond_sqlite("huge-diff-version", lambda s, c, w: s.diff_proposal(c["bob"], w.draft, 1, TOO_BIG), TOO_BIG),
    _beyond_sqlite("huge-comment-id", lambda s, c, w: s.resolve_comment(c["bob"], TOO_BIG, "Done."), TOO_BIG),
    _beyond_sqlite(
        "huge-parent-id",
        lambda s, c, w: s.add_comment(c["bob"], w.discussing, "A reply.", parent_id=TOO_BIG),
        TOO_BIG,
    ),
    _beyond_sqlite(
        "huge-reference",
        lambda s, c, w: s.add_comment(c["bob"], w.discussing, "See.", references=[TOO_BIG]),
        TOO_BIG,
    ),
    _beyond_sqlite("huge-after-seq", lambda s, c, w: s.get_audit_log(c["bob"], after_seq=TOO_BIG), TOO_BIG),
]


@pytest.mark.parametrize(("attempt", "value"), OUT_OF_RANGE)
async def test_ids_and_cursors_beyond_what_sqlite_stores_get_a_domain_answer(
    service: GovernanceService, cast: Cast, world: World, attempt: Attempt, value: object
) -> None:
    """Such a value can't name anything: the call answers normally or refuses with an error naming it."""
    before = await _snapshot(service, cast, world)

    try:
        await attempt(service, cast, world)
    except HivegovError as exc:
        assert str(value) in str(exc)

    assert await _snapshot(service, cast, world) == before


@pytest.mark.parametrize("config", [GovernanceConfig(defaults=Rules(max_comments_per_agent=2))])
async def test_comments_beyond_the_per_round_limit_are_refused(
    service: GovernanceService, cast: Cast, world: World
) -> None:
    bob = cast["bob"]
    await service.add_comment(bob, world.discussing, "A second remark.")
    before = await _snapshot(service, cast, world)

    with pytest.raises(InvalidInput) as refused:
        await service.add_comment(bob, world.discussing, "A third remark.")

    message = str(refused.value)
    assert "bob" in message
    assert "2 comments in round 1 of BIP-002" in message
    assert "limit is 2" in message
    assert await _snapshot(service, cast, world) == before
    await service.add_comment(cast["dave"], world.discussing, "Others may still speak.")
    await service.add_comment(bob, world.other, "And bob may speak on another proposal.")


@pytest.mark.parametrize("config", [GovernanceConfig(defaults=Rules(max_comments_per_agent=1))])
async def test_the_comment_limit_starts_again_in_a_new_round(
    service: GovernanceService, cast: Cast, world: World
) -> None:
    with pytest.raises(InvalidInput):
        await service.add_comment(cast["bob"], world.discussing, "Again.")
    await service.conclude_discussion(cast["carol"], world.discussing, "requires-revision", "Rework.")
    await service.start_discussion(cast["alice"], world.discussing)

    second_round = await service.add_comment(cast["bob"], world.discussing, "A remark in round two.")

    assert second_round.round == 2


@pytest.mark.parametrize("token", [None, "", "hg_not-a-real-token"], ids=["none", "empty", "wrong"])
async def test_no_valid_token_is_not_authenticated_and_says_how_to_get_one(
    service: GovernanceService, cast: Cast, token: str | None
) -> None:
    with pytest.raises(NotAuthenticated) as refused:
        await service.authenticate(token)

    assert "hivegov-mcp agent add" in str(refused.value)
    assert refused.value.code == "not_authenticated"


async def test_a_deactivated_agent_is_not_authenticated(service: GovernanceService, cast: Cast) -> None:
    await service.deactivate_agent(cast["root"], "bob")

    with pytest.raises(NotAuthenticated) as refused:
        await service.authenticate(cast.tokens["bob"])

    assert "'bob'" in str(refused.value)
    assert "deactivated" in str(refused.value)
    assert "hivegov-mcp agent activate bob" in str(refused.value)
    with pytest.raises(Conflict):
        await service.deactivate_agent(cast["root"], "bob")


async def test_a_rotated_token_stops_working_at_once(service: GovernanceService, cast: Cast) -> None:
    rotated = await service.rotate_token(cast["root"], "dave")

    with pytest.raises(NotAuthenticated) as refused:
        await service.authenticate(cast.tokens["dave"])

    assert "matches no agent" in str(refused.value) and "rotate-token" in str(refused.value)
    assert (await service.authenticate(rotated.token)).id == "dave"
