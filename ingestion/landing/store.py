"""Where published shards live: a local directory, or a bucket of an S3-compatible object store.

    open_store("data/landing")              LocalStore: publishing is an atomic rename
    open_store("s3://bucket/prefix")        ObjectStore: publishing is one PUT, If-None-Match: *

Either way a shard is written, appended to and fsynced as a hidden in-flight file on local disk
(`ShardWriter`), and only the finished file is published: a reader (the loader, the sensor) lists
published shards only, so it never sees a partial one. This module is the one owner of the three
things every reader and writer does with the published side: listing, publishing, reading.

On object storage a published shard is never overwritten: the PUT is conditional
(`If-None-Match: *`), so a second publish of the same name is refused by the server. A refused
publish whose object already holds exactly the file's bytes is the same publish repeated (a
process killed after its PUT and before it removed its in-flight file: recovery publishes it
again) and counts as done; any other is a `ShardExistsError`, and the in-flight file is kept.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from typing import IO, Any

from ingestion.landing.files import FileOps
from ingestion.landing.layout import (
    PUBLISHED_REL,
    Stream,
    published_path,
    published_shards,
    shard_day,
)
from ingestion.settings import s3_endpoint_url

# A published shard's location: its path on local disk, or its object's s3:// URL.
ShardLocation = Path | str

OBJECT_SCHEME = "s3://"
# One PUT carries at most 5 GiB (S3's limit); s3fs would switch to a multipart upload past twice
# the chunk size it is given, so it is given this one (shards are 64 MiB by default).
_SINGLE_PUT_LIMIT = 5 * 2**30
_READ_BLOCK = 8 * 2**20


@dataclass(frozen=True, slots=True)
class StoredShard:
    """A published shard, as listed."""

    location: str  # what a reader opens: a local path, or an s3:// URL
    rel: str  # relative to the landing root: <stream>/dt=YYYY-MM-DD/hour=HH/<name>.jsonl
    size: int
    mtime_ns: int  # the file's mtime, or the object's LastModified

    @property
    def stream(self) -> Stream:
        return Stream(self.rel.split("/", 1)[0])

    @property
    def day(self) -> date:
        return shard_day(PurePosixPath(self.rel))


class ShardExistsError(FileExistsError):
    """A shard of that name is already published with other bytes: it is never overwritten."""


class LandingStore:
    """The published side of a landing (see the module docstring)."""

    location: str  # the landing root: a directory, or s3://bucket/prefix
    local: bool

    def published(self, stream: Stream, day: date | None = None) -> list[StoredShard]:
        """The published shards of a stream (all days, or one receive date), sorted by path."""
        raise NotImplementedError

    def publish(self, inflight: Path, rel: str, fs: FileOps) -> ShardLocation:
        """Make a finished (fsynced) in-flight shard visible as `rel`; its new location."""
        raise NotImplementedError

    def finish(self, inflight: Path, published: ShardLocation, fs: FileOps) -> None:
        """After `publish`, once the writer let go of the file: make the publish durable locally
        (the directory's fsync after a rename; the in-flight copy's removal after a PUT)."""
        raise NotImplementedError

    def open(self, location: str) -> IO[bytes]:
        """Read a published shard (a location from `published`)."""
        raise NotImplementedError

    def filesystem(self) -> Any | None:
        """The fsspec filesystem a DuckDB connection reads this landing through (None: the local
        disk, which DuckDB reads itself)."""
        return None


class LocalStore(LandingStore):
    """Published shards beside the in-flight ones, in one local directory."""

    local = True

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def published(self, stream: Stream, day: date | None = None) -> list[StoredShard]:
        shards = []
        for path in published_shards(self.root, stream, day):
            try:
                stat = path.stat()
            except FileNotFoundError:  # moved away while listing
                continue
            rel = path.relative_to(self.root).as_posix()
            shards.append(StoredShard(str(path), rel, stat.st_size, stat.st_mtime_ns))
        return shards

    def publish(self, inflight: Path, rel: str, fs: FileOps) -> Path:
        final = published_path(inflight)
        assert final == self.root / rel, "a local landing publishes in place"
        fs.replace(inflight, final)  # a rename needs no space: it works on a full disk
        return final

    def finish(self, inflight: Path, published: ShardLocation, fs: FileOps) -> None:
        fs.fsync_dir(Path(published).parent)  # if this fails, the shard is visible all the same

    def open(self, location: str) -> IO[bytes]:
        return open(location, "rb")


class ObjectStore(LandingStore):
    """Published shards as objects under `s3://bucket/prefix/`, through s3fs.

    Credentials come from the usual AWS chain (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, a
    profile, an instance role); the endpoint of a store other than AWS from
    `RESPAWN_S3_ENDPOINT_URL` (or `endpoint_url`). Each process makes its own client on first
    use, so a store can be handed to forked workers."""

    local = False

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        key: str | None = None,
        secret: str | None = None,
    ) -> None:
        bucket, _, prefix = url.removeprefix(OBJECT_SCHEME).partition("/")
        if not url.startswith(OBJECT_SCHEME) or not bucket:
            raise ValueError(f"{url!r} is not an object-storage landing: write s3://bucket/prefix")
        self.base = f"{bucket}/{prefix.strip('/')}".rstrip("/")
        self.location = OBJECT_SCHEME + self.base
        self.endpoint_url = endpoint_url if endpoint_url is not None else s3_endpoint_url()
        self._key, self._secret = key, secret
        self._client: Any = None
        self._pid = 0

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None, "_pid": 0}

    @property
    def s3(self) -> Any:
        """This process's s3fs filesystem."""
        if self._client is None or self._pid != os.getpid():
            try:
                import s3fs
            except ImportError as e:
                raise RuntimeError(
                    f"the landing {self.location} is on object storage, which needs s3fs: "
                    "install respawn with the s3 extra (pip install 'respawn[s3]')"
                ) from e
            self._client = s3fs.S3FileSystem(
                key=self._key,
                secret=self._secret,
                endpoint_url=self.endpoint_url,
                skip_instance_cache=True,
                use_listings_cache=False,  # a listing must see what was published since
            )
            self._pid = os.getpid()
        return self._client

    def url(self, rel: str) -> str:
        return f"{self.location}/{rel}"

    def published(self, stream: Stream, day: date | None = None) -> list[StoredShard]:
        prefix = f"{self.base}/{stream}/" + (f"dt={day:%Y-%m-%d}/" if day else "")
        try:
            found = self.s3.find(prefix, detail=True)
        except FileNotFoundError:
            return []
        shards = []
        for name, info in found.items():
            rel = name[len(self.base) + 1 :]
            if info.get("type") != "file" or PUBLISHED_REL.fullmatch(rel) is None:
                continue  # a folder marker, or anything that is not a published shard
            modified = info.get("LastModified")
            mtime_ns = int(modified.timestamp() * 1e6) * 1000 if modified is not None else 0
            shards.append(StoredShard(OBJECT_SCHEME + name, rel, int(info["size"]), mtime_ns))
        return sorted(shards, key=lambda s: s.rel)

    def publish(self, inflight: Path, rel: str, fs: FileOps) -> str:
        data = inflight.read_bytes()
        key = f"{self.base}/{rel}"
        if len(data) >= _SINGLE_PUT_LIMIT:
            raise OSError(f"{inflight} is {len(data)} bytes: one PUT takes less than 5 GiB")
        try:
            self.s3.pipe_file(key, data, mode="create", chunksize=_SINGLE_PUT_LIMIT)
        except OSError as e:
            if not _refused_as_existing(e):
                raise
            if not self._holds(key, data):
                raise ShardExistsError(
                    f"{OBJECT_SCHEME}{key} is already published with other bytes; published "
                    f"shards are never overwritten, so {inflight} stays in flight: compare the "
                    "two and move one aside"
                ) from e
        return OBJECT_SCHEME + key

    def _holds(self, key: str, data: bytes) -> bool:
        """Whether the object `key` holds exactly `data` (its ETag is the MD5 of a single PUT)."""
        info = self.s3.info(key)
        etag = str(info.get("ETag", "")).strip('"')
        if info.get("size") != len(data):
            return False
        if len(etag) == 32 and "-" not in etag:
            return etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
        return bool(self.s3.cat_file(key) == data)

    def finish(self, inflight: Path, published: ShardLocation, fs: FileOps) -> None:
        # No fsync of the directory: a removal lost in a crash only means that recovery PUTs the
        # copy again, which is refused as the same bytes (the file was fsynced before its PUT and
        # never changed after it).
        fs.unlink(inflight)

    def open(self, location: str) -> IO[bytes]:
        return self.s3.open(location, "rb", block_size=_READ_BLOCK)  # type: ignore[no-any-return]

    def filesystem(self) -> Any:
        return self.s3


def _refused_as_existing(error: OSError) -> bool:
    """Whether a failed PUT was refused by its `If-None-Match: *` (HTTP 412; 409 while another
    conditional PUT of the key is in progress)."""
    response = getattr(error.__cause__, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412)


def open_store(location: str | Path) -> LandingStore:
    """The store of a landing root: `s3://bucket/prefix`, or a local directory."""
    text = str(location)
    if text.startswith(OBJECT_SCHEME):
        return ObjectStore(text)
    if "://" in text:
        raise ValueError(
            f"the landing {text!r} is neither a local directory nor s3://bucket/prefix "
            "(S3-compatible object storage is the one remote store)"
        )
    return LocalStore(Path(text))
