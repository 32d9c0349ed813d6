"""delegate_vote and revoke_delegation (issue 19, DESIGN §20): a voter delegates its vote for one
proposal type or every type, replaces and revokes it, each change one row and one audit event; the
store's map prefers the type-specific delegation; a cycle is allowed and named in the receipt;
bad requests are refused by name and write nothing; the agenda, MCP, REST and the dashboard's
agents page show and make them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx2
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import ProposalType
from hivegov_mcp.domain.errors import Conflict, HivegovError, InvalidInput, NotFound, PermissionDenied
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.record_models import Delegation
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL, Cast
from tests.http_helpers import bearer, serve
from tests.mcp_helpers import connect, ok, refused

pytestmark = pytest.mark.anyio
API = "/api/governance"
STANDARDS = ProposalType.STANDARDS


async def _events(service: GovernanceService) -> int:
    return (await service.get_governance_status(LOCAL_ADMIN)).audit_events


async def _map(service: GovernanceService, proposal_type: str) -> dict[str, str]:
    async with service.store.read() as tx:
        return await tx.delegation_map(proposal_type)


@pytest.mark.both_stores
async def test_a_voter_delegates_replaces_and_revokes_each_change_one_row_and_one_logged_event(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    start = clock.now()
    general = await service.delegate_vote(cast["bob"], "carol")
    clock.advance(minutes=1)
    standards = await service.delegate_vote(cast["bob"], "dave", proposal_type="standards")
    clock.advance(minutes=1)
    replacing = await service.delegate_vote(cast["bob"], "dave")

    assert general.delegation == Delegation(agent_id="bob", to_agent="carol", proposal_type=None, since=start)
    assert (general.replaced, general.closes_cycle) == (None, None)
    assert standards.delegation.proposal_type is STANDARDS and standards.replaced is None
    assert replacing.delegation == Delegation(
        agent_id="bob", to_agent="dave", proposal_type=None, since=start + timedelta(minutes=2)
    )
    assert replacing.replaced == "carol"

    revoked = await service.revoke_delegation(cast["bob"], proposal_type="standards")
    assert revoked.delegation == standards.delegation  # the one revoked, as it was made
    assert (revoked.replaced, revoked.closes_cycle) == (None, None)

    log = await service.get_audit_log(cast["alice"], after_seq=general.receipt.seq - 1)
    assert [(e.seq, e.actor, e.subject, e.action, e.payload) for e in log.events] == [
        (
            general.receipt.seq,
            "bob",
            "agent:bob",
            "delegate_vote",
            {"to": "carol", "proposal_type": None, "replaces": None},
        ),
        (
            standards.receipt.seq,
            "bob",
            "agent:bob",
            "delegate_vote",
            {"to": "dave", "proposal_type": "standards", "replaces": None},
        ),
        (
            replacing.receipt.seq,
            "bob",
            "agent:bob",
            "delegate_vote",
            {"to": "dave", "proposal_type": None, "replaces": "carol"},
        ),
        (revoked.receipt.seq, "bob", "agent:bob", "revoke_delegation", {"proposal_type": "standards", "was": "dave"}),
    ]
    assert (await service.list_delegations(cast["alice"])).delegations == [replacing.delegation]
    check = await service.verify_audit(cast["bob"])
    assert check.ok, check


@pytest.mark.both_stores
async def test_the_map_the_count_follows_takes_the_type_s_delegation_over_the_general_one(
    service: GovernanceService, cast: Cast
) -> None:
    await service.delegate_vote(cast["bob"], "carol")
    await service.delegate_vote(cast["bob"], "dave", proposal_type="standards")
    await service.delegate_vote(cast["dave"], "carol", proposal_type="process")
    await service.delegate_vote(cast["carol"], "bob", proposal_type="informational")

    assert await _map(service, "standards") == {"bob": "dave"}
    assert await _map(service, "process") == {"bob": "carol", "dave": "carol"}
    assert await _map(service, "informational") == {"bob": "carol", "carol": "bob"}

    async with service.store.read() as tx:
        of_bob = await tx.delegations_of("bob")
        to_carol = await tx.delegations_to("carol")
        every = await tx.all_delegations()
    assert [(d.to_agent, d.proposal_type) for d in of_bob] == [("carol", None), ("dave", STANDARDS)]
    assert [(d.agent_id, d.proposal_type) for d in to_carol] == [("bob", None), ("dave", ProposalType.PROCESS)]
    assert [(d.agent_id, d.proposal_type) for d in every] == [
        ("bob", None),
        ("bob", STANDARDS),
        ("carol", ProposalType.INFORMATIONAL),
        ("dave", ProposalType.PROCESS),
    ]

    await service.revoke_delegation(cast["bob"])  # the general one: standards still goes to dave
    assert await _map(service, "standards") == {"bob": "dave"}
    assert await _map(service, "process") == {"dave": "carol"}


@pytest.mark.both_stores
async def test_a_delegation_that_closes_a_cycle_is_kept_and_its_receipt_names_the_cycle(
    service: GovernanceService, cast: Cast
) -> None:
    assert (await service.delegate_vote(cast["bob"], "carol")).closes_cycle is None
    assert (await service.delegate_vote(cast["carol"], "dave")).closes_cycle is None
    closing = await service.delegate_vote(cast["dave"], "bob", proposal_type="process")
    assert closing.closes_cycle == ["dave", "bob", "carol", "dave"]
    assert await _map(service, "process") == {"bob": "carol", "carol": "dave", "dave": "bob"}  # kept


@pytest.mark.both_stores
async def test_a_general_delegation_closes_no_cycle_for_a_type_the_agent_delegates_separately(
    service: GovernanceService, cast: Cast
) -> None:
    await service.delegate_vote(cast["bob"], "carol", proposal_type="standards")
    await service.delegate_vote(cast["carol"], "dave", proposal_type="standards")
    assert (await service.delegate_vote(cast["carol"], "bob")).closes_cycle is None  # standards: carol -> dave
    assert (await service.delegate_vote(cast["bob"], "carol")).closes_cycle == ["bob", "carol", "bob"]  # the others


@pytest.mark.both_stores
@pytest.mark.parametrize(
    ("who", "arguments", "error", "said"),
    [
        ("bob", {"to_agent": "zed"}, NotFound, "Unknown agent 'zed'"),
        ("bob", {"to_agent": "bob"}, InvalidInput, "'bob' is you"),
        ("bob", {"to_agent": "erin"}, InvalidInput, "'erin' does not hold the voter role"),
        ("bob", {"to_agent": "gone"}, InvalidInput, "'gone' has been deactivated"),
        ("bob", {"to_agent": "carol", "proposal_type": "budget"}, InvalidInput, "'budget' is not a proposal type"),
        ("bob", {"to_agent": "carol\x00"}, InvalidInput, "NUL"),
        ("alice", {"to_agent": "carol"}, PermissionDenied, "the voter role"),
        ("dave", {"to_agent": "carol"}, Conflict, "already delegate your votes on every type to 'carol'"),
    ],
)
async def test_a_bad_delegation_is_refused_naming_the_value_and_writes_nothing(
    service: GovernanceService,
    cast: Cast,
    who: str,
    arguments: dict[str, str],
    error: type[HivegovError],
    said: str,
) -> None:
    await service.register_agent(LOCAL_ADMIN, "gone", ["voter"])
    await service.deactivate_agent(LOCAL_ADMIN, "gone")
    await service.delegate_vote(cast["dave"], "carol")
    before, in_force = await _events(service), await _map(service, "process")
    with pytest.raises(error) as info:
        await service.delegate_vote(cast[who], **arguments)
    assert said in str(info.value), str(info.value)
    assert (await _events(service), await _map(service, "process")) == (before, in_force)


@pytest.mark.both_stores
async def test_revoking_a_delegation_you_don_t_have_names_its_type_and_those_you_have(
    service: GovernanceService, cast: Cast
) -> None:
    with pytest.raises(NotFound) as none:
        await service.revoke_delegation(cast["bob"])
    assert str(none.value) == "Unknown delegation of your votes on 'every type'. You delegate no votes."
    await service.delegate_vote(cast["bob"], "carol", proposal_type="process")
    before = await _events(service)
    with pytest.raises(NotFound) as info:
        await service.revoke_delegation(cast["bob"], proposal_type="standards")
    assert str(info.value) == "Unknown delegation of your votes on 'standards'. Yours: process to carol."
    with pytest.raises(PermissionDenied):
        await service.revoke_delegation(cast["alice"])  # not a voter, and nothing to revoke
    assert await _events(service) == before


@pytest.mark.both_stores
async def test_an_agent_that_lost_the_voter_role_may_still_revoke_its_delegation_but_not_make_one(
    service: GovernanceService, cast: Cast
) -> None:
    await service.delegate_vote(cast["bob"], "carol")
    await service.set_agent_roles(LOCAL_ADMIN, "bob", ["discussant"])
    bob = await service.authenticate(cast.tokens["bob"])
    with pytest.raises(PermissionDenied):
        await service.delegate_vote(bob, "dave")
    revoked = await service.revoke_delegation(bob)
    assert revoked.delegation.to_agent == "carol" and await _map(service, "standards") == {}


@pytest.mark.both_stores
async def test_the_agenda_lists_your_delegations_and_those_whose_weight_you_may_carry(
    service: GovernanceService, cast: Cast
) -> None:
    await service.delegate_vote(cast["bob"], "carol")
    await service.delegate_vote(cast["dave"], "carol", proposal_type="standards")
    await service.delegate_vote(cast["carol"], "dave", proposal_type="process")

    carol = await service.get_my_agenda(cast["carol"])
    assert [(d.to_agent, d.proposal_type) for d in carol.delegations] == [("dave", ProposalType.PROCESS)]
    assert [(d.agent_id, d.proposal_type) for d in carol.delegated_to_you] == [("bob", None), ("dave", STANDARDS)]
    bob = await service.get_my_agenda(cast["bob"])
    assert [d.to_agent for d in bob.delegations] == ["carol"] and bob.delegated_to_you == []
    alice = await service.get_my_agenda(cast["alice"])
    assert (alice.delegations, alice.delegated_to_you) == ([], [])


WHY = "I weighed the specification against the motivation and it holds up."


async def _voting(service: GovernanceService, cast: Cast) -> str:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id  # a process proposal
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
    return pid


@pytest.mark.both_stores
async def test_at_close_a_non_voter_s_weight_follows_the_delegations_made_until_then_and_voting_overrides(
    service: GovernanceService, cast: Cast
) -> None:
    pid = await _voting(service, cast)  # eligible: bob, carol, dave
    await service.delegate_vote(cast["bob"], "carol")  # made after voting opened: counted (as of close)
    await service.delegate_vote(cast["dave"], "bob", proposal_type="process")
    await service.delegate_vote(cast["dave"], "carol", proposal_type="standards")  # another type: not followed
    await service.cast_vote(cast["carol"], pid, "approve", WHY)
    await service.cast_vote(cast["bob"], pid, "reject", WHY)  # bob votes: his delegation to carol is overridden
    closed = await service.close_voting(cast["carol"], pid, "Everyone who meant to vote has.")

    results = await service.get_voting_results(cast["alice"], pid)
    assert results.ballots is not None
    carried = {b.agent_id: (b.carried_weight, b.delegated_by) for b in results.ballots}
    assert carried == {"bob": (2, ["dave"]), "carol": (1, [])}
    assert results.tally is not None and (results.tally.approve, results.tally.reject) == (1, 2)
    assert closed.receipt.seq > 0 and results.uncounted == []

    pid = await _voting(service, cast)
    await service.delegate_vote(cast["carol"], "bob")  # bob -> carol -> bob: a cycle, neither voting
    await service.cast_vote(cast["dave"], pid, "approve", WHY)  # dave votes: his delegation is overridden
    await service.close_voting(cast["carol"], pid, "Time's up.")
    results = await service.get_voting_results(cast["alice"], pid)
    assert results.ballots is not None and [(b.agent_id, b.carried_weight) for b in results.ballots] == [("dave", 1)]
    assert {(u.agent_id, u.reason) for u in results.uncounted or []} == {("bob", "cycle"), ("carol", "cycle")}


async def test_delegation_over_mcp_and_rest_with_the_refusals_a_model_reads(db_path: Path, clock: FakeClock) -> None:
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        tokens = {name: (await service.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in CAST.items()}

    async with connect(db_path, tokens["bob"], clock=clock) as bob:
        tools = {t.name: t for t in (await bob.list_tools()).tools}
        made = await ok(bob, "delegate_vote", to_agent="carol", proposal_type="standards")
        yourself = await refused(bob, "delegate_vote", to_agent="bob")
        missing = await refused(bob, "revoke_delegation", proposal_type="process")
        wrong_type = await refused(bob, "delegate_vote", to_agent="carol", proposal_type="budget")
        agenda = await ok(bob, "get_my_agenda")
        revoked = await ok(bob, "revoke_delegation", proposal_type="standards")
    assert "type-specific delegation before general" in (tools["delegate_vote"].description or "")
    assert tools["revoke_delegation"].annotations is not None
    assert tools["revoke_delegation"].annotations.destructive_hint is True
    assert made["delegation"]["to_agent"] == "carol" and made["delegation"]["proposal_type"] == "standards"
    assert made["replaced"] is None and made["closes_cycle"] is None and set(made["receipt"]) == {"seq", "hash", "leaf"}
    assert "'bob' is you" in yourself
    assert "Unknown delegation of your votes on 'process'" in missing and "Yours: standards to carol" in missing
    assert "proposal_type" in wrong_type
    assert [d["to_agent"] for d in agenda["delegations"]] == ["carol"]
    assert revoked["delegation"]["to_agent"] == "carol"

    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        path = f"{API}/agents/me/delegations"
        general = await http.post(path, json={"to_agent": "bob"}, headers=bearer(tokens["dave"]))
        cycle = await http.post(path, json={"to_agent": "dave"}, headers=bearer(tokens["bob"]))
        listed = await http.get(f"{API}/delegations", headers=bearer(tokens["alice"]))
        unknown = await http.post(path, json={"to_agent": "zed"}, headers=bearer(tokens["dave"]))
        not_a_voter = await http.post(path, json={"to_agent": "bob"}, headers=bearer(tokens["alice"]))
        revoke = await http.post(f"{path}/revoke", headers=bearer(tokens["dave"]))  # no body: the general one
        again = await http.post(f"{path}/revoke", json={}, headers=bearer(tokens["dave"]))
    assert general.status_code == 200, general.text
    assert general.json()["delegation"]["proposal_type"] is None
    assert cycle.status_code == 200 and cycle.json()["closes_cycle"] == ["bob", "dave", "bob"]
    assert [(d["agent_id"], d["to_agent"]) for d in listed.json()["delegations"]] == [("bob", "dave"), ("dave", "bob")]
    assert unknown.status_code == 404 and "'zed'" in unknown.json()["error"]["message"]
    assert not_a_voter.status_code == 403
    assert revoke.status_code == 200 and revoke.json()["delegation"]["to_agent"] == "bob"
    assert again.status_code == 404 and "every type" in again.json()["error"]["message"]


async def _login(http: httpx2.AsyncClient, token: str) -> str:
    """Sign in; the agents page's CSRF token."""
    page = await http.get("/login")
    nonce = page.text.split('name="csrf" value="')[1].split('"')[0]
    await http.post("/login", data={"token": token, "csrf": nonce})
    return (await http.get("/agents")).text.split('name="csrf" value="')[1].split('"')[0]


async def test_the_agents_page_shows_delegations_and_a_voter_delegates_and_revokes_from_it(
    db_path: Path, clock: FakeClock
) -> None:
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        tokens = {name: (await service.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in CAST.items()}
    async with serve(db_path, clock=clock) as served:
        async with httpx2.AsyncClient(base_url=served.base) as bob:
            csrf = await _login(bob, tokens["bob"])
            before = (await bob.get("/agents")).text
            forged = await bob.post("/agents/me/delegate", data={"to_agent": "carol", "proposal_type": ""})
            general = await bob.post(
                "/agents/me/delegate", data={"csrf": csrf, "to_agent": "carol", "proposal_type": ""}
            )
            typed = await bob.post(
                "/agents/me/delegate", data={"csrf": csrf, "to_agent": "dave", "proposal_type": "standards"}
            )
            yourself = await bob.post(
                "/agents/me/delegate", data={"csrf": csrf, "to_agent": "bob", "proposal_type": ""}
            )
            shown = (await bob.get("/agents")).text
            revoked = await bob.post("/agents/me/revoke-delegation", data={"csrf": csrf, "proposal_type": ""})
            after = (await bob.get("/agents")).text
        async with httpx2.AsyncClient(base_url=served.base) as alice:  # a proposer: no form, the table still
            await _login(alice, tokens["alice"])
            seen_by_alice = (await alice.get("/agents")).text

    assert 'id="delegate-form"' in before and "You delegate no votes." in before
    assert "<option>carol</option>" in before and "<option>bob</option>" not in before  # voters, not yourself
    assert "<option>erin</option>" not in before  # an arbiter, not a voter
    assert forged.status_code == 403
    assert general.status_code == 303 and general.headers["location"] == "/agents"
    assert typed.status_code == 303
    assert (
        yourself.status_code == 400
        and "&#39;bob&#39; is you" in yourself.text
        and 'id="delegate-form"' in yourself.text
    )
    row = shown.split('data-agent="bob"')[1].split("</tr>")[0]
    assert 'carol <span class="muted">(every type)</span>, dave <span class="muted">(standards)</span>' in row
    assert shown.count('action="/agents/me/revoke-delegation"') == 2
    assert revoked.status_code == 303
    row = after.split('data-agent="bob"')[1].split("</tr>")[0]
    assert "carol" not in row and "dave" in row
    assert 'id="delegate-form"' not in seen_by_alice and "dave" in seen_by_alice.split('data-agent="bob"')[1]


async def test_a_delegation_made_after_the_voting_deadline_does_not_count_for_that_vote(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    """The deadline closes the vote before the delegation is written, whether or not anything
    processed the deadline in between (no ticker here)."""
    pid = await _voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "approve", WHY)
    await service.cast_vote(cast["carol"], pid, "approve", WHY)
    clock.advance(minutes=120)  # past the 30-minute voting deadline, not yet processed
    await service.delegate_vote(cast["dave"], "bob")
    results = await service.get_voting_results(cast["alice"], pid)
    assert results.closed_at is not None and results.deadline is not None
    assert results.ballots is not None
    assert {b.agent_id: (b.carried_weight, b.delegated_by) for b in results.ballots} == {
        "bob": (1, []),
        "carol": (1, []),
    }
    assert [(u.agent_id, u.reason) for u in results.uncounted or []] == [("dave", "no_delegation")]
