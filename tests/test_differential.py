"""Differential tests: Linux is the oracle.

The same static binary runs natively (``chroot ROOT PROG ...``) and inside the lab
(``runner.run([PROG, ...], root=ROOT)``); stdout and the exit status must match
byte for byte. The status is the shell's view: 128 + N when killed by signal N.

The root tree is built on a tmpfs when one is available (pytest's tmp dir if it is
one, else /dev/shm): on Linux an initramfs root is a tmpfs/ramfs, and the lab's
ramfs reports tmpfs-style directory sizes (20 bytes per entry), so ``ls -l`` of a
directory can only match a native run made on a tmpfs. On ext4 directories are
4096 bytes and use 8 blocks; those tests are skipped rather than fudged.

Needs root (for chroot); everything is skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from asterinas_lab import runner

REPO = Path(__file__).resolve().parent.parent
IMAGES_BIN = REPO / "images" / "bin"
BUSYBOX = Path("/usr/bin/busybox")
NATIVE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"}
#: A fixed mtime (2020-09-13 12:26:40 UTC) for everything under /data.
MTIME = 1_600_000_000
MOTD = b"".join(b"line %d of the differential test's /etc/motd\n" % i for i in range(12))

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")


@dataclass
class Outcome:
    status: int
    stdout: bytes
    stderr: bytes


def _status(returncode: int) -> int:
    """subprocess's -N (killed by signal N) -> the shell's 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def _is_tmpfs(path: Path) -> bool:
    best, fstype = "", ""
    target = str(path.resolve())
    try:
        with open("/proc/self/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                mnt = fields[1].replace("\\040", " ")
                if (target == mnt or target.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, fstype = mnt, fields[2]
    except OSError:
        return False
    return fstype == "tmpfs"


def _populate(root: Path) -> None:
    (root / "bin").mkdir()
    (root / "etc").mkdir()
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    for prog in IMAGES_BIN.iterdir():
        if prog.is_file():
            shutil.copy2(prog, root / "bin" / prog.name)
    (root / "etc" / "hostname").write_bytes(b"asterinas-lab\n")
    (root / "etc" / "motd").write_bytes(MOTD)
    data = root / "data"
    (data / "sub").mkdir(parents=True)
    (data / "files").mkdir()
    (data / "a.txt").write_bytes(b"alpha\n")
    (data / "b.txt").write_bytes(b"bravo bravo\n")
    (data / "sub" / "c.txt").write_bytes(b"charlie\n")
    (data / "files" / "one").write_bytes(b"1\n")
    (data / "files" / "three").write_bytes(b"3" * 333)
    (data / "files" / "two").write_bytes(b"22\n")
    os.chmod(data / "b.txt", 0o600)
    os.chmod(data / "files" / "three", 0o751)
    # Children first: setting a directory's mtime before creating entries in it
    # would be undone by the creation.
    for path in sorted(data.rglob("*"), key=lambda p: -len(p.parts)) + [data]:
        os.utime(path, (MTIME, MTIME))


@pytest.fixture(scope="session")
def root(tmp_path_factory: pytest.TempPathFactory):
    if not BUSYBOX.is_file():
        pytest.skip(f"{BUSYBOX} not installed")
    base = tmp_path_factory.mktemp("diffroot")
    cleanup = None
    if not _is_tmpfs(base) and Path("/dev/shm").is_dir() and _is_tmpfs(Path("/dev/shm")):
        base = Path(tempfile.mkdtemp(prefix="asterinas-lab-diff-", dir="/dev/shm"))
        cleanup = base
    tree = base / "root"
    tree.mkdir()
    _populate(tree)
    probe = subprocess.run(["chroot", str(tree), "/bin/busybox", "true"], env=NATIVE_ENV, capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"chroot does not work here: {probe.stderr.decode(errors='replace').strip()}")
    yield tree
    if cleanup is not None:
        shutil.rmtree(cleanup, ignore_errors=True)


def native(root: Path, argv: list[str]) -> Outcome:
    proc = subprocess.run(
        ["chroot", str(root), *argv],
        env=NATIVE_ENV,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    return Outcome(_status(proc.returncode), proc.stdout, proc.stderr)


def lab(root: Path, argv: list[str]) -> Outcome:
    result = runner.run(argv, root=root)
    assert result.panic is None, f"kernel panic: {result.panic}"
    assert result.exec_error is None, f"exec failed: {result.exec_error}"
    assert not result.oopses, f"kernel oopses: {result.oopses}"
    return Outcome(result.status, result.stdout, result.stderr)


def assert_same(root: Path, argv: list[str], expected_status: int | None = None) -> Outcome:
    want = native(root, argv)
    got = lab(root, argv)
    assert got.stdout == want.stdout, f"{argv}: stdout differs (stderr in lab: {got.stderr!r})"
    assert got.status == want.status, f"{argv}: status {got.status} in lab, {want.status} natively"
    if expected_status is not None:
        assert want.status == expected_status
    return want


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
    if not _is_tmpfs(root):
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


@pytest.fixture(scope="session")
def glibc_root(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which(os.environ.get("CC", "gcc")) is None:
        pytest.skip("gcc not installed")
    sys.path.insert(0, str(REPO / "images"))
    try:
        from build import build_all  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(REPO / "images"))
    out = tmp_path_factory.mktemp("glibc")
    try:
        build_all(out, libc="glibc")
    except RuntimeError as error:
        pytest.skip(f"cannot build static glibc programs: {error}")
    dest = root / "glibc"
    dest.mkdir(exist_ok=True)
    for prog in out.iterdir():
        shutil.copy2(prog, dest / prog.name)
    return dest


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
    return Outcome(_status(proc.returncode), proc.stdout, proc.stderr)


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
