"""memcheck: audit physical memory against OSTD's invariants.

OSTD promises that safe kernel code cannot corrupt memory. ``memcheck`` checks that
promise on a live machine, from the outside: it walks every address space's page
tables *in emulated RAM* (not through OSTD's own caches), counts every frame handle
alive in the Python heap, and compares both with the frame metadata:

* a frame's reference count equals its mappings plus its handles;
* the metadata's per-frame mapping count equals the mappings actually found;
* user page tables map only untyped frames: never a page-table, kernel, reserved or
  free frame;
* a frame mapped writable is mapped nowhere else, unless that sharing is intended: the
  pages of a MAP_SHARED mapping (the same frame at the same index of the same shared
  object). Read-only sharing is copy-on-write or program text and is fine;
* page-table frames form trees: each is reached exactly once, from one address space,
  is of kind PAGE_TABLE, and is owned by that space; none is left unreachable;
* free frames have no references and are mapped nowhere, and the free list holds
  only free frames.

It is a tool, like a hardware debugger: it is not part of OSTD (so not of the TCB) and
may read OSTD's internals. It reports; it never changes anything. ``tests`` run it
while every process of every differential program is still alive, and the bug
catalogue (``asterinas_lab.bugs``) uses it as evidence of corruption.
"""

from __future__ import annotations

import gc
import struct
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .ostd import platform as ostd_platform
from .ostd.mm.frame import FREE, KIND_NAMES, PAGE_TABLE, RESERVED, UNTYPED, Frame, Segment, TypedFrame
from .ostd.mm.page_table import PTE_ADDR_MASK, PTE_HUGE, PTE_PRESENT, PTE_USER, PTE_WRITABLE

PAGE_SIZE = 4096
_ENTRIES = struct.Struct("<512Q")
_U64 = struct.Struct("<Q")
_HUGE = 1 << 21


@dataclass(frozen=True)
class Finding:
    """One broken invariant: which check, which frame, and what was seen."""

    check: str
    detail: str
    frame: int | None = None  # physical address

    def __str__(self) -> str:
        where = f" [frame {self.frame:#x}]" if self.frame is not None else ""
        return f"{self.check}: {self.detail}{where}"


@dataclass
class MemcheckReport:
    findings: list[Finding] = field(default_factory=list)
    address_spaces: int = 0
    mappings: int = 0
    frames_in_use: int = 0
    handles: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def __str__(self) -> str:
        head = (
            f"memcheck: {self.address_spaces} address spaces, {self.mappings} user mappings, "
            f"{self.frames_in_use} frames in use, {self.handles} frame handles: "
        )
        if self.ok:
            return head + "clean"
        lines = [head + f"{len(self.findings)} findings"]
        lines += [f"  {finding}" for finding in self.findings[:50]]
        if len(self.findings) > 50:
            lines.append(f"  ... and {len(self.findings) - 50} more")
        return "\n".join(lines)


@dataclass
class _Mapping:
    space: Any
    vaddr: int
    paddr: int
    writable: bool


def memcheck(kernel: Any = None) -> MemcheckReport:
    """Audit the booted machine. With ``kernel`` (an ``asterinas_lab.kernel.main.Kernel``)
    writable sharing is checked against the processes' shared mappings; without it,
    every writable frame mapped more than once is reported."""
    p = ostd_platform.get()
    frames = p.frames
    ram = p.ram
    report = MemcheckReport()
    add = report.findings.append

    spaces = list(p.vm_spaces)
    report.address_spaces = len(spaces)
    mappings: list[_Mapping] = []
    table_owner: dict[int, Any] = {}
    for space in spaces:
        _walk_space(space, ram, frames, mappings, table_owner, add)
    report.mappings = len(mappings)

    # Page-table frames: every PAGE_TABLE frame must be some live space's table.
    for n in range(frames.nframes):
        if frames.kind[n] == PAGE_TABLE and n * PAGE_SIZE not in table_owner:
            add(Finding("page table", "a page-table frame that no address space reaches (leaked)", n * PAGE_SIZE))

    map_count: Counter[int] = Counter(m.paddr for m in mappings)
    handle_count = _count_handles(frames)
    report.handles = sum(handle_count.values())
    for paddr, count in map_count.items():
        n = paddr // PAGE_SIZE
        kind = frames.kind[n]
        if kind != UNTYPED:
            detail = f"{count} user mapping(s) of a {KIND_NAMES[kind]} frame"
            add(Finding("typed or free frame mapped", detail, paddr))
        if frames.maps[n] != count:
            add(Finding("map count", f"metadata says {frames.maps[n]} mappings, page tables have {count}", paddr))

    for n in range(frames.nframes):
        kind = frames.kind[n]
        paddr = n * PAGE_SIZE
        refs = frames.refs[n]
        if kind == FREE:
            if refs or frames.maps[n]:
                add(Finding("free frame in use", f"free, yet refs={refs}, maps={frames.maps[n]}", paddr))
            continue
        report.frames_in_use += 1
        if kind == RESERVED:
            continue
        # A page-table frame's one reference is its table; all others count handles
        # and mappings.
        owner = 1 if kind == PAGE_TABLE else 0
        mapped, handles = map_count.get(paddr, 0), handle_count.get(paddr, 0)
        if refs != mapped + handles + owner:
            add(Finding("reference count", f"refs={refs}, but {mapped} mappings + {handles} handles"
                        + (" + its table" if owner else ""), paddr))  # fmt: skip

    free_list = set(frames._free) | set(frames._quarantine)
    for n in free_list:
        if frames.kind[n] != FREE:
            add(Finding("free list", f"a {KIND_NAMES[frames.kind[n]]} frame is on the free list", n * PAGE_SIZE))

    _check_sharing(mappings, map_count, kernel, add)
    return report


def translate(ram: memoryview, root: int, vaddr: int) -> tuple[int, int] | None:
    """Translate ``vaddr`` the way the CPU does, from the root table: (paddr, leaf
    entry), or None. Handles 2 MiB pages (the kernel's direct map of RAM)."""
    table = root
    for level, shift in enumerate((39, 30, 21, 12)):
        entry = _U64.unpack_from(ram, table + ((vaddr >> shift) & 511) * 8)[0]
        if not entry & PTE_PRESENT:
            return None
        if level == 2 and entry & PTE_HUGE:
            return (entry & PTE_ADDR_MASK & ~(_HUGE - 1)) | (vaddr & (_HUGE - 1)), entry
        table = entry & PTE_ADDR_MASK
    return table | (vaddr & (PAGE_SIZE - 1)), entry


def _walk_space(space, ram, frames, mappings: list[_Mapping], table_owner: dict[int, Any], add) -> None:
    root = space.root_paddr
    _claim_table(root, space, frames, table_owner, add)
    owned = set(space.page_table_frames())
    if root not in owned:
        add(Finding("page table", "the root table is not owned by its address space", root))
    for i4, e4 in enumerate(_ENTRIES.unpack_from(ram, root)[:256]):  # the user half
        if not e4 & PTE_PRESENT:
            continue
        t3 = e4 & PTE_ADDR_MASK
        _claim_table(t3, space, frames, table_owner, add, owned)
        for i3, e3 in enumerate(_ENTRIES.unpack_from(ram, t3)):
            if not e3 & PTE_PRESENT:
                continue
            t2 = e3 & PTE_ADDR_MASK
            _claim_table(t2, space, frames, table_owner, add, owned)
            for i2, e2 in enumerate(_ENTRIES.unpack_from(ram, t2)):
                if not e2 & PTE_PRESENT:
                    continue
                if e2 & PTE_HUGE:
                    add(Finding("page table", "a huge page in the user half", e2 & PTE_ADDR_MASK))
                    continue
                t1 = e2 & PTE_ADDR_MASK
                _claim_table(t1, space, frames, table_owner, add, owned)
                base = (i4 << 39) | (i3 << 30) | (i2 << 21)
                for i1, e1 in enumerate(_ENTRIES.unpack_from(ram, t1)):
                    if e1 & PTE_PRESENT:
                        paddr = e1 & PTE_ADDR_MASK
                        if paddr // PAGE_SIZE >= frames.nframes:
                            add(Finding("page table", f"maps {base | i1 << 12:#x} beyond RAM", paddr))
                            continue
                        writable = bool(e1 & PTE_WRITABLE and e1 & PTE_USER)
                        mappings.append(_Mapping(space, base | (i1 << 12), paddr, writable))


def _claim_table(
    paddr: int, space, frames, table_owner: dict[int, Any], add, owned: set[int] | None = None
) -> None:
    if paddr // PAGE_SIZE >= frames.nframes:
        add(Finding("page table", "a table link points beyond RAM", paddr))
        return
    if frames.kind[paddr // PAGE_SIZE] != PAGE_TABLE:
        add(Finding("page table", f"a table link points to a {KIND_NAMES[frames.kind[paddr // PAGE_SIZE]]} frame",
                    paddr))  # fmt: skip
    if paddr in table_owner:
        add(Finding("page table", "a table reached twice (the tables do not form trees)", paddr))
    table_owner[paddr] = space
    if owned is not None and paddr not in owned:
        add(Finding("page table", "a table reached from an address space that does not own it", paddr))


def _count_handles(frames) -> dict[int, int]:
    """Frame handles alive in the Python heap that belong to this machine's frames."""
    counts: dict[int, int] = defaultdict(int)
    for obj in gc.get_objects():
        cls = type(obj)
        if cls is Frame or cls is TypedFrame:
            if obj._owner is frames:
                counts[obj.paddr] += 1
        elif cls is Segment:
            if obj._owner is frames:
                for i in range(obj.nframes):
                    counts[obj.start_paddr + i * PAGE_SIZE] += 1
    return counts


def _check_sharing(mappings: list[_Mapping], map_count: Counter[int], kernel: Any, add) -> None:
    shared_frames = _intended_shared_frames(kernel) if kernel is not None else None
    for m in mappings:
        if not m.writable or map_count[m.paddr] < 2:
            continue
        if shared_frames is not None and m.paddr in shared_frames.get(id(m.space), ()):
            continue
        others = map_count[m.paddr] - 1
        add(Finding("unintended sharing", f"mapped writable at {m.vaddr:#x} and {others} more time(s) elsewhere, "
                    "outside any MAP_SHARED mapping", m.paddr))  # fmt: skip


def _intended_shared_frames(kernel) -> dict[int, set[int]]:
    """{id(VmSpace): paddrs of the shared-object pages its MAP_SHARED areas map}."""
    result: dict[int, set[int]] = {}
    for process in list(kernel.processes.values()):
        vm = process.vm
        if process.zombie:
            continue
        paddrs = result.setdefault(id(vm.vm_space), set())
        for area in vm.areas:
            shared = area.shared_mem
            if shared is None:
                continue
            first = area.shared_index(area.start)
            last = area.shared_index(area.end - PAGE_SIZE)
            for index, frame in shared.frames.items():
                if first <= index <= last:
                    paddrs.add(frame.paddr)
    return result
