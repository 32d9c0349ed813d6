"""The command line (DESIGN §10). Working directly on the database file, it acts as the local
administrator (`@cli` in the audit log). Exit status: 0 done, 1 the audit chain is broken,
2 an error (printed on stderr with what to do next)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from hivegov_mcp import __version__
from hivegov_mcp.app import open_service
from hivegov_mcp.catalogue import CATALOGUE, Kind
from hivegov_mcp.council import commands as council_commands
from hivegov_mcp.domain import merkle
from hivegov_mcp.domain.errors import ConfigError, HivegovError, LogTampered, StorageError
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.permissions import role_grants_text
from hivegov_mcp.domain.report import metrics_markdown
from hivegov_mcp.service import GovernanceService, checkpoint
from hivegov_mcp.settings import (
    ENV_CONFIG,
    ENV_DB,
    ENV_LOG_LEVEL,
    ENV_TOKEN,
    LOG_LEVELS,
    Settings,
    configure_logging,
    default_db_path,
    log_level,
    read_rules_file,
    settings_from,
)
from hivegov_mcp.store.urls import redacted

# The commands that only read: those of read operations in the catalogue, and the public key.
READING_COMMANDS = frozenset(
    {op.command for op in CATALOGUE.values() if op.command and op.kind is Kind.READ} | {"audit public-key"}
)
EXIT_TAMPERED = 1
EXIT_ERROR = 2

ENVIRONMENT = f"""\
environment:
  {ENV_TOKEN}      the token of the agent this server acts as (printed by `hivegov-mcp agent add`)
  {ENV_DB}         the database file, when --db is not given (default {default_db_path()})
  {ENV_CONFIG}     a rules file, when --config is not given (checked against the database's rules)
  {ENV_LOG_LEVEL}  {", ".join(LOG_LEVELS)} (default WARNING): the server's own log on stderr,
                    one line per tool call at INFO (tool, agent, outcome, duration)"""


def _with(common: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    class Parser(argparse.ArgumentParser):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("parents", [common])
            kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
            super().__init__(**kwargs)

    return Parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hivegov-mcp",
        description="An MCP server through which AI agents govern themselves (BIP-06).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=ENVIRONMENT,
    )
    parser.add_argument("--version", action="version", version=f"hivegov-mcp {__version__}")
    parser.add_argument("--db", help=f"SQLite database file (default: ${ENV_DB}, else {default_db_path()})")
    parser.add_argument(
        "--config", help=f"TOML rules file (default: ${ENV_CONFIG}); must match the rules stored in the database"
    )
    # --db and --config are also taken after the command (`hivegov-mcp agent list --db x.db`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", parser_class=_with(common))

    serve = sub.add_parser(
        "serve",
        help="speak MCP on stdio as the agent of HIVEGOV_TOKEN (the default command), or serve HTTP",
        description="Speak MCP on stdio as the agent whose token is in HIVEGOV_TOKEN; or, with --transport "
        "streamable-http (or sse), serve the HTTP app: MCP at /mcp and /sse, the REST API under "
        "/api/governance/, its events, /healthz. Over HTTP every request brings its agent's token "
        "(Authorization: Bearer …).",
        epilog=ENVIRONMENT,
    )
    serve.add_argument(
        "--transport",
        choices=["stdio", "streamable-http", "sse"],
        default="stdio",
        help="stdio (default); streamable-http or sse: the same HTTP app (the flag names the endpoint printed)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="HTTP: the address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP: the port (default 8000; 0: any free one)")
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        dest="allowed_hosts",
        metavar="NAME",
        help="HTTP: a host name clients use (Host/Origin check; repeat for more); required with a non-loopback --host",
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="HTTP: the URL clients reach this server at, when not http://HOST:PORT (behind a TLS proxy: "
        "https://gov.example.com); OAuth's issuer and the resource /mcp are named from it, and its host "
        "is allowed. OAuth for remote connectors needs https, or a loopback URL",
    )

    agent = sub.add_parser("agent", help="manage agents").add_subparsers(
        dest="agent_command", required=True, parser_class=_with(common)
    )
    grants = "what each role grants:\n" + role_grants_text()
    add = agent.add_parser("add", help="register an agent; prints its token alone on stdout", epilog=grants)
    add.add_argument("agent_id")
    add.add_argument("--role", action="append", required=True, dest="roles", help="a role (repeat for more)")
    add.add_argument("--name", help="display name")
    add.add_argument("--weight", type=int, default=1, help="voting weight (default 1)")
    agent.add_parser("list", help="list agents")
    roles = agent.add_parser(
        "roles",
        help="replace an agent's roles",
        description="Replace an agent's roles. They act at once, except on a vote already open: its\n"
        "electorate and weights were frozen when voting opened, so removing `voter` leaves the\n"
        "agent its place (and its ballot) in that vote, and granting `voter` gives none; both\n"
        "hold from the next vote that opens.",
        epilog=grants,
    )
    roles.add_argument("agent_id")
    roles.add_argument("roles", nargs="+", metavar="ROLE", help="the complete new list of roles")
    deactivate = agent.add_parser("deactivate", help="deactivate an agent (its token stops working)")
    deactivate.add_argument("agent_id")
    activate = agent.add_parser("activate", help="activate a deactivated agent again (its token works again)")
    activate.add_argument("agent_id")
    rotate = agent.add_parser("rotate-token", help="issue a new token; prints it alone on stdout")
    rotate.add_argument("agent_id")

    rules = sub.add_parser("rules", help="the governance rules stored in the database").add_subparsers(
        dest="rules_command", required=True, parser_class=_with(common)
    )
    rules.add_parser("show", help="print the rules in force (canonical TOML) with their version and hash")
    set_rules = rules.add_parser(
        "set",
        help="store FILE's rules as a new version for every process on the database",
        description="Store FILE's rules as a new version. Votes already open keep the rules they opened under.",
    )
    set_rules.add_argument("file")

    audit = sub.add_parser("audit", help="audit log").add_subparsers(
        dest="audit_command", required=True, parser_class=_with(common)
    )
    verify = audit.add_parser("verify", help="exit 0 when the chain is intact, 1 with the first bad sequence number")
    verify.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="also prove the log extends this signed checkpoint (from `audit checkpoint`)",
    )
    audit.add_parser("checkpoint", help="sign and print a checkpoint of the log (C2SP signed note, Ed25519)")
    audit.add_parser("public-key", help="print the verifier key of this database's checkpoints")

    webhook = sub.add_parser("webhook", help="manage webhooks (each audit event POSTed, signed)").add_subparsers(
        dest="webhook_command", required=True, parser_class=_with(common)
    )
    add_hook = webhook.add_parser("add", help="register a URL; prints its id, then its secret alone on stdout (once)")
    add_hook.add_argument("url")
    webhook.add_parser("list", help="list the webhooks and their deliveries")
    remove_hook = webhook.add_parser("remove", help="stop delivering to a webhook")
    remove_hook.add_argument("webhook_id", type=int)
    sub.add_parser("tick", help="apply due deadlines once")
    report = sub.add_parser("report", help="the governance metrics (success criteria, phases, agents) as Markdown")
    report.add_argument("--since", type=_moment, help="start, ISO 8601 (e.g. 2026-11-01 or 2026-11-01T12:00Z)")
    report.add_argument("--until", type=_moment, help="end, exclusive (default: now)")
    migrate = sub.add_parser(
        "migrate",
        help="copy a governance from a SQLite file into an empty PostgreSQL database, then verify the copy",
    )
    migrate.add_argument("--from", dest="source", required=True, metavar="sqlite:PATH", help="the SQLite file")
    migrate.add_argument("--to", dest="target", required=True, metavar="postgresql://…", help="the PostgreSQL database")
    demo = sub.add_parser("demo", help="run a whole governance cycle by scripted agents over real stdio MCP")
    demo.add_argument(
        "--council", action="store_true", help="the cycle by scripted model members (`council run`) over HTTP"
    )
    council_commands.add_parser(sub)
    return parser


def _moment(text: str) -> datetime:
    """An ISO 8601 date or time; without a zone, UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time (e.g. 2026-11-01)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _admin(args: argparse.Namespace, settings: Settings) -> int:
    check = args.command != "rules"
    if args.command == "rules" and args.rules_command == "set":
        settings = replace(settings, rules=read_rules_file(args.file), rules_source=args.file)
    # Commands that only read never store rules: the first command that writes (or `rules set`) does.
    words = (args.command, getattr(args, f"{args.command}_command", None))
    reading = " ".join(w for w in words if w) in READING_COMMANDS
    target = anyio.Path(settings.db)
    fresh = not settings.is_postgres() and not (await target.exists() and (await target.stat()).st_size > 0)
    if reading and fresh:
        raise StorageError(
            str(settings.db), "there is no database in that file (commands that only read don't create one)"
        )
    if fresh:  # a mistyped --db must not start a new governance unnoticed
        print(f"hivegov-mcp: creating a new governance database at {settings.db}", file=sys.stderr)
    async with open_service(settings, check_rules=check, store_rules=not reading) as svc:
        if args.command == "agent":
            return await _agent_command(svc, args)
        if args.command == "rules":
            return await _rules_command(svc, args, settings)
        if args.command == "audit" and args.audit_command != "verify":
            return await _checkpoint_command(svc, args)
        if args.command == "audit":
            if args.checkpoint and not await _check_checkpoint(svc, Path(args.checkpoint)):
                return EXIT_TAMPERED
            result = await svc.verify_audit()
            if result.ok:
                print(f"ok: {result.events} events, head {result.head}")
                return 0
            if result.row is None:
                print(f"TAMPERED at seq {result.first_bad_seq}: {result.problem} ({result.events} events read)")
            else:
                event = f" (the log's event {result.first_bad_seq})" if result.first_bad_seq else ""
                print(f"TAMPERED at {result.row}: {result.problem}{event}")
            return EXIT_TAMPERED
        if args.command == "webhook":
            return await _webhook_command(svc, args)
        if args.command == "report":
            print(metrics_markdown(await svc.get_governance_metrics(LOCAL_ADMIN, args.since, args.until)), end="")
            return 0
        processed = await svc.apply_due_deadlines()
        print(f"processed {len(processed)} deadline(s)" + (f": {', '.join(processed)}" if processed else ""))
        return 0


async def _checkpoint_command(svc: GovernanceService, args: argparse.Namespace) -> int:
    if args.audit_command == "public-key":
        print(svc.signer.verifier_key())
        return 0
    try:
        signed = await svc.sign_checkpoint()
    except LogTampered as exc:
        print(f"TAMPERED: {exc.message}", file=sys.stderr)
        return EXIT_TAMPERED
    print(signed.note, end="")
    return 0


async def _check_checkpoint(svc: GovernanceService, note_file: Path) -> bool:
    """Whether today's log extends the checkpoint: its first `size` events, recomputed, have the
    signed root, and the stored tree proves the whole log consistent with it (one pass over the
    first `size` events; the full pass is the verification that follows)."""
    try:
        note = await anyio.Path(note_file).read_text(encoding="utf-8")
        saved = checkpoint.parse_verified(note, svc.signer.verifier_key())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"TAMPERED checkpoint {note_file}: {exc}")
        return False
    size, root = await svc.audit_tree(saved.size)
    if size < saved.size:
        print(f"TAMPERED: the log has {size} events, fewer than the checkpoint's {saved.size} (it was truncated)")
        return False
    if root != saved.root:
        print(
            f"TAMPERED: the first {saved.size} events have root {root.hex()}, the checkpoint signed "
            f"{saved.root.hex()} (the log was rewritten)"
        )
        return False
    if saved.size > 0:  # then `audit verify` checks the stored tree against every event
        try:
            now_size, now_root, proof = await svc.consistency_proof(saved.size)
        except LogTampered as exc:
            print(f"TAMPERED: {exc.message}")
            return False
        if not merkle.verify_consistency(saved.size, now_size, saved.root, now_root, proof):
            print(f"TAMPERED: the stored Merkle tree does not prove size {now_size} consistent with {saved.size}")
            return False
    print(f"ok: the log extends the checkpoint of size {saved.size} (root {saved.root.hex()[:16]}…)")
    return True


async def _migrate(source: str, target: str) -> int:
    """Copy, then verify the copy (chain, tree, state) and compare its head with the source's."""
    if not source.startswith("sqlite:") or not settings_from(target, None).is_postgres():
        raise ConfigError("migrate", "copies --from sqlite:PATH --to postgresql://…")
    path = Path(await anyio.Path(source.removeprefix("sqlite:")).expanduser())
    if not await anyio.Path(path).is_file():
        raise StorageError(str(path), "there is no database in that file")
    async with open_service(Settings(db=path), check_rules=False, store_rules=False) as old:
        before = await old.verify_audit()
    if not before.ok:
        print(f"TAMPERED source at {before.row or f'seq {before.first_bad_seq}'}: {before.problem}; nothing copied")
        return EXIT_TAMPERED
    async with open_service(Settings(db=target), check_rules=False, store_rules=False):
        pass  # the target's migrations
    from hivegov_mcp.store.copy import copy_governance  # psycopg only for the command that needs it

    counts = await anyio.to_thread.run_sync(copy_governance, path, target)
    async with open_service(Settings(db=target), check_rules=False, store_rules=False) as new:
        after = await new.verify_audit()
    copied = ", ".join(f"{n} {t}" for t, n in counts.items() if n)
    print(f"copied {copied}")
    if not after.ok or after.head != before.head:
        print(f"TAMPERED copy at {after.row or f'seq {after.first_bad_seq}'}: {after.problem}")
        print("  drop the target database (or schema) before you try again", file=sys.stderr)
        return EXIT_TAMPERED
    print(f"ok: {after.events} events verified on {redacted(target)}, head {after.head}")
    key = checkpoint.key_path(path)
    print(
        f"  sign its checkpoints with the same key: HIVEGOV_SIGNING_KEY={key} for every instance",
        file=sys.stderr,
    )
    return 0


async def _webhook_command(svc: GovernanceService, args: argparse.Namespace) -> int:
    if args.webhook_command == "add":
        hook = await svc.add_webhook(LOCAL_ADMIN, args.url)
        print(f"webhook {hook.id} for {hook.url}; its signing secret follows (shown once)", file=sys.stderr)
        print(hook.secret)
    elif args.webhook_command == "list":
        for listed in (await svc.list_webhooks(LOCAL_ADMIN)).webhooks:
            print(f"{listed.id}\t{listed.url}\tdelivered {listed.delivered}\tfailed {listed.failed_attempts}")
    else:
        gone = await svc.remove_webhook(LOCAL_ADMIN, args.webhook_id)
        print(f"webhook {gone.id} removed ({gone.url})")
    return 0


async def _rules_command(svc: GovernanceService, args: argparse.Namespace, settings: Settings) -> int:
    if args.rules_command == "show":
        info = await svc.show_rules()
        stored = f"stored {info.created_at:%Y-%m-%d %H:%M} UTC" if info.version else "not stored yet (the defaults)"
        print(f"# rules version {info.version}, sha256 {info.hash}, {stored}")
        print(info.toml, end="")
        return 0
    assert settings.rules is not None
    info, receipt = await svc.set_rules(LOCAL_ADMIN, settings.rules, source=args.file)
    if receipt is None:
        print(f"rules unchanged: version {info.version} (sha256 {info.hash}) is already in force")
    else:
        print(f"stored rules version {info.version} (sha256 {info.hash}), audit #{receipt.seq}")
    return 0


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
        print(f"{changed.id}: {', '.join(changed.roles)}")
    elif cmd == "deactivate":
        gone = await svc.deactivate_agent(LOCAL_ADMIN, args.agent_id)
        print(f"{gone.id}: deactivated (`hivegov-mcp agent activate {gone.id}` undoes it)")
    elif cmd == "activate":
        back = await svc.activate_agent(LOCAL_ADMIN, args.agent_id)
        print(f"{back.id}: active")
    else:
        rotated = await svc.rotate_token(LOCAL_ADMIN, args.agent_id)
        print(f"new token for {rotated.id}; the old one no longer works", file=sys.stderr)
        print(rotated.token)
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    configure_logging(log_level(os.environ.get(ENV_LOG_LEVEL)))
    transport = getattr(args, "transport", "stdio")
    if transport != "stdio":
        from hivegov_mcp.http.serve import HttpOptions, serve_http

        options = HttpOptions(
            host=args.host, port=args.port, allowed_hosts=tuple(args.allowed_hosts), public_url=args.public_url
        )
        anyio.run(serve_http, settings, options, transport)
        return 0
    from hivegov_mcp.mcp import ServerOptions, serve_stdio

    token = os.environ.get(ENV_TOKEN, "").strip() or None
    anyio.run(serve_stdio, settings, ServerOptions(token=token))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in (None, "serve"):
            log_level(os.environ.get(ENV_LOG_LEVEL))  # an unknown level is refused before anything starts
            return _serve(settings_from(args.db, args.config), args)
        if args.command == "migrate":
            return anyio.run(_migrate, args.source, args.target)
        if args.command == "council":
            return council_commands.main(args)
        if args.command == "demo" and args.council:
            from hivegov_mcp.council.demo import run_council_demo

            code: int = anyio.run(run_council_demo, args.db)
            return code
        if args.command == "demo":
            from hivegov_mcp.demo import run_demo

            code = anyio.run(run_demo, args.db, args.config)
            return code
        return anyio.run(_admin, args, settings_from(args.db, args.config))
    except HivegovError as exc:
        print(f"hivegov-mcp: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `hivegov-mcp rules show | head`: the reader left; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
