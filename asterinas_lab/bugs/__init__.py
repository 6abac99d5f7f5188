"""The bug catalogue: injectable bugs that show what the framekernel protects.

Each :class:`Bug` is a small change to one function, in safe kernel code or in OSTD,
switched on at run time by a context manager (the source files stay clean)::

    from asterinas_lab import bugs
    with bugs.CATALOGUE["double_put"].injected():
        ...                                  # the machine now runs with the bug

and each has a demonstration program in images/ (``/bin/demo_*``).
:func:`run_demo` boots a fresh machine with the bug on, runs the demonstration with
memory audited at every process exit (``asterinas_lab.memcheck``), and judges:

* **contained**: memcheck is clean, the demonstration's checks of memory outside the
  guilty process pass (its neighbour is intact) and the machine ran on -- the bug
  cost an error code, an oops, or the calling process's own bytes;
* **memory corrupted**: memcheck found broken invariants, or the demonstration saw
  another process's (or a freed frame's) bytes.

The claim of the framekernel is that every safe-code bug is contained and that OSTD
bugs are the ones that can corrupt memory: ``asterinas-lab bugs`` prints the table.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .. import runner
from ..kernel.syscall import numbers as nr
from ..kernel.syscall.table import TABLE, SyscallEntry
from ..ostd.mm import frame as frame_mod
from ..ostd.mm import io as io_mod
from ..ostd.mm import vm_space as vm_space_mod
from . import ostd as ostd_bugs
from . import safe as safe_bugs

SAFE, OSTD = "safe kernel", "OSTD"
CONTAINED, CORRUPTED, INCONCLUSIVE = "contained", "memory corrupted", "inconclusive"
DEMO_RAM = 32 << 20


@dataclass(frozen=True)
class Bug:
    name: str
    layer: str  # SAFE or OSTD
    summary: str
    program: str  # the demonstration, in the built-in image
    where: str  # the function the bug replaces
    _patch: Callable[[], Callable[[], None]] = field(repr=False)

    @contextmanager
    def injected(self) -> Iterator[Bug]:
        """Switch the bug on for the ``with`` block (the machine booted inside it)."""
        undo = self._patch()
        try:
            yield self
        finally:
            undo()


def _swap_syscall(number: int, handler) -> Callable[[], Callable[[], None]]:
    def patch() -> Callable[[], None]:
        old = TABLE[number]
        TABLE[number] = SyscallEntry(handler, old.blocking)

        def undo() -> None:
            TABLE[number] = old

        return undo

    return patch


def _swap_attribute(owner: object, name: str, make) -> Callable[[], Callable[[], None]]:
    def patch() -> Callable[[], None]:
        old = getattr(owner, name)
        setattr(owner, name, make(old))

        def undo() -> None:
            setattr(owner, name, old)

        return undo

    return patch


CATALOGUE: dict[str, Bug] = {
    bug.name: bug
    for bug in (
        Bug("read_overflow", SAFE, "read() copies count + 4096 bytes to the user buffer", "demo_read_overflow",
            "kernel/syscall/fs.py: sys_read", _swap_syscall(nr.SYS_READ, safe_bugs.read_overflow)),
        Bug("kept_frame", SAFE, "munmap keeps a frame handle and later writes through it",
            "demo_kept_frame", "kernel/syscall/mm.py: sys_munmap",
            _swap_syscall(nr.SYS_MUNMAP, safe_bugs.kept_frame_munmap)),
        Bug("map_typed_frame", SAFE, "brk maps a kernel (typed) frame into user space", "demo_typed_frame",
            "kernel/syscall/mm.py: sys_brk", _swap_syscall(nr.SYS_BRK, safe_bugs.map_typed_frame_brk)),
        Bug("syscall_exception", SAFE, "uname raises IndexError (an unhandled exception)", "demo_oops",
            "kernel/syscall/misc.py: sys_uname", _swap_syscall(nr.SYS_UNAME, safe_bugs.uname_index_error)),
        Bug("double_put", OSTD, "unmapping a copy-on-write page drops the sharer's reference too",
            "demo_double_put", "ostd/mm/vm_space.py: VmSpace._release",
            _swap_attribute(vm_space_mod.VmSpace, "_release", lambda _old: ostd_bugs.release_twice)),
        Bug("no_tlb_flush", OSTD, "unmap frees frames without flushing the TLB", "demo_stale_tlb",
            "ostd/mm/vm_space.py: VmSpace._unmap_range",
            _swap_attribute(vm_space_mod.VmSpace, "_unmap_range", lambda _old: ostd_bugs.unmap_without_flush)),
        Bug("alloc_in_use", OSTD, "the frame allocator sometimes hands out a frame in use", "demo_frame_reuse",
            "ostd/mm/frame.py: FrameAllocator.alloc",
            _swap_attribute(frame_mod.FrameAllocator, "alloc", ostd_bugs.alloc_reusing)),
        Bug("user_copy_unchecked", OSTD, "VmReader/VmWriter skip the user-range (U/S) check",
            "demo_steal_secret", "ostd/mm/io.py: _translate",
            _swap_attribute(io_mod, "_translate", lambda _old: ostd_bugs.translate_unchecked)),
    )
}  # fmt: skip


@dataclass
class Outcome:
    bug: Bug
    verdict: str
    evidence: list[str]
    result: runner.RunResult

    @property
    def expected(self) -> bool:
        """Safe-code bugs must be contained; OSTD bugs are expected to corrupt."""
        return self.verdict == (CONTAINED if self.bug.layer == SAFE else CORRUPTED)


def run_demo(bug: Bug, injected: bool = True, ram_size: int = DEMO_RAM) -> Outcome:
    """Boot a fresh machine (with the bug on, unless ``injected`` is False), run the
    bug's demonstration, audit memory, and judge."""
    argv = [f"/bin/{bug.program}"]
    if injected:
        with bug.injected():
            result = runner.run(argv, memcheck=True, ram_size=ram_size, deterministic=True)
    else:
        result = runner.run(argv, memcheck=True, ram_size=ram_size, deterministic=True)
    return Outcome(bug, *_judge(result), result)


def _judge(result: runner.RunResult) -> tuple[str, list[str]]:
    out = result.stdout.decode(errors="replace")
    evidence: list[str] = []
    for line in out.splitlines():
        if " -1 E" in line or "SIGSEGV" in line or "intact:" in line or "changed" in line or "found" in line \
                or "confirms" in line or "no fault" in line or "overwritten: yes" in line:  # fmt: skip
            evidence.append(line.strip())
    evidence += [message.split(" in safe kernel code")[0] for message in result.oopses]
    findings = result.memcheck_findings
    if findings:
        evidence.append(f"memcheck: {len(findings)} findings, e.g. {findings[0]}")
    if result.panic:
        evidence.append(f"panic: {result.panic}")
    corrupted = "RESULT: corrupted" in out or bool(findings)
    intact = "RESULT: intact" in out
    ran_on = result.panic is None and result.status == 0
    if corrupted:
        return CORRUPTED, evidence
    if intact and ran_on:
        if not findings:
            evidence.append("memcheck: clean")
        return CONTAINED, evidence
    evidence.append(f"exit status {result.status}")
    return INCONCLUSIVE, evidence


def run_all() -> list[Outcome]:
    return [run_demo(bug) for bug in CATALOGUE.values()]


def format_table(outcomes: list[Outcome]) -> str:
    rows = [("bug", "layer", "outcome", "evidence")]
    for o in outcomes:
        rows.append((o.bug.name, o.bug.layer, o.verdict, o.evidence[0] if o.evidence else ""))
        rows += [("", "", "", line) for line in o.evidence[1:]]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
        if i == 0:
            lines.append("-" * (sum(widths) + 6 + max(len(r[3]) for r in rows)))
    return "\n".join(lines)


def main(names: list[str] | None = None, injected: bool = True, echo=print) -> int:
    """``asterinas-lab bugs [NAME ...]``: run the demonstrations and print the table.
    Exit status 0 when every safe-code bug was contained and every OSTD bug corrupted
    memory (or, with ``injected=False``, when every demonstration ran clean)."""
    selected = names or list(CATALOGUE)
    unknown = [name for name in selected if name not in CATALOGUE]
    if unknown:
        print(f"asterinas-lab: unknown bug {', '.join(unknown)}; known: {', '.join(CATALOGUE)}", file=sys.stderr)
        return 2
    outcomes = [run_demo(CATALOGUE[name], injected=injected) for name in selected]
    echo(format_table(outcomes))
    if injected:
        good = all(o.expected for o in outcomes)
        echo("\nevery safe-code bug was contained and every OSTD bug corrupted memory" if good
             else "\nUNEXPECTED: " + ", ".join(o.bug.name for o in outcomes if not o.expected))  # fmt: skip
    else:
        good = all(o.verdict == CONTAINED for o in outcomes)
        echo("\nwithout the bugs every demonstration runs clean" if good else "\nUNEXPECTED outcomes")
    return 0 if good else 1
