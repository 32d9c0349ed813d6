"""The council's faults (issue 18): an endpoint that fails, answers garbage, or sends wrong
tool arguments; a budget of 3 requests; a member whose token is deactivated mid-run; the server
restarted mid-run. A real uvicorn on loopback, the scripted OpenAI-compatible endpoint on
another, the council in this process with a clock the test moves."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
import uvicorn

from hivegov_mcp.app import open_service
from hivegov_mcp.council.runner import run_council
from hivegov_mcp.council.scripted import ChatRequest, Fault, Reply, ScriptedEndpoint, call, say
from hivegov_mcp.council.status import read
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.http.app import HttpOptions, build_http_app
from hivegov_mcp.http.serve import guarded_config
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from tests.council_helpers import (
    JUSTIFICATION,
    FakeTime,
    Transcript,
    ballots,
    council,
    member,
    open_vote,
    people,
    votes_approve,
)
from tests.http_helpers import serve

pytestmark = pytest.mark.anyio


async def test_an_endpoint_that_errs_then_answers_garbage_then_wrong_arguments_is_retried_and_corrected(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    def flaky(req: ChatRequest) -> Reply:
        n = endpoint.count("flaky")
        if n == 1:
            return Fault(500)
        if n == 2:
            return Fault(garbage=True)
        if req.item.get("tool") != "cast_vote":
            return say("Nothing to do.")
        pid = req.item["proposal_id"]
        if not req.calls:
            return call("cast_vote", proposal_id=pid, decision="maybe", justification=JUSTIFICATION)
        if len(req.calls) == 1:
            return call("cast_vote", proposal_id=pid, decision="approve", justification=JUSTIFICATION)
        return say("Done.")

    def script(req: ChatRequest) -> Reply:
        return flaky(req) if req.model == "flaky" else votes_approve(req)

    endpoint = ScriptedEndpoint(script, models=("flaky", "steady"))
    time, transcript = FakeTime(), Transcript()
    async with serve(db_path, clock=clock) as served, endpoint.serving():
        await people(served.service)
        tokens = {
            name: (await served.service.register_agent(LOCAL_ADMIN, name, ["voter"])).token
            for name in ("flaky", "steady")
        }
        pid = await open_vote(served.service)
        members = [member(n, tokens[n], n, endpoint.base_url) for n in ("flaky", "steady")]
        setup = council(tmp_path, members, server=f"{served.base}/mcp")
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_council(setup, time=time, say=transcript))
            await transcript.wait_for(f"flaky {pid} cast_vote: done")
            await transcript.wait_for(f"steady {pid} cast_vote: done")
            tg.cancel_scope.cancel()
        cast = await ballots(served.service, pid)

    assert cast == {"flaky": "cast_vote", "steady": "cast_vote"}
    # 500, garbage, the wrong call, the right call, "Done.": five requests, two waits of backoff
    assert endpoint.count("flaky") == 5
    assert time.waits[:2] == [2.0, 8.0]
    corrected = [r for r in endpoint.requests if r.model == "flaky"][3]
    assert corrected.model == "flaky" and corrected.messages[-1]["role"] == "tool"
    assert "decision" in str(corrected.messages[-1]["content"])  # the refusal went back to the model
    assert transcript.has(f"flaky {pid} cast_vote(decision=maybe")
    assert endpoint.count("steady") >= 2  # the other member was never held up


async def test_a_budget_of_three_requests_is_three_requests_at_the_endpoint_and_the_member_says_so(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    def greedy(req: ChatRequest) -> Reply:  # reads for ever: only the budget stops it
        return call("get_proposal", proposal_id=req.item.get("proposal_id", "BIP-001"))

    endpoint = ScriptedEndpoint(greedy, models=("greedy",))
    time, transcript = FakeTime(), Transcript()
    async with serve(db_path, clock=clock) as served, endpoint.serving():
        await people(served.service)
        token = (await served.service.register_agent(LOCAL_ADMIN, "greedy", ["voter"])).token
        await open_vote(served.service)
        setup = council(
            tmp_path,
            [member("greedy", token, "greedy", endpoint.base_url, max_requests_per_hour=3)],
            server=f"{served.base}/mcp",
            steps=50,
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_council(setup, time=time, say=transcript))
            said = await transcript.wait_for("budget spent")
            await transcript.wait_for("greedy: budget spent")  # and it waits, not asking
            seen_while_spent = endpoint.count()
            status = read(setup.status_file)
            calls_while_spent = len(transcript.lines)
            time.advance(3601)  # an hour later it may ask again
            await transcript.wait_for("greedy BIP-001 get_proposal", after=calls_while_spent)
            tg.cancel_scope.cancel()

    assert seen_while_spent == 3
    assert "3 of 3 model requests in the last hour" in said
    assert status is not None
    budget = status["members"]["greedy"]["budget"]
    assert (budget["requests_this_hour"], budget["max_requests_per_hour"]) == (3, 3)
    assert status["members"]["greedy"]["state"].startswith("waiting: budget spent")
    assert endpoint.count() > 3


async def test_a_member_whose_token_is_deactivated_stops_alone_and_the_others_go_on(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    endpoint = ScriptedEndpoint(votes_approve, models=("m",))
    time, transcript = FakeTime(), Transcript()
    async with serve(db_path, clock=clock) as served, endpoint.serving():
        service = served.service
        await people(service)
        tokens = {n: (await service.register_agent(LOCAL_ADMIN, n, ["voter"])).token for n in ("ann", "ben", "cy")}
        first = await open_vote(service)
        members = [member(n, tokens[n], "m", endpoint.base_url) for n in ("ann", "ben", "cy")]
        setup = council(tmp_path, members, server=f"{served.base}/mcp")
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_council(setup, time=time, say=transcript))
            for n in ("ann", "ben", "cy"):
                await transcript.wait_for(f"{n} {first} cast_vote(decision=approve")
            await service.deactivate_agent(LOCAL_ADMIN, "ben")
            second = await open_vote(service)
            stopped = await transcript.wait_for("ben: stopped")
            await transcript.wait_for(f"ann {second} cast_vote(decision=approve")
            await transcript.wait_for(f"cy {second} cast_vote(decision=approve")
            tg.cancel_scope.cancel()
        cast = await ballots(service, second)

    assert "refused the token in HIVEGOV_TOKEN" in stopped and "rotate-token ben" in stopped
    assert set(cast) == {"ann", "cy"}
    status = read(setup.status_file)
    assert status is not None and status["members"]["ben"]["state"].startswith("stopped")


@asynccontextmanager
async def _server_on(port: int, db: Path, clock: FakeClock) -> AsyncIterator[GovernanceService]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    async with open_service(Settings(db=db, clock=clock)) as service:
        app = build_http_app(service, HttpOptions(port=port, tick_seconds=0, feed_seconds=0.02))
        server = uvicorn.Server(guarded_config(app))
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: server.serve(sockets=[sock]))
            try:
                yield service
            finally:
                server.should_exit = True
    sock.close()


async def test_the_council_reconnects_when_the_server_restarts_mid_run(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    endpoint = ScriptedEndpoint(votes_approve, models=("m",))
    time, transcript = FakeTime(), Transcript()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    async with endpoint.serving(), anyio.create_task_group() as tg:
        async with _server_on(port, db_path, clock) as service:
            await people(service)
            token = (await service.register_agent(LOCAL_ADMIN, "ann", ["voter"])).token
            first = await open_vote(service)
            setup = council(
                tmp_path, [member("ann", token, "m", endpoint.base_url)], server=f"http://127.0.0.1:{port}/mcp"
            )
            tg.start_soon(lambda: run_council(setup, time=time, say=transcript))
            await transcript.wait_for(f"ann {first} cast_vote(decision=approve")
        async with _server_on(port, db_path, clock) as service:
            second = await open_vote(service)
            await transcript.wait_for(f"ann {second} cast_vote(decision=approve")
            cast = await ballots(service, second)
            tg.cancel_scope.cancel()

    assert transcript.has("ann: lost the server")
    assert transcript.has("ann: connected as ann") and sum("ann: connected" in line for line in transcript.lines) >= 2
    assert cast == {"ann": "cast_vote"}


async def test_a_stop_lets_the_item_in_hand_finish_and_takes_no_other(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    endpoint = ScriptedEndpoint(votes_approve, models=("m",))
    transcript, stop = Transcript(), anyio.Event()

    def say(line: str) -> None:
        transcript(line)
        if "cast_vote(decision=approve" in line:
            stop.set()  # Ctrl-C while the first item is in hand: its tool call has returned, its model not

    async with serve(db_path, clock=clock) as served, endpoint.serving():
        await people(served.service)
        token = (await served.service.register_agent(LOCAL_ADMIN, "ann", ["voter"])).token
        await served.service.register_agent(LOCAL_ADMIN, "ben", ["voter"])  # so neither vote closes early
        first, second = await open_vote(served.service), await open_vote(served.service)
        setup = council(tmp_path, [member("ann", token, "m", endpoint.base_url)], server=f"{served.base}/mcp")
        with anyio.fail_after(60):
            board = await run_council(setup, time=FakeTime(), say=say, stop=stop)
        log = await served.service.get_audit_log(LOCAL_ADMIN, limit=500)

    voted = [e.subject for e in log.events if e.action == "cast_vote"]
    assert len(voted) == 1 and voted[0] in (first, second)
    assert transcript.has(f"ann {voted[0]} cast_vote: done")  # the item finished: its line and its cost
    assert [e.actor for e in log.events if e.action == "model_usage_reported"] == ["ann"]  # and its usage
    assert board.members["ann"].state == "stopped" and not board.running


async def test_an_endpoint_that_never_answers_is_cut_off_at_the_members_timeout_and_tried_again(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    def slow_then_fine(req: ChatRequest) -> Reply:
        return Fault(hang=True) if endpoint.count() == 1 else votes_approve(req)

    endpoint = ScriptedEndpoint(slow_then_fine, models=("m",))
    time, transcript = FakeTime(), Transcript()
    async with serve(db_path, clock=clock) as served, endpoint.serving():
        await people(served.service)
        token = (await served.service.register_agent(LOCAL_ADMIN, "ann", ["voter"])).token
        pid = await open_vote(served.service)
        hasty = member("ann", token, "m", endpoint.base_url, timeout_seconds=0.5)
        setup = council(tmp_path, [hasty], server=f"{served.base}/mcp")
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_council(setup, time=time, say=transcript))
            await transcript.wait_for(f"ann {pid} cast_vote: done")
            tg.cancel_scope.cancel()
        cast = await ballots(served.service, pid)

    assert cast == {"ann": "cast_vote"}
    assert time.waits[0] == 2.0  # the first backoff, after the timed-out request
    assert endpoint.count() == 3  # the hung request, the vote, "Done."
