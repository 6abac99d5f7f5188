"""StreamFile: the common ground of open files that are a stream of bytes with no
position (pipes, terminals, the host's stdio): they cannot seek, cannot be read or
written at an offset, and are not directories."""

from __future__ import annotations

from ..error import ENOTDIR, ESPIPE, LinuxError


class StreamFile:
    def pread(self, count: int, offset: int) -> bytes:
        raise LinuxError(ESPIPE)

    def pwrite(self, data: bytes, offset: int) -> int:
        raise LinuxError(ESPIPE)

    def lseek(self, offset: int, whence: int) -> int:
        raise LinuxError(ESPIPE)

    def getdents64(self, bufsize: int) -> bytes:
        raise LinuxError(ENOTDIR)
