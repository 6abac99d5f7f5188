"""Helpers for the differential tests: Linux is the oracle.

The same static binary runs natively (``chroot ROOT PROG ...``) and inside the lab
(``runner.run([PROG, ...], root=ROOT)``); stdout and the exit status must match
byte for byte. The status is the shell's view: 128 + N when killed by signal N.

The root tree (see :func:`populate`) is built by the ``root`` fixture in conftest.py,
on a tmpfs when one is available: on Linux an initramfs root is a tmpfs/ramfs, and
the lab's ramfs reports tmpfs-style directory sizes (20 bytes per entry), so ``ls -l``
of a directory can only match a native run made on a tmpfs.

Used by tests/test_differential.py and tests/test_process_differential.py.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import pickle
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from asterinas_lab import runner

REPO = Path(__file__).resolve().parent.parent
IMAGES_DIR = REPO / "images"
IMAGES_BIN = IMAGES_DIR / "bin"
BUSYBOX = Path("/usr/bin/busybox")
NATIVE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"}
#: A fixed mtime (2020-09-13 12:26:40 UTC) for everything under /data.
MTIME = 1_600_000_000
MOTD = b"".join(b"line %d of the differential test's /etc/motd\n" % i for i in range(12))

#: Whether this runner has the virtual-clock mode (``runner.run(..., deterministic=True)``).
HAS_DETERMINISTIC = "deterministic" in inspect.signature(runner.run).parameters


@dataclass
class Outcome:
    status: int
    stdout: bytes
    stderr: bytes


def status_of(returncode: int) -> int:
    """subprocess's -N (killed by signal N) -> the shell's 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def is_tmpfs(path: Path) -> bool:
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


def populate(root: Path) -> None:
    """/bin (busybox + images/bin), /etc, /data (fixed contents and mtimes), /tmp (1777)."""
    (root / "bin").mkdir()
    (root / "etc").mkdir()
    (root / "tmp").mkdir()
    os.chmod(root / "tmp", 0o1777)
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


def load_build() -> ModuleType:
    """images/build.py as a module (not importable by name: ``build`` is also a PyPI package)."""
    spec = importlib.util.spec_from_file_location("images_build", IMAGES_DIR / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_glibc(out: Path) -> None:
    """``gcc -static`` builds of every images/src program into ``out`` (RuntimeError on failure)."""
    load_build().build_all(out, libc="glibc")


def native(root: Path, argv: list[str], timeout: float = 60) -> Outcome:
    proc = subprocess.run(
        ["chroot", str(root), *argv],
        env=NATIVE_ENV,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    return Outcome(status_of(proc.returncode), proc.stdout, proc.stderr)


def check_result(result: runner.RunResult) -> Outcome:
    assert result.panic is None, f"kernel panic: {result.panic}"
    assert result.exec_error is None, f"exec failed: {result.exec_error}"
    assert not result.oopses, f"kernel oopses: {result.oopses}"
    # Every differential test is also an invariant test: memory was audited at each
    # process exit and at the end of the run (see asterinas_lab/memcheck.py).
    assert result.memcheck, "the run was not audited (memcheck=True)"
    assert not result.memcheck_findings, "memcheck: " + "; ".join(result.memcheck_findings[:10])
    return Outcome(result.status, result.stdout, result.stderr)


def lab(root: Path, argv: list[str]) -> Outcome:
    """Run in the lab, in this process."""
    return check_result(runner.run(argv, root=root, memcheck=True))


_CHILD = """\
import pickle, sys
from asterinas_lab import runner
argv, kwargs = pickle.load(sys.stdin.buffer)
result = runner.run(argv, **kwargs)
sys.stdout.buffer.write(pickle.dumps(result))
"""


def run_isolated(argv: list[str], timeout: float, **kwargs: object) -> runner.RunResult:
    """``runner.run(argv, **kwargs)`` in a fresh Python process, killed after ``timeout`` s.

    For programs that may hang or take the kernel down while it learns fork, signals
    and threads: a hang fails one test instead of stopping the session.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD],
            input=pickle.dumps((argv, kwargs)),
            capture_output=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as expired:
        tail = (expired.stderr or b"")[-2000:].decode(errors="replace")
        raise AssertionError(f"{argv}: the lab run did not finish within {timeout} s\n{tail}") from None
    if proc.returncode != 0:
        tail = proc.stderr[-4000:].decode(errors="replace")
        raise AssertionError(f"{argv}: the lab runner process failed (status {proc.returncode}):\n{tail}")
    return pickle.loads(proc.stdout)


def assert_same(root: Path, argv: list[str], expected_status: int | None = None) -> Outcome:
    want = native(root, argv)
    got = lab(root, argv)
    assert got.stdout == want.stdout, f"{argv}: stdout differs (stderr in lab: {got.stderr!r})"
    assert got.status == want.status, f"{argv}: status {got.status} in lab, {want.status} natively"
    if expected_status is not None:
        assert want.status == expected_status
    return want


# --- one C program of images/src, under musl and glibc: natively vs in the lab ---------

LIBCS = ["musl", "glibc"]
#: Native runs take at most ~1.2 s (alarm_timer); anything near this limit is a hang.
NATIVE_TIMEOUT = 20
#: Wall-clock limit for one lab run (boot, run, shutdown); they take about a second.
LAB_TIMEOUT = 60
LAB_OPTIONS: dict[str, object] = {"memcheck": True, **({"deterministic": True} if HAS_DETERMINISTIC else {})}


def empty_tmp(root: Path) -> None:
    """Empty the tree's /tmp, so nothing a native run left behind reaches the lab."""
    for entry in (root / "tmp").iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def lab_isolated(root: Path, argv: list[str], **options: object) -> Outcome:
    return check_result(run_isolated(argv, timeout=LAB_TIMEOUT, root=root, **LAB_OPTIONS, **options))


def _lines(data: bytes) -> list[str]:
    return data.decode(errors="replace").splitlines()


def program_argv(request, name: str, libc: str, *args: str) -> list[str]:
    """The argv running images/src/NAME's ``libc`` build in the test tree: its musl
    build is /bin/NAME, its glibc build /glibc/NAME (made by the ``glibc_root`` fixture,
    requested here)."""
    if libc == "glibc":
        request.getfixturevalue("glibc_root")
    return [f"/bin/{name}" if libc == "musl" else f"/glibc/{name}", *args]


def assert_program_same(request, root: Path, name: str, libc: str) -> None:
    """Run images/src/NAME (its musl build, or its glibc build from the ``glibc_root``
    fixture) natively and in the lab; it must finish ("done", status 0) natively and
    print the same bytes with the same status in the lab."""
    argv = program_argv(request, name, libc)
    empty_tmp(root)
    assert_lab_matches(root, argv, native(root, argv, timeout=NATIVE_TIMEOUT))


def assert_lab_matches(root: Path, argv: list[str], want: Outcome, **lab_options: object) -> None:
    """``want`` is a native run that finished ("done", status 0): the lab, on the same
    tree (its /tmp emptied first), must print the same bytes with the same status."""
    assert want.status == 0, f"{argv} natively: status {want.status}\n{want.stdout.decode(errors='replace')}"
    assert want.stdout.endswith(b"done\n"), f"{argv} natively did not finish: {want.stdout[-500:]!r}"
    empty_tmp(root)
    got = lab_isolated(root, argv, **lab_options)
    # Lines first, for a readable diff; then the exact bytes.
    assert _lines(got.stdout) == _lines(want.stdout), f"{argv}: stdout differs (stderr in lab: {got.stderr!r})"
    assert got.stdout == want.stdout
    assert got.status == want.status, f"{argv}: status {got.status} in lab, {want.status} natively"
