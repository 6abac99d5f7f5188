"""The clocks the kernel's syscalls read: monotonic time since boot and wall time.

They are the host's clocks, or *virtual* ones in deterministic mode: a virtual clock
moves only when the kernel advances it (a fixed cost per syscall, or straight to the
next timer deadline when every task sleeps), so the same program sees the same times
on every run and every machine. (OSTD only counts timer ticks; keeping time is the
kernel's job, as in Asterinas.)
"""

from __future__ import annotations

import time

#: Where a virtual realtime clock starts: 2026-01-01 00:00:00 UTC.
VIRTUAL_EPOCH_NS = 1_767_225_600 * 1_000_000_000

_boot_ns = time.monotonic_ns()
_virtual = False
_virtual_ns = 0


def start(virtual: bool = False) -> None:
    """Boot: time starts at 0; with ``virtual`` it moves only through :func:`advance`."""
    global _boot_ns, _virtual, _virtual_ns
    _boot_ns = time.monotonic_ns()
    _virtual = virtual
    _virtual_ns = 0


def monotonic_ns() -> int:
    """Nanoseconds since boot."""
    return _virtual_ns if _virtual else time.monotonic_ns() - _boot_ns


def realtime_ns() -> int:
    return VIRTUAL_EPOCH_NS + _virtual_ns if _virtual else time.time_ns()


def is_virtual() -> bool:
    return _virtual


def advance(ns: int) -> None:
    """Move the virtual clock forward (no effect on the host clock)."""
    global _virtual_ns
    if ns > 0:
        _virtual_ns += ns
