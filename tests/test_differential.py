"""Differential tests: Linux is the oracle.

The same static binary runs natively (``chroot ROOT PROG ...``) and inside the lab
(``runner.run([PROG, ...], root=ROOT)``); stdout and the exit status must match
byte for byte. The status is the shell's view: 128 + N when killed by signal N.

The root tree is built on a tmpfs when one is available (pytest's tmp dir if it is
one, else /dev/shm): on Linux an initramfs root is a tmpfs/ramfs, and the lab's
ramfs reports tmpfs-style directory sizes (20 bytes per entry), so ``ls -l`` of a
directory can only match a native run made on a tmpfs. On ext4 directories are
4096 bytes and use 8 blocks; those tests are skipped rather than fudged.

Needs root (for chroot); everything is skipped otherwise. The root tree, the native
and lab runners and ``assert_same`` are shared with tests/test_process_differential.py
(tests/oracle.py, tests/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from oracle import IMAGES_BIN, NATIVE_ENV, Outcome, assert_same, is_tmpfs, status_of

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")

# The ``root`` and ``glibc_root`` fixtures live in conftest.py, the runners in oracle.py.


# --- busybox --------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["echo", "hello", "world"],
        ["cat", "/etc/hostname"],
        ["cat", "/etc/motd"],
        ["ls", "/data"],
        ["ls", "/data/files"],
        ["ls", "-l", "/data/files"],
        ["ls", "-ln", "/data/sub"],
        ["wc", "/etc/motd"],
        ["env"],
        ["false"],
        ["sh", "-c", "echo $HOME $PATH; exit 7"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_busybox(root: Path, argv: list[str]) -> None:
    assert_same(root, ["/bin/busybox", *argv])


def test_ls_l_shows_uid_gid_0(root: Path) -> None:
    out = assert_same(root, ["/bin/busybox", "ls", "-l", "/data/files"]).stdout.decode()
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [row[-1] for row in rows] == ["one", "three", "two"]
    assert all(row[2] == "0" and row[3] == "0" for row in rows), out


def test_ls_l_with_a_subdirectory(root: Path) -> None:
    if not is_tmpfs(root):
        pytest.skip("native root is not on a tmpfs: directory sizes cannot match")
    assert_same(root, ["/bin/busybox", "ls", "-l", "/data"])


def test_busybox_id(root: Path) -> None:
    assert_same(root, ["/bin/busybox", "id"])


# --- our own programs (musl, images/bin) ------------------------------------------


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["/bin/hello"], 0),
        (["/bin/args", "a", "b", "c"], 0),
        (["/bin/errnos"], 0),
        (["/bin/cat_file", "/etc/motd"], 0),
        (["/bin/cat_file", "/no/such/file"], 1),
        (["/bin/compute_loop", "1000"], 0),
        (["/bin/sieve", "10000"], 0),
        (["/bin/getppid_loop", "100"], 0),
        (["/bin/segv_null"], 139),
        (["/bin/segv_nx"], 139),
        (["/bin/segv_kernel"], 139),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_images(root: Path, argv: list[str], status: int) -> None:
    assert_same(root, argv, expected_status=status)


# --- the same sources built with glibc --------------------------------------------


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["hello"], 0),
        (["args", "a", "b", "c"], 0),
        (["errnos"], 0),
        (["cat_file", "/etc/motd"], 0),
        (["sieve", "10000"], 0),
        (["segv_null"], 139),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_glibc_images(root: Path, glibc_root: Path, argv: list[str], status: int) -> None:
    assert_same(root, [f"/glibc/{argv[0]}", *argv[1:]], expected_status=status)


# --- the CLI: asterinas-lab run HOSTPATH, like qemu-x86_64 ------------------------


def _cli(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "asterinas_lab.cli", "run", *argv],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def _native_host(argv: list[str]) -> Outcome:
    proc = subprocess.run(argv, env=NATIVE_ENV, capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    return Outcome(status_of(proc.returncode), proc.stdout, proc.stderr)


@pytest.mark.parametrize("argv", [["hello"], ["args", "x", "y z"], ["segv_null"]], ids=" ".join)
def test_cli_musl_host_path(argv: list[str]) -> None:
    prog = [str(IMAGES_BIN / argv[0]), *argv[1:]]
    want = _native_host(prog)
    got = _cli(prog)
    assert (got.returncode, got.stdout) == (want.status, want.stdout), got.stderr
    assert b"Traceback" not in got.stderr


@pytest.mark.parametrize("argv", [["hello"], ["args", "x", "y z"]], ids=" ".join)
def test_cli_glibc_host_path(glibc_root: Path, argv: list[str]) -> None:
    prog = [str(glibc_root / argv[0]), *argv[1:]]
    want = _native_host(prog)
    got = _cli(prog)
    assert (got.returncode, got.stdout) == (want.status, want.stdout), got.stderr
    assert b"Traceback" not in got.stderr
