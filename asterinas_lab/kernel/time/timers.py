"""Kernel timers: call a function when the monotonic clock passes a deadline.

Sleeps (nanosleep, timeouts of futex and sigtimedwait) and ITIMER_REAL/alarm all are
timers. They fire from the timer tick, from the idle loop (which either sleeps the
host until the earliest deadline or, with a virtual clock, jumps straight to it), and
in deterministic mode after each syscall's fixed cost has been added to the clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from itertools import count


class Timer:
    __slots__ = ("deadline", "callback", "cancelled")

    def __init__(self, deadline: int, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class TimerQueue:
    """Pending timers by deadline. Invariant: a timer fires at most once, and never
    before its deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Timer]] = []
        self._seq = count()

    def add(self, deadline: int, callback: Callable[[], None]) -> Timer:
        timer = Timer(deadline, callback)
        heapq.heappush(self._heap, (deadline, next(self._seq), timer))
        return timer

    def next_deadline(self) -> int | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def run_expired(self, now: int) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback()

    def __bool__(self) -> bool:
        return self.next_deadline() is not None


class IntervalTimer:
    """A timer that fires at ``deadline`` and then every ``interval`` ns (0: once):
    ITIMER_REAL, alarm and POSIX timers. ``expire()`` is called at each expiry."""

    def __init__(self, queue: TimerQueue, expire: Callable[[], None]) -> None:
        self.queue = queue
        self.expire = expire
        self.deadline = 0
        self.interval = 0
        self.overrun = 0
        self._timer: Timer | None = None

    @property
    def armed(self) -> bool:
        return self._timer is not None and not self._timer.cancelled

    def arm(self, deadline: int, interval: int) -> None:
        self.disarm()
        self.deadline, self.interval, self.overrun = deadline, interval, 0
        self._timer = self.queue.add(deadline, self._fire)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def remaining(self, now: int) -> int:
        return max(0, self.deadline - now) if self.armed else 0

    def state(self, now: int) -> tuple[int, int]:
        """(time to the next expiry, interval): both 0 when disarmed."""
        return (max(0, self.deadline - now), self.interval) if self.armed else (0, 0)

    def _fire(self) -> None:
        self._timer = None
        if self.interval:
            self.deadline += self.interval
            self._timer = self.queue.add(self.deadline, self._fire)
        self.expire()
