"""Grading tests for lab 0 (boot, run, trace).

The student's ``count_syscalls(lines)`` and ``first_failure(lines)`` read the strace
lines of a real run; each test runs a program on a fresh machine with both the strace
text (``runner.run(strace=...)``) and the structured trace (``viz.Tracer``, built from
the kernel's SYSCALL_EXIT events: name and return value as numbers), and compares the
student's answer from the text with the answer computed from the numbers.
"""

from __future__ import annotations

import errno
import stat
from collections import Counter

from asterinas_lab import runner
from asterinas_lab.grading import lab_test
from asterinas_lab.viz import Tracer

REQUIRED = ("count_syscalls", "first_failure")


def traced_run(argv: list[str], **options) -> tuple[list[str], list]:
    """The strace lines and the SyscallRecords of one deterministic run of ``argv``."""
    lines: list[str] = []
    with Tracer() as tracer:
        runner.run(argv, strace=lines.append, deterministic=True, **options)
    records = tracer.trace.records
    assert len(lines) == len(records), "the two views of the run disagree: report this to your instructor"
    return lines, records


def strace_name(record) -> str:
    """The name strace prints: a number the kernel does not know shows as syscall_0x..."""
    return f"syscall_{record.number:#x}" if record.name.isdigit() else record.name


def expected_counts(records) -> dict[str, int]:
    return dict(Counter(strace_name(r) for r in records))


def expected_failure(records) -> tuple[str, str] | None:
    for r in records:
        if r.failed:
            return strace_name(r), errno.errorcode.get(-r.ret, str(-r.ret))
    return None


def check_counts(submission, argv: list[str], **options) -> None:
    lines, records = traced_run(argv, **options)
    got = submission.count_syscalls(list(lines))
    want = expected_counts(records)
    assert dict(got) == want, f"count_syscalls for {' '.join(argv)}:\n  got  {dict(got)}\n  want {want}"


def check_failure(submission, argv: list[str], **options) -> None:
    lines, records = traced_run(argv, **options)
    got = submission.first_failure(list(lines))
    want = expected_failure(records)
    assert (tuple(got) if got is not None else None) == want, (
        f"first_failure for {' '.join(argv)}: got {got!r}, want {want!r}"
    )


@lab_test(points=1)
def test_count_hello(submission):
    """/bin/hello makes five calls, each once."""
    check_counts(submission, ["/bin/hello"])


@lab_test(points=2, depends=("test_count_hello",))
def test_count_shell_pipeline(submission):
    """A busybox shell with child processes: the lines of other processes start with [pid N]."""
    check_counts(submission, ["/bin/busybox", "sh", "-c", "ls /nonexist; echo hi | cat; exit 3"])


@lab_test(points=1)
def test_first_failure_hello(submission):
    """hello's first failing call: ioctl(TIOCGWINSZ) on a stream that is not a terminal."""
    check_failure(submission, ["/bin/hello"])


@lab_test(points=1, depends=("test_first_failure_hello",))
def test_first_failure_none(submission):
    """/bin/tiny makes two calls and neither fails: the answer is None."""
    check_failure(submission, ["/bin/tiny"])


@lab_test(points=2, depends=("test_count_shell_pipeline", "test_first_failure_hello"), visibility="hidden")
def test_tricky_strings(submission):
    """Arguments may contain ' = ', ') = -1 E...' and parentheses: only the end of a line is its result."""
    script = "echo ' = -1 EPERM (x) = 7'; echo '(a) = ) ('; cat /nonexistent/' = 0'; exit 0"
    check_counts(submission, ["/bin/busybox", "sh", "-c", script])
    # cat_file copies a file whose text looks like a failure: no call fails.
    fake = {b"/fake": (stat.S_IFREG | 0o644, b"x) = -1 EPERM (Operation not permitted)\n")}
    check_failure(submission, ["/bin/cat_file", "/fake"], host_files=fake)
    check_failure(submission, ["/bin/cat_file", "/no = -1 EPERM (x)"], host_files=fake)


@lab_test(points=2, depends=("test_count_shell_pipeline", "test_first_failure_hello"), visibility="hidden")
def test_many_programs(submission):
    """More real programs: many errnos, file operations, a tree of processes."""
    for argv in (["/bin/errnos"], ["/bin/file_ops"], ["/bin/fork_tree"], ["/bin/cat_file", "/etc/motd"]):
        check_counts(submission, argv)
        check_failure(submission, argv)
