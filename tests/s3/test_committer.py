"""The ingestor's committer on object storage: with `--durability fsync` an ack waits for the
local fsync only, so a store that stops answering delays publishing, never an ack; with
`--durability publish` an ack waits for the PUT of the shard that holds its lines."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from ingestion.landing.layout import Stream, inflight_shards
from ingestion.landing.store import open_store
from ingestion.server.committer import GroupCommitter
from tests.s3.conftest import Bucket


def now() -> datetime:
    return datetime.now(UTC)


def test_with_fsync_acks_go_on_while_the_store_hangs_and_the_shards_are_published_after(
    tmp_path: Path, bucket: Bucket
) -> None:
    store = open_store(bucket.url)

    async def main() -> None:
        committer = GroupCommitter(tmp_path, store=store, max_age_seconds=0.05)
        committer.start()
        await committer.submit(now(), b'{"n":0}\n', b"")
        await asyncio.sleep(0.1)
        await committer.maintain()  # due: handed to the uploader
        with bucket.server.paused():
            started = time.monotonic()
            for i in range(1, 6):
                await committer.submit(now(), b'{"n":%d}\n' % i, b"")
                await asyncio.sleep(0.06)
                await committer.maintain()
            acked_in = time.monotonic() - started
            assert acked_in < 2.0  # five commits (and five hand-offs) while every PUT hangs
            assert inflight_shards(tmp_path)  # the lines wait in flight, on local disk
            assert committer.awaiting_publish >= 1
        deadline = time.monotonic() + 30
        while committer.awaiting_publish and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await committer.close()

    asyncio.run(main())
    lines = []
    for shard in store.published(Stream.EVENTS):
        with store.open(shard.location) as f:
            lines += f.read().splitlines()
    assert sorted(lines) == [b'{"n":%d}' % i for i in range(6)]
    assert inflight_shards(tmp_path) == []


def test_with_publish_an_ack_means_the_put_returned(tmp_path: Path, bucket: Bucket) -> None:
    store = open_store(bucket.url)

    async def main() -> None:
        committer = GroupCommitter(tmp_path, store=store, fsync=False, publish_each_commit=True)
        committer.start()
        for i in range(3):
            await committer.submit(now(), b'{"n":%d}\n' % i, b"")
            # Acknowledged: the lines are an object already, each commit its own shard.
            assert len(store.published(Stream.EVENTS)) == i + 1
        assert inflight_shards(tmp_path) == []
        with bucket.server.paused():
            pending = committer.submit(now(), b'{"n":3}\n', b"")
            done, _ = await asyncio.wait([pending], timeout=1.0)
            assert not done  # the PUT hangs, so does the ack
        await asyncio.wait_for(pending, 30)
        await committer.close()

    asyncio.run(main())
    assert len(store.published(Stream.EVENTS)) == 4
