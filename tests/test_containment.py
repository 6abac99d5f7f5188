"""Failure containment: a bug in safe kernel code is an oops that kills one process;
an exception escaping from OSTD's own code is a panic that stops the machine.

The bugs are injected without editing the kernel: a syscall table entry, or an OSTD
function, is monkeypatched for the duration of one test.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from asterinas_lab import runner
from asterinas_lab.kernel.syscall import table as syscall_table
from asterinas_lab.ostd.mm import io as ostd_io

SYS_GETPPID = 110
SIGSEGV = 11
OSTD_IO_FILE = str(Path(ostd_io.__file__).resolve())


def buggy_getppid(thread, *args):
    """A kernel bug: this file counts as safe kernel code, so the failure is an oops."""
    return 1 // 0


@pytest.fixture
def patch_syscall():
    """Replace one entry of the syscall table (a list, which monkeypatch cannot patch
    item-wise); every replaced entry is restored after the test."""
    saved: dict[int, syscall_table.SyscallEntry | None] = {}

    def patch(number: int, handler, blocking: bool) -> None:
        saved.setdefault(number, syscall_table.TABLE[number])
        syscall_table.TABLE[number] = syscall_table.SyscallEntry(handler, blocking)

    def restore() -> None:
        for number, entry in saved.items():
            syscall_table.TABLE[number] = entry
        saved.clear()

    patch.restore = restore
    yield patch
    restore()


def run(argv: list[str]) -> runner.RunResult:
    """runner.run, then collect garbage while that machine is still the current one:
    an oops' traceback can keep frame handles alive in a reference cycle, and they must
    not be released into the next machine's allocator (see the xfail in test_ostd.py)."""
    result = runner.run(argv)
    gc.collect()
    return result


def assert_machine_still_works() -> None:
    result = run(["/bin/hello"])
    assert (result.status, result.stdout) == (0, b"hello, world\n")
    assert result.oopses == [] and result.panic is None


@pytest.mark.parametrize("blocking", [False, True], ids=["fast-path", "slow-path"])
def test_exception_in_a_syscall_handler_is_an_oops(patch_syscall, blocking):
    original = syscall_table.TABLE[SYS_GETPPID]
    assert original is not None
    patch_syscall(SYS_GETPPID, buggy_getppid, blocking)

    result = run(["/bin/getppid_loop", "5"])

    assert result.panic is None
    assert len(result.oopses) == 1
    message = result.oopses[0]
    assert "ZeroDivisionError" in message
    assert "test_containment.py" in message and "buggy_getppid" in message
    assert "getppid_loop" in message  # names the process it killed
    assert result.signal == SIGSEGV and result.status == 128 + SIGSEGV
    assert result.exit_code in (None, 0)
    assert result.stdout == b""  # killed at its first getppid, before printing
    assert any("oops: ZeroDivisionError" in line for line in result.log)

    # The machine (and this Python process) keeps working, even with the bug in place
    # for other programs that never call getppid.
    assert_machine_still_works()
    patch_syscall.restore()
    assert syscall_table.TABLE[SYS_GETPPID] is original
    fixed = run(["/bin/getppid_loop", "5"])
    assert (fixed.status, fixed.stdout, fixed.oopses) == (0, b"done 5\n", [])


def test_bad_user_pointer_is_efault_not_an_oops():
    result = run(["/bin/errnos"])
    assert result.status == 0
    assert b"write(1, bad_ptr) = -1 errno=EFAULT\n" in result.stdout
    assert b"openat(bad_ptr) = -1 errno=EFAULT\n" in result.stdout
    assert result.oopses == [] and result.panic is None


def _function_in_ostd(source: str, name: str, **globals_):
    """Define a function whose code claims to live in asterinas_lab/ostd/mm/io.py."""
    namespace: dict = dict(globals_)
    exec(compile(source, OSTD_IO_FILE, "exec"), namespace)
    return namespace[name]


def test_exception_inside_ostd_is_a_panic(monkeypatch):
    # Only reads break: exec (which writes the initial stack from kernel_main, before
    # any task runs) still works, and the program's first write() syscall, which reads
    # its buffer from user memory inside the process's task, hits the bug.
    broken_translate = _function_in_ostd(
        "def _translate(space, vaddr, write):\n"
        "    if not write:\n"
        "        raise RuntimeError('trusted core invariant broken')\n"
        "    return original(space, vaddr, write)\n",
        "_translate",
        original=ostd_io._translate,
    )
    assert broken_translate.__code__.co_filename == OSTD_IO_FILE
    monkeypatch.setattr(ostd_io, "_translate", broken_translate)

    result = runner.run(["/bin/hello"])

    assert result.panic is not None
    assert "RuntimeError" in result.panic and "trusted core invariant broken" in result.panic
    assert "io.py" in result.panic
    assert result.oopses == []  # a panic is not contained as an oops
    assert result.stdout == b""

    monkeypatch.undo()
    gc.collect()
    assert_machine_still_works()


def test_ostd_refusal_is_an_oops_not_a_panic(patch_syscall):
    """An OstdError raised by OSTD (the kernel asked for something illegal) is the
    kernel's bug: contained as an oops even though it is raised inside OSTD."""
    from asterinas_lab.ostd import FrameAllocOptions, PageFlags, VmSpace

    def map_typed_frame(thread, *args):
        VmSpace().cursor_mut(0x1000, 0x2000).map(FrameAllocOptions().alloc_typed(), PageFlags.R)
        return 0

    patch_syscall(SYS_GETPPID, map_typed_frame, False)
    result = run(["/bin/getppid_loop", "1"])
    assert result.panic is None
    assert len(result.oopses) == 1 and "OstdError" in result.oopses[0]
    assert result.signal == SIGSEGV


def test_exception_inside_ostd_during_boot_is_a_panic(monkeypatch):
    broken_translate = _function_in_ostd(
        "def _translate(space, vaddr, write):\n"
        "    raise RuntimeError('trusted core invariant broken at boot')\n",
        "_translate",
    )
    monkeypatch.setattr(ostd_io, "_translate", broken_translate)
    result = runner.run(["/bin/hello"])
    assert result.panic is not None and "RuntimeError" in result.panic
