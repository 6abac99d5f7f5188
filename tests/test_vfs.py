"""Lab-only tests of VFS permissions, chroot, mounts and directory order.

tests/test_vfs_differential.py compares images/src/vfs_perms.c with Linux. What cannot
be compared natively is tested here: the Vfs object directly (callers given with
``Vfs.acting_as``), /proc/PID/root and /proc/mounts inside a chroot (the native chroot
has no /proc), bad user pointers to mount(2)/chroot(2)/umount2(2) (Linux's errno, never
a Python exception), readdir positions that survive deletions, and busybox's ``chroot``.
"""

from __future__ import annotations

import errno
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from asterinas_lab import runner
from asterinas_lab.kernel.error import LinuxError
from asterinas_lab.kernel.fs.ramfs import RamFs
from asterinas_lab.kernel.fs.vfs import (
    MAY_EXEC,
    MAY_READ,
    MAY_WRITE,
    MNT_DETACH,
    MS_RDONLY,
    MS_REMOUNT,
    O_CREAT,
    O_DIRECTORY,
    O_RDONLY,
    O_RDWR,
    O_WRONLY,
    Ids,
    Vfs,
    may,
)
from asterinas_lab.kernel.process.process import Credentials

BUSYBOX = Path("/usr/bin/busybox")
needs_busybox = pytest.mark.skipif(not BUSYBOX.exists(), reason="needs /usr/bin/busybox")


def errno_of(fn, *args, **kwargs) -> int:
    try:
        fn(*args, **kwargs)
    except LinuxError as error:
        return error.errno
    raise AssertionError(f"{fn.__name__}{args} did not fail")


def user(uid: int = 1000, gid: int = 1000, groups: tuple[int, ...] = ()) -> Ids:
    return Ids(uid, gid, groups)


@pytest.fixture
def vfs() -> Vfs:
    """/home/u (1000:1000, 0755), /secret (root 0600), /pub (0644), /tmp (1777)."""
    v = Vfs(RamFs())
    v.mkdir("/home", 0o755)
    v.mkdir("/home/u", 0o755)
    v.chown("/home/u", 1000, 1000)
    v.open("/secret", O_CREAT | O_WRONLY, 0o600).write(b"s")
    v.open("/pub", O_CREAT | O_WRONLY, 0o644).write(b"p")
    v.mkdir("/tmp", 0o777, umask=0)
    v.chmod("/tmp", 0o1777)
    return v


# ----- generic_permission ------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "uid", "gid", "cred", "mask", "allowed"),
    [
        (0o600, 0, 0, user(), MAY_READ, False),
        (0o604, 0, 0, user(), MAY_READ, True),
        (0o077, 1000, 0, user(), MAY_READ, False),  # the owner gets the owner bits only
        (0o604, 0, 2000, user(groups=(2000,)), MAY_READ, False),  # a member gets the group bits only
        (0o640, 0, 2000, user(groups=(2000,)), MAY_READ, True),
        (0o640, 0, 1000, user(), MAY_READ | MAY_WRITE, False),
        (0o000, 5, 5, None, MAY_READ | MAY_WRITE, True),  # the kernel / root
        (0o644, 5, 5, Ids(0, 0), MAY_EXEC, False),  # root needs some execute bit
        (0o001, 5, 5, Ids(0, 0), MAY_EXEC, True),
    ],
)
def test_may(mode: int, uid: int, gid: int, cred, mask: int, allowed: bool) -> None:
    fs = RamFs()
    inode = fs.root.create(b"f", mode, uid, gid)
    assert may(inode, mask, cred) is allowed


def test_root_may_search_and_list_a_0000_directory() -> None:
    fs = RamFs()
    d = fs.root.mkdir(b"d", 0)
    assert may(d, MAY_EXEC | MAY_READ | MAY_WRITE, Ids(0, 0))
    assert not may(d, MAY_EXEC, user())


def test_search_permission_on_every_component(vfs: Vfs) -> None:
    vfs.mkdir("/home/u/private", 0o700)
    vfs.chown("/home/u/private", 1000, 1000)
    vfs.open("/home/u/private/f", O_CREAT | O_WRONLY, 0o644)
    with vfs.acting_as(user(1001, 1001)):
        assert errno_of(vfs.lookup, "/home/u/private/f") == errno.EACCES
        assert errno_of(vfs.lookup, "/home/u/private/..") == errno.EACCES
        assert vfs.lookup("/home/u") is vfs.lookup("/home/u/../u")
    with vfs.acting_as(user()):
        assert vfs.lookup("/home/u/private/f").is_reg


def test_open_create_unlink_rename_as_user(vfs: Vfs) -> None:
    with vfs.acting_as(user()):
        assert errno_of(vfs.open, "/secret", O_RDONLY) == errno.EACCES
        assert errno_of(vfs.open, "/pub", O_RDWR) == errno.EACCES
        vfs.open("/pub", O_RDONLY)
        assert errno_of(vfs.open, "/new", O_CREAT | O_WRONLY) == errno.EACCES
        f = vfs.open("/home/u/f", O_CREAT | O_WRONLY, 0o444)  # created: mode not checked
        assert (f.inode.uid, f.inode.gid) == (1000, 1000)
        assert errno_of(vfs.open, "/home/u/f", O_WRONLY) == errno.EACCES
        assert errno_of(vfs.unlink, "/pub") == errno.EACCES
        assert errno_of(vfs.rename, "/home/u/f", "/f") == errno.EACCES
        assert errno_of(vfs.chmod, "/pub", 0o777) == errno.EPERM
        assert errno_of(vfs.chown, "/home/u/f", 0, -1) == errno.EPERM
        vfs.unlink("/home/u/f")


def test_sticky_directory(vfs: Vfs) -> None:
    vfs.open("/tmp/root", O_CREAT | O_WRONLY, 0o666)
    with vfs.acting_as(user()):
        vfs.open("/tmp/mine", O_CREAT | O_WRONLY)
        assert errno_of(vfs.unlink, "/tmp/root") == errno.EPERM
    with vfs.acting_as(user(1001, 1001)):
        assert errno_of(vfs.unlink, "/tmp/mine") == errno.EPERM
        assert errno_of(vfs.rename, "/tmp/mine", "/tmp/theirs") == errno.EPERM
    with vfs.acting_as(user()):
        vfs.unlink("/tmp/mine")
    vfs.unlink("/tmp/root")


def test_access_uses_real_ids(vfs: Vfs) -> None:
    setuid_root = Credentials(uid=1000, gid=1000, euid=0, egid=0, fsuid=0, fsgid=0)
    with vfs.acting_as(setuid_root):
        assert errno_of(vfs.access, "/secret", 4) == errno.EACCES
        vfs.access("/secret", 4, effective=True)
        assert errno_of(vfs.access, "/pub", 1, effective=True) == errno.EACCES
        assert errno_of(vfs.access, "/pub", 8) == errno.EINVAL


def test_exec_needs_an_execute_bit_even_for_root(vfs: Vfs) -> None:
    vfs.check_exec(vfs.open("/x", O_CREAT | O_WRONLY, 0o100).inode)  # one execute bit is enough
    assert errno_of(vfs.check_exec, vfs.lookup("/pub")) == errno.EACCES
    assert errno_of(vfs.check_exec, vfs.lookup("/home")) == errno.EACCES
    with vfs.acting_as(user()):
        assert errno_of(vfs.check_exec, vfs.lookup("/x")) == errno.EACCES


# ----- chroot -------------------------------------------------------------------------


def test_chroot_root_and_dotdot(vfs: Vfs) -> None:
    jail = vfs.chroot("/home/u")
    with vfs.acting_as(None, jail):
        assert vfs.lookup("/") is jail
        assert vfs.lookup("/../..") is jail
        assert vfs.path_of(jail) == b"/"
        assert errno_of(vfs.lookup, "/secret") == errno.ENOENT
        assert vfs.path_of(vfs.root) == b"(unreachable)/"  # cwd left outside the jail
    with vfs.acting_as(user()):
        assert errno_of(vfs.chroot, "/home/u") == errno.EPERM
        assert errno_of(vfs.chroot, "/nope") == errno.ENOENT
    assert errno_of(vfs.chroot, "/pub") == errno.ENOTDIR


# ----- mounts -------------------------------------------------------------------------


def test_mount_readonly_and_umount(vfs: Vfs) -> None:
    vfs.mkdir("/mnt")
    mount = vfs.mount(RamFs(), "/mnt")
    vfs.open("/mnt/f", O_CREAT | O_WRONLY).write(b"x")
    mount.set_flags(MS_RDONLY)
    assert errno_of(vfs.open, "/mnt/g", O_CREAT | O_WRONLY) == errno.EROFS
    assert errno_of(vfs.open, "/mnt/f", O_WRONLY) == errno.EROFS
    assert errno_of(vfs.mkdir, "/mnt/d") == errno.EROFS
    assert errno_of(vfs.mkdir, "/mnt/f") == errno.EEXIST
    assert errno_of(vfs.unlink, "/mnt/f") == errno.EROFS
    assert errno_of(vfs.access, "/mnt/f", 2) == errno.EROFS
    assert b"none /mnt tmpfs ro,relatime 0 0\n" in vfs.mounts_text()
    busy = [True]
    assert errno_of(vfs.umount, b"/mnt", 0, None, lambda fs: busy[0]) == errno.EBUSY
    vfs.umount(b"/mnt", MNT_DETACH, None, lambda fs: busy[0])
    assert errno_of(vfs.lookup, "/mnt/f") == errno.ENOENT
    assert errno_of(vfs.umount, b"/mnt", 0, None, lambda fs: False) == errno.EINVAL
    assert errno_of(vfs.umount, b"/", 0, None, lambda fs: False) == errno.EINVAL
    assert errno_of(vfs.umount, b"/mnt", 0x100, None, lambda fs: False) == errno.EINVAL
    with vfs.acting_as(user()):
        assert errno_of(vfs.umount, b"/mnt", 0, None, lambda fs: False) == errno.EPERM


def test_mount_syscall_errors(vfs: Vfs) -> None:
    vfs.mkdir("/mnt")

    def make(fstype: bytes, data: bytes, old):
        if fstype != b"tmpfs":
            raise LinuxError(errno.ENODEV)
        return (old.fs if old else RamFs()), []

    args = (None, make)
    assert errno_of(vfs.mount_syscall, b"none", b"/nope", b"tmpfs", 0, None, *args) == errno.ENOENT
    assert errno_of(vfs.mount_syscall, b"none", b"/mnt", b"xfs", 0, None, *args) == errno.ENODEV
    assert errno_of(vfs.mount_syscall, b"none", b"/mnt", None, 0, None, *args) == errno.EINVAL
    assert errno_of(vfs.mount_syscall, b"none", b"/pub", b"tmpfs", 0, None, *args) == errno.ENOTDIR
    assert errno_of(vfs.mount_syscall, None, b"/mnt", None, MS_REMOUNT, None, *args) == errno.EINVAL
    with vfs.acting_as(user()):
        assert errno_of(vfs.mount_syscall, b"none", b"/mnt", b"tmpfs", 0, None, *args) == errno.EPERM
    vfs.mount_syscall(b"none", b"/mnt", b"tmpfs", 0xC0ED_0000, None, *args)  # MS_MGC_VAL is ignored
    vfs.mount_syscall(None, b"/mnt", None, MS_REMOUNT | MS_RDONLY, None, *args)
    assert errno_of(vfs.mkdir, "/mnt/d") == errno.EROFS


# ----- readdir order ------------------------------------------------------------------


def _names(buf: bytes) -> list[bytes]:
    names, pos = [], 0
    while pos < len(buf):
        reclen = struct.unpack_from("<H", buf, pos + 16)[0]
        names.append(buf[pos + 19 : pos + reclen].split(b"\0", 1)[0])
        pos += reclen
    return names


def test_readdir_newest_first_and_stable_under_deletion(vfs: Vfs) -> None:
    vfs.mkdir("/d")
    for i in range(50):
        vfs.open(f"/d/f{i:02}", O_CREAT | O_WRONLY)
    vfs.rename("/d/f00", "/d/renamed")
    d = vfs.open("/d", O_RDONLY | O_DIRECTORY)
    first = _names(d.getdents64(24 * 4 + 32))  # "renamed" takes a 32-byte record
    assert first == [b".", b"..", b"renamed", b"f49", b"f48"]
    seen = list(first)
    while chunk := d.getdents64(24 * 5):
        names = _names(chunk)
        for name in names:  # rm -r style: delete what was just returned
            vfs.unlink(b"/d/" + name)
        seen += names
    assert sorted(seen[2:]) == sorted([b"renamed"] + [b"f%02d" % i for i in range(1, 50)])
    assert len(seen) == len(set(seen))


# ----- through the syscalls -----------------------------------------------------------


def sh(script: str) -> runner.RunResult:
    result = runner.run([str(BUSYBOX), "sh", "-c", script], host_files=runner.host_program(str(BUSYBOX)))
    assert not result.oopses, result.oopses
    assert result.panic is None
    return result


@needs_busybox
def test_proc_root_and_mounts_inside_a_chroot() -> None:
    bb = str(BUSYBOX)
    script = (
        f"mkdir -p /j/proc /j/bin /j/mnt && cp {bb} /j/bin/busybox && mount -t proc proc /j/proc && "
        "mount -t tmpfs none /j/mnt && readlink /proc/self/root && "
        "chroot /j /bin/busybox sh -c '/bin/busybox readlink /proc/self/root; /bin/busybox cat /proc/mounts; "
        "/bin/busybox pwd; cd /..; /bin/busybox pwd; /bin/busybox ls /; /bin/busybox umount /proc; echo $?'"
    )
    result = sh(script)
    assert result.stdout.decode().splitlines() == [
        "/",
        "/",
        "proc /proc proc rw,relatime 0 0",
        "none /mnt tmpfs rw,relatime 0 0",
        "/",
        "/",
        "bin",
        "mnt",
        "proc",
        "0",
    ], result.stderr.decode()


@needs_busybox
def test_bad_pointers_and_flags_give_errnos(tmp_path: Path) -> None:
    """Bad pointers and option strings reach mount/umount2/chroot from a small static
    program (busybox cannot pass them): Linux's errno each time, never an oops."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not available")
    src = r"""
#include <stdio.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
static void t(const char *what, long r) { printf("%s: %ld %d\n", what, r, r < 0 ? errno : 0); }
int main(void) {
    t("mount bad target", syscall(SYS_mount, "none", (char *)8, "tmpfs", 0, 0));
    t("mount bad type", syscall(SYS_mount, "none", "/tmp", (char *)8, 0, 0));
    t("mount bad data", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, (char *)8));
    t("mount bad source", syscall(SYS_mount, (char *)8, "/tmp", "tmpfs", 0, 0));
    t("umount2 bad path", syscall(SYS_umount2, (char *)8, 0));
    t("chroot bad path", syscall(SYS_chroot, (char *)8));
    t("chroot empty", syscall(SYS_chroot, ""));
    t("mount empty target", syscall(SYS_mount, "none", "", "tmpfs", 0, 0));
    t("mount tmpfs size=1%", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, "size=1%"));
    t("mount tmpfs size=-1", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, "size=-1"));
    t("mount tmpfs mode=9", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, "mode=9"));
    t("mount proc bogus", syscall(SYS_mount, "proc", "/tmp", "proc", 0, "bogus"));
    t("umount2 expire+detach", syscall(SYS_umount2, "/tmp", 6));
    t("faccessat2 AT_EMPTY_PATH", syscall(SYS_faccessat2, AT_FDCWD, "", 4, 0x1000));
    return 0;
}
"""
    (tmp_path / "p.c").write_text(src.replace("AT_FDCWD", "-100"))
    tmp = tmp_path
    build = subprocess.run(["gcc", "-static", "-O1", "-o", str(tmp / "p"), str(tmp / "p.c")], capture_output=True)
    if build.returncode != 0:
        pytest.skip(f"cannot build a static program: {build.stderr[:200]!r}")
    result = runner.run(["/p"], host_files={b"/p": (0o100755, (tmp / "p").read_bytes())})
    assert not result.oopses and result.panic is None, result.oopses
    lines = dict(line.split(": ", 1) for line in result.stdout.decode().splitlines())
    efault, enoent, einval = errno.EFAULT, errno.ENOENT, errno.EINVAL
    assert lines["mount bad target"] == f"-1 {efault}"
    assert lines["mount bad type"] == f"-1 {efault}"
    assert lines["mount bad data"] == f"-1 {efault}"
    assert lines["mount bad source"] == f"-1 {efault}"
    assert lines["umount2 bad path"] == f"-1 {efault}"
    assert lines["chroot bad path"] == f"-1 {efault}"
    assert lines["chroot empty"] == f"-1 {enoent}"
    assert lines["mount empty target"] == f"-1 {enoent}"
    assert lines["mount tmpfs size=1%"] == "0 0"
    assert lines["mount tmpfs size=-1"] == f"-1 {einval}"
    assert lines["mount tmpfs mode=9"] == f"-1 {einval}"
    assert lines["mount proc bogus"] == f"-1 {einval}"
    assert lines["umount2 expire+detach"] == f"-1 {einval}"
    assert lines["faccessat2 AT_EMPTY_PATH"] == "0 0"
