"""Differential tests for file-system syscalls: Linux is the oracle.

Each program images/src/fs_*.c prints one deterministic line per check and ends with
"done"; its musl build and its glibc build run natively (``chroot ROOT``, as root) and
in the lab, and stdout and exit status must be identical (``oracle.assert_program_same``
style).

fs_tmpfs fills /tmp until ENOSPC. Natively /tmp of the root tree gets its own small
tmpfs (``mount -t tmpfs -o size=8m``) for the run; in the lab /tmp is the kernel's
size-limited tmpfs (half of a 32 MiB machine). The program prints only facts that do
not depend on the size, so the two compare equal.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from oracle import LIBCS, NATIVE_TIMEOUT, assert_lab_matches, empty_tmp, native, program_argv

from asterinas_lab import runner

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
SMALL_RAM = 32 << 20


@contextlib.contextmanager
def _small_tmpfs(tmp: Path) -> Iterator[None]:
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=1777", "tmpfs", str(tmp)],
                          capture_output=True)  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.decode(errors='replace').strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(tmp)], check=True)


@needs_root
@pytest.mark.parametrize("libc", LIBCS)
def test_tmpfs_size_limit(request: pytest.FixtureRequest, root: Path, libc: str) -> None:
    argv = program_argv(request, "fs_tmpfs", libc, "fill")
    empty_tmp(root)

    def run_native():
        with _small_tmpfs(root / "tmp"):
            return native(root, argv, timeout=NATIVE_TIMEOUT)

    assert_lab_matches(root, argv, run_native(), ram_size=SMALL_RAM)


def _same_program(request: pytest.FixtureRequest, root: Path, name: str, libc: str, **lab_options: object) -> None:
    argv = program_argv(request, name, libc)
    empty_tmp(root)
    assert_lab_matches(root, argv, native(root, argv, timeout=NATIVE_TIMEOUT), **lab_options)


@needs_root
@pytest.mark.parametrize("libc", LIBCS)
def test_fifo(request: pytest.FixtureRequest, root: Path, libc: str) -> None:
    _same_program(request, root, "fs_fifo", libc)


@needs_root
def test_busybox_mkfifo(root: Path) -> None:
    # No background job (busybox sh would need /dev/null): fd 3 holds both ends.
    script = ("busybox mkfifo -m 640 /tmp/p && busybox stat -c '%F %a' /tmp/p && exec 3<>/tmp/p "
              "&& echo through the fifo >&3 && busybox head -c 17 <&3 "
              "&& busybox rm /tmp/p && echo done")  # fmt: skip
    argv = ["/bin/busybox", "sh", "-c", script]
    empty_tmp(root)
    assert_lab_matches(root, argv, native(root, argv, timeout=NATIVE_TIMEOUT))


@needs_root
@pytest.mark.parametrize("libc", LIBCS)
def test_close_range_fallocate_preadv_fionread(request: pytest.FixtureRequest, root: Path, libc: str) -> None:
    _same_program(request, root, "fs_misc", libc)


@needs_root
@pytest.mark.parametrize("libc", LIBCS)
def test_record_locks(request: pytest.FixtureRequest, root: Path, libc: str) -> None:
    """fcntl record locks: conflicts between processes, splitting and merging, F_GETLK's
    reply, F_SETLKW waking on unlock, EDEADLK, and release on any close and on exit."""
    _same_program(request, root, "record_locks", libc)


@needs_root
@pytest.mark.parametrize("libc", LIBCS)
def test_flock(request: pytest.FixtureRequest, root: Path, libc: str) -> None:
    """flock(2): owned by the open file (shared by dup and fork), released with the last
    descriptor, lost by a failed upgrade, blind to fcntl locks, and LOCK_EX waiting."""
    _same_program(request, root, "flock_locks", libc)


@pytest.mark.parametrize("deterministic", [False, True])
def test_large_pipe_writes_arrive_once(deterministic: bool) -> None:
    """A write bigger than the pipe's free space sleeps part-way through; it must not be
    served twice (once on the fast path, again on the slow one) and duplicate data."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox-static is not installed")
    script = "busybox dd if=/dev/zero bs=100000 count=3 2>/dev/null | busybox wc -c"
    want = subprocess.run([busybox, "sh", "-c", script], capture_output=True, check=True).stdout
    got = runner.run(["/bin/busybox", "sh", "-c", script], deterministic=deterministic)
    assert (got.stdout, got.status) == (want, 0)
