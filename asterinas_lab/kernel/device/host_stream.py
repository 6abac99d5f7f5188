"""Open files connected to the host: the terminal of ``asterinas-lab run``.

Like ``qemu-x86_64``, ``asterinas-lab run`` gives the guest program the host's stdin,
stdout and stderr as its fds 0, 1 and 2. A :class:`HostStream` is the device behind
them: reads and writes go to host callables, ``fstat`` reports what the host file is
(a pipe, a regular file or a character device), and terminal ioctls answer as the host
terminal does, so a program decides on buffering exactly as it would natively.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from ..error import EBADF, ENOTTY, LinuxError
from ..fs.pollee import POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM
from ..fs.stat import S_IFCHR, Kstat, makedev
from ..fs.stream import StreamFile
from ..fs.vfs import O_RDWR

TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCGWINSZ, TIOCSWINSZ = 0x5413, 0x5414
TIOCGPGRP, TIOCSPGRP = 0x540F, 0x5410
FIONREAD = 0x541B


class HostStream(StreamFile):
    """An open file whose bytes come from / go to the host."""

    def __init__(
        self,
        name: str,
        read: Callable[[int], bytes] | None = None,
        write: Callable[[bytes], object] | None = None,
        host_fd: int | None = None,
    ) -> None:
        self.path = name.encode()
        self._read = read
        self._write = write
        self.host_fd = host_fd
        self.flags = O_RDWR
        self.pos = 0

    def __repr__(self) -> str:
        return f"<HostStream {self.path.decode()}>"

    @property
    def is_tty(self) -> bool:
        return self.host_fd is not None and os.isatty(self.host_fd)

    def read(self, count: int) -> bytes:
        if self._read is None:
            raise LinuxError(EBADF)
        return self._read(count)

    def write(self, data: bytes) -> int:
        if self._write is None:
            raise LinuxError(EBADF)
        self._write(data)
        return len(data)

    def set_status_flags(self, flags: int) -> None:
        pass

    def poll(self) -> int:
        """Always writable; readable when there is a host input (captured stdin counts
        as always readable, end-of-file included, which keeps runs deterministic)."""
        mask = POLLIN | POLLRDNORM if self._read is not None else 0
        return mask | (POLLOUT | POLLWRNORM if self._write is not None else 0)

    def _kstat(self) -> Kstat:
        if self.host_fd is not None:
            try:
                return Kstat.from_host(os.fstat(self.host_fd))
            except OSError:
                pass
        # A console with no host file behind it: a character device like /dev/console.
        return Kstat(dev=5, ino=1, mode=S_IFCHR | 0o620, nlink=1, uid=0, gid=0,
                     rdev=makedev(5, 1), size=0, blksize=1024, blocks=0,
                     atime_ns=0, mtime_ns=0, ctime_ns=0)  # fmt: skip

    def termios(self) -> bytes:
        """The host terminal's ``struct termios`` (kernel layout, 36 bytes)."""
        import termios

        if not self.is_tty:
            raise LinuxError(ENOTTY)
        iflag, oflag, cflag, lflag, _ispeed, _ospeed, cc = termios.tcgetattr(self.host_fd)
        raw_cc = bytes(c[0] if isinstance(c, bytes) else c for c in cc[:19])
        return struct.pack("<IIIIB19s", iflag, oflag, cflag, lflag, 0, raw_cc)

    def winsize(self) -> bytes:
        if not self.is_tty:
            raise LinuxError(ENOTTY)
        size = os.get_terminal_size(self.host_fd)
        return struct.pack("<HHHH", size.lines, size.columns, 0, 0)
