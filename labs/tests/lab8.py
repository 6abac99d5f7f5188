"""Grading tests for lab 8 (the safety boundary: safe-code bugs, OSTD bugs, memcheck).

``judge(result)`` reads the evidence of a bug demonstration (a RunResult with
memcheck reports) and says "contained", "memory corrupted" or "inconclusive"; it is
compared with the catalogue's own verdicts on real runs of every catalogued bug
(``asterinas_lab.bugs``) and on made-up results for the corner cases.

``unintended_sharing(kernel)`` is a memcheck-style audit over OSTD's public view (the
processes' VmSpaces and their VM areas): the frames mapped writable somewhere while
mapped more than once, outside MAP_SHARED. It is compared with ``memcheck``'s
"unintended sharing" findings at every process exit of real programs, with and without
OSTD bugs, and with sharing planted by the test.
"""

from __future__ import annotations

import contextlib

from asterinas_lab import bugs, memcheck, runner
from asterinas_lab.grading import lab_test
from asterinas_lab.memcheck import Finding, MemcheckReport
from asterinas_lab.ostd import PAGE_SIZE, PageFlags
from asterinas_lab.runner import RunResult

REQUIRED = ("judge",)  # unintended_sharing is checked by its own tests (exercise 2)
SAFE_BUGS = [name for name, bug in bugs.CATALOGUE.items() if bug.layer == bugs.SAFE]
OSTD_BUGS = [name for name, bug in bugs.CATALOGUE.items() if bug.layer == bugs.OSTD]


def check_judge(submission, names: list[str], injected: bool = True) -> None:
    for name in names:
        outcome = bugs.run_demo(bugs.CATALOGUE[name], injected=injected)
        got = submission.judge(outcome.result)
        what = name if injected else f"{name} (not injected)"
        want = outcome.verdict
        assert got == want, f"judge() on the demonstration of {what}: got {got!r}, want {want!r}"


def made_up(stdout: str, findings: int = 0, panic: str | None = None, status: int = 0, oopses=()) -> RunResult:
    report = MemcheckReport([Finding("reference count", "made up", 0x1000)] * findings)
    return RunResult(exit_code=status, signal=None, stdout=stdout.encode(), oopses=list(oopses),
                     panic=panic, memcheck=[MemcheckReport(), report])  # fmt: skip


@lab_test(points=2)
def test_judge_safe_bugs(submission):
    """The four safe-code bugs of the catalogue, run for real."""
    check_judge(submission, SAFE_BUGS)


@lab_test(points=2, depends=("test_judge_safe_bugs",), visibility="hidden")
def test_judge_ostd_bugs(submission):
    """The four OSTD bugs of the catalogue, and two demonstrations without their bug."""
    check_judge(submission, OSTD_BUGS)
    check_judge(submission, ["double_put", "syscall_exception"], injected=False)


@lab_test(points=1, depends=("test_judge_safe_bugs",), visibility="hidden")
def test_judge_corner_cases(submission):
    """Made-up results: memcheck findings override the program's own verdict; a run that
    panicked, failed or never said its verdict is inconclusive."""
    cases = [
        (made_up("RESULT: intact\n", findings=2), bugs.CORRUPTED),
        (made_up("x\nRESULT: corrupted\n"), bugs.CORRUPTED),
        (made_up("RESULT: intact\n", oopses=["oops: ValueError"]), bugs.CONTAINED),
        (made_up("RESULT: intact\n", panic="OstdError: boom"), bugs.INCONCLUSIVE),
        (made_up("RESULT: intact\n", status=1), bugs.INCONCLUSIVE),
        (made_up("no verdict printed\n"), bugs.INCONCLUSIVE),
    ]
    for result, want in cases:
        got = submission.judge(result)
        assert got == want, (
            f"judge() with stdout {result.stdout!r}, {len(result.memcheck_findings)} findings, "
            f"panic {result.panic!r}, status {result.status}: got {got!r}, want {want!r}"
        )


# --- unintended sharing ----------------------------------------------------------------------


def memcheck_sharing(kernel) -> set[int]:
    return {f.frame for f in memcheck.memcheck(kernel).findings if f.check == "unintended sharing"}


def audit_run(submission, argv: list[str], bug: str | None = None, plant=None, min_found: int = 0) -> None:
    """Run ``argv``; at every process exit compare the student's audit with memcheck."""
    seen: list[tuple[str, set[int], set[int]]] = []

    def observe(kernel, process) -> None:
        if plant is not None:
            plant(kernel, process)
        got = submission.unintended_sharing(kernel)
        seen.append((f"exit of pid {process.pid}", set(got), memcheck_sharing(kernel)))

    def with_kernel(kernel) -> None:
        kernel.exit_observers.append(lambda process: observe(kernel, process))

    context = bugs.CATALOGUE[bug].injected() if bug else contextlib.nullcontext()
    with context:
        runner.run(argv, deterministic=True, ram_size=32 << 20, with_kernel=with_kernel)
    assert seen, "no process exited"
    for when, got, want in seen:
        assert got == want, (f"{' '.join(argv)}{' with bug ' + bug if bug else ''}, at the {when}: "
                             f"got {sorted(map(hex, got))}, memcheck finds {sorted(map(hex, want))}")  # fmt: skip
    found = sum(len(want) for _, _, want in seen)
    assert found >= min_found, "the test expected some unintended sharing here: report this to your instructor"


@lab_test(points=2)
def test_sharing_clean(submission):
    """fork + copy-on-write + MAP_SHARED (cow_isolation): nothing to report, at any exit."""
    audit_run(submission, ["/bin/cow_isolation"])


@lab_test(points=2, depends=("test_sharing_clean",))
def test_sharing_double_put(submission):
    """OSTD bug double_put: a copy-on-write page ends up writable in two processes."""
    audit_run(submission, ["/bin/demo_double_put"], bug="double_put", min_found=1)


@lab_test(points=1, depends=("test_sharing_clean",), visibility="hidden")
def test_sharing_alloc_in_use(submission):
    """OSTD bug alloc_in_use: a frame handed out twice."""
    audit_run(submission, ["/bin/demo_frame_reuse"], bug="alloc_in_use", min_found=1)


@lab_test(points=1, depends=("test_sharing_clean",), visibility="hidden")
def test_sharing_vfork_threads(submission):
    """vfork children and threads share one address space: count each space once."""
    audit_run(submission, ["/bin/fork_tree"])
    audit_run(submission, ["/bin/clone_threads"])


def planter():
    """At the first exit of a child, map frames of the exiting process elsewhere (a
    safe-code sharing bug): writable in its parent, read-only in its parent, and a
    second time writable in its own space."""
    done = []

    def plant(kernel, process) -> None:
        parent = process.parent
        if done or parent is None or parent.zombie or parent.vm is process.vm:
            return
        pages = [vaddr for vaddr, _paddr, flags in process.vm.vm_space.mappings() if flags & PageFlags.W]
        if len(pages) >= 3:
            done.append(True)
            _plant(process, parent, pages)

    return plant


def _plant(process, parent, pages: list[int]) -> None:
    base = 0x5000_0000_0000
    for i, vaddr in enumerate(pages[:3]):
        frame = process.vm.vm_space.query(vaddr).frame
        if i == 0:
            parent.vm.vm_space.cursor_mut(base, base + PAGE_SIZE).map(frame, PageFlags.R | PageFlags.W)
        elif i == 1:
            parent.vm.vm_space.cursor_mut(base + PAGE_SIZE, base + 2 * PAGE_SIZE).map(frame, PageFlags.R)
        else:
            own = base + 2 * PAGE_SIZE
            process.vm.vm_space.cursor_mut(own, own + PAGE_SIZE).map(frame, PageFlags.R | PageFlags.W)


@lab_test(points=2, depends=("test_sharing_clean",), visibility="hidden")
def test_sharing_planted(submission):
    """Sharing planted by the test (as a buggy kernel could): a frame writable in two
    processes, a writable frame also mapped read-only elsewhere, and one frame mapped
    twice writable in a single address space. Count mappings, not address spaces."""
    audit_run(submission, ["/bin/fork_tree"], plant=planter(), min_found=3)
