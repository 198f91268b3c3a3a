"""Run one Dagster job of the code location in its own process, as the run launcher does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def launch_job(
    job: str, day: date, home: Path, dagster_home: Path, *, own_session: bool = False
) -> subprocess.Popen[str]:
    """`dagster job execute` for the `day` partition, with its data in `home`."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "job",
            "execute",
            "-m",
            "orchestration.definitions",
            "-a",
            "defs",
            "-j",
            job,
            "--tags",
            json.dumps({"dagster/partition": day.isoformat()}),
        ],
        cwd=REPO,
        env={**os.environ, "RESPAWN_HOME": str(home), "DAGSTER_HOME": str(dagster_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=own_session,  # its own process group: a kill reaches its children
    )
