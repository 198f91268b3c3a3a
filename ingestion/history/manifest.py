"""The import manifest: one record per imported content, under the landing root.

    landing/imports/<sha256>.json

A record is written when an import starts (`status: importing`, with the chunking and the
import's own time, so that a run after an interruption lands exactly the same shards) and
replaced when it ends (`status: done`, with the counts). A content whose record is done is never
landed again, from whatever path it comes. Records are replaced atomically (a temporary file,
fsync, rename, fsync of the folder); an import holds its record's lock while it runs, so two
imports of one history never interleave. The loader and the sensor list only `events/` and
`deadletter/`, so they never see this folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

IMPORTS_DIR = "imports"


def imports_dir(landing_root: Path) -> Path:
    return landing_root / IMPORTS_DIR


def record_path(landing_root: Path, sha256: str) -> Path:
    return imports_dir(landing_root) / f"{sha256}.json"


def read_record(landing_root: Path, sha256: str) -> dict[str, Any] | None:
    path = record_path(landing_root, sha256)
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None


def records(landing_root: Path) -> list[dict[str, Any]]:
    """Every record, oldest import first."""
    found = [orjson.loads(p.read_bytes()) for p in imports_dir(landing_root).glob("*.json")]
    return sorted(found, key=lambda r: (r["started_at"], r["sha256"]))


def write_record(landing_root: Path, record: dict[str, Any]) -> Path:
    folder = imports_dir(landing_root)
    folder.mkdir(parents=True, exist_ok=True)
    final = record_path(landing_root, record["sha256"])
    tmp = final.with_name(f".{final.name}.tmp")
    data = orjson.dumps(record, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return final


@contextlib.contextmanager
def locked(landing_root: Path, sha256: str) -> Iterator[None]:
    """Hold the lock of one content's record (released when the process dies, too)."""
    folder = imports_dir(landing_root)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f".{sha256}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
