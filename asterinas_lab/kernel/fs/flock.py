"""BSD whole-file locks: ``flock(2)`` (Linux's ``fs/locks.c``, FL_FLOCK).

Unlike fcntl's record locks (``record_lock.py``), a flock lock belongs to the *open
file* (what ``open`` created), not to the process: descriptors made by ``dup`` or
inherited through ``fork`` share it, a second ``open`` of the same file by the same
process conflicts with it, and it goes away when the last descriptor of that open
file is closed. The two kinds of lock do not see each other, as on Linux.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from ...ostd import WaitQueue
from ..error import EBADF, EINVAL, EWOULDBLOCK, LinuxError, MustBlock
from ..process.signal.pause import pause_until
from . import last_close

LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN = 1, 2, 4, 8


class InodeFlocks:
    """The flock locks on one inode.

    Invariant: either one open file holds LOCK_EX and no other holds anything, or every
    holder holds LOCK_SH.
    """

    def __init__(self) -> None:
        self.holders: dict[Any, int] = {}  # open file -> LOCK_SH or LOCK_EX
        self.queue = WaitQueue()

    def blocked(self, file: Any, mode: int) -> bool:
        return any(
            other is not file and (mode == LOCK_EX or held == LOCK_EX) for other, held in self.holders.items()
        )

    def unlock(self, file: Any) -> None:
        if self.holders.pop(file, None) is not None:
            self.queue.wake_all()


_inodes: WeakKeyDictionary[Any, InodeFlocks] = WeakKeyDictionary()


def _release(file: Any) -> None:
    """The last descriptor of ``file`` is gone: so is its lock."""
    locks = _inodes.get(file.inode)
    if locks is not None:
        locks.unlock(file)


def flock(thread: Any, file: Any, operation: int) -> int:
    inode = getattr(file, "inode", None)
    if inode is None or getattr(file, "is_path_only", False):
        raise LinuxError(EBADF)
    mode = operation & ~LOCK_NB
    if mode not in (LOCK_SH, LOCK_EX, LOCK_UN):
        raise LinuxError(EINVAL)
    locks = _inodes.get(inode)
    if mode == LOCK_UN:
        if locks is not None:
            locks.unlock(file)
        last_close.forget(file, "flock")
        return 0
    if locks is None:
        locks = _inodes[inode] = InodeFlocks()
    if locks.holders.get(file) == mode:
        return 0
    if locks.blocked(file, mode):
        if thread.in_fast_path and not operation & LOCK_NB:
            raise MustBlock  # nothing changed yet: sleep on the slow path
        # Converting a lock is not atomic, on Linux either: the old lock goes first,
        # even when LOCK_NB then fails, so two holders upgrading SH -> EX cannot
        # deadlock each other.
        locks.unlock(file)
        if operation & LOCK_NB:
            raise LinuxError(EWOULDBLOCK)
        pause_until(thread, lambda: not locks.blocked(file, mode), locks.queue)
    last_close.on_last_close(thread.kernel, file, "flock", _release)
    locks.holders[file] = mode
    return 0
