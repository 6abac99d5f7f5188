"""WaitQueue: where tasks sleep until a condition holds (Asterinas' ``WaitQueue``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TypeVar

from .error import OstdError
from .task import Task

T = TypeVar("T")


class WaitQueue:
    """Tasks waiting for an event.

    Invariant: a task is in the queue only while it sleeps on it; ``wake_*`` removes
    the tasks it wakes, a task woken another way removes itself, and a woken task
    re-checks its condition before returning (so spurious wake-ups are harmless).
    """

    def __init__(self) -> None:
        self._waiters: deque[Task] = deque()

    def wait_until(self, condition: Callable[[], T | None]) -> T:
        """Sleep until ``condition()`` returns something other than None or False."""
        while True:
            result = condition()
            if result is not None and result is not False:
                return result
            task = Task.current()
            if task is None:
                raise OstdError("wait_until called outside a task")
            self._waiters.append(task)
            task.sleep()
            # Woken by someone else (a signal, a timeout): leave no stale entry behind.
            if task in self._waiters:
                self._waiters.remove(task)

    def wake_one(self) -> bool:
        while self._waiters:
            if self._waiters.popleft().wake():
                return True
        return False

    def wake_all(self) -> int:
        woken = 0
        while self._waiters:
            woken += self._waiters.popleft().wake()
        return woken

    def __len__(self) -> int:
        return len(self._waiters)
