"""Grading tests for lab 3 (system calls).

The student writes ``sys_write`` and ``sys_writev``, handlers with the kernel table's
signature ``handler(thread, a0, ..., a5) -> int``. Each test boots a fresh kernel with
them in its syscall table (``Kernel.override_syscall``, the lab's injection point),
runs real static programs (musl, glibc busybox) and compares their stdout and exit
status with the same binary run natively on the host (x86-64 Linux).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from asterinas_lab import runner
from asterinas_lab.grading import assert_same_output, lab_test
from asterinas_lab.images import BIN_DIR, HOST_BUSYBOX
from asterinas_lab.kernel.syscall.numbers import SYS_WRITE, SYS_WRITEV

REQUIRED = ("sys_write", "sys_writev")
SRC = BIN_DIR.parent / "src"


def plug(submission, which: tuple[str, ...]):
    def install(kernel) -> None:
        if "write" in which:
            kernel.override_syscall(SYS_WRITE, submission.sys_write)
        if "writev" in which:
            kernel.override_syscall(SYS_WRITEV, submission.sys_writev)

    return install


def compare(submission, which: tuple[str, ...], guest: list[str], host: list[str], files: tuple[Path, ...] = (),
            stdin: bytes = b"") -> None:  # fmt: skip
    """Run ``guest`` in the lab with the student's handlers and ``host`` natively; the
    stdout and exit status must be the same."""
    host_files = {}
    for path in files:
        host_files.update(runner.host_program(str(path)))
    lab = runner.run(guest, deterministic=True, stdin=stdin, host_files=host_files,
                     with_kernel=plug(submission, which))  # fmt: skip
    # Natively: the same argv[0] and environment as in the lab (programs print them).
    linux = subprocess.run([guest[0], *host[1:]], executable=host[0], capture_output=True, input=stdin, timeout=30,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"})  # fmt: skip
    assert not lab.oopses, f"{' '.join(guest)}: the kernel caught an exception in your code: {lab.oopses[0]}"
    assert_same_output(" ".join(guest), lab.stdout, linux.stdout)
    assert lab.status == linux.returncode, f"{' '.join(guest)}: exit status {lab.status}, Linux {linux.returncode}"


def busybox(*args: str) -> tuple[list[str], list[str]]:
    return ["/bin/busybox", *args], [str(HOST_BUSYBOX), *args]


def program(name: str, *args: str) -> tuple[list[str], list[str]]:
    return [f"/bin/{name}", *args], [str(BIN_DIR / name), *args]


@lab_test(points=2)
def test_write_programs(submission):
    """write(2) alone: busybox echo and printf (glibc), cat_file (musl) copying a file."""
    compare(submission, ("write",), *busybox("echo", "hello from", "your sys_write"))
    compare(submission, ("write",), *busybox("printf", "%s=%d\\n", "a", "1", "b", "2"))
    source = SRC / "errnos.c"  # several 100-byte reads and writes
    compare(submission, ("write",), *program("cat_file", str(source)), files=(source,))


@lab_test(points=2, depends=("test_write_programs",))
def test_write_errors(submission):
    """write_checks' raw write() calls: NULL, bad, kernel-half and unmapped buffers are
    -EFAULT, bad fds -EBADF; /dev/null and a pipe work."""
    compare(submission, ("write",), *program("write_checks"))


@lab_test(points=2, depends=("test_write_programs",))
def test_writev(submission):
    """writev(2) too: every printf of musl programs goes through it, and write_checks'
    writev calls (empty, NULL/0 segments, -1 and 1025 segments, bad iov pointers)."""
    compare(submission, ("write", "writev"), *program("hello"))
    compare(submission, ("write", "writev"), *program("args", "one", "two words"))
    compare(submission, ("write", "writev"), *program("write_checks"))


@lab_test(points=2, depends=("test_writev",), visibility="hidden")
def test_pipes_and_files(submission):
    """A shell with pipelines and a file: writes to pipes and tmpfs files; 170 KB
    through a pipe fills it (the writer sleeps, and your handler is called again)."""
    script = ("d=$(busybox mktemp -d) && cd $d && echo one > f && echo two >> f && busybox cat f && "
              "busybox printf 'a\\nb\\nc\\n' | busybox wc -l && "
              "busybox seq 1 30000 | busybox wc -c && "
              "busybox seq 1 3000 | busybox tail -n 2 && busybox rm -r $d")  # fmt: skip
    compare(submission, ("write", "writev"), *busybox("sh", "-c", script))


@lab_test(points=2, depends=("test_writev",), visibility="hidden")
def test_more_programs(submission):
    """More of the repository's programs, musl and glibc, through your handlers."""
    for name, args in (("errnos", ()), ("file_ops", ()), ("fork_tree", ()), ("sieve", ("100000",))):
        compare(submission, ("write", "writev"), *program(name, *args))
    compare(submission, ("write", "writev"), *busybox("sh", "-c", "for i in 1 2 3; do echo line $i; done; exit 4"))
