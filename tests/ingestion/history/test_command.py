"""`respawn import` as a user runs it: the console script, its summary, its progress bar and its
refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingestion.history import manifest
from tests.ingestion.history.histories import landed_lines, match, write_history

RESPAWN = str(Path(sys.executable).with_name("respawn"))


def respawn(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RESPAWN, *args],
        env={**os.environ, "RESPAWN_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_respawn_import_lands_the_history_and_says_what_it_did(tmp_path: Path) -> None:
    t0 = datetime(2024, 11, 3, 8, tzinfo=UTC)
    events = [match(t0 + timedelta(hours=i)) for i in range(250)]
    history = write_history(tmp_path / "events.jsonl.gz", [*events, "nope", ""], gz=True)
    home = tmp_path / "home"

    done = respawn("import", "--chunk-lines", "100", str(history), home=home)

    assert done.returncode == 0, done.stderr
    assert "252 lines -> 250 events landed (250 valid" in done.stdout
    assert "1 dead-lettered, 1 blank" in done.stdout
    assert "received from 2024-11-03T08:00:00.000000Z to 2024-11-13T17:00:00.000000Z" in done.stdout
    assert "dead-lettered by code: invalid_json 1" in done.stdout
    assert "events.jsonl.gz:" in done.stderr and "/252 [" in done.stderr  # the progress bar
    assert len(landed_lines(home / "landing")) == 250
    assert manifest.records(home / "landing")[0]["chunk_lines"] == 100


def test_respawn_import_refuses_a_missing_file_before_importing_anything(tmp_path: Path) -> None:
    history = write_history(tmp_path / "real.jsonl", [match(datetime(2024, 1, 1, tzinfo=UTC))])
    home = tmp_path / "home"

    done = respawn("import", str(history), str(tmp_path / "missing.jsonl"), home=home)

    assert done.returncode == 2
    assert "respawn import: no such file:" in done.stderr and "missing.jsonl" in done.stderr
    assert not (home / "landing").exists()


def test_respawn_import_refuses_object_storage_before_importing_anything(tmp_path: Path) -> None:
    history = write_history(tmp_path / "real.jsonl", [match(datetime(2024, 1, 1, tzinfo=UTC))])
    home = tmp_path / "home"

    by_flag = respawn("import", "--landing", "s3://respawn/landing", str(history), home=home)
    by_variable = subprocess.run(
        [RESPAWN, "import", str(history)],
        env={**os.environ, "RESPAWN_HOME": str(home), "RESPAWN_LANDING_URL": "s3://respawn/x"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    for done, where in ((by_flag, "s3://respawn/landing"), (by_variable, "RESPAWN_LANDING_URL")):
        assert done.returncode == 2, done.stdout + done.stderr
        assert "cannot import into object storage" in done.stderr and where in done.stderr
    assert not (home / "landing").exists() and not Path("s3:").exists()


def test_respawn_import_refuses_a_chunk_of_no_lines(tmp_path: Path) -> None:
    done = respawn("import", "--chunk-lines", "0", "x.jsonl", home=tmp_path)
    assert done.returncode == 2
    assert "--chunk-lines: 0 is not at least 1" in done.stderr


def test_respawn_help_lists_import(tmp_path: Path) -> None:
    done = respawn("--help", home=tmp_path)
    assert done.returncode == 0
    assert "import" in done.stdout and "historical v1 events" in done.stdout
