"""RamFs: a file system whose only storage is memory, like Linux's ramfs/tmpfs.

Every file is an :class:`Inode`. An inode is the file itself -- type, permissions,
owner, size, timestamps and contents -- but *not* its name. Names live in directories:
a directory inode maps names to child inodes. That split is why Unix has hard links
(two names, one inode, ``nlink == 2``) and why a file keeps existing after ``unlink``
while someone still has it open.

Directory-changing operations (``create``, ``mkdir``, ``link``, ``unlink``, ...) are
methods on the *directory* inode, mirroring Linux's ``struct inode_operations``. They do
no path parsing and no permission checks; that is the VFS's job (see ``vfs.py``).
"""

from __future__ import annotations

import itertools
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from asterinas_lab.kernel.error import EEXIST, ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY, EPERM, LinuxError
from asterinas_lab.kernel.fs.stat import (
    S_IFCHR,
    S_IFDIR,
    S_IFIFO,
    S_IFLNK,
    S_IFMT,
    S_IFREG,
    Kstat,
    makedev,
)

if TYPE_CHECKING:
    from asterinas_lab.kernel.fs.devfs import CharDevice

#: Page size; tmpfs allocates file contents in pages, which is what st_blocks reflects.
PAGE_SIZE = 4096
#: tmpfs pretends each directory entry takes 20 bytes (``BOGO_DIRENT_SIZE``); an empty
#: directory has size 40 for "." and "..". We copy that so ``ls -l`` looks familiar.
BOGO_DIRENT_SIZE = 20

#: The first readdir offset of a directory entry (0 and 1 are "." and "..").
FIRST_DIR_OFFSET = 3
#: The readdir position after the last entry (Linux's DIR_OFFSET_EOD).
DIR_OFFSET_EOD = 0x7FFF_FFFF

# Anonymous file systems get device numbers (0, n); n counts up like get_anon_bdev().
_anon_minor = itertools.count(0x20)


class Inode:
    """One file of a :class:`RamFs`: a regular file, directory, symlink or device node.

    Exactly one of ``data`` (regular file), ``children`` (directory) or ``target``
    (symlink) is in use, chosen by the type bits of ``mode``. A character device node
    may carry a ``device`` object that implements its read/write/ioctl.
    """

    __slots__ = (
        "fs",
        "ino",
        "mode",
        "nlink",
        "uid",
        "gid",
        "rdev",
        "atime_ns",
        "mtime_ns",
        "ctime_ns",
        "data",
        "children",
        "target",
        "parent",
        "device",
        "page_cache",
        "pipe",
        "dir_offsets",
        "dir_next",
        "__weakref__",
    )

    def __init__(self, fs: RamFs, ino: int, mode: int, uid: int, gid: int, rdev: int) -> None:
        now = fs.clock()
        self.fs = fs
        self.ino = ino
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.rdev = rdev
        self.atime_ns = self.mtime_ns = self.ctime_ns = now
        # Directories start with two links: their name in the parent and their own ".".
        self.nlink = 2 if self.is_dir else 1
        self.data: bytearray | None = bytearray() if self.is_reg else None
        self.children: dict[bytes, Inode] | None = {} if self.is_dir else None
        self.target: bytes | None = b"" if self.is_symlink else None
        # A directory has exactly one parent (no hard links to directories), so ".."
        # and getcwd() can simply follow this pointer. The root is its own parent.
        self.parent: Inode | None = None
        self.device: CharDevice | None = None
        # Frames of MAP_SHARED mappings of this file (vm/shared.py), kept in sync.
        self.page_cache = None
        # The shared pipe of a FIFO while it has readers or writers (fs/pipe.py).
        self.pipe = None
        # A directory's stable readdir offsets (tmpfs's ``simple_offset``): each name gets
        # the next number when it is linked in, and listings go from the highest number
        # down -- newest first, as Linux tmpfs and ramfs list. A position between two
        # getdents64 calls is an offset, so deleting entries already returned (``rm -r``)
        # cannot make the listing skip the ones not yet returned.
        # (Directories whose ``children`` are generated on demand, like procfs's, keep
        # their generation order and number their entries by position instead.)
        stored = type(self).children is Inode.children
        self.dir_offsets: dict[bytes, int] | None = {} if self.is_dir and stored else None
        self.dir_next = FIRST_DIR_OFFSET
        if self.is_reg and getattr(fs, "max_bytes", None) is not None:
            fs.track(self)

    def __repr__(self) -> str:
        return f"<Inode ino={self.ino} mode={self.mode:o} nlink={self.nlink}>"

    # ----- type predicates (S_ISDIR and friends) -----

    @property
    def file_type(self) -> int:
        return self.mode & S_IFMT

    @property
    def is_dir(self) -> bool:
        return self.mode & S_IFMT == S_IFDIR

    @property
    def is_reg(self) -> bool:
        return self.mode & S_IFMT == S_IFREG

    @property
    def is_symlink(self) -> bool:
        return self.mode & S_IFMT == S_IFLNK

    @property
    def is_chr(self) -> bool:
        return self.mode & S_IFMT == S_IFCHR

    # ----- attributes -----

    @property
    def size(self) -> int:
        """st_size: bytes for files, target length for symlinks, tmpfs-style for dirs."""
        if self.data is not None:
            return len(self.data)
        if self.target is not None:
            return len(self.target)
        if self.children is not None:
            return BOGO_DIRENT_SIZE * (2 + len(self.children))
        return 0

    def touch(self, *, atime: bool = False, mtime: bool = False, ctime: bool = False) -> None:
        """Set the chosen timestamps to "now" (a write updates mtime and ctime, ...)."""
        now = self.fs.clock()
        if atime:
            self.atime_ns = now
        if mtime:
            self.mtime_ns = now
        if ctime:
            self.ctime_ns = now

    def getattr(self) -> Kstat:
        """Describe this inode for stat(), like Linux's ``generic_fillattr``."""
        size = self.size
        blocks = (size + PAGE_SIZE - 1) // PAGE_SIZE * (PAGE_SIZE // 512) if self.is_reg else 0
        return Kstat(
            dev=self.fs.dev,
            ino=self.ino,
            mode=self.mode,
            nlink=self.nlink,
            uid=self.uid,
            gid=self.gid,
            rdev=self.rdev,
            size=size,
            blksize=PAGE_SIZE,
            blocks=blocks,
            atime_ns=self.atime_ns,
            mtime_ns=self.mtime_ns,
            ctime_ns=self.ctime_ns,
        )

    @property
    def is_fifo(self) -> bool:
        return self.mode & S_IFMT == S_IFIFO

    def truncate(self, length: int) -> None:
        """Cut or zero-extend a regular file (the "hole" reads back as zeros)."""
        assert self.data is not None
        if length > len(self.data):
            self.fs.check_space(len(self.data), length, partial=False)
        if length < len(self.data):
            del self.data[length:]
        else:
            self.data.extend(bytes(length - len(self.data)))
        self.touch(mtime=True, ctime=True)

    # ----- directory operations (inode_operations) -----

    def entries(self) -> dict[bytes, Inode]:
        if self.children is None:
            raise LinuxError(ENOTDIR)
        return self.children

    def assign_offset(self, name: bytes) -> None:
        """Give directory entry *name* the next readdir offset (it is now the newest)."""
        offsets = self.dir_offsets
        if offsets is not None:
            offsets.pop(name, None)
            offsets[name] = self.dir_next
            self.dir_next += 1

    def drop_offset(self, name: bytes) -> None:
        """Forget the readdir offset of a removed entry."""
        if self.dir_offsets is not None:
            self.dir_offsets.pop(name, None)

    def listing(self) -> list[tuple[int, bytes, Inode]]:
        """The entries as (offset, name, inode), newest first (highest offset first).

        Names put into ``children`` directly (the initramfs loader, ``adopt``) get their
        offsets here, in dictionary order. A generated directory (procfs) has no stored
        offsets: its entries are numbered by position, first listed = highest.
        """
        children = self.entries()
        offsets = self.dir_offsets
        if offsets is None:
            top = FIRST_DIR_OFFSET + len(children)
            return [(top - i, name, child) for i, (name, child) in enumerate(children.items())]
        if len(offsets) != len(children) or any(name not in children for name in offsets):
            for name in [name for name in offsets if name not in children]:
                del offsets[name]
            for name in children:
                if name not in offsets:
                    offsets[name] = self.dir_next
                    self.dir_next += 1
        return sorted(((off, name, children[name]) for name, off in offsets.items()), reverse=True,
                      key=lambda entry: entry[0])  # fmt: skip

    def lookup(self, name: bytes) -> Inode:
        """Find *name* in this directory. "." and ".." are not stored; they are computed.

        Storing them would create reference cycles in the tree and make every rename of a
        directory update its ".." entry; computing them from ``parent`` is simpler.
        """
        children = self.entries()
        if name == b".":
            return self
        if name == b"..":
            return self.parent or self
        child = children.get(name)
        if child is None:
            raise LinuxError(ENOENT)
        return child

    def link(self, name: bytes, inode: Inode) -> None:
        """Add a name for *inode* here; the caller has checked it does not exist yet."""
        children = self.entries()
        if name in children:
            raise LinuxError(EEXIST)
        if inode.is_dir:
            # Only rename() moves directories; user space can never hard-link one.
            raise LinuxError(EPERM)
        children[name] = inode
        self.assign_offset(name)
        inode.nlink += 1
        inode.touch(ctime=True)
        self.touch(mtime=True, ctime=True)

    def unlink(self, name: bytes) -> Inode:
        """Remove the name *name*; the inode lives on while open files reference it."""
        children = self.entries()
        inode = children.get(name)
        if inode is None:
            raise LinuxError(ENOENT)
        if inode.is_dir and inode.children:
            raise LinuxError(ENOTEMPTY)
        del children[name]
        self.drop_offset(name)
        if inode.is_dir:
            inode.nlink = 0  # both the name and its own "." are gone
            self.nlink -= 1
        else:
            inode.nlink -= 1
        inode.touch(ctime=True)
        self.touch(mtime=True, ctime=True)
        return inode

    def move(self, name: bytes, new_dir: Inode, new_name: bytes) -> None:
        """Move entry *name* to *new_dir*/*new_name* (the core of rename()).

        The caller (the VFS) has already removed any existing *new_name* and checked the
        directory-loop rules. Moving a directory re-parents it, so the link counts of
        both parents change because the child's ".." now points elsewhere.
        """
        inode = self.lookup(name)
        del self.entries()[name]
        self.drop_offset(name)
        new_dir.entries()[new_name] = inode
        new_dir.assign_offset(new_name)
        if inode.is_dir:
            self.nlink -= 1
            new_dir.nlink += 1
            inode.parent = new_dir
        inode.touch(ctime=True)
        self.touch(mtime=True, ctime=True)
        new_dir.touch(mtime=True, ctime=True)

    def _new_child(self, name: bytes, mode: int, uid: int, gid: int, rdev: int = 0) -> Inode:
        if name in self.entries():
            raise LinuxError(EEXIST)
        inode = self.fs.alloc_inode(mode, uid, gid, rdev)
        # A fresh inode has nlink already counting this first name; link() would add one.
        self.entries()[name] = inode
        self.assign_offset(name)
        if inode.is_dir:
            inode.parent = self
            self.nlink += 1
        self.touch(mtime=True, ctime=True)
        return inode

    def create(self, name: bytes, perm: int, uid: int = 0, gid: int = 0) -> Inode:
        """Create an empty regular file (open with O_CREAT, creat())."""
        return self._new_child(name, S_IFREG | (perm & 0o7777), uid, gid)

    def mkdir(self, name: bytes, perm: int, uid: int = 0, gid: int = 0) -> Inode:
        """Create an empty directory."""
        return self._new_child(name, S_IFDIR | (perm & 0o7777), uid, gid)

    def symlink(self, name: bytes, target: bytes, uid: int = 0, gid: int = 0) -> Inode:
        """Create a symbolic link; its permissions are always 0777 and never checked."""
        inode = self._new_child(name, S_IFLNK | 0o777, uid, gid)
        inode.target = bytes(target)
        return inode

    def mknod(
        self,
        name: bytes,
        mode: int,
        rdev: int = 0,
        device: CharDevice | None = None,
        uid: int = 0,
        gid: int = 0,
    ) -> Inode:
        """Create a special file (device node, FIFO, socket) with full *mode* incl. type."""
        inode = self._new_child(name, mode, uid, gid, rdev)
        inode.device = device
        return inode


class RamFs:
    """An in-memory file system: an inode-number allocator, a device number and a root.

    ``readonly`` and ``noexec`` are the flags of the mount showing it (a RAM file system
    is mounted at most once here: there are no bind mounts), which is where the VFS
    looks for them when a write (EROFS) or an exec (EACCES) reaches one of its inodes.
    """

    #: The type /proc/mounts shows (``tmpfs``; ``ramfs`` for a plain ramfs mount).
    fs_type = b"tmpfs"
    readonly = False
    noexec = False
    #: The MS_* flags of its mount (statfs's f_flags).
    mount_flags = 0

    def __init__(
        self,
        clock: Callable[[], int] = time.time_ns,
        dev: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        """*clock* returns nanoseconds since the epoch; tests may pass a fake clock.

        *max_bytes* limits the file contents, counted in whole pages like tmpfs's
        ``size=`` option; ``None`` means no limit (a plain ramfs).
        """
        self.clock = clock
        self.max_bytes = max_bytes
        #: Regular files still alive (named or open), to count used pages (tmpfs
        #: frees a file's pages only when its last link and last open file are gone).
        self._files: weakref.WeakSet[Inode] = weakref.WeakSet()
        self.dev = dev if dev is not None else makedev(0, next(_anon_minor))
        self._next_ino = itertools.count(1)
        self.root = self.alloc_inode(S_IFDIR | 0o755, 0, 0)
        self.root.parent = self.root

    def alloc_inode(self, mode: int, uid: int = 0, gid: int = 0, rdev: int = 0) -> Inode:
        """Make a new, nameless inode with the next inode number."""
        return Inode(self, next(self._next_ino), mode, uid, gid, rdev)

    # ----- space accounting (tmpfs size=) -----

    def track(self, inode: Inode) -> None:
        self._files.add(inode)

    @property
    def max_pages(self) -> int | None:
        return None if self.max_bytes is None else self.max_bytes // PAGE_SIZE

    def used_pages(self) -> int:
        """Pages held by file contents (statfs f_blocks - f_bfree)."""
        return sum(_pages(len(f.data)) for f in list(self._files) if f.data is not None)

    def check_space(self, old_len: int, new_len: int, partial: bool = True) -> int:
        """How long a file of *old_len* bytes may grow towards *new_len*.

        Returns *new_len* when it fits. Otherwise, with *partial*, the largest length that
        still fits (a write stores what fits, like tmpfs); ENOSPC when nothing more fits
        or *partial* is false.
        """
        limit = self.max_pages
        if limit is None or new_len <= old_len:
            return new_len
        extra = _pages(new_len) - _pages(old_len)
        if extra <= 0:
            return new_len
        available = limit - self.used_pages()
        if extra <= available:
            return new_len
        allowed = (_pages(old_len) + max(available, 0)) * PAGE_SIZE
        if not partial or allowed <= old_len:
            raise LinuxError(ENOSPC)
        return allowed

    def adopt(self, directory: Inode, source: Inode) -> None:
        """Move every entry of *source* (a directory of another RamFs) into *directory*.

        Used at boot to mount a fresh tmpfs on /tmp without losing what the initramfs
        put there: the inodes get this file system's device and inode numbers.
        """
        children = source.entries()
        for name, child in list(children.items()):
            del children[name]
            self._rehome(child)
            directory.entries()[name] = child
            if child.is_dir:
                child.parent = directory
                source.nlink -= 1
                directory.nlink += 1

    def _rehome(self, inode: Inode) -> None:
        inode.fs = self
        inode.ino = next(self._next_ino)
        if inode.data is not None and self.max_bytes is not None:
            self.track(inode)
        for child in (inode.children or {}).values():
            if child.fs is not self:
                self._rehome(child)


def _pages(length: int) -> int:
    return (length + PAGE_SIZE - 1) // PAGE_SIZE
