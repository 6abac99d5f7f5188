"""Lab 4 grading tests: page faults (demand paging, then copy-on-write fork).

The submission defines ``handle_anonymous_fault(vm_space, page, flags)`` and
``handle_cow_fault(vm_space, page, flags)``; the tests plug them into the kernel's
page-fault handler through its injection point
(``asterinas_lab.kernel.vm.page_fault.inject_fault_handlers``) and then

* call the kernel's handler on a bare machine, as the CPU would, and inspect the page
  table and the frames (unit tests), or
* run real programs of the built-in image with them and compare the output with the
  kernel's own handler (which the test suite checks against Linux), auditing memory
  with memcheck while every process is alive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asterinas_lab import ostd, runner
from asterinas_lab.grading import lab_test
from asterinas_lab.kernel.process.process import fork_process_vm, new_process_vm
from asterinas_lab.kernel.vm.page_fault import handle_page_fault, inject_fault_handlers
from asterinas_lab.kernel.vm.vmar import PROT_READ, PROT_WRITE, VmArea
from asterinas_lab.ostd import PAGE_SIZE, Event, FrameAllocOptions, PageFlags, VmReader, VmWriter, events

REQUIRED = ("handle_anonymous_fault", "handle_cow_fault")

BASE = 0x40_0000
RW = PROT_READ | PROT_WRITE


# --- helpers -------------------------------------------------------------------------------------


def in_machine(check: Callable[[], Any], ram_size: int = 16 << 20) -> Any:
    """Boot a bare machine, run ``check()`` as the kernel's entry point, return its result."""
    result: list[Any] = []
    try:
        ostd.boot(lambda _info: result.append(check()), ram_size=ram_size)
    except ostd.Panic as panic:
        # A failed check inside the machine stops it: report the check, not the panic.
        cause = panic.__cause__
        raise (cause if isinstance(cause, AssertionError) else panic) from None
    finally:
        ostd.shutdown()
    assert len(result) == 1
    return result[0]


def dirty_free_frames(count: int = 64) -> None:
    """Leave junk in the frames the allocator hands out next (it reuses freed frames first)."""
    frames = [FrameAllocOptions(zeroed=False).alloc_frame() for _ in range(count)]
    for frame in frames:
        frame.write(0, b"\xaa" * PAGE_SIZE)
    del frames


def resident_vm(pages: int = 4):
    """A process address space with ``pages`` writable data pages, all resident and
    holding a pattern (served by the kernel's own handler)."""
    vm = new_process_vm()
    vm.add(VmArea(BASE, BASE + pages * PAGE_SIZE, RW, name="[data]"))
    for i in range(pages):
        assert handle_page_fault(vm, BASE + i * PAGE_SIZE, write=True) == 0
        VmWriter(vm.vm_space, BASE + i * PAGE_SIZE, PAGE_SIZE).write(bytes([i + 1]) * PAGE_SIZE)
    return vm


def handler(submission, name: str):
    function = getattr(submission, name, None)
    assert callable(function), f"define {name} (its exercise's cell) before this test can run"
    return function


def paddr(vm, vaddr: int) -> int:
    mapped = vm.vm_space.query(vaddr)
    assert mapped is not None, f"{vaddr:#x} is not mapped"
    return mapped.frame.paddr


def count_allocs() -> tuple[list[int], Callable[[], None]]:
    allocated: list[int] = []
    return allocated, events.subscribe(Event.FRAME_ALLOC, lambda _k, f: allocated.append(f["paddr"]))


def run_with(submission, argv: list[str], anonymous: bool = True, cow: bool = True):
    """Run ``argv`` with the submission's handlers plugged in (memcheck on) and with the
    kernel's own; return both results and how many times each handler was called."""
    calls = {"anonymous": 0, "cow": 0}

    def counted(name: str, handler):
        def call(vm_space, page, flags):
            calls[name] += 1
            handler(vm_space, page, flags)

        return call

    anon = counted("anonymous", handler(submission, "handle_anonymous_fault")) if anonymous else None
    copy = counted("cow", handler(submission, "handle_cow_fault")) if cow else None
    with inject_fault_handlers(anonymous=anon, cow=copy):
        mine = runner.run(argv, deterministic=True, memcheck=True)
    reference = runner.run(argv, deterministic=True)
    return mine, reference, calls


def assert_same_run(mine, reference, argv) -> None:
    name = " ".join(argv)
    assert not mine.oopses, f"{name}: your handler raised an exception: {mine.oopses[0]}"
    assert mine.panic is None, f"{name}: the machine panicked: {mine.panic}"
    if mine.stdout != reference.stdout:
        want = reference.stdout.decode(errors="replace").splitlines()
        got = mine.stdout.decode(errors="replace").splitlines()
        first = next(
            (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got))
        )
        expected = want[first] if first < len(want) else "(end of output)"
        actual = got[first] if first < len(got) else "(end of output)"
        raise AssertionError(f"{name}: output differs at line {first + 1}: expected {expected!r}, got {actual!r}")
    assert mine.status == reference.status, f"{name}: exit status {mine.status}, expected {reference.status}"
    findings = mine.memcheck_findings
    assert not findings, f"{name}: memcheck found {len(findings)} problem(s), first: {findings[0]}"


# --- exercise 1: demand paging ----------------------------------------------------------------------


@lab_test(points=2)
def test_anonymous_fault_maps_one_zeroed_page(submission):
    """A first touch maps exactly the faulting page, zeroed, with the area's flags."""

    def check():
        dirty_free_frames()
        vm = new_process_vm()
        vm.add(VmArea(BASE, BASE + 8 * PAGE_SIZE, RW, name="heap"))
        vm.add(VmArea(BASE + 0x10_0000, BASE + 0x10_0000 + 2 * PAGE_SIZE, PROT_READ, name="ro"))
        with inject_fault_handlers(anonymous=submission.handle_anonymous_fault):
            assert handle_page_fault(vm, BASE + 3 * PAGE_SIZE + 0x123, write=True) == 0
            assert handle_page_fault(vm, BASE + 0x10_0000 + 0x10) == 0
        space = vm.vm_space
        assert space.mapped_pages == 2, f"{space.mapped_pages} pages mapped after two faults (expected 2)"
        mapped = space.query(BASE + 3 * PAGE_SIZE)
        assert mapped is not None, "the faulting page is not mapped"
        assert mapped.flags & (PageFlags.R | PageFlags.W | PageFlags.X) == PageFlags.R | PageFlags.W, (
            f"the page of a read-write area is mapped {mapped.flags!r}"
        )
        assert mapped.frame.read(0, PAGE_SIZE) == bytes(PAGE_SIZE), "the new page is not all zeros"
        # This handle plus the one mapping: the handler kept no handle of its own.
        assert mapped.frame.reference_count == 2, "the frame has more references than its one mapping"
        ro = space.query_flags(BASE + 0x10_0000)
        assert ro is not None and not ro & PageFlags.W, f"the page of a read-only area is mapped {ro!r}"
        assert space.query(BASE + 2 * PAGE_SIZE) is None, "a neighbouring page was mapped too"
        return True

    assert in_machine(check)


@lab_test(points=2, depends=("test_anonymous_fault_maps_one_zeroed_page",), timeout=60)
def test_first_touch_of_many_pages(submission):
    """/bin/touch_pages 300 maps 300 anonymous pages one fault at a time."""
    argv = ["/bin/touch_pages", "300"]
    mine, reference, calls = run_with(submission, argv, cow=False)
    assert_same_run(mine, reference, argv)
    assert mine.stdout == b"done 300, odd 150\n"
    assert calls["anonymous"] >= 300, f"your handler served only {calls['anonymous']} faults"


@lab_test(points=2, depends=("test_anonymous_fault_maps_one_zeroed_page",), visibility="hidden", timeout=60)
def test_mmap_and_brk_programs(submission):
    """/bin/mmap_semantics (mmap, munmap, mprotect, brk; fresh memory must read as zeros)."""
    argv = ["/bin/mmap_semantics"]
    mine, reference, calls = run_with(submission, argv, cow=False)
    assert_same_run(mine, reference, argv)
    assert calls["anonymous"] > 50


# --- exercise 2: copy-on-write --------------------------------------------------------------------------


@lab_test(points=2)
def test_cow_fault_copies_a_shared_page(submission):
    """After fork, the child's first write gets its own copy; the parent sees nothing."""

    cow = handler(submission, "handle_cow_fault")

    def check():
        parent = resident_vm()
        child = fork_process_vm(parent)
        shared = paddr(parent, BASE)
        assert paddr(child, BASE) == shared
        with inject_fault_handlers(cow=cow):
            assert handle_page_fault(child, BASE + 8, write=True) == 0
        mapped = child.vm_space.query(BASE)
        assert mapped is not None, "the child's page is no longer mapped"
        assert mapped.frame.paddr != shared, "the child still maps the parent's frame (no copy was made)"
        assert mapped.flags & PageFlags.W, "the child's page is still read-only after the fault"
        assert mapped.frame.read(0, PAGE_SIZE) == b"\x01" * PAGE_SIZE, "the copy does not hold the page's bytes"
        assert paddr(parent, BASE) == shared, "the parent's page changed frame"
        assert not parent.vm_space.query_flags(BASE) & PageFlags.W, "the parent's shared page became writable"
        VmWriter(child.vm_space, BASE, 4).write(b"kid!")
        assert VmReader(parent.vm_space, BASE, 4).read() == b"\x01" * 4, "the parent sees the child's write"
        assert paddr(child, BASE + PAGE_SIZE) == paddr(parent, BASE + PAGE_SIZE), (
            "a page nobody wrote is no longer shared"
        )
        return True

    assert in_machine(check)


@lab_test(points=2, depends=("test_cow_fault_copies_a_shared_page",), visibility="hidden")
def test_cow_copies_only_when_shared(submission):
    """Exactly one new frame per written shared page; the last user keeps its frame; no leak."""

    cow = handler(submission, "handle_cow_fault")

    def check():
        _, free_before = ostd.memory_stats()
        parent = resident_vm(8)
        child = fork_process_vm(parent)
        allocated, stop = count_allocs()
        try:
            with inject_fault_handlers(cow=cow):
                for i in (1, 4, 6):
                    VmWriter(child.vm_space, BASE + i * PAGE_SIZE, 1).write(b"c")
                assert len(allocated) == 3, f"3 written shared pages made {len(allocated)} new frames"
                kept = paddr(parent, BASE + 4 * PAGE_SIZE)
                # Page 4 is now the parent's alone: a write needs no copy.
                VmWriter(parent.vm_space, BASE + 4 * PAGE_SIZE, 1).write(b"p")
                assert len(allocated) == 3, "a write to a page nobody else maps made a copy"
                assert paddr(parent, BASE + 4 * PAGE_SIZE) == kept, "the last user's page changed frame"
                assert parent.vm_space.query_flags(BASE + 4 * PAGE_SIZE) & PageFlags.W
                child.vm_space.destroy()
                del child
                for i in range(8):
                    VmWriter(parent.vm_space, BASE + i * PAGE_SIZE, 1).write(b"p")
                assert len(allocated) == 3, "after the child exited, writes still made copies"
                data = [VmReader(parent.vm_space, BASE + i * PAGE_SIZE, 2).read() for i in range(8)]
                assert data == [b"p" + bytes([i + 1]) for i in range(8)], "the parent's data changed"
        finally:
            stop()
        parent.vm_space.destroy()
        del parent
        _, free_after = ostd.memory_stats()
        assert free_after == free_before, f"{free_before - free_after} frame(s) leaked"
        return True

    assert in_machine(check)


@lab_test(points=2, depends=("test_cow_fault_copies_a_shared_page",), timeout=60)
def test_cow_isolation_program(submission):
    """/bin/cow_isolation: fork isolates private memory (8 MiB buffers both ways, .data,
    .bss, stack), MAP_SHARED stays shared; memcheck finds no writable sharing."""
    argv = ["/bin/cow_isolation"]
    mine, reference, calls = run_with(submission, argv)
    assert_same_run(mine, reference, argv)
    assert calls["cow"] > 2048, f"your copy-on-write handler served only {calls['cow']} faults"


@lab_test(points=1, depends=("test_cow_fault_copies_a_shared_page",), visibility="hidden", timeout=60)
def test_fork_tree_program(submission):
    """/bin/fork_tree: a tree of processes forking, exiting and waiting."""
    argv = ["/bin/fork_tree"]
    mine, reference, calls = run_with(submission, argv)
    assert_same_run(mine, reference, argv)
    assert calls["cow"] > 0
