"""The initramfs: a cpio "newc" archive unpacked into a RamFs at boot.

Linux boots with an empty root file system and fills it from a cpio archive that the
boot loader placed in memory (``init/initramfs.c``). The "newc" format is simple text
headers followed by data, so it is a nice first file format to read:

    header (110 ASCII bytes): "070701" + 13 fields of 8 hex digits
        ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
        namesize check
    name (namesize bytes incl. NUL), padded so header+name is a multiple of 4
    data (filesize bytes: file contents, or the target of a symlink), padded to 4

The archive ends with an entry named ``TRAILER!!!``. Hard links share an ``ino`` (and
have ``nlink > 1``); their data is stored once. Several archives may be concatenated,
optionally gzip-compressed, exactly as the kernel accepts them.
"""

from __future__ import annotations

import gzip
import os
import stat as host_stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from asterinas_lab.kernel.error import LinuxError
from asterinas_lab.kernel.fs.ramfs import Inode, RamFs
from asterinas_lab.kernel.fs.stat import (
    S_IFBLK,
    S_IFCHR,
    S_IFDIR,
    S_IFIFO,
    S_IFLNK,
    S_IFMT,
    S_IFREG,
    S_IFSOCK,
    makedev,
)

MAGIC_NEWC = b"070701"
MAGIC_CRC = b"070702"  # same layout, plus a checksum of the data
HEADER_SIZE = 110
TRAILER = b"TRAILER!!!"
_FIELDS = (
    "ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check"
).split()


class CpioFormatError(ValueError):
    """The archive is not a valid cpio newc archive (bad magic, truncated, bad name...)."""


@dataclass
class CpioEntry:
    """One archive member, decoded but not yet applied to a file system."""

    name: bytes
    ino: int
    mode: int
    uid: int
    gid: int
    nlink: int
    mtime: int
    devmajor: int
    devminor: int
    rdevmajor: int
    rdevminor: int
    data: bytes


def _align4(n: int) -> int:
    return (n + 3) & ~3


def parse_cpio_newc(archive: bytes) -> Iterator[CpioEntry]:
    """Yield the entries of one or more concatenated (possibly gzipped) newc archives.

    Between archives the kernel skips zero padding; we do the same. Errors raise
    :class:`CpioFormatError` with the byte offset, so a broken image is easy to debug.
    """
    data = memoryview(archive)
    if not any(data):
        # The kernel would boot with an empty root; for us that is surely a mistake.
        raise CpioFormatError("empty archive: no cpio data found")
    pos = 0
    while pos < len(data):
        if data[pos] == 0:
            pos += 1  # padding between concatenated archives
            continue
        if bytes(data[pos : pos + 2]) == b"\x1f\x8b":
            # A gzip member: decompress it and parse the result recursively.
            decomp = zlib.decompressobj(wbits=31)
            try:
                inner = decomp.decompress(bytes(data[pos:]))
            except zlib.error as exc:
                raise CpioFormatError(f"offset {pos}: bad gzip data: {exc}") from None
            if not decomp.eof:
                raise CpioFormatError(f"offset {pos}: truncated gzip data")
            yield from parse_cpio_newc(inner)
            pos = len(data) - len(decomp.unused_data)
            continue
        pos = yield from _parse_one_archive(data, pos)


def _parse_one_archive(data: memoryview, pos: int) -> Iterator[CpioEntry]:
    """Parse entries from *pos* up to and including TRAILER!!!; return the end offset."""
    while True:
        header = bytes(data[pos : pos + HEADER_SIZE])
        if len(header) < HEADER_SIZE:
            raise CpioFormatError(f"offset {pos}: truncated header (missing TRAILER!!!?)")
        magic = header[:6]
        if magic not in (MAGIC_NEWC, MAGIC_CRC):
            raise CpioFormatError(f"offset {pos}: bad magic {magic!r}, expected {MAGIC_NEWC!r}")
        try:
            values = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            raise CpioFormatError(f"offset {pos}: header field is not hex") from None
        f = dict(zip(_FIELDS, values, strict=True))
        name_start = pos + HEADER_SIZE
        name_end = name_start + f["namesize"]
        data_start = _align4(name_end)
        data_end = data_start + f["filesize"]
        if f["namesize"] == 0 or data_end > len(data):
            raise CpioFormatError(f"offset {pos}: entry runs past the end of the archive")
        raw_name = bytes(data[name_start:name_end])
        if not raw_name.endswith(b"\0") or b"\0" in raw_name[:-1]:
            raise CpioFormatError(f"offset {pos}: name is not NUL-terminated")
        name = raw_name[:-1]
        body = bytes(data[data_start:data_end])
        if magic == MAGIC_CRC and sum(body) & 0xFFFFFFFF != f["check"]:
            raise CpioFormatError(f"offset {pos}: checksum mismatch for {name!r}")
        pos = _align4(data_end)
        if name == TRAILER:
            return pos
        yield CpioEntry(
            name=name,
            ino=f["ino"],
            mode=f["mode"],
            uid=f["uid"],
            gid=f["gid"],
            nlink=f["nlink"],
            mtime=f["mtime"],
            devmajor=f["devmajor"],
            devminor=f["devminor"],
            rdevmajor=f["rdevmajor"],
            rdevminor=f["rdevminor"],
            data=body,
        )


def _clean_name(name: bytes) -> list[bytes]:
    """Split an archive path into components; "./a/b", "/a/b" and "a/b" are the same."""
    parts = [p for p in name.split(b"/") if p and p != b"."]
    if b".." in parts:
        raise CpioFormatError(f"refusing path with '..': {name!r}")
    return parts


def unpack_cpio_newc(archive: bytes, fs: RamFs) -> None:
    """Unpack *archive* into *fs*, like the kernel's ``populate_rootfs``.

    Missing parent directories are created (0755) rather than failing, and an existing
    entry of the same name is replaced, so later archives can override earlier ones.
    """
    # (dev major, dev minor, ino) -> inode already created, for hard links.
    links: dict[tuple[int, int, int], Inode] = {}
    # Creating an entry touches its directory's mtime, so directory times are set
    # after everything is unpacked, as Linux's dir_utime() does.
    dir_times: list[tuple[Inode, int]] = []
    for entry in parse_cpio_newc(archive):
        parts = _clean_name(entry.name)
        mtime_ns = entry.mtime * 1_000_000_000
        if not parts:  # the "." entry describes the root directory itself
            fs.root.mode = S_IFDIR | (entry.mode & 0o7777)
            fs.root.uid, fs.root.gid = entry.uid, entry.gid
            dir_times.append((fs.root, mtime_ns))
            continue
        parent = fs.root
        for comp in parts[:-1]:
            assert parent.children is not None
            nxt = parent.children.get(comp)
            if nxt is None:
                nxt = parent.mkdir(comp, 0o755)
            elif not nxt.is_dir:
                raise CpioFormatError(f"{entry.name!r}: {comp!r} is not a directory")
            parent = nxt
        name = parts[-1]
        assert parent.children is not None
        existing = parent.children.get(name)
        kind = entry.mode & S_IFMT
        if existing is not None:
            if existing.is_dir and kind == S_IFDIR:
                existing.mode = entry.mode
                existing.uid, existing.gid = entry.uid, entry.gid
                dir_times.append((existing, mtime_ns))
                continue
            try:
                parent.unlink(name)
            except LinuxError:
                raise CpioFormatError(f"{entry.name!r}: cannot replace non-empty dir") from None
        inode = _create(parent, name, entry, kind, links)
        inode.uid, inode.gid = entry.uid, entry.gid
        inode.mtime_ns = mtime_ns
        if inode.is_dir:
            dir_times.append((inode, mtime_ns))
    for inode, mtime_ns in dir_times:
        inode.mtime_ns = mtime_ns


def _create(
    parent: Inode,
    name: bytes,
    entry: CpioEntry,
    kind: int,
    links: dict[tuple[int, int, int], Inode],
) -> Inode:
    perm = entry.mode & 0o7777
    if kind == S_IFREG:
        key = (entry.devmajor, entry.devminor, entry.ino)
        if entry.nlink > 1 and key in links:
            # Another name for a file we already made (kernel: maybe_link()).
            inode = links[key]
            parent.link(name, inode)
        else:
            inode = parent.create(name, perm)
            if entry.nlink > 1:
                links[key] = inode
        if entry.data:  # the data may travel with any one of the links
            assert inode.data is not None
            inode.data[:] = entry.data
        return inode
    if kind == S_IFDIR:
        return parent.mkdir(name, perm)
    if kind == S_IFLNK:
        return parent.symlink(name, entry.data)
    if kind in (S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK):
        rdev = makedev(entry.rdevmajor, entry.rdevminor)
        return parent.mknod(name, kind | perm, rdev)
    raise CpioFormatError(f"{entry.name!r}: unknown file type {entry.mode:o}")


def load_initramfs(archive: bytes, fs: RamFs | None = None) -> RamFs:
    """Convenience: a new (or given) RamFs filled from *archive*."""
    fs = fs or RamFs()
    unpack_cpio_newc(archive, fs)
    return fs


# ----- building archives on the host -----


def _newc_entry(name: bytes, ino: int, mode: int, nlink: int, mtime: int, data: bytes) -> bytes:
    fields = [ino, mode, 0, 0, nlink, mtime, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    header = MAGIC_NEWC + b"".join(b"%08X" % v for v in fields)
    out = header + name + b"\0"
    out += bytes(_align4(len(out)) - len(out))
    out += data
    out += bytes(_align4(len(data)) - len(data))
    return out


def build_cpio_newc(root: Path, mtime: int | None = None, gzip_level: int | None = None) -> bytes:
    """Pack the host directory tree *root* into a newc archive (deterministically).

    Entries are sorted by name so the same tree always gives the same bytes; uid/gid
    are 0 (the guest runs as root); permission bits and symlink targets are kept;
    sockets and device nodes are skipped (we cannot, and should not, copy host
    devices). *mtime* overrides every timestamp (like ``SOURCE_DATE_EPOCH``) for fully
    reproducible images. Hard links inside the tree are preserved, with the data
    stored on the last link, as GNU cpio does.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(str(root))
    # First pass: collect (archive name, host path, lstat) in sorted order.
    items: list[tuple[bytes, bytes, os.stat_result]] = []

    def walk(host_dir: bytes, arc_dir: bytes) -> None:
        for name in sorted(os.listdir(host_dir)):
            host_path = os.path.join(host_dir, name)
            st = os.lstat(host_path)
            fmt = host_stat.S_IFMT(st.st_mode)
            if fmt in (host_stat.S_IFSOCK, host_stat.S_IFCHR, host_stat.S_IFBLK):
                continue
            arc_name = arc_dir + b"/" + name if arc_dir else name
            items.append((arc_name, host_path, st))
            if fmt == host_stat.S_IFDIR:
                walk(host_path, arc_name)

    host_root = os.fsencode(root)
    items.append((b".", host_root, os.lstat(host_root)))
    walk(host_root, b"")

    # Group hard links: same host (st_dev, st_ino) among regular files with nlink > 1.
    groups: dict[tuple[int, int], list[int]] = {}
    for index, (_, _, st) in enumerate(items):
        if host_stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            groups.setdefault((st.st_dev, st.st_ino), []).append(index)
    inos: dict[tuple[int, int], int] = {}

    out = bytearray()
    next_ino = 1
    for index, (arc_name, host_path, st) in enumerate(items):
        key = (st.st_dev, st.st_ino)
        nlink = 2 if host_stat.S_ISDIR(st.st_mode) else 1
        carries_data = True
        if key in groups:
            members = groups[key]
            if key not in inos:
                inos[key] = next_ino
                next_ino += 1
            ino = inos[key]
            nlink = len(members)
            carries_data = index == members[-1]
        else:
            ino = next_ino
            next_ino += 1
        if host_stat.S_ISREG(st.st_mode):
            with open(host_path, "rb") as f:
                data = f.read() if carries_data else b""
        elif host_stat.S_ISLNK(st.st_mode):
            data = os.readlink(host_path)
        else:
            data = b""
        stamp = int(st.st_mtime) if mtime is None else mtime
        out += _newc_entry(arc_name, ino, st.st_mode, nlink, stamp, data)
    out += _newc_entry(TRAILER, 0, 0, 1, 0, b"")
    # Pad to 512 bytes like cpio(1) does, so tools that read in blocks are happy.
    out += bytes(-len(out) % 512)
    if gzip_level is not None:
        return gzip.compress(bytes(out), compresslevel=gzip_level, mtime=0)
    return bytes(out)


def build_cpio_files(files: dict[bytes, tuple[int, bytes]], mtime: int = 0) -> bytes:
    """A newc archive of the given files, ``{path: (mode, data)}``, with their parent
    directories. It can be appended to another archive (the kernel unpacks both), which
    is how ``asterinas-lab run`` adds a host program to a root file system."""
    out = bytearray()
    dirs: set[bytes] = set()
    ino = 1 << 30  # clear of the inode numbers of the archive this is appended to
    for path in sorted(files):
        parts = path.strip(b"/").split(b"/")
        for depth in range(1, len(parts)):
            parent = b"/".join(parts[:depth])
            if parent not in dirs:
                dirs.add(parent)
                ino += 1
                out += _newc_entry(parent, ino, host_stat.S_IFDIR | 0o755, 2, mtime, b"")
        mode, data = files[path]
        ino += 1
        out += _newc_entry(b"/".join(parts), ino, mode, 1, mtime, data)
    out += _newc_entry(TRAILER, 0, 0, 1, 0, b"")
    return bytes(out)
