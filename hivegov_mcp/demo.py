"""`hivegov-mcp demo`: a whole governance cycle by scripted agents, each talking to its own
server process over real stdio MCP, all on one database file (as desktop clients do)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.record_models import RulesInfo
from hivegov_mcp.settings import ENV_LOG_LEVEL, ENV_TOKEN, resolve_db_path, settings_from

AGENTS: dict[str, list[str]] = {
    "alice": ["proposer", "discussant"],
    "bob": ["discussant", "voter"],
    "carol": ["mediator", "voter", "summarizer"],
    "dave": ["proposer", "discussant", "voter"],
    "erin": ["arbiter", "reporter"],
    "ed": ["executor"],
}
# The demo's own rules (on its fresh database): an appeal window of 3 seconds, so the whole
# cycle, execution included, runs in real time.
DEMO_RULES = "[governance]\nappeal_window_minutes = 0.05\n"
APPEAL_WINDOW_SECONDS = 3.0
OFFLINE_VERIFIER = Path(__file__).resolve().parent.parent / "examples" / "verify_receipt.py"


class DemoFailed(Exception):
    pass


def say(line: str = "") -> None:
    print(line, flush=True)


class Speaker:
    """One agent: an MCP client connected to its own `hivegov-mcp serve` process."""

    def __init__(self, name: str, client: Client) -> None:
        self.name = name
        self.client = client

    async def call(self, tool: str, **args: Any) -> dict[str, Any]:
        result = await self.client.call_tool(tool, args)
        if result.is_error or result.structured_content is None:
            text = result.content[0].text if result.content else "(no text)"  # type: ignore[union-attr]
            raise DemoFailed(f"{self.name}: {tool} failed: {text}")
        content: dict[str, Any] = result.structured_content
        return content

    async def refused(self, tool: str, **args: Any) -> str:
        result = await self.client.call_tool(tool, args)
        if not result.is_error:
            raise DemoFailed(f"{self.name}: {tool} should have been refused")
        return str(result.content[0].text)  # type: ignore[union-attr]


def server_params(db: Path | str, config: str | None, token: str) -> StdioServerParameters:
    args = ["-m", "hivegov_mcp", "--db", str(db)]
    if config:
        args += ["--config", config]
    env = {ENV_TOKEN: token, ENV_LOG_LEVEL: "WARNING"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return StdioServerParameters(command=sys.executable, args=[*args, "serve"], env=env)


@asynccontextmanager
async def speakers(db: Path | str, config: str | None, tokens: dict[str, str]) -> AsyncIterator[dict[str, Speaker]]:
    async with AsyncExitStack() as stack:
        cast = {}
        for name, token in tokens.items():
            client = await stack.enter_async_context(Client(server_params(db, config, token)))
            cast[name] = Speaker(name, client)
        yield cast


async def register(db: Path | str, config: str | None) -> dict[str, str]:
    async with open_service(settings_from(str(db), config)) as svc:
        tokens = {}
        for name, roles in AGENTS.items():
            reg = await svc.register_agent(LOCAL_ADMIN, name, roles, display_name=name.capitalize())
            tokens[name] = reg.token
        return tokens


async def verifier_key(db: Path | str) -> str:
    """The public key an operator publishes (`hivegov-mcp audit public-key`)."""
    async with open_service(settings_from(str(db), None), store_rules=False) as svc:
        return svc.signer.verifier_key()


async def check_offline(proof: dict[str, Any], db: Path | str, folder: Path) -> str:
    """Run the standalone verifier of examples/ on a proof, as an outsider would: a separate
    Python process that has the proof and the public key, not the database."""
    script = OFFLINE_VERIFIER
    if not await anyio.Path(script).exists():
        return "(examples/verify_receipt.py is not beside this installation: skipped)"
    saved = folder / "proof.json"
    await anyio.Path(saved).write_text(json.dumps(proof), encoding="utf-8")
    done = await anyio.run_process([sys.executable, "-I", str(script), str(saved), await verifier_key(db)], check=False)
    if done.returncode != 0:
        raise DemoFailed(f"the offline verifier refused the proof: {done.stdout.decode().strip()}")
    return done.stdout.decode().strip()


async def show_rules(db: Path | str) -> RulesInfo:
    async with open_service(settings_from(str(db), None), store_rules=False) as svc:
        return await svc.show_rules()


def show(actor: str, what: str, receipt: dict[str, Any] | None = None) -> None:
    tail = f"  [audit #{receipt['seq']} {receipt['hash'][:12]}]" if receipt else ""
    say(f"  {actor:>6} | {what}{tail}")


def tally_line(r: dict[str, Any]) -> str:
    t = r["tally"]
    reason = f" ({r['reason']})" if r["reason"] else ""
    return (
        f"{r['proposal_id']}: {r['result'].upper()}{reason} - approve {t['approve']}, reject {t['reject']}, "
        f"abstain {t['abstain']}; quorum {'met' if r['quorum_met'] else 'not met'} "
        f"(need {r['quorum']} of eligible weight), consensus {r['consensus']:.2f} vs threshold "
        f"{r['approval_threshold']}"
    )


async def cycle(a: dict[str, Speaker]) -> list[dict[str, Any]]:
    alice, bob, carol, dave = a["alice"], a["bob"], a["carol"], a["dave"]
    say("\n== 1. A proposal meets an objection")
    p = await alice.call(
        "create_proposal",
        title="Adopt structured changelogs",
        type="process",
        abstract="Every release ships a machine-readable changelog entry.",
        motivation="Agents cannot tell what changed between releases without reading every commit.",
        specification="Each release adds CHANGELOG entries with type, scope and a one-line summary.",
    )
    pid = p["id"]
    show("alice", f"create_proposal -> {pid} {p['title']!r} ({p['status']}, v{p['version']})", p["receipt"])
    p = await alice.call("start_discussion", proposal_id=pid)
    show("alice", f"start_discussion -> round {p['round']}, deadline {p['deadline']}", p["receipt"])
    objection = await bob.call(
        "add_comment",
        proposal_id=pid,
        type="objection",
        content="There is no migration plan for the 400 existing entries; add one before we vote.",
    )
    show("bob", f"add_comment objection #{objection['id']}: {objection['content']!r}", objection["receipt"])
    c = await dave.call("add_comment", proposal_id=pid, type="support", content="Structured entries help agents.")
    show("dave", f"add_comment support #{c['id']}", c["receipt"])
    s = await carol.call("summarize_discussion", proposal_id=pid)
    show("carol", f"summarize_discussion -> recommends {s['recommendation']}", s["receipt"])
    refusal = await carol.refused(
        "conclude_discussion", proposal_id=pid, resolution="approved-for-voting", reason="Enough discussion."
    )
    show("carol", f"conclude_discussion approved-for-voting -> REFUSED: {refusal}")
    p = await carol.call(
        "conclude_discussion", proposal_id=pid, resolution="requires-revision", reason="Bob's objection stands."
    )
    show("carol", f"conclude_discussion requires-revision -> {p['status']}", p["receipt"])

    say("\n== 2. The author revises; the objection is resolved")
    p = await alice.call(
        "revise_proposal",
        proposal_id=pid,
        expected_version=1,
        change_note=f"Add a migration plan (answers objection #{objection['id']}).",
        implementation="A script converts the existing entries in one release; a reviewer checks a sample.",
    )
    show("alice", f"revise_proposal -> v{p['version']} ({p['change_note']})", p["receipt"])
    d = await bob.call("diff_proposal", proposal_id=pid, from_version=1, to_version=2)
    for line in d["diff"].splitlines():
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
            say(f"         |   diff {line}")
    p = await alice.call("start_discussion", proposal_id=pid)
    show("alice", f"start_discussion -> round {p['round']}", p["receipt"])
    r = await bob.call("resolve_comment", comment_id=objection["id"], note="The migration plan answers it.")
    show("bob", f"resolve_comment #{r['id']} -> resolved", r["receipt"])
    p = await carol.call(
        "conclude_discussion", proposal_id=pid, resolution="approved-for-voting", reason="No open objections."
    )
    show("carol", f"conclude_discussion approved-for-voting -> {p['status']} until {p['deadline']}", p["receipt"])

    say("\n== 3. Voting (results stay hidden until voting closes)")
    for voter, decision, why in (
        (bob, "approve", "The migration plan removes my concern; the format is simple."),
        (dave, "approve", "Machine-readable changelogs make release review cheaper."),
    ):
        v = await voter.call("cast_vote", proposal_id=pid, decision=decision, justification=why)
        show(voter.name, f"cast_vote {decision}", v["receipt"])
    mid = await alice.call("get_voting_results", proposal_id=pid)
    show("alice", f"get_voting_results while open -> voted {mid['voted']}, tally {mid['tally']}")
    v = await carol.call(
        "cast_vote", proposal_id=pid, decision="abstain", justification="As mediator I abstain on the merits."
    )
    show("carol", f"cast_vote abstain -> every eligible voter has voted: {v['status']}", v["receipt"])
    first = await alice.call("get_voting_results", proposal_id=pid)

    say("\n== 4. A second proposal is rejected")
    q = await dave.call(
        "create_proposal",
        title="Require two reviewers for every merge",
        type="process",
        abstract="Every merge needs two approving reviews.",
        motivation="One reviewer missed two regressions last month.",
        specification="Branch protection requires two approvals on main.",
    )
    qid = q["id"]
    show("dave", f"create_proposal -> {qid} {q['title']!r}", q["receipt"])
    q = await dave.call("start_discussion", proposal_id=qid)
    show("dave", "start_discussion", q["receipt"])
    c = await bob.call("add_comment", proposal_id=qid, content="This doubles review latency for small fixes.")
    show("bob", f"add_comment #{c['id']}", c["receipt"])
    q = await carol.call("conclude_discussion", proposal_id=qid, resolution="approved-for-voting", reason="Ready.")
    show("carol", f"conclude_discussion -> {q['status']}", q["receipt"])
    for voter, decision, why in (
        (dave, "approve", "Two reviewers would have caught both regressions."),
        (bob, "reject", "Latency cost is too high for one-line fixes."),
        (carol, "reject", "Better tests, not more reviewers, address the regressions."),
    ):
        v = await voter.call("cast_vote", proposal_id=qid, decision=decision, justification=why)
        show(voter.name, f"cast_vote {decision}", v["receipt"])
    second = await alice.call("get_voting_results", proposal_id=qid)

    say("\n== 5. After the vote: an appeal, then execution")
    erin, ed = a["erin"], a["ed"]
    appeal = await bob.call(
        "file_appeal", proposal_id=pid, grounds="Carol abstained as mediator; was the quorum really met?"
    )
    show("bob", f"file_appeal #{appeal['id']} on {pid}", appeal["receipt"])
    refusal = await ed.refused("claim_execution", proposal_id=pid)
    show("ed", f"claim_execution -> REFUSED: {refusal}")
    ruling = await erin.call(
        "decide_appeal", appeal_id=appeal["id"], decision="uphold", reason="Abstentions count toward the quorum."
    )
    show("erin", f"decide_appeal uphold -> {ruling['status']}", ruling["receipt"])
    say(f"         (waiting {APPEAL_WINDOW_SECONDS:g} s for the appeal window to close)")
    await anyio.sleep(APPEAL_WINDOW_SECONDS + 0.5)
    claim = await ed.call("claim_execution", proposal_id=pid)
    lease = claim["attempt"]["lease_until"]
    show("ed", f"claim_execution -> {claim['status']}, lease until {lease}", claim["receipt"])
    done = await ed.call(
        "report_execution",
        proposal_id=pid,
        outcome="succeeded",
        details="The changelog script ran; 400 entries converted.",
        artifacts=["https://example.org/pr/42"],
    )
    show("ed", f"report_execution succeeded -> {done['status']}", done["receipt"])
    metrics = await erin.call("get_governance_metrics")
    say("\n== Success criteria (get_governance_metrics)")
    for c in metrics["criteria"]:
        value = "n/a" if c["value"] is None else f"{c['value']:.0%}"
        say(f"  {c['name']:<15} {value:>5} (target {c['target']:.0%}, {c['numerator']}/{c['denominator']})")
    return [first, second, done]


async def run_demo(db_flag: str | None, config: str | None) -> int:
    with tempfile.TemporaryDirectory(prefix="hivegov-demo-") as tmp:
        db = resolve_db_path(db_flag) if db_flag else Path(tmp) / "demo.db"
        say(f"hivegov-mcp demo: {len(AGENTS)} agents, each with its own server process over stdio, one database")
        say(f"database: {db}")
        rules_file = config
        if config is None and not db_flag:  # the demo's fresh database: its short appeal window
            rules_file = str(Path(tmp) / "demo-rules.toml")
            await anyio.Path(rules_file).write_text(DEMO_RULES, encoding="utf-8")
        tokens = await register(db, rules_file)
        for name, roles in AGENTS.items():
            say(f"  registered {name:<6} roles: {', '.join(roles)}")
        rules = await show_rules(db)
        say(f"  rules version {rules.version} in force for every process (sha256 {rules.hash[:16]}…)")
        try:
            async with speakers(db, rules_file, tokens) as cast:
                *results, executed = await cycle(cast)
                check = await cast["alice"].call("verify_audit")
                status = await cast["alice"].call("get_governance_status")
                proof = await cast["bob"].call("get_audit_proof", seq=executed["receipt"]["seq"])
            offline = await check_offline(proof, db, Path(tmp))
        except DemoFailed as exc:
            print(f"demo failed: {exc}", file=sys.stderr)
            return 1
        say("\n== Final tallies")
        for r in results:
            say(f"  {tally_line(r)}")
        counts = ", ".join(f"{k} {v}" for k, v in status["counts"].items() if v)
        say(f"\n== Status: {counts}")
        verdict = "INTACT" if check["ok"] else f"BROKEN at seq {check['first_bad_seq']}"
        say(f"== Audit chain: {verdict}: {check['events']} events, head {check['head']}")
        say(f"== {results[0]['proposal_id']}: {executed['status']}")
        say(f"\n== The signed checkpoint the log ends with (hivegov://audit/checkpoint)\n{proof['checkpoint']['note']}")
        say(f"== ed's execution receipt #{executed['receipt']['seq']}, checked offline by examples/verify_receipt.py:")
        say(f"  {offline}")
        ok = (
            check["ok"]
            and [r["result"] for r in results] == ["approved", "rejected"]
            and executed["status"] == "executed"
        )
        return 0 if ok else 1
