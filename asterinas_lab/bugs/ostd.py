"""Bugs in OSTD, the trusted core.

Each function is a buggy version of one OSTD method, changed in one small way. These
*are* trusted code: they hold the raw RAM, the frame metadata and the page tables, so
when they are wrong nothing else can stop the damage. That is why the TCB must be
small, and why ``memcheck`` exists.
"""

from __future__ import annotations

from ..memcheck import translate
from ..ostd.mm import io
from ..ostd.mm.frame import FREE, UNTYPED
from ..ostd.mm.page_table import PHYS_OFFSET, PTE_ADDR_MASK, PTE_PRESENT, USER_SPACE_END
from ..ostd.mm.vm_space import PAGE_SIZE

_PAGE_MASK = PAGE_SIZE - 1


def release_twice(self, entry: int) -> None:
    """VmSpace._release: drops the mapping's reference -- and, if someone else still
    holds one (a copy-on-write sharer), that one too."""
    paddr = entry & PTE_ADDR_MASK
    frames = self._platform.frames
    n = paddr // PAGE_SIZE
    frames.maps[n] -= 1
    frames.put(paddr)
    if frames.refs[n] == 1:
        frames.put(paddr)  # BUG: the other user's reference; the frame is freed while mapped


def unmap_without_flush(self, start: int, end: int) -> int:
    """VmSpace._unmap_range without the TLB flush before the references drop."""
    pt = self._pt
    removed = [pt.set_entry(vaddr, 0) for vaddr in range(start, end, PAGE_SIZE) if pt.entry(vaddr) & PTE_PRESENT]
    for entry in removed:  # BUG: no self._flush_if_active() first
        self._release(entry)
    self._mapped -= len(removed)
    return len(removed)


class _ReuseState:
    allocations = 0
    last: int | None = None


def alloc_reusing(original):
    """FrameAllocator.alloc that, every 8th untyped allocation, hands out the frame it
    handed out just before (still in use), zeroing it."""
    # Count from this injection, so that every demonstration misbehaves at the same
    # allocations whatever ran in this Python process before.
    _ReuseState.allocations, _ReuseState.last = 0, None

    def alloc(self, kind: int, zeroed: bool = True) -> int:
        if kind == UNTYPED:
            _ReuseState.allocations += 1
            last = _ReuseState.last
            if _ReuseState.allocations % 8 == 0 and last is not None and self.kind[last // PAGE_SIZE] != FREE:
                self.refs[last // PAGE_SIZE] = 1  # BUG: a frame that is still in use
                self._ram[last : last + PAGE_SIZE] = bytes(PAGE_SIZE)
                return last
        paddr = original(self, kind, zeroed)
        if kind == UNTYPED:
            _ReuseState.last = paddr
        return paddr

    return alloc


def translate_unchecked(space, vaddr: int, write: bool) -> int:
    """io._translate without the user-range and U/S checks: any address the CPU's page
    tables map -- including the kernel's direct map of all RAM -- is copied."""
    if 0 <= vaddr < USER_SPACE_END:
        entry = space._pt.entry(vaddr & ~_PAGE_MASK)
        if not entry & PTE_PRESENT:
            handler = space.page_fault_handler
            if handler is None or not handler(vaddr, write):
                raise io.PageFaultError(vaddr, write)
            entry = space._pt.entry(vaddr & ~_PAGE_MASK)
        return (entry & PTE_ADDR_MASK) | (vaddr & _PAGE_MASK)
    # BUG: a kernel address. Walk the tables like the CPU, ignoring U/S.
    found = translate(space._platform.ram, space.root_paddr, vaddr)
    if found is None:
        raise io.PageFaultError(vaddr, write)
    paddr, _entry = found
    if vaddr >= PHYS_OFFSET and paddr >= len(space._platform.ram):
        raise io.PageFaultError(vaddr, write)
    return paddr
