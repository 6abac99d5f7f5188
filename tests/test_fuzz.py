"""The seeded syscall fuzzer (asterinas_lab/fuzz.py, images/src/fuzz_syscalls.c).

One run of 100,000 random and adversarial syscalls (seed ``SEED``, deterministic mode,
memcheck at every process exit) is shared by the tests below; it runs in a separate
Python process with a time limit, so a kernel that hangs fails these tests only.
The summary is printed in the test output (even without ``-s``) and attached to every
assertion message. The tests assert the ideal: the machine survives, every oops is
reported, and there is no oops, no memcheck finding, no exception swallowed by Python
and no signal that reaches pid 1.
"""

from __future__ import annotations

import pytest

from asterinas_lab import fuzz

SEED = 1
CALLS = 100_000
#: Host seconds for the whole run; it takes ~12 s on a 2-core machine.
TIMEOUT = 600


@pytest.fixture(scope="module")
def report() -> fuzz.FuzzReport:
    return fuzz.fuzz_isolated(seed=SEED, calls=CALLS, timeout=TIMEOUT)


def _why(report: fuzz.FuzzReport) -> str:
    return "\n" + report.summary()


def test_the_machine_survives_and_the_figures_add_up(report: fuzz.FuzzReport, capsys) -> None:
    with capsys.disabled():
        print("\n" + report.summary())
    why = _why(report)
    assert report.panic is None, why
    assert report.status == 0, "the fuzzer's parent (pid 1) did not survive" + why
    assert report.done, why
    assert report.calls >= CALLS, why
    assert report.numbers_tried > 300, why
    assert report.numbers_answered <= report.numbers_tried <= report.numbers_span, why
    # Every call that came back either succeeded or failed with an errno.
    assert report.returned == report.succeeded + report.failed, why
    # A call that never came back ended its worker: at most one per batch.
    assert 0 <= report.calls - report.returned <= report.batches, why
    # Each worker ended one way.
    assert report.completed + report.exited_early + report.timeouts + report.killed == report.batches, why
    assert report.lost <= report.batches // 100, why
    assert len(report.ends) == report.batches - report.completed - report.lost, why
    assert report.memcheck_audits > report.batches, "memcheck runs at every process exit" + why


def test_every_oops_is_reported(report: fuzz.FuzzReport) -> None:
    why = _why(report)
    assert sorted(report.oopses) == sorted(report.reported_oopses), why
    for cause in report.oops_causes:
        assert cause.pid is not None and cause.pid != 1, "an oops killed something other than a worker" + why


def test_no_oops(report: fuzz.FuzzReport) -> None:
    assert not report.oopses, f"{len(report.oopses)} oopses" + _why(report)


def test_memcheck_stays_clean(report: fuzz.FuzzReport) -> None:
    assert not report.memcheck_findings, _why(report)


def test_no_exception_is_swallowed(report: fuzz.FuzzReport) -> None:
    # An exception in a finalizer (``__del__``) is neither an oops nor a panic: Python
    # prints "Exception ignored in ..." and goes on. The fuzzer collects them.
    assert not report.unraisable, _why(report)


def test_no_signal_reaches_pid_1(report: fuzz.FuzzReport) -> None:
    # The workers never signal their parent (kill-style calls that would are
    # rewritten), so any signal that reaches it was sent by the kernel on its own.
    assert not report.strays, f"{len(report.strays)} signals reached pid 1" + _why(report)


def test_the_same_seed_gives_the_same_run() -> None:
    first = fuzz.fuzz(seed=7, calls=3000).to_dict()
    second = fuzz.fuzz(seed=7, calls=3000).to_dict()
    first.pop("host_seconds")
    second.pop("host_seconds")
    assert first == second
    assert first["calls"] == 3000


def test_parse_output_and_json_round_trip() -> None:
    stdout = "\n".join([
        "seed 5", "requested 10", "batch_size 4", "end 0 2 3 signal:11 f 1 2 3 4 5 6", "stray 0 2 1 1 3",
        "calls 10", "returned 9", "succeeded 2", "batches 3", "completed 1", "exited_early 0", "timeouts 1",
        "signal 11 1", "errno 38 5", "errno 14 2", "garbage line", "done",
    ])  # fmt: skip
    report = fuzz.FuzzReport(seed=5, requested=10, batch_size=4, ram_size=1 << 20)
    fuzz.parse_output(report, stdout)
    assert report.done and report.calls == 10 and report.returned == 9 and report.failed == 7
    assert report.ends[0].last == fuzz.FuzzCall(15, (1, 2, 3, 4, 5, 6))
    assert str(report.ends[0].last).startswith("rt_sigreturn(0x1, 0x2")
    assert report.strays[0].signal == 1 and report.strays[0].code == 1
    assert report.killed_by == {11: 1} and report.top_errnos(1) == [("ENOSYS", 5)]
    report.oopses = ["oops: KeyError: 3 in safe kernel code at x.py:1 in f; killing pid 2 (fuzz_syscalls)"]
    assert report.oops_causes[0].worker is report.ends[0]
    assert fuzz.FuzzReport.from_dict(report.to_dict()) == report
    assert "NOT clean" in report.summary()
