"""Tasks: OSTD's unit of scheduling. See ``task.py`` and ``scheduler.py``."""

from .scheduler import FifoScheduler, Scheduler
from .task import Task, TaskStatus

__all__ = ["FifoScheduler", "Scheduler", "Task", "TaskStatus"]
