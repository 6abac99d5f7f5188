"""Page-table visualisation (asterinas_lab.viz): snapshots, the text tree, the walk of
one address (checked against the emulated CPU), drawings, diffs after fork and a
copy-on-write fault, and the notebook MIME bundles."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from user_code import CODE_ADDR, LOAD_REGS, RW, RX, load_program, map_new, run_user

from asterinas_lab import ostd, runner, viz
from asterinas_lab.kernel.process.process import fork_process_vm, new_process_vm
from asterinas_lab.kernel.vm.page_fault import handle_page_fault
from asterinas_lab.kernel.vm.vmar import PROT_EXEC, PROT_READ, PROT_WRITE, VmArea
from asterinas_lab.memcheck import translate
from asterinas_lab.ostd import (
    PAGE_SIZE,
    PHYS_OFFSET,
    PageFlags,
    ReturnReason,
    VmReader,
    VmSpace,
    VmWriter,
)
from asterinas_lab.ostd import platform as ostd_platform

SVG = "{http://www.w3.org/2000/svg}"
BASE = 0x40_0000


class StrictHTML(HTMLParser):
    """Fails on an end tag that does not close the innermost open element."""

    VOID = {"br", "hr", "img", "input", "meta", "link", "col", "area", "base", "wbr", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def parse_html(text: str) -> list[str]:
    parser = StrictHTML()
    parser.feed(text)
    parser.close()
    assert parser.stack == [], f"unclosed: {parser.stack}"
    return parser.tags


def parse_svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == SVG + "svg"
    assert float(root.get("width")) > 0 and float(root.get("height")) > 0
    return root


# --- snapshots and the text tree ------------------------------------------------------------------


def test_text_tree_of_a_hand_built_space(in_kernel):
    def check():
        space = VmSpace()
        data = map_new(space, BASE, RW)
        code = map_new(space, BASE + PAGE_SIZE, RX)
        stack = map_new(space, 0x7FFF_FFFF_F000, PageFlags.R)
        root, pdpt0, pd0, pt0, pdpt1, pd1, pt1 = space.page_table_frames()
        snap = viz.snapshot(space, label="hand-built")
        return snap, (root, pdpt0, pd0, pt0, pdpt1, pd1, pt1, data, code, stack)

    snap, (root, pdpt0, pd0, pt0, pdpt1, pd1, pt1, data, code, stack) = in_kernel(check)
    ostd.shutdown()  # the snapshot is plain data: it renders after the machine is gone
    table = 0x7  # P W U: the links to lower tables
    nx = 1 << 63
    expected = f"""\
page table {root:#x} (hand-built)
 ..0: pte {pdpt0 | table:#018x} pa {pdpt0:#x} [P W U]
 .. ..0: pte {pd0 | table:#018x} pa {pd0:#x} [P W U]
 .. .. ..2: pte {pt0 | table:#018x} pa {pt0:#x} [P W U]
 .. .. .. ..0: pte {nx | data | 0x7:#018x} pa {data:#x} [P W U NX] va 0x400000
 .. .. .. ..1: pte {code | 0x5:#018x} pa {code:#x} [P U] va 0x401000
 ..255: pte {pdpt1 | table:#018x} pa {pdpt1:#x} [P W U]
 .. ..511: pte {pd1 | table:#018x} pa {pd1:#x} [P W U]
 .. .. ..511: pte {pt1 | table:#018x} pa {pt1:#x} [P W U]
 .. .. .. ..511: pte {nx | stack | 0x5:#018x} pa {stack:#x} [P U NX] va 0x7ffffffff000
 ..256-511: kernel half, shared by every address space (2 present entries, collapsed)"""
    assert snap.tree() == expected
    assert str(snap) == expected
    assert snap.mapped_pages == 3
    assert snap.user_tables() == [root, pdpt0, pd0, pt0, pdpt1, pd1, pt1]
    # The kernel half on demand: the direct map (2 MiB pages) and the trampoline.
    full = snap.tree(kernel=True)
    assert "256-511" not in full
    assert " ..273: " in full and " ..511: " in full
    assert "[P W NX PS G] va 0xffff888000000000 (2 MiB page)" in full
    assert f"va {0xFFFF_FFFF_8000_0000:#x}" in full


def test_compressed_tree_folds_runs_of_leaves(in_kernel):
    def check():
        space = VmSpace()
        frames = [map_new(space, BASE + i * PAGE_SIZE, RW) for i in range(40)]
        map_new(space, BASE + 40 * PAGE_SIZE, PageFlags.R)
        return viz.snapshot(space, label="run"), frames

    snap, frames = in_kernel(check)
    lines = snap.tree(compress=True).splitlines()
    contiguous = all(b == a + PAGE_SIZE for a, b in zip(frames, frames[1:], strict=False))
    pa = f"pa {frames[0]:#x}-{frames[-1] + PAGE_SIZE - 1:#x}" if contiguous else "(scattered)"
    assert lines[4].startswith(" .. .. .. ..0-39: 40 ptes [P W U NX] va 0x400000-0x427fff ")
    assert lines[4].endswith(pa)
    assert lines[5].startswith(" .. .. .. ..40: pte ")
    assert len(snap.tree().splitlines()) == len(lines) + 39


def test_no_snapshot_of_a_destroyed_space(in_kernel):
    def check():
        space = VmSpace()
        map_new(space, BASE)
        space.destroy()  # its table frames are free now, and may hold anything later
        with pytest.raises(ValueError, match="destroyed"):
            viz.snapshot(space)

    in_kernel(check)
    ostd.shutdown()
    with pytest.raises(RuntimeError, match="no machine is running"):
        viz.snapshot(object())


def test_snapshot_of_a_process_carries_its_areas():
    snaps = []
    runner.run(
        ["/bin/hello"],
        with_kernel=lambda k: k.exit_observers.append(
            lambda p: snaps.append((viz.snapshot(p), sorted(v for v, _, _ in p.vm.vm_space.mappings())))
        ),
    )
    ((snap, mapped),) = snaps
    assert snap.pid == 1 and snap.comm == "hello" and snap.label == "pid 1 (hello)"
    assert sorted(snap.pages()) == mapped
    names = [area.name for area in snap.areas]
    assert "[stack]" in names and "[text]" in names
    text = next(a for a in snap.areas if a.name == "[text]")
    assert text.perms == "r-xp"
    # Every page of the text is executable, and no page of the stack is.
    for vaddr, entry in snap.pages().items():
        area = snap.area_at(vaddr)
        assert area is not None
        assert ("NX" not in entry.flags) == bool(area.prot & PROT_EXEC)
    assert len(snap.tree().splitlines()) == len(list(snap.entries())) + 2  # the heading, the kernel half


# --- the walk of one address ----------------------------------------------------------------------

USER_ADDRESSES = [0x1000, 0x40_0000, 0x40_1000, 0x1234_5000, 0x40_0000_0000, 0x5555_5555_4000, 0x7FFF_FFFF_F000]


def test_walk_agrees_with_the_cpu(in_kernel):
    def check():
        space = VmSpace()
        expected = {}
        for i, vaddr in enumerate(USER_ADDRESSES):
            data = struct.pack("<Q", 0x5A5A_0000_0000_0000 | (i << 20) | vaddr >> 12)
            expected[vaddr] = map_new(space, vaddr, RW, bytes(0x238) + data)
        loads = [vaddr + 0x238 for vaddr in USER_ADDRESSES]
        reason, regs, trap = run_user(space, load_program(loads))
        assert reason is ReturnReason.USER_SYSCALL, trap
        snap = viz.snapshot(space)
        ram = ostd_platform.current.ram
        for address, (reg, _, _) in zip(loads, LOAD_REGS, strict=False):
            walk = snap.walk(address)
            assert walk.paddr == expected[address & ~0xFFF] + 0x238
            assert walk.paddr == translate(ram, space.root_paddr, address)[0]
            # What the CPU loaded is what lies at the walk's physical address.
            assert regs[reg] == struct.unpack_from("<Q", ram, walk.paddr)[0], reg
            assert [step.level for step in walk.steps] == [4, 3, 2, 1]
            assert [step.index for step in walk.steps] == [(address >> s) & 511 for s in (39, 30, 21, 12)]
            assert walk.steps[-1].raw == snap.page(address).raw
            assert walk.user_read and walk.user_write and not walk.user_execute
            # The steps chain: each entry points at the next table.
            for upper, lower in zip(walk.steps, walk.steps[1:], strict=False):
                assert upper.next == lower.table
        code = snap.walk(CODE_ADDR + 3)
        assert code.user_read and code.user_execute and not code.user_write
        # The direct map in the kernel half: a 2 MiB page, supervisor-only.
        kernel = snap.walk(PHYS_OFFSET + 0x12_3456)
        assert kernel.paddr == 0x12_3456 and kernel.page_size == 2 << 20 and len(kernel.steps) == 3
        assert not kernel.user_read
        return snap

    snap = in_kernel(check)
    text = snap.walk(0x40_0238).text()
    assert "PML4 [  0]" in text and "PT   [  0]" in text and "physical address" in text


def test_walk_stops_where_the_cpu_faults(in_kernel):
    def check():
        space = VmSpace()
        map_new(space, BASE)
        results = []
        for target in (BASE + PAGE_SIZE + 8, 0x40_0000_0000, PHYS_OFFSET + 0x1000):
            walk = viz.snapshot(space).walk(target)
            reason, _, trap = run_user(space, load_program([BASE, target]))
            assert reason is ReturnReason.USER_EXCEPTION and trap.vector == 14 and trap.address == target
            results.append(walk)
            space.cursor_mut(CODE_ADDR, CODE_ADDR + PAGE_SIZE).unmap(PAGE_SIZE)
        return results

    missing_pt_entry, missing_pdpt_entry, kernel_half = in_kernel(check)
    assert missing_pt_entry.paddr is None and len(missing_pt_entry.steps) == 4
    assert missing_pt_entry.stop == "PT entry 1 is not present: #PF"
    assert missing_pdpt_entry.paddr is None and [s.level for s in missing_pdpt_entry.steps] == [4, 3]
    assert "the walk stops: PDPT entry 256 is not present: #PF" in missing_pdpt_entry.text()
    # Present, but not for user mode: the CPU faults on the U bit.
    assert kernel_half.paddr == 0x1000 and not kernel_half.user_read
    assert "user mode may read: no" in kernel_half.text()


def test_walk_of_a_non_canonical_address(in_kernel):
    snap = in_kernel(lambda: viz.snapshot(VmSpace()))
    walk = snap.walk(0x0000_8000_0000_0000)
    assert walk.paddr is None and walk.steps == () and "#GP" in walk.stop
    assert any("#GP" in (t.text or "") for t in parse_svg(walk.to_svg()).iter(SVG + "text"))


# --- drawings and notebook display ------------------------------------------------------------------


def test_svg_shows_every_table_and_folds_runs(in_kernel):
    def check():
        vm = new_process_vm()
        vm.add(VmArea(BASE, BASE + 700 * PAGE_SIZE, PROT_READ | PROT_WRITE, name="[heap]"))
        VmWriter(vm.vm_space, BASE, 700 * PAGE_SIZE).write(b"x" * 700 * PAGE_SIZE)
        vm.add(VmArea(0x7FFF_FFFF_E000, 0x7FFF_FFFF_F000, PROT_READ, name="[stack]"))
        VmReader(vm.vm_space, 0x7FFF_FFFF_E000, 1).read()
        return viz.snapshot(vm)

    snap = in_kernel(check)
    assert snap.mapped_pages == 701
    svg = snap.to_svg()
    root = parse_svg(svg)
    texts = [t.text or "" for t in root.iter(SVG + "text")]
    for table in snap.user_tables():
        assert any(f"{table:#x}" in t for t in texts), f"table {table:#x} not drawn"
    # 700 pages over two leaf tables (0x400000 is 2 MiB aligned): one row per run.
    rows = [
        t for t in texts if t.lstrip().startswith("[") and " x" in t and "kernel" not in t and "index" not in t
    ]
    assert len(rows) == 3, rows
    assert any(t.split()[2] == "x512" for t in rows) and any(t.split()[2] == "x188" for t in rows)
    assert "[heap] rw-p" in texts and "[stack] r--p" in texts
    assert float(root.get("height")) < 800
    # No <style> and no ids: many drawings can share one HTML page.
    assert "<style" not in svg and " id=" not in svg
    parse_svg(snap.to_svg(kernel=True))


def test_mime_bundles(in_kernel):
    def check():
        vm = new_process_vm()
        vm.add(VmArea(BASE, BASE + 4 * PAGE_SIZE, PROT_READ | PROT_WRITE))
        VmWriter(vm.vm_space, BASE, 4 * PAGE_SIZE).write(b"p" * 4 * PAGE_SIZE)
        before = viz.snapshot(vm, label="before")
        child = fork_process_vm(vm)
        return before, viz.snapshot(vm, label="after"), child

    before, after, _child = in_kernel(check)
    bundle = before._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/svg+xml", "text/html"}
    parse_svg(bundle["image/svg+xml"])
    assert "svg" in parse_html(bundle["text/html"]) and "pre" in parse_html(bundle["text/html"])
    assert bundle["text/plain"] == before.tree(compress=True)
    walk = before.walk(BASE)
    assert set(walk._repr_mimebundle_()) == {"text/plain", "text/html"}
    assert {"table", "svg"} <= set(parse_html(walk.to_html()))
    texts = [t.text for t in parse_svg(walk.to_svg()).iter(SVG + "text")]
    assert f"{walk.paddr:#x}" in texts and "-> PT " + f"{walk.steps[3].table:#x}" in texts
    missing = before.walk(BASE + 0x20_0000)
    assert "not present" in [t.text for t in parse_svg(missing.to_svg()).iter(SVG + "text")]
    change = viz.diff(before, after)
    bundle = change._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    tags = parse_html(bundle["text/html"])
    assert "table" in tags and "svg" in tags
    parse_svg(change.to_svg())


# --- diffs ---------------------------------------------------------------------------------------------

DATA = BASE
TEXT = BASE + 0x10_0000


def _process_vm():
    """Four pages of writable data and two of read-only text, all resident (a fault maps
    the neighbouring pages of its area too)."""
    vm = new_process_vm()
    vm.add(VmArea(TEXT, TEXT + 2 * PAGE_SIZE, PROT_READ | PROT_EXEC, name="[text]"))
    vm.add(VmArea(DATA, DATA + 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, name="[data]"))
    assert handle_page_fault(vm, DATA, write=True) == 0
    VmReader(vm.vm_space, TEXT, 2 * PAGE_SIZE).read()
    assert vm.vm_space.mapped_pages == 6
    return vm


def _pa(changes) -> str:
    frames = [c.after.paddr for c in changes]
    if all(b == a + PAGE_SIZE for a, b in zip(frames, frames[1:], strict=False)):
        return f"pa {frames[0]:#x}-{frames[-1] + PAGE_SIZE - 1:#x}"
    return f"pa {min(frames):#x}..{max(frames):#x} (scattered)"


def test_diff_of_fork_shows_writable_pages_becoming_read_only_and_shared(in_kernel):
    def check():
        vm = _process_vm()
        before = viz.snapshot(vm, label="parent before fork")
        child = fork_process_vm(vm)
        return before, viz.snapshot(vm, label="parent after fork"), viz.snapshot(child, label="child")

    before, after, child = in_kernel(check)
    writable = sorted(v for v, e in before.pages().items() if "W" in e.flags)
    read_only = sorted(v for v, e in before.pages().items() if "W" not in e.flags)
    assert len(writable) == 4 and len(read_only) == 2
    d = viz.diff(before, after)
    assert [c.vaddr for c in d.changed] == writable
    assert d.added == [] and d.removed == [] and d.tables_added == [] and d.tables_removed == []
    for change in d.changed:
        assert change.after.paddr == change.before.paddr  # the same frame ...
        assert change.flag_changes() == ((), ("W",))  # ... now read-only ...
        assert (change.maps_before, change.maps_after) == (1, 2)  # ... and mapped by the child too
        assert change.notes() == ["W removed", "now shared (maps 1->2)"]
    # Read-only pages keep their entry; only their frame's sharing changed.
    assert [c.vaddr for c in d.sharing] == read_only
    text = d.text()
    assert text.splitlines() == [
        "diff 'parent before fork' -> 'parent after fork': 4 entries changed, 0 added, 0 removed, "
        "2 unchanged but shared differently; tables: 0 added, 0 removed",
        f"~ 0x000000400000-0x000000403fff (4 pages) [P W U NX] -> [P U NX] {_pa(d.changed)}  "
        "W removed; now shared (maps 1->2)",
        f"= 0x000000500000-0x000000501fff (2 pages) [P U] {_pa(d.sharing)}  now shared (maps 1->2)",
    ]
    # The child maps the very same frames with the same flags.
    assert not viz.diff(after, child).changes
    assert not viz.diff(after, child).same_space


def test_diff_of_a_copy_on_write_fault_shows_one_new_frame(in_kernel):
    def check():
        vm = _process_vm()
        child = fork_process_vm(vm)
        parent_before, child_before = viz.snapshot(vm), viz.snapshot(child)
        assert handle_page_fault(child, DATA + PAGE_SIZE + 8, write=True) == 0
        return parent_before, viz.snapshot(vm), child_before, viz.snapshot(child)

    parent_before, parent_after, child_before, child_after = in_kernel(check)
    d = viz.diff(child_before, child_after)
    (change,) = d.changes
    assert change.kind == "changed" and change.vaddr == DATA + PAGE_SIZE
    assert change.new_frame and change.after.paddr != change.before.paddr
    assert change.after.paddr == child_after.walk(DATA + PAGE_SIZE).paddr
    assert change.flag_changes() == (("W",), ())
    assert change.notes() == ["new frame", "W added"]
    assert (change.maps_before, change.maps_after) == (2, 1)
    assert d.tables_added == [] and d.tables_removed == []
    line = d.text().splitlines()[1]
    assert line == (
        f"~ {DATA + PAGE_SIZE:#014x} (1 page) [P U NX] -> [P W U NX] "
        f"pa {change.before.paddr:#x} -> {change.after.paddr:#x}  new frame; W added"
    )
    # The parent's entry did not change, but its frame is no longer shared.
    p = viz.diff(parent_before, parent_after)
    (only,) = p.changes
    assert only.kind == "sharing" and only.vaddr == DATA + PAGE_SIZE
    assert only.notes() == ["no longer shared (maps 2->1)"]


def test_diff_ignores_accessed_and_dirty_by_default(in_kernel):
    def check():
        space = VmSpace()
        map_new(space, BASE)
        before = viz.snapshot(space)
        reason, _, trap = run_user(space, load_program([BASE]))  # the CPU sets A on the page
        assert reason is ReturnReason.USER_SYSCALL, trap
        after = viz.snapshot(space)
        return before, after

    before, after = in_kernel(check)
    assert "A" in after.page(BASE).flags and "A" not in before.page(BASE).flags
    assert [c.vaddr for c in viz.diff(before, after).added] == [CODE_ADDR]
    assert not viz.diff(before, after).changed
    strict = viz.diff(before, after, ignore_bits=0)
    assert [c.vaddr for c in strict.changed] == [BASE]
    assert strict.changed[0].notes() == ["A added"]


@pytest.mark.parametrize("program", ["/bin/fork_tree", "/bin/cow_isolation"])
def test_real_programs_render(program):
    snaps = []

    def observe(kernel):
        kernel.exit_observers.append(
            lambda p: snaps.append((viz.snapshot(p), viz.snapshot(p.parent)) if p.parent is not None else None)
        )

    result = runner.run([program], with_kernel=observe)
    assert result.status == 0
    child, parent = snaps[0]
    parse_svg(child.to_svg())
    parse_html(child.to_html())
    d = viz.diff(parent, child)
    parse_svg(d.to_svg())
    parse_html(d.to_html())
    # Pages the child wrote since fork have frames of their own.
    for change in d.changed:
        if change.new_frame:
            assert change.after.paddr not in {e.paddr for e in parent.pages().values()}
