"""Packing ``struct stat`` and ``struct statx`` exactly as x86-64 Linux lays them out.

A syscall such as ``newfstatat`` does not return a Python object: it fills a C struct in
user memory. The user program (glibc, musl, busybox) was compiled against a fixed
layout, so every byte offset must match the kernel's ABI or ``ls -l`` prints garbage.

The file system describes a file with :class:`Kstat` (named after Linux's
``struct kstat``, the kernel-internal, layout-free result of ``vfs_getattr``). This module
turns a :class:`Kstat` into the user-visible bytes. Keeping the two apart is the same
split Linux makes: file systems fill ``kstat``; ``cp_new_stat``/``cp_statx`` encode it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

# File type bits of st_mode (include/uapi/linux/stat.h).
S_IFMT = 0o170000
S_IFSOCK = 0o140000
S_IFLNK = 0o120000
S_IFREG = 0o100000
S_IFBLK = 0o060000
S_IFDIR = 0o040000
S_IFCHR = 0o020000
S_IFIFO = 0o010000
S_ISUID = 0o4000
S_ISGID = 0o2000
S_ISVTX = 0o1000

# statx() request/result mask bits.
STATX_TYPE = 0x0001
STATX_MODE = 0x0002
STATX_NLINK = 0x0004
STATX_UID = 0x0008
STATX_GID = 0x0010
STATX_ATIME = 0x0020
STATX_MTIME = 0x0040
STATX_CTIME = 0x0080
STATX_INO = 0x0100
STATX_SIZE = 0x0200
STATX_BLOCKS = 0x0400
STATX_BASIC_STATS = 0x07FF
STATX_BTIME = 0x0800

#: ``struct stat`` on x86-64 (arch/x86/include/uapi/asm/stat.h), little endian, no implicit
#: padding: dev, ino, nlink, mode, uid, gid, __pad0, rdev, size, blksize, blocks,
#: atime, atime_nsec, mtime, mtime_nsec, ctime, ctime_nsec, __unused[3].
STAT_FORMAT = struct.Struct("<QQQIIIIQqqqqqqqqqqqq")
STAT_SIZE = 144
assert STAT_FORMAT.size == STAT_SIZE

#: ``struct statx`` (include/uapi/linux/stat.h) up to ``stx_dio_offset_align``; the rest of
#: the 256 bytes is spare space the kernel zero-fills. Timestamps are
#: ``struct statx_timestamp { s64 tv_sec; u32 tv_nsec; s32 __reserved; }``.
STATX_HEAD_FORMAT = struct.Struct(
    "<IIQIIIHHQQQQ"  # mask, blksize, attributes, nlink, uid, gid, mode, spare0, ino,
    # size, blocks, attributes_mask
    "qIi"
    "qIi"
    "qIi"
    "qIi"  # atime, btime, ctime, mtime
    "IIIIQII"  # rdev_major, rdev_minor, dev_major, dev_minor, mnt_id, dio_mem/offset_align
)
STATX_SIZE = 256
assert STATX_HEAD_FORMAT.size == 160


def makedev(major: int, minor: int) -> int:
    """Encode a device number the way glibc's ``makedev`` and the kernel's stat do.

    The odd bit shuffling keeps the historical 8-bit major/minor encoding valid for small
    numbers (``makedev(1, 3) == 0x103`` for /dev/null) while leaving room for 32-bit
    majors and minors.
    """
    return (
        ((major & 0xFFFFF000) << 32)
        | ((major & 0x00000FFF) << 8)
        | ((minor & 0xFFFFFF00) << 12)
        | (minor & 0x000000FF)
    )


def major(dev: int) -> int:
    """Inverse of :func:`makedev` for the major number."""
    return ((dev >> 32) & 0xFFFFF000) | ((dev >> 8) & 0x00000FFF)


def minor(dev: int) -> int:
    """Inverse of :func:`makedev` for the minor number."""
    return ((dev >> 12) & 0xFFFFFF00) | (dev & 0x000000FF)


@dataclass
class Kstat:
    """Layout-free file attributes, like Linux's ``struct kstat``.

    Times are integer nanoseconds since the epoch: floats cannot hold today's time with
    nanosecond precision, and stat reports seconds and nanoseconds separately.
    """

    dev: int
    ino: int
    mode: int
    nlink: int
    uid: int
    gid: int
    rdev: int
    size: int
    blksize: int
    blocks: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int
    btime_ns: int = 0

    @classmethod
    def from_host(cls, st: Any) -> Kstat:
        """Build from a host ``os.stat_result``; used by tests to compare layouts."""
        return cls(
            dev=st.st_dev,
            ino=st.st_ino,
            mode=st.st_mode,
            nlink=st.st_nlink,
            uid=st.st_uid,
            gid=st.st_gid,
            rdev=st.st_rdev,
            size=st.st_size,
            blksize=st.st_blksize,
            blocks=st.st_blocks,
            atime_ns=st.st_atime_ns,
            mtime_ns=st.st_mtime_ns,
            ctime_ns=st.st_ctime_ns,
        )


def _split_ns(ns: int) -> tuple[int, int]:
    """Split nanoseconds into (seconds, nanoseconds) with 0 <= nsec < 1e9, like timespec.

    ``divmod`` floors, so times before 1970 still get a non-negative nanosecond part,
    which is what the kernel's ``timespec64`` normalisation produces.
    """
    return divmod(ns, 1_000_000_000)


def pack_stat(st: Kstat) -> bytes:
    """Return the 144-byte x86-64 ``struct stat`` that ``stat``/``fstat``/``newfstatat`` copy out."""
    a_sec, a_nsec = _split_ns(st.atime_ns)
    m_sec, m_nsec = _split_ns(st.mtime_ns)
    c_sec, c_nsec = _split_ns(st.ctime_ns)
    return STAT_FORMAT.pack(
        st.dev,
        st.ino,
        st.nlink,
        st.mode,
        st.uid,
        st.gid,
        0,  # __pad0
        st.rdev,
        st.size,
        st.blksize,
        st.blocks,
        a_sec,
        a_nsec,
        m_sec,
        m_nsec,
        c_sec,
        c_nsec,
        0,
        0,
        0,  # __unused[3]
    )


def unpack_stat(raw: bytes) -> dict[str, int]:
    """Decode a packed ``struct stat`` into named fields (for tests and debugging)."""
    names = (
        "st_dev st_ino st_nlink st_mode st_uid st_gid pad0 st_rdev st_size st_blksize "
        "st_blocks st_atime st_atime_nsec st_mtime st_mtime_nsec st_ctime st_ctime_nsec "
        "unused0 unused1 unused2"
    ).split()
    return dict(zip(names, STAT_FORMAT.unpack(raw), strict=True))


def pack_statx(st: Kstat, mask: int = STATX_BASIC_STATS) -> bytes:
    """Return the 256-byte ``struct statx``.

    ``stx_mask`` tells user space which fields are valid. Like a simple Linux file
    system we always fill the basic stats regardless of the requested *mask* (the kernel
    is allowed to return more than asked), and report a birth time only if we have one.
    """
    result_mask = STATX_BASIC_STATS
    if st.btime_ns:
        result_mask |= STATX_BTIME
    del mask  # accepted for API symmetry with statx(2); basic stats are always cheap here
    times = []
    for ns in (st.atime_ns, st.btime_ns, st.ctime_ns, st.mtime_ns):
        sec, nsec = _split_ns(ns)
        times += [sec, nsec, 0]
    head = STATX_HEAD_FORMAT.pack(
        result_mask,
        st.blksize,
        0,  # stx_attributes
        st.nlink,
        st.uid,
        st.gid,
        st.mode & 0xFFFF,
        0,  # __spare0
        st.ino,
        st.size,
        st.blocks,
        0,  # stx_attributes_mask
        *times,
        major(st.rdev),
        minor(st.rdev),
        major(st.dev),
        minor(st.dev),
        0,  # stx_mnt_id
        0,
        0,  # dio alignments: no direct I/O on a RAM file system
    )
    return head + bytes(STATX_SIZE - len(head))
