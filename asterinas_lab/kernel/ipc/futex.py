"""Futexes: the kernel half of every pthread mutex, condition variable and join.

A futex is just a 32-bit word in user memory. User space does the fast path with
atomic instructions and calls the kernel only to sleep ("wait while the word still
holds this value") or to wake sleepers. The kernel keeps, per futex *key*, the queue
of waiters. The key names the memory, not the address: for private memory it is
(address space, address), for MAP_SHARED memory (shared object, offset), so that two
processes mapping the same shared page at different addresses meet on one futex.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ...ostd import PAGE_SIZE
from ..chaos import preemption_point
from ..error import EAGAIN, EFAULT, EINVAL, LinuxError
from ..process.signal.pause import pause_until

if TYPE_CHECKING:
    from ..process.process import Process, Thread

FUTEX_BITSET_MATCH_ANY = 0xFFFF_FFFF

# --- injection point: FUTEX_WAIT and FUTEX_WAKE (lab 7) -----------------------------------
#: ``wait(futexes, thread, key, uaddr, expected, bitset, deadline_ns) -> 0``: sleep while
#: the word at ``uaddr`` holds ``expected`` (else EAGAIN) until woken (or ETIMEDOUT at
#: ``deadline_ns``, or a signal). ``wake(futexes, key, count, bitset) -> number woken``.
#: Both work on ``futexes.queues`` (key -> list of FutexWaiter, oldest first): a waiter
#: is woken by taking it off its queue, setting ``woken`` and calling
#: ``waiter.thread.wake()``, which is also how the kernel's own REQUEUE and WAKE_OP wake.
#: The kernel has already checked the arguments (alignment, bitset != 0) and computed
#: the key. None means the kernel's own code below.
FutexWait = Callable[..., int]
FutexWake = Callable[..., int]
wait_handler: FutexWait | None = None
wake_handler: FutexWake | None = None


@contextmanager
def inject_futex(wait: FutexWait | None = None, wake: FutexWake | None = None) -> Iterator[None]:
    """Serve FUTEX_WAIT(_BITSET) and FUTEX_WAKE(_BITSET) (and the wakes of thread exit)
    with other code (safe kernel code, e.g. a student's) while the ``with`` block runs."""
    global wait_handler, wake_handler
    saved = wait_handler, wake_handler
    wait_handler, wake_handler = wait, wake
    try:
        yield
    finally:
        wait_handler, wake_handler = saved


def read_word(thread: Thread, uaddr: int) -> int:
    """The futex word at ``uaddr`` (Linux's ``get_user``). On a multi-core machine other
    threads run on other CPUs while this thread reads, so nothing may be assumed about
    what happened just before or just after: under the chaos scheduler, other threads
    may run on either side of the read (a preemption point)."""
    preemption_point(thread)
    value = thread.process.read_u32(uaddr)
    preemption_point(thread)
    return value


class FutexWaiter:
    __slots__ = ("thread", "bitset", "key", "woken")

    def __init__(self, thread: Thread, bitset: int, key: tuple) -> None:
        self.thread = thread
        self.bitset = bitset
        self.key = key
        self.woken = False


class Futexes:
    """All futex wait queues of the machine. Invariant: a waiter is queued under
    exactly one key until it is woken, times out or is interrupted."""

    def __init__(self) -> None:
        self.queues: dict[tuple, list[FutexWaiter]] = {}

    @staticmethod
    def key(process: Process, uaddr: int, private: bool) -> tuple:
        if uaddr % 4:
            raise LinuxError(EINVAL)
        vm = process.vm
        if not private:
            area = vm.find(uaddr)
            if area is None:
                raise LinuxError(EFAULT)
            if area.shared_mem is not None:
                return ("shared", area.shared_mem.key, area.shared_index(uaddr) * PAGE_SIZE + uaddr % PAGE_SIZE)
        return ("private", vm.key, uaddr)

    def wait(
        self, thread: Thread, uaddr: int, expected: int, deadline_ns: int | None, bitset: int, private: bool
    ) -> int:
        if bitset == 0:
            raise LinuxError(EINVAL)
        key = self.key(thread.process, uaddr, private)
        if wait_handler is not None:
            return wait_handler(self, thread, key, uaddr, expected & 0xFFFF_FFFF, bitset, deadline_ns)
        # Queue first, compare second (as Linux does under the hash bucket's lock): a
        # waker that changes the word after our read finds us queued, so its wake-up
        # cannot be lost between the compare and the sleep.
        waiter = FutexWaiter(thread, bitset, key)
        self.queues.setdefault(key, []).append(waiter)
        try:
            if read_word(thread, uaddr) != expected & 0xFFFF_FFFF and not waiter.woken:
                raise LinuxError(EAGAIN)
            pause_until(thread, lambda: waiter.woken, deadline_ns=deadline_ns)
        finally:
            if not waiter.woken:
                self.remove(waiter)
        return 0

    def remove(self, waiter: FutexWaiter) -> None:
        """Take a waiter that was not woken (timed out, interrupted) off its queue."""
        queue = self.queues.get(waiter.key)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
            if not queue:
                del self.queues[waiter.key]

    def wake(self, process: Process, uaddr: int, count: int, bitset: int, private: bool) -> int:
        if bitset == 0:
            raise LinuxError(EINVAL)
        key = self.key(process, uaddr, private)
        if wake_handler is not None:
            return wake_handler(self, key, count, bitset) if count > 0 else 0
        return self._wake_key(key, count, bitset)

    def _wake_key(self, key: tuple, count: int, bitset: int = FUTEX_BITSET_MATCH_ANY) -> int:
        queue = self.queues.get(key)
        if not queue or count <= 0:
            return 0
        woken = 0
        for waiter in list(queue):
            if woken >= count:
                break
            if waiter.bitset & bitset:
                queue.remove(waiter)
                waiter.woken = True
                waiter.thread.wake()
                woken += 1
        if not queue:
            del self.queues[key]
        return woken

    def requeue(
        self, process: Process, uaddr: int, uaddr2: int, nr_wake: int, nr_requeue: int,
        expected: int | None, private: bool,
    ) -> int:  # fmt: skip
        if nr_wake < 0 or nr_requeue < 0:
            raise LinuxError(EINVAL)
        key = self.key(process, uaddr, private)
        key2 = self.key(process, uaddr2, private)
        if expected is not None and process.read_u32(uaddr) != expected & 0xFFFF_FFFF:
            raise LinuxError(EAGAIN)
        woken = self._wake_key(key, nr_wake)
        queue = self.queues.get(key)
        moved = 0
        if queue and key != key2:
            target = self.queues.setdefault(key2, [])
            while queue and moved < nr_requeue:
                waiter = queue.pop(0)
                waiter.key = key2
                target.append(waiter)
                moved += 1
            if not queue:
                del self.queues[key]
        return woken + moved
