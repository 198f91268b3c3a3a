"""Storage errors, injected through the landing writer's file operations (`FileOps`): a failed
commit is not acknowledged, its torn tail is cut back to what was acknowledged, the same in-flight
file is reused, and every acknowledged line is published while the process lives.

A real full disk (a small tmpfs) is in test_disk_full.py; these cover each failing call."""

from __future__ import annotations

import asyncio
import errno
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingestion.landing.layout import Stream, inflight_shards, published_shards
from ingestion.landing.writer import FileOps
from ingestion.server.committer import GroupCommitter, StorageError

NOON = datetime(2026, 1, 30, 12, 15, tzinfo=UTC)


class FailingDisk(FileOps):
    """The real file operations, until `failing` names one: then that call fails with ENOSPC,
    and a failing `write` first writes half of its data, as a full disk does."""

    def __init__(self) -> None:
        self.failing: str | None = None
        self.opened = 0  # files created

    def _check(self, call: str) -> None:
        if self.failing == call:
            raise OSError(errno.ENOSPC, "No space left on device (injected)")

    def open(self, path: Path, flags: int, mode: int) -> int:
        self._check("open")
        self.opened += bool(flags & os.O_CREAT)  # files created, not directories opened
        return super().open(path, flags, mode)

    def write(self, fd: int, data: memoryview) -> int:
        if self.failing == "write":
            super().write(fd, data[: max(1, len(data) // 2)])
            self._check("write")
        return super().write(fd, data)

    def fsync(self, fd: int) -> None:
        self._check("fsync")
        super().fsync(fd)


def line(n: int) -> bytes:
    return b'{"n":%d,"pad":"%s"}\n' % (n, b"x" * 200)


def published_lines(root: Path, stream: Stream = Stream.EVENTS) -> list[bytes]:
    return [x for p in published_shards(root, stream) for x in p.read_bytes().splitlines(True)]


async def commit(committer: GroupCommitter, n: int) -> bool:
    """Submit line `n`; True when acknowledged (durable), False when the commit failed."""
    try:
        await committer.submit(NOON, line(n), b"")
    except StorageError:
        return False
    return True


@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_a_failed_commit_is_cut_back_to_what_was_acknowledged_and_its_file_reused(
    tmp_path: Path, failing: str
) -> None:
    disk = FailingDisk()

    async def main() -> None:
        committer = GroupCommitter(tmp_path, fs=disk)
        committer.start()
        assert await commit(committer, 1)
        (shard,) = inflight_shards(tmp_path)
        disk.failing = failing
        assert not await commit(committer, 2)
        assert not committer.healthy
        # The torn (or unsynced) tail is gone: the file holds exactly the acknowledged line.
        assert inflight_shards(tmp_path) == [shard]
        assert shard.read_bytes() == line(1)
        disk.failing = None  # storage is back: the same file takes the next commit
        assert await commit(committer, 3)
        assert committer.healthy and inflight_shards(tmp_path) == [shard]
        await committer.close()

    asyncio.run(main())
    assert published_lines(tmp_path) == [line(1), line(3)]
    assert inflight_shards(tmp_path) == []


def test_commits_failing_again_and_again_open_no_new_in_flight_file(tmp_path: Path) -> None:
    disk = FailingDisk()

    async def main() -> None:
        committer = GroupCommitter(tmp_path, fs=disk)
        committer.start()
        assert await commit(committer, 0)
        disk.failing = "write"
        for n in range(1, 30):
            assert not await commit(committer, n)
        assert len(inflight_shards(tmp_path)) + len(published_shards(tmp_path, Stream.EVENTS)) == 1
        disk.failing = None
        assert await commit(committer, 30)
        await committer.close()

    asyncio.run(main())
    assert disk.opened == 1
    assert published_lines(tmp_path) == [line(0), line(30)]


def test_acknowledged_lines_are_published_by_age_while_commits_keep_failing(
    tmp_path: Path,
) -> None:
    disk = FailingDisk()

    async def main() -> None:
        committer = GroupCommitter(tmp_path, fs=disk, max_age_seconds=0.05)
        committer.start()
        assert await commit(committer, 1)
        disk.failing = "write"
        assert not await commit(committer, 2)
        await asyncio.sleep(0.06)
        await committer.publish_due()  # the server calls it periodically, healthy or not
        assert published_lines(tmp_path) == [line(1)]
        assert inflight_shards(tmp_path) == []
        assert not await commit(committer, 3)
        disk.failing = None
        await committer.close()

    asyncio.run(main())
    assert published_lines(tmp_path) == [line(1)]


def test_close_publishes_every_acknowledged_line_after_a_failure(tmp_path: Path) -> None:
    """What SIGTERM does: nothing acknowledged stays in flight, even with storage still failing
    for new data."""
    disk = FailingDisk()

    async def main() -> None:
        committer = GroupCommitter(tmp_path, fs=disk)
        committer.start()
        for n in range(5):
            assert await commit(committer, n)
        disk.failing = "write"
        assert not await commit(committer, 5)
        await committer.close()

    asyncio.run(main())
    assert published_lines(tmp_path) == [line(n) for n in range(5)]
    assert inflight_shards(tmp_path) == []


def test_a_shard_that_cannot_be_opened_fails_the_commit_and_the_next_one_succeeds(
    tmp_path: Path,
) -> None:
    disk = FailingDisk()
    disk.failing = "open"

    async def main() -> None:
        committer = GroupCommitter(tmp_path, fs=disk)
        committer.start()
        assert not await commit(committer, 1)
        assert inflight_shards(tmp_path) == []
        disk.failing = None
        assert await commit(committer, 2)
        await committer.close()

    asyncio.run(main())
    assert published_lines(tmp_path) == [line(2)]
