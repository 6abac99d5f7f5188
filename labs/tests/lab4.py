"""Lab 4 grading tests: page faults (demand paging, copy-on-write fork, file mappings).

The submission defines ``handle_anonymous_fault(vm_space, page, flags)``,
``handle_cow_fault(vm_space, page, flags)`` and
``handle_file_fault(vm_space, page, flags, file_page, length)``; the tests plug them into
the kernel's page-fault handler through its injection point
(``asterinas_lab.kernel.vm.page_fault.inject_fault_handlers``) and then

* call the kernel's handler on a bare machine, as the CPU would, and inspect the page
  table and the frames (unit tests), or
* run real programs of the built-in image with them and compare the output with the
  kernel's own handler (which the test suite checks against Linux) or, for the file
  mappings, with the same binary run natively on the host (x86-64 Linux), auditing
  memory with memcheck while every process is alive.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from asterinas_lab import ostd, runner, viz
from asterinas_lab.grading import assert_same_output, lab_test
from asterinas_lab.images import BIN_DIR, HOST_BUSYBOX
from asterinas_lab.kernel.process.process import fork_process_vm, new_process_vm
from asterinas_lab.kernel.vm.page_fault import FAULT_SIGBUS, handle_page_fault, inject_fault_handlers
from asterinas_lab.kernel.vm.shared import SharedMemory
from asterinas_lab.kernel.vm.vmar import PROT_EXEC, PROT_READ, PROT_WRITE, VmArea
from asterinas_lab.ostd import PAGE_SIZE, Event, FrameAllocOptions, PageFlags, VmReader, VmWriter, events
from asterinas_lab.ostd.mm.frame import UNTYPED

REQUIRED = ("handle_anonymous_fault", "handle_cow_fault", "handle_file_fault")

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
    assert_same_output(name, mine.stdout, reference.stdout, "the kernel's own handlers")
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


# --- exercise 3: private file mappings -------------------------------------------------------------


def file_bytes(pages: int) -> bytes:
    """A file's contents: no two pages alike, no zero byte."""
    return bytes(1 + (i * 7 + i // PAGE_SIZE) % 251 for i in range(pages * PAGE_SIZE))


@lab_test(points=2)
def test_file_fault_maps_the_page_cache(submission):
    """Whole file pages map the page cache's frame read-only (no copy, even in a writable
    area); the last, partial page and the .bss are private frames, zero past the file's
    bytes; past the end of the file the kernel sends SIGBUS; a write then copies."""

    fault = handler(submission, "handle_file_fault")

    def check():
        dirty_free_frames()
        data = file_bytes(4)
        cache = SharedMemory()  # the file's page cache: file page i in cache.frame(i)
        for i in range(4):
            cache.frame(i).write(0, data[i * PAGE_SIZE : (i + 1) * PAGE_SIZE])
        text, dat, mapped = BASE, BASE + 0x10_0000, BASE + 0x20_0000
        vm = new_process_vm()
        # An ELF program: text = file pages 0-1; data = file page 2 and 100 bytes of
        # page 3, then zeros (.bss) up to 4 pages.
        vm.add(
            VmArea(
                text,
                text + 2 * PAGE_SIZE,
                PROT_READ | PROT_EXEC,
                name="[text]",
                backing=data[: 2 * PAGE_SIZE],
                file_end=text + 2 * PAGE_SIZE,
                file_cache=cache,
            )
        )
        vm.add(
            VmArea(
                dat,
                dat + 4 * PAGE_SIZE,
                RW,
                name="[data]",
                backing=data[2 * PAGE_SIZE : 3 * PAGE_SIZE + 100],
                file_end=dat + PAGE_SIZE + 100,
                file_cache=cache,
                file_base=2 * PAGE_SIZE,
            )
        )
        # mmap(NULL, 3 pages, PROT_READ, MAP_PRIVATE, fd, 0) of a file of 1 page + 50 bytes.
        short = data[: PAGE_SIZE + 50]
        vm.add(
            VmArea(
                mapped,
                mapped + 3 * PAGE_SIZE,
                PROT_READ,
                name="/tmp/f",
                backing=short,
                file_end=mapped + PAGE_SIZE + 50,
                eof=mapped + 2 * PAGE_SIZE,
            )
        )
        space = vm.vm_space
        calls = []

        def counted(*args):
            calls.append(args[1])
            fault(*args)

        with inject_fault_handlers(file=counted):
            assert handle_page_fault(vm, text + PAGE_SIZE + 0x40, execute=True) == 0
            assert space.mapped_pages == 1, f"{space.mapped_pages} pages mapped after one fault (expected 1)"
            page = space.query(text + PAGE_SIZE)
            assert page is not None, "the faulting text page is not mapped"
            assert page.frame.paddr == cache.frame(1).paddr, (
                "a text page was copied instead of mapping the page cache"
            )
            assert page.flags & (PageFlags.R | PageFlags.W | PageFlags.X) == PageFlags.R | PageFlags.X, (
                f"the page of an r-x area is mapped {page.flags!r}"
            )
            assert handle_page_fault(vm, dat + 8) == 0
            page = space.query(dat)
            assert page.frame.paddr == cache.frame(2).paddr, "a whole data page was copied on a read fault"
            assert not page.flags & PageFlags.W, (
                "the page cache's frame is mapped writable: writes would reach the file"
            )
            assert handle_page_fault(vm, dat + PAGE_SIZE + 5) == 0
            page = space.query(dat + PAGE_SIZE)
            assert page.frame.paddr != cache.frame(3).paddr, "the last, partial page maps the page cache's frame"
            got = page.frame.read(0, PAGE_SIZE)
            assert got[:100] == data[3 * PAGE_SIZE : 3 * PAGE_SIZE + 100], "the partial page lost the file's bytes"
            assert got[100:] == bytes(PAGE_SIZE - 100), "the partial page is not zero after the file's bytes"
            assert page.flags & PageFlags.W, "the partial page of a writable area is read-only"
            assert handle_page_fault(vm, dat + 3 * PAGE_SIZE, write=True) == 0
            page = space.query(dat + 3 * PAGE_SIZE)
            assert page.frame.read(0, PAGE_SIZE) == bytes(PAGE_SIZE), "a .bss page is not all zeros"
            assert page.flags & PageFlags.W, "a .bss page is read-only"
            assert handle_page_fault(vm, mapped) == 0
            assert VmReader(space, mapped, PAGE_SIZE).read() == short[:PAGE_SIZE], (
                "the mmap'd page differs from the file"
            )
            assert handle_page_fault(vm, mapped + PAGE_SIZE + 60) == 0
            tail = VmReader(space, mapped + PAGE_SIZE, PAGE_SIZE).read()
            assert tail == short[PAGE_SIZE:] + bytes(PAGE_SIZE - 50), "bytes past the end of the file are not zero"
            before = len(calls)
            assert handle_page_fault(vm, mapped + 2 * PAGE_SIZE) == FAULT_SIGBUS, (
                "no SIGBUS past the end of the file"
            )
            assert len(calls) == before, "the handler was called for a page past the end of the file"
            assert space.query_flags(dat + 2 * PAGE_SIZE) is None, "a page nobody touched was mapped"
            assert space.mapped_pages == 6, f"{space.mapped_pages} pages mapped after 6 faults (expected 6)"
        # A write to the page-cache page is copy-on-write (the kernel's own here): the file stays.
        VmWriter(space, dat, 4).write(b"mine")
        assert space.query(dat).frame.paddr != cache.frame(2).paddr
        assert cache.frame(2).read(0, PAGE_SIZE) == data[2 * PAGE_SIZE : 3 * PAGE_SIZE], "a write reached the file"
        return True

    assert in_machine(check)


HOST_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"}


def against_linux(
    submission, guest: list[str], host: list[str], all_three: bool = True, host_argv0: bool = False
) -> dict[str, int]:
    """Run ``guest`` in the lab with the student's file handler (and, with ``all_three``,
    the other two: a write to a page-cache page is then the student's copy-on-write),
    memcheck on, and ``host`` natively; stdout and exit status must be Linux's. Also
    checks every whole file page the handler served: the page cache's frame, read-only,
    mapped without allocating. Natively argv[0] is the guest's (programs print it), or
    with ``host_argv0`` the host's path (for a program that re-executes itself).
    Returns how many faults each handler served."""
    calls = {"file": 0, "whole": 0}
    fault = handler(submission, "handle_file_fault")
    allocated: list[int] = []  # user-data frames only (a mapping may add page-table pages)
    stop = events.subscribe(
        Event.FRAME_ALLOC, lambda _k, f: allocated.append(f["paddr"]) if f["kind"] == UNTYPED else None
    )

    def file(vm_space, page, flags, file_page, length):
        calls["file"] += 1
        before = len(allocated)
        fault(vm_space, page, flags, file_page, length)
        if length == PAGE_SIZE:
            calls["whole"] += 1
            mapped = vm_space.query(page)
            assert mapped is not None, f"{page:#x}: the faulting page is not mapped"
            assert mapped.frame.paddr == file_page.paddr, f"{page:#x}: a whole file page was copied"
            assert not mapped.flags & PageFlags.W, f"{page:#x}: the page cache's frame is mapped writable"
            assert len(allocated) == before, f"{page:#x}: mapping a whole file page allocated a frame"

    anon = handler(submission, "handle_anonymous_fault") if all_three else None
    cow = handler(submission, "handle_cow_fault") if all_three else None
    try:
        with inject_fault_handlers(anonymous=anon, cow=cow, file=file):
            lab = runner.run(guest, deterministic=True, memcheck=True)
    finally:
        stop()
    linux = subprocess.run(
        [host[0] if host_argv0 else guest[0], *host[1:]],
        executable=host[0],
        capture_output=True,
        timeout=30,
        env=HOST_ENV,
    )
    name = " ".join(guest)
    assert not lab.oopses, f"{name}: your handler raised an exception: {lab.oopses[0]}"
    assert lab.panic is None, f"{name}: the machine panicked: {lab.panic}"
    assert_same_output(name, lab.stdout, linux.stdout)
    assert lab.status == linux.returncode, f"{name}: exit status {lab.status}, Linux {linux.returncode}"
    findings = lab.memcheck_findings
    assert not findings, f"{name}: memcheck found {len(findings)} problem(s), first: {findings[0]}"
    assert calls["whole"] > 0 and calls["file"] > calls["whole"], f"{name}: your handler served {calls}"
    return calls


@lab_test(points=2, depends=("test_file_fault_maps_the_page_cache",), timeout=60)
def test_file_fault_programs(submission):
    """Programs loaded through your handler (text and data of musl's hello and glibc's
    busybox) print what they print on Linux."""
    against_linux(submission, ["/bin/hello"], [str(BIN_DIR / "hello")], all_three=False)
    against_linux(
        submission,
        ["/bin/busybox", "echo", "mapped", "by you"],
        [str(HOST_BUSYBOX), "echo", "mapped", "by you"],
        all_three=False,
    )


@lab_test(points=2, depends=("test_file_fault_maps_the_page_cache",), visibility="hidden", timeout=60)
def test_file_mappings_with_all_handlers(submission):
    """/bin/mmap_semantics (MAP_PRIVATE file mappings: the file's bytes, zeros past EOF,
    a write stays private) and /bin/segv_recover (SIGBUS past the end of a file mapping),
    with all three of your handlers, compared with Linux."""
    for program in ("mmap_semantics", "segv_recover"):
        against_linux(submission, [f"/bin/{program}"], [str(BIN_DIR / program)])


@lab_test(points=2, depends=("test_file_fault_maps_the_page_cache",), visibility="hidden", timeout=60)
def test_exec_shares_the_page_cache(submission):
    """/bin/exec_chain re-executes itself (compared with Linux); in a busybox pipeline the
    children exec busybox and map its text from the page cache: the census finds those
    frames shared between the address spaces, each still held by the page cache."""
    against_linux(submission, ["/bin/exec_chain"], [str(BIN_DIR / "exec_chain")], host_argv0=True)

    kernels, shots = [], {}

    def on_exit(process):
        if process.pid != 1 and "census" not in shots:
            shots["child"] = viz.snapshot(process)
            shots["census"] = viz.frame_census(kernels[0])

    def with_kernel(kernel):
        kernels.append(kernel)
        kernel.exit_observers.append(on_exit)

    anon, cow = handler(submission, "handle_anonymous_fault"), handler(submission, "handle_cow_fault")
    with inject_fault_handlers(anonymous=anon, cow=cow, file=handler(submission, "handle_file_fault")):
        result = runner.run(["/bin/busybox", "sh", "-c", "/bin/busybox echo hi | /bin/busybox cat"],
                            deterministic=True, memcheck=True, with_kernel=with_kernel)  # fmt: skip
    assert not result.oopses, f"busybox pipeline: your handler raised an exception: {result.oopses[0]}"
    assert result.stdout == b"hi\n" and result.status == 0, f"busybox pipeline: {result.stdout!r}, {result.status}"
    assert not result.memcheck_findings, f"busybox pipeline: memcheck: {result.memcheck_findings[0]}"
    child, census = shots["child"], shots["census"]
    text = [entry for vaddr, entry in child.pages().items() if child.area_at(vaddr).perms == "r-xp"]
    cached = [entry for entry in text if child.frame(entry.paddr).refs > child.frame(entry.paddr).maps]
    assert len(text) > 20 and len(cached) >= len(text) - 2, (
        f"of the {len(text)} resident text pages of the exec'd child, only {len(cached)} are page-cache frames"
    )
    shared = {entry.paddr // PAGE_SIZE for entry in cached} & set(census.shared)
    assert len(shared) > 20, f"only {len(shared)} of the child's text frames are shared with another process"
