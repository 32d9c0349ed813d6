"""Installing without cloning (README, client configuration): `pip install git+<url>`, as pipx
and `uvx --from git+<url>` do, from a git URL, here a `git+file://` URL of a fresh clone of
this repository, and the installed entry point runs.

Offline on purpose: a new venv (no pip of its own) whose site-packages also reads this venv's
(a `.pth` line, so the dependencies are the ones already installed and its editable install of
this project is not), and this venv's pip installs into it with `--no-deps --no-index
--no-build-isolation` (the build uses this venv's setuptools, a dev dependency). What is
checked is what the git URL gives: the committed tree, with its package data."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
from importlib.metadata import version
from pathlib import Path
from subprocess import PIPE

import pytest

from hivegov_mcp.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
GIT = shutil.which("git")
TIMEOUT = 90  # seconds for one command; the whole test takes about 15
PLACEHOLDER = "git+https://github.com/OWNER/hivegov-mcp"  # the README's stand-in for the project's URL


def run(*args: str | Path, cwd: Path) -> str:
    """Run a command in `cwd` (not this checkout, whose package `python -c` would import first), in
    its own process group, all of which is killed if it outlives the timeout (pip runs git, which
    runs git: none may be left behind)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    with subprocess.Popen(
        [str(a) for a in args], cwd=cwd, env=env, stdout=PIPE, stderr=PIPE, text=True, start_new_session=True
    ) as process:
        try:
            out, err = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            raise AssertionError(f"{args} still ran after {TIMEOUT} s: {out}\n{err}") from None
    assert process.returncode == 0, f"{args}: {out}\n{err}"
    return out


def fresh_clone(into: Path) -> None:
    """A clone of this repository's committed tree. pip clones a git URL with --filter=blob:none,
    which never finishes against a shallow repository (as a CI checkout often is): a shallow clone
    is made whole again as one commit of the same tree."""
    run("git", "clone", "--quiet", ROOT.as_uri(), into, cwd=into.parent)
    if run("git", "-C", into, "rev-parse", "--is-shallow-repository", cwd=into.parent).strip() == "true":
        shutil.rmtree(into / ".git")
        run("git", "init", "--quiet", into, cwd=into.parent)
        run("git", "-C", into, "add", "--all", cwd=into.parent)
        whole = (
            "-c",
            "user.name=hivegov tests",
            "-c",
            "user.email=tests@hivegov.invalid",
            "commit",
            "--quiet",
            "-m",
            "HEAD",
        )
        run("git", "-C", into, *whole, cwd=into.parent)


@pytest.mark.skipif(GIT is None or not (ROOT / ".git").exists(), reason="needs git and this repository's .git")
def test_the_package_installs_from_a_git_url_and_its_entry_point_runs(tmp_path: Path) -> None:
    assert int(version("setuptools").split(".")[0]) >= 77, "the build needs setuptools>=77: pip install -e '.[dev]'"
    clone = tmp_path / "hivegov-mcp"
    fresh_clone(clone)
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip())
    (site / "this-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    pip = (sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", "--no-input")
    run(
        *pip,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        "--no-build-isolation",
        f"git+{clone.as_uri()}",
        cwd=tmp_path,
    )

    entry = venv / "bin" / "hivegov-mcp"
    usage = run(entry, "--help", cwd=tmp_path)
    shown = run(entry, "--version", cwd=tmp_path)
    where = run(python, "-c", "import hivegov_mcp; print(hivegov_mcp.__file__)", cwd=tmp_path).strip()
    views = run(  # package data travels: the in-chat views' documents and the dashboard's templates
        python,
        "-c",
        "from hivegov_mcp.mcp.views import View, document; from importlib import resources; "
        "print(all(document(v).startswith('<!doctype html>') for v in View), "
        "resources.files('hivegov_mcp.http').joinpath('templates/base.html').is_file())",
        cwd=tmp_path,
    ).strip()

    assert usage.startswith("usage: hivegov-mcp") and " serve " in usage
    assert shown.startswith("hivegov-mcp ")
    assert Path(where).is_relative_to(venv), where  # the installed copy, not this checkout
    assert views == "True True"


def test_the_readme_s_client_blocks_run_hivegov_mcp_serve_with_a_token() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Client configuration\n", 1)[1].split("\n## ", 1)[0]
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, flags=re.S)]
    servers = [b.get("mcpServers", b.get("servers", {}))["hivegov"] for b in blocks]
    assert len(servers) == 2  # Claude Desktop and Cursor; VS Code
    for server in servers:
        assert server["command"] == "uvx" and server["args"][:3] == ["--from", PLACEHOLDER, "hivegov-mcp"]
        parsed = build_parser().parse_args(server["args"][3:])  # what hivegov-mcp makes of the rest
        assert (parsed.command, parsed.db) == ("serve", "/absolute/path/to/governance.db")
        assert set(server["env"]) == {"HIVEGOV_TOKEN"}
    assert f"uvx --from {PLACEHOLDER} hivegov-mcp" in section and f"pipx install {PLACEHOLDER}" in section
