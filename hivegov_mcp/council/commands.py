"""`hivegov-mcp council run | check | status --config council.toml` (DESIGN §19)."""

from __future__ import annotations

import argparse
import sys

import anyio

EXAMPLE = """\
example council.toml (see the README's council section):
  [council]
  server = "http://127.0.0.1:8811/mcp"     # or: db = "gov.db" (each member runs its own stdio server)
  max_steps_per_item = 8

  [[member]]
  agent = "gpt"                            # a registered agent: its roles decide what it may do
  token_env = "GPT_HIVEGOV_TOKEN"          # the variable holding its hivegov token
  model = "gpt-4.1-mini"
  base_url = "https://api.openai.com/v1"   # any OpenAI-compatible endpoint (Ollama, vLLM, …)
  api_key_env = "OPENAI_API_KEY"           # optional
  max_requests_per_hour = 60
  max_tokens_per_day = 200000"""

MISSING = "the council needs pydantic-ai: pip install 'hivegov-mcp[council]' (a checkout's `make install` has it)"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    council = sub.add_parser(
        "council",
        help="run language-model members that act on their agendas through MCP (see `council run -h`)",
        description="Model members: each a registered agent with its own token and roles, backed by a model "
        "at an OpenAI-compatible endpoint, acting on its get_my_agenda items through the server's tools.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = council.add_subparsers(dest="council_command", required=True, parser_class=argparse.ArgumentParser)
    for name, text in (
        ("run", "run every member until Ctrl-C, one line per action on stderr"),
        ("check", "check the file, reach every endpoint and the server as each member, act on nothing"),
        ("status", "each member's model, state, budget used, last action and last error"),
    ):
        command = commands.add_parser(
            name, help=text, description=text, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        command.add_argument("--config", dest="council_file", required=True, metavar="FILE", help="the council file")


def main(args: argparse.Namespace) -> int:
    """Exit status: 0 done, 2 an error (printed with what to do)."""
    from hivegov_mcp.council import config, status

    if args.council_command == "status":
        council = config.load(args.council_file, environ=_any_secrets(args.council_file))
        data = status.read(council.status_file)
        if data is None:
            print(f"no status yet at {council.status_file}: start the council with `council run`", file=sys.stderr)
            return 2
        print(status.render(data), end="")
        return 0
    council = config.load(args.council_file)
    try:
        from hivegov_mcp.council.runner import check_council, run_until_signal
    except ImportError as exc:  # pragma: no cover - the extra is installed in a checkout
        print(f"hivegov-mcp: {MISSING} ({exc})", file=sys.stderr)
        return 2
    if args.council_command == "check":
        code: int = anyio.run(check_council, council)
        return code
    code = anyio.run(run_until_signal, council)
    return code


def _any_secrets(path: str) -> dict[str, str]:
    """`council status` reads no secret: every variable the file names, as if set."""
    from hivegov_mcp.council.config import parse

    try:
        with open(path, encoding="utf-8") as f:
            parsed = parse(f.read(), path)
    except OSError:
        return {}
    names = [m.token_env for m in parsed.member] + [m.api_key_env for m in parsed.member if m.api_key_env]
    return dict.fromkeys(names, "-")
