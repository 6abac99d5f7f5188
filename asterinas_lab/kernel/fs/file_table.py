"""The per-process file-descriptor table (Linux's ``files_struct``).

A file descriptor is a small integer naming an open file; the table maps it to the
open file and the descriptor's own flag, close-on-exec. Several descriptors (after
``dup``) and several processes (after ``fork``) may share one open file, and with it
the file position. Threads (CLONE_FILES) share the table itself.

Files that must know how many descriptors refer to them (pipe ends: "is any write end
still open?") define ``fd_acquire``/``fd_release``; the table calls them whenever a
descriptor starts or stops referring to the file.
"""

from __future__ import annotations

from typing import Any

from ..error import EBADF, EMFILE, LinuxError
from . import last_close
from .record_lock import release as release_record_locks

NOFILE_DEFAULT = 1024


def _acquire(file: Any) -> None:
    last_close.fd_acquired(file)
    hook = getattr(file, "fd_acquire", None)
    if hook is not None:
        hook()


def _release(table: FdTable, file: Any) -> None:
    # POSIX: closing any descriptor of a file drops all the process's locks on it.
    release_record_locks(table, file)
    last_close.fd_released(file)
    hook = getattr(file, "fd_release", None)
    if hook is not None:
        hook()


class FdTable:
    """Invariant: every file in the table has been acquired once per descriptor."""

    def __init__(self, limit: int = NOFILE_DEFAULT) -> None:
        self._files: dict[int, Any] = {}
        self._cloexec: set[int] = set()
        self.limit = limit
        self.users = 1  # processes sharing this table (CLONE_FILES)

    def get(self, fd: int) -> Any:
        try:
            return self._files[fd]
        except KeyError:
            raise LinuxError(EBADF) from None

    def install(self, file: Any, cloexec: bool = False, lowest: int = 0) -> int:
        """Put ``file`` at the lowest free descriptor >= ``lowest``."""
        fd = lowest
        while fd in self._files:
            fd += 1
        if fd >= self.limit:
            raise LinuxError(EMFILE)
        self.install_at(fd, file, cloexec)
        return fd

    def install_at(self, fd: int, file: Any, cloexec: bool = False) -> None:
        """Put ``file`` at ``fd``, closing what was there (dup2)."""
        if not 0 <= fd < self.limit:
            raise LinuxError(EBADF)
        _acquire(file)
        old = self._files.get(fd)
        self._files[fd] = file
        if old is not None:
            _release(self, old)
        if cloexec:
            self._cloexec.add(fd)
        else:
            self._cloexec.discard(fd)

    def close(self, fd: int) -> Any:
        file = self._files.pop(fd, None)
        if file is None:
            raise LinuxError(EBADF)
        self._cloexec.discard(fd)
        _release(self, file)
        return file

    def is_cloexec(self, fd: int) -> bool:
        self.get(fd)
        return fd in self._cloexec

    def set_cloexec(self, fd: int, value: bool) -> None:
        self.get(fd)
        if value:
            self._cloexec.add(fd)
        else:
            self._cloexec.discard(fd)

    def close_on_exec(self) -> None:
        for fd in sorted(self._cloexec):
            file = self._files.pop(fd, None)
            if file is not None:
                _release(self, file)
        self._cloexec.clear()

    def copy(self) -> FdTable:
        """fork: a new table naming the same open files."""
        table = FdTable(self.limit)
        for fd, file in self._files.items():
            table.install_at(fd, file, fd in self._cloexec)
        return table

    def share(self) -> FdTable:
        """clone(CLONE_FILES) without CLONE_THREAD: one more process uses this table."""
        self.users += 1
        return self

    def release(self) -> None:
        """A process using this table exited; the last one closes everything."""
        self.users -= 1
        if self.users <= 0:
            self.close_all()

    def close_all(self) -> None:
        files = list(self._files.values())
        self._files.clear()
        self._cloexec.clear()
        for file in files:
            _release(self, file)

    def items(self):
        return sorted(self._files.items())

    def __len__(self) -> int:
        return len(self._files)
