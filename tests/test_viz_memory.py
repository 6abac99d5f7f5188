"""Memory pictures (asterinas_lab.viz.memory): a process's address-space map and the
physical frame map."""

from __future__ import annotations

import subprocess
import sys

from test_viz_pagetable import parse_html

from asterinas_lab import ostd, runner, viz
from asterinas_lab.kernel.process.process import fork_process_vm, new_process_vm
from asterinas_lab.kernel.vm.shared import SharedMemory
from asterinas_lab.kernel.vm.vmar import PROT_EXEC, PROT_READ, PROT_WRITE, VmArea
from asterinas_lab.ostd import PAGE_SIZE, FrameAllocOptions, PageFlags, VmReader, VmWriter
from asterinas_lab.ostd.mm import frame as frame_mod
from asterinas_lab.viz.memory import CATEGORY_LABELS, FRAME_COLOURS, PROCESS_COLOURS

TEXT = 0x40_0000
DATA = 0x60_0000
SHARED = 0x7FFF_F000_0000
STACK = 0x7FFF_FFFF_0000


def _process_vm():
    vm = new_process_vm()
    vm.add(
        VmArea(
            TEXT,
            TEXT + 8 * PAGE_SIZE,
            PROT_READ | PROT_EXEC,
            name="[text]",
            backing=bytes(8 * PAGE_SIZE),
            offset=0x1000,
            file_end=TEXT + 8 * PAGE_SIZE,
        )
    )
    vm.add(VmArea(DATA, DATA + 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, name="[heap]"))
    vm.add(
        VmArea(
            SHARED,
            SHARED + 4 * PAGE_SIZE,
            PROT_READ | PROT_WRITE,
            name="shm",
            shared=True,
            shared_mem=SharedMemory(),
        )
    )
    vm.add(VmArea(STACK, STACK + 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, name="[stack]", grows_down=True))
    VmReader(vm.vm_space, TEXT, 1).read()  # fault-around maps 8 pages of the file
    VmWriter(vm.vm_space, DATA, 1).write(b"d")  # 4 anonymous pages
    VmWriter(vm.vm_space, SHARED + 2 * PAGE_SIZE, 1).write(b"s")  # one shared page
    return vm


def test_address_space_map_of_a_hand_built_process(in_kernel):
    def check():
        vm = _process_vm()
        child = fork_process_vm(vm)
        return viz.address_space_map(vm), child

    maps, _child = in_kernel(check)
    assert maps.text().splitlines() == [
        f"{maps.label}: 4 areas, 13 of 44 pages resident (52 KiB)",
        "start-end                 perms offset        resident shared  name",
        "000000400000-000000408000 r-xp 00001000      8/8           8  [text]",
        "000000600000-000000610000 rw-p 00000000      4/16          4  [heap]",
        "7ffff0000000-7ffff0004000 rw-s 00000000      1/4           1  shm",
        "7fffffff0000-800000000000 rw-p 00000000      0/16          0  [stack]",
    ]
    assert [row.resident for row in maps.rows] == [8, 4, 1, 0]
    # Since fork only the shared mapping is still writable.
    assert [row.writable for row in maps.rows] == [0, 0, 1, 0]
    tags = parse_html(maps.to_html())
    assert tags.count("tr") == 5
    assert set(maps._repr_mimebundle_()) == {"text/plain", "text/html"}


def test_address_space_map_of_a_bare_space_lists_unaccounted_pages(in_kernel):
    def check():
        space = ostd.VmSpace()
        for i in (0, 1, 2, 5):
            space.cursor_mut(0x1000 * (16 + i), 0x1000 * (17 + i)).map(
                FrameAllocOptions().alloc_frame(), PageFlags.R
            )
        return viz.snapshot(space).maps()

    maps = in_kernel(check)
    assert [(row.start, row.end, row.resident, row.area) for row in maps.rows] == [
        (0x10000, 0x13000, 3, None),
        (0x15000, 0x16000, 1, None),
    ]
    assert "(mapped outside any area)" in maps.text()


def test_address_space_map_of_a_real_process_counts_its_mappings():
    seen = []

    def observe(process):
        seen.append(
            (viz.address_space_map(process), len(list(process.vm.vm_space.mappings())), len(process.vm.areas))
        )

    result = runner.run(["/bin/cow_isolation"], with_kernel=lambda k: k.exit_observers.append(observe))
    assert result.status == 0
    for maps, mapped, areas in seen:
        assert maps.resident == mapped
        assert sum(1 for row in maps.rows if row.area is not None) == areas
        assert all(row.area is not None for row in maps.rows)
        parse_html(maps.to_html())
    # The child that wrote all of its 8 MiB copy has all of it resident.
    assert any(row.resident == row.pages >= 2048 for maps, _, _ in seen for row in maps.rows)


# --- the physical frame map -------------------------------------------------------------------------


def _cells(figure) -> list[tuple[float, ...]]:
    """The colour of every cell of the frame map's image, row by row."""
    (image,) = figure.axes[0].images
    data = image.get_array()
    return [
        tuple(round(float(c), 4) for c in data[r][k]) for r in range(data.shape[0]) for k in range(data.shape[1])
    ]


def _rgba(colour: str) -> tuple[float, ...]:
    return tuple(round(int(colour[i : i + 2], 16) / 255, 4) for i in (1, 3, 5)) + (1.0,)


def test_frame_map_colours_match_the_metadata(in_kernel):
    def check():
        vm = _process_vm()
        child = fork_process_vm(vm)
        VmWriter(child.vm_space, DATA, 1).write(b"c")  # copy-on-write: one frame of the child's own
        kept = FrameAllocOptions().alloc_frame()  # untyped, held by the kernel, mapped nowhere
        typed = FrameAllocOptions().alloc_typed()  # a kernel object
        census = viz.frame_census()
        frames = frame_mod.allocator()
        counts = {kind: frames.count(kind) for kind in range(5)}
        mapped_by = {}
        for number, space in enumerate((vm.vm_space, child.vm_space)):
            for _vaddr, paddr, _flags in space.mappings():
                mapped_by.setdefault(paddr, set()).add(number)
        return census, counts, mapped_by, (vm, child, kept, typed)

    census, counts, mapped_by, _keep = in_kernel(check)
    figure = viz.frame_map(census, trim=False)
    cells = _cells(figure)
    assert len(cells) >= census.nframes == sum(counts.values())
    tally = {colour: cells.count(_rgba(colour)) for colour in set(FRAME_COLOURS.values()) | set(PROCESS_COLOURS)}
    assert tally[FRAME_COLOURS["page table"]] == counts[frame_mod.PAGE_TABLE]
    assert tally[FRAME_COLOURS["free"]] == counts[frame_mod.FREE]
    assert tally[FRAME_COLOURS["reserved"]] == counts[frame_mod.RESERVED]
    assert tally[FRAME_COLOURS["kernel object"]] == counts[frame_mod.KERNEL] >= 1
    user = len(mapped_by)
    assert tally[FRAME_COLOURS["untyped, not mapped"]] == counts[frame_mod.UNTYPED] - user >= 1
    # Two address spaces: the parent's colour for its frames (shared ones included),
    # the child's for the frames only it maps.
    only_child = sum(1 for users in mapped_by.values() if users == {1})
    assert only_child >= 1
    assert tally[PROCESS_COLOURS[0]] == user - only_child
    assert tally[PROCESS_COLOURS[1]] == only_child
    # Shared frames carry a dot.
    shared = sorted(p // PAGE_SIZE for p, users in mapped_by.items() if len(users) > 1)
    assert census.shared == shared
    dots = figure.axes[0].collections[0].get_offsets()
    assert len(dots) == len(shared)
    # The figure renders.
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_frame_map_trims_to_the_frames_in_use(in_kernel):
    census = in_kernel(lambda: viz.frame_census())
    figure = viz.frame_map(census)
    cells = _cells(figure)
    last_used = max(n for n, kind in enumerate(census.kinds) if kind != frame_mod.FREE)
    assert len(cells) < census.nframes
    assert sum(1 for c in cells if c[3] == 1.0) == last_used + 1
    assert census.counts()["free"] == sum(1 for k in census.kinds if k == frame_mod.FREE)
    assert list(census.counts())[: len(CATEGORY_LABELS)] == [
        label for label in CATEGORY_LABELS if label in census.counts()
    ]


def test_frame_census_names_processes_with_a_kernel():
    taken = []

    def observe(kernel):
        kernel.exit_observers.append(lambda p: taken.append(viz.frame_census(kernel)) if p.pid == 2 else None)

    runner.run(["/bin/cow_isolation"], with_kernel=observe)
    (census,) = taken
    labels = census.owner_labels[len(CATEGORY_LABELS) :]
    assert labels[:2] == ["pid 1 (cow_isolation)", "pid 2 (cow_isolation)"]
    counts = census.counts()
    assert counts["pid 2 (cow_isolation)"] > 2000  # the 8 MiB the child wrote
    assert census.shared  # program text, shared copy-on-write
    bundle = census._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/png"}
    figure = viz.frame_map(census)
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert any(t.startswith("pid 2 (cow_isolation)") for t in legend)
    assert any(t.startswith("shared between spaces") for t in legend)


def test_matplotlib_is_imported_only_when_drawing():
    code = "import sys, asterinas_lab.viz; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
