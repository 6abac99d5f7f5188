"""The periodic timer: a host thread that interrupts the CPU.

Real hardware raises an interrupt; here the timer thread asks the CPU to stop emulating
(``Cpu.interrupt``), which makes the CPU return to the OS at the next instruction
boundary. That is how a user program that never makes a syscall is preempted. It does
not use unicorn's ``timeout=`` (a new thread on every start) or ``count=`` (which slows
all code down).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class PeriodicTimer:
    def __init__(self, period_s: float, fire: Callable[[], None]) -> None:
        self.period_s = period_s
        self._fire = fire
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="asterinas-lab-timer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.ticks += 1
            self._fire()
