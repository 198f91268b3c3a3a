"""A history file: one v1 event per line, as JSONL, plain or gzipped.

Whether a file is gzipped is read from its first two bytes (the gzip magic), not its name. The
file is read twice: once for its digests and its line count (what the manifest is keyed by and
what the progress bar counts to), once to import it, in chunks of lines, so memory holds one
chunk whatever the file's size.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

GZIP_MAGIC = b"\x1f\x8b"
_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class SourceDigest:
    """What a history file holds. `sha256` is of its content (the decompressed bytes), so a file
    and a gzipped copy of it are one history; `file_sha256` is of the bytes on disk."""

    sha256: str
    file_sha256: str
    file_bytes: int
    content_bytes: int
    lines: int
    compressed: bool


def is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == GZIP_MAGIC


def open_content(path: Path) -> IO[bytes]:
    """The file's content, decompressed when it is gzipped."""
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")


class _HashingReader:
    """Reads a binary file, hashing what it reads (gzip reads the compressed bytes through it)."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data

    def __getattr__(self, name: str) -> Any:  # anything else gzip asks of a file object
        return getattr(self._f, name)


def digest(path: Path) -> SourceDigest:
    """The digests, sizes and line count of a history file, in one streaming pass."""
    compressed = is_gzip(path)
    with path.open("rb") as raw:
        hashed = _HashingReader(raw)
        content: IO[bytes] = gzip.GzipFile(fileobj=hashed, mode="rb") if compressed else hashed  # type: ignore[assignment]
        sha = hashlib.sha256()
        size = lines = 0
        last = b"\n"
        while block := content.read(_BLOCK):
            sha.update(block)
            size += len(block)
            lines += block.count(b"\n")
            last = block[-1:]
        if last != b"\n":  # a last line without its newline is a line all the same
            lines += 1
    return SourceDigest(
        sha.hexdigest(), hashed.sha.hexdigest(), hashed.size, size, lines, compressed
    )


def line_content(line: bytes) -> bytes:
    """A line without its terminator (`\\n` or `\\r\\n`): the bytes dead-letter keeps."""
    if line.endswith(b"\n"):
        line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
    return line


def chunks(
    path: Path, chunk_lines: int, chunk_bytes: int = 32 * 1024 * 1024
) -> Iterator[list[bytes]]:
    """The file's lines (terminators cut off), in lists of at most `chunk_lines` lines and about
    `chunk_bytes` bytes, in file order."""
    if chunk_lines < 1:
        raise ValueError(f"a chunk holds at least one line, got {chunk_lines}")
    with open_content(path) as f:
        chunk: list[bytes] = []
        size = 0
        for line in f:
            chunk.append(line_content(line))
            size += len(line)
            if len(chunk) >= chunk_lines or size >= chunk_bytes:
                yield chunk
                chunk, size = [], 0
        if chunk:
            yield chunk
