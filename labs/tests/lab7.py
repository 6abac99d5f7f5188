"""Grading tests for lab 7 (synchronisation: futexes, wait queues, lost wake-ups).

The student's ``futex_wait`` and ``futex_wake`` serve every FUTEX_WAIT(_BITSET) and
FUTEX_WAKE(_BITSET) of real pthread programs (``kernel/ipc/futex.py``,
``inject_futex``). Each program's output is compared with the same static binary run
natively on the host (Linux). The programs run first on the ordinary deterministic
machine, then under the chaos scheduler (``runner.run(chaos=SEED)``) with many seeds,
where other threads may run on either side of ``read_word`` and at random instructions:
a compare-then-queue FUTEX_WAIT loses wake-ups there and the program deadlocks.
"""

from __future__ import annotations

import functools
import subprocess

from asterinas_lab import runner
from asterinas_lab.grading import lab_test
from asterinas_lab.images import BIN_DIR
from asterinas_lab.kernel.ipc.futex import Futexes, inject_futex

REQUIRED = ("futex_wait", "futex_wake")


@functools.cache
def linux_output(argv: tuple[str, ...]) -> bytes:
    """stdout of the same static program run natively (the reference)."""
    program = BIN_DIR / argv[0].rsplit("/", 1)[-1]
    return subprocess.run([str(program), *argv[1:]], capture_output=True, timeout=30).stdout


def check_program(submission, argv: list[str], seeds=(None,)) -> None:
    want = linux_output(tuple(argv))
    with inject_futex(submission.futex_wait, submission.futex_wake):
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
