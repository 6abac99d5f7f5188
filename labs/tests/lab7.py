"""Grading tests for lab 7 (synchronisation: futexes, wait queues, lost wake-ups).

Exercises 1 and 2 (futexes):

The student's ``futex_wait`` and ``futex_wake`` serve every FUTEX_WAIT(_BITSET) and
FUTEX_WAKE(_BITSET) of real pthread programs (``kernel/ipc/futex.py``,
``inject_futex``). Each program's output is compared with the same static binary run
natively on the host (Linux). The programs run first on the ordinary deterministic
machine, then under the chaos scheduler (``runner.run(chaos=SEED)``) with many seeds,
where other threads may run on either side of ``read_word`` and at random instructions:
a compare-then-queue FUTEX_WAIT loses wake-ups there and the program deadlocks.

Exercise 3 (a counting semaphore on OSTD's WaitQueue): the student's ``Semaphore`` is
tried on OSTD tasks directly (sleepers, wake-ups, a cancelled sleeper), then becomes the
counter of every EFD_SEMAPHORE eventfd (``kernel/fs/eventfd.py``, ``inject_semaphore``:
a read is a down, a write of n an up by n) while ``/bin/eventfd_sem`` runs (a semaphore
as a lock, producers and consumers, ping-pong, one write waking many sleepers, reads
interrupted by signals), compared with Linux on the deterministic machine and under
chaos seeds.
"""

from __future__ import annotations

import functools
import subprocess

from asterinas_lab import runner
from asterinas_lab.grading import lab_test
from asterinas_lab.images import BIN_DIR
from asterinas_lab.kernel.fs.eventfd import inject_semaphore
from asterinas_lab.kernel.ipc.futex import Futexes, inject_futex
from asterinas_lab.ostd import FifoScheduler, Task
from asterinas_lab.ostd.task.task import reset, run_tasks

REQUIRED = ("futex_wait", "futex_wake")


@functools.cache
def linux_output(argv: tuple[str, ...]) -> bytes:
    """stdout of the same static program run natively (the reference)."""
    program = BIN_DIR / argv[0].rsplit("/", 1)[-1]
    return subprocess.run([str(program), *argv[1:]], capture_output=True, timeout=30).stdout


def check_program(submission, argv: list[str], seeds=(None,)) -> None:
    with inject_futex(submission.futex_wait, submission.futex_wake):
        compare_with_linux(argv, seeds)


def compare_with_linux(argv: list[str], seeds=(None,)) -> None:
    """Run ``argv`` in the lab once per seed (None: the deterministic machine) and compare
    its stdout and exit status with the native run."""
    want = linux_output(tuple(argv))
    for seed in seeds:
        if seed is None:
            result = runner.run(argv, deterministic=True)
            where = "on the deterministic machine"
        else:
            result = runner.run(argv, chaos=seed)
            where = f"under the chaos scheduler with seed {seed}"
        problems = result.oopses + [line for line in result.stderr.decode(errors="replace").splitlines()
                                    if "deadlock" in line]  # fmt: skip
        assert result.stdout == want and result.status == 0, (
            f"{' '.join(argv)} {where}: exit status {result.status}\n"
            f"  got:   {result.stdout.decode(errors='replace')[-400:]!r}\n"
            f"  Linux: {want.decode(errors='replace')[-400:]!r}\n  kernel: {problems}"
        )


class _FakeThread:
    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


@lab_test(points=1)
def test_wake_order_and_count(submission):
    """futex_wake on a table built by hand: wakes at most `count` matching waiters, oldest
    first, marks them woken, takes them off the queue and returns how many it woke."""
    from asterinas_lab.kernel.ipc.futex import FutexWaiter  # noqa: PLC0415

    futexes = Futexes()
    key = ("private", 1, 0x1000)
    threads = [_FakeThread() for _ in range(4)]
    waiters = [FutexWaiter(t, bits, key) for t, bits in zip(threads, (0x1, 0x2, 0x3, 0x1), strict=True)]
    futexes.queues[key] = list(waiters)
    assert submission.futex_wake(futexes, ("private", 1, 0x2000), 5, 0xFFFFFFFF) == 0, "nobody waits there"
    assert submission.futex_wake(futexes, key, 2, 0x1) == 2, "two waiters have bit 0x1 and count is 2"
    assert [w.woken for w in waiters] == [True, False, True, False], "wake the oldest matching waiters"
    assert [t.wakes for t in threads] == [1, 0, 1, 0], "each woken waiter's thread gets one wake()"
    assert futexes.queues[key] == [waiters[1], waiters[3]], "woken waiters leave the queue, the others stay"
    assert submission.futex_wake(futexes, key, 10, 0xFFFFFFFF) == 2
    assert not futexes.queues.get(key), "an empty queue holds nobody"


@lab_test(points=2, depends=("test_wake_order_and_count",), timeout=60)
def test_futex_wake_program(submission):
    """/bin/futex_wake (raw futex calls: wake counts, bitsets, timeouts, requeue) gives
    Linux's output on the deterministic machine."""
    check_program(submission, ["/bin/futex_wake"])


@lab_test(points=2, depends=("test_wake_order_and_count",), timeout=60)
def test_pthread_counter(submission):
    """/bin/pthread_counter (mutexes, condition variables, joins, barriers) gives Linux's
    output on the deterministic machine."""
    check_program(submission, ["/bin/pthread_counter", "200"])


@lab_test(points=1, depends=("test_pthread_counter",), timeout=60)
def test_mutex_counter_chaos(submission):
    """A mutex-protected counter in 3 threads stays exact under 4 chaos seeds."""
    check_program(submission, ["/bin/race_counter", "mutex", "3", "300"], seeds=range(4))


@lab_test(points=3, depends=("test_pthread_counter",), visibility="hidden", timeout=60)
def test_pthread_counter_chaos(submission):
    """pthread_counter under 12 chaos seeds: a wake-up lost between the compare and the
    sleep leaves a thread asleep forever (the kernel reports a deadlock)."""
    check_program(submission, ["/bin/pthread_counter", "60"], seeds=range(100, 112))


@lab_test(points=2, depends=("test_futex_wake_program",), visibility="hidden", timeout=60)
def test_futex_wake_chaos(submission):
    """futex_wake under 8 chaos seeds (timeouts, bitsets and requeues interleaved at random)."""
    check_program(submission, ["/bin/futex_wake"], seeds=range(200, 208))


@lab_test(points=1, depends=("test_pthread_counter",), visibility="hidden", timeout=60)
def test_race_counter_mutex_many_threads(submission):
    """8 threads on one mutex under 6 chaos seeds: many sleepers on one futex."""
    check_program(submission, ["/bin/race_counter", "mutex", "8", "150"], seeds=range(300, 306))


# --- exercise 3: a counting semaphore on OSTD's WaitQueue ---------------------------------


def run_tasks_to_idle(*entries, tasks: list[Task] | None = None) -> list[Task]:
    """Run ``entries`` as OSTD tasks on a FIFO scheduler until none can run (the ones
    still asleep then stay asleep: nothing else could wake them). ``tasks``, if given,
    receives the tasks before they start (so that one can wake another)."""
    reset(FifoScheduler())
    tasks = tasks if tasks is not None else []
    tasks.extend(Task(entry, name=f"task {i}") for i, entry in enumerate(entries))
    for task in tasks:
        task.run()
    run_tasks(lambda: False)
    return tasks


def waiter(sem, log: list, name: str, cancelled=None):
    def entry() -> None:
        log.append((name, "taken" if (sem.down() if cancelled is None else sem.down(cancelled)) else "cancelled"))

    return entry


@lab_test(points=1)
def test_semaphore_without_sleeping(submission):
    """Semaphore(value): try_down takes a unit only if there is one; up(n) adds n; down
    with a unit available takes it at once (no task needed)."""
    sem = submission.Semaphore(2)
    assert sem.value == 2
    assert sem.try_down() and sem.try_down(), "try_down takes a unit when there is one"
    assert not sem.try_down(), "try_down on an empty semaphore fails"
    assert sem.value == 0, f"two units taken from 2: value {sem.value}, never negative"
    sem.up(3)
    assert sem.value == 3, "up(3) adds 3 units"
    assert sem.down() is True, "down with units available takes one and returns True"
    assert sem.value == 2
    sem.up()
    assert sem.value == 3, "up() adds 1"


@lab_test(points=2, depends=("test_semaphore_without_sleeping",), timeout=30)
def test_semaphore_sleepers(submission):
    """Three tasks sleep in down(); up(1) lets exactly one through, up(2) the two others;
    every unit is taken and nobody is left asleep."""
    sem = submission.Semaphore(0)
    log: list = []
    seen = []

    def producer() -> None:
        sem.up(1)
        Task.yield_now()  # the woken tasks run (FIFO)
        seen.append((len(log), sem.value))
        sem.up(2)
        Task.yield_now()
        seen.append((len(log), sem.value))

    run_tasks_to_idle(*(waiter(sem, log, name) for name in "ABC"), producer)
    assert seen, "the producer did not run to its first check"
    assert seen[0] == (1, 0), (
        f"after up(1) on three sleepers: {seen[0][0]} got through, value {seen[0][1]} (want 1, 0)"
    )
    assert len(seen) == 2 and seen[1] == (3, 0), (
        f"after up(2) more: {seen[-1][0]} got through in all, value {seen[-1][1]} (want 3, 0): "
        "up(n) must wake enough sleepers for n units"
    )
    assert sorted(log) == [("A", "taken"), ("B", "taken"), ("C", "taken")], log


@lab_test(points=1, depends=("test_semaphore_sleepers",), visibility="hidden", timeout=30)
def test_semaphore_cancelled_sleeper(submission):
    """A sleeper whose wait is cancelled (a signal) returns False without a unit; a unit
    whose wake-up went to a sleeper that then gave up must still reach another sleeper."""
    # 1. cancelled while nothing is available
    sem = submission.Semaphore(0)
    log: list = []
    flag = {"A": False}
    tasks: list[Task] = []

    def signaller() -> None:
        flag["A"] = True
        tasks[0].wake()  # what a signal does to a sleeping thread
        Task.yield_now()
        sem.up(1)

    run_tasks_to_idle(waiter(sem, log, "A", lambda: flag["A"]), waiter(sem, log, "B"), signaller, tasks=tasks)
    assert ("A", "cancelled") in log, f"a cancelled sleeper returns False: {log}"
    assert ("B", "taken") in log and sem.value == 0, (
        f"the unit goes to the other sleeper: {log}, value {sem.value}"
    )

    # 2. the wake-up for a unit goes to a sleeper whose wait is cancelled before it runs
    sem = submission.Semaphore(0)
    log = []
    flag = {"A": False}
    tasks = []

    def racer() -> None:
        sem.up(1)
        flag["A"] = True  # a signal arrives for A right after the up woke it
        tasks[0].wake()

    run_tasks_to_idle(waiter(sem, log, "A", lambda: flag["A"]), waiter(sem, log, "B"), racer, tasks=tasks)
    taken = [name for name, outcome in log if outcome == "taken"]
    assert len(taken) == 1 and sem.value == 0, (
        f"one unit, two sleepers, the first one cancelled just after up() woke it: {log}, value {sem.value}; "
        "a unit left while a task sleeps in down() is a lost wake-up (a sleeper that gives up must not "
        "swallow the wake-up meant for a unit, or must pass it on)"
    )


@lab_test(points=2, depends=("test_semaphore_without_sleeping",), timeout=60)
def test_eventfd_semaphore_program(submission):
    """/bin/eventfd_sem (EFD_SEMAPHORE eventfds served by your Semaphore: a lock, producers
    and consumers, ping-pong, one write waking 4 sleepers, signals) gives Linux's output
    on the deterministic machine."""
    with inject_semaphore(submission.Semaphore):
        compare_with_linux(["/bin/eventfd_sem"])


@lab_test(points=1, depends=("test_eventfd_semaphore_program",), timeout=60)
def test_eventfd_semaphore_chaos(submission):
    """/bin/eventfd_sem under 4 chaos seeds."""
    with inject_semaphore(submission.Semaphore):
        compare_with_linux(["/bin/eventfd_sem"], seeds=range(4))


@lab_test(points=2, depends=("test_eventfd_semaphore_program",), visibility="hidden", timeout=60)
def test_eventfd_semaphore_chaos_many(submission):
    """/bin/eventfd_sem 60 under 12 more chaos seeds: no unit lost or duplicated, no
    sleeper left behind, whatever the interleaving."""
    with inject_semaphore(submission.Semaphore):
        compare_with_linux(["/bin/eventfd_sem", "60"], seeds=range(400, 412))
