"""Futexes: the kernel half of every pthread mutex, condition variable and join.

A futex is just a 32-bit word in user memory. User space does the fast path with
atomic instructions and calls the kernel only to sleep ("wait while the word still
holds this value") or to wake sleepers. The kernel keeps, per futex *key*, the queue
of waiters. The key names the memory, not the address: for private memory it is
(address space, address), for MAP_SHARED memory (shared object, offset), so that two
processes mapping the same shared page at different addresses meet on one futex.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...ostd import PAGE_SIZE
from ..error import EAGAIN, EFAULT, EINVAL, LinuxError
from ..process.signal.pause import pause_until

if TYPE_CHECKING:
    from ..process.process import Process, Thread

FUTEX_BITSET_MATCH_ANY = 0xFFFF_FFFF


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
        process = thread.process
        key = self.key(process, uaddr, private)
        if process.read_u32(uaddr) != expected & 0xFFFF_FFFF:
            raise LinuxError(EAGAIN)
        waiter = FutexWaiter(thread, bitset, key)
        self.queues.setdefault(key, []).append(waiter)
        try:
            pause_until(thread, lambda: waiter.woken, deadline_ns=deadline_ns)
        finally:
            if not waiter.woken:
                self._remove(waiter)
        return 0

    def _remove(self, waiter: FutexWaiter) -> None:
        queue = self.queues.get(waiter.key)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
            if not queue:
                del self.queues[waiter.key]

    def wake(self, process: Process, uaddr: int, count: int, bitset: int, private: bool) -> int:
        if bitset == 0:
            raise LinuxError(EINVAL)
        key = self.key(process, uaddr, private)
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
