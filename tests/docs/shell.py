"""Running a page's commands as a reader would: bash in a given folder, the project's venv first
on PATH (the docs call `respawn`, `make`, `.venv/bin/...`), and for a server a background
process that is stopped once the test has seen it answer."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.support.docs import REPO

VENV_BIN = REPO / ".venv" / "bin"


def environment(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESPAWN_", "DAGSTER_"))}
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(overrides)
    return env


def run(script: str, cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    """`script` with `bash -euo pipefail`; its output, or a failure that shows it."""
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (
        f"the documented commands failed (exit {result.returncode}):\n{script}\n"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )
    return result.stdout + result.stderr


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serving(
    script: str, cwd: Path, env: dict[str, str], ready_url: str, log: Path, timeout: float = 180
) -> Iterator[subprocess.Popen[bytes]]:
    """`script` in the background until `ready_url` answers 200; stopped (its whole process
    group, Ctrl-C first as a reader would) when the block ends."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", script], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while not answers(ready_url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"{script!r} did not answer on {ready_url} "
                    f"(exit {process.poll()}):\n{log.read_text()[-4000:]}"
                )
            time.sleep(0.5)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
