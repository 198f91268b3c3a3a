"""`respawn serve --landing-url s3://…` against a real S3 server: acknowledged events land as
objects (in flight on local disk until then), the loader reads them through the same store
exactly once, and a `kill -9` while the ingestor publishes loses no acknowledged event."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from ingestion.landing.layout import Stream, inflight_shards, published_shards
from ingestion.landing.lines import format_ts
from ingestion.landing.store import open_store
from ingestion.settings import landing_root
from tests.e2e.pipeline import Pipeline, query, scalar
from tests.ingestion.helpers import batch, event, metric, open_client, wait_for
from tests.s3.conftest import Bucket
from tests.support.ingestor import Ingestor, running_ingestor


@pytest.fixture(autouse=True)
def _dbt_manifest_for_the_pipeline(dbt_manifest: Path) -> Path:
    return dbt_manifest


@pytest.fixture
def pipeline(s3_home: Path, instance: dg.DagsterInstance) -> Pipeline:
    return Pipeline(s3_home, instance)


def now_event(**fields: Any) -> dict[str, Any]:
    return event(timestamp=format_ts(datetime.now(UTC)), **fields)


def serve_args(bucket: Bucket, *more: str) -> list[str]:
    return ["--landing-url", bucket.url, *more]


def test_acknowledged_events_land_as_objects_and_load_exactly_once(
    s3_home: Path, bucket: Bucket, pipeline: Pipeline
) -> None:
    sent = [now_event() for _ in range(40)]
    # The landing from the environment, as documented (the other tests pass --landing-url).
    env = {**bucket.server.env, "RESPAWN_LANDING_URL": bucket.url}
    with running_ingestor(s3_home, extra_args=["--shard-max-age", "0.3"], env=env) as ing:
        client = open_client(ing.url)
        replies = client.pipeline(
            batch(sent[i : i + 10], batch_id=f"b{i}", sent_at=None) for i in range(0, 40, 10)
        )
        client.close()
        assert [r["accepted"] for r in replies] == [10] * 4
        store = open_store(bucket.url)
        wait_for(lambda: store.published(Stream.EVENTS), what="a shard published to S3")
        assert ing.stop() == 0, ing.logs()[-3000:]

    # Published to the bucket only: nothing published locally, nothing left in flight.
    local = landing_root(s3_home)
    assert published_shards(local, Stream.EVENTS) == [] and inflight_shards(local) == []
    shards = store.published(Stream.EVENTS)
    landed_lines = []
    for shard in shards:
        with store.open(shard.location) as f:
            landed_lines += f.read().splitlines()
    assert len(landed_lines) == 40

    day = datetime.now(UTC).date()
    first = pipeline.load(day)
    assert first.success
    again = pipeline.load(day)
    assert again.success
    assert scalar(s3_home, "select count(*) from raw.raw_events") == 40
    assert sorted(r[0] for r in query(s3_home, "select event_id from raw.events")) == sorted(
        e["event_id"] for e in sent
    )
    # The manifest read the objects' bytes: their line counts and SHA-256, by relative path.
    manifest = dict(
        (path, (rows, checksum))
        for path, rows, checksum in query(
            s3_home,
            "select shard_path, row_count, checksum from raw.loaded_shards where stream = 'events'",
        )
    )
    expected = {}
    for shard in shards:
        with store.open(shard.location) as f:
            data = f.read()
        expected[shard.rel] = (data.count(b"\n"), hashlib.sha256(data).hexdigest())
    assert manifest == expected


class Sender(threading.Thread):
    """A client that keeps sending batches and resends a batch whose ack did not come (the
    server was killed): what it records as acknowledged, the server acknowledged."""

    def __init__(self, ingestor: Ingestor) -> None:
        super().__init__(daemon=True)
        self.ingestor = ingestor
        self.acked: list[str] = []
        self.stop = threading.Event()
        self.errors = 0

    def run(self) -> None:
        pending: list[dict[str, Any]] = []
        client = None
        n = 0
        while not self.stop.is_set():
            try:
                if client is None:
                    client = open_client(self.ingestor.url, open_timeout=2)
                if not pending:
                    pending = [now_event() for _ in range(20)]
                    n += 1
                reply = client.call(batch(pending, batch_id=f"b{n}", sent_at=None))
                assert reply["accepted"] == len(pending), reply
                self.acked += [e["event_id"] for e in pending]
                pending = []
            except Exception:  # the server died under us: reconnect, resend
                self.errors += 1
                client = None
                time.sleep(0.05)
        if client is not None:
            client.close()


@pytest.mark.parametrize("durability", ["fsync", "publish"])
def test_a_kill_9_while_a_put_hangs_then_recovery_publishes_each_acknowledged_event_once(
    s3_home: Path, bucket: Bucket, pipeline: Pipeline, durability: str
) -> None:
    """The ingestor is killed in the middle of a PUT (the S3 server is paused, so the PUT hangs):
    its successor PUTs what the in-flight file holds; if the killed PUT did reach the server, the
    successor's is refused as the same bytes and counts as published."""
    first = [now_event() for _ in range(10)]
    second = [now_event() for _ in range(10)]
    local = landing_root(s3_home)
    with running_ingestor(
        s3_home,
        durability=durability,
        extra_args=serve_args(bucket, "--shard-max-age", "1"),
        env=bucket.server.env,
    ) as ing:
        client = open_client(ing.url)
        assert client.call(batch(first, batch_id="first"))["accepted"] == 10
        with bucket.server.paused():
            if durability == "fsync":  # acknowledged, in flight: the publish by age will hang
                assert client.call(batch(second, batch_id="second"))["accepted"] == 10
                time.sleep(1.5)
                assert metric(ing.metrics(), "respawn_shards_awaiting_publish") >= 1
            else:  # the ack waits for the PUT, which hangs
                client.send(batch(second, batch_id="second"))
                with pytest.raises(TimeoutError):
                    client.reply(timeout=1.5)
            assert any(p.stat().st_size for p in inflight_shards(local))  # what the PUT sends
            assert ing.kill() == -9
        ing.start()
        if durability == "publish":  # never acknowledged: the client sends it again
            client = open_client(ing.url)
            assert client.call(batch(second, batch_id="second"))["accepted"] == 10
        client.close()
        assert ing.stop() == 0, ing.logs()[-3000:]
    recovered = [
        p for p in (s3_home / "logs").glob("serve-*.log") if "recovered in-flight" in p.read_text()
    ]
    assert len(recovered) == 1  # the successor published what the killed PUT was sending
    assert inflight_shards(local) == []

    assert pipeline.load(datetime.now(UTC).date()).success
    kept = [r[0] for r in query(s3_home, "select event_id from raw.events")]
    assert sorted(kept) == sorted(e["event_id"] for e in first + second)  # each exactly once


@pytest.mark.slow
def test_kill_9_again_and_again_under_load_loses_no_acknowledged_event(
    s3_home: Path, bucket: Bucket, pipeline: Pipeline
) -> None:
    """Killed three times while clients send and small shards are published several times a
    second: every acknowledged event reaches the warehouse, exactly once."""
    kills = 3
    with running_ingestor(
        s3_home,
        extra_args=serve_args(bucket, "--shard-max-bytes", "8192", "--shard-max-age", "0.05"),
        env=bucket.server.env,
    ) as ing:
        sender = Sender(ing)
        sender.start()
        try:
            for k in range(kills):
                wait_for(lambda k=k: len(sender.acked) >= 200 * (k + 1), 60, "acknowledged events")
                assert ing.kill() == -9
                ing.start()  # recovery: what the dead process left in flight is PUT
            wait_for(lambda: len(sender.acked) >= 200 * (kills + 1), 60, "acks after the kills")
        finally:
            sender.stop.set()
            sender.join(30)
        assert ing.stop() == 0, ing.logs()[-3000:]
    assert sender.errors >= kills  # the kills cut connections (and acks)

    assert inflight_shards(landing_root(s3_home)) == []
    assert pipeline.load(datetime.now(UTC).date()).success
    acked = set(sender.acked)
    kept = [r[0] for r in query(s3_home, "select event_id from raw.events")]
    assert len(kept) == len(set(kept))  # exactly once
    assert acked - set(kept) == set()  # every acknowledged event
    assert scalar(s3_home, "select count(*) from raw.raw_events") >= len(acked)
