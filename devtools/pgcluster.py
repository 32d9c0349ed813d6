"""A throwaway PostgreSQL cluster on a free loopback port, for tests and benchmarks: `initdb`
into a temporary folder, started with `pg_ctl`, removed when stopped. Run as root, the server
runs as the unprivileged `postgres` user (PostgreSQL refuses root).

    python -m devtools.pgcluster   # start one, print its URL, stop it on Ctrl-C
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH): "
    "`apt-get install postgresql`, or set HIVEGOV_TEST_PG=0 to skip the PostgreSQL tests"
)


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    folder: Path
    port: int
    runner: list[str]  # the command prefix that runs as the cluster's owner

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        pg_ctl = _bin("pg_ctl")
        if pg_ctl is not None:
            subprocess.run([*self.runner, pg_ctl, "-D", str(self.folder / "data"), "-m", "immediate", "stop"],
                           capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


def start(*, durable: bool = False) -> Cluster:
    """durable: PostgreSQL's defaults (fsync on), for benchmarks; else fsync off, for tests."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError(INSTALL_HINT)
    folder = Path(tempfile.mkdtemp(prefix="hivegov-pg-"))
    runner: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        runner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    subprocess.run([*runner, initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
                   capture_output=True, check=True)  # fmt: skip
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if not durable:
        options += " -c fsync=off"
    subprocess.run([*runner, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
                   capture_output=True, check=True)  # fmt: skip
    return Cluster(folder, port, runner)


def main() -> None:
    stops = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    cluster = start()
    print(cluster.url, flush=True)
    try:
        signal.sigwait(stops)
    finally:
        cluster.stop()


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as exc:
        print(f"pgcluster: {exc}", file=sys.stderr)
        sys.exit(1)
