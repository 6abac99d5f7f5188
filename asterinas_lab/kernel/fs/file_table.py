"""The per-process file-descriptor table (Linux's ``files_struct``).

A file descriptor is a small integer naming an open file; the table maps it to the
open file and the descriptor's own flag, close-on-exec. Several descriptors (after
``dup``) and several processes (after ``fork``) may share one open file, and with it
the file position.
"""

from __future__ import annotations

from typing import Any

from ..error import EBADF, EMFILE, LinuxError

NOFILE_DEFAULT = 1024


class FdTable:
    def __init__(
        self, limit: int = NOFILE_DEFAULT, files: dict[int, Any] | None = None, cloexec: set[int] | None = None
    ) -> None:
        self._files: dict[int, Any] = dict(files or {})
        self._cloexec: set[int] = set(cloexec or ())
        self.limit = limit

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
        if not 0 <= fd < self.limit:
            raise LinuxError(EBADF)
        self._files[fd] = file
        if cloexec:
            self._cloexec.add(fd)
        else:
            self._cloexec.discard(fd)

    def close(self, fd: int) -> Any:
        file = self._files.pop(fd, None)
        if file is None:
            raise LinuxError(EBADF)
        self._cloexec.discard(fd)
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
        for fd in list(self._cloexec):
            self._files.pop(fd, None)
        self._cloexec.clear()

    def copy(self) -> FdTable:
        return FdTable(self.limit, self._files, self._cloexec)

    def close_all(self) -> None:
        self._files.clear()
        self._cloexec.clear()

    def items(self):
        return sorted(self._files.items())
