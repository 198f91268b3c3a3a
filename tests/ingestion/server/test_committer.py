"""Group commit: many submissions, one write and fsync per stream, futures resolved after it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingestion.landing.layout import Stream, inflight_shards, published_shards
from ingestion.server.committer import GroupCommitter, StorageError

NOON = datetime(2026, 1, 30, 12, 59, 59, tzinfo=UTC)


def lines(paths: list[Path]) -> list[bytes]:
    return [line for p in paths for line in p.read_bytes().splitlines()]


def test_submissions_waiting_together_share_one_commit_and_resolve_once_written(
    tmp_path: Path,
) -> None:
    commits: list[int] = []

    async def main() -> None:
        committer = GroupCommitter(tmp_path, on_commit=lambda n, _s: commits.append(n))
        committer.start()
        futures = [committer.submit(NOON, b'{"e":%d}\n' % i, b"") for i in range(50)]
        assert len(set(map(id, futures))) == 1  # all in the same cycle
        await futures[0]
        (shard,) = inflight_shards(tmp_path)
        assert len(shard.read_bytes().splitlines()) == 50  # written before the future resolved
        await committer.close()

    asyncio.run(main())
    assert commits == [50]
    assert len(lines(published_shards(tmp_path, Stream.EVENTS))) == 50


def test_lines_of_one_commit_split_at_the_hour_into_two_shards(tmp_path: Path) -> None:
    async def main() -> None:
        committer = GroupCommitter(tmp_path)
        committer.start()
        committer.submit(NOON, b'{"h":12}\n', b'{"dead":12}\n')
        await committer.submit(NOON + timedelta(seconds=2), b'{"h":13}\n', b"")
        assert [p.parent.name for p in published_shards(tmp_path, Stream.EVENTS)] == ["hour=12"]
        await committer.close()

    asyncio.run(main())
    shards = published_shards(tmp_path, Stream.EVENTS)
    assert [p.parent.name for p in shards] == ["hour=12", "hour=13"]
    assert lines(shards) == [b'{"h":12}', b'{"h":13}']
    assert lines(published_shards(tmp_path, Stream.DEADLETTER)) == [b'{"dead":12}']


def test_a_commit_that_cannot_write_fails_its_futures_and_marks_the_committer_unhealthy(
    tmp_path: Path,
) -> None:
    landing = tmp_path / "landing"
    landing.write_text("a file where the landing directory should be")

    async def main() -> None:
        committer = GroupCommitter(landing)
        committer.start()
        with pytest.raises(StorageError):
            await committer.submit(NOON, b"{}\n", b"")
        assert not committer.healthy and committer.last_error
        landing.unlink()  # the disk is back: the next commit succeeds
        await committer.submit(NOON, b'{"n":2}\n', b"")
        assert committer.healthy
        await committer.close()

    asyncio.run(main())
    assert lines(published_shards(landing, Stream.EVENTS)) == [b'{"n":2}']


def test_due_shards_are_published_without_new_submissions(tmp_path: Path) -> None:
    async def main() -> None:
        committer = GroupCommitter(tmp_path, max_age_seconds=0.5)  # longer than any fsync here
        committer.start()
        await committer.submit(NOON, b"{}\n", b"")
        assert published_shards(tmp_path, Stream.EVENTS) == []
        await asyncio.sleep(0.5)
        await committer.publish_due()
        assert len(published_shards(tmp_path, Stream.EVENTS)) == 1
        await committer.close()

    asyncio.run(main())
