"""Page-table snapshots: one address space's tables, copied out of emulated RAM.

``snapshot(process)`` reads the four-level tables the emulated CPU walks, straight from
RAM (as ``asterinas_lab.memcheck`` does), together with the frame metadata of every
table and mapped frame and, for a process, its VM areas. The copy is plain Python data:
it stays readable and renderable after the machine is powered off, which is what a
notebook needs (cells render after the run is over).

What a snapshot shows:

* :meth:`PageTableSnapshot.tree`: one line per present entry, indented by level, in
  the style of xv6's ``vmprint``;
* :meth:`PageTableSnapshot.walk`: the walk of one virtual address, level by level,
  as the CPU's page walker does it;
* :meth:`PageTableSnapshot.to_svg`: a drawing of the tables as boxes with their
  present entries and flags (``asterinas_lab.viz.draw``);
* :func:`diff` of two snapshots: which entries changed (fork, copy-on-write...).

In a notebook a bare snapshot, walk or diff draws itself (``_repr_mimebundle_``).

Like memcheck this is a tool outside the trusted core: it reads OSTD's internals
(the RAM view, frame metadata, a VmSpace's root) and never changes anything.
"""

from __future__ import annotations

import itertools
import struct
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html import escape
from typing import Any

from ..ostd import platform as ostd_platform
from ..ostd.mm.frame import KIND_NAMES
from ..ostd.mm.page_table import (
    PTE_ACCESSED,
    PTE_ADDR_MASK,
    PTE_AVAIL1,
    PTE_AVAIL2,
    PTE_DIRTY,
    PTE_GLOBAL,
    PTE_HUGE,
    PTE_NO_EXECUTE,
    PTE_PRESENT,
    PTE_USER,
    PTE_WRITABLE,
)
from .figures import TextAndHtml

PAGE_SIZE = 4096
_ENTRIES = struct.Struct("<512Q")
PTE_WRITE_THROUGH = 1 << 3
PTE_CACHE_DISABLE = 1 << 4

#: Level numbers as in the Intel manual: 4 is the root (PML4), 1 the last (PT).
LEVEL_NAMES = {4: "PML4", 3: "PDPT", 2: "PD", 1: "PT"}
#: The bits of a virtual address that index each level.
LEVEL_SHIFT = {4: 39, 3: 30, 2: 21, 1: 12}
#: The flags shown, in this order, with the PTE bit of each. Bit 7 is PS (a huge
#: page) in a PDPT or PD entry and PAT in a PT entry.
FLAG_BITS: tuple[tuple[str, int], ...] = (
    ("P", PTE_PRESENT),
    ("W", PTE_WRITABLE),
    ("U", PTE_USER),
    ("NX", PTE_NO_EXECUTE),
    ("A", PTE_ACCESSED),
    ("D", PTE_DIRTY),
    ("PS", PTE_HUGE),
    ("G", PTE_GLOBAL),
    ("PWT", PTE_WRITE_THROUGH),
    ("PCD", PTE_CACHE_DISABLE),
    ("AV1", PTE_AVAIL1),
    ("AV2", PTE_AVAIL2),
)
FLAG_MEANINGS = {
    "P": "present",
    "W": "writable",
    "U": "user-accessible",
    "NX": "no-execute",
    "A": "accessed (set by the CPU)",
    "D": "dirty (set by the CPU on a write)",
    "PS": "page size: a 2 MiB or 1 GiB page",
    "PAT": "page attribute table",
    "G": "global",
    "PWT": "write-through",
    "PCD": "cache disabled",
    "AV1": "available to software (bit 9)",
    "AV2": "available to software (bit 10)",
}
#: Bits that are not flags: the physical address and the reserved/protection-key bits.
_FLAG_MASK = sum(bit for _, bit in FLAG_BITS)


def flag_names(raw: int, level: int = 1) -> tuple[str, ...]:
    """The names of the flags set in entry ``raw`` at ``level`` ("PS" reads "PAT" in a PT)."""
    names = []
    for name, bit in FLAG_BITS:
        if raw & bit:
            names.append("PAT" if name == "PS" and level == 1 else name)
    return tuple(names)


def format_flags(raw: int, level: int = 1) -> str:
    return "[" + " ".join(flag_names(raw, level)) + "]"


def is_leaf(raw: int, level: int) -> bool:
    """Does a present entry at ``level`` map memory (rather than point at a table)?"""
    return level == 1 or (level in (2, 3) and bool(raw & PTE_HUGE))


def entry_paddr(raw: int, level: int) -> int:
    """The physical address an entry points at (a table, a 4 KiB, 2 MiB or 1 GiB page)."""
    if level in (2, 3) and raw & PTE_HUGE:
        return raw & PTE_ADDR_MASK & ~((1 << LEVEL_SHIFT[level]) - 1)
    return raw & PTE_ADDR_MASK


def canonical(vaddr: int) -> int:
    """Sign-extend a 48-bit address (the kernel half starts at 0xffff800000000000)."""
    vaddr &= (1 << 48) - 1
    return vaddr | 0xFFFF_0000_0000_0000 if vaddr & (1 << 47) else vaddr


def size_name(size: int) -> str:
    if size >= 1 << 30:
        return f"{size >> 30} GiB"
    if size >= 1 << 20:
        return f"{size >> 20} MiB"
    return f"{size >> 10} KiB"


@dataclass(frozen=True)
class Entry:
    """One present page-table entry: where it is, which addresses it covers, its bits."""

    level: int  # 4 (PML4) .. 1 (PT)
    index: int  # 0..511 in its table
    table: int  # physical address of the table holding it
    vaddr: int  # the first virtual address it covers (canonical)
    raw: int  # the 64-bit entry

    @property
    def paddr(self) -> int:
        return entry_paddr(self.raw, self.level)

    @property
    def leaf(self) -> bool:
        return is_leaf(self.raw, self.level)

    @property
    def size(self) -> int:
        """Bytes of address space the entry covers."""
        return 1 << LEVEL_SHIFT[self.level]

    @property
    def flags(self) -> tuple[str, ...]:
        return flag_names(self.raw, self.level)

    @property
    def flag_bits(self) -> int:
        """The entry without its address bits."""
        return self.raw & _FLAG_MASK

    @property
    def slot(self) -> int:
        """Physical address of the 8-byte entry itself."""
        return self.table + self.index * 8

    def __repr__(self) -> str:
        return (
            f"Entry({LEVEL_NAMES[self.level]}[{self.index}], va {self.vaddr:#x}, pte {self.raw:#018x}, "
            f"pa {self.paddr:#x} {format_flags(self.raw, self.level)})"
        )


@dataclass(frozen=True)
class FrameInfo:
    """A frame's metadata when the snapshot was taken (OSTD's FrameAllocator)."""

    kind: int
    refs: int  # handles + mappings
    maps: int  # page-table entries mapping it, in every address space

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind] if 0 <= self.kind < len(KIND_NAMES) else f"kind {self.kind}"


@dataclass(frozen=True)
class AreaInfo:
    """A VM area of the process (a line of /proc/PID/maps), copied at snapshot time."""

    start: int
    end: int
    prot: int  # PROT_READ 1 | PROT_WRITE 2 | PROT_EXEC 4
    shared: bool
    offset: int  # file offset of ``start`` for a file mapping, else 0
    name: str

    @property
    def perms(self) -> str:
        return (
            ("r" if self.prot & 1 else "-")
            + ("w" if self.prot & 2 else "-")
            + ("x" if self.prot & 4 else "-")
            + ("s" if self.shared else "p")
        )

    @property
    def pages(self) -> int:
        return (self.end - self.start) // PAGE_SIZE

    def __contains__(self, vaddr: int) -> bool:
        return self.start <= vaddr < self.end


def area_info(area: Any) -> AreaInfo:
    """An :class:`AreaInfo` from a kernel ``VmArea``."""
    shared = area.shared_mem is not None or bool(getattr(area, "shared", False))
    if area.backing is not None or area.shared_mem is not None:
        offset = getattr(area, "file_base", 0) + area.offset
    else:
        offset = 0
    return AreaInfo(area.start, area.end, area.prot, shared, offset, area.name or "")


# Stable numbers for live VmSpaces, so that two snapshots can tell "the same space".
_space_serials: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
_serials = itertools.count(1)
_snapshot_serials = itertools.count(1)


def _space_serial(space: Any) -> int:
    serial = _space_serials.get(space)
    if serial is None:
        serial = _space_serials[space] = next(_serials)
    return serial


def _resolve(target: Any) -> tuple[Any, Any, Any]:
    """(process or None, ProcessVm or None, VmSpace) for a Process, ProcessVm or VmSpace."""
    vm = getattr(target, "vm", None)
    if vm is not None and hasattr(vm, "vm_space"):
        return target, vm, vm.vm_space
    if hasattr(target, "vm_space") and hasattr(target, "areas"):
        return None, target, target.vm_space
    if hasattr(target, "root_paddr"):
        return None, None, target
    raise TypeError(f"cannot snapshot {target!r}: give a Process, a ProcessVm or a VmSpace")


def snapshot(target: Any, label: str | None = None) -> PageTableSnapshot:
    """Copy the page tables of ``target`` (a Process, a ProcessVm or a VmSpace) out of
    the running machine. A process's snapshot also carries its pid, name and VM areas."""
    p = ostd_platform.current
    if p is None:
        raise RuntimeError("no machine is running: take snapshots while it runs (e.g. in an exit observer)")
    process, vm, space = _resolve(target)
    if space not in p.vm_spaces:
        raise ValueError(f"cannot snapshot {target!r}: its address space is destroyed or of another machine")
    ram, frames = p.ram, p.frames
    ram_size = len(ram)
    root = space.root_paddr
    tables: dict[int, bytes] = {}
    frame_info: dict[int, FrameInfo] = {}

    def info(paddr: int) -> None:
        n = paddr // PAGE_SIZE
        if paddr not in frame_info and 0 <= n < frames.nframes:
            frame_info[paddr] = FrameInfo(frames.kind[n], frames.refs[n], frames.maps[n])

    def grab(paddr: int, level: int, user: bool) -> None:
        if paddr in tables or paddr + PAGE_SIZE > ram_size:
            return  # reached twice (a corrupt tree) or beyond RAM: the walk stops there
        data = bytes(ram[paddr : paddr + PAGE_SIZE])
        tables[paddr] = data
        info(paddr)
        for index, raw in enumerate(_ENTRIES.unpack(data)):
            if not raw & PTE_PRESENT:
                continue
            in_user = user and (level != 4 or index < 256)
            if is_leaf(raw, level):
                if in_user:
                    info(entry_paddr(raw, level))
            else:
                grab(raw & PTE_ADDR_MASK, level - 1, in_user)

    grab(root, 4, True)
    areas = None
    if vm is not None:
        areas = tuple(area_info(area) for area in vm.areas)
    pid = getattr(process, "pid", None)
    comm = getattr(process, "comm", b"")
    comm = comm.decode(errors="replace") if isinstance(comm, bytes) else str(comm or "")
    return PageTableSnapshot(
        root=root,
        tables=tables,
        frames=frame_info,
        areas=areas,
        pid=pid,
        comm=comm,
        label=label,
        space=_space_serial(space),
        ram_size=ram_size,
    )


class PageTableSnapshot:
    """The page tables of one address space at one moment, as plain data.

    ``tables`` maps each table's physical address to its 4096 bytes (every table
    reachable from the root, the shared kernel half included); ``frames`` holds the
    metadata of each table and each user-mapped frame; ``areas`` the process's VM areas
    (None for a bare VmSpace).
    """

    def __init__(
        self,
        *,
        root: int,
        tables: dict[int, bytes],
        frames: dict[int, FrameInfo] | None = None,
        areas: tuple[AreaInfo, ...] | None = None,
        pid: int | None = None,
        comm: str = "",
        label: str | None = None,
        space: int = 0,
        ram_size: int = 0,
    ) -> None:
        self.root = root
        self.tables = tables
        self.frames = frames or {}
        self.areas = areas
        self.pid = pid
        self.comm = comm
        self.space = space  # which address space (equal for snapshots of the same VmSpace)
        self.ram_size = ram_size
        self.serial = next(_snapshot_serials)
        self.label = label if label is not None else self._default_label()
        self._unpacked: dict[int, tuple[int, ...]] = {}
        self._pages: dict[int, Entry] | None = None

    def _default_label(self) -> str:
        if self.pid is not None:
            return f"pid {self.pid}" + (f" ({self.comm})" if self.comm else "")
        return f"address space {self.space}" if self.space else f"root {self.root:#x}"

    # --- reading the tables ----------------------------------------------------------------

    def table(self, paddr: int) -> tuple[int, ...] | None:
        """The 512 entries of the table at ``paddr``, or None if it was not captured."""
        entries = self._unpacked.get(paddr)
        if entries is None:
            data = self.tables.get(paddr)
            if data is None:
                return None
            entries = self._unpacked[paddr] = _ENTRIES.unpack(data)
        return entries

    def children(self, table: int, level: int, base: int = 0) -> Iterator[Entry]:
        """The present entries of one table (``base``: the first address it covers)."""
        entries = self.table(table)
        if entries is None:
            return
        shift = LEVEL_SHIFT[level]
        for index, raw in enumerate(entries):
            if raw & PTE_PRESENT:
                yield Entry(level, index, table, canonical(base | (index << shift)), raw)

    def entries(self, kernel: bool = False) -> Iterator[Entry]:
        """Every present entry, depth first (the order of the text tree); the kernel
        half (PML4 entries 256..511) only with ``kernel``."""

        def visit(table: int, level: int, base: int) -> Iterator[Entry]:
            for entry in self.children(table, level, base):
                if level == 4 and entry.index >= 256 and not kernel:
                    return
                yield entry
                if not entry.leaf and level > 1:
                    yield from visit(entry.paddr, level - 1, entry.vaddr & ((1 << 48) - 1))

        yield from visit(self.root, 4, 0)

    def pages(self) -> dict[int, Entry]:
        """{virtual address: leaf entry} for every user-half mapping."""
        if self._pages is None:
            self._pages = {e.vaddr: e for e in self.entries() if e.leaf}
        return self._pages

    def page(self, vaddr: int) -> Entry | None:
        """The leaf entry mapping ``vaddr`` (a 4 KiB page; huge pages by their start)."""
        return self.pages().get(vaddr & ~(PAGE_SIZE - 1))

    @property
    def mapped_pages(self) -> int:
        return len(self.pages())

    def user_tables(self) -> list[int]:
        """Physical addresses of the tables of the user half (the root included):
        the tables this address space owns."""
        found = [self.root]
        for entry in self.entries():
            if not entry.leaf and entry.paddr in self.tables:
                found.append(entry.paddr)
        return found

    def kernel_entries(self) -> list[Entry]:
        return [e for e in self.children(self.root, 4) if e.index >= 256]

    def frame(self, paddr: int) -> FrameInfo | None:
        return self.frames.get(paddr)

    def shared(self, entry: Entry) -> int:
        """How many times the frame behind a leaf is mapped (all spaces); 0 if unknown."""
        info = self.frames.get(entry.paddr)
        return info.maps if info is not None else 0

    def area_at(self, vaddr: int) -> AreaInfo | None:
        for area in self.areas or ():
            if vaddr in area:
                return area
        return None

    # --- renderings ----------------------------------------------------------------------------

    def summary(self) -> str:
        return (
            f"{self.label}: page table {self.root:#x}, {len(self.user_tables())} tables, "
            f"{self.mapped_pages} mapped pages"
        )

    def tree(self, kernel: bool = False, compress: bool = False) -> str:
        """The tables as text, one line per present entry, indented by level (xv6's
        ``vmprint``). The kernel half is one line unless ``kernel``; ``compress`` folds
        runs of three or more leaves with the same flags into one line."""
        lines = [f"page table {self.root:#x} ({self.label})"]

        def visit(table: int, level: int, base: int, depth: int) -> None:
            dots = " .." * depth
            children = list(self.children(table, level, base))
            if level == 4 and not kernel:
                upper = [e for e in children if e.index >= 256]
                children = [e for e in children if e.index < 256]
            i = 0
            while i < len(children):
                entry = children[i]
                if entry.leaf and compress:
                    j = i
                    while (
                        j + 1 < len(children)
                        and children[j + 1].leaf
                        and children[j + 1].index == children[j].index + 1
                        and children[j + 1].flag_bits == entry.flag_bits
                    ):
                        j += 1
                    if j - i >= 2:
                        run = children[i : j + 1]
                        lines.append(
                            f"{dots}{entry.index}-{run[-1].index}: {len(run)} ptes "
                            f"{format_flags(entry.raw, level)} va {entry.vaddr:#x}-"
                            f"{run[-1].vaddr + run[-1].size - 1:#x} {_pa_range(run)}"
                        )
                        i = j + 1
                        continue
                flags = format_flags(entry.raw, level)
                line = f"{dots}{entry.index}: pte {entry.raw:#018x} pa {entry.paddr:#x} {flags}"
                if entry.leaf:
                    line += f" va {entry.vaddr:#x}"
                    if entry.size > PAGE_SIZE:
                        line += f" ({size_name(entry.size)} page)"
                lines.append(line)
                if not entry.leaf:
                    if entry.paddr in self.tables:
                        visit(entry.paddr, level - 1, entry.vaddr & ((1 << 48) - 1), depth + 1)
                    else:
                        lines.append(f"{dots} ..(table {entry.paddr:#x} beyond RAM: not read)")
                i += 1
            if level == 4 and not kernel:
                lines.append(
                    f"{dots}256-511: kernel half, shared by every address space "
                    f"({len(upper)} present entries, collapsed)"
                )

        visit(self.root, 4, 0, 1)
        return "\n".join(lines)

    def walk(self, vaddr: int) -> AddressWalk:
        """Translate ``vaddr`` level by level, as the CPU's page walker does."""
        return AddressWalk.of(self, vaddr)

    def maps(self) -> Any:
        """The address-space map (VM areas and resident pages): an AddressSpaceMap."""
        from .memory import AddressSpaceMap

        return AddressSpaceMap(self)

    def to_svg(self, kernel: bool = False, **options: Any) -> str:
        """An SVG drawing: tables as boxes, their present entries as rows, runs of leaf
        entries with equal flags folded into one row (see ``viz.draw``)."""
        from .draw import draw_page_tables

        return draw_page_tables(self, kernel=kernel, **options)

    def to_html(self) -> str:
        return (
            f'<div class="asterinas-lab-pagetable"><div>{self.to_svg()}</div>'
            f"<details><summary>text tree ({self.mapped_pages} pages)</summary>"
            f"<pre>{escape(self.tree(compress=True))}</pre></details></div>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        svg = self.to_svg()
        return {"text/plain": self.tree(compress=True), "image/svg+xml": svg, "text/html": self.to_html()}

    def __str__(self) -> str:
        return self.tree()

    def __repr__(self) -> str:
        return f"<PageTableSnapshot {self.summary()}>"


def _pa_range(run: list[Entry]) -> str:
    first, last = run[0].paddr, run[-1].paddr
    if len(run) == 1:
        return f"pa {first:#x}"
    contiguous = all(b.paddr == a.paddr + a.size for a, b in zip(run, run[1:], strict=False))
    if contiguous:
        return f"pa {first:#x}-{last + run[-1].size - 1:#x}"
    return f"pa {min(e.paddr for e in run):#x}..{max(e.paddr for e in run):#x} (scattered)"


# --- the walk of one address ----------------------------------------------------------------------


@dataclass(frozen=True)
class WalkStep:
    """One level of a walk: the table read, the index used, the entry found."""

    level: int
    table: int
    index: int
    raw: int

    @property
    def name(self) -> str:
        return LEVEL_NAMES[self.level]

    @property
    def present(self) -> bool:
        return bool(self.raw & PTE_PRESENT)

    @property
    def leaf(self) -> bool:
        return self.present and is_leaf(self.raw, self.level)

    @property
    def next(self) -> int:
        """The next table, or the page frame for a leaf."""
        return entry_paddr(self.raw, self.level)

    @property
    def flags(self) -> tuple[str, ...]:
        return flag_names(self.raw, self.level)

    @property
    def slot(self) -> int:
        return self.table + self.index * 8


class AddressWalk(TextAndHtml):
    """The walk of one virtual address through a snapshot, level by level.

    ``paddr`` is the physical address found, or None with ``stop`` saying why the
    walk stopped (not canonical: #GP; an entry not present: #PF). ``user_read``,
    ``user_write`` and ``user_execute`` combine the U, W and NX bits of every level,
    as the CPU does (with CR0.WP set, a supervisor write also needs W)."""

    def __init__(
        self,
        snap: PageTableSnapshot,
        vaddr: int,
        steps: list[WalkStep],
        paddr: int | None,
        stop: str | None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.label = snap.label
        self.root = snap.root
        self.vaddr = vaddr
        self.steps = tuple(steps)
        self.paddr = paddr
        self.stop = stop
        self.page_size = page_size

    @classmethod
    def of(cls, snap: PageTableSnapshot, vaddr: int) -> AddressWalk:
        vaddr &= (1 << 64) - 1
        if canonical(vaddr) != vaddr:
            return cls(snap, vaddr, [], None, "not canonical (bits 63..48 must copy bit 47): #GP")
        steps: list[WalkStep] = []
        table = snap.root
        for level in (4, 3, 2, 1):
            entries = snap.table(table)
            if entries is None:
                return cls(snap, vaddr, steps, None, f"the {LEVEL_NAMES[level]} at {table:#x} is beyond RAM")
            index = (vaddr >> LEVEL_SHIFT[level]) & 511
            step = WalkStep(level, table, index, entries[index])
            steps.append(step)
            if not step.present:
                return cls(snap, vaddr, steps, None, f"{step.name} entry {index} is not present: #PF")
            if step.leaf:
                size = 1 << LEVEL_SHIFT[level]
                return cls(snap, vaddr, steps, step.next | (vaddr & (size - 1)), None, size)
            table = step.next
        raise AssertionError("unreachable: a PT entry is always a leaf")

    @property
    def indices(self) -> dict[str, int]:
        """The virtual address cut into its fields: the index at each level, the offset."""
        fields = {LEVEL_NAMES[level]: (self.vaddr >> LEVEL_SHIFT[level]) & 511 for level in (4, 3, 2, 1)}
        fields["offset"] = self.vaddr & (PAGE_SIZE - 1)
        return fields

    def _all(self, bit: int) -> bool:
        return self.paddr is not None and all(step.raw & bit for step in self.steps)

    @property
    def user_read(self) -> bool:
        return self._all(PTE_USER)

    @property
    def user_write(self) -> bool:
        return self._all(PTE_USER) and self._all(PTE_WRITABLE)

    @property
    def user_execute(self) -> bool:
        return self._all(PTE_USER) and not any(step.raw & PTE_NO_EXECUTE for step in self.steps)

    def _outcome(self) -> str:
        if self.paddr is None:
            return f"the walk stops: {self.stop}"
        yes = {True: "yes", False: "no"}
        return (
            f"physical address {self.paddr:#x} (a {size_name(self.page_size)} page); user mode may "
            f"read: {yes[self.user_read]}, write: {yes[self.user_write]}, "
            f"execute: {yes[self.user_execute]}"
        )

    def text(self) -> str:
        fields = self.indices
        cut = " | ".join(f"{name} {value}" for name, value in fields.items() if name != "offset")
        lines = [
            f"walk of {self.vaddr:#x} in {self.label} (root {self.root:#x})",
            f"  {self.vaddr:#x} = {cut} | offset {fields['offset']:#x}",
        ]
        for step in self.steps:
            where = f"{step.name:<4} [{step.index:3}] at {step.table:#x}+{step.index * 8:#05x}"
            if not step.present:
                lines.append(f"  {where}: pte {step.raw:#018x} not present")
                continue
            target = (
                f"{size_name(1 << LEVEL_SHIFT[step.level])} page at"
                if step.leaf
                else (f"{LEVEL_NAMES[step.level - 1]} at")
            )
            lines.append(
                f"  {where}: pte {step.raw:#018x} {format_flags(step.raw, step.level)} -> {target} {step.next:#x}"
            )
        lines.append("  " + self._outcome())
        return "\n".join(lines)

    def to_html(self) -> str:
        rows = []
        for step in self.steps:
            if step.present:
                nxt = f"page {step.next:#x}" if step.leaf else f"{LEVEL_NAMES[step.level - 1]} {step.next:#x}"
                flags = " ".join(step.flags)
            else:
                nxt, flags = "(not present)", ""
            rows.append(
                f"<tr><td>{step.name}</td><td>{step.table:#x}</td><td style='text-align:right'>"
                f"{step.index}</td><td><code>{step.raw:#018x}</code></td><td>{flags}</td>"
                f"<td>{nxt}</td></tr>"
            )
        colour = "#1b7837" if self.paddr is not None else "#b2182b"
        fields = self.indices
        cut = " | ".join(f"{name} <b>{value}</b>" for name, value in fields.items() if name != "offset")
        return (
            f"<div><b>walk of <code>{self.vaddr:#x}</code></b> in {escape(self.label)} "
            f"(root <code>{self.root:#x}</code>): {cut} | offset <b>{fields['offset']:#x}</b>"
            "<table><thead><tr><th>level</th><th>table</th><th>index</th><th>entry</th><th>flags</th>"
            f"<th>points at</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<div style='color:{colour}'>{escape(self._outcome())}</div>{self.to_svg()}</div>"
        )

    def to_svg(self) -> str:
        """A drawing: the address cut into its fields, the entry read at each level."""
        from .draw import draw_walk

        return draw_walk(self)

    def __repr__(self) -> str:
        found = f"pa {self.paddr:#x}" if self.paddr is not None else self.stop
        return f"<AddressWalk {self.vaddr:#x}: {found}>"


def walk(snap: PageTableSnapshot, vaddr: int) -> AddressWalk:
    return snap.walk(vaddr)


# --- diffs ------------------------------------------------------------------------------------------

ADDED, REMOVED, CHANGED, SHARING = "added", "removed", "changed", "sharing"
_MARKS = {ADDED: "+", REMOVED: "-", CHANGED: "~", SHARING: "="}


@dataclass(frozen=True)
class EntryChange:
    """A leaf entry that differs between two snapshots.

    ``kind`` is ``added``, ``removed``, ``changed`` (another frame or other flags) or
    ``sharing`` (the same entry, but its frame is now mapped a different number of
    times: it became shared, or stopped being shared)."""

    kind: str
    vaddr: int
    before: Entry | None
    after: Entry | None
    maps_before: int = 0
    maps_after: int = 0
    ignore_bits: int = 0  # bits whose changes do not count (the diff's ``ignore_bits``)

    @property
    def new_frame(self) -> bool:
        return self.before is not None and self.after is not None and self.before.paddr != self.after.paddr

    def flag_changes(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(flags gained, flags lost)."""
        if self.before is None or self.after is None:
            return (), ()
        before = flag_names(self.before.raw & ~self.ignore_bits)
        after = flag_names(self.after.raw & ~self.ignore_bits)
        return tuple(f for f in after if f not in before), tuple(f for f in before if f not in after)

    def notes(self) -> list[str]:
        notes = []
        if self.new_frame:
            notes.append("new frame")
        gained, lost = self.flag_changes()
        notes += [f"{flag} added" for flag in gained] + [f"{flag} removed" for flag in lost]
        if self.maps_before != self.maps_after and self.maps_before and self.maps_after and not self.new_frame:
            word = (
                "now shared"
                if self.maps_after > 1 >= self.maps_before
                else ("no longer shared" if self.maps_before > 1 >= self.maps_after else "mapped")
            )
            notes.append(f"{word} (maps {self.maps_before}->{self.maps_after})")
        return notes

    def _group_key(self) -> tuple:
        return (
            self.kind,
            self.before.flag_bits if self.before else None,
            self.after.flag_bits if self.after else None,
            self.new_frame,
            self.maps_before,
            self.maps_after,
        )


def diff(
    before: PageTableSnapshot, after: PageTableSnapshot, ignore_bits: int = PTE_ACCESSED | PTE_DIRTY
) -> PageTableDiff:
    """What changed from ``before`` to ``after``: two snapshots of one address space
    (e.g. before and after fork, or a copy-on-write fault), or of two spaces (a
    parent and its child). Leaf entries are compared by virtual address; bits in
    ``ignore_bits`` (by default the accessed and dirty bits, which the CPU sets as the
    program runs) do not count as a change."""
    return PageTableDiff(before, after, ignore_bits)


class PageTableDiff(TextAndHtml):
    """The leaf entries that differ between two snapshots, and the tables that came or
    went (when both snapshots are of the same address space)."""

    def __init__(self, before: PageTableSnapshot, after: PageTableSnapshot, ignore_bits: int) -> None:
        self.before = before
        self.after = after
        self.ignore_bits = ignore_bits
        old, new = before.pages(), after.pages()
        changes: list[EntryChange] = []
        for vaddr in sorted(old.keys() | new.keys()):
            a, b = old.get(vaddr), new.get(vaddr)
            maps_a = before.shared(a) if a is not None else 0
            maps_b = after.shared(b) if b is not None else 0
            if a is None:
                changes.append(EntryChange(ADDED, vaddr, None, b, 0, maps_b, ignore_bits))
            elif b is None:
                changes.append(EntryChange(REMOVED, vaddr, a, None, maps_a, 0, ignore_bits))
            elif (a.raw ^ b.raw) & ~ignore_bits:
                changes.append(EntryChange(CHANGED, vaddr, a, b, maps_a, maps_b, ignore_bits))
            elif maps_a != maps_b:
                changes.append(EntryChange(SHARING, vaddr, a, b, maps_a, maps_b, ignore_bits))
        self.changes = changes
        self.same_space = before.space == after.space and before.root == after.root
        if self.same_space:
            old_tables, new_tables = set(before.user_tables()), set(after.user_tables())
            self.tables_added = sorted(new_tables - old_tables)
            self.tables_removed = sorted(old_tables - new_tables)
        else:
            self.tables_added, self.tables_removed = [], []

    def of_kind(self, kind: str) -> list[EntryChange]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def added(self) -> list[EntryChange]:
        return self.of_kind(ADDED)

    @property
    def removed(self) -> list[EntryChange]:
        return self.of_kind(REMOVED)

    @property
    def changed(self) -> list[EntryChange]:
        return self.of_kind(CHANGED)

    @property
    def sharing(self) -> list[EntryChange]:
        return self.of_kind(SHARING)

    def __bool__(self) -> bool:
        return bool(self.changes or self.tables_added or self.tables_removed)

    def __len__(self) -> int:
        return len(self.changes)

    def groups(self) -> list[list[EntryChange]]:
        """Changes grouped into runs of consecutive pages that changed the same way."""
        groups: list[list[EntryChange]] = []
        for change in self.changes:
            if groups:
                last = groups[-1][-1]
                if last._group_key() == change._group_key() and change.vaddr == last.vaddr + PAGE_SIZE:
                    groups[-1].append(change)
                    continue
            groups.append([change])
        return groups

    def summary(self) -> str:
        text = (
            f"{len(self.changed)} entries changed, {len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.sharing)} unchanged but shared differently"
        )
        if self.same_space:
            text += f"; tables: {len(self.tables_added)} added, {len(self.tables_removed)} removed"
        else:
            text += f" (two address spaces: roots {self.before.root:#x} and {self.after.root:#x})"
        return text

    def _describe(self, group: list[EntryChange]) -> tuple[str, str, str]:
        """(mark, virtual range, what) for a run of changes."""
        first, last = group[0], group[-1]
        pages = f"{len(group)} page" + ("s" if len(group) > 1 else "")
        where = f"{first.vaddr:#014x}" + (f"-{last.vaddr + PAGE_SIZE - 1:#014x}" if len(group) > 1 else "")
        before = [c.before for c in group if c.before is not None]
        after = [c.after for c in group if c.after is not None]
        if first.kind == ADDED:
            what = f"{format_flags(first.after.raw)} {_pa_range(after)}"
        elif first.kind == REMOVED:
            what = f"{format_flags(first.before.raw)} {_pa_range(before)}"
        else:
            flags = format_flags(first.before.raw)
            if (first.after.raw ^ first.before.raw) & _FLAG_MASK & ~self.ignore_bits:
                flags += f" -> {format_flags(first.after.raw)}"
            what = flags
            if first.new_frame:
                what += f" {_pa_range(before)} -> {_pa_range(after)[3:]}"
            else:
                what += f" {_pa_range(after)}"
        notes = "; ".join(first.notes())
        return _MARKS[first.kind], f"{where} ({pages})", what + (f"  {notes}" if notes else "")

    def text(self, verbose: bool = False) -> str:
        """The diff as text: one line per run of pages that changed the same way
        (one line per page with ``verbose``)."""
        lines = [f"diff {self.before.label!r} -> {self.after.label!r}: {self.summary()}"]
        groups = [[c] for c in self.changes] if verbose else self.groups()
        for group in groups:
            mark, where, what = self._describe(group)
            lines.append(f"{mark} {where} {what}")
        for paddr in self.tables_added:
            lines.append(f"+ table {paddr:#x}")
        for paddr in self.tables_removed:
            lines.append(f"- table {paddr:#x}")
        return "\n".join(lines)

    def highlight(self) -> dict[int, str]:
        """{vaddr: kind} of the ``after`` side, for drawings."""
        return {c.vaddr: c.kind for c in self.changes if c.after is not None}

    def to_svg(self, **options: Any) -> str:
        """The ``after`` tables, changed runs highlighted; removed entries listed below."""
        from .draw import draw_page_tables

        removed = [self._describe(g)[1] for g in self.groups() if g[0].kind == REMOVED]
        title = f"{self.before.label} -> {self.after.label}: {self.summary()}"
        return draw_page_tables(self.after, highlight=self.highlight(), removed=removed, title=title, **options)

    def to_html(self) -> str:
        from .draw import DIFF_COLOURS

        rows = []
        for group in self.groups():
            mark, where, what = self._describe(group)
            colour = DIFF_COLOURS[group[0].kind]
            rows.append(
                f"<tr style='background:{colour}'><td><b>{escape(mark)}</b></td>"
                f"<td><code>{escape(where)}</code></td><td><code>{escape(what)}</code></td></tr>"
            )
        for paddr in self.tables_added:
            rows.append(f"<tr><td><b>+</b></td><td>table <code>{paddr:#x}</code></td><td></td></tr>")
        for paddr in self.tables_removed:
            rows.append(f"<tr><td><b>-</b></td><td>table <code>{paddr:#x}</code></td><td></td></tr>")
        return (
            f"<div class='asterinas-lab-diff'><b>{escape(self.before.label)} &#8594; "
            f"{escape(self.after.label)}</b>: {escape(self.summary())}"
            f"<table><tbody>{''.join(rows)}</tbody></table>"
            f"<details open><summary>drawing</summary>{self.to_svg()}</details></div>"
        )

    def __repr__(self) -> str:
        return f"<PageTableDiff {self.before.label!r} -> {self.after.label!r}: {self.summary()}>"


def snapshots_of(targets: Iterable[Any]) -> list[PageTableSnapshot]:
    """Snapshots of several processes or spaces at once."""
    return [snapshot(t) for t in targets]
