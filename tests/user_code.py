"""A tiny hand-assembled user program, for tests that make the emulated CPU itself
touch memory (tests/test_ostd.py, tests/test_viz_pagetable.py): map fresh frames,
load from a list of addresses into registers, and run until the program leaves to
the kernel. Call these from the kernel's entry point (``conftest.run_in_kernel``)."""

from __future__ import annotations

import struct

from asterinas_lab import ostd
from asterinas_lab.ostd import (
    PAGE_SIZE,
    FrameAllocOptions,
    PageFlags,
    ReturnReason,
    UserContext,
    UserMode,
    VmSpace,
)

RW = PageFlags.R | PageFlags.W
RX = PageFlags.R | PageFlags.X
CODE_ADDR = 0x10000


def map_new(space: VmSpace, vaddr: int, flags: PageFlags = RW, data: bytes = b"") -> int:
    """Map a fresh frame (optionally filled) at ``vaddr``; return its physical address."""
    frame = FrameAllocOptions().alloc_frame()
    if data:
        frame.write(0, data)
    space.cursor_mut(vaddr, vaddr + PAGE_SIZE).map(frame, flags)
    return frame.paddr


# (register name, REX prefix, ModRM reg field) for `mov reg, [rax]` = REX 8B /r.
# rax (syscall number), rcx and r11 (clobbered by syscall) and rsp are left out.
LOAD_REGS = [
    ("rbx", 0x48, 3), ("rdx", 0x48, 2), ("rsi", 0x48, 6), ("rdi", 0x48, 7),
    ("rbp", 0x48, 5), ("r8", 0x4C, 0), ("r9", 0x4C, 1), ("r10", 0x4C, 2),
    ("r12", 0x4C, 4), ("r13", 0x4C, 5), ("r14", 0x4C, 6), ("r15", 0x4C, 7),
]  # fmt: skip


def movabs_rax(value: int) -> bytes:
    return b"\x48\xb8" + struct.pack("<Q", value)


def load_program(addresses: list[int]) -> bytes:
    """Load the 8 bytes at each address into its own register, then ``syscall`` 0x99."""
    assert len(addresses) <= len(LOAD_REGS)
    code = b""
    for address, (_, rex, reg) in zip(addresses, LOAD_REGS, strict=False):
        code += movabs_rax(address) + bytes([rex, 0x8B, reg << 3])  # mov reg, [rax]
    return code + b"\xb8\x99\x00\x00\x00\x0f\x05"  # mov eax, 0x99; syscall


def run_user(space: VmSpace, code: bytes) -> tuple[ReturnReason, dict[str, int], ostd.CpuException | None]:
    """Map ``code`` at CODE_ADDR (R|X) and run it in user mode until it leaves to the kernel."""
    map_new(space, CODE_ADDR, RX, code)
    context = UserContext()
    context.rip = CODE_ADDR
    space.activate()
    user_mode = UserMode(context)
    for _ in range(1000):
        reason = user_mode.execute()
        if reason is not ReturnReason.KERNEL_EVENT:
            return reason, context.general_regs(), context.trap
    raise AssertionError("user program never reached a syscall or an exception")
