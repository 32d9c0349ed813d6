"""The council file (DESIGN §19): a valid file loads with its paths resolved beside it; each
mistake is a ConfigError naming the key it concerns; `council check` and `council status`
through the real command line (a subprocess of `python -m hivegov_mcp`)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hivegov_mcp.council.config import Council, load, parse
from hivegov_mcp.council.status import StatusBoard
from hivegov_mcp.domain.errors import ConfigError

VALID = """\
[council]
server = "http://127.0.0.1:8811/mcp/"
max_steps_per_item = 5
blind_first_round = true

[[member]]
agent = "gpt"
token_env = "GPT_HIVEGOV_TOKEN"
model = "gpt-4.1-mini"
base_url = "https://api.openai.com/v1/"
api_key_env = "OPENAI_API_KEY"
persona = "You weigh security first."
max_requests_per_hour = 30
max_tokens_per_day = 50000

[[member]]
agent = "llama"
token_env = "LLAMA_HIVEGOV_TOKEN"
model = "llama3.1:8b"
base_url = "http://127.0.0.1:11434/v1"
blind_first_round = false
"""
ENV = {"GPT_HIVEGOV_TOKEN": " hg_gpt_token \n", "LLAMA_HIVEGOV_TOKEN": "hg_llama_token", "OPENAI_API_KEY": "sk-x"}


def _write(folder: Path, text: str, name: str = "council.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line, in a process of its own, with no HIVEGOV_* or token variable but `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("HIVEGOV_") and not k.endswith("_TOKEN")}
    return subprocess.run(
        [sys.executable, "-m", "hivegov_mcp", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- a valid file -------------------------------------------------------------------------------


def test_a_valid_file_loads_its_members_with_their_secrets_and_paths_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, VALID)
    monkeypatch.chdir(tmp_path.parent)  # paths are the file's, not the working folder's
    council = load(path, environ=ENV)

    assert council.path == path
    assert council.server == "http://127.0.0.1:8811/mcp"  # the trailing slash dropped
    assert council.events_url == "http://127.0.0.1:8811/api/governance/events"
    assert council.db is None
    assert council.max_steps_per_item == 5
    assert council.status_file == tmp_path / "council.status.json"
    gpt, llama = council.members
    assert (gpt.agent, gpt.token, gpt.model, gpt.base_url, gpt.api_key) == (
        "gpt",
        "hg_gpt_token",  # stripped of the whitespace an `export` may leave
        "gpt-4.1-mini",
        "https://api.openai.com/v1",
        "sk-x",
    )
    assert (gpt.persona, gpt.max_requests_per_hour, gpt.max_tokens_per_day) == ("You weigh security first.", 30, 50000)
    assert gpt.blind_first_round is True  # the council's setting
    assert (llama.agent, llama.token, llama.api_key, llama.persona) == ("llama", "hg_llama_token", None, None)
    assert (llama.max_requests_per_hour, llama.max_tokens_per_day) == (60, 200_000)  # the defaults
    assert llama.blind_first_round is False  # its own setting wins
    assert llama.timeout_seconds == 120


def test_a_db_and_a_status_file_are_relative_to_the_files_folder_and_the_defaults_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    text = VALID.replace('server = "http://127.0.0.1:8811/mcp/"', 'db = "data/gov.db"')
    text = text.replace("max_steps_per_item = 5\n", "").replace("blind_first_round = true\n", "", 1)
    path = _write(folder, text, "my-council.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (folder / "data").mkdir()
    (folder / "data" / "gov.db").write_bytes(b"")  # `db` must name a file that is there

    council = load(path, environ=ENV)
    assert council.server is None and council.events_url is None
    assert council.db == (folder / "data" / "gov.db").resolve()
    assert council.status_file == folder / "my-council.status.json"
    assert council.max_steps_per_item == 8
    assert [m.blind_first_round for m in council.members] == [False, False]

    relative = _write(folder, text.replace("[[member]]", 'status_file = "run/state.json"\n\n[[member]]', 1), "b.toml")
    assert load(relative, environ=ENV).status_file == folder / "run" / "state.json"
    absolute = tmp_path / "abs" / "s.json"
    fixed = _write(folder, text.replace("[[member]]", f'status_file = "{absolute}"\n\n[[member]]', 1), "c.toml")
    assert load(fixed, environ=ENV).status_file == absolute


def test_parse_reads_a_text_without_the_environment() -> None:
    parsed = parse(VALID, "inline")
    assert [m.agent for m in parsed.member] == ["gpt", "llama"]
    assert parsed.member[0].token_env == "GPT_HIVEGOV_TOKEN"
    assert parsed.council.server == "http://127.0.0.1:8811/mcp"


# -- mistakes, each named by its key ------------------------------------------------------------

MISTAKES = [
    pytest.param(
        VALID.replace('base_url = "http://127.0.0.1:11434/v1"', 'base_url = "ftp://127.0.0.1/v1"'),
        "member[2].base_url",
        "is not an http(s) URL",
        id="bad-base-url",
    ),
    pytest.param(
        VALID.replace('base_url = "http://127.0.0.1:11434/v1"', 'base_url = "localhost:11434"'),
        "member[2].base_url",
        "is not an http(s) URL",
        id="base-url-without-scheme",
    ),
    pytest.param(
        VALID.replace('server = "http://127.0.0.1:8811/mcp/"', 'server = "127.0.0.1:8811"'),
        "council.server",
        "is not an http(s) URL",
        id="bad-server",
    ),
    pytest.param(
        VALID.replace("max_steps_per_item = 5", 'max_steps_per_item = 5\ncolour = "red"'),
        "council.colour",
        "is not a council key",
        id="unknown-council-key",
    ),
    pytest.param(
        VALID.replace('model = "llama3.1:8b"', 'model = "llama3.1:8b"\ntemperature = 0.2'),
        "member[2].temperature",
        "is not a council key",
        id="unknown-member-key",
    ),
    pytest.param(
        VALID + "\n[extras]\nx = 1\n",
        "extras",
        "is not a council key",
        id="unknown-table",
    ),
    pytest.param(
        VALID.replace('server = "http://127.0.0.1:8811/mcp/"', 'server = "http://127.0.0.1:8811/mcp"\ndb = "g.db"'),
        "council",
        "give exactly one of server",
        id="both-server-and-db",
    ),
    pytest.param(
        VALID.replace('server = "http://127.0.0.1:8811/mcp/"\n', ""),
        "council",
        "give exactly one of server",
        id="neither-server-nor-db",
    ),
    pytest.param(
        VALID.replace('agent = "llama"', 'agent = "gpt"'),
        "member[2]",
        "agent 'gpt' is listed twice",
        id="duplicate-agent",
    ),
    pytest.param(
        VALID.replace("max_steps_per_item = 5", "max_steps_per_item = 0"),
        "council.max_steps_per_item",
        "greater than or equal to 1",
        id="zero-steps",
    ),
    pytest.param(
        VALID.replace("max_requests_per_hour = 30", "max_requests_per_hour = 0"),
        "member[1].max_requests_per_hour",
        "greater than or equal to 1",
        id="zero-requests",
    ),
    pytest.param(
        VALID.replace('token_env = "LLAMA_HIVEGOV_TOKEN"', 'token_env = "LLAMA TOKEN"'),
        "member[2].token_env",
        "should match pattern",
        id="token-env-not-a-name",
    ),
    pytest.param(
        VALID.replace('model = "gpt-4.1-mini"\n', ""),
        "member[1].model",
        "Field required",
        id="missing-model",
    ),
    pytest.param(
        VALID.split("[[member]]")[0],
        "member",
        "Field required",
        id="no-member",
    ),
    pytest.param(
        VALID.replace("max_steps_per_item = 5", "max_steps_per_item = 5\n[[member]"),
        "council.toml",
        "is not valid TOML",
        id="invalid-toml",
    ),
]


@pytest.mark.parametrize(("text", "key", "problem"), MISTAKES)
def test_each_mistake_is_refused_with_the_key_it_concerns(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load(path, environ=ENV)
    error = raised.value
    assert error.key.startswith(str(path))
    assert key in error.message, error.message
    assert problem in error.message, error.message
    # the same text through parse() names the same key
    with pytest.raises(ConfigError) as again:
        parse(text, "inline")
    assert key.replace("council.toml", "inline") in again.value.message


def test_an_unset_token_variable_is_named_with_the_command_that_makes_a_token(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID)
    for env in ({k: v for k, v in ENV.items() if k != "LLAMA_HIVEGOV_TOKEN"}, {**ENV, "LLAMA_HIVEGOV_TOKEN": "  "}):
        with pytest.raises(ConfigError) as raised:
            load(path, environ=env)
        error = raised.value
        assert error.key == f"{path}: member[2].token_env"
        assert "LLAMA_HIVEGOV_TOKEN" in error.message and "'llama'" in error.message
        assert "is not set" in error.message
        assert "hivegov-mcp agent add llama" in error.hint
        assert error.hint.startswith("export LLAMA_HIVEGOV_TOKEN=")


def test_an_unset_api_key_variable_is_named_and_a_member_without_one_needs_none(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID)
    with pytest.raises(ConfigError) as raised:
        load(path, environ={k: v for k, v in ENV.items() if k != "OPENAI_API_KEY"})
    error = raised.value
    assert error.key == f"{path}: member[1].api_key_env"
    assert "OPENAI_API_KEY" in error.message and "https://api.openai.com/v1" in error.message
    assert "drop api_key_env" in error.hint
    # the second member names no key variable: nothing else is asked of the environment
    only_llama = VALID.split("[[member]]")[0] + "[[member]]" + VALID.split("[[member]]")[2]
    council = load(_write(tmp_path, only_llama, "local.toml"), environ={"LLAMA_HIVEGOV_TOKEN": "t"})
    assert [m.api_key for m in council.members] == [None]


def test_an_unreadable_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path / "missing.toml", environ=ENV)
    assert "missing.toml" in raised.value.key and "can't be read" in raised.value.message
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[council]\n")
    with pytest.raises(ConfigError) as raised:
        load(binary, environ=ENV)
    assert "is not UTF-8 text" in raised.value.message


# -- the command line ---------------------------------------------------------------------------


def test_council_check_with_a_missing_file_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    done = _cli("council", "check", "--config", "missing.toml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0] == "hivegov-mcp: Configuration error at missing.toml: can't be read (No such file or directory)"
    assert "Traceback" not in done.stderr
    assert len(lines) <= 2  # the line, and at most one line of what to do
    assert lines[1:] == ["  write one from the README's council section"]


def test_council_check_with_an_unset_token_variable_exits_2_naming_it(tmp_path: Path) -> None:
    _write(tmp_path, VALID)
    done = _cli("council", "check", "--config", "council.toml", cwd=tmp_path, env={"OPENAI_API_KEY": "k"})
    assert done.returncode == 2
    assert "member[1].token_env" in done.stderr and "GPT_HIVEGOV_TOKEN" in done.stderr
    assert "hivegov-mcp agent add gpt" in done.stderr
    assert "Traceback" not in done.stderr


def test_council_status_before_any_run_says_there_is_none_yet(tmp_path: Path) -> None:
    _write(tmp_path, VALID)
    done = _cli("council", "status", "--config", "council.toml", cwd=tmp_path)  # no secret needed to read it
    assert done.returncode == 2
    assert done.stdout == ""
    # the status file is beside the council file, named as the --config path was given
    assert done.stderr.strip() == "no status yet at council.status.json: start the council with `council run`"
    assert not (tmp_path / "council.status.json").exists()


def _board(council: Council) -> StatusBoard:
    board = StatusBoard.open(council)
    now = datetime.now(UTC)
    budget = board.budgets["gpt"]
    for _ in range(3):
        budget.request_sent(now)
    budget.tokens_used(now, 1234)
    board.update("gpt", now, state="idle", actions=1, items=2, last_action="BIP-001 add_comment: ok (id 1, audit #9)")
    board.update("llama", now, state="idle", errors=1, last_error="BIP-001 cast_vote: the model failed: HTTP 500")
    board.running = False
    board.save(now)
    return board


def test_council_status_after_a_run_prints_each_members_model_budget_and_last_action(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID)
    _board(load(path, environ=ENV))

    done = _cli("council", "status", "--config", "council.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("council not running, status as of ")
    gpt, llama = out.split("\n\ngpt  ")[1].split("\n\nllama  ")
    assert gpt.startswith("model gpt-4.1-mini at https://api.openai.com/v1")
    assert "state      stopped (was: idle)" in gpt
    assert "3/30 requests this hour, 1234/50000 tokens today (3 requests, 1234 tokens in all)" in gpt
    assert "work       2 item(s), 1 tool call(s), 0 error(s)" in gpt
    assert "BIP-001 add_comment: ok (id 1, audit #9)" in gpt
    assert "last error" not in gpt
    assert llama.startswith("model llama3.1:8b at http://127.0.0.1:11434/v1")
    assert "0/60 requests this hour, 0/200000 tokens today" in llama
    assert "last error" in llama and "the model failed: HTTP 500" in llama

    # the budgets are carried to the next run from the same file
    again = StatusBoard.open(load(path, environ=ENV))
    assert (again.budgets["gpt"].requests_total, again.budgets["gpt"].tokens_total) == (3, 1234)
    assert again.budgets["gpt"].used(datetime.now(UTC))["requests_this_hour"] == 3


def test_a_misspelled_table_is_named_as_an_unknown_key() -> None:
    with pytest.raises(ConfigError) as raised:
        parse(VALID.replace("[council]", "[councill]"), "council.toml")
    assert "councill" in raised.value.message and "is not a council key" in raised.value.message


def test_the_example_council_file_loads_with_its_variables_set() -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "council.toml"
    env = {"GPT_HIVEGOV_TOKEN": "t1", "QWEN_HIVEGOV_TOKEN": "t2", "OPENAI_API_KEY": "k"}

    council = load(example, environ=env)

    assert [(m.agent, m.model, m.api_key) for m in council.members] == [
        ("gpt", "gpt-4.1-mini", "k"),
        ("qwen", "qwen2.5:14b", None),
    ]
    assert council.server == "http://127.0.0.1:8811/mcp" and council.max_steps_per_item == 8
