"""Interpreting raw syscall arguments.

Registers arrive as unsigned 64-bit integers; C ``int`` arguments (file descriptors,
flags) live in the low 32 bits and may be negative, as Linux reads them.
"""

from __future__ import annotations


def s32(value: int) -> int:
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value & 0x8000_0000 else value


def u32(value: int) -> int:
    return value & 0xFFFF_FFFF


def s64(value: int) -> int:
    value &= 0xFFFF_FFFF_FFFF_FFFF
    return value - (1 << 64) if value & (1 << 63) else value
