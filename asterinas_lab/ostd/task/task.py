"""Task: a kernel thread of control, with its own stack, scheduled cooperatively.

Each task runs on its own greenlet, so kernel code is written in plain blocking style:
a syscall that must wait calls ``WaitQueue.wait_until`` and the task is switched out
until woken, while other tasks run. Switching never happens inside the emulator (a
unicorn hook); ``UserMode.execute`` has always returned first.

An exception escaping a task's entry function is contained here. If it was raised by
safe kernel code (or is an OSTD refusal of a kernel request), it is an *oops*: the
kernel's oops handler kills only that task's process and the machine runs on. If it
was raised from inside OSTD's own code, an invariant of the trusted core is broken:
that is a *panic*, and the machine stops.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from enum import Enum
from typing import Any

from greenlet import greenlet

from .. import events
from ..error import OstdError, PageFaultError, Panic
from ..events import Event
from .scheduler import FifoScheduler, Scheduler

_OSTD_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MACHINE_DIR = os.path.join(os.path.dirname(_OSTD_DIR), "machine")


class TaskStatus(Enum):
    RUNNABLE = "runnable"
    SLEEPING = "sleeping"
    EXITED = "exited"


class Task:
    """A schedulable thread of kernel control.

    Invariant: a task is in the scheduler's queue exactly when it is RUNNABLE and not
    the current task; only the current task can put itself to sleep.
    """

    def __init__(self, entry: Callable[[], None], data: Any = None, name: str = "task") -> None:
        self.entry = entry
        self.data = data
        self.name = name
        self.status = TaskStatus.RUNNABLE
        self._greenlet: greenlet | None = None

    def __repr__(self) -> str:
        return f"Task({self.name!r}, {self.status.value})"

    def run(self) -> None:
        """Make the task runnable for the first time."""
        self._greenlet = greenlet(self._main, parent=_loop_greenlet())
        _state.live += 1
        _state.scheduler.enqueue(self)

    @staticmethod
    def current() -> Task | None:
        return _state.current

    @staticmethod
    def yield_now() -> None:
        """Let other runnable tasks run; come back after them."""
        task = _state.current
        if task is None:
            return
        _state.scheduler.enqueue(task)
        _state.loop.switch()

    def sleep(self) -> None:
        """Switch out the current task until someone calls :meth:`wake`."""
        if self is not _state.current:
            raise OstdError("only the current task can go to sleep")
        self.status = TaskStatus.SLEEPING
        _state.loop.switch()

    def wake(self) -> bool:
        if self.status is not TaskStatus.SLEEPING:
            return False
        self.status = TaskStatus.RUNNABLE
        _state.scheduler.enqueue(self)
        return True

    def _main(self) -> None:
        try:
            self.entry()
        except BaseException as error:  # noqa: BLE001 - containment is the point
            _contain(self, error)
        finally:
            self.status = TaskStatus.EXITED
            _state.live -= 1


def is_ostd_fault(error: BaseException) -> bool:
    """True if ``error`` was raised inside the trusted core (OSTD or the machine)."""
    if isinstance(error, (OstdError, PageFaultError)):
        return False  # OSTD refusing a bad request from safe code: the caller's bug
    tb = error.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return False
    filename = os.path.abspath(last.tb_frame.f_code.co_filename)
    return filename.startswith(_OSTD_DIR + os.sep) or filename.startswith(_MACHINE_DIR + os.sep)


def _contain(task: Task, error: BaseException) -> None:
    if isinstance(error, (KeyboardInterrupt, SystemExit, Panic)) or is_ostd_fault(error):
        _state.panic = error
        return
    handler = _state.oops_handler
    if handler is None:
        _state.panic = error
        return
    try:
        handler(task, error)
    except BaseException as second:  # noqa: BLE001
        _state.panic = second


def format_exception_site(error: BaseException) -> str:
    """'file:line in function' of the innermost frame: what an oops message shows."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    here = os.path.dirname(_OSTD_DIR)
    filename = os.path.relpath(last.filename, os.path.dirname(here))
    return f"{filename}:{last.lineno} in {last.name}"


class _State:
    def __init__(self) -> None:
        self.scheduler: Scheduler = FifoScheduler()
        self.current: Task | None = None
        self.loop: greenlet | None = None
        self.live = 0
        self.panic: BaseException | None = None
        self.oops_handler: Callable[[Task, BaseException], None] | None = None


_state = _State()


def _loop_greenlet() -> greenlet:
    if _state.loop is None:
        _state.loop = greenlet.getcurrent()
    return _state.loop


def reset(scheduler: Scheduler | None = None) -> None:
    global _state
    _state = _State()
    if scheduler is not None:
        _state.scheduler = scheduler


def inject_scheduler(scheduler: Scheduler) -> None:
    _state.scheduler = scheduler


def set_oops_handler(handler: Callable[[Task, BaseException], None]) -> None:
    _state.oops_handler = handler


def run_tasks(idle: Callable[[], bool]) -> None:
    """The scheduler loop: run tasks until none is left (or the machine panics).

    ``idle()`` is called when no task is runnable but some are asleep; it waits for an
    event (a tick, console input) and returns False if nothing can ever wake them.
    """
    _state.loop = greenlet.getcurrent()
    while _state.live > 0:
        task = _state.scheduler.pick_next()
        if task is None:
            if not idle():
                return
            continue
        _state.current = task
        if events.active[Event.CONTEXT_SWITCH]:
            events.emit(Event.CONTEXT_SWITCH, task=task)
        task._greenlet.switch()
        _state.current = None
        if _state.panic is not None:
            error, _state.panic = _state.panic, None
            raise Panic(f"{type(error).__name__}: {error} at {format_exception_site(error)}") from error

