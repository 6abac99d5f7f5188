"""The console (the serial port) and the kernel log.

``print_console`` writes bytes to the serial port: this is how user programs' output to
the terminal leaves the machine. ``log`` writes a timestamped kernel log line, like
Linux's ``printk``; the lines are kept (``log_lines``) so a notebook can show the boot
log, and echoed to the console only when ``echo_log`` is set (``asterinas-lab boot``).
"""

from __future__ import annotations

from . import platform, timer

log_lines: list[str] = []
echo_log = False


def print_console(data: bytes) -> None:
    platform.get().machine.serial.write(data)


def read_console(limit: int) -> bytes:
    """Console input typed so far (b"" if none)."""
    return platform.get().machine.serial.read_available(limit)


def log(message: str) -> None:
    seconds = timer.uptime_ns() / 1e9
    line = f"[{seconds:12.6f}] {message}"
    log_lines.append(line)
    if echo_log and platform.current is not None:
        platform.current.machine.serial.write(line.encode() + b"\n")
