"""Tests for OSTD, the trusted core: frames, page tables, user copies, U/S and NX.

Each test boots a small machine and runs its checks as the kernel's entry point (see
``conftest.run_in_kernel``). Tests may look at OSTD internals (the RAM view, the frame
allocator's metadata, the Python page-table walk); only kernel code may not.
"""

from __future__ import annotations

import gc
import struct
import sys

import pytest
from user_code import CODE_ADDR, LOAD_REGS, RW, load_program, map_new, movabs_rax, run_user

from asterinas_lab import ostd, runner
from asterinas_lab.memcheck import translate as walk
from asterinas_lab.ostd import (
    PAGE_SIZE,
    PHYS_OFFSET,
    AccessDenied,
    Frame,
    FrameAllocOptions,
    OstdError,
    PageFaultError,
    PageFlags,
    ReturnReason,
    UserContext,
    VmReader,
    VmSpace,
    VmWriter,
)
from asterinas_lab.ostd import platform as ostd_platform
from asterinas_lab.ostd.mm import frame as frame_mod
from asterinas_lab.ostd.mm.page_table import PTE_NO_EXECUTE, PTE_USER, PTE_WRITABLE

KERNEL_HALF = 0x0000_8000_0000_0000
VECTOR_PAGE_FAULT = 14


def free_frames() -> int:
    return ostd.memory_stats()[1]


def ram() -> memoryview:
    return ostd_platform.current.ram


# --- 1. frames ---------------------------------------------------------------------------


def test_frame_reference_counts_follow_handles_and_mappings(in_kernel):
    def check():
        a = 0x40_0000
        allocator = frame_mod.allocator()
        free_at_start = free_frames()
        space = VmSpace()
        cursor = space.cursor_mut(a, a + PAGE_SIZE)

        frame = FrameAllocOptions().alloc_frame()
        paddr = frame.paddr
        assert frame.reference_count == 1
        assert allocator.kind[paddr // PAGE_SIZE] == frame_mod.UNTYPED
        frame.write(0, b"persist!")

        cursor.map(frame, RW)
        assert frame.reference_count == 2
        assert allocator.maps[paddr // PAGE_SIZE] == 1
        free_after_map = free_frames()
        assert free_after_map < free_at_start  # the frame plus the new page tables

        del frame  # the mapping alone keeps the frame alive
        assert allocator.refs[paddr // PAGE_SIZE] == 1
        assert allocator.kind[paddr // PAGE_SIZE] == frame_mod.UNTYPED
        assert free_frames() == free_after_map
        assert VmReader(space, a, 8).read() == b"persist!"
        page = space.query(a)  # a new handle: one more reference
        assert page.frame.paddr == paddr and page.flags & RW == RW
        assert page.frame.reference_count == 2
        del page
        assert allocator.refs[paddr // PAGE_SIZE] == 1

        cursor.jump(a)
        assert cursor.unmap(PAGE_SIZE) == 1
        assert free_frames() == free_after_map + 1
        assert allocator.kind[paddr // PAGE_SIZE] == frame_mod.FREE
        assert allocator.refs[paddr // PAGE_SIZE] == 0
        assert space.query(a) is None

        space.destroy()  # the page-table frames go back too
        assert free_frames() == free_at_start

    in_kernel(check)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # see the xfail below
def test_handles_cannot_be_forged_for_typed_or_free_frames(in_kernel):
    def check():
        space = VmSpace()
        with pytest.raises(AccessDenied):
            Frame(space.root_paddr)  # a page-table frame
        frame = FrameAllocOptions().alloc_frame()
        paddr = frame.paddr
        del frame
        with pytest.raises(AccessDenied):
            Frame(paddr)  # back on the free list

    in_kernel(check)


def test_refused_frame_handle_cleans_up_quietly(in_kernel, monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def check():
        space = VmSpace()
        refs_before = frame_mod.allocator().refs[space.root_paddr // PAGE_SIZE]
        with pytest.raises(AccessDenied):
            Frame(space.root_paddr)
        gc.collect()
        assert frame_mod.allocator().refs[space.root_paddr // PAGE_SIZE] == refs_before

    in_kernel(check)
    assert [u.exc_type for u in unraisable] == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the double release
def test_stale_handle_cannot_release_a_frame_of_the_next_machine(in_kernel):
    stale = [in_kernel(lambda: FrameAllocOptions().alloc_frame())]
    paddr = stale[0].paddr

    def check():
        mine = []
        while not mine or mine[-1].paddr != paddr:
            mine.append(FrameAllocOptions().alloc_frame())
            assert len(mine) < 64
        stale.clear()  # the old machine's handle dies now
        return mine[-1].reference_count, frame_mod.allocator().kind[paddr // PAGE_SIZE]

    # Observed inside the machine, asserted outside it, so that no handle is kept alive
    # by the assertion's traceback.
    assert in_kernel(check) == (1, frame_mod.UNTYPED)


def test_typed_frames_cannot_be_read_written_or_mapped(in_kernel):
    def check():
        a = 0x40_0000
        allocator = frame_mod.allocator()
        typed = FrameAllocOptions().alloc_typed()
        n = typed.paddr // PAGE_SIZE
        assert allocator.kind[n] == frame_mod.KERNEL
        with pytest.raises(AccessDenied):
            typed.read(0, 8)
        with pytest.raises(AccessDenied):
            typed.write(0, b"x")
        space = VmSpace()
        with pytest.raises(OstdError):
            space.cursor_mut(a, a + PAGE_SIZE).map(typed, RW)
        assert space.query(a) is None
        assert space.mapped_pages == 0
        assert allocator.refs[n] == 1 and allocator.maps[n] == 0
        free = free_frames()
        del typed
        assert free_frames() == free + 1
        assert allocator.kind[n] == frame_mod.FREE

    in_kernel(check)


@pytest.mark.parametrize(("offset", "length"), [(4090, 10), (4096, 1), (-1, 2), (0, PAGE_SIZE + 1)])
def test_frame_access_outside_its_4096_bytes_is_refused(in_kernel, offset, length):
    def check():
        frame = FrameAllocOptions().alloc_frame()
        pattern = bytes(range(256)) * 16
        frame.write(0, pattern)
        view = ram()
        after = bytes(view[frame.paddr + PAGE_SIZE : frame.paddr + PAGE_SIZE + 64])
        before = bytes(view[frame.paddr - 64 : frame.paddr])
        with pytest.raises(OstdError):
            frame.write(offset, b"\xee" * length)
        assert frame.read(0, PAGE_SIZE) == pattern
        assert bytes(view[frame.paddr + PAGE_SIZE : frame.paddr + PAGE_SIZE + 64]) == after
        assert bytes(view[frame.paddr - 64 : frame.paddr]) == before
        with pytest.raises(OstdError):
            frame.read(offset, length)
        assert frame.read(4090, 6) == pattern[4090:]

    in_kernel(check)


# --- 2. page tables ----------------------------------------------------------------------

# Spread over different PML4, PDPT, PD and PT slots, up to the last user page.
USER_ADDRESSES = [
    0x1000,
    0x40_0000,
    0x40_1000,
    0x1234_5000,
    0x40_0000_0000,
    0x80_0000_0000,
    0x5555_5555_4000,
    0x7FFF_FFFF_F000,
]


def test_python_walk_agrees_with_the_cpu(in_kernel):
    def check():
        space = VmSpace()
        expected_paddrs = {}
        for i, vaddr in enumerate(USER_ADDRESSES):
            data = struct.pack("<Q", 0x1122_3344_0000_0000 | (i << 16) | vaddr >> 12 & 0xFFFF)
            expected_paddrs[vaddr] = map_new(space, vaddr, RW, bytes(0x128) + data)

        loads = [vaddr + 0x128 for vaddr in USER_ADDRESSES]
        reason, regs, trap = run_user(space, load_program(loads))
        assert reason is ReturnReason.USER_SYSCALL, trap
        assert regs["rax"] == 0x99
        assert regs["rip"] == CODE_ADDR + len(load_program(loads))

        view = ram()
        values = []
        for address, (reg, _, _) in zip(loads, LOAD_REGS, strict=False):
            translated = walk(view, space.root_paddr, address)
            assert translated is not None
            paddr, entry = translated
            assert paddr == expected_paddrs[address & ~0xFFF] + 0x128
            assert entry & PTE_USER and entry & PTE_WRITABLE and entry & PTE_NO_EXECUTE
            in_ram = struct.unpack_from("<Q", view, paddr)[0]
            assert regs[reg] == in_ram, f"{reg} loaded from {address:#x}"
            values.append(in_ram)
        assert len(set(values)) == len(values)  # the check could tell pages apart

        # The kernel half translates the direct map the same way.
        assert walk(view, space.root_paddr, PHYS_OFFSET + 0x12_3456)[0] == 0x12_3456
        assert walk(view, space.root_paddr, 0x2000) is None

    in_kernel(check)


def test_cpu_faults_where_the_walk_finds_nothing(in_kernel):
    def check():
        space = VmSpace()
        map_new(space, 0x40_0000)
        unmapped = 0x40_1008
        assert walk(ram(), space.root_paddr, unmapped) is None
        reason, _, trap = run_user(space, load_program([0x40_0000, unmapped]))
        assert reason is ReturnReason.USER_EXCEPTION
        assert trap.vector == VECTOR_PAGE_FAULT and trap.address == unmapped

    in_kernel(check)


def test_user_mode_cannot_read_the_kernel_half(in_kernel):
    def check():
        space = VmSpace()
        target = PHYS_OFFSET + 0x1000
        assert walk(ram(), space.root_paddr, target) is not None  # present, supervisor-only
        reason, _, trap = run_user(space, load_program([target]))
        assert reason is ReturnReason.USER_EXCEPTION
        assert trap.vector == VECTOR_PAGE_FAULT and trap.address == target

    in_kernel(check)


def test_user_mode_cannot_execute_a_non_executable_page(in_kernel):
    def check():
        space = VmSpace()
        data_page = 0x40_0000
        map_new(space, data_page, RW, b"\xb8\x99\x00\x00\x00\x0f\x05")  # valid code, but NX
        reason, _, trap = run_user(space, movabs_rax(data_page) + b"\xff\xe0")  # jmp rax
        assert reason is ReturnReason.USER_EXCEPTION
        assert trap.vector == VECTOR_PAGE_FAULT and trap.address == data_page

    in_kernel(check)


def test_kernel_half_is_shared_by_all_address_spaces(in_kernel):
    def check():
        first, second = VmSpace(), VmSpace()
        map_new(first, 0x40_0000)
        view = ram()

        def pml4(space: VmSpace) -> list[int]:
            return list(struct.unpack_from("<512Q", view, space.root_paddr))

        a, b = pml4(first), pml4(second)
        assert first.root_paddr != second.root_paddr
        assert a[256:] == b[256:]
        assert any(a[256:])  # the direct map and the trampoline are there
        kernel_root = ostd_platform.current.kernel_space.root
        assert a[256:] == list(struct.unpack_from("<256Q", view, kernel_root + 256 * 8))
        assert a[0] != 0 and b[0] == 0  # the user halves are private

    in_kernel(check)


# --- 3. user copies ----------------------------------------------------------------------


def test_reading_an_unmapped_address_is_a_page_fault(in_kernel):
    def check():
        space = VmSpace()
        map_new(space, 0x40_0000, RW, b"abc")
        assert VmReader(space, 0x40_0000, 3).read() == b"abc"
        with pytest.raises(PageFaultError) as info:
            VmReader(space, 0x50_0000, 8).read()
        assert info.value.address == 0x50_0000 and info.value.write is False
        reader = VmReader(space, 0x40_0000 + PAGE_SIZE - 2, 4)
        with pytest.raises(PageFaultError) as info:
            reader.read()
        assert info.value.address == 0x40_1000
        assert reader.cursor == 0x40_1000  # the first two bytes were consumed

    in_kernel(check)


def test_writer_stops_at_the_unmapped_page_and_never_leaves_its_range(in_kernel):
    def check():
        space = VmSpace()
        base = 0x40_0000
        paddr = map_new(space, base, RW, b"\x55" * PAGE_SIZE)  # base + 4096 stays unmapped
        view = ram()
        start = base + PAGE_SIZE - 100
        writer = VmWriter(space, start, 200)
        with pytest.raises(PageFaultError) as info:
            writer.write(b"\xaa" * 200)
        assert info.value.address == base + PAGE_SIZE and info.value.write is True
        assert writer.cursor == base + PAGE_SIZE
        page = bytes(view[paddr : paddr + PAGE_SIZE])
        assert page == b"\x55" * (PAGE_SIZE - 100) + b"\xaa" * 100

        # A range that ends mid-page: longer data is cut at the range's end.
        writer = VmWriter(space, base + 16, 8)
        assert writer.write(b"\x01" * 64) == 8
        assert writer.avail == 0
        assert bytes(view[paddr : paddr + 40]) == b"\x55" * 16 + b"\x01" * 8 + b"\x55" * 16
        assert writer.write(b"more") == 0
        assert bytes(view[paddr + 24 : paddr + 40]) == b"\x55" * 16

    in_kernel(check)


def test_writer_to_a_read_only_page_is_refused(in_kernel):
    def check():
        space = VmSpace()
        paddr = map_new(space, 0x40_0000, PageFlags.R, b"read-only")
        with pytest.raises(PageFaultError) as info:
            VmWriter(space, 0x40_0004, 4).write(b"XXXX")
        assert info.value.write is True
        assert bytes(ram()[paddr : paddr + 9]) == b"read-only"
        assert VmReader(space, 0x40_0000, 9).read() == b"read-only"

    in_kernel(check)


@pytest.mark.parametrize("address", [KERNEL_HALF, KERNEL_HALF - 4, PHYS_OFFSET, PHYS_OFFSET + 0x1000])
def test_user_copies_cannot_reach_the_kernel_half(in_kernel, address):
    def check():
        space = VmSpace()
        map_new(space, KERNEL_HALF - PAGE_SIZE, RW, b"\x77" * PAGE_SIZE)  # last user page
        space.register_page_fault_handler(lambda vaddr, write: True)  # claims to fix anything
        with pytest.raises(PageFaultError):
            VmReader(space, address, 8).read()
        frame_one = bytes(ram()[0x1000:0x1008])
        with pytest.raises(PageFaultError):
            VmWriter(space, address, 8).write(b"\x00" * 8)
        assert bytes(ram()[0x1000:0x1008]) == frame_one

    in_kernel(check)


def test_read_cstring_stays_inside_the_readers_range(in_kernel):
    def check():
        space = VmSpace()
        map_new(space, 0x40_0000, PageFlags.R, b"abcdefgh\0")
        reader = VmReader(space, 0x40_0000, 4)
        assert reader.read_cstring(100) is None  # no NUL within the 4-byte range
        assert reader.remain >= 0

    in_kernel(check)


def test_page_fault_handler_can_map_on_demand(in_kernel):
    def check():
        space = VmSpace()
        faults = []

        def handler(vaddr: int, write: bool) -> bool:
            faults.append((vaddr, write))
            page = vaddr & ~(PAGE_SIZE - 1)
            if page != 0x60_0000:
                return False
            map_new(space, page, RW, b"demand")
            return True

        space.register_page_fault_handler(handler)
        assert VmReader(space, 0x60_0000, 6).read() == b"demand"
        with pytest.raises(PageFaultError):
            VmReader(space, 0x70_0000, 1).read()
        assert faults == [(0x60_0000, False), (0x70_0000, False)]

    in_kernel(check)


# --- 4. U/S and NX seen by whole programs -----------------------------------------------


@pytest.mark.parametrize("program", ["/bin/segv_kernel", "/bin/segv_nx", "/bin/segv_null"])
def test_faulting_programs_die_with_sigsegv(program):
    result = runner.run([program])
    assert result.status == 139
    assert result.signal == 11
    assert result.stdout == b"before\n"
    assert result.oopses == [] and result.panic is None


def test_handles_cannot_be_repointed_or_copied_around_their_reference(in_kernel):
    import copy

    def check():
        frame = FrameAllocOptions().alloc_frame()
        with pytest.raises(AttributeError):
            frame.paddr = 0x1000  # a handle re-pointed at a page table could write it
        twin = copy.copy(frame)  # a copy is a new handle with its own reference
        assert twin.paddr == frame.paddr and frame.reference_count == 2
        del twin
        assert frame.reference_count == 1
        typed = FrameAllocOptions().alloc_typed()
        for attempt in (copy.copy, copy.deepcopy):
            with pytest.raises(TypeError):
                attempt(typed)
        with pytest.raises(AttributeError):
            typed.paddr = 0
        import pickle

        with pytest.raises(TypeError):
            pickle.dumps(frame)

    in_kernel(check)


def test_user_context_exposes_only_user_registers(in_kernel):
    import copy

    from asterinas_lab.machine import cpu as hw

    def check():
        context = UserContext()
        for register in (hw.CR3, hw.CR0, hw.CS):
            with pytest.raises(OstdError):
                context.set(register, 0)
            with pytest.raises(OstdError):
                context.get(register)
        context.rflags = 0xFFFF_FFFF  # IOPL, VM, ... are not the user's to set
        assert context.rflags & 0x3000 == 0 and context.rflags & 0x200  # IOPL 0, IF on
        clone = copy.copy(context)  # a clone with its own CPU-state blob, not a shared one
        clone.rax = 7
        assert context.rax != 7

    in_kernel(check)
