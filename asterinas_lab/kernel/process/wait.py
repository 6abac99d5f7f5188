"""wait4 and waitid: a parent learns how its children ended (or stopped).

The parent sleeps on its ``child_exit`` queue until a child matching the selector has
something to report: it exited (a zombie, which is then reaped), it was stopped by a
signal (with WUNTRACED) or continued (with WCONTINUED).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..error import ECHILD, EINVAL, LinuxError
from .lifecycle import reap
from .signal.constants import CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, SIGCHLD
from .signal.pause import pause_until

if TYPE_CHECKING:
    from .process import Process, Thread

WNOHANG, WUNTRACED, WEXITED, WCONTINUED, WNOWAIT = 1, 2, 4, 8, 0x0100_0000
WSTOPPED = WUNTRACED
WNOTHREAD, WALL, WCLONE = 0x2000_0000, 0x4000_0000, 0x8000_0000
P_ALL, P_PID, P_PGID, P_PIDFD = 0, 1, 2, 3


class WaitResult:
    """What a wait reports about one child."""

    __slots__ = ("pid", "uid", "status", "code", "si_status", "child")

    def __init__(self, child: Process, status: int, code: int, si_status: int) -> None:
        self.child = child
        self.pid = child.pid
        self.uid = child.cred.uid
        self.status = status  # the wait4 status word
        self.code = code  # waitid's si_code (CLD_*)
        self.si_status = si_status


def _matches(child: Process, selector: tuple[int, int], options: int) -> bool:
    # A "clone child" (one that does not send SIGCHLD when it ends) is seen only with
    # __WCLONE or __WALL; the others only without __WCLONE.
    if not options & WALL and (child.exit_signal != SIGCHLD) != bool(options & WCLONE):
        return False
    kind, ident = selector
    if kind == P_ALL:
        return True
    if kind == P_PID:
        return child.pid == ident
    return child.pgid == ident


def _report(child: Process, options: int) -> WaitResult | None:
    if child.zombie and options & WEXITED:
        if child.term_signal is None:
            return WaitResult(child, child.wait_status, CLD_EXITED, child.exit_code or 0)
        code = CLD_DUMPED if child.core_dumped else CLD_KILLED
        return WaitResult(child, child.wait_status, code, child.term_signal)
    if child.report_stop is not None and options & WSTOPPED and not child.zombie:
        return WaitResult(child, (child.report_stop << 8) | 0x7F, CLD_STOPPED, child.report_stop)
    if child.report_continued and options & WCONTINUED and not child.zombie:
        return WaitResult(child, 0xFFFF, CLD_CONTINUED, 18)
    return None


def do_wait(thread: Thread, selector: tuple[int, int], options: int) -> WaitResult | None:
    """Wait for a child; None means WNOHANG and nothing to report yet."""
    process = thread.process

    def find() -> WaitResult | bool | None:
        candidates = [c for c in process.children.values() if _matches(c, selector, options)]
        if not candidates:
            raise LinuxError(ECHILD)
        for child in candidates:
            result = _report(child, options)
            if result is not None:
                return result
        return True if options & WNOHANG else None

    result = pause_until(thread, find, process.child_exit)
    if result is True:
        return None
    if not options & WNOWAIT:
        child = result.child
        if result.code in (CLD_EXITED, CLD_KILLED, CLD_DUMPED):
            reap(process, child)
        elif result.code == CLD_STOPPED:
            child.report_stop = None
        else:
            child.report_continued = False
    return result


def wait4_selector(thread: Thread, pid: int) -> tuple[int, int]:
    if pid < -1:
        return P_PGID, -pid
    if pid == -1:
        return P_ALL, 0
    if pid == 0:
        return P_PGID, thread.process.pgid
    return P_PID, pid


def waitid_selector(thread: Thread, idtype: int, ident: int) -> tuple[int, int]:
    if idtype == P_ALL:
        return P_ALL, 0
    if idtype == P_PID:
        if ident <= 0:
            raise LinuxError(EINVAL)
        return P_PID, ident
    if idtype == P_PGID:
        if ident < 0:
            raise LinuxError(EINVAL)
        return P_PGID, ident or thread.process.pgid
    raise LinuxError(EINVAL)
