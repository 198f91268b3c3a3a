"""Run a real `respawn serve` in a subprocess: for `respawn demo`, the tests and the benchmarks.

The process is `python -m ingestion.server` (the same command as `respawn serve`).

    with running_ingestor(tmp_path, token="s3cret") as ing:
        async with websockets.connect(ing.url, additional_headers=ing.auth_headers) as ws: ...
        ing.kill(); ing.restart()

The server listens on a free loopback port, is healthy (GET /healthz is 200) before the block
starts, and is always stopped afterwards, even when the block raises.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.settings import landing_root


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """Status and body of a plain HTTP GET; an HTTP error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


@dataclass
class Ingestor:
    """One `respawn serve` process (and its successors after `restart`)."""

    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    token: str | None = None
    allowed_origins: tuple[str, ...] = ()
    durability: str = "fsync"
    extra_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    startup_timeout: float = 20.0
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    # -- addresses -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url_with_token(self) -> str:
        return f"{self.url}?token={self.token}" if self.token else self.url

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def landing_root(self) -> Path:
        return landing_root(self.data_dir)

    @property
    def token_file(self) -> Path | None:
        return self.data_dir / "ingestor-token" if self.token else None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the ingestor is not running"
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        """The stderr (structured JSON logs) of the current process."""
        return self.data_dir / "logs" / f"serve-{self.starts}.log"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def healthz(self) -> int:
        return http_get(f"{self.http_url}/healthz")[0]

    def metrics(self) -> str:
        return http_get(f"{self.http_url}/metrics")[1]

    # -- lifecycle -----------------------------------------------------------------------------
    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "ingestion.server"]
        cmd += ["--host", self.host, "--port", str(self.port), "--data-dir", str(self.data_dir)]
        cmd += ["--durability", self.durability]
        if self.token_file is not None:
            cmd += ["--token-file", str(self.token_file)]
        for origin in self.allowed_origins:
            cmd += ["--allowed-origin", origin]
        return cmd + list(self.extra_args)

    def start(self) -> Ingestor:
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"the ingestor is already running (pid {self.proc.pid})")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.token_file is not None:
            self.token_file.write_text(self.token + "\n")
        self.starts += 1
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESPAWN_")}
        env |= {"PYTHONUNBUFFERED": "1", **self.env}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command(),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"respawn serve exited with {self.proc.returncode} during startup:\n"
                    + self.logs()[-4000:]
                )
            with contextlib.suppress(OSError):
                if self.healthz() == 200:
                    return
            time.sleep(0.05)
        self.kill()
        raise TimeoutError(
            f"respawn serve was not healthy within {self.startup_timeout}s:\n{self.logs()[-4000:]}"
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send `sig` and wait for the exit; returns the exit code. Kills it after `timeout`."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise TimeoutError(
                    f"respawn serve did not exit within {timeout}s of signal {sig}"
                ) from None
        return int(self.proc.returncode)

    def wait(self, timeout: float = 15.0) -> int:
        """Wait for the process to exit by itself (e.g. after a signal sent meanwhile)."""
        assert self.proc is not None, "the ingestor was never started"
        return int(self.proc.wait(timeout))

    def kill(self) -> int:
        """`kill -9`: no chance to publish or flush anything."""
        return self.stop(signal.SIGKILL)

    def restart(self, sig: int = signal.SIGTERM) -> Ingestor:
        self.stop(sig)
        return self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@contextlib.contextmanager
def running_ingestor(
    data_dir: Path,
    *,
    token: str | None = None,
    allowed_origins: Sequence[str] = (),
    durability: str = "fsync",
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    port: int | None = None,
    startup_timeout: float = 20.0,
) -> Iterator[Ingestor]:
    """Start `respawn serve` on a free loopback port; stop it (SIGTERM, then SIGKILL) at exit.

    `extra_args` are passed to `respawn serve` as is (e.g. `["--shard-max-age", "0.5"]`)."""
    ingestor = Ingestor(
        data_dir=Path(data_dir),
        port=port or free_port(),
        token=token,
        allowed_origins=tuple(allowed_origins),
        durability=durability,
        extra_args=tuple(extra_args),
        env=dict(env or {}),
        startup_timeout=startup_timeout,
    )
    try:
        ingestor.start()
        yield ingestor
    finally:
        with contextlib.suppress(TimeoutError):
            ingestor.stop()
        if ingestor.running:  # pragma: no cover - stop() already killed it
            ingestor.kill()
