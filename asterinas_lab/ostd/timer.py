"""Time as OSTD keeps it: timer ticks (jiffies), the clocks, and tick callbacks.

The machine's periodic timer interrupts the CPU; OSTD counts the tick and runs the
registered callbacks (the kernel uses one to wake sleepers and to preempt).

The clock is either the host's (real time) or *virtual*. A virtual clock moves only
when the kernel advances it (by a fixed cost per syscall, or straight to the next
timer deadline when every task sleeps), so the same program sees the same times on
every run and every machine: the basis of the deterministic mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable

TICK_HZ = 100
#: Where a virtual realtime clock starts: 2026-01-01 00:00:00 UTC.
VIRTUAL_EPOCH_NS = 1_767_225_600 * 1_000_000_000

_callbacks: list[Callable[[], None]] = []
jiffies = 0
_boot_ns = time.monotonic_ns()
_virtual = False
_virtual_ns = 0


def register_callback(callback: Callable[[], None]) -> None:
    """Run ``callback`` on every timer tick (in kernel context, between user runs)."""
    _callbacks.append(callback)


def tick() -> None:
    global jiffies
    jiffies += 1
    for callback in tuple(_callbacks):
        callback()


def monotonic_ns() -> int:
    """Nanoseconds since boot."""
    if _virtual:
        return _virtual_ns
    return time.monotonic_ns() - _boot_ns


def realtime_ns() -> int:
    if _virtual:
        return VIRTUAL_EPOCH_NS + _virtual_ns
    return time.time_ns()


def use_virtual_clock(enabled: bool = True) -> None:
    """Switch to (or from) the virtual clock, which starts at 0 ns since boot."""
    global _virtual, _virtual_ns
    _virtual = enabled
    _virtual_ns = 0


def is_virtual() -> bool:
    return _virtual


def advance(ns: int) -> None:
    """Move the virtual clock forward (no effect on the host clock)."""
    global _virtual_ns
    if ns > 0:
        _virtual_ns += ns


def reset() -> None:
    global jiffies, _boot_ns, _virtual, _virtual_ns
    _callbacks.clear()
    jiffies = 0
    _boot_ns = time.monotonic_ns()
    _virtual = False
    _virtual_ns = 0
