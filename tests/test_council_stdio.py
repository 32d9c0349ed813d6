"""The council over stdio (`[council] db = "gov.db"`): each member runs its own `hivegov-mcp
serve` on the database file with its token, and the council wakes on the file's log, as the
server processes on that file do (no HTTP server anywhere)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.council.runner import run_council
from hivegov_mcp.council.scripted import ScriptedEndpoint
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings
from tests.council_helpers import FakeTime, Transcript, ballots, council, member, open_vote, people, votes_approve

pytestmark = pytest.mark.anyio


async def test_over_stdio_members_run_their_own_servers_and_wake_on_the_database_log(
    db_path: Path, tmp_path: Path
) -> None:
    endpoint = ScriptedEndpoint(votes_approve, models=("m",))
    transcript = Transcript()
    async with open_service(Settings(db=db_path)) as service, endpoint.serving():
        await people(service)
        tokens = {n: (await service.register_agent(LOCAL_ADMIN, n, ["voter"])).token for n in ("ann", "ben")}
        setup = council(tmp_path, [member(n, tokens[n], "m", endpoint.base_url) for n in tokens], db=db_path)
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_council(setup, time=FakeTime(), say=transcript))
            await transcript.wait_for("ann: connected as ann")
            await transcript.wait_for("ben: connected as ben")
            pid = await open_vote(service)  # written after both are idle: only the log can wake them
            await transcript.wait_for(f"ann {pid} cast_vote: done")
            await transcript.wait_for(f"ben {pid} cast_vote: done")
            tg.cancel_scope.cancel()
        cast = await ballots(service, pid)
        closed = await service.get_proposal(LOCAL_ADMIN, pid)

    assert cast == {"ann": "cast_vote", "ben": "cast_vote"}
    assert closed.status == "approved"
    assert transcript.has("on " + str(db_path) + " (stdio)")
