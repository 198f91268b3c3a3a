"""docs/data-engineers.md, "Landing on object storage", works as written against a real S3
server: the variables exported, `respawn serve` publishing an acknowledged event to the bucket,
`respawn simulate --to-landing "$RESPAWN_LANDING_URL"` landing past days there. What a test must
change is said where it happens: the server's endpoint and credentials, the test's own prefix
of the bucket, temporary folders for `/srv/respawn` and `/etc/respawn`, a free port."""

from __future__ import annotations

from pathlib import Path

from websockets.sync.client import connect

from ingestion.landing.layout import Stream
from ingestion.landing.store import open_store
from tests.docs.shell import environment, run, serving
from tests.ingestion.helpers import Client, batch, event
from tests.s3.conftest import Bucket
from tests.support.docs import section_block
from tests.support.ingestor import free_port
from tests.support.seaweedfs import ACCESS_KEY, SECRET_KEY

PAGE = "docs/data-engineers.md"
TOKEN = "docs-s3-token"


def test_the_documented_object_storage_landing_serves_and_simulates_into_the_bucket(
    tmp_path: Path, bucket: Bucket
) -> None:
    block = section_block(PAGE, "## Landing on object storage")
    port = free_port()
    script = (
        block.body.replace("http://127.0.0.1:8333", bucket.server.endpoint_url)
        .replace("AWS_ACCESS_KEY_ID=respawn", f"AWS_ACCESS_KEY_ID={ACCESS_KEY}")
        .replace("AWS_SECRET_ACCESS_KEY=change-me", f"AWS_SECRET_ACCESS_KEY={SECRET_KEY}")
        .replace("s3://respawn/landing", bucket.url)
        .replace("/srv/respawn", str(tmp_path / "srv"))
        .replace("/etc/respawn", str(tmp_path / "etc"))
        .replace("--port 8765", f"--port {port}")
    )
    lines = [line for line in script.splitlines() if line.strip()]
    exports = [line for line in lines if line.startswith("export ")]
    serve, simulate = (line for line in lines if line.startswith("respawn "))
    assert len(exports) == 3 and len(lines) == 5
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "token").write_text(TOKEN + "\n")
    store = open_store(bucket.url)

    one = event()
    with serving(
        "\n".join([*exports, serve]),
        tmp_path,
        environment(),
        f"http://127.0.0.1:{port}/healthz",
        tmp_path / "serve.log",
    ):
        with connect(f"ws://127.0.0.1:{port}/?token={TOKEN}", open_timeout=10) as websocket:
            reply = Client(websocket).call(batch([one]))
        assert reply["accepted"] == 1, reply
    # Stopped (Ctrl-C): it published its shard into the bucket, one PUT.
    [shard] = store.published(Stream.EVENTS)
    with store.open(shard.location) as f:
        assert one["event_id"].encode() in f.read()
    assert not list((tmp_path / "srv" / "landing").rglob("*.jsonl"))  # nothing published locally

    run("\n".join([*exports, simulate]), tmp_path, environment())
    days = {s.day for s in store.published(Stream.EVENTS)}
    assert len(days) >= 4  # today's event, and the simulated past days
