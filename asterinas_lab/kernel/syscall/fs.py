"""File syscalls: open, read, write, stat, getdents64, ioctl, fcntl, dup, ...

Each handler takes the calling thread and raw argument registers, validates them as
Linux does (the same errno for the same mistake), and calls the VFS with plain bytes.
User memory is touched only through the process's VmReader/VmWriter helpers, so a bad
pointer becomes EFAULT.
"""

from __future__ import annotations

import struct

from ..device.host_stream import TCGETS, TIOCGWINSZ
from ..error import (
    EBADF,
    EFAULT,
    EINVAL,
    ENAMETOOLONG,
    ENODEV,
    ENOENT,
    ENOTDIR,
    EOPNOTSUPP,
    ERANGE,
    ESPIPE,
    LinuxError,
)
from ..fs import flock, record_lock
from ..fs.pipe import new_pipe, open_fifo
from ..fs.procfs import ProcFs
from ..fs.ramfs import RamFs
from ..fs.vfs import (
    AT_EMPTY_PATH,
    AT_FDCWD,
    AT_REMOVEDIR,
    AT_SYMLINK_FOLLOW,
    AT_SYMLINK_NOFOLLOW,
    MS_RDONLY,
    O_CLOEXEC,
    O_CREAT,
    O_NONBLOCK,
    O_PATH,
    Ids,
    Mount,
    set_times,
)
from . import numbers as nr
from .args import s32, s64

O_DIRECT = 0o40000
IOV_MAX = 1024
MAX_RW_COUNT = 0x7FFF_F000  # Linux caps one read/write at this many bytes
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_DUPFD_CLOEXEC = 1030
FD_CLOEXEC = 1
_iovec = struct.Struct("<QQ")


def _file(t, fd: int):
    return t.process.files.get(s32(fd))


def _start_dir(t, dirfd: int):
    """The directory a *at() call's relative path starts from."""
    dirfd = s32(dirfd)
    if dirfd == AT_FDCWD:
        return t.process.cwd
    inode = getattr(t.process.files.get(dirfd), "inode", None)
    if inode is None or not inode.is_dir:
        raise LinuxError(ENOTDIR)
    return inode


def _path(t, addr: int) -> bytes:
    path = t.process.read_cstring(addr, 4096)
    return path


# --- read and write ----------------------------------------------------------------


def sys_read(t, fd, buf, count, *_):
    file = _file(t, fd)
    count = min(count, MAX_RW_COUNT)
    data = file.read(count)
    return t.process.write_bytes(buf, data) if data else 0


def sys_write(t, fd, buf, count, *_):
    file = _file(t, fd)
    count = min(count, MAX_RW_COUNT)
    if count == 0:
        return 0
    return file.write(t.process.read_bytes(buf, count))


def sys_pread64(t, fd, buf, count, offset, *_):
    file = _file(t, fd)
    if s64(offset) < 0:
        raise LinuxError(EINVAL)
    data = file.pread(min(count, MAX_RW_COUNT), s64(offset))
    return t.process.write_bytes(buf, data) if data else 0


def sys_pwrite64(t, fd, buf, count, offset, *_):
    file = _file(t, fd)
    if s64(offset) < 0:
        raise LinuxError(EINVAL)
    return file.pwrite(t.process.read_bytes(buf, min(count, MAX_RW_COUNT)), s64(offset))


def _iovecs(t, iov: int, iovcnt: int) -> list[tuple[int, int]]:
    iovcnt = s32(iovcnt)
    if not 0 <= iovcnt <= IOV_MAX:
        raise LinuxError(EINVAL)
    raw = t.process.read_bytes(iov, 16 * iovcnt)
    vecs = [_iovec.unpack_from(raw, 16 * i) for i in range(iovcnt)]
    if sum(length for _, length in vecs) > 0x7FFF_FFFF_FFFF_FFFF:
        raise LinuxError(EINVAL)
    return vecs


def sys_writev(t, fd, iov, iovcnt, *_):
    file = _file(t, fd)
    vecs = _iovecs(t, iov, iovcnt)
    data = b"".join(t.process.read_bytes(base, length) for base, length in vecs if length)
    return file.write(data) if data else 0


def sys_readv(t, fd, iov, iovcnt, *_):
    file = _file(t, fd)
    vecs = _iovecs(t, iov, iovcnt)
    data = file.read(min(sum(length for _, length in vecs), MAX_RW_COUNT))
    return _scatter(t, vecs, data)


def _scatter(t, vecs, data: bytes) -> int:
    done = 0
    for base, length in vecs:
        if done >= len(data):
            break
        chunk = data[done : done + length]
        t.process.write_bytes(base, chunk)
        done += len(chunk)
    return done


def sys_preadv2(t, fd, iov, iovcnt, pos_l, pos_h, flags, *_):
    """preadv/preadv2: read at an offset into several buffers (offset -1: preadv2 uses
    and advances the file position, like readv). On x86-64 the offset is pos_l alone."""
    file = _file(t, fd)
    if flags & 0xFFFF_FFFF:
        raise LinuxError(EOPNOTSUPP)
    vecs = _iovecs(t, iov, iovcnt)
    offset = s64(pos_l)
    count = min(sum(length for _, length in vecs), MAX_RW_COUNT)
    if offset == -1:
        data = file.read(count)
    else:
        if offset < 0:
            raise LinuxError(EINVAL)
        data = file.pread(count, offset)
    return _scatter(t, vecs, data)


def sys_preadv(t, fd, iov, iovcnt, pos_l, pos_h, *_):
    if s64(pos_l) < 0:
        _file(t, fd)
        raise LinuxError(EINVAL)
    return sys_preadv2(t, fd, iov, iovcnt, pos_l, pos_h, 0)


def sys_pwritev2(t, fd, iov, iovcnt, pos_l, pos_h, flags, *_):
    file = _file(t, fd)
    if flags & 0xFFFF_FFFF:
        raise LinuxError(EOPNOTSUPP)
    vecs = _iovecs(t, iov, iovcnt)
    offset = s64(pos_l)
    data = b"".join(t.process.read_bytes(base, length) for base, length in vecs if length)
    if offset == -1:
        return file.write(data) if data else 0
    if offset < 0:
        raise LinuxError(EINVAL)
    return file.pwrite(data, offset)


def sys_pwritev(t, fd, iov, iovcnt, pos_l, pos_h, *_):
    if s64(pos_l) < 0:
        _file(t, fd)
        raise LinuxError(EINVAL)
    return sys_pwritev2(t, fd, iov, iovcnt, pos_l, pos_h, 0)


def sys_fallocate(t, fd, mode, offset, length, *_):
    file = _file(t, fd)
    if getattr(file, "inode", None) is None or hasattr(file, "pipe"):
        raise LinuxError(ESPIPE if hasattr(file, "pipe") else ENODEV)
    file.fallocate(s32(mode), s64(offset), s64(length))
    return 0


def sys_lseek(t, fd, offset, whence, *_):
    return _file(t, fd).lseek(s64(offset), s32(whence))


def sys_sendfile(t, out_fd, in_fd, offset_ptr, count, *_):
    out_file, in_file = _file(t, out_fd), _file(t, in_fd)
    count = min(count, MAX_RW_COUNT)
    if offset_ptr:
        offset = s64(t.process.read_u64(offset_ptr))
        if offset < 0:
            raise LinuxError(EINVAL)
        data = in_file.pread(count, offset)
        t.process.write_bytes(offset_ptr, struct.pack("<q", offset + len(data)))
    else:
        data = in_file.read(count)
    return out_file.write(data) if data else 0


# --- pipes --------------------------------------------------------------------------


def sys_pipe2(t, fds, flags, *_):
    flags = s32(flags)
    if flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT):
        raise LinuxError(EINVAL)
    reader, writer = new_pipe(flags)
    files = t.process.files
    cloexec = bool(flags & O_CLOEXEC)
    rfd = files.install(reader, cloexec=cloexec)
    try:
        wfd = files.install(writer, cloexec=cloexec)
    except LinuxError:
        files.close(rfd)
        raise
    try:
        t.process.write_bytes(fds, struct.pack("<ii", rfd, wfd))
    except LinuxError:
        files.close(rfd)
        files.close(wfd)
        raise
    return 0


def sys_pipe(t, fds, *_):
    return sys_pipe2(t, fds, 0)


# --- open and close ------------------------------------------------------------------


def sys_openat(t, dirfd, pathname, flags, mode, *_):
    path = _path(t, pathname)
    flags = s32(flags)
    kernel = t.kernel
    file = kernel.vfs.open(path, flags, mode & 0o7777, _start_dir(t, dirfd), t.process.umask)
    if file.inode.is_fifo and not flags & O_PATH:
        file = open_fifo(file.inode, flags, path)  # may sleep until the other end opens
    device_open = getattr(getattr(file.inode, "device", None), "open", None)
    if device_open is not None and not flags & O_PATH:
        file = device_open(file, t)  # a terminal: its own open file (device/tty.py)
    return t.process.files.install(file, cloexec=bool(flags & O_CLOEXEC))


def sys_open(t, pathname, flags, mode, *_):
    return sys_openat(t, AT_FDCWD, pathname, flags, mode)


def sys_creat(t, pathname, mode, *_):
    return sys_openat(t, AT_FDCWD, pathname, 0o1 | O_CREAT | 0o1000, mode)


def sys_close(t, fd, *_):
    t.process.files.close(s32(fd))
    return 0


CLOSE_RANGE_UNSHARE = 1 << 1
CLOSE_RANGE_CLOEXEC = 1 << 2


def sys_close_range(t, first, last, flags, *_):
    first, last, flags = first & 0xFFFF_FFFF, last & 0xFFFF_FFFF, flags & 0xFFFF_FFFF
    if flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) or first > last:
        raise LinuxError(EINVAL)
    process = t.process
    if flags & CLOSE_RANGE_UNSHARE and process.files.users > 1:
        shared, process.files = process.files, process.files.copy()
        shared.users -= 1
    files = process.files
    for fd in [fd for fd, _ in files.items() if first <= fd <= last]:
        if flags & CLOSE_RANGE_CLOEXEC:
            files.set_cloexec(fd, True)
        else:
            files.close(fd)
    return 0


def sys_dup(t, oldfd, *_):
    files = t.process.files
    return files.install(files.get(s32(oldfd)))


def sys_dup3(t, oldfd, newfd, flags, *_):
    oldfd, newfd, flags = s32(oldfd), s32(newfd), s32(flags)
    if oldfd == newfd or flags & ~O_CLOEXEC:
        raise LinuxError(EINVAL)
    files = t.process.files
    files.install_at(newfd, files.get(oldfd), cloexec=bool(flags & O_CLOEXEC))
    return newfd


def sys_dup2(t, oldfd, newfd, *_):
    if s32(oldfd) == s32(newfd):
        t.process.files.get(s32(oldfd))
        return s32(newfd)
    return sys_dup3(t, oldfd, newfd, 0)


def sys_fcntl(t, fd, cmd, arg, *_):
    fd, cmd = s32(fd), s32(cmd)
    files = t.process.files
    file = files.get(fd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        if not 0 <= s32(arg) < files.limit:
            raise LinuxError(EINVAL)
        return files.install(file, cloexec=cmd == F_DUPFD_CLOEXEC, lowest=s32(arg))
    if cmd == F_GETFD:
        return FD_CLOEXEC if files.is_cloexec(fd) else 0
    if cmd == F_SETFD:
        files.set_cloexec(fd, bool(arg & FD_CLOEXEC))
        return 0
    if cmd == F_GETFL:
        return file.flags & ~O_CLOEXEC
    if cmd == F_SETFL:
        file.set_status_flags(s32(arg))
        return 0
    if cmd in (F_GETLK, F_SETLK, F_SETLKW):
        return record_lock.fcntl_lock(t, file, cmd == F_GETLK, cmd == F_SETLKW, arg)
    if cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW):
        return record_lock.fcntl_lock(t, file, cmd == F_OFD_GETLK, cmd == F_OFD_SETLKW, arg, ofd=True)
    raise LinuxError(EINVAL)


def sys_flock(t, fd, operation, *_):
    return flock.flock(t, t.process.files.get(s32(fd)), s32(operation))


FIONREAD = 0x541B
FIONBIO = 0x5421


def sys_ioctl(t, fd, cmd, arg, *_):
    file = _file(t, fd)
    cmd = cmd & 0xFFFF_FFFF
    if cmd == FIONBIO:
        on = struct.unpack("<i", t.process.read_bytes(arg, 4))[0]
        file.flags = file.flags | O_NONBLOCK if on else file.flags & ~O_NONBLOCK
        return 0
    if cmd == FIONREAD:
        pipe = getattr(file, "pipe", None)
        inode = getattr(file, "inode", None)
        if pipe is not None:
            count = len(pipe.buffer)
        elif inode is not None and inode.is_reg and not getattr(file, "is_path_only", False):
            count = inode.size - file.pos  # negative past the end, as in Linux
        else:
            count = None
        if count is not None:
            t.process.write_bytes(arg, struct.pack("<I", count & 0xFFFF_FFFF))
            return 0
    if cmd == TCGETS and hasattr(file, "termios"):
        return t.process.write_bytes(arg, file.termios()) and 0
    if cmd == TIOCGWINSZ and hasattr(file, "winsize"):
        return t.process.write_bytes(arg, file.winsize()) and 0
    return file.ioctl(cmd, arg)


# --- metadata -------------------------------------------------------------------------


def _stat_target(t, dirfd, pathname, flags, packer: str, *extra):
    """stat/statx on a path, or on dirfd itself with AT_EMPTY_PATH and an empty path."""
    path = t.process.read_cstring(pathname, 4096)
    if not path:
        if not flags & AT_EMPTY_PATH:
            raise LinuxError(ENOENT)
        file = t.process.files.get(s32(dirfd)) if s32(dirfd) != AT_FDCWD else None
        if file is None:
            return getattr(t.kernel.vfs, packer)(b".", t.process.cwd, True, *extra)
        return getattr(file, packer)(*extra)
    follow = not flags & AT_SYMLINK_NOFOLLOW
    return getattr(t.kernel.vfs, packer)(path, _start_dir(t, dirfd), follow, *extra)


def sys_newfstatat(t, dirfd, pathname, statbuf, flags, *_):
    data = _stat_target(t, dirfd, pathname, s32(flags), "stat")
    t.process.write_bytes(statbuf, data)
    return 0


def sys_stat(t, pathname, statbuf, *_):
    return sys_newfstatat(t, AT_FDCWD, pathname, statbuf, 0)


def sys_lstat(t, pathname, statbuf, *_):
    return sys_newfstatat(t, AT_FDCWD, pathname, statbuf, AT_SYMLINK_NOFOLLOW)


def sys_fstat(t, fd, statbuf, *_):
    t.process.write_bytes(statbuf, _file(t, fd).stat())
    return 0


def sys_statx(t, dirfd, pathname, flags, mask, statxbuf, *_):
    data = _stat_target(t, dirfd, pathname, s32(flags), "statx", mask & 0xFFFF_FFFF)
    t.process.write_bytes(statxbuf, data)
    return 0


# --- statfs -----------------------------------------------------------------------------

TMPFS_MAGIC = 0x01021994
RAMFS_MAGIC = 0x858458F6
PIPEFS_MAGIC = 0x50495045
DEVPTS_SUPER_MAGIC = 0x1CD1
ST_NOSUID, ST_NODEV, ST_NOEXEC, ST_VALID, ST_RELATIME = 0x2, 0x4, 0x8, 0x20, 0x1000
#: struct statfs on x86-64: f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files,
#: f_ffree, f_fsid (two ints), f_namelen, f_frsize, f_flags, f_spare[4].
_statfs = struct.Struct("<qqQQQQQiiqqq32x")


def _pack_statfs(t, inode, file=None) -> bytes:
    """Describe the file system holding *inode* (or, for pipes and host streams, *file*)."""
    if inode is None:
        magic = PIPEFS_MAGIC if getattr(file, "path", b"").startswith(b"pipe:") else DEVPTS_SUPER_MAGIC
        return _statfs.pack(magic, 4096, 0, 0, 0, 0, 0, 0, 0, 255, 4096, ST_VALID)
    fs = inode.fs
    dev = fs.dev
    magic = getattr(fs, "magic", TMPFS_MAGIC)
    flags = _statfs_flags(getattr(fs, "mount_flags", 0))
    if magic != TMPFS_MAGIC:  # procfs, ramfs: no blocks, no inode counts
        return _statfs.pack(magic, 4096, 0, 0, 0, 0, 0, dev & 0xFFFF_FFFF, dev >> 32, 255, 4096, flags)
    max_pages = getattr(fs, "max_pages", None)
    if max_pages is not None:  # a size-limited tmpfs (/tmp): its own size and usage
        blocks = max_pages
        bfree = max(0, blocks - fs.used_pages())
    else:
        total, free = t.kernel.memory_stats()
        blocks = total // 2  # tmpfs's default size: half of RAM
        bfree = min(blocks, free)
    return _statfs.pack(magic, 4096, blocks, bfree, bfree, blocks, blocks - 1, dev & 0xFFFF_FFFF, dev >> 32,
                        255, 4096, flags)  # fmt: skip


def _statfs_flags(mount_flags: int) -> int:
    """f_flags from the mount's MS_* flags (ST_RDONLY..ST_NODIRATIME share their values)."""
    flags = ST_VALID | mount_flags & (MS_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC | 16 | 1024 | 2048)
    if not mount_flags & (1024 | 1 << 24):  # relatime unless noatime or strictatime
        flags |= ST_RELATIME
    return flags


def sys_statfs(t, pathname, buf, *_):
    inode = t.kernel.vfs.lookup(_path(t, pathname), t.process.cwd)
    return t.process.write_bytes(buf, _pack_statfs(t, inode)) and 0


def sys_fstatfs(t, fd, buf, *_):
    file = _file(t, fd)
    return t.process.write_bytes(buf, _pack_statfs(t, getattr(file, "inode", None), file)) and 0


def sys_getdents64(t, fd, dirp, count, *_):
    data = _file(t, fd).getdents64(count & 0xFFFF_FFFF)
    return t.process.write_bytes(dirp, data) if data else 0


def sys_readlinkat(t, dirfd, pathname, buf, bufsiz, *_):
    bufsiz = s32(bufsiz)
    if bufsiz <= 0:
        raise LinuxError(EINVAL)
    path = _path(t, pathname)
    target = t.kernel.readlink(t.process, path, _start_dir(t, dirfd))
    return t.process.write_bytes(buf, target[:bufsiz])


def sys_readlink(t, pathname, buf, bufsiz, *_):
    return sys_readlinkat(t, AT_FDCWD, pathname, buf, bufsiz)


AT_EACCESS = 0x200


def sys_faccessat2(t, dirfd, pathname, mode, flags, *_):
    """faccessat2: access() with flags. Without AT_EACCESS the real ids are checked."""
    flags, mode = s32(flags), s32(mode)
    if flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise LinuxError(EINVAL)
    vfs = t.kernel.vfs
    path = _path(t, pathname)
    if not path and flags & AT_EMPTY_PATH:
        if mode & ~7:
            raise LinuxError(EINVAL)
        inode = t.process.cwd if s32(dirfd) == AT_FDCWD else _fd_inode(t, dirfd)
        cred = t.process.cred
        if not flags & AT_EACCESS:
            cred = Ids(cred.uid, cred.gid, cred.groups, euid=cred.euid)
        if mode:
            vfs.permission(inode, mode, cred)
        return 0
    vfs.access(path, mode, _start_dir(t, dirfd), effective=bool(flags & AT_EACCESS),
               follow=not flags & AT_SYMLINK_NOFOLLOW)  # fmt: skip
    return 0


def sys_faccessat(t, dirfd, pathname, mode, *_):
    return sys_faccessat2(t, dirfd, pathname, mode, 0)


def sys_access(t, pathname, mode, *_):
    return sys_faccessat(t, AT_FDCWD, pathname, mode)


def sys_getcwd(t, buf, size, *_):
    path = t.kernel.vfs.path_of(t.process.cwd) + b"\0"
    if size < len(path):
        raise LinuxError(ERANGE)
    t.process.write_bytes(buf, path)
    return len(path)


def sys_chdir(t, pathname, *_):
    vfs = t.kernel.vfs
    inode = vfs.lookup_dir(_path(t, pathname), t.process.cwd)
    vfs.may_chdir(inode)
    t.process.cwd = inode
    return 0


def sys_chroot(t, pathname, *_):
    """chroot(2): the process's (and its CLONE_FS sharers') root for every lookup."""
    t.process.fs.root = t.kernel.vfs.chroot(_path(t, pathname), t.process.cwd)
    return 0


def sys_fchdir(t, fd, *_):
    inode = getattr(_file(t, fd), "inode", None)
    if inode is None or not inode.is_dir:
        raise LinuxError(ENOTDIR)
    t.kernel.vfs.may_chdir(inode)
    t.process.cwd = inode
    return 0


def sys_mkdirat(t, dirfd, pathname, mode, *_):
    t.kernel.vfs.mkdir(_path(t, pathname), mode & 0o7777, _start_dir(t, dirfd), t.process.umask)
    return 0


def sys_mknodat(t, dirfd, pathname, mode, dev, *_):
    t.kernel.vfs.mknod(_path(t, pathname), mode & 0xFFFF_FFFF, dev & 0xFFFF_FFFF, _start_dir(t, dirfd),
                       t.process.umask)  # fmt: skip
    return 0


def sys_mknod(t, pathname, mode, dev, *_):
    return sys_mknodat(t, AT_FDCWD, pathname, mode, dev)


def sys_mkdir(t, pathname, mode, *_):
    return sys_mkdirat(t, AT_FDCWD, pathname, mode)


def sys_unlinkat(t, dirfd, pathname, flags, *_):
    flags = s32(flags)
    if flags & ~AT_REMOVEDIR:
        raise LinuxError(EINVAL)
    path, start = _path(t, pathname), _start_dir(t, dirfd)
    if flags & AT_REMOVEDIR:
        t.kernel.vfs.rmdir(path, start)
    else:
        t.kernel.vfs.unlink(path, start)
    return 0


def sys_unlink(t, pathname, *_):
    return sys_unlinkat(t, AT_FDCWD, pathname, 0)


def sys_rmdir(t, pathname, *_):
    return sys_unlinkat(t, AT_FDCWD, pathname, AT_REMOVEDIR)


def sys_umask(t, mask, *_):
    old = t.process.umask
    t.process.umask = mask & 0o777
    return old


# --- changing attributes: chmod, chown, utimensat, truncate ------------------------------


def _fd_inode(t, fd):
    """The inode behind an open file descriptor (EBADF for pipes and other inode-less files)."""
    inode = getattr(_file(t, fd), "inode", None)
    if inode is None:
        raise LinuxError(EBADF)
    return inode


def _target_inode(t, dirfd, pathname, flags):
    """The inode a *at() call names: a path, or dirfd itself (AT_EMPTY_PATH, empty path)."""
    path = _path(t, pathname)
    if not path:
        if not flags & AT_EMPTY_PATH:
            raise LinuxError(ENOENT)
        if s32(dirfd) == AT_FDCWD:
            return t.process.cwd
        return _fd_inode(t, dirfd)
    return t.kernel.vfs.lookup(path, _start_dir(t, dirfd), not flags & AT_SYMLINK_NOFOLLOW)


def sys_fchmodat2(t, dirfd, pathname, mode, flags, *_):
    flags = s32(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise LinuxError(EINVAL)
    inode = _target_inode(t, dirfd, pathname, flags)
    if inode.is_symlink:
        raise LinuxError(EOPNOTSUPP)  # Linux cannot change a symlink's (unused) mode
    t.kernel.vfs.chmod_inode(inode, mode)
    return 0


def sys_fchmodat(t, dirfd, pathname, mode, *_):
    return sys_fchmodat2(t, dirfd, pathname, mode, 0)


def sys_chmod(t, pathname, mode, *_):
    return sys_fchmodat2(t, AT_FDCWD, pathname, mode, 0)


def sys_fchmod(t, fd, mode, *_):
    t.kernel.vfs.chmod_inode(_fd_inode(t, fd), mode)
    return 0


def sys_fchownat(t, dirfd, pathname, owner, group, flags, *_):
    flags = s32(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise LinuxError(EINVAL)
    t.kernel.vfs.chown_inode(_target_inode(t, dirfd, pathname, flags), owner & 0xFFFF_FFFF, group & 0xFFFF_FFFF)
    return 0


def sys_chown(t, pathname, owner, group, *_):
    return sys_fchownat(t, AT_FDCWD, pathname, owner, group, 0)


def sys_lchown(t, pathname, owner, group, *_):
    return sys_fchownat(t, AT_FDCWD, pathname, owner, group, AT_SYMLINK_NOFOLLOW)


def sys_fchown(t, fd, owner, group, *_):
    t.kernel.vfs.chown_inode(_fd_inode(t, fd), owner & 0xFFFF_FFFF, group & 0xFFFF_FFFF)
    return 0


UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
_timespec2 = struct.Struct("<qqqq")
_timeval2 = struct.Struct("<qqqq")


def _set_times(t, inode, times: tuple[tuple[int, int], tuple[int, int]] | None) -> int:
    """Apply (atime, mtime) as (sec, nsec) pairs with UTIME_NOW/UTIME_OMIT; None = both now."""
    now = inode.fs.clock()
    if times is None:
        t.kernel.vfs.may_set_times(inode, explicit=False)
        set_times(inode, now, now)
        return 0
    values: list[int | None] = []
    for sec, nsec in times:
        if nsec == UTIME_OMIT:
            values.append(None)
        elif nsec == UTIME_NOW:
            values.append(now)
        elif not 0 <= nsec < 1_000_000_000:
            raise LinuxError(EINVAL)
        else:
            values.append(sec * 1_000_000_000 + nsec)
    if values[0] is None and values[1] is None:
        return 0  # both omitted: nothing changes, not even ctime
    t.kernel.vfs.may_set_times(inode, explicit=any(nsec not in (UTIME_NOW, UTIME_OMIT) for _, nsec in times))
    set_times(inode, values[0], values[1])
    return 0


def sys_utimensat(t, dirfd, pathname, times, flags, *_):
    flags = s32(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise LinuxError(EINVAL)
    pairs = None
    if times:
        a_sec, a_nsec, m_sec, m_nsec = _timespec2.unpack(t.process.read_bytes(times, 32))
        pairs = ((a_sec, a_nsec), (m_sec, m_nsec))
    if not pathname:  # futimens(fd, times): glibc passes a NULL path
        if flags & AT_SYMLINK_NOFOLLOW:
            raise LinuxError(EINVAL)
        if s32(dirfd) == AT_FDCWD:
            raise LinuxError(EFAULT)
        inode = _fd_inode(t, dirfd)
    else:
        inode = _target_inode(t, dirfd, pathname, flags)
    return _set_times(t, inode, pairs)


def sys_futimesat(t, dirfd, pathname, times, *_):
    pairs = None
    if times:
        a_sec, a_usec, m_sec, m_usec = _timeval2.unpack(t.process.read_bytes(times, 32))
        if not (0 <= a_usec < 1_000_000 and 0 <= m_usec < 1_000_000):
            raise LinuxError(EINVAL)
        pairs = ((a_sec, a_usec * 1000), (m_sec, m_usec * 1000))
    inode = t.kernel.vfs.lookup(_path(t, pathname), _start_dir(t, dirfd))
    return _set_times(t, inode, pairs)


def sys_utimes(t, pathname, times, *_):
    return sys_futimesat(t, AT_FDCWD, pathname, times)


def sys_utime(t, pathname, times, *_):
    pairs = None
    if times:
        actime, modtime = struct.unpack("<qq", t.process.read_bytes(times, 16))
        pairs = ((actime, 0), (modtime, 0))
    return _set_times(t, t.kernel.vfs.lookup(_path(t, pathname), t.process.cwd), pairs)


def sys_truncate(t, pathname, length, *_):
    t.kernel.vfs.truncate(_path(t, pathname), s64(length), t.process.cwd)
    return 0


def sys_ftruncate(t, fd, length, *_):
    file = _file(t, fd)
    if getattr(file, "inode", None) is None:
        raise LinuxError(EINVAL)  # pipes, sockets, terminals
    file.truncate(s64(length))  # EINVAL unless a regular file open for writing
    return 0


# --- names: rename, link, symlink ----------------------------------------------------------

RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4


def sys_renameat2(t, olddirfd, oldpath, newdirfd, newpath, flags, *_):
    flags = flags & 0xFFFF_FFFF
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT):
        raise LinuxError(EINVAL)
    if flags & RENAME_NOREPLACE and flags & RENAME_EXCHANGE:
        raise LinuxError(EINVAL)
    if flags & (RENAME_EXCHANGE | RENAME_WHITEOUT):
        raise LinuxError(EINVAL)  # not supported by this ramfs (tmpfs has them)
    old, new = _path(t, oldpath), _path(t, newpath)
    t.kernel.vfs.rename(old, new, _start_dir(t, olddirfd), _start_dir(t, newdirfd),
                        noreplace=bool(flags & RENAME_NOREPLACE))  # fmt: skip
    return 0


def sys_renameat(t, olddirfd, oldpath, newdirfd, newpath, *_):
    return sys_renameat2(t, olddirfd, oldpath, newdirfd, newpath, 0)


def sys_rename(t, oldpath, newpath, *_):
    return sys_renameat2(t, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0)


def sys_linkat(t, olddirfd, oldpath, newdirfd, newpath, flags, *_):
    flags = s32(flags)
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise LinuxError(EINVAL)
    old, new = _path(t, oldpath), _path(t, newpath)
    vfs = t.kernel.vfs
    if not old and flags & AT_EMPTY_PATH:
        vfs.link_inode(_fd_inode(t, olddirfd), new, _start_dir(t, newdirfd))
        return 0
    vfs.link(old, new, _start_dir(t, olddirfd), bool(flags & AT_SYMLINK_FOLLOW), _start_dir(t, newdirfd))
    return 0


def sys_link(t, oldpath, newpath, *_):
    return sys_linkat(t, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0)


def sys_symlinkat(t, target, newdirfd, linkpath, *_):
    t.kernel.vfs.symlink(_path(t, target), _path(t, linkpath), _start_dir(t, newdirfd))
    return 0


def sys_symlink(t, target, linkpath, *_):
    return sys_symlinkat(t, target, AT_FDCWD, linkpath)


# --- mount, umount2 ---------------------------------------------------------------------------

PAGE = 4096
_TMPFS_FLAGS = {b"inode32", b"inode64", b"noswap", b"quota", b"usrquota", b"grpquota"}
#: Options the VFS itself understands in the data string (vfs_parse_sb_flag); ignored.
_SB_WORDS = {b"ro", b"rw", b"sync", b"async", b"dirsync", b"lazytime", b"nolazytime", b"mand", b"nomand",
             b"silent", b"loud"}  # fmt: skip


def _memparse(text: bytes) -> int:
    """Linux's ``memparse``: a number (decimal, 0x hex, 0 octal) with a k/m/g/t/p/e suffix."""
    units = b"kmgtpe"
    shift = 0
    if text and text[-1:].lower() in [bytes([u]) for u in units]:
        shift = 10 * (units.index(text[-1:].lower()) + 1)
        text = text[:-1]
    if not text.isalnum():
        raise LinuxError(EINVAL)  # also rejects "", "+1", "1_0" that int() would take
    try:
        if text[:2].lower() == b"0x":
            value = int(text[2:], 16)
        elif text[:1] == b"0" and len(text) > 1:
            value = int(text[1:], 8)
        else:
            value = int(text, 10)
    except ValueError:
        raise LinuxError(EINVAL) from None
    return value << shift


def _u32(text: bytes, base: int = 10) -> int:
    if not text.isalnum():
        raise LinuxError(EINVAL)
    try:
        value = int(text, base)
    except ValueError:
        raise LinuxError(EINVAL) from None
    if not 0 <= value <= 0xFFFF_FFFF:
        raise LinuxError(EINVAL)
    return value


def _mount_options(data: bytes) -> list[tuple[bytes, bytes | None]]:
    data = data.split(b"\0", 1)[0]
    out = []
    for word in data.split(b","):
        if not word or word in _SB_WORDS or word.startswith(b"source="):
            continue
        key, eq, value = word.partition(b"=")
        out.append((key, value if eq else None))
    return out


def _make_fs(t, fstype: bytes, data: bytes, old: Mount | None):
    """Build a tmpfs, ramfs or proc from mount(2)'s type and option string; with *old*
    (a remount) apply the options to that mount's file system instead. Returns the file
    system and the options /proc/mounts shows, as Linux's show_options prints them."""
    total_pages = t.kernel.memory_stats()[0]
    options = _mount_options(data)
    if fstype == b"tmpfs":
        fs = old.fs if old is not None else RamFs(max_bytes=total_pages // 2 * PAGE)
        mode = uid = gid = nr_inodes = None
        max_bytes = fs.max_bytes
        for key, value in options:
            if key in _TMPFS_FLAGS and value is None:
                continue
            if value is None or key not in (b"size", b"nr_blocks", b"nr_inodes", b"mode", b"uid", b"gid",
                                            b"huge", b"mpol"):  # fmt: skip
                raise LinuxError(EINVAL)  # "tmpfs: Unknown parameter"
            if key == b"size":
                if value.endswith(b"%"):
                    pages = total_pages * _u32(value[:-1]) // 100
                else:
                    pages = (_memparse(value) + PAGE - 1) // PAGE
                max_bytes = pages * PAGE if pages else None  # size=0: no limit
            elif key == b"nr_blocks":
                pages = _memparse(value)
                max_bytes = pages * PAGE if pages else None
            elif key == b"nr_inodes":
                nr_inodes = _memparse(value)
            elif key == b"mode":
                mode = _u32(value, 8) & 0o7777
            elif key == b"uid":
                uid = _u32(value)
            elif key == b"gid":
                gid = _u32(value)
            elif key == b"huge" and value not in (b"never", b"always", b"within_size", b"advise", b"deny",
                                                  b"force"):  # fmt: skip
                raise LinuxError(EINVAL)
        fs.max_bytes = max_bytes
        root = fs.root
        if old is None:
            root.mode = root.mode & ~0o7777 | (0o1777 if mode is None else mode)
            root.uid, root.gid = uid or 0, gid or 0
        shown = []
        if max_bytes is not None and max_bytes != total_pages // 2 * PAGE:
            shown.append(b"size=%dk" % (max_bytes // 1024))
        if nr_inodes is not None:
            shown.append(b"nr_inodes=%d" % nr_inodes)
        if root.mode & 0o7777 != 0o1777:
            shown.append(b"mode=%03o" % (root.mode & 0o7777))
        if root.uid:
            shown.append(b"uid=%d" % root.uid)
        if root.gid:
            shown.append(b"gid=%d" % root.gid)
        return fs, shown
    if fstype == b"ramfs":
        fs = old.fs if old is not None else RamFs()
        if old is None:
            fs.fs_type = b"ramfs"
            fs.magic = RAMFS_MAGIC
            for key, value in options:  # ramfs has always ignored options it does not know
                if key == b"mode" and value is not None:
                    fs.root.mode = fs.root.mode & ~0o7777 | (_u32(value, 8) & 0o7777)
        perm = fs.root.mode & 0o7777
        return fs, [b"mode=%o" % perm] if perm != 0o755 else []
    if fstype == b"proc":
        for key, value in options:
            if key not in (b"hidepid", b"gid", b"subset") or value is None:
                raise LinuxError(EINVAL)
        return (old.fs if old is not None else ProcFs(t.kernel)), []
    raise LinuxError(ENODEV)  # "unknown filesystem type"


def _optional_string(t, addr: int, limit: int) -> bytes | None:
    return t.process.read_cstring(addr, limit) if addr else None


def sys_mount(t, source, target, fstype, flags, data, *_):
    """mount(2) of tmpfs, ramfs or proc (new mounts, MS_REMOUNT, propagation no-ops)."""
    source_s = _optional_string(t, source, 4096)
    fstype_s = _optional_string(t, fstype, 4096)
    data_s = None
    if data:
        try:
            data_s = t.process.read_cstring(data, PAGE - 1)
        except LinuxError as error:
            if error.errno != ENAMETOOLONG:
                raise
            data_s = t.process.read_bytes(data, PAGE - 1)  # Linux copies one page of options
    path = _path(t, target)
    t.kernel.vfs.mount_syscall(source_s, path, fstype_s, flags & 0xFFFF_FFFF_FFFF_FFFF, data_s, t.process.cwd,
                               lambda kind, text, old: _make_fs(t, kind, text, old),
                               lambda fs: _fs_in_use(t, fs, writers_only=True))  # fmt: skip
    return 0


def _fs_in_use(t, fs, writers_only: bool = False) -> bool:
    """Does a live process have its working directory, its root or an open file on *fs*
    (with *writers_only*: a file open for writing)?"""
    for process in t.kernel.processes.values():
        if process.zombie:
            continue
        if not writers_only and (process.fs.cwd.fs is fs or process.fs.root.fs is fs):
            return True
        for _fd, file in process.files.items():
            inode = getattr(file, "inode", None)
            if inode is not None and inode.fs is fs and (not writers_only or getattr(file, "writable", False)):
                return True
    return False


def sys_umount2(t, target, flags, *_):
    path = _path(t, target)
    t.kernel.vfs.umount(path, s32(flags), t.process.cwd, lambda fs: _fs_in_use(t, fs))
    return 0


# --- flushing: everything is already in memory ---------------------------------------------


def sys_fsync(t, fd, *_):
    _file(t, fd)  # EBADF for a bad descriptor; a RAM file system has nothing to flush
    return 0


def sys_sync(t, *_):
    return 0


BLOCKING = True
SYSCALLS = (
    (nr.SYS_PIPE, sys_pipe, False),
    (nr.SYS_PIPE2, sys_pipe2, False),
    (nr.SYS_READ, sys_read, BLOCKING),
    (nr.SYS_WRITE, sys_write, False),
    (nr.SYS_PREAD64, sys_pread64, False),
    (nr.SYS_PWRITE64, sys_pwrite64, False),
    (nr.SYS_READV, sys_readv, BLOCKING),
    (nr.SYS_WRITEV, sys_writev, False),
    (nr.SYS_LSEEK, sys_lseek, False),
    (nr.SYS_SENDFILE, sys_sendfile, BLOCKING),
    (nr.SYS_OPEN, sys_open, False),
    (nr.SYS_OPENAT, sys_openat, False),
    (nr.SYS_CREAT, sys_creat, False),
    (nr.SYS_CLOSE, sys_close, False),
    (nr.SYS_CLOSE_RANGE, sys_close_range, False),
    (nr.SYS_FALLOCATE, sys_fallocate, False),
    (nr.SYS_PREADV, sys_preadv, BLOCKING),
    (nr.SYS_PWRITEV, sys_pwritev, BLOCKING),
    (nr.SYS_PREADV2, sys_preadv2, BLOCKING),
    (nr.SYS_PWRITEV2, sys_pwritev2, BLOCKING),
    (nr.SYS_DUP, sys_dup, False),
    (nr.SYS_DUP2, sys_dup2, False),
    (nr.SYS_DUP3, sys_dup3, False),
    (nr.SYS_FCNTL, sys_fcntl, False),
    (nr.SYS_FLOCK, sys_flock, False),
    (nr.SYS_IOCTL, sys_ioctl, False),
    (nr.SYS_NEWFSTATAT, sys_newfstatat, False),
    (nr.SYS_STAT, sys_stat, False),
    (nr.SYS_LSTAT, sys_lstat, False),
    (nr.SYS_FSTAT, sys_fstat, False),
    (nr.SYS_STATX, sys_statx, False),
    (nr.SYS_GETDENTS64, sys_getdents64, False),
    (nr.SYS_READLINKAT, sys_readlinkat, False),
    (nr.SYS_READLINK, sys_readlink, False),
    (nr.SYS_FACCESSAT, sys_faccessat, False),
    (nr.SYS_FACCESSAT2, sys_faccessat2, False),
    (nr.SYS_ACCESS, sys_access, False),
    (nr.SYS_GETCWD, sys_getcwd, False),
    (nr.SYS_CHDIR, sys_chdir, False),
    (nr.SYS_FCHDIR, sys_fchdir, False),
    (nr.SYS_CHROOT, sys_chroot, False),
    (nr.SYS_MOUNT, sys_mount, False),
    (nr.SYS_UMOUNT2, sys_umount2, False),
    (nr.SYS_MKDIRAT, sys_mkdirat, False),
    (nr.SYS_MKDIR, sys_mkdir, False),
    (nr.SYS_MKNODAT, sys_mknodat, False),
    (nr.SYS_MKNOD, sys_mknod, False),
    (nr.SYS_UNLINKAT, sys_unlinkat, False),
    (nr.SYS_UNLINK, sys_unlink, False),
    (nr.SYS_RMDIR, sys_rmdir, False),
    (nr.SYS_UMASK, sys_umask, False),
    (nr.SYS_STATFS, sys_statfs, False),
    (nr.SYS_FSTATFS, sys_fstatfs, False),
    (nr.SYS_CHMOD, sys_chmod, False),
    (nr.SYS_FCHMOD, sys_fchmod, False),
    (nr.SYS_FCHMODAT, sys_fchmodat, False),
    (nr.SYS_FCHMODAT2, sys_fchmodat2, False),
    (nr.SYS_CHOWN, sys_chown, False),
    (nr.SYS_LCHOWN, sys_lchown, False),
    (nr.SYS_FCHOWN, sys_fchown, False),
    (nr.SYS_FCHOWNAT, sys_fchownat, False),
    (nr.SYS_UTIMENSAT, sys_utimensat, False),
    (nr.SYS_FUTIMESAT, sys_futimesat, False),
    (nr.SYS_UTIMES, sys_utimes, False),
    (nr.SYS_UTIME, sys_utime, False),
    (nr.SYS_TRUNCATE, sys_truncate, False),
    (nr.SYS_FTRUNCATE, sys_ftruncate, False),
    (nr.SYS_RENAME, sys_rename, False),
    (nr.SYS_RENAMEAT, sys_renameat, False),
    (nr.SYS_RENAMEAT2, sys_renameat2, False),
    (nr.SYS_LINK, sys_link, False),
    (nr.SYS_LINKAT, sys_linkat, False),
    (nr.SYS_SYMLINK, sys_symlink, False),
    (nr.SYS_SYMLINKAT, sys_symlinkat, False),
    (nr.SYS_FSYNC, sys_fsync, False),
    (nr.SYS_FDATASYNC, sys_fsync, False),
    (nr.SYS_SYNCFS, sys_fsync, False),
    (nr.SYS_SYNC, sys_sync, False),
)
