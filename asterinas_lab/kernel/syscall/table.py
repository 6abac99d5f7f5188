"""The syscall table and dispatcher.

The table is built once, at import: a list indexed by syscall number, each entry the
handler (a plain function) and whether it may block. Dispatch is one list index.

A handler is ``handler(thread, a0, a1, a2, a3, a4, a5) -> int``: it returns the value
for RAX, or raises :class:`LinuxError` and the dispatcher returns ``-errno``. A
handler returning ``None`` leaves RAX alone (exit, and the calls that rewrite all
registers).

Syscalls that cannot block are served on the *fast path*, inside the CPU's syscall
hook, without stopping the emulator. The others (``BLOCKING``) stop it and run in the
thread's task, where they may sleep on a WaitQueue or switch address spaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ...ostd import UserContext, log
from ..error import ENOMEM, ENOSYS, LinuxError, MustBlock
from . import fs, futex, misc, mm, poll, process, signal, time
from .numbers import SYSCALL_NAMES

NR_SYSCALLS = 512


class SyscallEntry(NamedTuple):
    handler: Callable[..., int | None]
    blocking: bool


def _build_table() -> list[SyscallEntry | None]:
    table: list[SyscallEntry | None] = [None] * NR_SYSCALLS
    for module in (fs, mm, process, signal, futex, time, misc, poll):
        for number, handler, blocking in module.SYSCALLS:
            if table[number] is not None:
                raise RuntimeError(f"syscall {number} registered twice")
            table[number] = SyscallEntry(handler, blocking)
    return table


TABLE = _build_table()
_reported_unknown: set[int] = set()


def unknown_syscall(number: int) -> int:
    if number not in _reported_unknown:
        _reported_unknown.add(number)
        name = SYSCALL_NAMES.get(number, "?")
        log(f"kernel: unimplemented syscall {number} ({name}): returning -ENOSYS")
    return -ENOSYS


def dispatch(thread, context: UserContext, allow_blocking: bool, table: list[SyscallEntry | None] = TABLE) -> bool:
    """Serve the syscall in ``context``. Returns False if it must go to the slow path.

    ``table`` is the kernel's table: TABLE, or a copy with some entries overridden
    (``Kernel.override_syscall``, the injection point of lab 3)."""
    number, a0, a1, a2, a3, a4, a5 = context.syscall_args()
    if number >= NR_SYSCALLS:
        number &= 0xFFFF_FFFF  # Linux reads the number as a 32-bit int
    entry = table[number] if number < NR_SYSCALLS else None
    if entry is None:
        context.set_syscall_return(unknown_syscall(number))
        return True
    if entry.blocking and not allow_blocking:
        return False
    try:
        result = entry.handler(thread, a0, a1, a2, a3, a4, a5)
    except LinuxError as error:
        result = -error.errno
    except MustBlock:
        return False
    except MemoryError:
        result = -ENOMEM  # out of physical frames: the call fails, the machine runs on
    if result is not None:
        context.set_syscall_return(result)
    return True
