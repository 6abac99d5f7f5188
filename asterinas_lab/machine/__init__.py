"""The emulated hardware: one x86-64 CPU, physical RAM, a serial port and a timer.

Nothing here knows about any operating system. Only OSTD (the trusted core) may import
this package; the safety lint rejects an import of it from ``asterinas_lab.kernel``.
"""

from __future__ import annotations

from collections.abc import Callable

from .cpu import Cpu
from .ram import PAGE_SIZE, PhysicalMemory
from .serial import SerialPort
from .timer import PeriodicTimer

DEFAULT_RAM_SIZE = 256 << 20
DEFAULT_TIMER_PERIOD_S = 0.01


class Machine:
    """A PC with ``ram_size`` bytes of RAM: what the firmware hands to the OS at boot."""

    def __init__(
        self,
        ram_size: int = DEFAULT_RAM_SIZE,
        console: Callable[[bytes], object] | None = None,
        timer_period_s: float = DEFAULT_TIMER_PERIOD_S,
    ) -> None:
        self.ram = PhysicalMemory(ram_size)
        self.cpu = Cpu(self.ram)
        self.serial = SerialPort(console)
        self.timer = PeriodicTimer(timer_period_s, self.cpu.interrupt)

    def power_off(self) -> None:
        self.timer.stop()
        self.cpu.close()
        self.ram.release()


__all__ = ["PAGE_SIZE", "Cpu", "Machine", "PeriodicTimer", "PhysicalMemory", "SerialPort"]
