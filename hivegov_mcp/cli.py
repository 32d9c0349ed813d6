"""The command line (DESIGN §10). Working directly on the database file, it acts as the local
administrator (`@cli` in the audit log)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, cast

import anyio

from hivegov_mcp import __version__
from hivegov_mcp.agents import LOCAL_ADMIN
from hivegov_mcp.clock import SystemClock
from hivegov_mcp.domain.config import GovernanceConfig
from hivegov_mcp.errors import HivegovError
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import ENV_LOG_LEVEL, ENV_TOKEN, load_config, resolve_db_path
from hivegov_mcp.store.sqlite import SQLiteStore


def _with(common: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    class Parser(argparse.ArgumentParser):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("parents", [common])
            super().__init__(**kwargs)

    return Parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hivegov-mcp", description="An MCP server through which AI agents govern themselves (BIP-06)."
    )
    parser.add_argument("--version", action="version", version=f"hivegov-mcp {__version__}")
    parser.add_argument("--db", help="SQLite database file (default: $HIVEGOV_DB or ~/.local/share/hivegov)")
    parser.add_argument("--config", help="TOML configuration file (default: $HIVEGOV_CONFIG)")
    # --db and --config are also taken after the command (`hivegov-mcp agent list --db x.db`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", parser_class=_with(common))

    sub.add_parser("serve", help="speak MCP on stdio as the agent whose token is in HIVEGOV_TOKEN (default)")

    agent = sub.add_parser("agent", help="manage agents").add_subparsers(
        dest="agent_command", required=True, parser_class=_with(common)
    )
    add = agent.add_parser("add", help="register an agent; prints its token alone on stdout")
    add.add_argument("agent_id")
    add.add_argument("--role", action="append", required=True, dest="roles", help="a role (repeat for more)")
    add.add_argument("--name", help="display name")
    add.add_argument("--weight", type=int, default=1, help="voting weight (default 1)")
    agent.add_parser("list", help="list agents")
    roles = agent.add_parser("roles", help="replace an agent's roles")
    roles.add_argument("agent_id")
    roles.add_argument("roles", nargs="*")
    deactivate = agent.add_parser("deactivate", help="deactivate an agent (its token stops working)")
    deactivate.add_argument("agent_id")
    rotate = agent.add_parser("rotate-token", help="issue a new token; prints it alone on stdout")
    rotate.add_argument("agent_id")

    audit = sub.add_parser("audit", help="audit log").add_subparsers(
        dest="audit_command", required=True, parser_class=_with(common)
    )
    audit.add_parser("verify", help="exit 0 when the chain is intact, 1 with the first bad sequence number")

    sub.add_parser("tick", help="apply due deadlines once")
    sub.add_parser("demo", help="run a whole governance cycle by scripted agents over real stdio MCP")
    return parser


async def _admin(args: argparse.Namespace, config: GovernanceConfig) -> int:
    store = await SQLiteStore.open(resolve_db_path(args.db))
    try:
        svc = GovernanceService(store, config, SystemClock())
        if args.command == "agent":
            return await _agent_command(svc, args)
        if args.command == "audit":
            check = await svc.verify_audit()
            if check.ok:
                print(f"ok: {check.events} events, head {check.head}")
                return 0
            print(f"TAMPERED at seq {check.first_bad_seq}: {check.problem} ({check.events} events read)")
            return 1
        processed = await svc.apply_due_deadlines()
        print(f"processed {len(processed)} deadline(s)" + (f": {', '.join(processed)}" if processed else ""))
        return 0
    finally:
        await store.close()


async def _agent_command(svc: GovernanceService, args: argparse.Namespace) -> int:
    cmd = args.agent_command
    if cmd == "add":
        reg = await svc.register_agent(
            LOCAL_ADMIN, args.agent_id, args.roles, display_name=args.name, weight=args.weight
        )
        print(f"registered {reg.id} with roles {', '.join(reg.roles)}; its token follows (shown once)", file=sys.stderr)
        print(reg.token)
    elif cmd == "list":
        agents = (await svc.list_agents(LOCAL_ADMIN)).agents
        for a in agents:
            state = "active" if a.active else "inactive"
            print(f"{a.id:<24} {state:<9} weight {a.weight:<4} {', '.join(a.roles)}")
        if not agents:
            print("no agents yet: hivegov-mcp agent add ID --role proposer --role voter", file=sys.stderr)
    elif cmd == "roles":
        changed = await svc.set_agent_roles(LOCAL_ADMIN, args.agent_id, args.roles)
        print(f"{changed.id}: {', '.join(changed.roles) or '(no roles)'}")
    elif cmd == "deactivate":
        gone = await svc.deactivate_agent(LOCAL_ADMIN, args.agent_id)
        print(f"{gone.id}: deactivated")
    else:
        rotated = await svc.rotate_token(LOCAL_ADMIN, args.agent_id)
        print(f"new token for {rotated.id}; the old one no longer works", file=sys.stderr)
        print(rotated.token)
    return 0


def _serve(args: argparse.Namespace, config: GovernanceConfig) -> int:
    from hivegov_mcp.server import LogLevel, ServerSettings, build_server

    token = os.environ.get(ENV_TOKEN, "").strip() or None
    level = os.environ.get(ENV_LOG_LEVEL, "WARNING").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        level = "WARNING"
    settings = ServerSettings(
        db_path=resolve_db_path(args.db), config=config, token=token, log_level=cast(LogLevel, level)
    )
    if token is None:
        print(f"hivegov-mcp: {ENV_TOKEN} is not set; every tool will answer with how to get a token", file=sys.stderr)
    build_server(settings).run()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        if args.command in (None, "serve"):
            return _serve(args, config)
        if args.command == "demo":
            from hivegov_mcp.demo import run_demo

            code: int = anyio.run(run_demo, args.db, args.config)
            return code
        return anyio.run(_admin, args, config)
    except HivegovError as exc:
        print(f"hivegov-mcp: {exc}", file=sys.stderr)
        return 2
