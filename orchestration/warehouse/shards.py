"""Which published shards a load must read: the manifest `raw.loaded_shards` against landing
(a local directory or object storage: listed through its `LandingStore`).

A published shard is immutable. The manifest records what was loaded from each one (size, mtime,
line count, SHA-256), so a re-run loads only new shards, and a shard that changed after it was
loaded is reported as an error instead of being silently reloaded or ignored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from ingestion.landing.layout import Stream
from ingestion.landing.store import LandingStore, open_store

_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Shard:
    path: str  # what a reader opens: an absolute local path, or an s3:// URL
    rel: str  # relative to the landing root: the `shard_path` column
    day: date
    size: int
    mtime_ns: int


@dataclass
class LoadPlan:
    stream: Stream
    days: list[date]
    replace: bool
    to_load: list[Shard] = field(default_factory=list)
    already_loaded: list[Shard] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the manifest, gone from landing
    store: LandingStore | None = None  # where the shards are read from (None: local paths)

    @property
    def bytes_to_load(self) -> int:
        return sum(s.size for s in self.to_load)


class ShardChangedError(dg.Failure):
    """A published shard differs from the one that was loaded: landing was rewritten."""


def scan_shards(store: LandingStore, stream: Stream, days: Sequence[date]) -> list[Shard]:
    return [
        Shard(stored.location, stored.rel, stored.day, stored.size, stored.mtime_ns)
        for day in days
        for stored in store.published(stream, day)
    ]


def sha256_file(store: LandingStore, location: str) -> str:
    digest = hashlib.sha256()
    with store.open(location) as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def plan_load(
    con: Any,
    landing: LandingStore | Path | str,
    stream: Stream,
    days: Sequence[date],
    *,
    replace: bool,
) -> LoadPlan:
    """Compare landing (a store, or its root: a directory or s3://bucket/prefix) with the
    manifest. `replace` reloads every shard of the days."""
    store = landing if isinstance(landing, LandingStore) else open_store(landing)
    shards = scan_shards(store, stream, days)
    plan = LoadPlan(stream, list(days), replace, store=store)
    if replace:
        plan.to_load = shards
        return plan
    rows = con.execute(
        "select shard_path, size_bytes, mtime_ns, checksum from raw.loaded_shards "
        "where stream = ? and receive_date in (select unnest(?::date[]))",
        [stream, list(days)],
    ).fetchall()
    manifest = {path: (size, mtime, checksum) for path, size, mtime, checksum in rows}
    changed: list[str] = []
    for shard in shards:
        recorded = manifest.pop(shard.rel, None)
        if recorded is None:
            plan.to_load.append(shard)
            continue
        size, mtime, checksum = recorded
        if shard.size != size:
            changed.append(f"{shard.rel}: {size} bytes when loaded, {shard.size} now")
        elif shard.mtime_ns != mtime and sha256_file(store, shard.path) != checksum:
            changed.append(f"{shard.rel}: same size, different bytes (SHA-256)")
        else:
            plan.already_loaded.append(shard)
    plan.missing = sorted(manifest)
    if changed:
        raise ShardChangedError(
            description=(
                f"{len(changed)} published {stream} shard(s) changed after they were loaded; "
                "published shards are immutable, so landing was rewritten. Restore the original "
                "files, or replace the partition from what landing holds now by re-running with "
                "config `replace: true` (Launchpad). Changed: " + "; ".join(changed[:10])
            ),
            metadata={"changed shards": changed},
            allow_retries=False,
        )
    return plan
