"""Lab 5 grading tests: scheduling policies.

The submission defines ``RoundRobinScheduler`` and ``FairScheduler``, classes with
OSTD's scheduler protocol (``enqueue(task)``, ``pick_next() -> Task | None``,
``len()``). The tests

* drive a scheduler directly with stand-in tasks (unit tests), and
* boot machines with the scheduler injected (``kernel.scheduler``, set through
  ``runner.run(with_kernel=...)``), run real multi-process and multi-threaded programs
  in deterministic mode, compare their output with the kernel's default scheduler, and
  measure how the CPU was shared (each process's CPU time, from the kernel, at the
  moment the first CPU-hungry process exits).

Every run goes through a checking wrapper that records any broken promise of the
protocol: a task picked that was not queued, a task queued twice, ``pick_next``
returning None while tasks wait (a lost task), or ``len`` disagreeing.
"""

from __future__ import annotations

from types import SimpleNamespace

from asterinas_lab import runner
from asterinas_lab.grading import lab_test

REQUIRED = ("RoundRobinScheduler", "FairScheduler")

#: Three CPU-hungry processes (each makes N getppid calls) started in the order nice 10,
#: nice 5, nice 0 (busybox renice sets the nice value of the shell that then execs).
SHARE_SCRIPT = (
    'for n in {nices}; do /bin/sh -c "renice -n $n -p \\$\\$ >/dev/null; exec /bin/getppid_loop {count}" & '
    "done; wait; echo all done"
)
PROGRAMS = (["/bin/fork_tree"], ["/bin/pthread_counter"], ["/bin/pipe_pingpong", "2000"], ["/bin/clone_threads"])


# --- helpers -------------------------------------------------------------------------------------------


def policy(submission, name: str):
    cls = getattr(submission, name, None)
    assert isinstance(cls, type), f"define the class {name} (its exercise's cell) before this test can run"
    return cls


class Checked:
    """Wraps a scheduler; records every broken promise instead of raising (an exception
    inside a task would only be an oops of one process)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.queued: set[int] = set()
        self.problems: list[str] = []
        self.picks = 0

    def enqueue(self, task) -> None:
        if id(task) in self.queued:
            self.problems.append(f"{task!r} was enqueued while already in the queue")
        self.queued.add(id(task))
        self.inner.enqueue(task)
        self._check_len()

    def pick_next(self):
        task = self.inner.pick_next()
        if task is None:
            if self.queued:
                self.problems.append(f"pick_next returned None while {len(self.queued)} task(s) were queued")
                self.queued.clear()  # they are lost: do not report them again
        elif id(task) not in self.queued:
            self.problems.append(f"pick_next returned {task!r}, which was not in the queue")
        else:
            self.queued.discard(id(task))
            self.picks += 1
        self._check_len()
        return task

    def __len__(self) -> int:
        return len(self.inner)

    def _check_len(self) -> None:
        if len(self.inner) != len(self.queued) and not self.problems:
            self.problems.append(f"len() is {len(self.inner)}, but {len(self.queued)} task(s) are queued")


def run_with(cls, argv, **options):
    checked: list[Checked] = []

    def with_kernel(kernel) -> None:
        checked.append(Checked(cls()))
        kernel.scheduler = checked[0]

    result = runner.run(argv, deterministic=True, with_kernel=with_kernel, **options)
    wrapper = checked[0]
    assert not wrapper.problems, f"{' '.join(argv)}: {wrapper.problems[0]}"
    assert wrapper.picks > 0, "the kernel never used your scheduler"
    return result


def programs_match(cls) -> None:
    for argv in PROGRAMS:
        mine = run_with(cls, argv)
        reference = runner.run(argv, deterministic=True)
        name = " ".join(argv)
        assert not mine.oopses, f"{name}: {mine.oopses[0]}"
        assert mine.stdout == reference.stdout, (
            f"{name}: output differs from the default scheduler's:\n{mine.stdout.decode(errors='replace')[-400:]}"
        )
        assert mine.status == reference.status == 0, f"{name}: exit status {mine.status}"


def cpu_shares(cls, nices=(10, 5, 0), count: int = 100_000) -> dict[int, int]:
    """CPU time (ns) of each CPU-hungry process, by nice value, when the first one exits."""
    kernels, shares = [], {}

    def on_exit(process) -> None:
        if process.comm.startswith(b"getppid") and not shares:
            for other in kernels[0].processes.values():
                if other.comm.startswith(b"getppid") and (other is process or not other.zombie):
                    shares[other.nice] = sum(thread.cpu_ns for thread in other.threads)

    def with_kernel(kernel) -> None:
        kernels.append(kernel)
        kernel.exit_observers.append(on_exit)

    script = SHARE_SCRIPT.format(nices=" ".join(map(str, nices)), count=count)
    checked: list[Checked] = []

    def inject(kernel) -> None:
        with_kernel(kernel)
        checked.append(Checked(cls()))
        kernel.scheduler = checked[0]

    result = runner.run(["/bin/sh", "-c", script], deterministic=True, with_kernel=inject)
    assert not checked[0].problems, checked[0].problems[0]
    assert result.stdout == b"done %d\n" % count * len(nices) + b"all done\n", (
        f"not every process finished: {result.stdout!r} {result.stderr[-300:]!r}"
    )
    assert set(shares) == set(nices), f"could not measure every process: {shares}"
    return shares


def fake_task(name: str, cpu_ns: int = 0, nice: int = 0):
    thread = SimpleNamespace(cpu_ns=cpu_ns, tid=0, process=SimpleNamespace(nice=nice, pid=0))
    return SimpleNamespace(name=name, data=thread)


# --- exercise 1: round robin ------------------------------------------------------------------------------


@lab_test(points=2)
def test_round_robin_queue_order(submission):
    """First in, first out: a task that comes back goes behind the ones waiting."""
    scheduler = policy(submission, "RoundRobinScheduler")()
    a, b, c = fake_task("a"), fake_task("b"), fake_task("c")
    assert len(scheduler) == 0 and scheduler.pick_next() is None, "an empty scheduler must pick None"
    for task in (a, b, c):
        scheduler.enqueue(task)
    assert len(scheduler) == 3
    assert scheduler.pick_next() is a
    scheduler.enqueue(a)  # a used its time slice
    order = [scheduler.pick_next() for _ in range(3)]
    assert [t.name for t in order] == ["b", "c", "a"], f"picked {[t.name for t in order]}, expected b, c, a"
    assert len(scheduler) == 0 and scheduler.pick_next() is None


@lab_test(points=2, depends=("test_round_robin_queue_order",), timeout=60)
def test_round_robin_runs_programs(submission):
    """fork_tree, pthread_counter, pipe_pingpong and clone_threads give the default output."""
    programs_match(policy(submission, "RoundRobinScheduler"))


@lab_test(points=2, depends=("test_round_robin_queue_order",), visibility="hidden", timeout=60)
def test_round_robin_is_fair(submission):
    """Two CPU-hungry processes of equal nice share the CPU equally."""
    # Slices are 10 ms of virtual time; host load can shift one slice (the watchdog), so
    # the bound allows for one slice in ten.
    shares = cpu_shares(policy(submission, "RoundRobinScheduler"), nices=(0, 3), count=100_000)
    low, high = sorted(shares.values())
    assert low >= 0.75 * high, f"CPU time {shares} (ns by nice value): not a fair share"


# --- exercise 2: weighted fair scheduling --------------------------------------------------------------------


@lab_test(points=2)
def test_fair_picks_least_weighted_runtime(submission):
    """The task with the least CPU time weighted by its nice value runs next."""
    scheduler = policy(submission, "FairScheduler")()
    a = fake_task("a", cpu_ns=30_000_000, nice=0)  # vruntime 30 ms
    b = fake_task("b", cpu_ns=20_000_000, nice=0)  # 20 ms
    c = fake_task("c", cpu_ns=10_000_000, nice=5)  # 10 ms * 1024/335 = 30.6 ms
    d = fake_task("d", cpu_ns=5_000_000, nice=-5)  # 5 ms * 1024/3121 = 1.6 ms
    for task in (a, b, c, d):
        scheduler.enqueue(task)
    assert len(scheduler) == 4
    order = [scheduler.pick_next().name for _ in range(4)]
    assert order == ["d", "b", "a", "c"], f"picked {order}, expected d, b, a, c"
    assert scheduler.pick_next() is None and len(scheduler) == 0
    # Equal runtimes: first come, first served.
    e, f = fake_task("e", 1000), fake_task("f", 1000)
    scheduler.enqueue(e)
    scheduler.enqueue(f)
    assert scheduler.pick_next() is e, "among equal runtimes, the task queued first must go first"


@lab_test(points=3, depends=("test_fair_picks_least_weighted_runtime",), timeout=60)
def test_fair_respects_nice(submission):
    """nice 0, 5 and 10 get CPU time in about the ratio of their weights (1024 : 335 : 110)."""
    shares = cpu_shares(policy(submission, "FairScheduler"))
    c0, c5, c10 = shares[0], shares[5], shares[10]
    assert c0 > c5 > c10 > 0, f"CPU time by nice value {shares}: a lower nice must get more"
    assert 1.8 <= c0 / c5 <= 5.5, f"nice 0 got {c0 / c5:.2f}x the CPU of nice 5 (weights: 3.1x)"


@lab_test(points=2, depends=("test_fair_picks_least_weighted_runtime",), visibility="hidden", timeout=60)
def test_fair_runs_programs_without_starvation(submission):
    """The same programs, and a nice 19 process next to nice -5 ones still finishes."""
    cls = policy(submission, "FairScheduler")
    programs_match(cls)
    shares = cpu_shares(cls, nices=(19, -5, -5), count=30_000)
    assert shares[19] > 0


@lab_test(points=1, depends=("test_fair_respects_nice",), visibility="hidden", timeout=60)
def test_fair_is_not_strict_priority(submission):
    """A nicer process still gets its share while a less nice one runs (no starvation)."""
    shares = cpu_shares(policy(submission, "FairScheduler"), nices=(1, 0), count=80_000)
    assert shares[1] >= 0.5 * shares[0], f"CPU time by nice value {shares}: nice 1 should get ~80% of nice 0"
