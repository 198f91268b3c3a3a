"""The data engineers' guide (docs/data-engineers.md) works as written: each shell block below
runs as the page has it, with only what a test must change said where it happens (a temporary
folder for `/etc/respawn` and `/srv/respawn`, a free port for a fixed one). The Postgres
section's commands run in tests/orchestration/test_postgres_instance.py."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.docs.shell import REPO, environment, run, serving
from tests.ingestion.helpers import Client, batch, event, landed
from tests.support.docs import section_block
from tests.support.ingestor import free_port, running_ingestor

PAGE = "docs/data-engineers.md"
DAGSTER_UI = "http://127.0.0.1:3000/server_info"


def test_make_dev_serves_the_dagster_ui_on_the_default_and_on_another_data_folder(
    tmp_path: Path,
) -> None:
    """## The Dagster UI: `make dev` — both lines; the first with RESPAWN_HOME set to a
    temporary folder too, so that the test never writes into the repository's data/."""
    block = section_block(PAGE, "## The Dagster UI: `make dev`")
    default, other = (line.split("#")[0].strip() for line in block.commands)
    assert default == "make dev" and other == "RESPAWN_HOME=/srv/respawn make dev"
    homes = {default: tmp_path / "data", other: tmp_path / "srv" / "respawn"}
    for command, home in homes.items():
        command = command.replace("/srv/respawn", str(home))
        env = environment(RESPAWN_HOME=str(home))
        with serving(command, REPO, env, DAGSTER_UI, tmp_path / "dev.log"):
            info = json.loads(_read(DAGSTER_UI))
            assert "dagster_webserver_version" in info
        # the UI's instance (run history) lives beside the data it describes
        assert (home / "dagster" / "dagster.yaml").is_file()


def test_the_production_ingestor_requires_its_token_and_origin_and_lands_events(
    tmp_path: Path,
) -> None:
    """## Running the ingestor in production — the token is made and the server started as
    written, in temporary folders and on a free port."""
    block = section_block(PAGE, "## Running the ingestor in production")
    port = free_port()
    script = (
        block.body.replace("/etc/respawn", str(tmp_path / "etc"))
        .replace("/srv/respawn", str(tmp_path / "srv"))
        .replace("--port 8765", f"--port {port}")
    )
    make_token, serve = script.split("\n", 1)
    (tmp_path / "etc").mkdir()
    run(make_token, tmp_path, environment())
    token = (tmp_path / "etc" / "token").read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert (tmp_path / "etc" / "token").stat().st_mode & 0o777 == 0o600
    url = f"ws://127.0.0.1:{port}/"
    origin = "https://play.example.com"
    with serving(serve, tmp_path, environment(), f"http://127.0.0.1:{port}/healthz",
                 tmp_path / "serve.log"):  # fmt: skip
        for refused in ({"origin": origin}, {"origin": "https://evil.example", "token": token}):
            with pytest.raises(InvalidStatus):
                _connect(url, **refused)
        one = event()
        with _connect(url, origin=origin, token=token) as websocket:
            reply = Client(websocket).call(batch([one]))
        assert reply["type"] == "ack" and reply["accepted"] == 1, reply
    assert one["event_id"] in landed(tmp_path / "srv" / "landing")


def test_respawn_simulate_sends_through_an_ingestor_and_writes_straight_to_landing(
    tmp_path: Path,
) -> None:
    """## Test data: `respawn simulate` — both commands; the first against a running ingestor
    with a token (in the file `token`, as the page reads it) on a free port."""
    block = section_block(PAGE, "## Test data: `respawn simulate`")
    through, straight = (c for c in block.commands if not c.lstrip().startswith("#"))
    with running_ingestor(tmp_path / "ingestor", token="docs-test-token") as ingestor:
        (tmp_path / "token").write_text(ingestor.token + "\n")
        run(through.replace("ws://127.0.0.1:8765", ingestor.url), tmp_path, environment())
    received = landed(ingestor.landing_root)
    assert len(received) > 1000  # 1,000 players over 30 days: many events each
    run(straight, tmp_path, environment())
    shards = list((tmp_path / "data" / "landing").rglob("*.jsonl*"))
    assert shards, "no published shard under data/landing"
    assert (tmp_path / "data" / "truth").is_dir()


def _connect(url: str, *, origin: str, token: str | None = None):
    query = f"?token={token}" if token else ""
    return connect(url + query, origin=origin, open_timeout=10)  # type: ignore[arg-type]


def _read(url: str) -> str:

    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()
