"""Lab 6 grading tests: pipes.

The submission defines ``pipe_read(pipe, count, nonblocking, wait)`` and
``pipe_write(pipe, data, nonblocking, wait, sigpipe)``; the tests plug them in as the
kernel's pipe implementation (``asterinas_lab.kernel.fs.pipe.inject_pipe_ops``) and run
busybox shell pipelines and C programs of the built-in image in deterministic mode. The
expected output is Linux's: the known answer of a pipeline, or the same static program
run natively on the host (which is Linux), falling back to the kernel's own pipes (which
the test suite checks against Linux) where the program cannot run natively.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from asterinas_lab import runner
from asterinas_lab.grading import lab_test
from asterinas_lab.images import BIN_DIR, HOST_BUSYBOX
from asterinas_lab.kernel.error import EAGAIN, LinuxError
from asterinas_lab.kernel.fs.pipe import PIPE_BUF, PIPE_CAPACITY, Pipe, inject_pipe_ops

REQUIRED = ("pipe_read", "pipe_write")


def ops(submission, write: bool):
    read_op = getattr(submission, "pipe_read", None)
    assert callable(read_op), "define pipe_read (exercise 1)"
    write_op = None
    if write:
        write_op = getattr(submission, "pipe_write", None)
        assert callable(write_op), "define pipe_write (exercise 2) before this test can run"
    return read_op, write_op


def run(submission, argv, write: bool, **options):
    read_op, write_op = ops(submission, write)
    with inject_pipe_ops(read=read_op, write=write_op):
        result = runner.run(argv, deterministic=True, **options)
    name = " ".join(argv)
    assert not result.oopses, f"{name}: your code raised an exception: {result.oopses[0]}"
    assert result.panic is None, f"{name}: the machine panicked: {result.panic}"
    return result


def shell(submission, script: str, expected: bytes, write: bool) -> None:
    result = run(submission, ["/bin/sh", "-c", script], write)
    assert result.stdout == expected, f"`{script}` printed {result.stdout[-300:]!r}, Linux prints {expected!r}"
    assert result.status == 0, f"`{script}`: exit status {result.status}"


def linux_output(argv: list[str]) -> bytes | None:
    """stdout of the image's static program run natively (None if it cannot run here)."""
    program = BIN_DIR / Path(argv[0]).name
    try:
        with tempfile.TemporaryDirectory() as cwd:
            done = subprocess.run([str(program), *argv[1:]], cwd=cwd, capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def same_as_linux(submission, argv: list[str], write: bool) -> None:
    expected = linux_output(argv)
    if expected is None:
        expected = runner.run(argv, deterministic=True).stdout
    result = run(submission, argv, write)
    if result.stdout != expected:
        want, got = (
            expected.decode(errors="replace").splitlines(),
            result.stdout.decode(errors="replace").splitlines(),
        )
        first = next(
            (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got))
        )
        line = want[first] if first < len(want) else "(end of output)"
        mine = got[first] if first < len(got) else "(end of output)"
        raise AssertionError(f"{' '.join(argv)}: line {first + 1} is {mine!r}, Linux prints {line!r}")
    assert result.status == 0, f"{' '.join(argv)}: exit status {result.status}"


# --- exercise 1: reading ---------------------------------------------------------------------------------


@lab_test(points=2)
def test_read_simple_pipelines(submission):
    """echo | tr and seq | wc: data arrives, then end-of-file."""
    shell(submission, "echo hello pipes | tr a-z A-Z", b"HELLO PIPES\n", write=False)
    shell(submission, "seq 1000 | wc -l", b"1000\n", write=False)
    shell(submission, "echo -n | wc -c", b"0\n", write=False)


@lab_test(points=2, depends=("test_read_simple_pipelines",))
def test_read_blocks_until_data(submission):
    """pipe_pingpong: parent and child wait for each other's byte 500 times."""
    same_as_linux(submission, ["/bin/pipe_pingpong", "500"], write=False)


@lab_test(points=2, depends=("test_read_simple_pipelines",), visibility="hidden")
def test_read_nonblocking_and_signals(submission):
    """O_NONBLOCK read of an empty pipe is EAGAIN (fs_misc); poll/select and a read
    interrupted by a signal (EINTR or restarted) behave as on Linux."""
    fs_misc = ["/bin/fs_misc"]
    expected = runner.run(fs_misc, deterministic=True).stdout
    result = run(submission, fs_misc, write=False)
    want = [line for line in expected.decode().splitlines() if "pipe" in line or "O_NONBLOCK" in line]
    got = [
        line
        for line in result.stdout.decode(errors="replace").splitlines()
        if "pipe" in line or "O_NONBLOCK" in line
    ]
    assert got == want, f"fs_misc's pipe lines differ: got {got}, expected {want}"
    same_as_linux(submission, ["/bin/poll_select"], write=False)
    same_as_linux(submission, ["/bin/signal_handlers"], write=False)


# --- exercise 2: writing ---------------------------------------------------------------------------------


@lab_test(points=2, depends=("test_read_simple_pipelines",))
def test_write_pipelines(submission):
    """Pipelines with your writes too, including one that fills the pipe (the writer must wait)."""
    shell(submission, "echo hello pipes | tr a-z A-Z", b"HELLO PIPES\n", write=True)
    shell(submission, "seq 20000 | sort -r | head -n 2", b"9999\n9998\n", write=True)
    size = HOST_BUSYBOX.stat().st_size if HOST_BUSYBOX.is_file() else None
    if size is not None:
        shell(submission, "cat /bin/busybox | wc -c", b"%d\n" % size, write=True)


@lab_test(points=2, depends=("test_write_pipelines",))
def test_write_without_readers(submission):
    """`yes | head`: once head exits, yes's write fails with EPIPE and SIGPIPE kills it."""
    shell(submission, "yes | head -n 3; echo status $?", b"y\ny\ny\nstatus 0\n", write=True)
    script = "(yes; echo yes exited $? >&2) | head -n 1"
    result = run(submission, ["/bin/sh", "-c", script], write=True)
    assert result.stdout == b"y\n" and b"yes exited 141" in result.stderr, (
        f"`{script}`: yes should be killed by SIGPIPE (status 141); stderr {result.stderr[-200:]!r}"
    )


@lab_test(points=3, depends=("test_write_pipelines",), visibility="hidden", timeout=60)
def test_write_programs_match_linux(submission):
    """signal_handlers (EPIPE with SIGPIPE ignored/caught, EINTR), fs_fifo (FIFOs, O_NONBLOCK
    opens), poll_select (a full pipe stops being writable) and pipe_pingpong."""
    for argv in (["/bin/signal_handlers"], ["/bin/fs_fifo"], ["/bin/poll_select"], ["/bin/pipe_pingpong", "300"]):
        same_as_linux(submission, argv, write=True)


@lab_test(points=2, depends=("test_write_pipelines",), visibility="hidden")
def test_small_writes_are_atomic(submission):
    """A write of at most PIPE_BUF bytes goes in whole or not at all; a bigger
    non-blocking write puts in what fits."""
    _, write_op = ops(submission, write=True)

    def no_wait(_condition):
        raise AssertionError("a non-blocking write waited")

    pipe = Pipe()
    pipe.readers = pipe.writers = 1
    pipe.buffer += b"x" * (PIPE_CAPACITY - 100)
    try:
        count = write_op(pipe, b"y" * 200, True, no_wait, lambda: None)
    except LinuxError as error:
        assert error.errno == EAGAIN, f"expected EAGAIN, got {error.name}"
    else:
        raise AssertionError(f"a 200-byte write into 100 free bytes wrote {count} (must be all or nothing)")
    assert len(pipe.buffer) == PIPE_CAPACITY - 100, "a failed write changed the buffer"
    count = write_op(pipe, b"z" * (PIPE_BUF * 2), True, no_wait, lambda: None)
    assert count == 100, (
        f"a non-blocking {PIPE_BUF * 2}-byte write into 100 free bytes returned {count} (expected 100)"
    )
    assert bytes(pipe.buffer[-101:]) == b"x" + b"z" * 100
