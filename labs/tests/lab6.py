"""Lab 6 grading tests: pipes and a character device.

The submission defines ``pipe_read(pipe, count, nonblocking, wait)`` and
``pipe_write(pipe, data, nonblocking, wait, sigpipe)``; the tests plug them in as the
kernel's pipe implementation (``asterinas_lab.kernel.fs.pipe.inject_pipe_ops``) and run
busybox shell pipelines and C programs of the built-in image in deterministic mode. The
expected output is Linux's: the known answer of a pipeline, or the same static program
run natively on the host (which is Linux), falling back to the kernel's own pipes (which
the test suite checks against Linux) where the program cannot run natively.

It also defines ``RingDevice``, the driver of ``/dev/ring`` (exercise 3), plugged in with
``asterinas_lab.kernel.fs.devfs.inject_device``. Linux has no such device, so busybox
commands run on it are compared with :class:`RingModel`, a reference model of the
device written here, in the simplest way (no ring arithmetic).
"""

from __future__ import annotations

import random
import re
import subprocess
import tempfile
from pathlib import Path

from asterinas_lab import runner
from asterinas_lab.grading import assert_same_output, lab_test
from asterinas_lab.images import BIN_DIR, HOST_BUSYBOX
from asterinas_lab.kernel.error import EAGAIN, ENOSPC, LinuxError
from asterinas_lab.kernel.fs.devfs import inject_device
from asterinas_lab.kernel.fs.pipe import PIPE_BUF, PIPE_CAPACITY, Pipe, inject_pipe_ops

REQUIRED = ("pipe_read", "pipe_write", "RingDevice")


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
    expected, reference = linux_output(argv), "Linux"
    if expected is None:
        expected, reference = runner.run(argv, deterministic=True).stdout, "the kernel's own pipes"
    result = run(submission, argv, write)
    assert_same_output(" ".join(argv), result.stdout, expected, reference)
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


# --- exercise 3: a character device, /dev/ring ---------------------------------------------------------

RING_MAJOR, RING_MINOR, RING_CAPACITY = 240, 0, 1024


class RingModel:
    """What /dev/ring does, for the expected output: a FIFO of at most *capacity* bytes."""

    def __init__(self, capacity: int = RING_CAPACITY) -> None:
        self.capacity = capacity
        self.data = b""

    def read(self, count: int, nonblocking: bool = False) -> bytes:
        if count and not self.data and nonblocking:
            raise LinuxError(EAGAIN)
        taken, self.data = self.data[:count], self.data[count:]
        return taken

    def write(self, data: bytes) -> int:
        room = self.capacity - len(self.data)
        if data and not room:
            raise LinuxError(ENOSPC)
        self.data += data[:room]
        return min(len(data), room)


def ring_driver(submission):
    """``submission.RingDevice``, once it can be made (a clear message if not)."""
    cls = getattr(submission, "RingDevice", None)
    assert callable(cls), "define the class RingDevice (exercise 3)"
    try:
        device = cls()
    except Exception as error:  # noqa: BLE001 - reported to the student
        raise AssertionError(f"RingDevice() raised {type(error).__name__}: {error}") from None
    assert (device.major, device.minor) == (RING_MAJOR, RING_MINOR), (
        f"RingDevice's device number is {device.major}:{device.minor}, expected {RING_MAJOR}:{RING_MINOR}"
    )
    return cls


def ring_shell(submission, script: str, **options):
    """Run a busybox shell script on a machine whose /dev/ring is the submission's driver
    (the kernel's own pipes: exercise 3 does not need exercises 1 and 2)."""
    with inject_device("ring", ring_driver(submission)):
        result = runner.run(["/bin/sh", "-c", script], deterministic=True, **options)
    assert not result.oopses, f"`{script[:80]}`: your code raised an exception: {result.oopses[0]}"
    assert result.panic is None, f"`{script[:80]}`: the machine panicked: {result.panic}"
    return result


def linux_file_type(path: str) -> str:
    """How Linux's stat names the type of *path* (busybox stat on the host)."""
    if HOST_BUSYBOX.is_file():
        done = subprocess.run([str(HOST_BUSYBOX), "stat", "-c", "%F", path], capture_output=True, timeout=20)
        if done.returncode == 0:
            return done.stdout.decode().strip()
    return "character special file"


@lab_test(points=1)
def test_ring_device_node(submission):
    """/dev/ring is a character device 240:0, mode 0666, in stat and ls -l."""
    result = ring_shell(submission, "stat -c '%F %t:%T %a' /dev/ring; ls -l /dev/ring")
    kind = linux_file_type("/dev/null")
    lines = result.stdout.decode(errors="replace").splitlines()
    assert lines and lines[0] == f"{kind} {RING_MAJOR:x}:{RING_MINOR:x} 666", (
        f"stat -c '%F %t:%T %a' /dev/ring printed {lines[:1]}, expected {kind} f0:0 666"
    )
    assert len(lines) == 2 and re.fullmatch(r"crw-rw-rw- +1 +\S+ +\S+ +240, +0 .* /dev/ring", lines[1]), (
        f"ls -l /dev/ring printed {lines[1:]!r}"
    )


@lab_test(points=2, depends=("test_ring_device_node",))
def test_ring_echo_cat(submission):
    """What is written comes out once, in order; a full ring takes no more (ENOSPC)."""
    script = (
        "echo hello > /dev/ring; echo ring > /dev/ring; cat /dev/ring; cat /dev/ring && echo ---; "
        "dd if=/dev/zero of=/dev/ring bs=1000 count=2 2>/dev/null; echo dd status $?; "
        "echo more > /dev/ring || echo full; wc -c < /dev/ring; cat /dev/ring | wc -c; "
        "echo again > /dev/ring && cat /dev/ring"
    )
    expected = b"hello\nring\n---\ndd status 1\nfull\n1024\n0\nagain\n"
    result = ring_shell(submission, script)
    assert result.stdout == expected, f"`{script}`\nprinted {result.stdout[-300:]!r},\nexpected {expected!r}"
    assert b"No space left on device" in result.stderr, (
        f"writing to a full /dev/ring should fail with ENOSPC; stderr {result.stderr[-200:]!r}"
    )


def ring_script(seed: int, steps: int) -> tuple[str, bytes, bytes]:
    """A script of single reads and writes of /dev/ring by dd (one read(2) or write(2)
    each, sizes around the capacity so the ring fills, empties and wraps), the file /src
    it copies from, and what the model says it prints."""
    rng = random.Random(seed)
    letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    source = bytes(rng.choice(letters) for _ in range(4096))
    sizes = (1, 7, 100, 333, 512, 700, 1000, 1024, 1500)
    model, lines, expected, cursor = RingModel(), [], bytearray(), 0
    for step in range(steps):
        size = rng.choice(sizes)
        if rng.random() < 0.5:
            if cursor + size > len(source):
                cursor = 0
            lines.append(f"dd if=/src of=/dev/ring bs={size} count=1 skip={cursor} iflag=skip_bytes 2>/dev/null; "
                         f"echo ' w{step}' $?")  # fmt: skip
            try:
                written = model.write(source[cursor : cursor + size])
            except LinuxError:
                written = 0
            expected += b" w%d %d\n" % (step, 0 if written == size else 1)
            cursor += size
        else:
            lines.append(f"dd if=/dev/ring bs={size} count=1 2>/dev/null; echo ' r{step}' $?")
            expected += model.read(size) + b" r%d 0\n" % step
    lines.append("cat /dev/ring; echo ' end'")
    expected += model.read(RING_CAPACITY) + b" end\n"
    return "\n".join(lines), source, bytes(expected)


@lab_test(points=3, depends=("test_ring_echo_cat",), visibility="hidden")
def test_ring_matches_model(submission):
    """Reads and writes of every size, through full, empty and the wrap-around, as the model says."""
    for seed in (6, 7):
        script, source, expected = ring_script(seed, 40)
        result = ring_shell(submission, script, host_files={b"/src": (0o100644, source)})
        got = result.stdout
        if got != expected:
            want_lines, got_lines = expected.split(b"\n"), got.split(b"\n")
            first = next((i for i, (a, b) in enumerate(zip(want_lines, got_lines, strict=False)) if a != b),
                         min(len(want_lines), len(got_lines)))  # fmt: skip
            command = script.split("\n")[first] if first < script.count("\n") + 1 else "(end)"
            raise AssertionError(
                f"after `{command}` the output differs from the model's: got "
                f"{got_lines[first][-120:] if first < len(got_lines) else b'(end)'!r}, expected "
                f"{want_lines[first][-120:] if first < len(want_lines) else b'(end)'!r}"
            )


@lab_test(points=2, depends=("test_ring_device_node",), visibility="hidden")
def test_ring_nonblocking_and_edges(submission):
    """Called directly: O_NONBLOCK read of an empty ring is EAGAIN, a blocking one end of
    file; reads and writes of 0 bytes; a write into a full ring is ENOSPC either way;
    a small ring (capacity 8) wraps around."""
    cls = ring_driver(submission)
    ring, model = cls(8), RingModel(8)

    def outcome(call, *args):
        try:
            return call(*args)
        except LinuxError as error:
            return error.name

    got = outcome(ring.read, 4, True)
    assert got == "EAGAIN", f"a non-blocking read of an empty ring returned {got!r}, expected EAGAIN"
    got = outcome(ring.read, 4, False)
    assert got == b"", f"a blocking read of an empty ring returned {got!r}, expected b'' (end of file)"
    got = outcome(ring.read, 0, True)
    assert got == b"", f"a read of 0 bytes returned {got!r}, expected b''"
    got = outcome(ring.write, b"", False)
    assert got == 0, f"a write of 0 bytes returned {got!r}, expected 0"
    for op, arg in (("w", b"abcdef"), ("r", 4), ("w", b"ghijkl"), ("w", b"mn"), ("r", 3), ("w", b"opqrs"),
                    ("r", 8), ("r", 1), ("w", b"tuvwxyz12"), ("r", 5), ("w", b"34567"), ("r", 9)):  # fmt: skip
        if op == "w":
            want = outcome(model.write, arg)
            for nonblocking in (False, True) if want == "ENOSPC" else (False,):
                got = outcome(ring.write, arg, nonblocking)
                assert got == want, f"write({arg!r}) returned {got!r}, expected {want!r} (capacity 8)"
        else:
            want, got = outcome(model.read, arg, True), outcome(ring.read, arg, True)
            assert got == want, f"a non-blocking read({arg}) returned {got!r}, expected {want!r} (capacity 8)"
