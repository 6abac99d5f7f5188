"""Sleeping in a syscall until a condition holds, a signal arrives or time runs out
(Asterinas' ``Pause``).

Every blocking syscall sleeps through :func:`pause_until`, which is what makes it
*interruptible*: a signal wakes the thread, the syscall returns ``-ERESTARTSYS`` (or
another restart code), and on the way back to user mode the signal code decides
whether the call is restarted (SA_RESTART) or fails with EINTR.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ....ostd import Task, WaitQueue
from ...error import ETIMEDOUT, LinuxError, MustBlock
from ...time import clock
from .constants import ERESTARTSYS

if TYPE_CHECKING:
    from ..process import Thread

T = TypeVar("T")
_INTERRUPTED = object()
_TIMED_OUT = object()


def pause_until(
    thread: Thread,
    condition: Callable[[], T | None],
    queue: WaitQueue | None = None,
    deadline_ns: int | None = None,
    restart: int = ERESTARTSYS,
) -> T:
    """Sleep on ``queue`` until ``condition()`` is truthy and return its value.

    Raises LinuxError(restart) when a signal (or a kill) interrupts the sleep, and
    LinuxError(ETIMEDOUT) when the monotonic clock passes ``deadline_ns``.
    """

    def check():
        value = condition()
        if value is not None and value is not False:
            return value
        if thread.has_deliverable_signal():
            return _INTERRUPTED
        if deadline_ns is not None and clock.monotonic_ns() >= deadline_ns:
            return _TIMED_OUT
        return None

    result = check()
    if result is None:
        if thread.in_fast_path:
            raise MustBlock  # cannot sleep inside the CPU hook: retry on the slow path
        alarm = thread.kernel.timers.add(deadline_ns, thread.wake) if deadline_ns is not None else None
        try:
            result = (queue if queue is not None else WaitQueue()).wait_until(check)
        finally:
            if alarm is not None:
                alarm.cancel()
    if result is _INTERRUPTED:
        raise LinuxError(restart)
    if result is _TIMED_OUT:
        raise LinuxError(ETIMEDOUT)
    return result


def slow_path_only() -> Thread | None:
    """Leave the fast path before doing anything: for code that may sleep or act in
    ways a fast-path retry would repeat (injected drivers, a student's pipe or
    semaphore). On the fast path this raises MustBlock, so the call runs once, in the
    thread's task. Returns the calling thread (None outside any task)."""
    task = Task.current()
    thread = task.data if task is not None else None
    if thread is not None and getattr(thread, "in_fast_path", False):
        raise MustBlock
    return thread
