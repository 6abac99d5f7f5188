"""A process's address space: VM areas over an OSTD VmSpace (Linux's ``mm_struct``).

The page table (the VmSpace) says what is mapped *now*; the VM areas say what *may* be
mapped: each area is a range with protections and a source of bytes (zeros, or a slice
of a file such as an ELF segment). Pages are created lazily, on the first access, by
the page-fault handler in ``page_fault.py`` (demand paging).

Named after Asterinas' ``Vmar`` (virtual memory address region).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from itertools import count

from ...ostd import PAGE_SIZE, PageFlags, VmSpace
from ..error import EEXIST, EINVAL, ENOMEM, LinuxError
from .shared import SharedMemory

PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4

USER_TOP = 0x7FFF_FFFF_F000  # TASK_SIZE - PAGE_SIZE: the highest user page ends here
STACK_TOP = USER_TOP
STACK_MAX = 8 << 20  # RLIMIT_STACK default
MMAP_TOP = STACK_TOP - STACK_MAX - (128 << 20)  # below the stack and a guard gap
MMAP_MIN_ADDR = 0x10000


def page_down(addr: int) -> int:
    return addr & ~(PAGE_SIZE - 1)


def page_up(addr: int) -> int:
    return (addr + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def prot_to_flags(prot: int) -> PageFlags:
    if prot == PROT_NONE:
        return PageFlags(0)  # mapped, no access: the pages keep their contents
    flags = PageFlags.R
    if prot & PROT_WRITE:
        flags |= PageFlags.W
    if prot & PROT_EXEC:
        flags |= PageFlags.X
    return flags


@dataclass(eq=False)
class VmArea:
    """``[start, end)`` with protections and backing bytes.

    For a file-backed private area, page ``start + i*4096`` holds
    ``backing[offset + i*4096 :]`` up to ``file_end`` (an absolute address); bytes past
    ``file_end`` are zero, which is how an ELF segment's .bss follows its .data.

    A shared area (``shared_mem`` set) maps the object's pages instead: page
    ``start + i*4096`` is the object's page ``offset // 4096 + i``.
    """

    start: int
    end: int
    prot: int
    name: str = ""
    backing: bytes | None = None
    offset: int = 0
    file_end: int = 0
    shared: bool = False
    grows_down: bool = False
    shared_mem: SharedMemory | None = None
    eof: int = 0  # private file mapping: pages from here on are past the file (SIGBUS)
    # A private file mapping may map the file's page-cache frames read-only (shared
    # by every process running the same program) until a write copies the page.
    file_cache: SharedMemory | None = None
    file_base: int = 0  # file offset of backing[0]

    def split(self, at: int) -> VmArea:
        """Cut this area at ``at``; return the upper part (this keeps the lower)."""
        upper = VmArea(**self.__dict__)
        upper.start = at
        if self.backing is not None or self.shared_mem is not None:
            upper.offset = self.offset + (at - self.start)
        self.end = at
        return upper

    def copy(self) -> VmArea:
        return VmArea(**self.__dict__)

    def shared_index(self, vaddr: int) -> int:
        return (self.offset + vaddr - self.start) // PAGE_SIZE

    def cache_index(self, vaddr: int) -> int:
        """The file page behind ``vaddr`` of a private file mapping."""
        return (self.file_base + self.offset + vaddr - self.start) // PAGE_SIZE

    def bytes_for_page(self, vaddr: int) -> bytes | None:
        """Initial contents of the page at ``vaddr`` (None means all zeros)."""
        if self.backing is None or vaddr >= self.file_end:
            return None
        start = self.offset + (vaddr - self.start)
        length = min(PAGE_SIZE, self.file_end - vaddr)
        return self.backing[start : start + length]


class ProcessVm:
    """The areas of one address space, sorted by start address, plus brk and mmap."""

    def __init__(self, vm_space: VmSpace | None = None, areas: list[VmArea] | None = None) -> None:
        self.vm_space = vm_space if vm_space is not None else VmSpace()
        self.areas: list[VmArea] = areas if areas is not None else []
        self._starts: list[int] = [area.start for area in self.areas]
        self.brk_start = 0
        self.brk = 0
        self.stack_top = STACK_TOP
        self.users = 1  # processes using it (CLONE_VM without CLONE_THREAD, i.e. vfork)
        self.key = next(_vm_keys)  # names the space in futex keys

    def fork(self) -> ProcessVm:
        """The child's address space after fork: same areas, pages copy-on-write."""
        shared = [(a.start, a.end) for a in self.areas if a.shared_mem is not None]
        child = ProcessVm(self.vm_space.duplicate(shared), [a.copy() for a in self.areas])
        child.brk_start, child.brk, child.stack_top = self.brk_start, self.brk, self.stack_top
        return child

    # --- lookup ------------------------------------------------------------------------

    def find(self, vaddr: int) -> VmArea | None:
        i = bisect.bisect_right(self._starts, vaddr) - 1
        if i >= 0:
            area = self.areas[i]
            if vaddr < area.end:
                return area
        return None

    def covers(self, start: int, end: int) -> bool:
        """Every page of [start, end) lies in some area (no hole)."""
        addr = start
        while addr < end:
            area = self.find(addr)
            if area is None:
                return False
            addr = area.end
        return True

    def total_size(self) -> int:
        """Bytes of address space in areas (what RLIMIT_AS limits)."""
        return sum(area.end - area.start for area in self.areas)

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self._starts, start) - 1
        i = max(i, 0)
        while i < len(self.areas) and self.areas[i].start < end:
            if self.areas[i].end > start:
                return True
            i += 1
        return False

    # --- changing areas --------------------------------------------------------------------

    def add(self, area: VmArea, replace: bool = False) -> None:
        if area.start >= area.end or area.start % PAGE_SIZE or area.end % PAGE_SIZE:
            raise LinuxError(EINVAL)
        if self.overlaps(area.start, area.end):
            if not replace:
                raise LinuxError(EEXIST)
            self.remove(area.start, area.end)
        i = bisect.bisect_left(self._starts, area.start)
        self.areas.insert(i, area)
        self._starts.insert(i, area.start)

    def _carve(self, start: int, end: int) -> list[VmArea]:
        """Split areas at ``start`` and ``end``; return those inside [start, end)."""
        inside = []
        for area in list(self.areas):
            if area.end <= start or area.start >= end:
                continue
            if area.start < start:
                upper = area.split(start)
                self._insert_raw(upper)
                area = upper
            if area.end > end:
                self._insert_raw(area.split(end))
            inside.append(area)
        return inside

    def _insert_raw(self, area: VmArea) -> None:
        i = bisect.bisect_left(self._starts, area.start)
        self.areas.insert(i, area)
        self._starts.insert(i, area.start)

    def remove(self, start: int, end: int) -> None:
        """munmap: drop areas and the pages mapped in [start, end)."""
        for area in self._carve(start, end):
            i = self.areas.index(area)
            del self.areas[i]
            del self._starts[i]
            if area.shared_mem is not None:
                area.shared_mem.sync_to_file()
        self.vm_space.cursor_mut(start, end).unmap(end - start)

    def sync_shared(self, start: int, end: int) -> None:
        """msync: write shared file pages in [start, end) back to their files."""
        for area in self.areas:
            if area.shared_mem is not None and area.start < end and area.end > start:
                area.shared_mem.sync_to_file()

    def move(self, old_start: int, old_end: int, new_start: int) -> None:
        """mremap's move: the areas and the mapped pages of [old_start, old_end) go to
        ``new_start`` (the same frames, so no byte is copied)."""
        length = old_end - old_start
        moved = []
        for area in self._carve(old_start, old_end):
            i = self.areas.index(area)
            del self.areas[i]
            del self._starts[i]
            moved.append(area)
        space = self.vm_space
        mapped = [vaddr for vaddr, _paddr, _flags in space.mappings(old_start, old_end)]
        pages = [(vaddr - old_start, space.query(vaddr)) for vaddr in mapped]
        space.cursor_mut(old_start, old_end).unmap(length)
        self.remove(new_start, new_start + length)
        delta = new_start - old_start
        for area in moved:
            area.start += delta
            area.end += delta
            if area.file_end:
                area.file_end += delta
            if area.eof:
                area.eof += delta
            self._insert_raw(area)
        cursor = space.cursor_mut(new_start, new_start + length)
        for offset, page in pages:
            cursor.jump(new_start + offset)
            cursor.map(page.frame, page.flags)

    def protect(self, start: int, end: int, prot: int) -> None:
        """mprotect: every page in the range must belong to some area (else ENOMEM)."""
        addr = start
        while addr < end:
            area = self.find(addr)
            if area is None:
                raise LinuxError(ENOMEM)
            addr = area.end
        flags = prot_to_flags(prot)
        keep_write = flags & PageFlags.W
        space = self.vm_space
        for area in self._carve(start, end):
            area.prot = prot
            cursor = space.cursor_mut(area.start, area.end)
            if area.shared_mem is not None:
                if prot & PROT_WRITE:
                    area.shared_mem.written = True
                cursor.protect_next(area.end - area.start, lambda _old: flags)
            else:
                # A private page may be shared copy-on-write with another process: never
                # grant write access here; the first write faults and the handler
                # decides (copy, or just make it writable if this is the only user).
                cursor.protect_next(area.end - area.start, lambda old: flags & ~PageFlags.W | (old & keep_write))

    def find_free(self, length: int, hint: int = 0) -> int:
        """Top-down search for a free range of ``length`` bytes (Linux's mmap layout)."""
        if hint >= MMAP_MIN_ADDR and hint + length <= MMAP_TOP and not self.overlaps(hint, hint + length):
            return hint
        top = MMAP_TOP
        for area in reversed(self.areas):
            if area.start >= top:
                continue
            if area.end <= top - length:
                if top - length >= MMAP_MIN_ADDR:
                    return top - length
                break
            top = min(top, area.start)
        if top - length >= MMAP_MIN_ADDR and not self.overlaps(top - length, top):
            return top - length
        raise LinuxError(ENOMEM)

    def clear(self) -> None:
        self.areas.clear()
        self._starts.clear()
        self.vm_space.clear()

    def destroy(self) -> None:
        for area in self.areas:
            if area.shared_mem is not None:
                area.shared_mem.sync_to_file()
        self.areas.clear()
        self._starts.clear()
        self.vm_space.destroy()


_vm_keys = count(1)
