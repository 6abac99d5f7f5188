"""Was a faulting access a read or a write? Decode the instruction to find out.

A real x86 CPU pushes an error code with every page fault (bit 1: write, bit 2: user
mode, bit 0: the page was present). unicorn does not expose it, so when a fault turns
into a signal, and the handler is about to see ``uc_mcontext.gregs[REG_ERR]``, the
kernel decodes the faulting instruction with capstone and asks whether its memory
operand is written. Only the signal path pays for this; resolved faults never do.
"""

from __future__ import annotations

import capstone
from capstone import x86

PF_PRESENT, PF_WRITE, PF_USER, PF_INSTR = 1, 2, 4, 16
_decoder: capstone.Cs | None = None


def _cs() -> capstone.Cs:
    global _decoder
    if _decoder is None:
        _decoder = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        _decoder.detail = True
    return _decoder


MAX_INSTRUCTION_LENGTH = 15


def is_instruction_fetch(rip: int, address: int) -> bool:
    """A fault inside the instruction at ``rip`` was the fetch of that instruction
    (unicorn does not report the error code's instruction-fetch bit)."""
    return rip <= address <= rip + MAX_INSTRUCTION_LENGTH


def writes_memory(code: bytes, rip: int) -> bool:
    """True if the instruction at the start of ``code`` writes a memory operand."""
    for insn in _cs().disasm(code, rip, 1):
        for op in insn.operands:
            if op.type == x86.X86_OP_MEM and op.access & capstone.CS_AC_WRITE:
                return True
        # push/call/movs/stos write memory without an explicit written operand.
        return insn.mnemonic.startswith(("push", "call", "stos", "movs", "rep stos", "rep movs"))
    return False


def page_fault_error_code(code: bytes, rip: int, address: int, present: bool) -> int:
    error = PF_USER | (PF_PRESENT if present else 0)
    if is_instruction_fetch(rip, address):
        return error | PF_INSTR
    if writes_memory(code, rip):
        error |= PF_WRITE
    return error
