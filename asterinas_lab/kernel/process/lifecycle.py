"""How processes end: exit, death by signal, and the oops that kills a process.

Ending a process releases what it owns (its address space and its open files) at
once; what remains is a *zombie*, holding only the exit status until the parent reaps
it with wait4. A process whose parent is gone (or that has none) is reaped by the
kernel itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...ostd import log

if TYPE_CHECKING:
    from ..main import Kernel
    from .process import Process

SIGNAL_NAMES = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
    7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 15: "SIGTERM",
}  # fmt: skip


def exit_process(kernel: Kernel, process: Process, code: int = 0, signal: int | None = None) -> None:
    if process.zombie:
        return
    for thread in process.threads:
        thread.exited = True
    process.exit_code = code
    process.exit_signal = signal
    process.files.close_all()
    process.vm.destroy()
    process.zombie = True
    if signal is not None:
        log(f"kernel: pid {process.pid} ({process.comm.decode(errors='replace')}) killed by "
            f"{SIGNAL_NAMES.get(signal, f'signal {signal}')}")  # fmt: skip
    parent = process.parent
    if parent is not None and not parent.zombie:
        parent.child_exit.wake_all()
    else:
        kernel.processes.pop(process.pid, None)
    kernel.on_process_exit(process)
