"""eventfd: a 64-bit counter as an open file.

``write`` adds an 8-byte value to the counter (sleeping, or EAGAIN, while the sum
would exceed 2**64 - 2); ``read`` returns the counter and resets it to 0, or, with
EFD_SEMAPHORE, returns 1 and decrements it (sleeping, or EAGAIN, while it is 0).
The file is readable when the counter is non-zero and writable while 1 more fits.

In EFD_SEMAPHORE mode the counter is a counting semaphore (a read is a *down*, a write
of n an *up* by n); lab 7 has students write that semaphore on OSTD's ``WaitQueue``
and plugs it in with :func:`inject_semaphore`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any

from ...ostd import Task, WaitQueue
from ..error import EAGAIN, EINVAL, LinuxError, MustBlock
from ..process.signal.constants import ERESTARTSYS
from ..process.signal.pause import pause_until, slow_path_only
from .pollee import POLLERR, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, Pollee
from .stat import Kstat
from .stream import StreamFile
from .vfs import O_NONBLOCK, O_RDWR, SETFL_MASK

EFD_SEMAPHORE = 0o1
EFD_NONBLOCK = 0o4000
EFD_CLOEXEC = 0o2000000
ULLONG_MAX = (1 << 64) - 1
_u64 = struct.Struct("<Q")
_eventfd_ino = count(1)

# --- injection point: the counter of EFD_SEMAPHORE eventfds (lab 7) ----------------------
#: ``semaphore_class(initval)`` makes the counter of each new EFD_SEMAPHORE eventfd: an
#: object with ``value`` (the units it holds; poll and the overflow check read it),
#: ``try_down() -> bool`` (take one unit if there is one; never sleeps), ``down(cancelled)
#: -> bool`` (sleep on its own WaitQueue until it takes a unit: True; or until
#: ``cancelled()`` is true, a signal or the thread's exit: False, nothing taken) and
#: ``up(n)`` (add n units and wake the sleepers that may now take them). A read is
#: ``try_down()``, then (blocking file, slow path) ``down``; a write of n is ``up(n)``.
#: None means the kernel's own counter (``EventFd.counter``).
semaphore_class: Callable[[int], Any] | None = None


@contextmanager
def inject_semaphore(cls: Callable[[int], Any] | None) -> Iterator[None]:
    """Make EFD_SEMAPHORE eventfds created inside the ``with`` block use ``cls`` (safe
    kernel code, e.g. a student's ``Semaphore``) as their counter."""
    global semaphore_class
    saved = semaphore_class
    semaphore_class = cls
    try:
        yield
    finally:
        semaphore_class = saved


class EventFd(StreamFile):
    def __init__(self, initval: int, flags: int) -> None:
        self.semaphore = bool(flags & EFD_SEMAPHORE)
        #: The injected semaphore that holds the count (EFD_SEMAPHORE with lab 7's hook).
        self.sem = semaphore_class(initval) if self.semaphore and semaphore_class is not None else None
        self.counter = initval
        self.flags = O_RDWR | (flags & O_NONBLOCK)
        self.path = b"anon_inode:[eventfd]"
        self.pos = 0
        self.queue = WaitQueue()
        self.pollee = Pollee()
        self.ino = next(_eventfd_ino)

    def __repr__(self) -> str:
        return f"<EventFd {self.counter}>"

    readable = True
    writable = True

    @property
    def counter(self) -> int:
        return self.sem.value if self.sem is not None else self._count

    @counter.setter
    def counter(self, value: int) -> None:
        self._count = value

    def _wait(self, condition) -> None:
        if self.flags & O_NONBLOCK:
            raise LinuxError(EAGAIN)
        thread = Task.current().data
        if thread.in_fast_path:
            raise MustBlock
        pause_until(thread, condition, self.queue)

    def _changed(self) -> None:
        self.queue.wake_all()
        self.pollee.notify()

    def read(self, size: int) -> bytes:
        if size < 8:
            raise LinuxError(EINVAL)
        if self.sem is not None:
            self._down()
            self._changed()
            return _u64.pack(1)
        if self.counter == 0:
            self._wait(lambda: self.counter > 0)
        value = 1 if self.semaphore else self.counter
        self.counter -= value
        self._changed()
        return _u64.pack(value)

    def write(self, data: bytes) -> int:
        if len(data) < 8:
            raise LinuxError(EINVAL)
        (value,) = _u64.unpack(data[:8])
        if value == ULLONG_MAX:
            raise LinuxError(EINVAL)
        if ULLONG_MAX - self.counter <= value:
            self._wait(lambda: ULLONG_MAX - self.counter > value)
        if value and self.sem is not None:
            self.sem.up(value)
            self._changed()
        elif value:
            self.counter += value
            self._changed()
        return 8

    def _down(self) -> None:
        """A semaphore read on the injected semaphore (the ``_wait`` rules, with its queue)."""
        assert self.sem is not None
        if self.sem.try_down():
            return
        if self.flags & O_NONBLOCK:
            raise LinuxError(EAGAIN)
        thread = slow_path_only()
        if not self.sem.down(thread.has_deliverable_signal):
            raise LinuxError(ERESTARTSYS)

    def poll(self) -> int:
        mask = POLLIN | POLLRDNORM if self.counter > 0 else 0
        if self.counter == ULLONG_MAX:
            mask |= POLLERR
        if ULLONG_MAX - 1 > self.counter:
            mask |= POLLOUT | POLLWRNORM
        return mask

    def set_status_flags(self, flags: int) -> None:
        self.flags = (self.flags & ~SETFL_MASK) | (flags & SETFL_MASK)

    def _kstat(self) -> Kstat:
        return Kstat(dev=15, ino=self.ino, mode=0o600, nlink=1, uid=0, gid=0, rdev=0,
                     size=0, blksize=4096, blocks=0, atime_ns=0, mtime_ns=0, ctime_ns=0)  # fmt: skip

