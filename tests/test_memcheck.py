"""memcheck finds each kind of broken invariant (and nothing on a healthy machine).

Each test sets up a small machine state, checks that memcheck calls it clean, then
breaks one invariant behind OSTD's back -- the way an OSTD bug would -- and checks
that memcheck names it.
"""

from __future__ import annotations

import struct

from asterinas_lab import ostd
from asterinas_lab.memcheck import memcheck
from asterinas_lab.ostd import PAGE_SIZE, FrameAllocOptions, PageFlags
from asterinas_lab.ostd import platform as ostd_platform
from asterinas_lab.ostd.mm import frame as frame_mod

RW = PageFlags.R | PageFlags.W
BASE = 0x40_0000


def _checks(report) -> set[str]:
    return {finding.check for finding in report.findings}


def _space_with_pages(count: int = 2):
    space = ostd.VmSpace()
    frames = []
    for i in range(count):
        frame = FrameAllocOptions().alloc_frame()
        space.cursor_mut(BASE + i * PAGE_SIZE, BASE + (i + 1) * PAGE_SIZE).map(frame, RW)
        frames.append(frame)
    return space, frames


def test_a_healthy_machine_is_clean(in_kernel):
    def check():
        space, frames = _space_with_pages(4)
        child = space.duplicate()
        report = memcheck()
        assert report.ok, str(report)
        assert report.address_spaces == 2 and report.mappings == 8
        return space, child, frames

    in_kernel(check)


def test_reference_count_off_by_one(in_kernel):
    def check():
        space, frames = _space_with_pages()
        frame_mod.allocator().refs[frames[0].paddr // PAGE_SIZE] -= 1
        report = memcheck()
        assert "reference count" in _checks(report)
        assert any(f.frame == frames[0].paddr for f in report.findings)
        frame_mod.allocator().refs[frames[0].paddr // PAGE_SIZE] += 1
        return space

    in_kernel(check)


def test_typed_frame_mapped_into_user_space(in_kernel):
    def check():
        space, frames = _space_with_pages()
        allocator = frame_mod.allocator()
        n = frames[1].paddr // PAGE_SIZE
        allocator.kind[n] = frame_mod.KERNEL
        assert "typed or free frame mapped" in _checks(memcheck())
        allocator.kind[n] = frame_mod.UNTYPED
        return space

    in_kernel(check)


def test_writable_frame_in_two_address_spaces(in_kernel):
    def check():
        one, frames = _space_with_pages(1)
        two = ostd.VmSpace()
        two.cursor_mut(BASE, BASE + PAGE_SIZE).map(frames[0], RW)  # through OSTD: counts stay right
        report = memcheck()
        assert _checks(report) == {"unintended sharing"}, str(report)
        return one, two

    in_kernel(check)


def test_page_tables_that_are_not_trees(in_kernel):
    def check():
        one, _frames = _space_with_pages(1)
        two = ostd.VmSpace()
        ram = ostd_platform.current.ram
        # Link two's PML4 slot to one's level-3 table: two trees now share a table.
        (entry,) = struct.unpack_from("<Q", ram, one.root_paddr)
        struct.pack_into("<Q", ram, two.root_paddr, entry)
        report = memcheck()
        assert "page table" in _checks(report)
        assert any("reached twice" in f.detail for f in report.findings)
        struct.pack_into("<Q", ram, two.root_paddr, 0)
        return one, two

    in_kernel(check)


def test_free_frame_still_referenced_or_on_the_free_list_while_used(in_kernel):
    def check():
        space, frames = _space_with_pages(1)
        allocator = frame_mod.allocator()
        n = frames[0].paddr // PAGE_SIZE
        allocator.kind[n] = frame_mod.FREE
        checks = _checks(memcheck())
        assert {"typed or free frame mapped", "free frame in use"} <= checks
        allocator.kind[n] = frame_mod.UNTYPED
        allocator._free.append(n)  # an allocator bug: a frame in use on the free list
        assert "free list" in _checks(memcheck())
        allocator._free.remove(n)
        return space

    in_kernel(check)
