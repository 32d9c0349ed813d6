"""Installing without cloning (README, client configuration): `pip install git+<url>`, as pipx
and `uvx --from git+<url>` do, from a git URL, here a `git+file://` URL of a fresh clone of
this repository, and the installed entry point runs.

Offline on purpose: a new venv (no pip of its own) whose site-packages also reads this venv's
(a `.pth` line, so the dependencies are the ones already installed and its editable install of
this project is not), and this venv's pip installs into it with `--no-deps --no-index
--no-build-isolation` (the build uses this venv's setuptools, a dev dependency). What is
checked is what the git URL gives: the committed tree, with its package data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GIT = shutil.which("git")


def run(*args: str | Path, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.skipif(GIT is None or not (ROOT / ".git").exists(), reason="needs git and this repository's .git")
def test_the_package_installs_from_a_git_url_and_its_entry_point_runs(tmp_path: Path) -> None:
    assert int(version("setuptools").split(".")[0]) >= 77, "the build needs setuptools>=77: pip install -e '.[dev]'"
    clone = tmp_path / "hivegov-mcp"
    run("git", "clone", "--quiet", "--depth", "1", ROOT.as_uri(), clone)
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (site / "this-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    pip = (sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", "--no-input")
    run(*pip, "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation", f"git+{clone.as_uri()}")

    entry = venv / "bin" / "hivegov-mcp"
    usage = run(entry, "--help")
    shown = run(entry, "--version")
    where = run(python, "-c", "import hivegov_mcp; print(hivegov_mcp.__file__)").strip()
    views = run(  # package data travels: the in-chat views' documents and the dashboard's templates
        python,
        "-c",
        "from hivegov_mcp.mcp.views import View, document; from importlib import resources; "
        "print(all(document(v).startswith('<!doctype html>') for v in View), "
        "resources.files('hivegov_mcp.http').joinpath('templates/base.html').is_file())",
    ).strip()

    assert usage.startswith("usage: hivegov-mcp") and " serve " in usage
    assert shown.startswith("hivegov-mcp ")
    assert Path(where).is_relative_to(venv), where  # the installed copy, not this checkout
    assert views == "True True"
