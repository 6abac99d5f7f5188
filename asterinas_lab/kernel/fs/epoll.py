"""epoll: an interest list of (fd, file) pairs as an open file.

Level-triggered by default: epoll_wait reports every watched file whose readiness
intersects its event mask. EPOLLONESHOT disables an entry after it is reported (until
EPOLL_CTL_MOD); EPOLLET reports a ready file again only after its pollee was notified
since the last report (an approximation of Linux's edge detection that is exact for
the usual "drain until EAGAIN" loops).

An entry dies with its descriptor: when the fd no longer names the same file (closed,
or reused), the entry is dropped, which is Linux's behaviour when the fd was the last
reference to the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..error import EEXIST, EINVAL, ENOENT, EPERM, LinuxError
from .pollee import POLLERR, POLLHUP, POLLIN, POLLRDNORM, Pollee, poll_file, pollees_of
from .stat import Kstat
from .stream import StreamFile
from .vfs import O_RDWR, OpenFile

EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET = 1 << 28, 1 << 29, 1 << 30, 1 << 31
EPOLL_CLOEXEC = 0o2000000
_ALWAYS = POLLERR | POLLHUP


@dataclass
class EpollItem:
    fd: int
    file: Any
    events: int
    data: int
    seen_generation: int | None = None  # EPOLLET: pollee generation at the last report
    disabled: bool = False  # EPOLLONESHOT, after a report


class EpollFile(StreamFile):
    def __init__(self) -> None:
        self.items: dict[int, EpollItem] = {}
        self.flags = O_RDWR
        self.path = b"anon_inode:[eventpoll]"
        self.pos = 0
        self.pollee = Pollee()

    def __repr__(self) -> str:
        return f"<EpollFile {sorted(self.items)}>"

    def read(self, count: int) -> bytes:
        raise LinuxError(EINVAL)

    def write(self, data: bytes) -> int:
        raise LinuxError(EINVAL)

    # --- the interest list ----------------------------------------------------------

    def control(self, op: int, fd: int, file: Any, events: int, data: int) -> None:
        if not supports_epoll(file):
            raise LinuxError(EPERM)
        if file is self:
            raise LinuxError(EINVAL)
        item = self.items.get(fd)
        if item is not None and item.file is not file:
            del self.items[fd]  # the fd was closed and reused: the old entry is gone
            item = None
        if op == EPOLL_CTL_ADD:
            if item is not None:
                raise LinuxError(EEXIST)
            self.items[fd] = EpollItem(fd, file, events | _ALWAYS, data)
        elif op == EPOLL_CTL_MOD:
            if item is None:
                raise LinuxError(ENOENT)
            item.events, item.data = events | _ALWAYS, data
            item.disabled = False
            item.seen_generation = None
        elif op == EPOLL_CTL_DEL:
            if item is None:
                raise LinuxError(ENOENT)
            del self.items[fd]
        else:
            raise LinuxError(EINVAL)
        self.pollee.notify()

    def _live_items(self, files) -> list[EpollItem]:
        live = []
        for fd, item in list(self.items.items()):
            try:
                current = files.get(fd)
            except LinuxError:
                current = None
            if current is not item.file:
                del self.items[fd]
                continue
            live.append(item)
        return live

    def collect(self, files, max_events: int) -> list[tuple[int, int]]:
        """Ready (events, data) pairs, at most ``max_events``; consumes one-shot and
        edge-triggered reports."""
        ready = []
        for item in self._live_items(files):
            if item.disabled:
                continue
            revents = poll_file(item.file) & item.events & ~(EPOLLET | EPOLLONESHOT)
            if not revents:
                continue
            if item.events & EPOLLET:
                generation = _generation(item.file)
                if generation == item.seen_generation:
                    continue
                item.seen_generation = generation
            if item.events & EPOLLONESHOT:
                item.disabled = True
            ready.append((revents, item.data))
            if len(ready) >= max_events:
                break
        return ready

    def pollees(self, files=None) -> list[Pollee]:
        result = [self.pollee]
        for item in self.items.values():
            result.extend(pollees_of(item.file))
        return result

    def poll(self) -> int:
        """Readable when some entry is ready (entries are not pruned here)."""
        for item in self.items.values():
            if not item.disabled and poll_file(item.file) & item.events:
                return POLLIN | POLLRDNORM
        return 0

    def _kstat(self) -> Kstat:
        return Kstat(dev=15, ino=0, mode=0o600, nlink=1, uid=0, gid=0, rdev=0,
                     size=0, blksize=4096, blocks=0, atime_ns=0, mtime_ns=0, ctime_ns=0)  # fmt: skip

    def set_status_flags(self, flags: int) -> None:
        pass


def supports_epoll(file: Any) -> bool:
    """Files with readiness of their own; not regular files and directories, which
    are always ready (Linux refuses them with EPERM)."""
    return hasattr(file, "poll") and not isinstance(file, OpenFile)


def _generation(file: Any) -> int:
    return sum(pollee.generation for pollee in pollees_of(file))
