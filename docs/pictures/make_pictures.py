"""Regenerate the pictures and the text blocks of docs/visualisation.md.

    python docs/pictures/make_pictures.py

Runs two programs of the built-in image in deterministic mode (so the output is the
same on every run and every machine), takes snapshots while they run, and writes:

* docs/pictures/pagetable.svg   the page tables of cow_isolation's child at its exit
* docs/pictures/walk.svg        the walk of one address of /bin/hello
* docs/pictures/diff_fork.svg   cow_isolation's parent just before vs. just after fork
* docs/pictures/diff_cow.svg    the child just after fork vs. at its exit
* docs/pictures/frame_map.png   every physical frame when the child exits

and replaces each text block of docs/visualisation.md that sits between
``<!-- make_pictures: NAME -->`` and ``<!-- /make_pictures -->`` with the new text.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from asterinas_lab import runner, viz  # noqa: E402
from asterinas_lab.viz.trace import trace  # noqa: E402


def hello() -> viz.PageTableSnapshot:
    """/bin/hello's address space when it exits."""
    shots: list[viz.PageTableSnapshot] = []
    result = runner.run(
        ["/bin/hello"],
        deterministic=True,
        with_kernel=lambda kernel: kernel.exit_observers.append(lambda p: shots.append(viz.snapshot(p))),
    )
    assert result.status == 0, result
    return shots[0]


def cow_isolation() -> dict:
    """Snapshots of /bin/cow_isolation around its first fork, and when its first child exits.

    The strace hook is called after each system call, in the calling process: the
    parent's snapshot at the call before ``fork()`` is "before fork", the one at the
    ``fork()`` line itself is "after fork" (the child exists, and has not run yet)."""
    shots: dict = {}
    kernels: list = []
    last: list = [None]

    def on_syscall(line: str) -> None:
        kernel = kernels[0]
        if line.startswith("[pid") or "after" in shots:
            return  # a line of another process, or we have what we need
        parent = kernel.processes[1]
        if line.startswith("fork()"):
            shots["before"] = last[0]
            shots["after"] = viz.snapshot(parent, label="parent after fork")
            child = kernel.processes[int(line.rsplit("=", 1)[1])]
            shots["child_at_fork"] = viz.snapshot(child, label="child right after fork")
        else:
            last[0] = viz.snapshot(parent, label="parent before fork")

    def on_exit(process) -> None:
        if process.pid == 2:
            shots["child_at_exit"] = viz.snapshot(process, label="child (pid 2) at its exit")
            shots["census"] = viz.frame_census(kernels[0])

    def with_kernel(kernel) -> None:
        kernels.append(kernel)
        kernel.exit_observers.append(on_exit)

    result = runner.run(["/bin/cow_isolation"], deterministic=True, strace=on_syscall, with_kernel=with_kernel)
    assert result.status == 0, result
    return shots


def replace_block(markdown: str, name: str, text: str, fenced: bool = True) -> str:
    pattern = re.compile(rf"(<!-- make_pictures: {name} -->\n).*?(<!-- /make_pictures -->)", re.S)
    if not pattern.search(markdown):
        raise SystemExit(f"docs/visualisation.md has no block named {name!r}")
    body = f"```\n{text}\n```\n" if fenced else f"{text}\n"
    return pattern.sub(lambda m: f"{m.group(1)}{body}{m.group(2)}", markdown)


def main() -> None:
    small = hello()
    text_area = next(a for a in small.areas if a.name == "[text]")
    stack_area = next(a for a in small.areas if a.name == "[stack]")
    mapped = small.walk(text_area.start + 0x123)
    missing = small.walk(stack_area.start + 0x1000)  # in the stack area, never touched
    (HERE / "walk.svg").write_text(mapped.to_svg())

    shots = cow_isolation()
    child = shots["child_at_exit"]
    (HERE / "pagetable.svg").write_text(child.to_svg())
    fork = viz.diff(shots["before"], shots["after"])
    (HERE / "diff_fork.svg").write_text(fork.to_svg())
    cow = viz.diff(shots["child_at_fork"], child)
    (HERE / "diff_cow.svg").write_text(cow.to_svg())
    figure = viz.frame_map(shots["census"])
    figure.savefig(HERE / "frame_map.png", dpi=100, bbox_inches="tight", metadata={"Software": None})

    doc = ROOT / "docs" / "visualisation.md"
    markdown = doc.read_text()
    blocks = {
        "tree": small.tree(),
        "tree_compressed": child.tree(compress=True),
        "walk": mapped.text(),
        "walk_missing": missing.text(),
        "maps": child.maps().text(),
        "diff_fork": fork.text(),
        "diff_cow": cow.text(),
        "census": shots["census"].text(),
    }
    for name, text in blocks.items():
        markdown = replace_block(markdown, name, text)
    # The trace table is HTML (what a notebook shows), without the host timings so
    # that it is the same on every run.
    traced, _ = trace(["/bin/fork_tree"], deterministic=True)
    excerpt = traced.filter(pids={4})  # a process in the middle of the tree
    excerpt.records = excerpt.records[:16]
    markdown = replace_block(markdown, "trace_table", excerpt._repr_html_(timings=False), fenced=False)
    doc.write_text(markdown)
    for name in ("pagetable.svg", "walk.svg", "diff_fork.svg", "diff_cow.svg", "frame_map.png"):
        print(f"wrote docs/pictures/{name} ({(HERE / name).stat().st_size} bytes)")
    print(f"updated {len(blocks)} text blocks of docs/visualisation.md")


if __name__ == "__main__":
    main()
