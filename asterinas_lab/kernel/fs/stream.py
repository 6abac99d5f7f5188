"""StreamFile: the common ground of open files that are a stream of bytes with no
position (pipes, eventfds, epoll instances, terminals, the host's stdio): they cannot
seek, cannot be read or written at an offset, are not directories, answer no ioctl
unless they say otherwise, and describe themselves for stat with ``_kstat``."""

from __future__ import annotations

from ..error import ENOTDIR, ENOTTY, ESPIPE, LinuxError
from .stat import Kstat, pack_stat, pack_statx


class StreamFile:
    def pread(self, count: int, offset: int) -> bytes:
        raise LinuxError(ESPIPE)

    def pwrite(self, data: bytes, offset: int) -> int:
        raise LinuxError(ESPIPE)

    def lseek(self, offset: int, whence: int) -> int:
        raise LinuxError(ESPIPE)

    def getdents64(self, bufsize: int) -> bytes:
        raise LinuxError(ENOTDIR)

    def _kstat(self) -> Kstat:
        raise NotImplementedError

    def stat(self) -> bytes:
        return pack_stat(self._kstat())

    def statx(self, mask: int = 0x7FF) -> bytes:
        return pack_statx(self._kstat(), mask)

    def ioctl(self, cmd: int, arg: int) -> int:
        raise LinuxError(ENOTTY)
