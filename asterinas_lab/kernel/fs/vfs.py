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

Permission checks are skipped: every process is root for now, and root passes all
read/write checks (Linux's ``CAP_DAC_OVERRIDE``). Only the execute rule that applies even
to root is implemented in :meth:`Vfs.access`.
"""

from __future__ import annotations

import os
import struct

from asterinas_lab.kernel.error import (
    EACCES,
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
    EXDEV,
    LinuxError,
)
from asterinas_lab.kernel.fs.ramfs import Inode, RamFs
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
    STATX_BASIC_STATS,
    pack_stat,
    pack_statx,
)

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

    def _dir_entries(self) -> list[tuple[bytes, Inode]]:
        inode = self.inode
        assert inode.children is not None
        entries = [(b".", inode), (b"..", inode.parent or inode)]
        entries.extend(inode.children.items())
        return entries

    def getdents64(self, bufsize: int) -> bytes:
        """getdents64(2): as many ``linux_dirent64`` records as fit in *bufsize* bytes.

        The position counts entries already returned, and each record's ``d_off`` is the
        position *after* it (the cookie ``telldir``/``seekdir`` use). An empty result
        means end of directory; a buffer too small for even the next record is EINVAL.
        """
        if self.is_path_only:
            raise LinuxError(EBADF)
        if not self.inode.is_dir:
            raise LinuxError(ENOTDIR)
        entries = self._dir_entries()
        out = bytearray()
        index = self.pos
        while index < len(entries):
            name, child = entries[index]
            if len(out) + dirent64_reclen(name) > bufsize:
                if not out:
                    raise LinuxError(EINVAL)
                break
            index += 1
            out += pack_dirent64(child.ino, index, d_type_of(child), name)
        self.pos = index
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


class Vfs:
    """Path resolution and path-based file operations over a tree of mounted RamFs.

    There is one root file system; :meth:`mount` lets another file system cover a
    directory (for a future /proc or /dev). Every *cwd* argument is the directory a
    relative path starts from: the process's working directory, or for ``openat(dirfd,
    ...)`` the directory *dirfd* refers to. ``None`` means the root.
    """

    def __init__(self, root_fs: RamFs) -> None:
        self.root_fs = root_fs
        self.root = root_fs.root
        #: mountpoint directory -> root inode of the file system mounted on it.
        self._mounts: dict[Inode, Inode] = {}
        #: mounted root -> the mountpoint it covers, to walk ".." back out of a mount.
        self._mounted_on: dict[Inode, Inode] = {}

    def mount(self, fs: RamFs, path: PathLike, cwd: Inode | None = None) -> None:
        """Make *fs* appear at directory *path* (hiding what was there)."""
        target = self.lookup_dir(path, cwd)
        if target in self._mounts or target is self.root:
            raise LinuxError(EBUSY)
        self._mounts[target] = fs.root
        self._mounted_on[fs.root] = target

    # ----- path resolution -----

    def _parent_of(self, inode: Inode) -> Inode:
        """The ".." of *inode*, stepping out of mounted file systems; "/.." is "/"."""
        while inode is not self.root and inode in self._mounted_on:
            inode = self._mounted_on[inode]  # root of a mount: go to the covered dir
        if inode is self.root:
            return inode
        return inode.lookup(b"..")

    def _cross_mounts(self, inode: Inode) -> Inode:
        while inode in self._mounts:
            inode = self._mounts[inode]
        return inode

    def _walk(self, path: bytes, start: Inode, follow_last: bool, budget: list[int]) -> Inode:
        """Resolve *path* from *start* one component at a time (``link_path_walk``).

        *budget* is a one-element list holding how many symlinks may still be followed;
        it is shared by nested resolutions of link targets, so a chain a -> b -> c
        counts every hop and a loop a -> b -> a ends with ELOOP after 40 hops.
        """
        cur = self.root if path.startswith(b"/") else start
        components = [c for c in path.split(b"/") if c]
        must_be_dir = path.endswith(b"/")
        for i, name in enumerate(components):
            is_last = i == len(components) - 1
            if len(name) > NAME_MAX:
                raise LinuxError(ENAMETOOLONG)
            if not cur.is_dir:
                raise LinuxError(ENOTDIR)
            # Root may search every directory, so the exec-permission check is skipped.
            if name == b".":
                continue
            if name == b"..":
                cur = self._parent_of(cur)
                continue
            child = self._cross_mounts(cur.lookup(name))
            if child.is_symlink and (not is_last or follow_last or must_be_dir):
                budget[0] -= 1
                if budget[0] < 0:
                    raise LinuxError(ELOOP)
                target = child.target or b""
                if not target:
                    raise LinuxError(ENOENT)
                child = self._walk(target, cur, True, budget)
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
        return self._walk(raw, cwd or self.root, follow, [MAX_SYMLINKS])

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
        last name may be ``b""`` (path was "/"), "." or ".."; callers reject those.
        """
        raw = _as_bytes(path)
        self._check_path(raw)
        stripped = raw.rstrip(b"/")
        trailing = len(stripped) != len(raw)
        if not stripped:
            return self.root, b"", trailing
        head, sep, last = stripped.rpartition(b"/")
        if len(last) > NAME_MAX:
            raise LinuxError(ENAMETOOLONG)
        if not sep:
            parent = cwd or self.root
        else:
            parent = self._walk(head or b"/", cwd or self.root, True, [MAX_SYMLINKS])
        if not parent.is_dir:
            raise LinuxError(ENOTDIR)
        return parent, last, trailing

    def path_of(self, inode: Inode) -> bytes:
        """The absolute path of a directory (getcwd(2), Linux's ``d_path``).

        Works because a directory has exactly one parent; walk up and collect names.
        """
        if not inode.is_dir:
            raise LinuxError(ENOTDIR)
        parts: list[bytes] = []
        cur = inode
        while cur is not self.root:
            if cur in self._mounted_on:
                cur = self._mounted_on[cur]
                continue
            parent = cur.parent
            if parent is None or parent is cur:
                raise LinuxError(ENOENT)  # removed directory or outside our root
            assert parent.children is not None
            name = next((n for n, c in parent.children.items() if c is cur), None)
            if name is None:
                raise LinuxError(ENOENT)
            parts.append(name)
            cur = parent
        return b"/" + b"/".join(reversed(parts))

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
        programs ask for 0666.
        """
        raw = _as_bytes(path)
        if flags & O_PATH:
            # O_PATH ignores every flag except these three.
            flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        if flags & O_CREAT:
            inode = self._open_create(raw, flags, mode & ~umask & 0o7777, cwd)
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
            if inode.is_chr and inode.device is None:
                raise LinuxError(ENXIO)  # a device node with no driver behind it
            if flags & O_TRUNC and inode.is_reg:
                inode.truncate(0)
        return OpenFile(inode, flags, raw)

    def _open_create(self, raw: bytes, flags: int, perm: int, cwd: Inode | None) -> Inode:
        parent, name, trailing = self.lookup_parent(raw, cwd)
        if name in (b"", b".", b".."):
            raise LinuxError(EISDIR)
        children = parent.children
        assert children is not None
        existing = children.get(name)
        if existing is None:
            if trailing:
                raise LinuxError(EISDIR)  # cannot create "newfile/"
            return parent.create(name, perm)
        if flags & O_EXCL:
            raise LinuxError(EEXIST)  # even for a dangling symlink: O_EXCL never follows
        existing = self._cross_mounts(existing)
        if existing.is_symlink and not flags & O_NOFOLLOW:
            # TODO: Linux creates the target of a dangling symlink; we report ENOENT.
            return self.lookup(raw, cwd, follow=True)
        return existing

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

    def access(self, path: PathLike, amode: int, cwd: Inode | None = None) -> None:
        """access(2)/faccessat(2) for root: everything is allowed except executing a
        non-directory that has no execute bit at all (root cannot run a 0644 file)."""
        if amode & ~(R_OK | W_OK | X_OK):
            raise LinuxError(EINVAL)
        inode = self.lookup(path, cwd)
        if amode & X_OK and not inode.is_dir and not inode.mode & 0o111:
            raise LinuxError(EACCES)

    def chmod(self, path: PathLike, mode: int, cwd: Inode | None = None, follow: bool = True) -> None:
        """chmod(2): change permission bits, keep the type bits."""
        set_mode(self.lookup(path, cwd, follow), mode)

    def chown(self, path: PathLike, uid: int, gid: int, cwd: Inode | None = None, follow: bool = True) -> None:
        """chown(2); -1 (0xffffffff) leaves that id unchanged."""
        set_owner(self.lookup(path, cwd, follow), uid, gid)

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
        """truncate(2)."""
        if length < 0:
            raise LinuxError(EINVAL)
        inode = self.lookup(path, cwd)
        if inode.is_dir:
            raise LinuxError(EISDIR)
        if not inode.is_reg:
            raise LinuxError(EINVAL)
        if length > MAX_FILE_BYTES:
            raise LinuxError(EFBIG)
        inode.truncate(length)

    # ----- creating and removing names -----

    def _new_name(self, path: PathLike, cwd: Inode | None) -> tuple[Inode, bytes]:
        parent, name, _ = self.lookup_parent(path, cwd)
        if name in (b"", b".", b"..") or name in (parent.children or {}):
            raise LinuxError(EEXIST)
        return parent, name

    def mkdir(self, path: PathLike, mode: int = 0o777, cwd: Inode | None = None, umask: int = 0o022) -> Inode:
        """mkdir(2). A trailing slash is fine here ("mkdir a/" creates "a")."""
        parent, name = self._new_name(path, cwd)
        return parent.mkdir(name, mode & ~umask & 0o7777)

    def mknod(
        self, path: PathLike, mode: int, rdev: int = 0, cwd: Inode | None = None, umask: int = 0o022
    ) -> Inode:
        """mknod(2): a FIFO, socket, device node or (type 0 or S_IFREG) an empty file."""
        kind = mode & 0o170000 or S_IFREG
        if kind not in (S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK):
            raise LinuxError(EINVAL)
        parent, name = self._new_name(path, cwd)
        perm = mode & ~umask & 0o7777
        if kind == S_IFREG:
            return parent.create(name, perm)
        return parent.mknod(name, kind | perm, rdev if kind in (S_IFCHR, S_IFBLK) else 0)

    def symlink(self, target: PathLike, linkpath: PathLike, cwd: Inode | None = None) -> Inode:
        """symlink(2). The target is stored verbatim and may not exist (dangling)."""
        raw_target = _as_bytes(target)
        self._check_path(raw_target)
        parent, name, trailing = self.lookup_parent(linkpath, cwd)
        if name in (b"", b".", b"..") or name in (parent.children or {}):
            raise LinuxError(EEXIST)
        if trailing:
            raise LinuxError(ENOENT)
        return parent.symlink(name, raw_target)

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
        parent, name = self._new_name(newpath, cwd)
        if parent.fs is not inode.fs:
            raise LinuxError(EXDEV)  # a hard link cannot cross a mount
        parent.link(name, inode)

    def unlink(self, path: PathLike, cwd: Inode | None = None) -> None:
        """unlink(2): remove a non-directory name (open files keep the inode alive)."""
        parent, name, trailing = self.lookup_parent(path, cwd)
        if name in (b"", b".", b".."):
            raise LinuxError(EISDIR)
        inode = parent.lookup(name)
        if inode.is_dir:
            raise LinuxError(EISDIR)
        if trailing:
            raise LinuxError(ENOTDIR)
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
        inode = parent.lookup(name)
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
        """
        old_dir, old_name, _ = self.lookup_parent(oldpath, cwd)
        new_dir, new_name, _ = self.lookup_parent(newpath, new_cwd if new_cwd is not None else cwd)
        if old_name in (b"", b".", b"..") or new_name in (b"", b".", b".."):
            raise LinuxError(EBUSY if not old_name or not new_name else EINVAL)
        inode = old_dir.lookup(old_name)
        if old_dir.fs is not new_dir.fs or inode in self._mounted_on or inode in self._mounts:
            raise LinuxError(EXDEV if old_dir.fs is not new_dir.fs else EBUSY)
        assert new_dir.children is not None
        victim = new_dir.children.get(new_name)
        if noreplace and victim is not None:
            raise LinuxError(EEXIST)
        if victim is inode:
            return  # renaming a file onto itself (or another link to it) does nothing
        if inode.is_dir:
            # A directory cannot move into its own subtree: that would detach a loop.
            ancestor = new_dir
            while True:
                if ancestor is inode:
                    raise LinuxError(EINVAL)
                if ancestor is ancestor.parent or ancestor.parent is None:
                    break
                ancestor = ancestor.parent
        if victim is not None:
            if inode.is_dir and not victim.is_dir:
                raise LinuxError(ENOTDIR)
            if not inode.is_dir and victim.is_dir:
                raise LinuxError(EISDIR)
            new_dir.unlink(new_name)  # raises ENOTEMPTY for a non-empty directory
        old_dir.move(old_name, new_dir, new_name)
