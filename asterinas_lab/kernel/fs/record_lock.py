"""POSIX record locks: ``fcntl(F_GETLK / F_SETLK / F_SETLKW)`` (Linux's ``fs/locks.c``).

A record lock covers a byte range of a file, ``[start, end)``, for reading (shared)
or for writing (exclusive). The locks are *advisory*: read and write ignore them, and
only processes that ask with fcntl see each other's. Linux's rules, kept here:

- The owner is the process (here: its file-descriptor table, which threads share and
  ``fork`` copies), so a child does not inherit its parent's locks, and a process never
  conflicts with itself: a new lock of its own replaces the overlapping parts of its
  old ones (splitting and merging ranges).
- Closing *any* descriptor of a file releases every lock the process holds on it, even
  one taken through another descriptor (the rule POSIX is famous for); so does exit.
- ``F_SETLKW`` sleeps until the range is free (a signal interrupts it), and fails with
  EDEADLK instead when the owner it waits for is itself waiting for us.

Open-file-description locks (``F_OFD_GETLK / F_OFD_SETLK / F_OFD_SETLKW``) are the
same locks with another owner: the open file, like flock(2). Descriptors made by
``dup`` or ``fork`` share them, a second ``open`` conflicts with them, they go away
with the file's last descriptor (``last_close.py``), and F_GETLK reports their pid as
-1. They conflict with process-owned locks as two owners would.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from ...ostd import WaitQueue
from ..error import EAGAIN, EBADF, EDEADLK, EINVAL, EOVERFLOW, LinuxError
from ..process.signal.pause import pause_until
from . import last_close

F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
OFFSET_MAX = (1 << 63) - 1

#: struct flock on x86-64: short l_type, short l_whence, (4 bytes padding),
#: off_t l_start, off_t l_len, pid_t l_pid, (4 bytes padding) = 32 bytes.
FLOCK = struct.Struct("<hh4xqqi4x")


@dataclass
class RecordLock:
    owner: Any  # the owning process's FdTable
    pid: int
    type: int  # F_RDLCK or F_WRLCK
    start: int
    end: int  # exclusive; OFFSET_MAX + 1 means "to the end of the file, however it grows"

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end

    def conflicts(self, owner: Any, type_: int, start: int, end: int) -> bool:
        return (
            self.owner is not owner
            and self.overlaps(start, end)
            and (self.type == F_WRLCK or type_ == F_WRLCK)
        )


class FileLocks:
    """The locks on one inode.

    Invariant: the locks of one owner never overlap each other (setting a lock first
    removes the owner's overlapping parts), and no two owners hold conflicting locks.
    """

    def __init__(self) -> None:
        self.locks: list[RecordLock] = []
        self.queue = WaitQueue()  # F_SETLKW sleepers; woken whenever a lock goes away

    def conflict(self, owner: Any, type_: int, start: int, end: int) -> RecordLock | None:
        for lock in self.locks:
            if lock.conflicts(owner, type_, start, end):
                return lock
        return None

    def set(self, owner: Any, pid: int, type_: int, start: int, end: int) -> None:
        """Give ``owner`` the range as ``type_`` (F_UNLCK: none), splitting its old locks."""
        kept: list[RecordLock] = []
        for lock in self.locks:
            if lock.owner is not owner or not lock.overlaps(start, end):
                kept.append(lock)
                continue
            if lock.start < start:
                kept.append(RecordLock(owner, lock.pid, lock.type, lock.start, start))
            if end < lock.end:
                kept.append(RecordLock(owner, lock.pid, lock.type, end, lock.end))
        if type_ != F_UNLCK:
            new = RecordLock(owner, pid, type_, start, end)
            # Merge with the owner's adjacent locks of the same type, as Linux does, so
            # F_GETLK reports one range rather than the history of how it was built.
            for lock in [lk for lk in kept if lk.owner is owner and lk.type == type_]:
                if lock.end == new.start or new.end == lock.start:
                    kept.remove(lock)
                    new.start, new.end = min(new.start, lock.start), max(new.end, lock.end)
            kept.append(new)
        self.locks = kept
        self.queue.wake_all()

    def release_owner(self, owner: Any) -> None:
        before = len(self.locks)
        self.locks = [lock for lock in self.locks if lock.owner is not owner]
        if len(self.locks) != before:
            self.queue.wake_all()


_locks: WeakKeyDictionary[Any, FileLocks] = WeakKeyDictionary()
#: Owners sleeping in F_SETLKW, and the owner each waits for (deadlock detection).
_waiting_for: dict[int, Any] = {}


def release(owner: Any, file: Any) -> None:
    """A descriptor of ``file`` was closed by ``owner``: drop all its locks on the inode."""
    if not _locks:
        return  # nobody has ever locked anything: closing stays free
    inode = getattr(file, "inode", None)
    locks = _locks.get(inode) if inode is not None else None
    if locks is not None:
        locks.release_owner(owner)


def _range(file: Any, whence: int, start: int, length: int) -> tuple[int, int]:
    """The byte range ``[start, end)`` a struct flock names, with Linux's errors."""
    if whence == SEEK_SET:
        base = 0
    elif whence == SEEK_CUR:
        base = file.pos
    elif whence == SEEK_END:
        base = file.inode.size
    else:
        raise LinuxError(EINVAL)
    start += base
    if length > 0:
        end = start + length  # l_len > 0: [start, start + len)
    elif length < 0:
        start, end = start + length, start  # l_len < 0: the bytes before start
    else:
        end = OFFSET_MAX + 1  # l_len == 0: to the end of the file, however far it grows
    if start < 0:
        raise LinuxError(EINVAL)
    if end > OFFSET_MAX + 1:
        raise LinuxError(EOVERFLOW)
    return start, end


def fcntl_lock(thread: Any, file: Any, cmd_is_get: bool, wait: bool, arg: int, ofd: bool = False) -> int:
    """Serve F_GETLK (``cmd_is_get``), F_SETLK, or F_SETLKW (``wait``) for ``file``;
    with ``ofd`` their F_OFD_* forms, whose owner is the open file."""
    process = thread.process
    request = FLOCK.unpack(process.read_bytes(arg, FLOCK.size))
    type_, whence, start, length, pid = request
    if type_ not in (F_RDLCK, F_WRLCK, F_UNLCK) or (ofd and pid != 0):
        raise LinuxError(EINVAL)
    inode = getattr(file, "inode", None)
    if inode is None or getattr(file, "is_path_only", False):
        raise LinuxError(EBADF if inode is not None else EINVAL)
    start, end = _range(file, whence, start, length)
    owner = file if ofd else process.files
    locks = _locks.get(inode)
    if cmd_is_get:
        if type_ == F_UNLCK:
            raise LinuxError(EINVAL)
        found = locks.conflict(owner, type_, start, end) if locks is not None else None
        if found is None:
            reply = FLOCK.pack(F_UNLCK, *request[1:])  # Linux changes only l_type
        else:
            found_len = 0 if found.end == OFFSET_MAX + 1 else found.end - found.start
            reply = FLOCK.pack(found.type, SEEK_SET, found.start, found_len, found.pid)
        process.write_bytes(arg, reply)
        return 0
    if (type_ == F_RDLCK and not file.readable) or (type_ == F_WRLCK and not file.writable):
        raise LinuxError(EBADF)
    if locks is None:
        if type_ == F_UNLCK:
            return 0
        locks = _locks[inode] = FileLocks()
    if type_ != F_UNLCK:
        blocker = locks.conflict(owner, type_, start, end)
        if blocker is not None:
            if not wait:
                raise LinuxError(EAGAIN)
            # Deadlock: the owner we would wait for is (transitively) waiting for us.
            # (Linux looks for it among process-owned locks only.)
            seen, other = set(), None if ofd else blocker.owner
            while other is not None and id(other) not in seen:
                if other is owner:
                    raise LinuxError(EDEADLK)
                seen.add(id(other))
                other = _waiting_for.get(id(other))
            _waiting_for[id(owner)] = blocker.owner
            try:
                pause_until(thread, lambda: locks.conflict(owner, type_, start, end) is None, locks.queue)
            finally:
                _waiting_for.pop(id(owner), None)
    locks.set(owner, -1 if ofd else process.pid, type_, start, end)
    if ofd and type_ != F_UNLCK:
        last_close.on_last_close(thread.kernel, file, "ofd", lambda _file: locks.release_owner(file))
    return 0
