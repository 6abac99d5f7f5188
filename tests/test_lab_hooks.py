"""The library hooks the labs plug into: ``Kernel.override_syscall`` (lab 3) and
``VmSpace.read_page_table`` (lab 2)."""

from __future__ import annotations

import pytest

from asterinas_lab import ostd, runner
from asterinas_lab.kernel.syscall.numbers import SYS_WRITE, SYS_WRITEV
from asterinas_lab.kernel.syscall.table import TABLE
from asterinas_lab.ostd import PAGE_SIZE, AccessDenied, FrameAllocOptions, PageFlags, Task, VmSpace


def on_machine(work):
    box = {}
    ostd.boot(lambda _info: Task(lambda: box.setdefault("result", work())).run(), console_sink=lambda _d: None)
    return box["result"]


def test_override_syscall_is_per_kernel():
    seen = []

    def shout(thread, fd, buf, count, *_):
        data = thread.process.read_bytes(buf, count)
        seen.append(data)
        return thread.process.files.get(fd).write(data.upper())

    original = TABLE[SYS_WRITE]
    result = runner.run(["/bin/busybox", "echo", "quiet"],
                        with_kernel=lambda k: k.override_syscall(SYS_WRITE, shout))  # fmt: skip
    assert result.stdout == b"QUIET\n" and seen == [b"quiet\n"]
    assert TABLE[SYS_WRITE] is original  # the shared table is untouched
    assert runner.run(["/bin/busybox", "echo", "quiet"]).stdout == b"quiet\n"


def test_override_syscall_under_strace_and_errors():
    def refuse(thread, *_):
        from asterinas_lab.kernel.error import EPERM, LinuxError

        raise LinuxError(EPERM)

    lines = []
    result = runner.run(["/bin/hello"], strace=lines.append, deterministic=True,
                        with_kernel=lambda k: k.override_syscall(SYS_WRITEV, refuse))  # fmt: skip
    assert result.stdout == b""
    assert any(line.startswith("writev(") and line.endswith("EPERM (Operation not permitted)") for line in lines)


def test_read_page_table_walks_own_tables_only():
    def work():
        space = VmSpace()
        frame = FrameAllocOptions().alloc_frame()
        vaddr = 0x40_3000
        space.cursor_mut(vaddr, vaddr + PAGE_SIZE).map(frame, PageFlags.R | PageFlags.W)
        table, entry = space.root_paddr, 0
        for shift in (39, 30, 21, 12):
            entry = space.read_page_table(table)[(vaddr >> shift) & 511]
            table = entry & 0x000F_FFFF_FFFF_F000
        assert table == frame.paddr and entry & 0b111 == 0b111  # present, writable, user
        kernel_pdpt = space.read_page_table(space.root_paddr)[273] & 0x000F_FFFF_FFFF_F000
        for forbidden in (frame.paddr, kernel_pdpt, 0):
            with pytest.raises(AccessDenied):
                space.read_page_table(forbidden)
        return True

    assert on_machine(work)
