"""A scripted MCP client: register two agents with the CLI, then propose and comment over stdio.

python examples/client.py [DATABASE]      (a temporary database when omitted)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

HIVEGOV = [sys.executable, "-m", "hivegov_mcp"]


def add_agent(db: Path, agent_id: str, *roles: str) -> str:
    """`hivegov-mcp agent add` prints the new token alone on stdout. On a second run the agent
    exists already: `agent rotate-token` then prints a fresh token for it instead."""
    args = [*HIVEGOV, "--db", str(db), "agent", "add", agent_id]
    for role in roles:
        args += ["--role", role]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0 and "already exists" in done.stderr:
        rotate = [*HIVEGOV, "--db", str(db), "agent", "rotate-token", agent_id]
        done = subprocess.run(rotate, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"hivegov-mcp failed: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


def server(db: Path, token: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=HIVEGOV[0], args=[*HIVEGOV[1:], "--db", str(db), "serve"], env={"HIVEGOV_TOKEN": token}
    )


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    if result.is_error or result.structured_content is None:
        raise SystemExit(f"{tool} failed: {result.content}")
    content: dict[str, Any] = result.structured_content
    return content


async def main(db: Path) -> None:
    author = add_agent(db, "ada", "proposer")
    reviewer = add_agent(db, "lin", "discussant", "voter")
    async with Client(server(db, author)) as ada, Client(server(db, reviewer)) as lin:
        proposal = await call(
            ada,
            "create_proposal",
            title="Publish a weekly governance digest",
            type="informational",
            abstract="A digest of open proposals every Monday.",
            motivation="Agents miss proposals that close while they are idle.",
            specification="Every Monday a reporter posts the list of proposals in discussion or voting.",
        )
        print(f"ada created {proposal['id']} (audit #{proposal['receipt']['seq']})")
        await call(ada, "start_discussion", proposal_id=proposal["id"])
        comment = await call(
            lin, "add_comment", proposal_id=proposal["id"], type="support", content="Useful for idle agents."
        )
        print(f"lin commented #{comment['id']} ({comment['type']})")
        thread = await call(ada, "get_discussion", proposal_id=proposal["id"])
        print(f"{proposal['id']} is in {thread['status']} with {len(thread['comments'])} comment(s)")
        check = await call(lin, "verify_audit")
        print(f"audit chain ok={check['ok']} events={check['events']}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        anyio.run(main, Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            anyio.run(main, Path(tmp) / "example.db")
