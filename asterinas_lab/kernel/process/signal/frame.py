"""The x86-64 signal frame (``struct rt_sigframe``), as Linux builds it.

To run a handler the kernel pushes a frame onto the user stack and points the
registers at the handler::

    sp ->  pretcode          the sa_restorer trampoline (calls rt_sigreturn)
    sp+8   struct ucontext   uc_flags, uc_link, uc_stack, uc_mcontext, uc_sigmask
    sp+312 siginfo_t         128 bytes

``uc_mcontext`` (``struct sigcontext``) holds the interrupted registers in the order
r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags, then cs/gs/fs/ss, err,
trapno, oldmask, cr2 and the fpstate pointer: the layout glibc's and musl's
``ucontext_t`` read (``REG_RIP`` is index 16). The handler is called with
RDI = signal, RSI = &info, RDX = &uc, and its ``ret`` lands in the restorer, whose
``rt_sigreturn`` reads the frame back. A handler may edit ``uc_mcontext`` to resume
somewhere else.

The FPU/SSE registers are kept by the kernel (a clone of the thread's context keyed
by the frame's address) rather than in the frame, so fpstate is NULL.
"""

from __future__ import annotations

import struct

UCONTEXT_OFFSET = 8
MCONTEXT_OFFSET = UCONTEXT_OFFSET + 40
SIGMASK_OFFSET = MCONTEXT_OFFSET + 256
SIGINFO_OFFSET = 312
FRAME_SIZE = SIGINFO_OFFSET + 128
RED_ZONE = 128

MCONTEXT_REGS = ("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx",
                 "rdx", "rax", "rcx", "rsp", "rip", "rflags")  # fmt: skip
_mcontext = struct.Struct("<18Q4HQQQQQ64x")
_ucontext_head = struct.Struct("<QQQiiQ")  # uc_flags, uc_link, ss_sp, ss_flags, pad, ss_size
USER_CS, USER_SS = 0x33, 0x2B


def frame_address(sp: int) -> int:
    """Where the frame goes below ``sp``: 16-byte aligned as if just after a call."""
    return ((sp - FRAME_SIZE) & ~15) - 8


def pack_frame(
    restorer: int,
    regs: dict[str, int],
    stack: tuple[int, int, int],
    old_mask: int,
    info: bytes,
    trapno: int = 0,
    err: int = 0,
    cr2: int = 0,
) -> bytes:
    ss_sp, ss_size, ss_flags = stack
    mcontext = _mcontext.pack(*(regs[name] for name in MCONTEXT_REGS), USER_CS, 0, 0, USER_SS,
                              err, trapno, old_mask, cr2, 0)  # fmt: skip
    head = _ucontext_head.pack(0, 0, ss_sp, ss_flags, 0, ss_size)
    frame = struct.pack("<Q", restorer) + head + mcontext + struct.pack("<Q", old_mask)
    return frame.ljust(SIGINFO_OFFSET, b"\0") + info


def unpack_ucontext(data: bytes) -> tuple[dict[str, int], int]:
    """(registers, signal mask) from the ``struct ucontext`` bytes at sp+8."""
    values = _mcontext.unpack_from(data, MCONTEXT_OFFSET - UCONTEXT_OFFSET)
    regs = dict(zip(MCONTEXT_REGS, values[:18], strict=True))
    (mask,) = struct.unpack_from("<Q", data, SIGMASK_OFFSET - UCONTEXT_OFFSET)
    return regs, mask


UCONTEXT_SIZE = SIGMASK_OFFSET + 8 - UCONTEXT_OFFSET
