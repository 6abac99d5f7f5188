"""SVG drawings of page tables, written by hand (no dependency).

Each table is a box in the column of its level (PML4, PDPT, PD, PT, left to right);
each present entry is a row with its flags as badges, and each link to a lower table
is a curve to that table's box. Runs of leaf entries with equal flags (and the same VM
area, sharing and highlight) are folded into one row, so a process with a few hundred
pages still fits on a screen: ``[16-31] 0x1010000 x16 0x1234000+`` is 16 pages whose
frames are contiguous from 0x1234000 (``*`` marks scattered frames). Hover a row for
the details.

The SVG uses presentation attributes only (no ``<style>``, no ids), so several
drawings can sit in one HTML page (a notebook, its nbconvert export) without
interfering.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from .pagetable import (
    FLAG_MEANINGS,
    LEVEL_NAMES,
    LEVEL_SHIFT,
    PTE_ACCESSED,
    PTE_DIRTY,
    PTE_HUGE,
    PTE_NO_EXECUTE,
    PTE_PRESENT,
    PTE_USER,
    PTE_WRITABLE,
    Entry,
    format_flags,
    size_name,
)

if TYPE_CHECKING:
    from .pagetable import AddressWalk, AreaInfo, PageTableSnapshot

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
CHAR_W = 7.0  # width of one character at 11px in a monospace font (6.6), with a margin
ROW_H = 17
HEAD_H = 20
GAP_X = 44
GAP_Y = 10
MARGIN = 12
BADGE_W = 16

LEVEL_COLOURS = {4: "#3b528b", 3: "#21918c", 2: "#35b779", 1: "#90a959"}
BADGES: tuple[tuple[str, int, str], ...] = (
    ("P", PTE_PRESENT, "#4daf4a"),
    ("W", PTE_WRITABLE, "#e41a1c"),
    ("U", PTE_USER, "#377eb8"),
    ("NX", PTE_NO_EXECUTE, "#984ea3"),
    ("A", PTE_ACCESSED, "#ff7f00"),
    ("D", PTE_DIRTY, "#a65628"),
)
HUGE_BADGE = ("PS", PTE_HUGE, "#222222")
#: Row backgrounds of a diff drawing, by kind of change.
DIFF_COLOURS = {"changed": "#fee08b", "added": "#c7e9c0", "removed": "#fcbba1", "sharing": "#c6dbef"}
AREA_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
SHARED_COLOUR = "#d6604d"


@dataclass
class _Row:
    label: str
    raw: int = 0  # flags to show as badges (0: none)
    level: int = 1
    child: int | None = None  # physical address of the table this row links to
    tip: str = ""
    fill: str | None = None
    strip: str | None = None  # colour of the VM area
    shared: int = 0  # highest mapping count of the frames (>1: shared)
    grey: bool = False
    base: int = 0  # first virtual address (48 bits) covered by the linked table


@dataclass
class _Box:
    level: int
    paddr: int
    base: int
    rows: list[_Row] = field(default_factory=list)
    x: float = 0
    y: float = 0
    title: str = ""

    @property
    def height(self) -> float:
        return HEAD_H + ROW_H * max(1, len(self.rows)) + 4


def _area_colours(snap: PageTableSnapshot) -> dict[AreaInfo, str]:
    return {area: AREA_COLOURS[i % len(AREA_COLOURS)] for i, area in enumerate(snap.areas or ())}


def _badges(level: int) -> tuple[tuple[str, int, str], ...]:
    return BADGES + ((HUGE_BADGE,) if level in (2, 3) else ())


def _rows(
    snap: PageTableSnapshot,
    level: int,
    table: int,
    base: int,
    kernel: bool,
    highlight: dict[int, str],
    colours: dict,
) -> list[_Row]:
    children = list(snap.children(table, level, base))
    rows: list[_Row | None] = []
    runs: list[list[Entry]] = []
    upper = [e for e in children if level == 4 and e.index >= 256]
    if not kernel:
        children = [e for e in children if not (level == 4 and e.index >= 256)]
    i = 0
    while i < len(children):
        entry = children[i]
        if not entry.leaf:
            tip = (
                f"{LEVEL_NAMES[level]}[{entry.index}] pte {entry.raw:#018x} {format_flags(entry.raw, level)} "
                f"-> {LEVEL_NAMES[level - 1]} at {entry.paddr:#x}, covers {entry.vaddr:#x}+{size_name(entry.size)}"
            )
            rows.append(
                _Row(
                    f"[{entry.index:3}]",
                    entry.raw,
                    level,
                    entry.paddr,
                    tip,
                    grey=level == 4 and entry.index >= 256,
                    base=entry.vaddr & ((1 << 48) - 1),
                )
            )
            i += 1
            continue

        def key(e: Entry) -> tuple:
            return (e.flag_bits, snap.area_at(e.vaddr), highlight.get(e.vaddr), snap.shared(e) > 1)

        j = i
        while (
            j + 1 < len(children)
            and children[j + 1].leaf
            and children[j + 1].index == children[j].index + 1
            and key(children[j + 1]) == key(entry)
        ):
            j += 1
        runs.append(children[i : j + 1])
        rows.append(None)  # filled below, once the widest index is known
        i = j + 1
    widths = (
        max([len(f"{r[0].index}-{r[-1].index}" if len(r) > 1 else str(r[0].index)) for r in runs], default=1),
        max([len(f"{r[0].vaddr:#x}") for r in runs], default=1),
    )
    filled = iter(runs)
    rows = [
        row
        if row is not None
        else _leaf_row(snap, level, (run := next(filled)), highlight.get(run[0].vaddr), colours, widths)
        for row in rows
    ]
    if upper and not kernel:
        tip = (
            "PML4 entries 256-511: the kernel half, the same entries in every address space "
            f"({', '.join(str(e.index) for e in upper)} present; supervisor-only)"
        )
        rows.append(_Row(f"[256+] kernel ({len(upper)})", 0, level, None, tip, grey=True))
    return rows


def _leaf_row(
    snap: PageTableSnapshot, level: int, run: list[Entry], mark: str | None, colours: dict, widths: tuple[int, int]
) -> _Row:
    first, last = run[0], run[-1]
    index = f"{first.index}" if len(run) == 1 else f"{first.index}-{last.index}"
    contiguous = all(b.paddr == a.paddr + a.size for a, b in zip(run, run[1:], strict=False))
    pa = f"{first.paddr:#x}" + ("" if len(run) == 1 else "+" if contiguous else "*")
    count = f"x{len(run)}"
    label = f"[{index:>{widths[0]}}] {first.vaddr:>#{widths[1]}x} {count:<4} {pa}"
    area = snap.area_at(first.vaddr)
    shared = max(snap.shared(e) for e in run)
    size = size_name(first.size)
    frames = (
        f"frames {first.paddr:#x}-{last.paddr + last.size - 1:#x}"
        if contiguous
        else f"frames between {min(e.paddr for e in run):#x} and {max(e.paddr for e in run):#x} (scattered)"
    )
    tip = (
        f"{LEVEL_NAMES[level]}[{index}]: {len(run)} x {size} page(s) at {first.vaddr:#x}-"
        f"{last.vaddr + last.size - 1:#x}, {frames}, {format_flags(first.raw, level)}"
    )
    if area is not None:
        tip += f"; area {area.start:#x}-{area.end:#x} {area.perms} {area.name}"
    if shared > 1:
        tip += f"; frames mapped up to {shared} times (shared)"
    if mark:
        tip += f"; {mark}"
    return _Row(
        label,
        first.raw,
        level,
        None,
        tip,
        DIFF_COLOURS.get(mark or ""),
        colours.get(area) if area is not None else None,
        shared,
    )


def _layout(
    snap: PageTableSnapshot, kernel: bool, highlight: dict[int, str], colours: dict
) -> tuple[list[_Box], list[tuple[_Box, int, _Box]]]:
    boxes: list[_Box] = []
    links: list[tuple[_Box, int, _Box]] = []  # (parent box, row number, child box)
    seen: set[int] = set()

    def place(level: int, table: int, base: int, y: float) -> float:
        box = _Box(level, table, base, y=y)
        seen.add(table)
        box.rows = _rows(snap, level, table, base, kernel, highlight, colours)
        box.title = f"{LEVEL_NAMES[level]} {table:#x}" + (" (root)" if level == 4 else "")
        boxes.append(box)
        bottom = y + box.height
        child_y = y
        for number, row in enumerate(box.rows):
            if row.child is None:
                continue
            if row.child in seen or snap.table(row.child) is None:
                row.tip += " (table not drawn: beyond RAM or reached twice)"
                row.child = None
                continue
            row_y = y + HEAD_H + number * ROW_H
            child_y = max(child_y, row_y)
            child_bottom = place(level - 1, row.child, row.base, child_y)
            links.append((box, number, _find(boxes, row.child)))
            child_y = child_bottom + GAP_Y
            bottom = max(bottom, child_bottom)
        return bottom

    place(4, snap.root, 0, 0)
    return boxes, links


def _find(boxes: list[_Box], paddr: int) -> _Box:
    return next(b for b in boxes if b.paddr == paddr)


def draw_page_tables(
    snap: PageTableSnapshot,
    kernel: bool = False,
    highlight: dict[int, str] | None = None,
    removed: Sequence[str] = (),
    title: str | None = None,
) -> str:
    """The SVG drawing of a snapshot. ``highlight`` colours leaf rows by kind of change
    ({vaddr: "changed" | "added" | "sharing"}); ``removed`` lists entries gone since
    (a diff's text), shown below the tables."""
    highlight = highlight or {}
    colours = _area_colours(snap)
    boxes, links = _layout(snap, kernel, highlight, colours)
    widths: dict[int, float] = {}
    for box in boxes:
        badges = len(_badges(box.level)) * BADGE_W + 12
        text = max(
            [len(box.title) * CHAR_W]
            + [len(r.label) * CHAR_W + (badges if r.raw else 0) + (28 if r.shared > 1 else 0) for r in box.rows]
        )
        widths[box.level] = max(widths.get(box.level, 0), text + 20)
    xs: dict[int, float] = {}
    x = MARGIN
    for level in (4, 3, 2, 1):
        if level in widths:
            xs[level] = x
            x += widths[level] + GAP_X
    width = x - GAP_X + MARGIN
    top = MARGIN + 24
    out: list[str] = []
    add = out.append
    for box in boxes:
        box.x = xs[box.level]
        box.y += top
    height = max(b.y + b.height for b in boxes) + MARGIN

    # The links first, so boxes cover their ends.
    for parent, number, child in links:
        x1 = parent.x + widths[parent.level]
        y1 = parent.y + HEAD_H + number * ROW_H + ROW_H / 2
        x2, y2 = child.x, child.y + HEAD_H / 2
        dx = (x2 - x1) / 2
        add(
            f'<path d="M{x1:.1f},{y1:.1f} C{x1 + dx:.1f},{y1:.1f} {x2 - dx:.1f},{y2:.1f} {x2 - 5:.1f},{y2:.1f}" '
            'fill="none" stroke="#777" stroke-width="1.2"/>'
        )
        add(
            f'<polygon points="{x2:.1f},{y2:.1f} {x2 - 6:.1f},{y2 - 3.5:.1f} {x2 - 6:.1f},{y2 + 3.5:.1f}" '
            'fill="#777"/>'
        )
    for box in boxes:
        add(_box_svg(box, widths[box.level]))

    legend_y = height
    legend, legend_height = _legend(snap, colours, highlight, removed, MARGIN, legend_y, width)
    out.append(legend)
    height = legend_y + legend_height + MARGIN
    heading = title if title is not None else snap.summary()
    head_lines = textwrap.wrap(heading, max(40, int((width - 2 * MARGIN) / 8.0)))
    extra = (len(head_lines) - 1) * 17
    head = "".join(
        f'<text x="{MARGIN}" y="{MARGIN + 12 + k * 17}" font-family="{FONT}" font-size="13" '
        f'font-weight="bold" fill="#222">{escape(line)}</text>'
        for k, line in enumerate(head_lines)
    )
    if extra:
        out = [f'<g transform="translate(0,{extra})">'] + out + ["</g>"]
        height += extra
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" style="max-width:100%;height:auto;background:#fff">'
        f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#fff"/>'
        + head
        + "".join(out)
        + "</svg>"
    )


def _box_svg(box: _Box, width: float) -> str:
    parts = [
        f"<g><title>{escape(box.title)}</title>"
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{width:.1f}" height="{box.height:.1f}" rx="3" '
        f'fill="#fbfbfb" stroke="{LEVEL_COLOURS[box.level]}" stroke-width="1.5"/>'
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{width:.1f}" height="{HEAD_H}" rx="3" '
        f'fill="{LEVEL_COLOURS[box.level]}"/>'
        f'<text x="{box.x + 6:.1f}" y="{box.y + 14:.1f}" font-family="{FONT}" font-size="11" '
        f'font-weight="bold" fill="#fff">{escape(box.title)}</text></g>'
    ]
    badges = _badges(box.level)
    if not box.rows:
        parts.append(
            f'<text x="{box.x + 6:.1f}" y="{box.y + HEAD_H + 12:.1f}" font-family="{FONT}" '
            'font-size="11" fill="#999">(empty)</text>'
        )
    for number, row in enumerate(box.rows):
        y = box.y + HEAD_H + number * ROW_H
        g = [f"<g><title>{escape(row.tip)}</title>"]
        if row.fill:
            g.append(
                f'<rect x="{box.x + 1:.1f}" y="{y + 1:.1f}" width="{width - 2:.1f}" height="{ROW_H - 1}" '
                f'fill="{row.fill}"/>'
            )
        if row.strip:
            g.append(
                f'<rect x="{box.x + 2:.1f}" y="{y + 2:.1f}" width="5" height="{ROW_H - 3}" fill="{row.strip}"/>'
            )
        colour = "#999" if row.grey else "#222"
        g.append(
            f'<text x="{box.x + 10:.1f}" y="{y + 12.5:.1f}" font-family="{FONT}" font-size="11" '
            f'fill="{colour}" xml:space="preserve">{escape(row.label)}</text>'
        )
        bx = box.x + width - 6 - len(badges) * BADGE_W
        if row.shared > 1:
            g.append(
                f'<rect x="{bx - 26:.1f}" y="{y + 3:.1f}" width="22" height="{ROW_H - 5}" rx="2" '
                f'fill="{SHARED_COLOUR}"/><text x="{bx - 15:.1f}" y="{y + 12:.1f}" font-family="{FONT}" '
                f'font-size="9" fill="#fff" text-anchor="middle">x{row.shared}</text>'
            )
        if row.raw:
            g.append(_badge_row(bx, y + 3, row.raw, badges))
        g.append("</g>")
        parts.append("".join(g))
    return "".join(parts)


def _legend(
    snap: PageTableSnapshot,
    colours: dict,
    highlight: dict[int, str],
    removed: Sequence[str],
    x: float,
    y: float,
    width: float,
) -> tuple[str, float]:
    parts: list[str] = []
    line = 0

    def text(tx: float, ty: float, content: str, colour: str = "#333", size: int = 10) -> str:
        return (
            f'<text x="{tx:.1f}" y="{ty:.1f}" font-family="{FONT}" font-size="{size}" fill="{colour}" '
            f'xml:space="preserve">{escape(content)}</text>'
        )

    # Flags.
    cx = x
    for name, _bit, on in BADGES + (HUGE_BADGE,):
        meaning = FLAG_MEANINGS[name].split(" (")[0]
        parts.append(
            f'<rect x="{cx:.1f}" y="{y:.1f}" width="{BADGE_W - 2}" height="12" rx="2" fill="{on}"/>'
            f'<text x="{cx + (BADGE_W - 2) / 2:.1f}" y="{y + 9:.1f}" font-family="{FONT}" font-size="8" '
            f'text-anchor="middle" fill="#fff">{name}</text>'
        )
        parts.append(text(cx + BADGE_W + 2, y + 10, meaning))
        cx += BADGE_W + 10 + len(meaning) * 6.1
    parts.append(
        f'<rect x="{cx:.1f}" y="{y:.1f}" width="22" height="12" rx="2" fill="{SHARED_COLOUR}"/>'
        f'<text x="{cx + 11:.1f}" y="{y + 9:.1f}" font-family="{FONT}" font-size="8" text-anchor="middle" '
        'fill="#fff">xN</text>'
    )
    parts.append(text(cx + 26, y + 10, "frame mapped N times"))
    line += 1
    parts.append(
        text(
            x,
            y + 10 + 16 * line,
            "[index] first virtual address, xN pages, first frame "
            "(+ frames contiguous, * scattered); hover a row for details",
            "#666",
        )
    )
    line += 1
    # VM areas.
    if colours:
        cx = x
        for area, colour in colours.items():
            label = f"{area.name or 'anon'} {area.perms}"
            w = 12 + len(label) * 6.1 + 14
            if cx + w > x + width - 2 * MARGIN and cx > x:
                line += 1
                cx = x
            ty = y + 16 * line
            parts.append(f'<rect x="{cx:.1f}" y="{ty:.1f}" width="5" height="12" fill="{colour}"/>')
            parts.append(
                f"<g><title>{escape(f'{area.start:#x}-{area.end:#x} {area.perms} {area.name}')}</title>"
                + text(cx + 8, ty + 10, label)
                + "</g>"
            )
            cx += w
        line += 1
    # Diff colours.
    kinds = sorted(set(highlight.values()))
    if kinds or removed:
        cx = x
        for kind in kinds + (["removed"] if removed else []):
            parts.append(
                f'<rect x="{cx:.1f}" y="{y + 16 * line:.1f}" width="22" height="12" '
                f'fill="{DIFF_COLOURS[kind]}" stroke="#bbb"/>'
            )
            parts.append(text(cx + 26, y + 16 * line + 10, kind))
            cx += 40 + len(kind) * 6.1
        line += 1
        for entry in removed:
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 16 * line:.1f}" width="{width - 2 * MARGIN:.1f}" height="14" '
                f'fill="{DIFF_COLOURS["removed"]}"/>'
            )
            parts.append(text(x + 4, y + 16 * line + 10, f"removed: {entry}"))
            line += 1
    return "".join(parts), 16 * line


# --- the walk of one address -------------------------------------------------------------------------

FIELD_W = 178
SIGN_W = 120


def draw_walk(walk: AddressWalk) -> str:
    """An SVG of one walk: the virtual address cut into its index fields, and under
    each field the entry the CPU reads with it, linked table to table."""
    levels = [4, 3, 2, 1]
    if walk.paddr is not None and walk.page_size > 4096:
        levels = [s.level for s in walk.steps]
    offset_bits = LEVEL_SHIFT[levels[-1]]
    fields: list[tuple[str, int, int, str]] = [("sign", 63, 48, f"{walk.vaddr >> 48:#x}")]
    for level in levels:
        shift = LEVEL_SHIFT[level]
        fields.append((f"{LEVEL_NAMES[level]} index", shift + 8, shift, str((walk.vaddr >> shift) & 511)))
    fields.append(("offset", offset_bits - 1, 0, f"{walk.vaddr & ((1 << offset_bits) - 1):#x}"))
    colours = ["#bbbbbb"] + [LEVEL_COLOURS[level] for level in levels] + ["#e08214"]
    width = MARGIN * 2 + SIGN_W + FIELD_W * (len(fields) - 1)
    out: list[str] = []
    add = out.append

    def text(
        x: float,
        y: float,
        content: str,
        size: int = 11,
        colour: str = "#222",
        anchor: str = "start",
        bold: bool = False,
    ) -> None:
        weight = ' font-weight="bold"' if bold else ""
        add(
            f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" fill="{colour}" '
            f'text-anchor="{anchor}"{weight} xml:space="preserve">{escape(content)}</text>'
        )

    def arrow(x1: float, y1: float, x2: float, y2: float) -> None:
        add(f'<path d="M{x1:.1f},{y1:.1f} L{x2 - 6:.1f},{y2:.1f}" stroke="#777" stroke-width="1.2" fill="none"/>')
        add(
            f'<polygon points="{x2:.1f},{y2:.1f} {x2 - 6:.1f},{y2 - 3.5:.1f} {x2 - 6:.1f},{y2 + 3.5:.1f}" '
            'fill="#777"/>'
        )

    text(MARGIN, MARGIN + 12, f"walk of {walk.vaddr:#x} in {walk.label}", 13, bold=True)
    # The address, cut into fields.
    y = MARGIN + 24
    xs = []
    x = MARGIN
    for k, (name, high, low, value) in enumerate(fields):
        w = (SIGN_W if k == 0 else FIELD_W) - 4
        xs.append(x)
        add(
            f'<rect x="{x:.1f}" y="{y}" width="{w}" height="40" rx="3" fill="{colours[k]}" fill-opacity="0.25" '
            f'stroke="{colours[k]}"/>'
        )
        text(x + w / 2, y + 14, f"{name} (bits {high}-{low})", 9, "#444", "middle")
        text(x + w / 2, y + 32, value, 14, "#111", "middle", bold=True)
        x += w + 4
    # CR3, in the sign-extension column, points at the root.
    by = y + 62
    box_h = 112
    add(f'<rect x="{xs[0]:.1f}" y="{by}" width="{SIGN_W - 18}" height="40" rx="3" fill="#f4f4f4" stroke="#999"/>')
    text(xs[0] + (SIGN_W - 18) / 2, by + 16, "CR3", 10, "#444", "middle")
    text(xs[0] + (SIGN_W - 18) / 2, by + 32, f"{walk.root:#x}", 11, "#111", "middle", bold=True)
    previous = (xs[0] + SIGN_W - 18, by + 10)
    for k, step in enumerate(walk.steps):
        x = xs[k + 1] + 14
        w = FIELD_W - 18
        colour = LEVEL_COLOURS[step.level]
        x1, y1 = previous
        arrow(x1, y1, x, by + 10)
        add(
            f'<rect x="{x:.1f}" y="{by}" width="{w}" height="{box_h}" rx="3" fill="#fbfbfb" stroke="{colour}" '
            'stroke-width="1.5"/>'
            f'<rect x="{x:.1f}" y="{by}" width="{w}" height="20" rx="3" fill="{colour}"/>'
        )
        text(x + 6, by + 14, f"{step.name} {step.table:#x}", 11, "#fff", bold=True)
        text(x + 6, by + 34, f"entry [{step.index}] at +{step.index * 8:#x}", 10, "#444")
        text(x + 6, by + 50, f"{step.raw:#018x}", 11, "#111")
        if step.present:
            add(_badge_row(x + 6, by + 58, step.raw, _badges(step.level)))
            target = f"page {step.next:#x}" if step.leaf else f"{LEVEL_NAMES[step.level - 1]} {step.next:#x}"
            text(x + 6, by + 96, f"-> {target}", 11, "#111", bold=True)
        else:
            text(x + 6, by + 72, "not present", 11, "#b2182b", bold=True)
            text(x + 6, by + 96, "-> page fault (#PF)", 11, "#b2182b")
        previous = (x + w, by + 10)
    # The outcome, under the offset.
    x = xs[-1] + 14
    w = FIELD_W - 18
    if walk.paddr is not None:
        x1, y1 = previous
        arrow(x1, y1, x, by + 10)
        add(f'<rect x="{x:.1f}" y="{by}" width="{w}" height="{box_h}" rx="3" fill="#e5f5e0" stroke="#1b7837"/>')
        text(x + 6, by + 16, f"{size_name(walk.page_size)} page", 10, "#444")
        text(x + 6, by + 34, "physical address", 10, "#444")
        text(x + 6, by + 52, f"{walk.paddr:#x}", 13, "#1b7837", bold=True)
        yes = {True: "yes", False: "no"}
        text(x + 6, by + 76, f"user read:  {yes[walk.user_read]}", 10, "#333")
        text(x + 6, by + 89, f"user write: {yes[walk.user_write]}", 10, "#333")
        text(x + 6, by + 102, f"user exec:  {yes[walk.user_execute]}", 10, "#333")
    elif not walk.steps:
        text(xs[1], by + 20, walk.stop or "", 11, "#b2182b", bold=True)
    height = by + (box_h if walk.steps else 40) + MARGIN
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" style="max-width:100%;height:auto;background:#fff">'
        f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#fff"/>' + "".join(out) + "</svg>"
    )


def _badge_row(x: float, y: float, raw: int, badges: tuple[tuple[str, int, str], ...]) -> str:
    """Flag badges in a row from (x, y): filled when set, outlined when clear."""
    parts = []
    for k, (name, bit, on) in enumerate(badges):
        fill, stroke, ink = (on, on, "#fff") if raw & bit else ("none", "#e2e2e2", "#d0d0d0")
        bx = x + k * BADGE_W
        parts.append(
            f'<rect x="{bx:.1f}" y="{y:.1f}" width="{BADGE_W - 2}" height="{ROW_H - 5}" rx="2" fill="{fill}" '
            f'stroke="{stroke}"/><text x="{bx + (BADGE_W - 2) / 2:.1f}" y="{y + 9:.1f}" font-family="{FONT}" '
            f'font-size="8" text-anchor="middle" fill="{ink}">{name}</text>'
        )
    return "".join(parts)
