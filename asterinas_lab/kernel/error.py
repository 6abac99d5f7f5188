"""Linux error numbers for the safe kernel.

A syscall handler reports failure by raising :class:`LinuxError`; the dispatcher turns it
into the negative errno Linux returns in RAX. The numbers come from the host's
:mod:`errno` module, which on x86-64 Linux are exactly the kernel's values.
"""

from __future__ import annotations

import errno as _errno

EPERM = _errno.EPERM
ENOENT = _errno.ENOENT
ESRCH = _errno.ESRCH
EINTR = _errno.EINTR
EIO = _errno.EIO
ENXIO = _errno.ENXIO
E2BIG = _errno.E2BIG
ENOEXEC = _errno.ENOEXEC
EBADF = _errno.EBADF
ECHILD = _errno.ECHILD
EAGAIN = _errno.EAGAIN
ENOMEM = _errno.ENOMEM
EACCES = _errno.EACCES
EFAULT = _errno.EFAULT
EBUSY = _errno.EBUSY
EEXIST = _errno.EEXIST
EXDEV = _errno.EXDEV
ENODEV = _errno.ENODEV
ENOTDIR = _errno.ENOTDIR
EISDIR = _errno.EISDIR
EINVAL = _errno.EINVAL
ENFILE = _errno.ENFILE
EMFILE = _errno.EMFILE
ENOTTY = _errno.ENOTTY
EFBIG = _errno.EFBIG
ENOSPC = _errno.ENOSPC
ESPIPE = _errno.ESPIPE
EROFS = _errno.EROFS
EMLINK = _errno.EMLINK
EPIPE = _errno.EPIPE
ERANGE = _errno.ERANGE
ENAMETOOLONG = _errno.ENAMETOOLONG
ENOSYS = _errno.ENOSYS
ENOTEMPTY = _errno.ENOTEMPTY
ELOOP = _errno.ELOOP
ENODATA = _errno.ENODATA
EOVERFLOW = _errno.EOVERFLOW
EOPNOTSUPP = _errno.EOPNOTSUPP
ETIMEDOUT = _errno.ETIMEDOUT
EDEADLK = _errno.EDEADLK
EWOULDBLOCK = _errno.EWOULDBLOCK


class LinuxError(Exception):
    """A failed syscall: carries the positive errno that Linux would return negated."""

    __slots__ = ("errno",)

    def __init__(self, errno: int, message: str = "") -> None:
        super().__init__(message or _errno.errorcode.get(errno, str(errno)))
        self.errno = errno

    @property
    def name(self) -> str:
        return _errno.errorcode.get(self.errno, f"E{self.errno}")


class MustBlock(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a syscall served on the fast path (inside the CPU hook, where no task
    may sleep) when it finds it has to wait: the dispatcher hands the call to the slow
    path, which runs it again from the start in the thread's task. A handler raises it
    only before it has changed anything."""
