"""Looking inside a paused machine: registers, code, memory, processes, VM areas.

Each function reads a live machine (through the kernel's own accessors, such as
``Process.read_bytes``) and returns plain data that draws itself in a notebook
(``_repr_mimebundle_``: text/plain and text/html) and stays usable after the machine
is gone. :class:`asterinas_lab.viz.session.Session` uses them on the thread it is
paused in::

    registers(thread)                  # Registers: a dict name -> value
    disassemble(thread, n=8)           # Disassembly from RIP, the current instruction marked
    hexdump(process, vaddr, length)    # HexDump, ``??`` where memory cannot be read
    process_table(kernel)              # ProcessTable: pid, ppid, state, threads, command
    vm_areas(process)                  # AreaTable: VM areas with their resident pages

Looking changes nothing: memory is read through the kernel's ``read_bytes`` only where
it is resident; a page never touched shows what its first touch would bring in.
"""

from __future__ import annotations

import bisect
import html
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..kernel.error import LinuxError
from ..ostd import USER_SPACE_END, OstdError
from .figures import TextAndHtml

PAGE_SIZE = 4096
PROT_READ = 1
#: Registers in the order a table shows them.
REGISTER_ORDER = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12",
                  "r13", "r14", "r15", "rip", "rflags", "fs_base", "gs_base")  # fmt: skip
RFLAGS_BITS = (("CF", 0), ("PF", 2), ("AF", 4), ("ZF", 6), ("SF", 7), ("TF", 8), ("IF", 9), ("DF", 10),
               ("OF", 11))  # fmt: skip
MONO = "font-family:monospace;text-align:left"
HIGHLIGHT = "background:#d7ecff;font-weight:bold;"


def html_table(head: Iterable[str], rows: Iterable[str], css: str) -> str:
    heads = "".join(f"<th style='{MONO}'>{html.escape(h)}</th>" for h in head)
    return f"<table class='{css}'><thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def html_cells(values: Iterable[object], style: str = "") -> str:
    return "<tr>" + "".join(f"<td style='{style}{MONO}'>{html.escape(str(v))}</td>" for v in values) + "</tr>"


def signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# --- memory ---------------------------------------------------------------------------------------


def read_memory(process: Any, vaddr: int, length: int) -> list[int | None]:
    """``length`` bytes of ``process``'s memory from ``vaddr``: each an int, or None
    where it cannot be read. Looking changes nothing: a page of a VM area that is not
    resident (never touched) is not faulted in; it shows what the first touch would
    bring in (the file's bytes, or zeros)."""
    out: list[int | None] = []
    address, end = vaddr, vaddr + length
    while address < end:
        chunk = min(end, (address // PAGE_SIZE + 1) * PAGE_SIZE) - address
        data = _read_page_part(process, address, chunk)
        out.extend(data if data is not None else [None] * chunk)
        address += chunk
    return out


def _read_page_part(process: Any, address: int, length: int) -> bytes | None:
    """``length`` bytes at ``address``, all within one page, or None."""
    vm = getattr(process, "vm", None)
    if vm is not None:
        page = address - address % PAGE_SIZE
        if not 0 <= page < USER_SPACE_END:
            return None
        try:
            resident = vm.vm_space.query_flags(page) is not None
        except Exception:  # noqa: BLE001 - a torn-down address space: nothing to read
            return None
        if not resident:
            area = vm.find(page)
            if area is None or not area.prot & PROT_READ or area.shared_mem is not None:
                return None
            initial = (area.bytes_for_page(page) or b"").ljust(PAGE_SIZE, b"\0")
            return initial[address - page : address - page + length]
    try:
        data = process.read_bytes(address, length)
    except (LinuxError, OstdError, OverflowError, ValueError):
        return None
    return data if len(data) == length else None


def read_readable(process: Any, start: int, length: int) -> bytes:
    """The bytes from ``start`` up to the first unreadable one (at most ``length``)."""
    data = bytearray()
    for byte in read_memory(process, start, length):
        if byte is None:
            break
        data.append(byte)
    return bytes(data)


class HexDump(TextAndHtml):
    """Bytes at a virtual address, like ``hexdump -C``; a None byte is unreadable (``??``)."""

    def __init__(self, vaddr: int, data: list[int | None], pid: int | None = None) -> None:
        self.vaddr = vaddr
        self.data = data
        self.pid = pid

    def __len__(self) -> int:
        return len(self.data)

    @property
    def readable(self) -> bool:
        return all(b is not None for b in self.data)

    def bytes(self) -> bytes:
        """The bytes, if all are readable (else ValueError)."""
        if not self.readable:
            raise ValueError("part of the range is unreadable")
        return bytes(self.data)  # type: ignore[arg-type]

    def _rows(self) -> Iterator[tuple[int, list[int | None]]]:
        """Rows of 16 aligned bytes; -1 pads before the start and after the end."""
        end = self.vaddr + len(self.data)
        for row in range(self.vaddr - self.vaddr % 16, end, 16):
            cells: list[int | None] = []
            for address in range(row, row + 16):
                i = address - self.vaddr
                cells.append(self.data[i] if 0 <= i < len(self.data) else -1)
            yield row, cells

    @staticmethod
    def _hex(b: int | None) -> str:
        return "  " if b == -1 else "??" if b is None else f"{b:02x}"

    @staticmethod
    def _char(b: int | None) -> str:
        return " " if b == -1 else "?" if b is None else chr(b) if 32 <= b < 127 else "."

    def text(self) -> str:
        lines = []
        for row, cells in self._rows():
            left = " ".join(self._hex(b) for b in cells[:8])
            right = " ".join(self._hex(b) for b in cells[8:])
            lines.append(f"{row:016x}  {left}  {right}  |{''.join(self._char(b) for b in cells)}|")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<HexDump {len(self.data)} bytes at {self.vaddr:#x}>"

    def to_html(self) -> str:
        rows = []
        for row, cells in self._rows():
            hexes = []
            for i, b in enumerate(cells):
                sep = "  " if i == 8 else " " if i else ""
                hexes.append(sep + ("<span style='color:#c00'>??</span>" if b is None else self._hex(b)))
            chars = html.escape("".join(self._char(b) for b in cells))
            rows.append(f"<tr><td style='{MONO};color:#888'>{row:016x}</td>"
                        f"<td style='{MONO};white-space:pre'>{''.join(hexes)}</td>"
                        f"<td style='{MONO};white-space:pre'>|{chars}|</td></tr>")  # fmt: skip
        who = f" of pid {self.pid}" if self.pid is not None else ""
        caption = f"<div style='{MONO}'>{len(self.data)} bytes at {self.vaddr:#x}{who}</div>"
        return caption + html_table(["address", "bytes", "ascii"], rows, "asterinas-hexdump")


def hexdump(process: Any, vaddr: int, length: int = 128) -> HexDump:
    return HexDump(vaddr, read_memory(process, vaddr, length), pid=process.pid)


# --- registers ------------------------------------------------------------------------------------


def rflags_names(value: int) -> str:
    return " ".join(name for name, bit in RFLAGS_BITS if value >> bit & 1)


class Registers(TextAndHtml, dict):
    """A thread's user registers (a dict: name -> value) that draws itself as a table.
    ``changed`` names the registers that differ from an earlier reading."""

    def __init__(self, values: dict[str, int], tid: int = 0, pid: int = 0, changed: Iterable[str] = ()) -> None:
        super().__init__(values)
        self.tid, self.pid = tid, pid
        self.changed = set(changed)

    def _names(self) -> list[str]:
        return [n for n in REGISTER_ORDER if n in self] + [n for n in self if n not in REGISTER_ORDER]

    def text(self) -> str:
        lines = [f"registers of tid {self.tid} (pid {self.pid}):"]
        for name in self._names():
            value = self[name]
            mark = " *" if name in self.changed else ""
            extra = f"  [{rflags_names(value)}]" if name == "rflags" else ""
            lines.append(f"  {name:>7} {value:#018x} {signed(value):>20}{extra}{mark}")
        return "\n".join(lines)

    def to_html(self, columns: int = 1) -> str:
        cells = []
        for name in self._names():
            value = self[name]
            style = "background:#fff3b0;" if name in self.changed else ""
            note = rflags_names(value) if name == "rflags" else str(signed(value))
            cells.append(f"<td style='{style}{MONO}'><b>{name}</b></td>"
                         f"<td style='{style}{MONO}'>{value:#018x}</td>"
                         f"<td style='{style}{MONO};color:#666'>{html.escape(note)}</td>")  # fmt: skip
        per = (len(cells) + columns - 1) // columns
        rows = ["<tr>" + "".join(cells[i + c * per] for c in range(columns) if i + c * per < len(cells)) + "</tr>"
                for i in range(per)]  # fmt: skip
        caption = f"<div style='{MONO}'>registers of tid {self.tid} (pid {self.pid})"
        caption += ", changed since the last stop highlighted</div>" if self.changed else "</div>"
        return caption + html_table(["register", "value", ""] * columns, rows, "asterinas-registers")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self.to_html(columns=2)}


def registers(thread: Any, previous: dict[str, int] | None = None) -> Registers:
    """``thread``'s user registers; those that differ from ``previous`` are marked."""
    values = thread.context.general_regs()
    changed = [k for k, v in values.items() if previous is not None and previous.get(k) != v]
    return Registers(values, tid=thread.tid, pid=thread.process.pid, changed=changed)


# --- code -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    address: int
    size: int
    raw: bytes
    mnemonic: str
    op_str: str
    current: bool = False
    note: str = ""

    def __str__(self) -> str:
        mark = "=>" if self.current else "  "
        note = f"  ; {self.note}" if self.note else ""
        return f"{mark} {self.address:#014x}: {self.raw.hex(' '):<30} {self.mnemonic} {self.op_str}{note}".rstrip()


class Disassembly(TextAndHtml):
    """Decoded instructions (capstone); ``=>`` marks the one at RIP."""

    def __init__(self, instructions: list[Instruction], start: int, truncated: str = "") -> None:
        self.instructions = instructions
        self.start = start
        self.truncated = truncated  # why the listing stops early, if it does

    def __len__(self) -> int:
        return len(self.instructions)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self.instructions)

    def __getitem__(self, i: int) -> Instruction:
        return self.instructions[i]

    @property
    def current(self) -> Instruction | None:
        return next((i for i in self.instructions if i.current), None)

    def text(self) -> str:
        lines = [str(i) for i in self.instructions]
        if self.truncated:
            lines.append(f"   ({self.truncated})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Disassembly {len(self.instructions)} instructions at {self.start:#x}>"

    def to_html(self) -> str:
        rows = []
        for i in self.instructions:
            style = HIGHLIGHT if i.current else ""
            rows.append(
                f"<tr><td style='{style}{MONO}'>{'&rArr;' if i.current else ''}</td>"
                f"<td style='{style}{MONO}'>{i.address:#x}</td>"
                f"<td style='{style}{MONO};color:#888'>{i.raw.hex(' ')}</td>"
                f"<td style='{style}{MONO}'>{html.escape(f'{i.mnemonic} {i.op_str}'.strip())}</td>"
                f"<td style='{style}{MONO};color:#666'>{html.escape(i.note)}</td></tr>"
            )
        more = f"<div style='{MONO}'>({html.escape(self.truncated)})</div>" if self.truncated else ""
        return html_table(["", "address", "bytes", "instruction", ""], rows, "asterinas-disasm") + more


def disassemble_bytes(code: bytes, start: int, n: int = 8, current: int | None = None,
                      rax: int | None = None) -> Disassembly:  # fmt: skip
    """Decode up to ``n`` x86-64 instructions of ``code`` (loaded at ``start``). A
    ``syscall`` at ``current`` is annotated with the call ``rax`` names."""
    import capstone

    from ..kernel.syscall.numbers import SYSCALL_NAMES

    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    out: list[Instruction] = []
    end = start
    for insn in md.disasm(code, start):
        if len(out) >= n:
            break
        note = ""
        if insn.mnemonic == "syscall" and insn.address == current and rax is not None:
            note = f"{SYSCALL_NAMES.get(rax, str(rax))} (rax={rax})"
        out.append(Instruction(insn.address, insn.size, bytes(insn.bytes), insn.mnemonic, insn.op_str,
                               current=insn.address == current, note=note))  # fmt: skip
        end = insn.address + insn.size
    truncated = ""
    if len(out) < n:
        truncated = "unreadable memory" if end >= start + len(code) else f"cannot decode the bytes at {end:#x}"
    return Disassembly(out, start, truncated)


def disassemble(thread: Any, n: int = 8, address: int | None = None) -> Disassembly:
    """``n`` instructions of ``thread``'s process from ``address`` (default: its RIP),
    read through ``process.read_bytes``."""
    rip = thread.context.rip
    start = rip if address is None else address
    code = read_readable(thread.process, start, 15 * n)
    rax = thread.context.rax if start <= rip < start + len(code) else None
    return disassemble_bytes(code, start, n, current=rip, rax=rax)


# --- processes --------------------------------------------------------------------------------------

STATE_NAMES = {"R": "running", "r": "runnable", "S": "sleeping", "T": "stopped", "Z": "zombie",
               "X": "exiting"}  # fmt: skip


@dataclass(frozen=True)
class ProcessRow:
    pid: int
    ppid: int
    comm: str
    state: str  # a letter of STATE_NAMES
    threads: tuple[tuple[int, str], ...]  # (tid, state letter)
    current: bool = False

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, self.state)


def thread_state(thread: Any, current: Any = None) -> str:
    """R: the thread the machine is paused in; r: runnable; S: asleep; X: exited."""
    if thread.exited:
        return "X"
    if thread is current:
        return "R"
    status = getattr(getattr(thread.task, "status", None), "value", "runnable")
    return {"runnable": "r", "sleeping": "S", "exited": "X"}.get(status, "r")


def process_state(process: Any, current: Any = None) -> str:
    if process.zombie:
        return "Z"
    if process.exiting:
        return "X"
    if process.stopped:
        return "T"
    states = {thread_state(t, current) for t in process.threads}
    return next((s for s in ("R", "r", "S") if s in states), "X")


class ProcessTable(TextAndHtml):
    """The processes of a machine, like ``ps``; ``*`` marks the paused thread's process."""

    def __init__(self, rows: list[ProcessRow]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ProcessRow]:
        return iter(self.rows)

    def text(self) -> str:
        lines = ["  PID  PPID STATE      THREADS          COMMAND"]
        for r in self.rows:
            threads = ",".join(f"{tid}{s}" for tid, s in r.threads)
            mark = "*" if r.current else " "
            lines.append(f"{mark}{r.pid:>4} {r.ppid:>5} {r.state_name:<10} {threads:<16} {r.comm}")
        return "\n".join(lines)

    def to_html(self) -> str:
        rows = []
        for r in self.rows:
            threads = ", ".join(f"{tid} ({STATE_NAMES.get(s, s)})" for tid, s in r.threads)
            rows.append(html_cells((r.pid, r.ppid, r.state_name, threads, r.comm), HIGHLIGHT if r.current else ""))
        return html_table(["pid", "ppid", "state", "threads", "command"], rows, "asterinas-ps")


def process_table(kernel: Any, current: Any = None) -> ProcessTable:
    """Every process ``kernel`` knows (zombies included); ``current`` is the thread the
    machine is paused in, if any."""
    rows = []
    for process in sorted(kernel.processes.values(), key=lambda p: p.pid):
        rows.append(ProcessRow(
            pid=process.pid, ppid=process.parent.pid if process.parent is not None else 0,
            comm=process.comm.decode(errors="replace"), state=process_state(process, current),
            threads=tuple((t.tid, thread_state(t, current)) for t in process.threads),
            current=current is not None and current.process is process,
        ))  # fmt: skip
    return ProcessTable(rows)


# --- VM areas -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaRow:
    start: int
    end: int
    perms: str  # rwxp / rwxs, as in /proc/PID/maps
    name: str
    resident: int  # pages mapped in the page table now

    @property
    def pages(self) -> int:
        return (self.end - self.start) // PAGE_SIZE


class AreaTable(TextAndHtml):
    """A process's VM areas (``process.vm.areas``) with their resident pages (from the
    page table: ``vm_space.mappings()``), like /proc/PID/maps with a count."""

    def __init__(self, rows: list[AreaRow], pid: int | None = None, outside: int = 0) -> None:
        self.rows = rows
        self.pid = pid
        self.outside = outside  # pages mapped outside every area (none, unless a bug)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[AreaRow]:
        return iter(self.rows)

    @property
    def resident(self) -> int:
        return sum(r.resident for r in self.rows) + self.outside

    @property
    def pages(self) -> int:
        return sum(r.pages for r in self.rows)

    def summary(self) -> str:
        who = f"pid {self.pid}: " if self.pid is not None else ""
        return f"{who}{len(self.rows)} areas, {self.pages} pages, {self.resident} resident"

    def text(self) -> str:
        lines = [self.summary()]
        for r in self.rows:
            lines.append(f"  {r.start:012x}-{r.end:012x} {r.perms} {r.resident:>6}/{r.pages:<6} {r.name}")
        if self.outside:
            lines.append(f"  ({self.outside} pages mapped outside every area)")
        return "\n".join(lines)

    def to_html(self) -> str:
        rows = []
        for r in self.rows:
            share = r.resident / r.pages if r.pages else 0
            bar = (f"<div style='width:80px;height:8px;background:#eee;display:inline-block'><div "
                   f"style='width:{round(80 * share)}px;height:8px;background:#35b779'></div></div>")  # fmt: skip
            rows.append(f"<tr><td style='{MONO}'>{r.start:#x}-{r.end:#x}</td><td style='{MONO}'>{r.perms}</td>"
                        f"<td style='{MONO}'>{r.resident} / {r.pages} {bar}</td>"
                        f"<td style='{MONO}'>{html.escape(r.name)}</td></tr>")  # fmt: skip
        caption = f"<div style='{MONO}'>{html.escape(self.summary())}</div>"
        return caption + html_table(["range", "perms", "resident / pages", "name"], rows, "asterinas-areas")


def _perms(area: Any) -> str:
    prot = area.prot
    return ("r" if prot & 1 else "-") + ("w" if prot & 2 else "-") + ("x" if prot & 4 else "-") + \
        ("s" if area.shared else "p")  # fmt: skip


def vm_areas(process: Any) -> AreaTable:
    """``process``'s VM areas with the number of resident pages of each."""
    vm = getattr(process, "vm", None)
    if vm is None or process.zombie:
        return AreaTable([], getattr(process, "pid", None))
    mapped = sorted(vaddr for vaddr, _paddr, _flags in vm.vm_space.mappings())
    rows, counted = [], 0
    for area in vm.areas:
        resident = bisect.bisect_left(mapped, area.end) - bisect.bisect_left(mapped, area.start)
        counted += resident
        rows.append(AreaRow(area.start, area.end, _perms(area), area.name or "", resident))
    return AreaTable(rows, process.pid, outside=len(mapped) - counted)
