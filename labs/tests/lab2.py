"""Grading tests for lab 2 (page tables by hand).

The student writes ``split_vaddr(vaddr)`` (the four 9-bit indices and the offset) and
``translate(vm_space, vaddr)``: the walk the MMU makes for a user-mode access, from the
root table through ``VmSpace.read_page_table``. The tests run real programs and, in the
kernel's exit observer (the process's address space still intact), compare the
student's answer on many addresses with the walk of the page-table snapshot
(``viz.snapshot(...).walk``, the bytes the emulated CPU walks) and with OSTD's own
query of the leaf entry.
"""

from __future__ import annotations

import random

from asterinas_lab import ostd, runner, viz
from asterinas_lab.grading import lab_test
from asterinas_lab.ostd import PAGE_SIZE, PHYS_OFFSET, USER_SPACE_END, FrameAllocOptions, PageFlags, Task, VmSpace

REQUIRED = ("split_vaddr", "translate")
RWX = PageFlags.R | PageFlags.W | PageFlags.X
KERNEL_AND_ODD = [
    PHYS_OFFSET, PHYS_OFFSET + 0x1234, 0xFFFF_FFFF_8000_0000, 0xFFFF_FFFF_FFFF_F000,  # the kernel half
    USER_SPACE_END, 0x0000_FFFF_FFFF_F000, 0xDEAD_BEEF_0000_0000, 1 << 63,  # not canonical
]  # fmt: skip


def expected(snap, space, vaddr: int):
    """What a user-mode access to ``vaddr`` gets: (paddr, R/W/X flags) or None."""
    walk = snap.walk(vaddr)
    if walk.paddr is None or not walk.user_read:
        return None
    flags = PageFlags.R
    flags |= PageFlags.W if walk.user_write else 0
    flags |= PageFlags.X if walk.user_execute else 0
    if 0 <= vaddr < USER_SPACE_END:  # cross-check with OSTD's own leaf lookup
        leaf = space.query_flags(vaddr)
        assert leaf is not None and leaf & RWX == flags, "report this to your instructor"
    return walk.paddr, flags


def addresses(space, areas, rng: random.Random, extra: int) -> list[int]:
    """Every mapped page (at a random offset), pages around them, the VM areas' ends,
    random user addresses and kernel-half or non-canonical ones."""
    picked = [0, 0x1000, 0xFFF]
    for vaddr, _paddr, _flags in space.mappings():
        picked += [vaddr + rng.randrange(PAGE_SIZE), vaddr - PAGE_SIZE, vaddr + PAGE_SIZE + rng.randrange(8)]
    for area in areas:
        picked += [area.start, area.end - 1, area.end, (area.start + area.end) // 2 & ~7]
    picked += [rng.randrange(USER_SPACE_END) for _ in range(extra)]
    picked += [rng.randrange(1 << 30) + 0x100_0000 for _ in range(extra)]  # near the program
    picked += [USER_SPACE_END - rng.randrange(1, 1 << 24) for _ in range(extra)]  # near the stack
    return [a for a in picked if a >= 0] + KERNEL_AND_ODD


def check_program(submission, argv: list[str], extra: int = 50, which: str = "all", limit: int = 20000) -> int:
    """Run ``argv``; at each process's exit compare translate() with the MMU's walk.
    Returns how many addresses were compared."""
    rng = random.Random(" ".join(argv))
    problems: list[str] = []
    compared = [0]

    def observe(process) -> None:
        if which == "first" and compared[0]:
            return
        try:
            space = process.vm.vm_space
            snap = viz.snapshot(process)
            for vaddr in addresses(space, process.vm.areas, rng, extra)[:limit]:
                want = expected(snap, space, vaddr)
                try:
                    got = submission.translate(space, vaddr)
                except Exception as error:  # noqa: BLE001 - reported with its address
                    problems.append(f"pid {process.pid}: translate({vaddr:#x}) raised "
                                    f"{type(error).__name__}: {error}")  # fmt: skip
                    continue
                if got is not None:
                    got = (got[0], PageFlags(got[1]) & RWX)
                compared[0] += 1
                if got != want:
                    show = lambda t: None if t is None else (hex(t[0]), t[1])  # noqa: E731
                    problems.append(f"pid {process.pid}: translate({vaddr:#x}) = {show(got)}, "
                                    f"the MMU says {show(want)}")  # fmt: skip
        except Exception as error:  # noqa: BLE001 - reported as the test's failure
            problems.append(f"pid {process.pid}: {type(error).__name__}: {error}")

    result = runner.run(argv, deterministic=True,
                        with_kernel=lambda kernel: kernel.exit_observers.append(observe))  # fmt: skip
    assert result.panic is None, result.panic
    assert not problems, f"{len(problems)} wrong answers, e.g.\n  " + "\n  ".join(problems[:6])
    assert compared[0], "no address was compared: report this to your instructor"
    return compared[0]


@lab_test(points=1)
def test_split_vaddr(submission):
    """The four 9-bit indices (PML4, PDPT, PD, PT) and the 12-bit offset."""
    rng = random.Random(2)
    cases = [0, 0x1001123, 0x7FFF_FFFF_E000, 0xFFFF_8880_0000_0000, 0xFFFF_FFFF_8000_0FFF]
    cases += [rng.randrange(1 << 64) for _ in range(200)]
    for vaddr in cases:
        want = ((vaddr >> 39) & 511, (vaddr >> 30) & 511, (vaddr >> 21) & 511, (vaddr >> 12) & 511, vaddr & 4095)
        got = tuple(submission.split_vaddr(vaddr))
        assert got == want, f"split_vaddr({vaddr:#x}) = {got}, want {want}"


@lab_test(points=3, depends=("test_split_vaddr",))
def test_translate_hello(submission):
    """/bin/hello at its exit: each mapped page at a random offset, and addresses nearby."""
    check_program(submission, ["/bin/hello"], extra=20)


@lab_test(points=2, depends=("test_translate_hello",))
def test_translate_busybox(submission):
    """A busybox shell and its children (glibc: brk heap, mprotect'ed RELRO, a bigger stack)."""
    check_program(submission, ["/bin/busybox", "sh", "-c", "echo hi | cat > /dev/null; true"], extra=10)


@lab_test(points=2, depends=("test_translate_hello",), visibility="hidden")
def test_translate_copy_on_write(submission):
    """cow_isolation: thousands of pages shared copy-on-write (read-only until written)."""
    check_program(submission, ["/bin/cow_isolation"], extra=30, limit=6000)


@lab_test(points=2, depends=("test_translate_hello",), visibility="hidden")
def test_translate_protections(submission):
    """Every protection: pages mapped by hand with R, RW, RX, RWX and none (PROT_NONE:
    present, but not for user mode), in several PML4 slots; and mmap_semantics."""
    layout = {0x40_0000: PageFlags.R, 0x40_1000: PageFlags.R | PageFlags.W, 0x40_3000: PageFlags.R | PageFlags.X,
              0x7F00_0000_0000: RWX, 0x7F00_0000_1000: PageFlags(0), 0x1_0000_0000: PageFlags.R | PageFlags.W,
              0x7FFF_FFFF_F000: PageFlags(0), 0x8000_0000: PageFlags.R | PageFlags.X}  # fmt: skip
    problems: list[str] = []

    def work():
        space = VmSpace()
        for vaddr, flags in layout.items():
            space.cursor_mut(vaddr, vaddr + PAGE_SIZE).map(FrameAllocOptions().alloc_frame(), flags)
        snap = viz.snapshot(space, label="by hand")
        for base in layout:
            for vaddr in (base, base + 0x7FF, base + PAGE_SIZE - 1, base - 1, base + PAGE_SIZE):
                want = expected(snap, space, vaddr)
                try:
                    got = submission.translate(space, vaddr)
                except Exception as error:  # noqa: BLE001 - reported with its address
                    problems.append(f"translate({vaddr:#x}) raised {type(error).__name__}: {error}")
                    continue
                got = None if got is None else (got[0], PageFlags(got[1]) & RWX)
                if got != want:
                    problems.append(f"translate({vaddr:#x}) = {got}, want {want}")

    box: dict = {}
    ostd.boot(lambda _info: Task(lambda: box.setdefault("done", work())).run(), console_sink=lambda _d: None)
    assert not problems, f"{len(problems)} wrong answers, e.g.\n  " + "\n  ".join(problems[:6])
    check_program(submission, ["/bin/mmap_semantics"], extra=10)
