"""The chaos scheduler: seeded, reproducible preemption at random instructions.

A race in a multi-threaded program shows only when a thread is switched out at the
wrong instruction, which on real hardware depends on timer interrupts and on what the
other CPUs do: the bug appears on one run in a thousand. Chaos mode makes such
interleavings common *and* reproducible (``runner.run(..., chaos=SEED)``):

- every run of user code is bounded by a random number of instructions (1 to
  ``max_slice``), after which the thread is preempted (the kernel's ``debugger``
  interface: ``instructions(thread)`` before each user run, ``after(thread, reason)``
  after it);
- the next task to run is picked at random among the runnable ones (an OSTD
  ``Scheduler`` injected at boot, as Asterinas' ``inject_scheduler``);
- kernel code may call :func:`preemption_point` where, on a real multi-core machine,
  another CPU could act in between: in chaos mode other threads may run there.

All the randomness comes from one ``random.Random(seed)``, the machine runs in
deterministic mode (virtual clock) and the host timer is off (chaos preempts by
itself), so the same seed gives the same interleaving, hence the same output, on every
run and every machine. A correct program prints the same under every seed; a racy one
does not.

It uses the kernel's debugger slot, so it cannot be combined with a stepping
``viz.Session``; instruction counting slows user code down several times, so use it
with small inputs.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ..ostd import ReturnReason, Task

if TYPE_CHECKING:
    from .main import Kernel

#: Longest run of user code between two chaos preemptions, in instructions.
DEFAULT_MAX_SLICE = 400
#: Chance that a preemption point (or the return from a syscall) switches threads.
DEFAULT_POINT_PROBABILITY = 0.5
#: The host timer's period under chaos: effectively off (a tick would stop user code
#: at a host-time-dependent instruction, which would make the run irreproducible).
TIMER_OFF_S = 3600.0


class ChaosScheduler:
    """An OSTD scheduler (``enqueue``/``pick_next``/``__len__``) that runs a random
    runnable task next."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._tasks: list[Task] = []

    def enqueue(self, task: Task) -> None:
        self._tasks.append(task)

    def pick_next(self) -> Task | None:
        if not self._tasks:
            return None
        return self._tasks.pop(self._rng.randrange(len(self._tasks)))

    def __len__(self) -> int:
        return len(self._tasks)


class Chaos:
    """The state of one chaos run: its random source, scheduler and counters."""

    def __init__(
        self, seed: int, max_slice: int = DEFAULT_MAX_SLICE, point_probability: float = DEFAULT_POINT_PROBABILITY
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.max_slice = max_slice
        self.point_probability = point_probability
        self.scheduler = ChaosScheduler(self.rng)
        #: Preemptions of user code (budget spent), and switches at preemption points.
        self.preemptions = 0
        self.point_switches = 0

    # --- the kernel's debugger interface (kernel/process/thread_loop.py) ---------------

    def instructions(self, thread: Any) -> int:
        return self.rng.randint(1, self.max_slice)

    def after(self, thread: Any, reason: ReturnReason) -> None:
        if thread.exited:
            return
        if reason is ReturnReason.KERNEL_EVENT:
            self.preemptions += 1
            Task.yield_now()
        elif reason is ReturnReason.USER_SYSCALL and self.rng.random() < self.point_probability:
            Task.yield_now()

    # --- preemption points in kernel code ---------------------------------------------

    def point(self) -> None:
        if self.rng.random() < self.point_probability:
            self.point_switches += 1
            Task.yield_now()


def install(kernel: Kernel, seed: int, **options: Any) -> Chaos:
    """Put ``kernel`` in chaos mode (before boot). Returns the Chaos; boot the machine
    with ``scheduler=chaos.scheduler`` and ``timer_period_s=TIMER_OFF_S``."""
    chaos = Chaos(seed, **options)
    kernel.chaos = chaos
    kernel.debugger = chaos
    kernel.deterministic = True
    kernel.config.deterministic = True
    return chaos


def preemption_point(thread: Any) -> None:
    """A place in kernel code where, on a multi-core machine, other threads could run
    (another CPU does not wait for us). Nothing happens normally; in chaos mode other
    threads may run here. Never switches on the fast path (inside the CPU hook)."""
    chaos = thread.kernel.chaos
    if chaos is not None and not thread.in_fast_path and Task.current() is not None:
        chaos.point()
