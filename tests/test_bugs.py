"""The bug catalogue: safe-code bugs are contained, OSTD bugs corrupt memory.

Each demonstration runs on a fresh machine, once with its bug injected and once
without (the control: the same program must then be clean). See
asterinas_lab/bugs/__init__.py for how a run is judged.
"""

from __future__ import annotations

import pytest

from asterinas_lab import boundary, bugs

SAFE_BUGS = [b for b in bugs.CATALOGUE.values() if b.layer == bugs.SAFE]
OSTD_BUGS = [b for b in bugs.CATALOGUE.values() if b.layer == bugs.OSTD]


def test_the_catalogue_has_at_least_four_bugs_per_layer():
    assert len(SAFE_BUGS) >= 4 and len(OSTD_BUGS) >= 4


@pytest.mark.parametrize("bug", SAFE_BUGS, ids=lambda b: b.name)
def test_safe_kernel_bugs_are_contained(bug):
    outcome = bugs.run_demo(bug)
    result = outcome.result
    assert outcome.verdict == bugs.CONTAINED, outcome.evidence
    assert result.panic is None and result.status == 0  # the machine ran the demo to its end
    assert result.memcheck and not result.memcheck_findings
    assert b"the neighbour process's memory is intact: yes" in result.stdout


@pytest.mark.parametrize("bug", OSTD_BUGS, ids=lambda b: b.name)
def test_ostd_bugs_corrupt_memory(bug):
    outcome = bugs.run_demo(bug)
    assert outcome.verdict == bugs.CORRUPTED, outcome.evidence


@pytest.mark.parametrize("bug", list(bugs.CATALOGUE.values()), ids=lambda b: b.name)
def test_without_the_bug_the_demonstration_is_clean(bug):
    outcome = bugs.run_demo(bug, injected=False)
    assert outcome.verdict == bugs.CONTAINED, outcome.evidence
    assert not outcome.result.oopses


def test_injection_is_undone():
    bug = bugs.CATALOGUE["syscall_exception"]
    with bug.injected():
        pass
    assert bugs.run_demo(bug, injected=False).result.oopses == []


def test_safe_bugs_are_written_in_safe_code():
    # The boundary check that keeps asterinas_lab/kernel/ honest passes on them too.
    path = bugs.safe_bugs.__file__
    with open(path) as f:
        assert boundary.check_source(f.read(), path, package="asterinas_lab.bugs") == []


def test_safe_kernel_bug_effects_are_the_expected_ones():
    overflow = bugs.run_demo(bugs.CATALOGUE["read_overflow"]).result.stdout
    assert b"end of a mapping: -1 EFAULT" in overflow  # stopped at the unmapped page
    assert b"our own bytes after the buffer were overwritten: yes" in overflow
    oops = bugs.run_demo(bugs.CATALOGUE["syscall_exception"]).result
    assert len(oops.oopses) == 1 and "IndexError" in oops.oopses[0]


def test_exploit_reads_another_process_secret_only_with_the_bug():
    bug = bugs.CATALOGUE["user_copy_unchecked"]
    stolen = bugs.run_demo(bug).result.stdout
    assert b"setuid(1000): drop root: 0" in stolen
    assert b"the victim confirms: we know its secret: yes" in stolen
    safe = bugs.run_demo(bug, injected=False).result.stdout
    assert b"write() from a kernel address: -1 EFAULT" in safe
    assert b"the victim confirms: we know its secret: no" in safe
