"""Timer ticks, as OSTD sees them: jiffies and tick callbacks.

The machine's periodic timer interrupts the CPU; OSTD counts the tick and runs the
registered callbacks (the kernel uses one to wake sleepers and to preempt). Keeping
time -- the clocks that syscalls read -- is the kernel's job (kernel/time/clock.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

TICK_HZ = 100

_callbacks: list[Callable[[], None]] = []
jiffies = 0
_boot_ns = time.monotonic_ns()


def register_callback(callback: Callable[[], None]) -> None:
    """Run ``callback`` on every timer tick (in kernel context, between user runs)."""
    _callbacks.append(callback)


def tick() -> None:
    global jiffies
    jiffies += 1
    for callback in tuple(_callbacks):
        callback()


def uptime_ns() -> int:
    """Host nanoseconds since boot (for the console's timestamps)."""
    return time.monotonic_ns() - _boot_ns


def reset() -> None:
    global jiffies, _boot_ns
    _callbacks.clear()
    jiffies = 0
    _boot_ns = time.monotonic_ns()
