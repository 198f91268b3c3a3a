"""A real Postgres server for a test: Debian's binaries, a fresh cluster in a temporary directory,
a free loopback port, password authentication. Postgres refuses to run as root, so under root
the server runs as the `postgres` system user that Debian's package creates."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestration.demo.ingestor import free_port

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    bindir: Path  # the server's client programs too: createdb, psql

    def client(self, program: str, *args: str) -> str:
        """Run a client program (`createdb`, `psql`) against the server; its stdout."""
        result = subprocess.run(
            [
                str(self.bindir / program),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                *args,
            ],
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def connect(self, db_name: str = "postgres") -> Any:  # a psycopg2 connection
        import psycopg2

        return psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=db_name
        )


def postgres_bindir() -> Path | None:
    """The newest Debian-packaged server (`/usr/lib/postgresql/<major>/bin`), else one on PATH."""
    found = sorted(
        DEBIAN_BINARIES.glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _as_server_user() -> list[str]:
    """The command prefix that runs a server binary as a user Postgres accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        pytest.skip(f"running as root and there is no `{SERVER_USER}` user to run Postgres as")
    if shutil.which("runuser") is None:
        pytest.skip(
            "running as root and `runuser` (util-linux) is missing to run Postgres as postgres"
        )
    return ["runuser", "-u", SERVER_USER, "--"]


@contextmanager
def running_postgres(
    user: str = "respawn", password: str = "respawn-test"
) -> Iterator[PostgresServer]:
    """A Postgres server for the duration of the block; stopped and deleted afterwards."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip(
            "Postgres server binaries not found (Debian's `postgresql`; .ci/run installs it)"
        )
    prefix = _as_server_user()
    # Not under pytest's tmp_path: its parent is private to the test user (0700), and the server
    # runs as another user. mkdtemp's directory is private too, then handed to that user.
    root = Path(tempfile.mkdtemp(prefix="respawn-postgres-"))
    pwfile = root / "password"
    pwfile.write_text(password + "\n")
    if prefix:
        server_user = pwd.getpwnam(SERVER_USER)
        for path in (root, pwfile):
            os.chown(path, server_user.pw_uid, server_user.pw_gid)
    data, log = root / "data", root / "server.log"
    port = free_port()

    def run(*args: str) -> None:
        result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed:\n{result.stdout}{result.stderr}{server_log}")

    try:
        run(
            str(bindir / "initdb"), "-D", str(data), "-U", user, f"--pwfile={pwfile}",
            "--auth=scram-sha-256", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        # Durability settings off: the test is about Dagster's records, not surviving a power cut.
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        run(
            str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
            "-w", "-t", "30", "start",
        )  # fmt: skip
        try:
            yield PostgresServer("127.0.0.1", port, user, password, bindir)
        finally:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                timeout=60,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
