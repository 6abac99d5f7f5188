"""VmSpace: a user address space, and CursorMut, the only way to change its mappings.

A VmSpace owns one :class:`PageTable`. Safe code changes it only through a cursor, whose
operations keep OSTD's invariants:

* ``map`` accepts only :class:`Frame` handles, i.e. untyped frames; a typed frame
  (page table, kernel object) can never appear in a user page table. Mapping takes a
  reference on the frame, so the frame outlives its mapping.
* ``unmap`` and ``protect`` that remove or reduce access flush the TLB *before* the
  reference count of the unmapped frame drops, so no stale translation can reach a
  frame after it is freed and reused.
* addresses must lie in the user half; the kernel half is out of reach.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence

from ...machine.ram import PAGE_SIZE
from .. import events, platform
from ..error import AccessDenied, OstdError
from ..events import Event
from ..unsafe import unsafe
from .frame import UNTYPED, Frame
from .page_table import (
    PTE_ADDR_MASK,
    PTE_NO_EXECUTE,
    PTE_PRESENT,
    PTE_USER,
    PTE_WRITABLE,
    USER_SPACE_END,
    PageFlags,
    PageTable,
    flags_to_pte,
    pte_to_flags,
)

PageFaultHandler = Callable[[int, bool], bool]
_ENTRIES = struct.Struct("<512Q")
_ZERO_TABLE = bytes(PAGE_SIZE)


class MappedPage:
    """What a cursor finds at an address: the frame (a new handle) and its flags."""

    __slots__ = ("vaddr", "frame", "flags")

    def __init__(self, vaddr: int, frame: Frame, flags: PageFlags) -> None:
        self.vaddr = vaddr
        self.frame = frame
        self.flags = flags

    def __repr__(self) -> str:
        return f"MappedPage({self.vaddr:#x}, {self.frame!r}, {self.flags!r})"


class VmSpace:
    """A user address space.

    Invariant: every present user leaf entry maps an UNTYPED frame whose reference count
    includes that entry, and the TLB never holds a translation that the page table no
    longer grants.
    """

    def __init__(self) -> None:
        p = platform.get()
        self._platform = p
        self._pt = PageTable(p.ram, p.frames, p.kernel_space)
        self.page_fault_handler: PageFaultHandler | None = None
        self._mapped = 0
        p.vm_spaces.add(self)

    # --- activation -------------------------------------------------------------------

    def activate(self) -> None:
        """Make this the address space the CPU translates user addresses with."""
        p = self._platform
        if p.active_vm_space is not self:
            p.active_vm_space = self
            p.cpu.set_cr3(self._pt.root)

    @property
    def root_paddr(self) -> int:
        """Physical address of the PML4 (for visualisation; it is not a handle)."""
        return self._pt.root

    @property
    def mapped_pages(self) -> int:
        return self._mapped

    def register_page_fault_handler(self, handler: PageFaultHandler | None) -> None:
        """``handler(vaddr, write) -> bool`` resolves faults hit by VmReader/VmWriter."""
        self.page_fault_handler = handler

    # --- cursors ------------------------------------------------------------------------

    def cursor_mut(self, start: int, end: int) -> CursorMut:
        return CursorMut(self, start, end)

    def query(self, vaddr: int) -> MappedPage | None:
        entry = self._pt.entry(vaddr & ~(PAGE_SIZE - 1))
        if not entry & PTE_PRESENT:
            return None
        return MappedPage(vaddr & ~(PAGE_SIZE - 1), Frame(entry & PTE_ADDR_MASK), pte_to_flags(entry))

    def query_flags(self, vaddr: int) -> PageFlags | None:
        """The flags at ``vaddr`` without creating a frame handle (cheap)."""
        entry = self._pt.entry(vaddr & ~(PAGE_SIZE - 1))
        return pte_to_flags(entry) if entry & PTE_PRESENT else None

    def mappings(self, start: int = 0, end: int = USER_SPACE_END) -> Iterator[tuple[int, int, PageFlags]]:
        """(vaddr, paddr, flags) of every mapped page in [start, end), in address order."""
        for vaddr, entry in self._pt.present(start, end):
            yield vaddr, entry & PTE_ADDR_MASK, pte_to_flags(entry)

    def page_table_frames(self) -> list[int]:
        return list(self._pt.table_frames)

    @unsafe
    def read_page_table(self, table_paddr: int) -> tuple[int, ...]:
        """The 512 raw 64-bit entries of ``table_paddr``, one of this space's own page
        tables: the root (``root_paddr``) or a user-half table below it. Read-only; for
        walking the tables by hand (lab 2) and for tools.

        Invariant kept: nothing is written, and only this space's table frames can be
        read (anything else, including the kernel-half tables every space shares, user
        data frames and kernel objects, raises AccessDenied). The entries are plain
        integers that ``mappings()`` and ``query()`` already reveal (flags and frame
        addresses) plus the addresses of tables, which only this method accepts, and
        only to read: no frame's ownership or reference count changes."""
        if table_paddr not in self._pt.table_frames:
            raise AccessDenied(f"{table_paddr:#x} is not a page table of this address space")
        # SAFETY: a whole table frame that this space's PageTable owns, only read.
        return _ENTRIES.unpack_from(self._platform.ram, table_paddr)

    # --- fork ------------------------------------------------------------------------

    @unsafe
    def duplicate(self, shared: Sequence[tuple[int, int]] = ()) -> VmSpace:
        """A copy-on-write duplicate of this space: what fork does to memory.

        The new space maps the very same frames at the same addresses (each frame's
        reference and mapping counts go up by one); no page is copied. Writable pages
        become read-only in *both* spaces, so the first write on either side faults and
        the kernel's page-fault handler can copy the page then. Pages inside one of the
        ``shared`` ranges (``MAP_SHARED`` areas) keep their flags: both processes keep
        writing the same frame.
        """
        p = self._platform
        frames = p.frames
        refs, maps = frames.refs, frames.maps
        child = VmSpace()
        dst = child._pt
        ram = p.ram
        protected = False
        for region, table in sorted(self._pt.leaf_tables().items()):
            base = region << 21
            entries = list(_ENTRIES.unpack_from(ram, table))
            if not any(entries):
                continue
            region_shared = [(max(s, base), min(e, base + (1 << 21))) for s, e in shared
                             if s < base + (1 << 21) and e > base]  # fmt: skip
            # Allocate the child's table before taking references: if memory runs out
            # here, no count has been raised for entries the child does not hold.
            child_table = dst.leaf_table(base)
            changed = False
            count = 0
            for i, entry in enumerate(entries):
                if not entry & PTE_PRESENT:
                    continue
                n = (entry & PTE_ADDR_MASK) >> 12
                refs[n] += 1
                maps[n] += 1
                count += 1
                if entry & PTE_WRITABLE:
                    vaddr = base | (i << 12)
                    if not any(s <= vaddr < e for s, e in region_shared):
                        entries[i] = entry & ~PTE_WRITABLE
                        changed = True
            if changed:
                # SAFETY: the same entries with write access removed, in this space's
                # own leaf table; the TLB is flushed below, before user code runs.
                _ENTRIES.pack_into(ram, table, *entries)
                protected = True
            # SAFETY: the child's leaf table is fresh and its own; every frame it now
            # maps had its reference and mapping counts raised above.
            _ENTRIES.pack_into(ram, child_table, *entries)
            child._mapped += count
        if protected:
            self._flush_if_active()
        return child

    # --- internal, used by CursorMut --------------------------------------------------

    def _flush_if_active(self) -> None:
        if self._platform.active_vm_space is self:
            self._platform.cpu.flush_tlb()

    def _map_one(self, vaddr: int, frame: Frame, flags: PageFlags) -> None:
        if type(frame) is not Frame:
            raise OstdError(f"only untyped Frame handles can be mapped to user space, not {frame!r}")
        frames = self._platform.frames
        n = frame.paddr // PAGE_SIZE
        if frames.kind[n] != UNTYPED:
            raise OstdError(f"frame {frame.paddr:#x} is not untyped")
        frames.get(frame.paddr)
        frames.maps[n] += 1
        if flags & PageFlags.X:
            frames.executable[n] = 1
        old = self._pt.set_entry(vaddr, frame.paddr | flags_to_pte(flags))
        if events.active[Event.MAP]:
            events.emit(Event.MAP, space=self, vaddr=vaddr, paddr=frame.paddr, flags=flags)
        if old & PTE_PRESENT:
            self._flush_if_active()
            self._release(old)
        else:
            self._mapped += 1

    def _release(self, entry: int) -> None:
        paddr = entry & PTE_ADDR_MASK
        frames = self._platform.frames
        frames.maps[paddr // PAGE_SIZE] -= 1
        frames.put(paddr)

    def _unmap_range(self, start: int, end: int) -> int:
        pt = self._pt
        removed = [pt.set_entry(vaddr, 0) for vaddr, _ in list(pt.present(start, end))]
        if removed and events.active[Event.UNMAP]:
            events.emit(Event.UNMAP, space=self, start=start, end=end, pages=len(removed))
        if removed:
            self._flush_if_active()  # before any reference drops
            for entry in removed:
                self._release(entry)
            self._mapped -= len(removed)
        return len(removed)

    @unsafe
    def clear(self) -> None:
        """Unmap every user page (exit and exec use it)."""
        ram = self._platform.ram
        removed: list[int] = []
        for table in self._pt.leaf_tables().values():
            entries = _ENTRIES.unpack_from(ram, table)
            present = [entry for entry in entries if entry & PTE_PRESENT]
            if present:
                removed += present
                # SAFETY: zeroes a leaf table this space owns; the TLB is flushed
                # below, before any frame's reference count drops.
                ram[table : table + PAGE_SIZE] = _ZERO_TABLE
        if removed and events.active[Event.UNMAP]:
            events.emit(Event.UNMAP, space=self, start=0, end=USER_SPACE_END, pages=len(removed))
        self._flush_if_active()
        for entry in removed:
            self._release(entry)
        self._mapped = 0

    def destroy(self) -> None:
        """Release everything: the pages, then the page-table frames themselves."""
        p = self._platform
        if p.active_vm_space is self:
            p.active_vm_space = None
            p.cpu.set_cr3(p.kernel_space.root)
        self.clear()
        self._pt.release_tables()
        p.vm_spaces.discard(self)

    def __del__(self) -> None:
        pt = getattr(self, "_pt", None)  # None if __init__ ran out of frames
        if pt is not None and platform.current is self._platform and pt.table_frames:
            self.destroy()


class CursorMut:
    """A cursor over ``[start, end)`` of a VmSpace that can map, unmap and protect.

    Invariant: every operation stays inside the cursor's range, which lies inside the
    user half.
    """

    def __init__(self, space: VmSpace, start: int, end: int) -> None:
        if start % PAGE_SIZE or end % PAGE_SIZE or not 0 <= start <= end <= USER_SPACE_END:
            raise OstdError(f"bad cursor range {start:#x}..{end:#x}")
        self._space = space
        self.start = start
        self.end = end
        self.vaddr = start

    def jump(self, vaddr: int) -> None:
        if vaddr % PAGE_SIZE or not self.start <= vaddr < self.end:
            raise OstdError(f"{vaddr:#x} is outside the cursor's range")
        self.vaddr = vaddr

    def _take(self, length: int) -> tuple[int, int]:
        if length % PAGE_SIZE or length < 0 or self.vaddr + length > self.end:
            raise OstdError(f"length {length:#x} runs outside the cursor's range")
        start = self.vaddr
        self.vaddr += length
        return start, start + length

    def query(self) -> MappedPage | None:
        return self._space.query(self.vaddr)

    def map(self, frame: Frame, flags: PageFlags) -> None:
        """Map ``frame`` at the cursor and advance one page."""
        start, _ = self._take(PAGE_SIZE)
        self._space._map_one(start, frame, flags)

    def unmap(self, length: int) -> int:
        """Unmap ``length`` bytes from the cursor; return how many pages were mapped."""
        start, end = self._take(length)
        return self._space._unmap_range(start, end)

    def protect_next(self, length: int, update: Callable[[PageFlags], PageFlags]) -> None:
        """Change the flags of every mapped page in the next ``length`` bytes."""
        start, end = self._take(length)
        space = self._space
        pt = space._pt
        reduced = False
        for vaddr, entry in list(pt.present(start, end)):
            new_flags = update(pte_to_flags(entry))
            new_entry = (entry & PTE_ADDR_MASK) | flags_to_pte(new_flags)
            if new_flags & PageFlags.X:
                space._platform.frames.executable[(entry & PTE_ADDR_MASK) // PAGE_SIZE] = 1
            if (
                (entry & PTE_WRITABLE and not new_entry & PTE_WRITABLE)
                or (new_entry & PTE_NO_EXECUTE and not entry & PTE_NO_EXECUTE)
                or (entry & PTE_USER and not new_entry & PTE_USER)
            ):
                reduced = True
            pt.set_entry(vaddr, new_entry)
        if events.active[Event.PROTECT]:
            events.emit(Event.PROTECT, space=space, start=start, end=end)
        # Granting access needs no flush (the CPU re-walks on a fault); removing it does.
        if reduced:
            space._flush_if_active()
