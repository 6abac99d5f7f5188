"""Pipes: a bounded byte buffer between a write end and a read end.

A reader sleeps while the pipe is empty and some write end is still open; a writer
sleeps while it is full. When the last write end closes, readers get end-of-file;
when the last read end closes, writers get SIGPIPE and EPIPE. Writes of at most
PIPE_BUF bytes are atomic (never interleaved with other writers).

Open ends are counted per file descriptor (``fd_acquire``/``fd_release``, called by
the descriptor table), which is what makes "the last write end closed" observable
after fork and dup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any

from ...ostd import Task, WaitQueue
from ..error import EAGAIN, EBADF, ENXIO, EPIPE, LinuxError, MustBlock
from ..process.signal.constants import SIGPIPE
from ..process.signal.deliver import send_to_thread
from ..process.signal.pause import pause_until, slow_path_only
from ..process.signal.state import SigInfo
from .pollee import POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, Pollee
from .stat import S_IFIFO, Kstat
from .stream import StreamFile
from .vfs import O_ACCMODE, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, SETFL_MASK

PIPE_CAPACITY = 65536
PIPE_BUF = 4096
_pipe_ino = count(1)

# --- injection point: the pipe's read and write (lab 6) -----------------------------------
#: ``pipe_read(pipe, count, nonblocking, wait) -> bytes`` and
#: ``pipe_write(pipe, data, nonblocking, wait, sigpipe) -> int`` replace the bodies of
#: PipeEnd.read/write (pipes and FIFOs) while set by :func:`inject_pipe_ops`. They work on
#: the shared :class:`Pipe` (``buffer``, ``readers``, ``writers``, ``wake()``), raise
#: LinuxError for errors, call ``wait(condition)`` to sleep until ``condition()`` holds
#: (it raises LinuxError if a signal interrupts the sleep) and ``sigpipe()`` to send
#: SIGPIPE to the calling thread. They always run on the slow path (never in a CPU hook).
injected_read: Callable[..., bytes] | None = None
injected_write: Callable[..., int] | None = None


@contextmanager
def inject_pipe_ops(
    read: Callable[..., bytes] | None = None, write: Callable[..., int] | None = None
) -> Iterator[None]:
    """Serve pipe reads and/or writes with other code (e.g. a student's) in the block."""
    global injected_read, injected_write
    saved = injected_read, injected_write
    injected_read, injected_write = read, write
    try:
        yield
    finally:
        injected_read, injected_write = saved


def _caller_waits(pipe: Pipe) -> tuple[Any, Callable[[Callable[[], object]], object]]:
    thread = slow_path_only()  # injected code may sleep anywhere
    return thread, lambda condition: pause_until(thread, condition, pipe.queue)


class Pipe:
    """The shared buffer. Invariant: ``len(buffer) <= PIPE_CAPACITY``."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.readers = 0
        self.writers = 0
        self.queue = WaitQueue()  # readers and writers both wait here
        self.pollee = Pollee()  # poll/select/epoll waiters
        self.ino = next(_pipe_ino)
        #: How many times a read/write end was opened (Linux's r_counter/w_counter):
        #: a FIFO open waits for the *other* counter to move, not for a count > 0.
        self.r_counter = 0
        self.w_counter = 0

    def wake(self) -> None:
        """The pipe changed: wake readers, writers and pollers."""
        self.queue.wake_all()
        self.pollee.notify()


class PipeEnd(StreamFile):
    """One end of a pipe, as an open file."""

    def __init__(self, pipe: Pipe, write: bool, flags: int = 0) -> None:
        self.pipe = pipe
        self.is_writer = write
        self.flags = (O_WRONLY if write else O_RDONLY) | (flags & O_NONBLOCK)
        self.path = b"pipe:[%d]" % pipe.ino
        self.pos = 0

    def __repr__(self) -> str:
        return f"<PipeEnd {self.path.decode()} {'w' if self.is_writer else 'r'}>"

    @property
    def readable(self) -> bool:
        return not self.is_writer

    @property
    def writable(self) -> bool:
        return self.is_writer

    # --- descriptor counting ---------------------------------------------------------

    def fd_acquire(self) -> None:
        if self.is_writer:
            self.pipe.writers += 1
        else:
            self.pipe.readers += 1

    def fd_release(self) -> None:
        pipe = self.pipe
        if self.is_writer:
            pipe.writers -= 1
        else:
            pipe.readers -= 1
        pipe.wake()

    # --- data ----------------------------------------------------------------------

    def read(self, count: int) -> bytes:
        if self.is_writer:
            raise LinuxError(EBADF)
        pipe = self.pipe
        if injected_read is not None:
            _thread, wait = _caller_waits(pipe)
            return injected_read(pipe, count, bool(self.flags & O_NONBLOCK), wait)
        if count == 0:
            return b""
        if not pipe.buffer and pipe.writers:
            if self.flags & O_NONBLOCK:
                raise LinuxError(EAGAIN)
            thread = Task.current().data
            if thread.in_fast_path:
                raise MustBlock
            pause_until(thread, lambda: bool(pipe.buffer) or not pipe.writers, pipe.queue)
        data = bytes(pipe.buffer[:count])
        del pipe.buffer[:count]
        if data:
            pipe.wake()
        return data

    def write(self, data: bytes) -> int:
        if not self.is_writer:
            raise LinuxError(EBADF)
        pipe = self.pipe
        if injected_write is not None:
            thread, wait = _caller_waits(pipe)
            sigpipe = lambda: send_to_thread(thread, SigInfo(SIGPIPE, pid=thread.process.pid))  # noqa: E731
            return injected_write(pipe, data, bool(self.flags & O_NONBLOCK), wait, sigpipe)
        thread = Task.current().data
        total = len(data)
        written = 0
        if thread.in_fast_path and pipe.readers and total > PIPE_CAPACITY - len(pipe.buffer):
            if not self.flags & O_NONBLOCK:
                # It would have to sleep part-way, and the fast path cannot sleep: the
                # slow path would then run the call again from the start and write the
                # first part twice. Go there before writing anything.
                raise MustBlock
        while written < total:
            if not pipe.readers:
                if written:
                    return written
                send_to_thread(thread, SigInfo(SIGPIPE, pid=thread.process.pid))
                raise LinuxError(EPIPE)
            space = PIPE_CAPACITY - len(pipe.buffer)
            need = total - written if total <= PIPE_BUF else 1  # small writes are atomic
            if space < need:
                if self.flags & O_NONBLOCK:
                    if written:
                        return written
                    raise LinuxError(EAGAIN)
                if thread.in_fast_path and not written:
                    raise MustBlock
                try:
                    pause_until(thread, _room_for(pipe, need), pipe.queue)
                except LinuxError:
                    if written:
                        return written
                    raise
                continue
            chunk = data[written : written + space]
            pipe.buffer += chunk
            written += len(chunk)
            pipe.wake()
        return written

    def set_status_flags(self, flags: int) -> None:
        self.flags = (self.flags & ~SETFL_MASK) | (flags & SETFL_MASK)

    def _kstat(self) -> Kstat:
        return Kstat(dev=14, ino=self.pipe.ino, mode=S_IFIFO | 0o600, nlink=1, uid=0, gid=0, rdev=0,
                     size=0, blksize=4096, blocks=0, atime_ns=0, mtime_ns=0, ctime_ns=0)  # fmt: skip

    def poll_readable(self) -> bool:
        return bool(self.pipe.buffer) or not self.pipe.writers

    @property
    def pollee(self) -> Pollee:
        return self.pipe.pollee

    def poll(self) -> int:
        """Readiness (Linux's pipe_poll): the read end is readable when there is data
        and hung up when no write end is open; the write end is writable when a page
        fits and in error when no read end is open."""
        pipe = self.pipe
        if self.is_writer:
            mask = POLLOUT | POLLWRNORM if PIPE_CAPACITY - len(pipe.buffer) >= PIPE_BUF else 0
            return mask | (POLLERR if not pipe.readers else 0)
        mask = POLLIN | POLLRDNORM if pipe.buffer else 0
        return mask | (POLLHUP if not pipe.writers else 0)


class FifoEnd(PipeEnd):
    """One end of a named pipe (a FIFO inode): a pipe end that stats as its inode."""

    def __init__(self, inode, pipe: Pipe, readable: bool, writable: bool, flags: int, path: bytes) -> None:
        super().__init__(pipe, writable and not readable, flags)
        self.inode = inode
        self.path = path
        self.both = readable and writable
        self.flags = (O_RDWR if self.both else self.flags & O_ACCMODE) | (flags & O_NONBLOCK)

    def __repr__(self) -> str:
        return f"<FifoEnd {self.path!r} flags={self.flags:#o}>"

    @property
    def readable(self) -> bool:
        return self.both or not self.is_writer

    @property
    def writable(self) -> bool:
        return self.both or self.is_writer

    def fd_acquire(self) -> None:
        if self.both:
            self.pipe.readers += 1
            self.pipe.writers += 1
        else:
            super().fd_acquire()

    def fd_release(self) -> None:
        if self.both:
            self.pipe.readers -= 1
            self.pipe.writers -= 1
            self.pipe.wake()
        else:
            super().fd_release()

    def read(self, count: int) -> bytes:
        if self.both:
            self.is_writer = False
            try:
                return super().read(count)
            finally:
                self.is_writer = False
        return super().read(count)

    def write(self, data: bytes) -> int:
        if self.both:
            self.is_writer = True
            try:
                return super().write(data)
            finally:
                self.is_writer = False
        return super().write(data)

    def _kstat(self) -> Kstat:
        return self.inode.getattr()  # a FIFO's stat is its inode's

    def poll(self) -> int:
        if not self.both:
            return super().poll()
        mask = POLLIN | POLLRDNORM if self.pipe.buffer else 0
        if PIPE_CAPACITY - len(self.pipe.buffer) >= PIPE_BUF:
            mask |= POLLOUT | POLLWRNORM
        return mask


def open_fifo(inode, flags: int, path: bytes) -> FifoEnd:
    """open(2) of a FIFO (Linux's ``fifo_open``).

    O_RDONLY waits until a writer opens (unless O_NONBLOCK); O_WRONLY waits until a
    reader opens, or fails with ENXIO under O_NONBLOCK when there is none; O_RDWR never
    waits. The waiting end counts as open while it waits, so the other side's open
    does not wait too. On the fast path nothing is changed before MustBlock.
    """
    pipe = inode.pipe
    if pipe is None or (not pipe.readers and not pipe.writers):
        pipe = inode.pipe = Pipe()  # a FIFO with no open ends holds no data
    accmode = flags & O_ACCMODE
    nonblock = bool(flags & O_NONBLOCK)
    if accmode == O_RDWR:
        pipe.r_counter += 1
        pipe.w_counter += 1
        pipe.wake()
        return FifoEnd(inode, pipe, True, True, flags, path)
    reading = accmode == O_RDONLY
    if not reading and nonblock and not pipe.readers:
        raise LinuxError(ENXIO)
    other_open = pipe.writers if reading else pipe.readers
    if not other_open and not nonblock:
        thread = Task.current().data
        if thread.in_fast_path:
            raise MustBlock
        # Count this end as open while waiting, so the other side's open can complete.
        if reading:
            pipe.readers += 1
            pipe.r_counter += 1
            seen = pipe.w_counter
        else:
            pipe.writers += 1
            pipe.w_counter += 1
            seen = pipe.r_counter
        pipe.wake()
        try:
            pause_until(thread, lambda: (pipe.w_counter if reading else pipe.r_counter) != seen, pipe.queue)
        finally:
            # The descriptor table counts the end again when it installs the file.
            if reading:
                pipe.readers -= 1
            else:
                pipe.writers -= 1
    else:
        if reading:
            pipe.r_counter += 1
        else:
            pipe.w_counter += 1
        pipe.wake()
    return FifoEnd(inode, pipe, reading, not reading, flags, path)


def _room_for(pipe: Pipe, need: int):
    return lambda: PIPE_CAPACITY - len(pipe.buffer) >= need or not pipe.readers


def new_pipe(flags: int = 0) -> tuple[PipeEnd, PipeEnd]:
    pipe = Pipe()
    return PipeEnd(pipe, False, flags), PipeEnd(pipe, True, flags)
