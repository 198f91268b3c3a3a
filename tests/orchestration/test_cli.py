"""The `respawn` script: one command line over every part, installed from pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_respawn_script_offers_serve_simulate_demo_and_scores() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("respawn")), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for command in ("serve", "simulate", "demo", "scores"):
        assert f"    {command} " in result.stdout, result.stdout


def test_the_ingestor_also_runs_on_its_own_as_python_m_ingestion_server() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ingestion.server", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m ingestion.server")
    assert "--durability" in result.stdout and "--worker-index" not in result.stdout
