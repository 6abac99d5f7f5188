"""Differential tests for VFS permissions, chroot and mount: Linux is the oracle.

images/src/vfs_perms.c (run as ``vfs_perms run``) checks, as root and after
setgroups/setgid/setuid to unprivileged users: EACCES from the mode bits and from
search permission, write+search on parents, sticky directories, chmod/chown/utimensat
rules, access() with real versus effective ids, X_OK and exec as root; chroot ("/" and
".." stay in the jail, inherited by fork); mount(2)/umount2(2) of tmpfs, ramfs and
proc with their errors, MS_REMOUNT|MS_RDONLY (EROFS), stacking, EBUSY and MNT_DETACH;
and readdir order (newest first, as on Linux tmpfs). Its musl and glibc builds run
natively (``chroot ROOT``, as root) and in the lab; stdout and status must match.

Natively the program mounts file systems inside the root tree. Every mount it makes is
undone by the program itself; if a run fails half-way, :func:`_unmount_below` removes
what is left, so that the session's root tree stays usable. On a host where root may
not mount (a container without CAP_SYS_ADMIN) the comparison is skipped; the mount
checks of tests/test_vfs.py still run in the lab alone.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from oracle import LIBCS, NATIVE_TIMEOUT, Outcome, assert_lab_matches, empty_tmp, native, program_argv

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chroot, mount and setuid need root")


def _mounts_below(root: Path) -> list[str]:
    prefix = str(root.resolve()).rstrip("/") + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    return [p for p in points if p.startswith(prefix)]


def _unmount_below(root: Path) -> None:
    """Detach whatever a native run left mounted inside the tree (deepest first)."""
    for point in sorted(_mounts_below(root), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
    proc = root / "proc"
    if proc.is_dir() and not any(proc.iterdir()):
        proc.rmdir()  # made by the busybox case below; the tree has no /proc of its own


def _native(root: Path, argv: list[str]) -> Outcome:
    empty_tmp(root)
    try:
        return native(root, argv, timeout=NATIVE_TIMEOUT)
    finally:
        _unmount_below(root)


@needs_root
@pytest.mark.parametrize("libc", LIBCS)
def test_vfs_perms(request: pytest.FixtureRequest, root: Path, libc: str) -> None:
    argv = program_argv(request, "vfs_perms", libc, "run")
    want = _native(root, argv)
    if b"mount tmpfs size=64k: -1" in want.stdout:
        pytest.skip("root cannot mount a tmpfs natively here (no CAP_SYS_ADMIN?)")
    # The program really exercised what it is meant to (a broken native run fails here).
    for line in (b"open 0600 root file: -1 EACCES", b"getcwd: /", b"ro: create: -1 EROFS", b"done"):
        assert line in want.stdout.splitlines(), line
    assert_lab_matches(root, argv, want)


@needs_root
@pytest.mark.parametrize("libc", LIBCS)
def test_setuid_exec(request: pytest.FixtureRequest, root: Path, libc: str) -> None:
    """execve of set-user-ID and set-group-ID copies by an unprivileged child: the
    effective and saved ids, AT_SECURE, group-x for setgid, chown clearing the bits,
    and a nosuid mount ignoring them (images/src/setuid_exec.c)."""
    argv = program_argv(request, "setuid_exec", libc, "run")
    want = _native(root, argv)
    if b"uid 1000 euid 0" not in want.stdout:
        pytest.skip("set-user-ID bits are ignored natively here (a nosuid mount under the test tree?)")
    assert_lab_matches(root, argv, want)


@needs_root
def test_busybox_mount_and_umount(root: Path) -> None:
    """busybox ``mount -t tmpfs``, ``mount`` (reading /proc/mounts), ``umount``.

    Natively the tree has no /proc: the script makes and mounts one (in the lab that
    stacks a second proc on /proc), and lists only its own tmpfs.
    """
    script = (
        "b=/bin/busybox; $b mkdir -p /proc /tmp/m && $b mount -t proc proc /proc "
        "&& $b mount -t tmpfs -o size=1m,mode=700 none /tmp/m && $b mount | $b grep /tmp/m; "
        "$b stat -c '%a %u' /tmp/m; echo x > /tmp/m/f && $b cat /tmp/m/f; "
        "$b mount -o remount,ro /tmp/m && $b mount | $b grep /tmp/m; "
        "echo y > /tmp/m/g; echo write on ro: $?; "
        "$b umount /tmp/m && $b ls /tmp/m; $b mount | $b grep -c /tmp/m; "
        "$b umount /tmp/m; echo umount again: $?; "
        "$b umount /proc; $b rmdir /proc; echo done"
    )
    argv = ["/bin/busybox", "sh", "-c", script]
    want = _native(root, argv)
    if b"on /tmp/m type tmpfs" not in want.stdout:
        pytest.skip("root cannot mount a tmpfs natively here")
    assert_lab_matches(root, argv, want)


@needs_root
def test_busybox_listing_order_and_chroot(root: Path) -> None:
    """``find`` prints getdents order: newest entry first on tmpfs (a renamed entry
    counts as new); busybox ``chroot`` into a directory of /tmp."""
    script = (
        "b=/bin/busybox; $b mkdir /tmp/o && cd /tmp/o && $b touch a b c d && $b mv b z && $b rm c "
        "&& $b touch c && $b mkdir e && $b touch e/1 e/2 && $b find .; "
        "$b mkdir -p /tmp/j/bin /tmp/j/etc && $b cp /bin/busybox /tmp/j/bin/ && echo jailed > /tmp/j/etc/motd "
        "&& $b chroot /tmp/j /bin/busybox sh -c 'cd /..; /bin/busybox pwd; /bin/busybox cat /etc/motd; "
        "/bin/busybox find / -type d; /bin/busybox chroot /etc /x; echo chroot file: $?'; echo done"
    )
    argv = ["/bin/busybox", "sh", "-c", script]
    assert_lab_matches(root, argv, _native(root, argv))
