"""The chaos scheduler (kernel/chaos.py): seeded preemption at random instructions.

A racy counter loses updates under chaos, by an amount that depends on the seed and
is the same on every run with one seed; a mutex-protected counter is exact under every
seed; and the futex injection point (lab 7) restores the kernel's own code.
"""

from __future__ import annotations

from asterinas_lab import runner
from asterinas_lab.kernel.ipc import futex

RACY = ["/bin/race_counter", "racy", "2", "2000"]
EXACT = b"counter: 2 threads x 2000 = 4000 (expected 4000)\n"


def test_racy_counter_reproducible_per_seed():
    first = runner.run(RACY, chaos=3)
    again = runner.run(RACY, chaos=3)
    assert first.stdout == again.stdout
    outputs = {runner.run(RACY, chaos=seed).stdout for seed in range(4)}
    assert EXACT not in outputs and len(outputs) > 1


def test_no_race_without_chaos():
    assert runner.run(RACY, deterministic=True).stdout == EXACT


def test_mutex_exact_under_chaos():
    for seed in range(3):
        result = runner.run(["/bin/race_counter", "mutex", "2", "2000"], chaos=seed)
        assert result.stdout == EXACT and result.status == 0


def test_chaos_counts_preemptions():
    seen = []
    runner.run(RACY, chaos=1, with_kernel=seen.append)
    assert seen[0].chaos is not None and seen[0].chaos.preemptions > 10


def test_inject_futex_restores():
    def wait(*_args):
        raise AssertionError("not called")

    with futex.inject_futex(wait=wait):
        assert futex.wait_handler is wait
    assert futex.wait_handler is None and futex.wake_handler is None
