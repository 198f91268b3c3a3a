"""`respawn simulate --to-landing s3://…` publishes the same lines as into a local directory, and
the shard sensor and the loader see the bucket's shards: each landed day is requested once, and
once loaded, never again."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from ingestion.landing.layout import Stream, inflight_shards, published_shards
from ingestion.landing.store import open_store
from ingestion.settings import landing_root
from tests.e2e.pipeline import Pipeline, history_start, scalar, simulate
from tests.orchestration.automation.shard_sensor import evaluate_shard_sensor
from tests.s3.conftest import Bucket

SIMULATION = ("--players", "40", "--days", "3", "--seed", "23", "--workers", "2")


@pytest.fixture(autouse=True)
def _dbt_manifest_for_the_pipeline(dbt_manifest: Path) -> Path:
    return dbt_manifest


def lines_of(store_location: str | Path) -> Counter[bytes]:
    store = open_store(store_location)
    lines: Counter[bytes] = Counter()
    for stream in Stream:
        for shard in store.published(stream):
            with store.open(shard.location) as f:
                lines.update(f.read().splitlines())
    return lines


@pytest.mark.slow
def test_the_simulator_lands_in_a_bucket_what_it_lands_in_a_directory_and_the_sensor_sees_it(
    s3_home: Path, bucket: Bucket, tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    start = history_start(3)
    simulate(*SIMULATION, "--start", start, "--to-landing", bucket.url)
    local = tmp_path / "local-landing"
    simulate(
        *SIMULATION, "--start", start, "--to-landing", str(local), "--truth-dir", str(tmp_path)
    )

    # The same lines, published as objects; nothing published or left in flight on local disk.
    in_bucket = lines_of(bucket.url)
    assert sum(in_bucket.values()) > 300
    assert in_bucket == lines_of(local)
    staging = landing_root(s3_home)
    assert published_shards(staging, Stream.EVENTS) == [] and inflight_shards(staging) == []

    store = open_store(bucket.url)
    days = sorted({s.day for s in store.published(Stream.EVENTS)})
    assert len(days) >= 3
    first = evaluate_shard_sensor(s3_home, None, instance)
    assert sorted(r.partition_key for r in first.run_requests or []) == [
        d.isoformat() for d in days
    ]

    pipeline = Pipeline(s3_home, instance)
    for day in days:
        assert pipeline.load(day).success
    events_lines = sum(
        n for line, n in in_bucket.items() if b'"status":' in line and b'"failure":' not in line
    )
    assert scalar(s3_home, "select count(*) from raw.raw_events") == events_lines
    # Loaded: a fresh sensor (no cursor) finds every shard in the manifest and requests nothing.
    again = evaluate_shard_sensor(s3_home, None, instance)
    assert not again.run_requests
    assert again.skip_reason is not None
    assert again.skip_reason.skip_message == "no new published shards"
