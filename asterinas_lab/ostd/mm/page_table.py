"""x86-64 four-level page tables, in the real entry format the emulated CPU walks.

Each table is a 4 KiB PAGE_TABLE (typed) frame of 512 little-endian 64-bit entries.
An entry holds a physical address (bits 12..51) and flags: present, writable, user,
accessed, dirty, page size, and no-execute (bit 63). The CPU reads these very bytes on
every TLB miss, so the Python walk in :meth:`PageTable.query` and the CPU's translation
must always agree (a test checks that).

The upper half of every address space (PML4 entries 256..511) is the kernel half, shared
by all address spaces: each user PML4 copies the same kernel entries, pointing at the
same lower tables. It holds a supervisor-only, no-execute direct map of all physical
memory at :data:`PHYS_OFFSET`, as Linux does, and the supervisor-only, executable page
holding the ``sysretq`` trampoline through which OSTD enters user mode.
"""

from __future__ import annotations

import struct
from enum import IntFlag

from ..error import OstdError
from ..unsafe import unsafe
from .frame import PAGE_TABLE, RESERVED, FrameAllocator

PTE_PRESENT = 1 << 0
PTE_WRITABLE = 1 << 1
PTE_USER = 1 << 2
PTE_ACCESSED = 1 << 5
PTE_DIRTY = 1 << 6
PTE_HUGE = 1 << 7
PTE_GLOBAL = 1 << 8
PTE_AVAIL1 = 1 << 9
PTE_AVAIL2 = 1 << 10
PTE_NO_EXECUTE = 1 << 63
PTE_ADDR_MASK = 0x000F_FFFF_FFFF_F000
_TABLE_FLAGS = PTE_PRESENT | PTE_WRITABLE | PTE_USER

USER_SPACE_END = 0x0000_8000_0000_0000
PHYS_OFFSET = 0xFFFF_8880_0000_0000  # Linux's direct-map base (page_offset_base)
TRAMPOLINE_VADDR = 0xFFFF_FFFF_8000_0000  # where Linux puts kernel text
_HUGE_2M = 1 << 21

_u64 = struct.Struct("<Q")
_ENTRIES = struct.Struct("<512Q")


class PageFlags(IntFlag):
    """Architecture-neutral page properties (Asterinas' ``PageFlags``).

    A mapping without R, W and X is mapped but inaccessible from user mode (how
    PROT_NONE keeps its pages)."""

    R = 1
    W = 2
    X = 4
    ACCESSED = 8
    DIRTY = 16
    AVAIL1 = 32  # free for the kernel's own bookkeeping (e.g. copy-on-write)
    AVAIL2 = 64


def flags_to_pte(flags: PageFlags) -> int:
    """The PTE bits for ``flags`` (present, user). A table lookup: this is on the
    page-fault path, and arithmetic on IntFlag values is slow in Python."""
    return _PTE_BITS[flags]


def pte_to_flags(pte: int) -> PageFlags:
    return _FLAGS_BY_PTE[(pte & _FLAG_BITS_MASK) ^ PTE_NO_EXECUTE]


def _compute_pte(flags: PageFlags) -> int:
    if not flags & (PageFlags.R | PageFlags.W | PageFlags.X):
        # No access at all (PROT_NONE): present, so the frame stays mapped, but
        # supervisor-only, so every user access faults.
        pte = PTE_PRESENT | PTE_NO_EXECUTE
    else:
        pte = PTE_PRESENT | PTE_USER
    if flags & PageFlags.W and pte & PTE_USER:
        pte |= PTE_WRITABLE
    if not flags & PageFlags.X:
        pte |= PTE_NO_EXECUTE
    if flags & PageFlags.ACCESSED:
        pte |= PTE_ACCESSED
    if flags & PageFlags.DIRTY:
        pte |= PTE_DIRTY
    if flags & PageFlags.AVAIL1:
        pte |= PTE_AVAIL1
    if flags & PageFlags.AVAIL2:
        pte |= PTE_AVAIL2
    return pte


def _compute_flags(pte: int) -> PageFlags:
    flags = PageFlags.R if pte & PTE_USER else PageFlags(0)
    if pte & PTE_WRITABLE:
        flags |= PageFlags.W
    if not pte & PTE_NO_EXECUTE:
        flags |= PageFlags.X
    if pte & PTE_ACCESSED:
        flags |= PageFlags.ACCESSED
    if pte & PTE_DIRTY:
        flags |= PageFlags.DIRTY
    if pte & PTE_AVAIL1:
        flags |= PageFlags.AVAIL1
    if pte & PTE_AVAIL2:
        flags |= PageFlags.AVAIL2
    return flags


_PTE_BITS = [_compute_pte(PageFlags(i)) for i in range(128)]
_FLAG_BITS_MASK = PTE_USER | PTE_WRITABLE | PTE_NO_EXECUTE | PTE_ACCESSED | PTE_DIRTY | PTE_AVAIL1 | PTE_AVAIL2
_FLAGS_BY_PTE: dict[int, PageFlags] = {}
for _flags in range(128):
    _pte = _compute_pte(PageFlags(_flags)) & _FLAG_BITS_MASK
    _FLAGS_BY_PTE.setdefault(_pte ^ PTE_NO_EXECUTE, _compute_flags(_pte))


class KernelSpace:
    """The kernel half shared by every address space, built once at boot.

    Invariant: its tables are RESERVED frames that no user mapping can reach (every
    entry is supervisor-only) and that are never freed.
    """

    @unsafe
    def __init__(self, ram: memoryview, frames: FrameAllocator, ram_size: int) -> None:
        self._ram = ram
        self.root = self._table(frames)
        # Direct map: 2 MiB pages, supervisor-only, no-execute.
        huge_pages = (ram_size + _HUGE_2M - 1) // _HUGE_2M
        for i in range(huge_pages):
            vaddr = PHYS_OFFSET + i * _HUGE_2M
            pd = self._walk_create(frames, vaddr, levels=2)
            entry = (i * _HUGE_2M) | PTE_PRESENT | PTE_WRITABLE | PTE_HUGE | PTE_GLOBAL | PTE_NO_EXECUTE
            # SAFETY: pd is a reserved table frame built here; the entry maps RAM only.
            _u64.pack_into(ram, pd + ((vaddr >> 21) & 511) * 8, entry)
        # The trampoline page: supervisor-only, read-only, executable.
        self.trampoline_paddr = frames.alloc(RESERVED)
        ram[self.trampoline_paddr : self.trampoline_paddr + 3] = b"\x48\x0f\x07"  # sysretq
        pt = self._walk_create(frames, TRAMPOLINE_VADDR, levels=3)
        _u64.pack_into(ram, pt + ((TRAMPOLINE_VADDR >> 12) & 511) * 8, self.trampoline_paddr | PTE_PRESENT)
        self.kernel_entries = bytes(ram[self.root + 256 * 8 : self.root + 512 * 8])

    def _table(self, frames: FrameAllocator) -> int:
        return frames.alloc(RESERVED)

    @unsafe
    def _walk_create(self, frames: FrameAllocator, vaddr: int, levels: int) -> int:
        """Return the table ``levels`` below the root for ``vaddr``, creating tables."""
        table = self.root
        for shift in (39, 30, 21)[:levels]:
            slot = table + ((vaddr >> shift) & 511) * 8
            entry = _u64.unpack_from(self._ram, slot)[0]
            if not entry & PTE_PRESENT:
                child = self._table(frames)
                # SAFETY: a supervisor-only link to a fresh reserved table frame.
                _u64.pack_into(self._ram, slot, child | PTE_PRESENT | PTE_WRITABLE)
                entry = child
            table = entry & PTE_ADDR_MASK
        return table


class PageTable:
    """One address space's page tables: a PML4 with the shared kernel half.

    Invariants: every table frame below the root is a PAGE_TABLE frame owned by this
    object and by nothing else; user-half leaf entries map only frames whose reference
    count includes the mapping (the caller, VmSpace, guarantees that); the kernel half
    is never modified through this object.
    """

    @unsafe
    def __init__(self, ram: memoryview, frames: FrameAllocator, kernel: KernelSpace) -> None:
        self._ram = ram
        self._frames = frames
        self.root = frames.alloc(PAGE_TABLE)
        # SAFETY: root is a fresh table frame; the copied entries are the kernel half.
        ram[self.root + 256 * 8 : self.root + 512 * 8] = kernel.kernel_entries
        self.table_frames = [self.root]
        # Leaf (PT) tables by 2 MiB region: makes repeated faults in one region cheap.
        self._leaf_tables: dict[int, int] = {}

    @unsafe
    def _leaf(self, vaddr: int, create: bool) -> int:
        """Physical address of the PT covering ``vaddr`` (0 if absent and not created)."""
        region = vaddr >> 21
        table = self._leaf_tables.get(region)
        if table is not None:
            return table
        if vaddr >= USER_SPACE_END or vaddr < 0:
            raise OstdError(f"{vaddr:#x} is not a user-space address")
        ram = self._ram
        table = self.root
        for shift in (39, 30, 21):
            slot = table + ((vaddr >> shift) & 511) * 8
            entry = _u64.unpack_from(ram, slot)[0]
            if not entry & PTE_PRESENT:
                if not create:
                    return 0
                child = self._frames.alloc(PAGE_TABLE)
                self.table_frames.append(child)
                # SAFETY: links this table tree to a fresh, zeroed table frame it owns.
                _u64.pack_into(ram, slot, child | _TABLE_FLAGS)
                entry = child
            table = entry & PTE_ADDR_MASK
        self._leaf_tables[region] = table
        return table

    @unsafe
    def set_entry(self, vaddr: int, entry: int) -> int:
        """Write the leaf entry of ``vaddr``; return the entry it replaces."""
        slot = self._leaf(vaddr, True) + ((vaddr >> 12) & 511) * 8
        old = _u64.unpack_from(self._ram, slot)[0]
        # SAFETY: slot is inside a leaf table this object owns; VmSpace vouches for the frame.
        _u64.pack_into(self._ram, slot, entry)
        return old

    @unsafe
    def entry(self, vaddr: int) -> int:
        """The leaf entry of ``vaddr`` (0 when no table covers it)."""
        table = self._leaf(vaddr, False)
        if not table:
            return 0
        return _u64.unpack_from(self._ram, table + ((vaddr >> 12) & 511) * 8)[0]

    @unsafe
    def present(self, start: int, end: int):
        """Yield (vaddr, entry) of every present leaf entry in [start, end), visiting
        only the leaf tables that exist: a huge, mostly empty range costs nothing."""
        for region in sorted(r for r in self._leaf_tables if start >> 21 <= r <= (end - 1) >> 21):
            base = region << 21
            # SAFETY: a leaf table this object owns, read whole.
            entries = _ENTRIES.unpack_from(self._ram, self._leaf_tables[region])
            for i in range((max(start, base) - base) >> 12, (min(end, base + (1 << 21)) - base + 4095) >> 12):
                if entries[i] & PTE_PRESENT:
                    yield base | (i << 12), entries[i]

    def leaf_tables(self) -> dict[int, int]:
        """{2 MiB region number: physical address of its leaf table}, for every leaf
        table of this space (each one is created, and so recorded, by ``_leaf``)."""
        return dict(self._leaf_tables)

    def leaf_table(self, vaddr: int) -> int:
        """The leaf table covering ``vaddr``, created if needed."""
        return self._leaf(vaddr, True)

    def release_tables(self) -> None:
        """Free every table frame; the caller has already unmapped all leaves."""
        for paddr in self.table_frames:
            self._frames.put(paddr)
        self.table_frames = []
        self._leaf_tables.clear()
