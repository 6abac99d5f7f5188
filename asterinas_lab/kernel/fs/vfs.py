"""The virtual file system: path names, open files and the file-related syscall logic.

Layers, from the user program down:

* The syscall layer (elsewhere) copies path strings and buffers between user memory and
  Python ``bytes`` and keeps each process's file-descriptor table.
* :class:`Vfs` turns a path like ``b"../etc/passwd"`` into an :class:`Inode` (path
  resolution, Linux's ``namei.c``) and implements open/mkdir/unlink/rename/... on top of
  the file system's directory operations.
* :class:`OpenFile` is an *open file description* (Linux: ``struct file``): the inode
  plus the state that belongs to one ``open()`` call -- the position and the flags. Two
  fds made by ``dup()`` share one ``OpenFile`` and therefore one position; two separate
  ``open()`` calls do not.
* The file system (``ramfs.py``) stores inodes.

Permissions follow Linux's ``generic_permission``: the owner, group or other bits of
the mode against the caller's fsuid, fsgid and supplementary groups; search (x) on
every directory a path goes through; write and search on a directory to add or remove
a name, with the sticky-bit rule of /tmp. Root (fsuid 0: CAP_DAC_OVERRIDE) passes them
all but one: executing a file needs at least one execute bit. The caller, and its
root directory (chroot), come from the running task (:meth:`Vfs.caller`).

Mounts: :class:`Mount` records (the mount table, which /proc/mounts prints) plus two
dictionaries the path walk consults, mountpoint -> mounted root and back. A lookup
that reaches a covered directory continues in the topmost file system mounted on it;
".." at a mount's root first steps back to the covered directory; "/" and ".." never
leave the caller's root. A read-only or noexec mount marks its file system, which is
where inode-level checks (EROFS, exec's EACCES) find it. Bind mounts are not supported:
each file system is mounted at most once, so an inode belongs to exactly one mount.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from asterinas_lab.kernel.error import (
    EACCES,
    EAGAIN,
    EBADF,
    EBUSY,
    EEXIST,
    EFBIG,
    EINVAL,
    EISDIR,
    ELOOP,
    ENAMETOOLONG,
    ENODEV,
    ENOENT,
    ENOSPC,
    ENOTDIR,
    ENOTEMPTY,
    ENOTTY,
    ENXIO,
    EOPNOTSUPP,
    EPERM,
    EROFS,
    EXDEV,
    LinuxError,
)
from asterinas_lab.kernel.fs.ramfs import DIR_OFFSET_EOD, Inode, RamFs
from asterinas_lab.kernel.fs.stat import (
    S_IFBLK,
    S_IFCHR,
    S_IFDIR,
    S_IFIFO,
    S_IFLNK,
    S_IFREG,
    S_IFSOCK,
    S_ISGID,
    S_ISUID,
    S_ISVTX,
    STATX_BASIC_STATS,
    pack_stat,
    pack_statx,
)
from asterinas_lab.ostd import Task

# Open flags. The host is x86-64 Linux, so its values are the kernel ABI values.
O_ACCMODE = 0o3
#: The largest regular file: ramfs keeps file bytes in host memory, holes included, so
#: a write far past the end would cost host RAM (Linux's tmpfs keeps holes sparse).
#: Beyond this, writes and truncates fail with EFBIG.
MAX_FILE_BYTES = 256 << 20
#: The most a character device (zero, urandom, ...) returns from one read.
DEVICE_READ_MAX = 16 << 20
O_RDONLY = os.O_RDONLY
O_WRONLY = os.O_WRONLY
O_RDWR = os.O_RDWR
O_CREAT = os.O_CREAT
O_EXCL = os.O_EXCL
O_NOCTTY = os.O_NOCTTY
O_TRUNC = os.O_TRUNC
O_APPEND = os.O_APPEND
O_NONBLOCK = os.O_NONBLOCK
O_DSYNC = os.O_DSYNC
O_DIRECTORY = os.O_DIRECTORY
O_NOFOLLOW = os.O_NOFOLLOW
O_NOATIME = os.O_NOATIME
O_CLOEXEC = os.O_CLOEXEC
O_PATH = os.O_PATH
O_LARGEFILE = 0o100000  # implied on 64-bit; glibc passes it on some calls, we ignore it
#: Flags fcntl(F_SETFL) may change on an open file; the rest are fixed at open().
SETFL_MASK = O_APPEND | O_NONBLOCK | O_NOATIME | os.O_ASYNC | os.O_DIRECT

SEEK_SET = os.SEEK_SET
SEEK_CUR = os.SEEK_CUR
SEEK_END = os.SEEK_END

# *at() syscall flags, for the syscall layer's convenience.
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_EMPTY_PATH = 0x1000

# access() mode bits.
F_OK = 0
X_OK = 1
W_OK = 2
R_OK = 4

#: Longest path (including its NUL) and longest single name, as in Linux.
PATH_MAX = 4096
NAME_MAX = 255
#: How many symlinks one lookup may follow before giving up with ELOOP (MAXSYMLINKS).
MAX_SYMLINKS = 40

# d_type values of struct linux_dirent64.
DT_UNKNOWN = 0
DT_FIFO = 1
DT_CHR = 2
DT_DIR = 4
DT_BLK = 6
DT_REG = 8
DT_LNK = 10
DT_SOCK = 12
_DT_OF_TYPE = {
    S_IFIFO: DT_FIFO,
    S_IFCHR: DT_CHR,
    S_IFDIR: DT_DIR,
    S_IFBLK: DT_BLK,
    S_IFREG: DT_REG,
    S_IFLNK: DT_LNK,
    S_IFSOCK: DT_SOCK,
}

#: struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
DIRENT64_HEADER = struct.Struct("<QqHB")  # 19 bytes, name follows at offset 19

PathLike = bytes | str


def _as_bytes(path: PathLike) -> bytes:
    """Paths are bytes in Linux (any byte but NUL and '/' is allowed in a name)."""
    return os.fsencode(path) if isinstance(path, str) else bytes(path)


def dirent64_reclen(name: bytes) -> int:
    """Size of one linux_dirent64 record: header + name + NUL, rounded up to 8 bytes."""
    return (DIRENT64_HEADER.size + len(name) + 1 + 7) & ~7


def pack_dirent64(ino: int, off: int, d_type: int, name: bytes) -> bytes:
    """Encode one ``struct linux_dirent64``, zero-padding after the name's NUL."""
    reclen = dirent64_reclen(name)
    record = DIRENT64_HEADER.pack(ino, off, reclen, d_type) + name + b"\0"
    return record + bytes(reclen - len(record))


def d_type_of(inode: Inode) -> int:
    """The d_type readdir reports, so ``ls`` need not stat() every entry."""
    return _DT_OF_TYPE.get(inode.file_type, DT_UNKNOWN)


def set_mode(inode: Inode, mode: int) -> None:
    """chmod on an inode: change the permission bits, keep the type bits."""
    inode.mode = (inode.mode & ~0o7777) | (mode & 0o7777)
    inode.touch(ctime=True)


def set_owner(inode: Inode, uid: int, gid: int) -> None:
    """chown on an inode; -1 (0xffffffff) leaves that id unchanged.

    Like Linux's ``chown_common``, a chown of a non-directory drops the set-user-ID bit,
    and the set-group-ID bit when it means "setgid" (group execute is set).
    """
    if uid not in (-1, 0xFFFFFFFF):
        inode.uid = uid
    if gid not in (-1, 0xFFFFFFFF):
        inode.gid = gid
    if not inode.is_dir:
        drop = S_ISUID | (S_ISGID if inode.mode & 0o010 else 0)
        inode.mode &= ~drop
    inode.touch(ctime=True)


def set_times(inode: Inode, atime_ns: int | None, mtime_ns: int | None) -> None:
    """utimensat on an inode; ``None`` leaves that time alone (UTIME_OMIT)."""
    if atime_ns is not None:
        inode.atime_ns = atime_ns
    if mtime_ns is not None:
        inode.mtime_ns = mtime_ns
    inode.touch(ctime=True)


class OpenFile:
    """An open file description (Linux ``struct file``): inode + position + flags.

    ``flags`` keeps every flag given to ``open()``; ``O_CLOEXEC`` is included only for
    information -- close-on-exec is a property of the *file descriptor*, so the fd table
    must store it separately (``dup()`` clears it on the new fd).
    """

    def __init__(self, inode: Inode, flags: int, path: bytes = b"") -> None:
        self.inode = inode
        self.flags = flags
        self.pos = 0
        #: The name it was opened by, for /proc/self/fd and debugging messages.
        self.path = path

    def __repr__(self) -> str:
        return f"<OpenFile {self.path!r} flags={self.flags:#o} pos={self.pos}>"

    # ----- access mode -----

    @property
    def is_path_only(self) -> bool:
        """O_PATH files only name a location; read, write, getdents all fail with EBADF."""
        return bool(self.flags & O_PATH)

    @property
    def readable(self) -> bool:
        return not self.is_path_only and self.flags & O_ACCMODE in (O_RDONLY, O_RDWR)

    @property
    def writable(self) -> bool:
        return not self.is_path_only and self.flags & O_ACCMODE in (O_WRONLY, O_RDWR)

    def set_status_flags(self, flags: int) -> None:
        """fcntl(F_SETFL): only O_APPEND, O_NONBLOCK and a few others may change."""
        self.flags = (self.flags & ~SETFL_MASK) | (flags & SETFL_MASK)

    # ----- data -----

    def _check_readable(self) -> None:
        if not self.readable:
            raise LinuxError(EBADF)
        if self.inode.is_dir:
            raise LinuxError(EISDIR)

    def _check_writable(self) -> None:
        if not self.writable:
            raise LinuxError(EBADF)

    def _read_at(self, count: int, offset: int) -> bytes:
        inode = self.inode
        if inode.device is not None:
            # A character device may return less than asked: the kernel never makes
            # more than DEVICE_READ_MAX bytes (of zeros, of randomness) in one call.
            return inode.device.read(min(count, DEVICE_READ_MAX), offset)
        if inode.data is None:
            raise LinuxError(EINVAL)  # FIFOs/sockets from an archive have no driver yet
        if inode.page_cache is not None:
            inode.page_cache.sync_to_file()  # shared mappings may have written to it
        return bytes(inode.data[offset : offset + count])

    def _write_at(self, data: bytes, offset: int) -> int:
        inode = self.inode
        if inode.device is not None:
            return inode.device.write(data, offset)
        if inode.data is None:
            raise LinuxError(EINVAL)
        if not data:
            return 0
        end = offset + len(data)
        if end > MAX_FILE_BYTES:
            raise LinuxError(EFBIG)
        if end > len(inode.data):
            # A size-limited tmpfs stores what fits and reports a short write.
            end = inode.fs.check_space(len(inode.data), end)
            if end <= offset:
                raise LinuxError(ENOSPC)
            data = data[: end - offset]
        if offset > len(inode.data):
            # Writing past the end leaves a "hole" that reads back as zeros.
            inode.data.extend(bytes(offset - len(inode.data)))
        if inode.page_cache is not None:
            inode.page_cache.sync_to_file()
        inode.data[offset:end] = data
        if inode.page_cache is not None:
            inode.page_cache.refresh_from_file(offset, end)
        inode.touch(mtime=True, ctime=True)
        return len(data)

    def read(self, count: int) -> bytes:
        """read(2): bytes from the current position, which then advances."""
        self._check_readable()
        if count < 0:
            raise LinuxError(EINVAL)
        data = self._read_at(count, self.pos)
        if self.inode.device is None:
            self.pos += len(data)
        return data

    def write(self, data: bytes) -> int:
        """write(2). With O_APPEND the position jumps to the end *before each write*.

        That atomic "seek to end + write" is why several processes can append to one
        log file without overwriting each other.
        """
        self._check_writable()
        if self.inode.device is None and self.flags & O_APPEND:
            self.pos = self.inode.size
        written = self._write_at(bytes(data), self.pos)
        if self.inode.device is None:
            self.pos += written
        return written

    def pread(self, count: int, offset: int) -> bytes:
        """pread64(2): read at *offset* without using or moving the file position."""
        self._check_readable()
        if offset < 0 or count < 0:
            raise LinuxError(EINVAL)
        return self._read_at(count, offset)

    def pwrite(self, data: bytes, offset: int) -> int:
        """pwrite64(2). Linux quirk kept on purpose: with O_APPEND it still appends.

        (See the BUGS section of pwrite(2): the offset is ignored for O_APPEND files.)
        """
        self._check_writable()
        if offset < 0:
            raise LinuxError(EINVAL)
        if self.inode.device is None and self.flags & O_APPEND:
            offset = self.inode.size
        return self._write_at(bytes(data), offset)

    def lseek(self, offset: int, whence: int) -> int:
        """lseek(2). Seeking past the end is allowed (a later write makes a hole).

        For directories the position is an index into the entry list (0 = "."), so
        ``lseek(fd, 0, SEEK_SET)`` rewinds a directory like ``rewinddir()`` does;
        SEEK_END makes no sense there and fails with EINVAL, as on tmpfs.
        """
        if self.is_path_only:
            raise LinuxError(EBADF)
        inode = self.inode
        if inode.device is not None:
            self.pos = inode.device.lseek(offset, whence, self.pos)
            return self.pos
        if whence == SEEK_SET:
            new = offset
        elif whence == SEEK_CUR:
            new = self.pos + offset
        elif whence == SEEK_END and not inode.is_dir:
            new = inode.size + offset
        else:
            raise LinuxError(EINVAL)
        if new < 0:
            raise LinuxError(EINVAL)
        self.pos = new
        return new

    def truncate(self, length: int) -> None:
        """ftruncate(2): needs a writable regular file."""
        if length < 0 or not self.writable or not self.inode.is_reg:
            raise LinuxError(EINVAL)
        if length > MAX_FILE_BYTES:
            raise LinuxError(EFBIG)
        self.inode.truncate(length)

    def fallocate(self, mode: int, offset: int, length: int) -> None:
        """fallocate(2): mode 0 makes sure [offset, offset+length) is allocated, growing
        the file with zeros; other modes (KEEP_SIZE, PUNCH_HOLE, ...) are EOPNOTSUPP."""
        if offset < 0 or length <= 0:
            raise LinuxError(EINVAL)
        if not self.writable:
            raise LinuxError(EBADF)
        inode = self.inode
        if inode.is_dir:
            raise LinuxError(EISDIR)
        if not inode.is_reg or inode.data is None:
            raise LinuxError(ENODEV)
        if mode:
            raise LinuxError(EOPNOTSUPP)
        end = offset + length
        if end > MAX_FILE_BYTES:
            raise LinuxError(EFBIG)
        if end > len(inode.data):
            inode.fs.check_space(len(inode.data), end, partial=False)
            inode.truncate(end)

    # ----- directories -----

    def _dir_records(self, pos: int):
        """(name, inode, position after it) for the entries from *pos* on.

        Positions are Linux tmpfs's: 0 is ".", 1 is "..", then each entry's stable
        offset, newest (highest) first; a position p resumes at the first entry whose
        offset is at most p, and DIR_OFFSET_EOD means the end was reached.
        """
        inode = self.inode
        listing = inode.listing()
        first = listing[0][0] if listing else DIR_OFFSET_EOD
        if pos <= 0:
            yield b".", inode, 1
        if pos <= 1:
            yield b"..", inode.parent or inode, first
            pos = first
        if pos == DIR_OFFSET_EOD:
            return
        for i, (offset, name, child) in enumerate(listing):
            if offset <= pos:
                yield name, child, listing[i + 1][0] if i + 1 < len(listing) else DIR_OFFSET_EOD

    def getdents64(self, bufsize: int) -> bytes:
        """getdents64(2): as many ``linux_dirent64`` records as fit in *bufsize* bytes.

        Each record's ``d_off`` is the position *after* it (the cookie
        ``telldir``/``seekdir`` use), and the file position becomes the d_off of the last
        record returned. An empty result means end of directory; a buffer too small for
        even the next record is EINVAL.
        """
        if self.is_path_only:
            raise LinuxError(EBADF)
        if not self.inode.is_dir:
            raise LinuxError(ENOTDIR)
        out = bytearray()
        pos = self.pos
        for name, child, after in self._dir_records(pos):
            if len(out) + dirent64_reclen(name) > bufsize:
                if not out:
                    raise LinuxError(EINVAL)
                break
            out += pack_dirent64(child.ino, after, d_type_of(child), name)
            pos = after
        self.pos = pos
        return bytes(out)

    # ----- metadata -----

    def stat(self) -> bytes:
        """fstat(2) / newfstatat(fd, "", AT_EMPTY_PATH): a packed struct stat."""
        return pack_stat(self.inode.getattr())

    def statx(self, mask: int = STATX_BASIC_STATS) -> bytes:
        """statx(fd, "", AT_EMPTY_PATH, mask): a packed struct statx."""
        return pack_statx(self.inode.getattr(), mask)

    def ioctl(self, cmd: int, arg: int) -> int:
        """ioctl(2): only devices implement any; regular files say ENOTTY."""
        if self.is_path_only:
            raise LinuxError(EBADF)
        if self.inode.device is not None:
            return self.inode.device.ioctl(cmd, arg)
        raise LinuxError(ENOTTY)


# ----- permissions (Linux's fs/namei.c generic_permission) ------------------------------

#: Access being asked for, as Linux's MAY_* bits (the same values as X_OK/W_OK/R_OK).
MAY_EXEC = 1
MAY_WRITE = 2
MAY_READ = 4

# mount(2) flags.
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25
MS_NOUSER = 1 << 31
MS_PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE
#: Old programs put this magic number in the top 16 bits of the flags; it means nothing.
MS_MGC_MSK = 0xFFFF_0000
MS_MGC_VAL = 0xC0ED_0000
#: The flags a mount keeps (shown in /proc/mounts).
_MOUNT_FLAG_NAMES = (
    (MS_NOSUID, b"nosuid"),
    (MS_NODEV, b"nodev"),
    (MS_NOEXEC, b"noexec"),
    (MS_SYNCHRONOUS, b"sync"),
    (MS_DIRSYNC, b"dirsync"),
    (MS_NOATIME, b"noatime"),
    (MS_NODIRATIME, b"nodiratime"),
    (MS_NOSYMFOLLOW, b"nosymfollow"),
)
_KEPT_FLAGS = MS_RDONLY | MS_NOATIME | MS_STRICTATIME | MS_LAZYTIME
_KEPT_FLAGS |= sum(bit for bit, _ in _MOUNT_FLAG_NAMES)
# umount2(2) flags.
MNT_FORCE = 1
MNT_DETACH = 2
MNT_EXPIRE = 4
UMOUNT_NOFOLLOW = 8


class Ids:
    """The identity a permission check uses: a file-system user and group id and the
    supplementary groups. A process's credentials have these fields too; access(2)
    builds one from the *real* ids instead, to ask "could the invoking user do this?".
    """

    __slots__ = ("fsuid", "fsgid", "groups", "euid")

    def __init__(self, fsuid: int, fsgid: int, groups: list[int] | tuple[int, ...] = (), euid: int | None = None):
        self.fsuid = fsuid
        self.fsgid = fsgid
        self.groups = list(groups)
        self.euid = fsuid if euid is None else euid


def fs_capable(cred: Any) -> bool:
    """CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN: Linux drops these file-system
    capabilities when the fsuid stops being 0, so "fsuid is 0" stands for them.
    ``None`` is the kernel itself (no process), which may do anything."""
    return cred is None or cred.fsuid == 0


def admin_capable(cred: Any) -> bool:
    """CAP_SYS_ADMIN (mount), CAP_SYS_CHROOT: they follow the effective uid."""
    return cred is None or cred.euid == 0


def in_group(cred: Any, gid: int) -> bool:
    """Linux's ``in_group_p``: the fsgid or one of the supplementary groups."""
    return cred.fsgid == gid or gid in cred.groups


def may(inode: Inode, mask: int, cred: Any) -> bool:
    """Whether *cred* may access *inode* for *mask* (MAY_READ|MAY_WRITE|MAY_EXEC).

    Exactly one class of bits applies: the owner's if the fsuid owns the file (even
    when the group or other bits would allow more), else the group's if the caller is
    in the file's group, else the others'. A privileged caller passes every check
    except executing a non-directory that has no execute bit for anyone.
    """
    mode = inode.mode
    if cred is None or cred.fsuid == 0:
        return not mask & MAY_EXEC or bool(mode & 0o111) or inode.is_dir
    if cred.fsuid == inode.uid:
        mode >>= 6
    elif cred.fsgid == inode.gid or inode.gid in cred.groups:
        mode >>= 3
    return not mask & ~mode & 7


def _escape_mount_path(path: bytes) -> bytes:
    """/proc/mounts escapes space, tab, newline and backslash as octal (``\\040``)."""
    for ch in b"\\ \t\n":
        path = path.replace(bytes([ch]), b"\\%03o" % ch)
    return path


@dataclass
class Mount:
    """One entry of the mount table: a file system shown at a directory.

    *mountpoint* is the directory it covers (``None`` for the root file system); *flags*
    are the MS_* flags the mount keeps; *options* the file-system options /proc/mounts
    shows after them (``size=1024k``, ``mode=755``).
    """

    fs: RamFs
    source: bytes
    fstype: bytes
    flags: int = 0
    options: list[bytes] = field(default_factory=list)
    mountpoint: Inode | None = None

    @property
    def root(self) -> Inode:
        return self.fs.root

    def option_text(self) -> bytes:
        """The fourth field of /proc/mounts, in Linux's order (ro/rw, mount flags,
        the atime policy, then the file system's own options)."""
        words = [b"ro" if self.flags & MS_RDONLY else b"rw"]
        words += [name for bit, name in _MOUNT_FLAG_NAMES if self.flags & bit]
        if not self.flags & (MS_NOATIME | MS_STRICTATIME):
            words.append(b"relatime")
        return b",".join(words + self.options)

    def set_flags(self, flags: int) -> None:
        """Keep the per-mount MS_* flags (a new mount or MS_REMOUNT replaces them all)
        and copy ro/noexec to the file system, where inode-level checks find them."""
        self.flags = flags & _KEPT_FLAGS
        self.fs.mount_flags = self.flags  # statfs(2) reports them as f_flags
        self.fs.readonly = bool(flags & MS_RDONLY)
        self.fs.noexec = bool(flags & MS_NOEXEC)


class Vfs:
    """Path resolution and path-based file operations over a tree of mounted RamFs.

    There is one root file system; :meth:`mount` lets another file system cover a
    directory. Every *cwd* argument is the directory a relative path starts from: the
    process's working directory, or for ``openat(dirfd, ...)`` the directory *dirfd*
    refers to. ``None`` means the caller's root.

    Who is asking. Like Linux's VFS, which reads ``current``, every operation takes the
    caller's credentials and root directory (chroot) from the task running now
    (:meth:`caller`): the process of the thread being served. Without one (at boot, in
    unit tests) the caller is the kernel: uid 0 at the real root. :meth:`acting_as`
    sets an explicit caller, for tests and for access(2)'s real-id checks.

    Permission checks cost nothing for root (fsuid 0): the per-directory search check
    of a path walk is skipped, as CAP_DAC_OVERRIDE would pass it anyway.
    """

    def __init__(self, root_fs: RamFs) -> None:
        self.root_fs = root_fs
        self.root = root_fs.root
        #: mountpoint directory -> root inode of the file system mounted on it.
        self._mounts: dict[Inode, Inode] = {}
        #: mounted root -> the mountpoint it covers, to walk ".." back out of a mount.
        self._mounted_on: dict[Inode, Inode] = {}
        #: The mount table in mounting order (what /proc/mounts lists); the root first.
        self.mount_table: list[Mount] = [Mount(root_fs, b"none", root_fs.fs_type)]
        self._override: tuple[Any, Inode] | None = None

    # ----- the caller -----

    def caller(self) -> tuple[Any, Inode]:
        """(credentials or None for the kernel, root directory) of whoever asks now."""
        if self._override is not None:
            return self._override
        task = Task.current()
        if task is not None:
            process = getattr(task.data, "process", None)
            if process is not None:
                return process.cred, process.fs.root
        return None, self.root

    @contextmanager
    def acting_as(self, cred: Any, root: Inode | None = None) -> Iterator[None]:
        """Run the enclosed operations as *cred* (``None``: the kernel) inside *root*."""
        saved = self._override
        self._override = (cred, root if root is not None else self.caller()[1])
        try:
            yield
        finally:
            self._override = saved

    def permission(self, inode: Inode, mask: int, cred: Any = None) -> None:
        """Linux's ``inode_permission``: EROFS for writing a file, directory or symlink of
        a read-only mount, then the mode bits (:func:`may`): EACCES."""
        if mask & MAY_WRITE and inode.fs.readonly and (inode.is_reg or inode.is_dir or inode.is_symlink):
            raise LinuxError(EROFS)
        if not may(inode, mask, cred):
            raise LinuxError(EACCES)

    def check_exec(self, inode: Inode) -> None:
        """execve's checks on the program file: a regular file, on a mount without
        noexec, with execute permission (root too needs some execute bit)."""
        cred, _ = self.caller()
        if not inode.is_reg or inode.fs.noexec or not may(inode, MAY_EXEC, cred):
            raise LinuxError(EACCES)

    @staticmethod
    def _check_writable_fs(inode: Inode) -> None:
        """``mnt_want_write``: changing anything on a read-only mount is EROFS."""
        if inode.fs.readonly:
            raise LinuxError(EROFS)

    # ----- mounts -----

    def mount(
        self,
        fs: RamFs,
        path: PathLike,
        cwd: Inode | None = None,
        source: bytes | None = None,
        flags: int | None = None,
        options: list[bytes] | None = None,
    ) -> Mount:
        """Make *fs* appear at directory *path* (hiding what was there).

        Mounting on a directory that already is a mount's root stacks the new mount on
        top, as Linux does; the old one reappears after umount.
        """
        target = self.lookup_dir(path, cwd)
        return self._attach(fs, target, source, flags, options)

    def _attach(self, fs: RamFs, target: Inode, source: bytes | None, flags: int | None,
                options: list[bytes] | None) -> Mount:  # fmt: skip
        if target in self._mounts:
            raise LinuxError(EBUSY)  # cannot happen: lookups end on the top mount
        fstype = fs.fs_type
        if source is None:
            source = b"proc" if fstype == b"proc" else b"none"
        if flags is None:
            flags = MS_NOSUID | MS_NODEV | MS_NOEXEC if fstype == b"proc" else 0
        mount = Mount(fs, source, fstype, 0, list(options or ()), target)
        mount.set_flags(flags)
        self._mounts[target] = fs.root
        self._mounted_on[fs.root] = target
        self.mount_table.append(mount)
        return mount

    def _mount_at(self, inode: Inode) -> Mount | None:
        """The mount whose root is *inode* (None if *inode* is no mount's root)."""
        for mount in self.mount_table:
            if mount.fs.root is inode:
                return mount
        return None

    def mount_syscall(
        self,
        source: bytes | None,
        target_path: bytes,
        fstype: bytes | None,
        flags: int,
        data: bytes | None,
        cwd: Inode | None,
        make_fs: Callable[[bytes, bytes, Mount | None], tuple[RamFs, list[bytes]]],
        writing: Callable[[RamFs], bool] = lambda fs: False,
    ) -> None:
        """mount(2): the checks in Linux's order, then a new mount or a remount.

        *make_fs(fstype, data, old)* makes a file system of that type from the option
        string (or, with *old*, applies the options to that mount for a remount) and
        returns it with the options /proc/mounts should show; it raises ENODEV for an
        unknown type and EINVAL for a bad option. The VFS owns no file-system types.
        *writing(fs)* says whether a file of *fs* is open for writing: remounting it
        read-only is then EBUSY, as in Linux.
        """
        cred, _ = self.caller()
        target = self.lookup(target_path, cwd)
        if flags & MS_MGC_MSK == MS_MGC_VAL:
            flags &= ~MS_MGC_MSK
        flags &= 0xFFFF_FFFF
        if flags & MS_NOUSER:
            raise LinuxError(EINVAL)
        if not admin_capable(cred):
            raise LinuxError(EPERM)
        if flags & MS_REMOUNT:
            mount = self._mount_at(target)
            if mount is None:
                raise LinuxError(EINVAL)
            if flags & MS_RDONLY and not mount.flags & MS_RDONLY and writing(mount.fs):
                raise LinuxError(EBUSY)
            if not flags & MS_BIND:
                _, mount.options = make_fs(mount.fstype, data or b"", mount)
            mount.set_flags(flags)
            return
        if flags & MS_BIND or flags & MS_MOVE:
            raise LinuxError(EINVAL)  # bind and move mounts are not supported here
        if flags & MS_PROPAGATION:
            if self._mount_at(target) is None:
                raise LinuxError(EINVAL)
            return  # one mount namespace, no propagation: nothing to change
        if fstype is None:
            raise LinuxError(EINVAL)
        fs, shown = make_fs(fstype, data or b"", None)
        if not target.is_dir:
            raise LinuxError(ENOTDIR)
        self._attach(fs, target, source if source is not None else b"none", flags, shown)

    def umount(self, path: bytes, flags: int, cwd: Inode | None, busy: Callable[[RamFs], bool]) -> None:
        """umount2(2). *busy(fs)* says whether a process still uses *fs* (a working
        directory, a root or an open file in it): EBUSY, unless MNT_DETACH, which takes
        the mount (and the mounts below it) out of the tree at once."""
        if flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW):
            raise LinuxError(EINVAL)
        if flags & MNT_EXPIRE and flags & (MNT_FORCE | MNT_DETACH):
            raise LinuxError(EINVAL)
        cred, root = self.caller()
        inode = self.lookup(path, cwd, follow=not flags & UMOUNT_NOFOLLOW)
        if not admin_capable(cred):
            raise LinuxError(EPERM)
        mount = self._mount_at(inode)
        if mount is None or mount.mountpoint is None:
            raise LinuxError(EINVAL)
        if flags & MNT_EXPIRE:
            raise LinuxError(EAGAIN)  # first call only marks the mount for expiry
        below = [m for m in self.mount_table if m.mountpoint is not None and m.mountpoint.fs is mount.fs]
        if not flags & MNT_DETACH and (below or busy(mount.fs) or root.fs is mount.fs):
            raise LinuxError(EBUSY)
        for sub in below:
            if sub in self.mount_table:
                self._detach(sub)
        self._detach(mount)

    def _detach(self, mount: Mount) -> None:
        for sub in [m for m in self.mount_table if m.mountpoint is not None and m.mountpoint.fs is mount.fs]:
            self._detach(sub)
        assert mount.mountpoint is not None
        self._mounts.pop(mount.mountpoint, None)
        self._mounted_on.pop(mount.fs.root, None)
        self.mount_table.remove(mount)

    def mounts_text(self) -> bytes:
        """/proc/mounts: the mounts the caller can see from its root, with paths
        relative to it (Linux skips mounts outside a chroot)."""
        _, root = self.caller()
        lines = []
        for mount in self.mount_table:
            where = mount.fs.root
            path = self._path_under(where, root)
            if path is None:
                continue
            lines.append(b"%s %s %s %s 0 0\n" % (mount.source, _escape_mount_path(path), mount.fstype,
                                               mount.option_text()))  # fmt: skip
        return b"".join(lines)

    # ----- path resolution -----

    def _parent_of(self, inode: Inode, root: Inode | None = None) -> Inode:
        """The ".." of *inode*, stepping out of mounted file systems; ".." of the
        caller's root (its chroot, or "/") is the root itself."""
        if root is None:
            root = self.root
        while inode is not root and inode in self._mounted_on:
            inode = self._mounted_on[inode]  # root of a mount: go to the covered dir
        if inode is root or inode is self.root:
            return inode
        return inode.lookup(b"..")

    def _cross_mounts(self, inode: Inode) -> Inode:
        while inode in self._mounts:
            inode = self._mounts[inode]
        return inode

    def _walk(self, path: bytes, start: Inode, follow_last: bool, budget: list[int], cred: Any = None,
              root: Inode | None = None) -> Inode:  # fmt: skip
        """Resolve *path* from *start* one component at a time (``link_path_walk``).

        *budget* is a one-element list holding how many symlinks may still be followed;
        it is shared by nested resolutions of link targets, so a chain a -> b -> c
        counts every hop and a loop a -> b -> a ends with ELOOP after 40 hops. Every
        directory a name is looked up in needs search (x) permission for *cred*; an
        absolute path and ".." stop at *root*.
        """
        if root is None:
            root = self.root
        cur = root if path.startswith(b"/") else start
        components = [c for c in path.split(b"/") if c]
        must_be_dir = path.endswith(b"/")
        check = not fs_capable(cred)
        for i, name in enumerate(components):
            is_last = i == len(components) - 1
            if len(name) > NAME_MAX:
                raise LinuxError(ENAMETOOLONG)
            if not cur.is_dir:
                raise LinuxError(ENOTDIR)
            if check and not may(cur, MAY_EXEC, cred):
                raise LinuxError(EACCES)
            if name == b".":
                continue
            if name == b"..":
                cur = self._parent_of(cur, root)
                continue
            child = self._cross_mounts(cur.lookup(name))
            if child.is_symlink and (not is_last or follow_last or must_be_dir):
                budget[0] -= 1
                if budget[0] < 0:
                    raise LinuxError(ELOOP)
                target = child.target or b""
                if not target:
                    raise LinuxError(ENOENT)
                child = self._walk(target, cur, True, budget, cred, root)
            cur = child
        if must_be_dir and not cur.is_dir:
            raise LinuxError(ENOTDIR)
        return cur

    @staticmethod
    def _check_path(path: bytes) -> None:
        if not path:
            raise LinuxError(ENOENT)
        if len(path) >= PATH_MAX:  # PATH_MAX counts the terminating NUL
            raise LinuxError(ENAMETOOLONG)

    def lookup(self, path: PathLike, cwd: Inode | None = None, follow: bool = True) -> Inode:
        """Resolve *path* to an inode. ``follow=False`` is lstat()/O_NOFOLLOW behaviour:
        a symlink as the *last* component is returned itself, not its target."""
        raw = _as_bytes(path)
        self._check_path(raw)
        cred, root = self.caller()
        return self._walk(raw, cwd or root, follow, [MAX_SYMLINKS], cred, root)

    def lookup_dir(self, path: PathLike, cwd: Inode | None = None) -> Inode:
        """Resolve a path that must name a directory (chdir, chroot, mount)."""
        inode = self.lookup(path, cwd)
        if not inode.is_dir:
            raise LinuxError(ENOTDIR)
        return inode

    def lookup_parent(self, path: PathLike, cwd: Inode | None = None) -> tuple[Inode, bytes, bool]:
        """Split *path* into (parent directory inode, last name, had trailing slash).

        Operations that create or remove a name (open with O_CREAT, mkdir, unlink,
        rename, ...) need the directory that holds the name rather than the file. The
        last name may be ``b""`` (path was "/"), "." or ".."; callers reject those. The
        caller needs search permission on the parent too, as for any lookup in it.
        """
        raw = _as_bytes(path)
        self._check_path(raw)
        cred, root = self.caller()
        stripped = raw.rstrip(b"/")
        trailing = len(stripped) != len(raw)
        if not stripped:
            return root, b"", trailing
        head, sep, last = stripped.rpartition(b"/")
        if len(last) > NAME_MAX:
            raise LinuxError(ENAMETOOLONG)
        if not sep:
            parent = cwd or root
        else:
            parent = self._walk(head or b"/", cwd or root, True, [MAX_SYMLINKS], cred, root)
        if not parent.is_dir:
            raise LinuxError(ENOTDIR)
        if not fs_capable(cred) and not may(parent, MAY_EXEC, cred):
            raise LinuxError(EACCES)
        return parent, last, trailing

    def _path_under(self, inode: Inode, root: Inode) -> bytes | None:
        """The path of directory *inode* seen from *root*; None if not below it."""
        parts: list[bytes] = []
        cur = inode
        while cur is not root:
            if cur in self._mounted_on:
                cur = self._mounted_on[cur]
                continue
            parent = cur.parent
            if cur is self.root or parent is None or parent is cur:
                return None
            assert parent.children is not None
            name = next((n for n, c in parent.children.items() if c is cur), None)
            if name is None:
                return None
            parts.append(name)
            cur = parent
        return b"/" + b"/".join(reversed(parts))

    def path_of(self, inode: Inode) -> bytes:
        """The absolute path of a directory (getcwd(2), Linux's ``d_path``), as seen
        from the caller's root.

        Works because a directory has exactly one parent; walk up and collect names. A
        directory outside the caller's chroot gets Linux's ``(unreachable)`` prefix
        before its path from the real root (libc's getcwd turns that into ENOENT).
        """
        if not inode.is_dir:
            raise LinuxError(ENOTDIR)
        _, root = self.caller()
        path = self._path_under(inode, root)
        if path is not None:
            return path
        if root is not self.root:
            path = self._path_under(inode, self.root)
            if path is not None:
                return b"(unreachable)" + path
        raise LinuxError(ENOENT)  # removed directory, or detached with its mount

    # ----- open -----

    def open(
        self,
        path: PathLike,
        flags: int,
        mode: int = 0o666,
        cwd: Inode | None = None,
        umask: int = 0o022,
    ) -> OpenFile:
        """open(2)/openat(2): resolve or create the file and return an :class:`OpenFile`.

        *mode* is used only when O_CREAT creates the file; the process's *umask* clears
        permission bits from it, which is why files usually end up 0644 although
        programs ask for 0666. A file this call creates is not checked against its
        own mode (``open("f", O_CREAT|O_WRONLY, 0444)`` works once); an existing one
        needs read and/or write permission as the access mode and O_TRUNC ask.
        """
        raw = _as_bytes(path)
        if flags & O_PATH:
            # O_PATH ignores every flag except these three.
            flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        created = False
        if flags & O_CREAT:
            inode, created = self._open_create(raw, flags, mode & ~umask & 0o7777, cwd)
        else:
            inode = self.lookup(raw, cwd, follow=not flags & O_NOFOLLOW)
        if inode.is_symlink and not flags & O_PATH:
            raise LinuxError(ELOOP)  # O_NOFOLLOW met a symlink
        if flags & O_DIRECTORY and not inode.is_dir:
            raise LinuxError(ENOTDIR)
        accmode = flags & O_ACCMODE
        if not flags & O_PATH:
            if inode.is_dir and (accmode != O_RDONLY or flags & (O_TRUNC | O_CREAT)):
                raise LinuxError(EISDIR)
            if not created:
                mask = {O_RDONLY: MAY_READ, O_WRONLY: MAY_WRITE}.get(accmode, MAY_READ | MAY_WRITE)
                if flags & O_TRUNC:
                    mask |= MAY_WRITE
                if inode.is_reg or inode.is_dir or inode.is_symlink:
                    self.permission(inode, mask, self.caller()[0])
                elif not may(inode, mask, self.caller()[0]):
                    raise LinuxError(EACCES)  # devices and FIFOs: writable on a read-only mount
            if inode.is_chr and inode.device is None:
                raise LinuxError(ENXIO)  # a device node with no driver behind it
            if flags & O_TRUNC and inode.is_reg and not created:
                inode.truncate(0)
        return OpenFile(inode, flags, raw)

    def _owner_for(self, parent: Inode, cred: Any) -> tuple[int, int]:
        """(uid, gid) of a new inode in *parent*: the caller's fsuid and fsgid, or the
        directory's group if the directory is set-group-ID (Linux's inode_init_owner)."""
        uid = 0 if cred is None else cred.fsuid
        gid = 0 if cred is None else cred.fsgid
        if parent.mode & S_ISGID:
            gid = parent.gid
        return uid, gid

    def _may_create(self, parent: Inode, cred: Any) -> None:
        """May *cred* add a name to *parent*? (after EEXIST was ruled out)"""
        self._check_writable_fs(parent)
        if not may(parent, MAY_WRITE | MAY_EXEC, cred):
            raise LinuxError(EACCES)

    def _open_create(self, raw: bytes, flags: int, perm: int, cwd: Inode | None) -> tuple[Inode, bool]:
        parent, name, trailing = self.lookup_parent(raw, cwd)
        if name in (b"", b".", b".."):
            raise LinuxError(EISDIR)
        children = parent.children
        assert children is not None
        existing = children.get(name)
        if existing is None:
            if trailing:
                raise LinuxError(EISDIR)  # cannot create "newfile/"
            cred = self.caller()[0]
            self._may_create(parent, cred)
            uid, gid = self._owner_for(parent, cred)
            if gid != (0 if cred is None else cred.fsgid) and not fs_capable(cred) and not in_group(cred, gid):
                perm &= ~S_ISGID
            return parent.create(name, perm, uid, gid), True
        if flags & O_EXCL:
            raise LinuxError(EEXIST)  # even for a dangling symlink: O_EXCL never follows
        existing = self._cross_mounts(existing)
        if existing.is_symlink and not flags & O_NOFOLLOW:
            # TODO: Linux creates the target of a dangling symlink; we report ENOENT.
            return self.lookup(raw, cwd, follow=True), False
        return existing, False

    # ----- metadata -----

    def stat(self, path: PathLike, cwd: Inode | None = None, follow: bool = True) -> bytes:
        """stat/lstat/newfstatat: a packed struct stat (``follow=False`` is lstat)."""
        return pack_stat(self.lookup(path, cwd, follow).getattr())

    def statx(
        self,
        path: PathLike,
        cwd: Inode | None = None,
        follow: bool = True,
        mask: int = STATX_BASIC_STATS,
    ) -> bytes:
        """statx(2) for a path: a packed struct statx."""
        return pack_statx(self.lookup(path, cwd, follow).getattr(), mask)

    def readlink(self, path: PathLike, cwd: Inode | None = None) -> bytes:
        """readlink(2): the target text, not resolved. Non-symlinks are EINVAL."""
        inode = self.lookup(path, cwd, follow=False)
        if not inode.is_symlink or inode.target is None:
            raise LinuxError(EINVAL)
        return inode.target

    def access(
        self, path: PathLike, amode: int, cwd: Inode | None = None, effective: bool = False, follow: bool = True
    ) -> None:
        """access(2)/faccessat(2)/faccessat2(2).

        Without *effective* (AT_EACCESS) the check, path search included, uses the
        *real* uid and gid: a set-user-ID program asks whether the user who ran it may
        open the file. Root (real uid 0 then) passes everything except X_OK on a
        non-directory without any execute bit; W_OK on a read-only mount is EROFS.
        """
        if amode & ~(R_OK | W_OK | X_OK):
            raise LinuxError(EINVAL)
        cred, root = self.caller()
        if not effective and cred is not None:
            cred = Ids(cred.uid, cred.gid, cred.groups, euid=cred.euid)
        with self.acting_as(cred, root):
            inode = self.lookup(path, cwd, follow)
        if amode & X_OK and inode.is_reg and inode.fs.noexec:
            raise LinuxError(EACCES)
        if amode:
            self.permission(inode, amode, cred)

    def may_chdir(self, inode: Inode) -> None:
        """chdir/fchdir/chroot need search permission on the new directory."""
        if not inode.is_dir:
            raise LinuxError(ENOTDIR)
        if not may(inode, MAY_EXEC, self.caller()[0]):
            raise LinuxError(EACCES)

    def chroot(self, path: PathLike, cwd: Inode | None = None) -> Inode:
        """chroot(2)'s checks: the new root directory, or ENOENT/ENOTDIR/EACCES, then
        EPERM without CAP_SYS_CHROOT. The caller stores it in its FsContext."""
        inode = self.lookup_dir(path, cwd)
        self.may_chdir(inode)
        if not admin_capable(self.caller()[0]):
            raise LinuxError(EPERM)
        return inode

    def chmod_inode(self, inode: Inode, mode: int) -> None:
        """chmod on an inode, with Linux's rules: EROFS, then only the owner (or
        CAP_FOWNER) may (EPERM); a non-member loses the set-group-ID bit."""
        cred = self.caller()[0]
        self._check_writable_fs(inode)
        if not fs_capable(cred):
            if cred.fsuid != inode.uid:
                raise LinuxError(EPERM)
            if not in_group(cred, inode.gid):
                mode &= ~S_ISGID
        set_mode(inode, mode)

    def chown_inode(self, inode: Inode, uid: int, gid: int) -> None:
        """chown on an inode (-1 keeps an id). Without CAP_CHOWN the owner may only
        change the group, to one of its own groups; anything else is EPERM."""
        cred = self.caller()[0]
        self._check_writable_fs(inode)
        keep = (-1, 0xFFFF_FFFF)
        if not fs_capable(cred):
            if uid not in keep and (cred.fsuid != inode.uid or uid != inode.uid):
                raise LinuxError(EPERM)
            if gid not in keep and (cred.fsuid != inode.uid or (gid != inode.gid and not in_group(cred, gid))):
                raise LinuxError(EPERM)
        set_owner(inode, uid, gid)

    def may_set_times(self, inode: Inode, explicit: bool) -> None:
        """utimensat's rule: setting given times needs ownership (EPERM); setting them
        to "now" needs ownership or write permission (EACCES)."""
        cred = self.caller()[0]
        self._check_writable_fs(inode)
        if fs_capable(cred) or cred.fsuid == inode.uid:
            return
        if explicit:
            raise LinuxError(EPERM)
        if not may(inode, MAY_WRITE, cred):
            raise LinuxError(EACCES)

    def chmod(self, path: PathLike, mode: int, cwd: Inode | None = None, follow: bool = True) -> None:
        """chmod(2): change permission bits, keep the type bits."""
        self.chmod_inode(self.lookup(path, cwd, follow), mode)

    def chown(self, path: PathLike, uid: int, gid: int, cwd: Inode | None = None, follow: bool = True) -> None:
        """chown(2); -1 (0xffffffff) leaves that id unchanged."""
        self.chown_inode(self.lookup(path, cwd, follow), uid, gid)

    def utimens(
        self,
        path: PathLike,
        atime_ns: int | None,
        mtime_ns: int | None,
        cwd: Inode | None = None,
        follow: bool = True,
    ) -> None:
        """utimensat(2); ``None`` means UTIME_OMIT (the syscall layer maps UTIME_NOW)."""
        set_times(self.lookup(path, cwd, follow), atime_ns, mtime_ns)

    def truncate(self, path: PathLike, length: int, cwd: Inode | None = None) -> None:
        """truncate(2): needs write permission on the file."""
        if length < 0:
            raise LinuxError(EINVAL)
        inode = self.lookup(path, cwd)
        if inode.is_dir:
            raise LinuxError(EISDIR)
        if not inode.is_reg:
            raise LinuxError(EINVAL)
        self.permission(inode, MAY_WRITE, self.caller()[0])
        if length > MAX_FILE_BYTES:
            raise LinuxError(EFBIG)
        inode.truncate(length)

    # ----- creating and removing names -----

    def _new_name(self, path: PathLike, cwd: Inode | None) -> tuple[Inode, bytes]:
        """The parent and name for a new entry: EEXIST, then EROFS, then EACCES."""
        parent, name, _ = self.lookup_parent(path, cwd)
        if name in (b"", b".", b"..") or name in (parent.children or {}):
            raise LinuxError(EEXIST)
        self._may_create(parent, self.caller()[0])
        return parent, name

    def mkdir(self, path: PathLike, mode: int = 0o777, cwd: Inode | None = None, umask: int = 0o022) -> Inode:
        """mkdir(2). A trailing slash is fine here ("mkdir a/" creates "a"). A new
        directory in a set-group-ID directory inherits the group and the bit."""
        parent, name = self._new_name(path, cwd)
        uid, gid = self._owner_for(parent, self.caller()[0])
        perm = mode & ~umask & 0o1777 | (parent.mode & S_ISGID)
        return parent.mkdir(name, perm, uid, gid)

    def mknod(
        self, path: PathLike, mode: int, rdev: int = 0, cwd: Inode | None = None, umask: int = 0o022
    ) -> Inode:
        """mknod(2): a FIFO, socket, device node or (type 0 or S_IFREG) an empty file.
        Device nodes need CAP_MKNOD (EPERM)."""
        kind = mode & 0o170000 or S_IFREG
        if kind not in (S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK):
            raise LinuxError(EINVAL)
        parent, name = self._new_name(path, cwd)
        cred = self.caller()[0]
        if kind in (S_IFCHR, S_IFBLK) and not fs_capable(cred):
            raise LinuxError(EPERM)
        uid, gid = self._owner_for(parent, cred)
        perm = mode & ~umask & 0o7777
        if kind == S_IFREG:
            return parent.create(name, perm, uid, gid)
        return parent.mknod(name, kind | perm, rdev if kind in (S_IFCHR, S_IFBLK) else 0, uid=uid, gid=gid)

    def symlink(self, target: PathLike, linkpath: PathLike, cwd: Inode | None = None) -> Inode:
        """symlink(2). The target is stored verbatim and may not exist (dangling)."""
        raw_target = _as_bytes(target)
        self._check_path(raw_target)
        parent, name, trailing = self.lookup_parent(linkpath, cwd)
        if name in (b"", b".", b"..") or name in (parent.children or {}):
            raise LinuxError(EEXIST)
        if trailing:
            raise LinuxError(ENOENT)
        cred = self.caller()[0]
        self._may_create(parent, cred)
        uid, gid = self._owner_for(parent, cred)
        return parent.symlink(name, raw_target, uid, gid)

    def link(
        self,
        oldpath: PathLike,
        newpath: PathLike,
        cwd: Inode | None = None,
        follow: bool = False,
        new_cwd: Inode | None = None,
    ) -> None:
        """link(2): a second name for the same inode. Directories cannot be linked.

        *new_cwd* is where a relative *newpath* starts (linkat's second dirfd; default *cwd*).
        """
        inode = self.lookup(oldpath, cwd, follow)
        if inode.is_dir:
            raise LinuxError(EPERM)
        self.link_inode(inode, newpath, new_cwd if new_cwd is not None else cwd)

    def link_inode(self, inode: Inode, newpath: PathLike, cwd: Inode | None = None) -> None:
        """linkat(fd, "", ..., AT_EMPTY_PATH): a new name for an already-found inode."""
        if inode.is_dir:
            raise LinuxError(EPERM)
        if inode.nlink == 0:
            raise LinuxError(ENOENT)  # an unlinked (O_TMPFILE-less) file cannot come back
        parent, name, _ = self.lookup_parent(newpath, cwd)
        if name in (b"", b".", b"..") or name in (parent.children or {}):
            raise LinuxError(EEXIST)
        self._check_writable_fs(parent)
        if parent.fs is not inode.fs:
            raise LinuxError(EXDEV)  # a hard link cannot cross a mount
        self._may_create(parent, self.caller()[0])
        parent.link(name, inode)

    def _may_delete(self, parent: Inode, victim: Inode, cred: Any) -> None:
        """Linux's ``may_delete``: write and search permission on the directory, and in
        a sticky directory (/tmp) only the file's or the directory's owner may remove
        or rename an entry (EPERM)."""
        if fs_capable(cred):
            return
        if not may(parent, MAY_WRITE | MAY_EXEC, cred):
            raise LinuxError(EACCES)
        if parent.mode & S_ISVTX and cred.fsuid not in (victim.uid, parent.uid):
            raise LinuxError(EPERM)

    def unlink(self, path: PathLike, cwd: Inode | None = None) -> None:
        """unlink(2): remove a non-directory name (open files keep the inode alive)."""
        parent, name, trailing = self.lookup_parent(path, cwd)
        if name in (b"", b".", b".."):
            raise LinuxError(EISDIR)
        self._check_writable_fs(parent)
        inode = parent.lookup(name)
        if trailing:
            raise LinuxError(EISDIR if inode.is_dir else ENOTDIR)
        self._may_delete(parent, inode, self.caller()[0])
        if inode.is_dir:
            raise LinuxError(EISDIR)
        parent.unlink(name)

    def rmdir(self, path: PathLike, cwd: Inode | None = None) -> None:
        """rmdir(2): remove an empty directory."""
        parent, name, _ = self.lookup_parent(path, cwd)
        if name == b"":
            raise LinuxError(EBUSY)
        if name == b".":
            raise LinuxError(EINVAL)
        if name == b"..":
            raise LinuxError(ENOTEMPTY)
        self._check_writable_fs(parent)
        inode = parent.lookup(name)
        self._may_delete(parent, inode, self.caller()[0])
        if not inode.is_dir:
            raise LinuxError(ENOTDIR)
        if inode in self._mounts or inode is self.root:
            raise LinuxError(EBUSY)
        parent.unlink(name)

    def rename(
        self,
        oldpath: PathLike,
        newpath: PathLike,
        cwd: Inode | None = None,
        new_cwd: Inode | None = None,
        noreplace: bool = False,
    ) -> None:
        """rename(2): atomically move a name, replacing an existing target if allowed.

        *new_cwd* is where a relative *newpath* starts (renameat's second dirfd; default
        *cwd*); *noreplace* is renameat2's RENAME_NOREPLACE (EEXIST instead of replacing).
        Both directories need write and search permission (sticky rules included), and
        a directory moving to another parent needs write permission on itself (its ".."
        changes).
        """
        old_dir, old_name, _ = self.lookup_parent(oldpath, cwd)
        new_dir, new_name, _ = self.lookup_parent(newpath, new_cwd if new_cwd is not None else cwd)
        if old_name in (b"", b".", b"..") or new_name in (b"", b".", b".."):
            raise LinuxError(EBUSY if not old_name or not new_name else EINVAL)
        if old_dir.fs is not new_dir.fs:
            raise LinuxError(EXDEV)
        self._check_writable_fs(old_dir)
        inode = old_dir.lookup(old_name)
        if inode in self._mounted_on or inode in self._mounts:
            raise LinuxError(EBUSY)
        assert new_dir.children is not None
        victim = new_dir.children.get(new_name)
        if noreplace and victim is not None:
            raise LinuxError(EEXIST)
        if inode.is_dir:
            # A directory cannot move into its own subtree: that would detach a loop.
            ancestor = new_dir
            while True:
                if ancestor is inode:
                    raise LinuxError(EINVAL)
                if ancestor is ancestor.parent or ancestor.parent is None:
                    break
                ancestor = ancestor.parent
        if victim is inode:
            return  # renaming a file onto itself (or another link to it) does nothing
        cred = self.caller()[0]
        self._may_delete(old_dir, inode, cred)
        if victim is None:
            self._may_create(new_dir, cred)
        else:
            self._may_delete(new_dir, victim, cred)
        if inode.is_dir and new_dir is not old_dir and not fs_capable(cred):
            self.permission(inode, MAY_WRITE, cred)
        if victim is not None:
            if inode.is_dir and not victim.is_dir:
                raise LinuxError(ENOTDIR)
            if not inode.is_dir and victim.is_dir:
                raise LinuxError(EISDIR)
            new_dir.unlink(new_name)  # raises ENOTEMPTY for a non-empty directory
        old_dir.move(old_name, new_dir, new_name)
