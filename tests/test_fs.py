"""Tests of the file-system layer: initramfs, ramfs, VFS, stat packing and devices.

Where possible the expected values come from the host Linux kernel itself (a small C
program compiled with gcc dumps real ``struct stat``/``statx``/``linux_dirent64`` bytes),
so the tests check ABI compatibility rather than our own assumptions.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from asterinas_lab.kernel.error import LinuxError
from asterinas_lab.kernel.fs.devfs import populate_dev
from asterinas_lab.kernel.fs.initramfs import (
    CpioFormatError,
    build_cpio_newc,
    parse_cpio_newc,
    unpack_cpio_newc,
)
from asterinas_lab.kernel.fs.ramfs import RamFs
from asterinas_lab.kernel.fs.stat import (
    S_IFCHR,
    S_IFDIR,
    S_IFLNK,
    S_IFREG,
    STAT_SIZE,
    STATX_HEAD_FORMAT,
    STATX_SIZE,
    Kstat,
    makedev,
    pack_stat,
    pack_statx,
    unpack_stat,
)
from asterinas_lab.kernel.fs.vfs import (
    DIRENT64_HEADER,
    DT_DIR,
    DT_LNK,
    DT_REG,
    O_APPEND,
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
    O_NOFOLLOW,
    O_PATH,
    O_RDONLY,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    SEEK_CUR,
    SEEK_END,
    SEEK_SET,
    Vfs,
    dirent64_reclen,
)

# ----- helpers -----


def errno_of(func, *args, **kwargs) -> int:
    """Run *func* expecting a LinuxError; return its errno."""
    with pytest.raises(LinuxError) as info:
        func(*args, **kwargs)
    return info.value.errno


def parse_dirents(buf: bytes) -> list[tuple[int, int, int, int, bytes]]:
    """Decode linux_dirent64 records into (ino, off, reclen, type, name)."""
    out = []
    pos = 0
    while pos < len(buf):
        ino, off, reclen, d_type = DIRENT64_HEADER.unpack_from(buf, pos)
        name_area = buf[pos + DIRENT64_HEADER.size : pos + reclen]
        name = name_area[: name_area.index(b"\0")]
        out.append((ino, off, reclen, d_type, name))
        assert reclen > 0
        pos += reclen
    assert pos == len(buf)
    return out


def fake_clock() -> int:
    return 1_700_000_000_123_456_789


@pytest.fixture
def vfs() -> Vfs:
    """A small tree: /etc/passwd, /bin -> usr/bin symlink, /usr/bin/sh, /dev/*."""
    fs = RamFs(clock=fake_clock)
    v = Vfs(fs)
    v.mkdir("/etc", 0o755)
    f = v.open("/etc/passwd", O_WRONLY | O_CREAT, 0o644)
    f.write(b"root:x:0:0:root:/root:/bin/sh\n")
    v.mkdir("/usr")
    v.mkdir("/usr/bin")
    v.open("/usr/bin/sh", O_CREAT | O_WRONLY, 0o755).write(b"\x7fELF")
    v.symlink("usr/bin", "/bin")
    populate_dev(fs, random.Random(1234))
    return v


# ----- cpio / initramfs -----


def make_host_tree(root: Path) -> None:
    (root / "etc").mkdir()
    (root / "etc" / "hostname").write_bytes(b"asterinas\n")
    (root / "usr" / "bin").mkdir(parents=True)
    exe = root / "usr" / "bin" / "tool"
    exe.write_bytes(b"\x7fELF" + bytes(range(256)) * 3)
    exe.chmod(0o755)
    (root / "bin").symlink_to("usr/bin")
    (root / "empty").mkdir(mode=0o700)
    (root / "empty").chmod(0o700)
    (root / "odd").write_bytes(b"12345")  # length not a multiple of 4: tests padding
    os.link(root / "odd", root / "odd-link")


def test_cpio_round_trip(tmp_path: Path) -> None:
    make_host_tree(tmp_path)
    archive = build_cpio_newc(tmp_path)
    assert archive[:6] == b"070701"
    assert len(archive) % 512 == 0
    assert build_cpio_newc(tmp_path) == archive  # deterministic

    fs = RamFs()
    unpack_cpio_newc(archive, fs)
    v = Vfs(fs)
    assert v.open("/etc/hostname", O_RDONLY).read(100) == b"asterinas\n"
    tool = v.lookup("/bin/tool")  # through the symlink
    assert tool.is_reg and tool.mode == S_IFREG | 0o755
    assert bytes(tool.data or b"") == (tmp_path / "usr/bin/tool").read_bytes()
    assert v.readlink("/bin") == b"usr/bin"
    assert v.lookup("/bin", follow=False).mode & 0o170000 == S_IFLNK
    empty = v.lookup("/empty")
    assert empty.mode == S_IFDIR | 0o700 and empty.children == {}
    assert empty.uid == 0 and empty.gid == 0
    assert v.lookup("/etc/hostname").mtime_ns == int((tmp_path / "etc/hostname").stat().st_mtime) * 10**9
    # Hard links come back as one inode with two names.
    odd, odd_link = v.lookup("/odd"), v.lookup("/odd-link")
    assert odd is odd_link and odd.nlink == 2 and bytes(odd.data or b"") == b"12345"
    # Directory link counts: "/" has ".", its name, and ".." of etc, usr, empty.
    assert fs.root.nlink == 2 + 3


def test_cpio_entries_sorted_and_reproducible_mtime(tmp_path: Path) -> None:
    make_host_tree(tmp_path)
    entries = list(parse_cpio_newc(build_cpio_newc(tmp_path, mtime=42)))
    names = [e.name for e in entries]
    assert names[0] == b"."
    assert names[1:] == sorted(names[1:])
    assert all(e.mtime == 42 and e.uid == 0 and e.gid == 0 for e in entries)
    gz = build_cpio_newc(tmp_path, mtime=42, gzip_level=9)
    assert gz[:2] == b"\x1f\x8b"
    assert [e.name for e in parse_cpio_newc(gz)] == names


def test_cpio_skips_sockets(tmp_path: Path) -> None:
    import socket

    (tmp_path / "f").write_bytes(b"x")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "s"))
        names = [e.name for e in parse_cpio_newc(build_cpio_newc(tmp_path))]
    finally:
        sock.close()
    assert names == [b".", b"f"]


def test_cpio_matches_gnu_cpio_if_available(tmp_path: Path) -> None:
    """Our reader must accept what the real cpio(1) writes."""
    if shutil.which("cpio") is None:
        pytest.skip("cpio not installed")
    make_host_tree(tmp_path)
    archive = subprocess.run(
        "find . | LC_ALL=C sort | cpio -o -H newc --quiet",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        check=True,
    ).stdout
    fs = RamFs()
    unpack_cpio_newc(archive, fs)
    v = Vfs(fs)
    assert v.open("/odd-link", O_RDONLY).read(10) == b"12345"
    assert v.readlink("/bin") == b"usr/bin"


@pytest.mark.parametrize(
    "archive",
    [
        b"",
        b"garbage" * 20,
        b"070701" + b"0" * 100,  # header without a trailer
        b"070701" + b"zz" * 52,
    ],
)
def test_cpio_bad_archive(archive: bytes) -> None:
    with pytest.raises(CpioFormatError) as info:
        unpack_cpio_newc(archive, RamFs())
    assert isinstance(info.value, ValueError)


def test_cpio_truncated_data(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 1000)
    archive = build_cpio_newc(tmp_path)
    with pytest.raises(CpioFormatError, match="past the end"):
        list(parse_cpio_newc(archive[:300]))


# ----- path resolution -----


def test_resolution_basics(vfs: Vfs) -> None:
    etc = vfs.lookup("/etc")
    assert vfs.lookup("passwd", cwd=etc) is vfs.lookup("/etc/passwd")
    assert vfs.lookup("../etc/./passwd", cwd=etc) is vfs.lookup("/etc/passwd")
    assert vfs.lookup("//etc///passwd") is vfs.lookup("/etc/passwd")
    assert vfs.lookup("/bin/sh") is vfs.lookup("/usr/bin/sh")
    assert vfs.lookup("/bin/..") is vfs.lookup("/usr")  # ".." after a symlink: the target's parent
    assert vfs.path_of(vfs.lookup("/bin")) == b"/usr/bin"


def test_dotdot_at_root_stays_at_root(vfs: Vfs) -> None:
    assert vfs.lookup("/..") is vfs.root
    assert vfs.lookup("/../../..") is vfs.root
    assert vfs.lookup("../../etc", cwd=vfs.lookup("/usr")) is vfs.lookup("/etc")


def test_resolution_errors(vfs: Vfs) -> None:
    assert errno_of(vfs.lookup, "/nope") == errno.ENOENT
    assert errno_of(vfs.lookup, "/nope/x") == errno.ENOENT
    assert errno_of(vfs.lookup, "") == errno.ENOENT
    assert errno_of(vfs.lookup, "/etc/passwd/x") == errno.ENOTDIR
    assert errno_of(vfs.lookup, "/etc/passwd/") == errno.ENOTDIR
    assert errno_of(vfs.lookup, "/etc/passwd/.") == errno.ENOTDIR
    assert errno_of(vfs.lookup, "/" + "a" * 256) == errno.ENAMETOOLONG
    assert errno_of(vfs.lookup, "/" + "a/" * 2048) == errno.ENAMETOOLONG
    assert errno_of(vfs.open, "/etc/passwd", O_RDONLY | O_DIRECTORY) == errno.ENOTDIR


def test_trailing_slash(vfs: Vfs) -> None:
    assert vfs.lookup("/etc/") is vfs.lookup("/etc")
    assert vfs.lookup("/bin/", follow=False) is vfs.lookup("/usr/bin")  # slash forces follow
    assert errno_of(vfs.open, "/etc/passwd/", O_RDONLY) == errno.ENOTDIR
    assert errno_of(vfs.open, "/etc/new/", O_CREAT | O_WRONLY) == errno.EISDIR
    assert errno_of(vfs.unlink, "/etc/passwd/") == errno.ENOTDIR


def test_symlink_loop_eloop(vfs: Vfs) -> None:
    vfs.symlink("b", "/a")
    vfs.symlink("a", "/b")
    vfs.symlink("self", "/self")
    assert errno_of(vfs.lookup, "/a") == errno.ELOOP
    assert errno_of(vfs.lookup, "/self/x") == errno.ELOOP
    assert errno_of(vfs.open, "/a", O_RDONLY) == errno.ELOOP
    assert vfs.lookup("/a", follow=False).is_symlink  # lstat does not follow


def test_symlink_chain_limit_is_40(vfs: Vfs) -> None:
    vfs.symlink("/etc/passwd", "/l0")
    for i in range(1, 41):
        vfs.symlink(f"l{i - 1}", f"/l{i}")
    assert vfs.lookup("/l39") is vfs.lookup("/etc/passwd")  # 40 hops: allowed
    assert errno_of(vfs.lookup, "/l40") == errno.ELOOP  # 41 hops


def test_dangling_symlink_and_nofollow(vfs: Vfs) -> None:
    vfs.symlink("/missing", "/dangle")
    assert errno_of(vfs.lookup, "/dangle") == errno.ENOENT
    assert errno_of(vfs.open, "/bin", O_RDONLY | O_NOFOLLOW) == errno.ELOOP
    f = vfs.open("/bin", O_PATH | O_NOFOLLOW)
    assert f.inode.is_symlink
    assert errno_of(f.read, 1) == errno.EBADF
    assert errno_of(vfs.open, "/dangle", O_CREAT | O_EXCL | O_WRONLY) == errno.EEXIST


# ----- open flags and file I/O -----


def test_open_excl_trunc_append(vfs: Vfs) -> None:
    assert errno_of(vfs.open, "/etc/passwd", O_CREAT | O_EXCL | O_WRONLY) == errno.EEXIST
    assert errno_of(vfs.open, "/etc/nope", O_RDONLY) == errno.ENOENT
    assert errno_of(vfs.open, "/etc", O_WRONLY) == errno.EISDIR
    f = vfs.open("/etc/passwd", O_WRONLY | O_TRUNC)
    assert vfs.lookup("/etc/passwd").size == 0
    assert f.write(b"abc") == 3
    a = vfs.open("/etc/passwd", O_WRONLY | O_APPEND)
    f.lseek(0, SEEK_SET)
    f.write(b"X")  # overwrite at 0
    assert a.write(b"def") == 3  # appends at the current end, not at a's old pos 0
    assert a.pos == 6
    assert a.pwrite(b"!", 0) == 1  # Linux: pwrite on O_APPEND appends anyway
    r = vfs.open("/etc/passwd", O_RDONLY)
    assert r.read(100) == b"Xbcdef!"
    assert r.read(100) == b""
    assert errno_of(r.write, b"x") == errno.EBADF
    assert errno_of(f.read, 1) == errno.EBADF


def test_create_mode_uses_umask(vfs: Vfs) -> None:
    f = vfs.open("/etc/new", O_CREAT | O_RDWR, 0o666, umask=0o022)
    assert f.inode.mode == S_IFREG | 0o644
    d = vfs.mkdir("/etc/dir", 0o777, umask=0o027)
    assert d.mode == S_IFDIR | 0o750
    assert errno_of(vfs.mkdir, "/etc/dir") == errno.EEXIST
    assert errno_of(vfs.mkdir, "/nope/dir") == errno.ENOENT


def test_lseek_semantics(vfs: Vfs) -> None:
    f = vfs.open("/etc/passwd", O_RDWR)
    size = vfs.lookup("/etc/passwd").size
    assert f.lseek(0, SEEK_END) == size
    assert f.lseek(-4, SEEK_CUR) == size - 4
    assert f.read(100) == b"/sh\n"
    assert errno_of(f.lseek, -1, SEEK_SET) == errno.EINVAL
    assert errno_of(f.lseek, -size - 1, SEEK_END) == errno.EINVAL
    assert f.pos == size  # failed seeks leave the position alone
    assert errno_of(f.lseek, 0, 7) == errno.EINVAL
    # Seeking past the end then writing leaves a hole of zeros.
    assert f.lseek(size + 3, SEEK_SET) == size + 3
    f.write(b"Z")
    assert f.pread(5, size - 1) == b"\n\0\0\0Z"
    # Directories: SEEK_SET 0 rewinds a directory stream.
    d = vfs.open("/etc", O_RDONLY | O_DIRECTORY)
    first = d.getdents64(4096)
    assert d.getdents64(4096) == b""
    assert d.lseek(0, SEEK_SET) == 0
    assert d.getdents64(4096) == first


def test_unlink_keeps_open_file(vfs: Vfs) -> None:
    f = vfs.open("/etc/passwd", O_RDONLY)
    vfs.unlink("/etc/passwd")
    assert errno_of(vfs.lookup, "/etc/passwd") == errno.ENOENT
    assert f.read(4) == b"root"
    assert f.inode.nlink == 0
    assert errno_of(vfs.unlink, "/etc") == errno.EISDIR
    assert errno_of(vfs.rmdir, "/usr") == errno.ENOTEMPTY


def test_rename_and_link(vfs: Vfs) -> None:
    vfs.link("/etc/passwd", "/etc/passwd2")
    assert vfs.lookup("/etc/passwd").nlink == 2
    vfs.rename("/etc/passwd2", "/usr/pw")
    assert vfs.lookup("/usr/pw") is vfs.lookup("/etc/passwd")
    vfs.rename("/usr/bin", "/etc/bin")
    assert vfs.path_of(vfs.lookup("/etc/bin")) == b"/etc/bin"
    assert vfs.lookup("/etc").nlink == 3 and vfs.lookup("/usr").nlink == 2
    assert errno_of(vfs.rename, "/etc", "/etc/bin/x") == errno.EINVAL
    assert errno_of(vfs.link, "/etc", "/etc2") == errno.EPERM


# ----- getdents64 -----


def test_getdents64_packing(vfs: Vfs) -> None:
    d = vfs.open("/usr/bin", O_RDONLY | O_DIRECTORY)
    vfs.symlink("sh", "/usr/bin/" + "L" * 13)  # 13-char name: 19+13+1=33 -> reclen 40
    buf = d.getdents64(32768)
    entries = parse_dirents(buf)
    # Newest first, as Linux tmpfs lists; d_off is each entry's stable offset cookie.
    assert [e[4] for e in entries] == [b".", b"..", b"L" * 13, b"sh"]
    assert [e[2] for e in entries] == [24, 24, 40, 24]
    assert [e[3] for e in entries] == [DT_DIR, DT_DIR, DT_LNK, DT_REG]
    assert entries[0][0] == vfs.lookup("/usr/bin").ino
    assert entries[1][0] == vfs.lookup("/usr").ino
    assert [e[1] for e in entries] == [1, 4, 3, 0x7FFF_FFFF]
    assert buf[19 : 19 + 2] == b".\0"  # name right after the 19-byte header
    assert d.getdents64(32768) == b""


def test_getdents64_small_buffers(vfs: Vfs) -> None:
    d = vfs.open("/", O_RDONLY | O_DIRECTORY)
    assert errno_of(d.getdents64, 23) == errno.EINVAL  # "." needs 24 bytes
    names = []
    while chunk := d.getdents64(24):  # exactly one short-named record per call
        names += [e[4] for e in parse_dirents(chunk)]
    assert names == [b".", b"..", b"dev", b"bin", b"usr", b"etc"]  # newest first, as on tmpfs
    f = vfs.open("/etc/passwd", O_RDONLY)
    assert errno_of(f.getdents64, 4096) == errno.ENOTDIR


@pytest.fixture(scope="session")
def host_helper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Compile a C helper that dumps raw kernel structs (skipped without gcc)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not available")
    d = tmp_path_factory.mktemp("chelper")
    src = d / "helper.c"
    src.write_text(
        r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#define OFF(T, f) printf(#f " %zu %zu\n", offsetof(struct T, f), sizeof(((struct T *)0)->f))
int main(int argc, char **argv) {
    if (!strcmp(argv[1], "layout")) {
        printf("stat_size %zu\nstatx_size %zu\n", sizeof(struct stat), sizeof(struct statx));
        OFF(stat, st_dev); OFF(stat, st_ino); OFF(stat, st_nlink); OFF(stat, st_mode);
        OFF(stat, st_uid); OFF(stat, st_gid); OFF(stat, st_rdev); OFF(stat, st_size);
        OFF(stat, st_blksize); OFF(stat, st_blocks); OFF(stat, st_atim);
        OFF(stat, st_mtim); OFF(stat, st_ctim);
        OFF(statx, stx_mask); OFF(statx, stx_blksize); OFF(statx, stx_attributes);
        OFF(statx, stx_nlink); OFF(statx, stx_uid); OFF(statx, stx_gid);
        OFF(statx, stx_mode); OFF(statx, stx_ino); OFF(statx, stx_size);
        OFF(statx, stx_blocks); OFF(statx, stx_attributes_mask); OFF(statx, stx_atime);
        OFF(statx, stx_btime); OFF(statx, stx_ctime); OFF(statx, stx_mtime);
        OFF(statx, stx_rdev_major); OFF(statx, stx_rdev_minor);
        OFF(statx, stx_dev_major); OFF(statx, stx_dev_minor);
        return 0;
    }
    static char buf[65536];
    if (!strcmp(argv[1], "stat")) {
        struct stat st; memset(&st, 0xAA, sizeof st);
        if (syscall(SYS_newfstatat, AT_FDCWD, argv[2], &st, AT_SYMLINK_NOFOLLOW)) return 1;
        fwrite(&st, sizeof st, 1, stdout);
    } else if (!strcmp(argv[1], "getdents")) {
        int fd = open(argv[2], O_RDONLY | O_DIRECTORY);
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n < 0) return 1;
        fwrite(buf, 1, n, stdout);
    }
    return 0;
}
"""
    )
    exe = d / "helper"
    result = subprocess.run(["gcc", "-O0", "-o", str(exe), str(src)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot compile helper: {result.stderr[:200]}")
    return exe


def test_getdents64_matches_host_structure(host_helper: Path, tmp_path: Path) -> None:
    """The host kernel's records obey the same reclen rule and d_off ordering."""
    names = [b"a", b"bb" * 3, b"c" * 13, b"d" * 100]
    for name in names:
        (tmp_path / os.fsdecode(name)).write_bytes(b"")
    buf = subprocess.run([host_helper, "getdents", tmp_path], capture_output=True, check=True).stdout
    host = parse_dirents(buf)
    assert {e[4] for e in host} == {b".", b".."} | set(names)
    for _ino, _off, reclen, d_type, name in host:
        assert reclen == dirent64_reclen(name) and reclen % 8 == 0
        assert d_type in (DT_DIR, DT_REG)
    # Build the same directory in our fs and compare the multiset of record sizes.
    fs = RamFs()
    v = Vfs(fs)
    for name in names:
        v.open(b"/" + name, O_CREAT | O_WRONLY)
    ours = parse_dirents(v.open("/", O_RDONLY | O_DIRECTORY).getdents64(65536))
    assert sorted((e[4], e[2], e[3]) for e in ours) == sorted((e[4], e[2], e[3]) for e in host)


# ----- struct stat / statx -----


def test_stat_bytes_equal_host_kernel(host_helper: Path, tmp_path: Path) -> None:
    """Packing os.stat() values must give byte-for-byte what newfstatat() wrote."""
    for path in [tmp_path, tmp_path / "f", Path("/dev/null"), tmp_path / "link"]:
        if path.name == "f":
            path.write_bytes(b"x" * 5000)
        if path.name == "link":
            path.symlink_to("f")
        raw = subprocess.run([host_helper, "stat", path], capture_output=True, check=True).stdout
        assert len(raw) == STAT_SIZE
        expected = pack_stat(Kstat.from_host(os.lstat(path)))
        assert raw == expected, (path, unpack_stat(raw), unpack_stat(expected))


def test_struct_layouts_match_host_headers(host_helper: Path) -> None:
    out = subprocess.run([host_helper, "layout"], capture_output=True, text=True, check=True).stdout
    info = {line.split()[0]: tuple(int(x) for x in line.split()[1:]) for line in out.splitlines()}
    assert info["stat_size"] == (STAT_SIZE,)
    assert info["statx_size"] == (STATX_SIZE,)
    stat_offsets = {
        "st_dev": 0,
        "st_ino": 8,
        "st_nlink": 16,
        "st_mode": 24,
        "st_uid": 28,
        "st_gid": 32,
        "st_rdev": 40,
        "st_size": 48,
        "st_blksize": 56,
        "st_blocks": 64,
        "st_atim": 72,
        "st_mtim": 88,
        "st_ctim": 104,
    }
    for field, offset in stat_offsets.items():
        assert info[field][0] == offset, field
    # Check our statx format string by packing marker values and finding them.
    marker = STATX_HEAD_FORMAT.pack(*range(1, 1 + len(STATX_HEAD_FORMAT.format) - 1))
    fields = struct.unpack(STATX_HEAD_FORMAT.format, marker)
    sizes = [struct.calcsize("<" + c) for c in STATX_HEAD_FORMAT.format[1:]]
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    by_value = dict(zip(fields, offsets, strict=True))
    statx_fields = [
        "stx_mask",
        "stx_blksize",
        "stx_attributes",
        "stx_nlink",
        "stx_uid",
        "stx_gid",
        "stx_mode",
        None,
        "stx_ino",
        "stx_size",
        "stx_blocks",
        "stx_attributes_mask",
        "stx_atime",
        None,
        None,
        "stx_btime",
        None,
        None,
        "stx_ctime",
        None,
        None,
        "stx_mtime",
        None,
        None,
        "stx_rdev_major",
        "stx_rdev_minor",
        "stx_dev_major",
        "stx_dev_minor",
    ]
    for i, name in enumerate(statx_fields):
        if name is not None:
            assert info[name][0] == by_value[i + 1], name


def test_stat_of_inodes(vfs: Vfs) -> None:
    st = unpack_stat(vfs.stat("/etc/passwd"))
    inode = vfs.lookup("/etc/passwd")
    assert st["st_ino"] == inode.ino and st["st_mode"] == S_IFREG | 0o644
    assert st["st_size"] == 30 and st["st_nlink"] == 1 and st["st_blocks"] == 8
    assert st["st_mtime"] == 1_700_000_000 and st["st_mtime_nsec"] == 123_456_789
    assert st["st_dev"] == vfs.root_fs.dev and st["st_blksize"] == 4096
    lst = unpack_stat(vfs.stat("/bin", follow=False))
    assert lst["st_mode"] == S_IFLNK | 0o777 and lst["st_size"] == len(b"usr/bin")
    null = unpack_stat(vfs.open("/dev/null", O_RDONLY).stat())
    assert null["st_mode"] == S_IFCHR | 0o666 and null["st_rdev"] == 0x103 == makedev(1, 3)
    sx = pack_statx(vfs.lookup("/etc/passwd").getattr())
    assert len(sx) == 256
    fields = STATX_HEAD_FORMAT.unpack(sx[:160])
    assert fields[6] == S_IFREG | 0o644 and fields[8] == inode.ino and fields[9] == 30
    assert fields[12:14] == (1_700_000_000, 123_456_789)  # atime sec, nsec


# ----- devices -----


def test_dev_null_zero_full_urandom(vfs: Vfs) -> None:
    null = vfs.open("/dev/null", O_RDWR)
    assert null.read(100) == b"" and null.write(b"gone") == 4
    zero = vfs.open("/dev/zero", O_RDONLY)
    assert zero.read(10) == bytes(10)
    assert zero.read(0) == b""
    full = vfs.open("/dev/full", O_RDWR)
    assert full.read(3) == b"\0\0\0"
    assert errno_of(full.write, b"x") == errno.ENOSPC
    u1 = vfs.open("/dev/urandom", O_RDONLY).read(16)
    assert len(u1) == 16 and u1 != bytes(16)
    assert u1 == random.Random(1234).randbytes(16)  # deterministic from the seed
    assert errno_of(null.ioctl, 0x5401, 0) == errno.ENOTTY  # TCGETS: not a terminal
    assert null.lseek(100, SEEK_SET) == 0


def test_busybox_ls_sequence(vfs: Vfs) -> None:
    """The calls strace shows for ``busybox ls -la /etc``, in order."""
    lst = unpack_stat(vfs.stat("/etc", follow=False))
    assert lst["st_mode"] & 0o170000 == S_IFDIR
    d = vfs.open("/etc", O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | O_DIRECTORY)
    assert unpack_stat(d.stat())["st_ino"] == lst["st_ino"]
    names = [e[4] for e in parse_dirents(d.getdents64(32768))]
    assert d.getdents64(32768) == b""
    assert names == [b".", b"..", b"passwd"]
    for name in names:
        vfs.stat(b"/etc/" + name, follow=False)
