"""The page-fault handler: demand paging.

A page fault means the CPU could not translate an address. If the address lies in a VM
area whose protections allow the access, the page simply has not been created yet:
allocate a frame, fill it from the area's backing (zeros or file bytes) and map it, and
the faulting instruction is retried. Otherwise the access is a real error and the
process gets SIGSEGV, with si_code SEGV_MAPERR (nothing there) or SEGV_ACCERR (there,
but not with that access).

unicorn does not report the page-fault error code, so the kind of access is inferred:
a fault on a page that is already present must be a permission problem; a fault whose
address is where the instruction pointer is was an instruction fetch.
"""

from __future__ import annotations

from ...ostd import PAGE_SIZE, FrameAllocOptions
from .vmar import PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE, ProcessVm, page_down, prot_to_flags

SEGV_MAPERR = 1
SEGV_ACCERR = 2

# File-backed faults map up to this many neighbouring pages at once (Linux's
# "fault-around"), which makes loading a program's text cheap.
FAULT_AROUND_PAGES = 16


def handle_page_fault(vm: ProcessVm, vaddr: int, write: bool = False, execute: bool = False) -> int:
    """Resolve a fault at ``vaddr``. Returns 0 if resolved, else the SEGV si_code."""
    area = vm.find(vaddr)
    if area is None:
        return SEGV_MAPERR
    prot = area.prot
    if prot == PROT_NONE or (write and not prot & PROT_WRITE) or (execute and not prot & PROT_EXEC):
        return SEGV_ACCERR
    if not prot & (PROT_READ | PROT_WRITE | PROT_EXEC):
        return SEGV_ACCERR
    page = page_down(vaddr)
    space = vm.vm_space
    present = space.query_flags(page)
    if present is not None:
        # Present and the area allows the access, yet it faulted: the PTE is stricter
        # than the area (e.g. after mprotect). Re-map with the area's protections.
        space.cursor_mut(page, page + PAGE_SIZE).protect_next(PAGE_SIZE, lambda _old: prot_to_flags(prot))
        return 0
    flags = prot_to_flags(prot)
    count = 1
    if area.backing is not None:
        limit = min(area.end, (page | 0x1FFFFF) + 1)  # stay in this area and 2 MiB region
        count = max(1, min(FAULT_AROUND_PAGES, (limit - page) // PAGE_SIZE))
    cursor = space.cursor_mut(page, page + count * PAGE_SIZE)
    for i in range(count):
        addr = page + i * PAGE_SIZE
        if i and space.query_flags(addr) is not None:
            break
        frame = FrameAllocOptions().alloc_frame()
        data = area.bytes_for_page(addr)
        if data:
            frame.write(0, data)
        cursor.jump(addr)
        cursor.map(frame, flags)
    return 0

