"""Schedulers decide which runnable task runs next.

OSTD owns the mechanism (switching between tasks); the policy is injectable, as in
Asterinas (``inject_scheduler``). The default is first-in first-out: a task that yields
or is woken goes to the back of the queue.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .task import Task


class Scheduler(Protocol):
    def enqueue(self, task: Task) -> None: ...
    def pick_next(self) -> Task | None: ...
    def __len__(self) -> int: ...


class FifoScheduler:
    def __init__(self) -> None:
        self._queue: deque[Task] = deque()

    def enqueue(self, task: Task) -> None:
        self._queue.append(task)

    def pick_next(self) -> Task | None:
        return self._queue.popleft() if self._queue else None

    def __len__(self) -> int:
        return len(self._queue)
