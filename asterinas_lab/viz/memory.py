"""Memory pictures: a process's address-space map and the machine's physical frames.

* :class:`AddressSpaceMap` (``address_space_map(process)``): the VM areas, like
  ``/proc/PID/maps`` (start-end, permissions rwxp/s, offset, name), with the pages of
  each area that are resident (mapped in the page table now) and how many of those are
  shared with another mapping. Text and HTML.
* :class:`FrameCensus` (``frame_census(kernel)``): who owns each physical frame: free,
  reserved (machine set-up, the shared kernel tables), kernel object, page table,
  untyped but unmapped (held by the kernel: page cache, buffers), or the process whose
  address space maps it; frames mapped by more than one address space are *shared*.
  :func:`frame_map` draws it with matplotlib (imported only then): one cell per frame.

Both are taken from a live machine and stay usable after it is gone. They read OSTD's
internals and change nothing.
"""

from __future__ import annotations

import base64
import bisect
import io
import math
from dataclasses import dataclass
from html import escape
from typing import Any

from ..ostd import platform as ostd_platform
from ..ostd.mm.frame import FREE, KERNEL, PAGE_TABLE, RESERVED, UNTYPED
from ..ostd.mm.page_table import PTE_WRITABLE
from .figures import TextAndHtml, notebook_figure_class
from .pagetable import PAGE_SIZE, AreaInfo, PageTableSnapshot, snapshot

# --- the address-space map ------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaRow:
    """One line of the map: a VM area (None: pages mapped outside every area) and its
    resident pages."""

    area: AreaInfo | None
    start: int
    end: int
    resident: int  # pages mapped now
    writable: int  # of those, mapped writable
    shared: int  # of those, whose frame is mapped more than once (any address space)

    @property
    def pages(self) -> int:
        return (self.end - self.start) // PAGE_SIZE

    @property
    def perms(self) -> str:
        return self.area.perms if self.area is not None else "????"

    @property
    def name(self) -> str:
        if self.area is None:
            return "(mapped outside any area)"
        return self.area.name


def address_space_map(target: Any) -> AddressSpaceMap:
    """The map of a Process (or ProcessVm), or of a snapshot already taken."""
    snap = target if isinstance(target, PageTableSnapshot) else snapshot(target)
    return AddressSpaceMap(snap)


class AddressSpaceMap(TextAndHtml):
    """VM areas with their resident pages, from a :class:`PageTableSnapshot`."""

    def __init__(self, snap: PageTableSnapshot) -> None:
        self.snapshot = snap
        self.label = snap.label
        pages = snap.pages()
        vaddrs = sorted(pages)
        rows: list[AreaRow] = []
        covered = 0
        for area in snap.areas or ():
            lo, hi = bisect.bisect_left(vaddrs, area.start), bisect.bisect_left(vaddrs, area.end)
            inside = [pages[v] for v in vaddrs[lo:hi]]
            covered += len(inside)
            rows.append(
                AreaRow(
                    area,
                    area.start,
                    area.end,
                    len(inside),
                    sum(1 for e in inside if e.raw & PTE_WRITABLE),
                    sum(1 for e in inside if snap.shared(e) > 1),
                )
            )
        if covered < len(vaddrs):
            # Pages no area accounts for (a bare VmSpace has no areas; a process should
            # have none): one row per run of consecutive pages.
            areas = snap.areas or ()
            stray = [v for v in vaddrs if not any(v in a for a in areas)]
            run: list[int] = []
            for vaddr in stray + [None]:
                if run and (vaddr is None or vaddr != run[-1] + PAGE_SIZE):
                    inside = [pages[v] for v in run]
                    rows.append(
                        AreaRow(
                            None,
                            run[0],
                            run[-1] + PAGE_SIZE,
                            len(run),
                            sum(1 for e in inside if e.raw & PTE_WRITABLE),
                            sum(1 for e in inside if snap.shared(e) > 1),
                        )
                    )
                    run = []
                if vaddr is not None:
                    run.append(vaddr)
            rows.sort(key=lambda r: r.start)
        self.rows = rows

    @property
    def resident(self) -> int:
        return sum(r.resident for r in self.rows)

    @property
    def size_pages(self) -> int:
        return sum(r.pages for r in self.rows if r.area is not None)

    def summary(self) -> str:
        areas = sum(1 for r in self.rows if r.area is not None)
        return (
            f"{self.label}: {areas} areas, {self.resident} of {self.size_pages} pages resident "
            f"({self.resident * 4} KiB)"
        )

    def text(self) -> str:
        """Like ``/proc/PID/maps``, with resident and shared pages per area."""
        lines = [self.summary(), f"{'start-end':<25} perms {'offset':<8} {'resident':>13} {'shared':>6}  name"]
        for row in self.rows:
            offset = row.area.offset if row.area is not None else 0
            lines.append(
                f"{row.start:012x}-{row.end:012x} {row.perms} {offset:08x} "
                f"{row.resident:>6}/{row.pages:<6} {row.shared:>6}  {row.name}".rstrip()
            )
        return "\n".join(lines)

    def to_html(self) -> str:
        body = []
        for row in self.rows:
            offset = row.area.offset if row.area is not None else 0
            fraction = row.resident / row.pages if row.pages else 0.0
            bar = (
                f"<div style='width:120px;height:10px;background:#eee;display:inline-block;vertical-align:middle'>"
                f"<div style='width:{120 * fraction:.0f}px;height:10px;background:#4e79a7'></div></div>"
            )
            body.append(
                f"<tr><td><code>{row.start:012x}-{row.end:012x}</code></td><td><code>{row.perms}</code></td>"
                f"<td><code>{offset:08x}</code></td><td>{bar} {row.resident}/{row.pages}</td>"
                f"<td style='text-align:right'>{row.shared}</td><td>{escape(row.name)}</td></tr>"
            )
        return (
            f"<div class='asterinas-lab-maps'><b>{escape(self.summary())}</b><table><thead><tr>"
            "<th>start-end</th><th>perms</th><th>offset</th><th>resident pages</th><th>shared</th>"
            f"<th>name</th></tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        )

    def __repr__(self) -> str:
        return f"<AddressSpaceMap {self.summary()}>"


# --- the physical frame census ---------------------------------------------------------------------

FREE_LABEL = "free"
RESERVED_LABEL = "reserved"
KERNEL_LABEL = "kernel object"
PAGE_TABLE_LABEL = "page table"
UNMAPPED_LABEL = "untyped, not mapped"
CATEGORY_LABELS = (FREE_LABEL, RESERVED_LABEL, KERNEL_LABEL, PAGE_TABLE_LABEL, UNMAPPED_LABEL)
#: Cell colours of the frame map, by category; processes take PROCESS_COLOURS in turn.
FRAME_COLOURS = {
    FREE_LABEL: "#eeeeee",
    RESERVED_LABEL: "#555555",
    KERNEL_LABEL: "#9e7bb5",
    PAGE_TABLE_LABEL: "#1d4e89",
    UNMAPPED_LABEL: "#cdb891",
}
PROCESS_COLOURS = (
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
    "#4e79a7",
    "#b6992d",
    "#86bcb6",
)


def frame_census(kernel: Any = None) -> FrameCensus:
    """Who owns each physical frame of the running machine, now. With ``kernel`` (an
    ``asterinas_lab.kernel.main.Kernel``) user frames are named by process; without
    it, by address space."""
    p = ostd_platform.current
    if p is None:
        raise RuntimeError("no machine is running: take the census while it runs (e.g. in an exit observer)")
    frames = p.frames
    by_space: dict[int, Any] = {}
    if kernel is not None:
        for process in sorted(kernel.processes.values(), key=lambda q: q.pid):
            if process.zombie or process.vm is None:
                continue
            by_space.setdefault(id(process.vm.vm_space), process)
    spaces = sorted(
        p.vm_spaces, key=lambda s: (by_space[id(s)].pid if id(s) in by_space else 1 << 30, s.root_paddr)
    )
    snaps = [snapshot(by_space.get(id(space), space)) for space in spaces]
    return FrameCensus(bytes(frames.kind), list(frames.maps), snaps)


class FrameCensus:
    """The owner of every frame (see the module's doc), as plain data."""

    def __init__(self, kinds: bytes, maps: list[int], snapshots: list[PageTableSnapshot]) -> None:
        self.nframes = len(kinds)
        self.kinds = kinds
        self.maps = maps
        self.snapshots = snapshots
        self.owner_labels: list[str] = list(CATEGORY_LABELS)
        owner = []
        for kind in kinds:
            owner.append({FREE: 0, RESERVED: 1, KERNEL: 2, PAGE_TABLE: 3, UNTYPED: 4}.get(kind, 1))
        self.users: dict[int, set[int]] = {}  # frame number -> snapshot numbers mapping it
        self.table_of: dict[int, int] = {}  # page-table frame number -> snapshot number
        for number, snap in enumerate(snapshots):
            self.owner_labels.append(snap.label)
            for table in snap.user_tables():
                self.table_of[table // PAGE_SIZE] = number
            for entry in snap.pages().values():
                self.users.setdefault(entry.paddr // PAGE_SIZE, set()).add(number)
        for n, users in self.users.items():
            if n < self.nframes and kinds[n] == UNTYPED:
                owner[n] = len(CATEGORY_LABELS) + min(users)
        self.owner = owner
        #: Frames mapped by more than one address space.
        self.shared = sorted(n for n, users in self.users.items() if len(users) > 1 and n < self.nframes)

    def label(self, n: int) -> str:
        return self.owner_labels[self.owner[n]]

    def counts(self) -> dict[str, int]:
        """{owner label: frames}, in legend order, without empty entries."""
        tally = [0] * len(self.owner_labels)
        for o in self.owner:
            tally[o] += 1
        return {label: count for label, count in zip(self.owner_labels, tally, strict=True) if count}

    def colour_of(self, owner: int) -> str:
        if owner < len(CATEGORY_LABELS):
            return FRAME_COLOURS[CATEGORY_LABELS[owner]]
        return PROCESS_COLOURS[(owner - len(CATEGORY_LABELS)) % len(PROCESS_COLOURS)]

    @property
    def in_use(self) -> int:
        return sum(1 for k in self.kinds if k != FREE)

    def summary(self) -> str:
        return (
            f"{self.nframes} frames ({self.nframes * PAGE_SIZE >> 20} MiB): {self.in_use} in use, "
            f"{len(self.snapshots)} address spaces, {len(self.shared)} frames shared between spaces"
        )

    def text(self) -> str:
        lines = [self.summary()]
        lines += [f"  {count:>7}  {label}" for label, count in self.counts().items()]
        return "\n".join(lines)

    def figure(self, **options: Any) -> Any:
        return frame_map(self, **options)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        bundle = {"text/plain": self.text()}
        try:
            figure = self.figure()
        except ImportError:  # no matplotlib: text only
            return bundle
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        bundle["image/png"] = base64.b64encode(buffer.getvalue()).decode()
        return bundle

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<FrameCensus {self.summary()}>"


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def frame_map(
    source: FrameCensus | None = None,
    *,
    kernel: Any = None,
    columns: int | None = None,
    trim: bool = True,
    title: str | None = None,
) -> Any:
    """A matplotlib Figure with one cell per physical frame, coloured by owner; frames
    shared between address spaces carry a white dot. ``source`` is a census taken
    earlier (default: take one now, naming processes with ``kernel``). ``trim`` stops
    after the last frame in use (the allocator hands out low frames first)."""
    from matplotlib.patches import Patch

    census = source if source is not None else frame_census(kernel)
    shown = census.nframes
    if trim:
        used = [n for n, kind in enumerate(census.kinds) if kind != FREE]
        shown = min(census.nframes, (used[-1] + 1) if used else 1)
    if columns is None:
        # A power of two near the square root: a squarish grid whose rows start at
        # round physical addresses.
        columns = min(256, max(16, 1 << round(math.log2(math.sqrt(shown)))))
    rows = (shown + columns - 1) // columns
    shown_rows = max(rows, 1)
    image = [[(1.0, 1.0, 1.0, 0.0)] * columns for _ in range(shown_rows)]
    palette = [(*_rgb(census.colour_of(o)), 1.0) for o in range(len(census.owner_labels))]
    for n in range(shown):
        image[n // columns][n % columns] = palette[census.owner[n]]

    width = 10.0
    grid = 6.0  # inches of the figure's width for the grid; the legend takes the rest
    height = min(16.0, max(2.5, grid * shown_rows / columns + 1.4))
    figure = notebook_figure_class()(figsize=(width, height))  # draws itself as a PNG in a notebook
    ax = figure.add_subplot(1, 1, 1)
    ax.imshow(image, interpolation="nearest", aspect="equal", extent=(0, columns, shown_rows, 0))
    shared = [n for n in census.shared if n < shown]
    if shared:
        ax.scatter(
            [n % columns + 0.5 for n in shared],
            [n // columns + 0.5 for n in shared],
            s=max(1.0, 260.0 / columns),
            c="white",
            edgecolors="black",
            linewidths=0.3,
            marker="o",
        )
    if columns * shown_rows <= 64 * 64:
        ax.set_xticks(range(columns + 1), minor=True)
        ax.set_yticks(range(shown_rows + 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.4)
        ax.tick_params(which="minor", length=0)
    step = max(1, shown_rows // 12)
    ax.set_yticks([r + 0.5 for r in range(0, shown_rows, step)])
    ax.set_yticklabels([f"{r * columns * PAGE_SIZE:#x}" for r in range(0, shown_rows, step)], fontsize=7)
    ax.set_xticks([c + 0.5 for c in range(0, columns, max(1, columns // 8))])
    ax.set_xticklabels([f"+{c}" for c in range(0, columns, max(1, columns // 8))], fontsize=7)
    ax.set_xlim(0, columns)
    ax.set_ylim(shown_rows, 0)
    ax.set_ylabel("physical address of the row")
    ax.set_xlabel(f"frame within the row ({columns} frames of 4 KiB per row)")
    handles = []
    owners_shown = 0
    for owner, label in enumerate(census.owner_labels):
        count = sum(1 for n in range(shown) if census.owner[n] == owner)
        if not count:
            continue
        if owner >= len(CATEGORY_LABELS):
            owners_shown += 1
            if owners_shown > 14:
                continue
        handles.append(Patch(facecolor=census.colour_of(owner), edgecolor="#999", label=f"{label} ({count})"))
    hidden = owners_shown - 14
    if hidden > 0:
        handles.append(Patch(facecolor="white", edgecolor="white", label=f"... {hidden} more address spaces"))
    if shared:
        handles.append(
            ax.scatter(
                [],
                [],
                s=20,
                c="white",
                edgecolors="black",
                linewidths=0.5,
                label=f"shared between spaces ({len(shared)})",
            )
        )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    heading = title or f"physical frames 0x0-{shown * PAGE_SIZE - 1:#x}: {census.summary()}"
    ax.set_title(heading, fontsize=9)
    figure.tight_layout()
    return figure
