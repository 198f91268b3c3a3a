"""The file system calls the landing makes, in one class a test can subclass to make them fail."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class FileOps:
    """The file system calls the landing makes: the real ones. A test passes a subclass whose
    calls fail, to see what a full or broken disk does (the server always uses this one)."""

    def open(self, path: Path, flags: int, mode: int) -> int:
        return os.open(path, flags, mode)

    def write(self, fd: int, data: memoryview) -> int:
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def allocate(self, fd: int, length: int) -> None:
        """Reserve `length` bytes of the disk for the file (ENOSPC when it has not got them)."""
        try:
            os.posix_fallocate(fd, 0, length)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # not every file system can
                raise

    def truncate(self, fd: int, length: int) -> None:
        os.ftruncate(fd, length)

    def close(self, fd: int) -> None:
        os.close(fd)

    def replace(self, src: Path, dst: Path) -> None:
        os.replace(src, dst)

    def unlink(self, path: Path) -> None:
        path.unlink()

    def makedirs(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)

    def fsync_dir(self, path: Path) -> None:
        fd = self.open(path, os.O_RDONLY | os.O_DIRECTORY, 0)
        try:
            self.fsync(fd)
        finally:
            self.close(fd)


REAL_FILES = FileOps()
