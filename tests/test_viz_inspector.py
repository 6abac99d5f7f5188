"""Looking inside a machine (asterinas_lab/viz/inspector.py): the display objects on
hand-made data, and the readers on a live, paused machine."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from test_viz_session import bundle_of, parse_html

from asterinas_lab.kernel.error import EFAULT, LinuxError
from asterinas_lab.ostd import TaskStatus
from asterinas_lab.viz import inspector
from asterinas_lab.viz import session as session_mod
from asterinas_lab.viz.inspector import (
    AreaTable,
    HexDump,
    Registers,
    disassemble_bytes,
    process_table,
    read_memory,
    rflags_names,
    vm_areas,
)
from asterinas_lab.viz.session import Session


@pytest.fixture(autouse=True)
def _close_sessions():
    yield
    if session_mod._active is not None:
        session_mod._active.close()


class FakeProcess:
    """Readable memory at [0x1000, 0x3000) holding bytes (address & 0xff)."""

    pid = 7

    def read_bytes(self, addr: int, length: int) -> bytes:
        if addr < 0x1000 or addr + length > 0x3000:
            raise LinuxError(EFAULT)
        return bytes((a & 0xFF) for a in range(addr, addr + length))


def test_read_memory_marks_unreadable_pages():
    data = read_memory(FakeProcess(), 0xFF8, 16)
    assert data[:8] == [None] * 8
    assert data[8:] == list(range(0, 8))
    assert read_memory(FakeProcess(), 0x2FFC, 8) == [0xFC, 0xFD, 0xFE, 0xFF, None, None, None, None]
    assert inspector.read_readable(FakeProcess(), 0x2FFE, 8) == b"\xfe\xff"


def test_hexdump_layout():
    dump = HexDump(0x1004, list(b"Hello, world!\n") + [None, None], pid=3)
    lines = dump.text().splitlines()
    assert lines[0] == ("0000000000001000              48 65 6c 6c  6f 2c 20 77 6f 72 6c 64  |    Hello, world|")
    assert lines[1].startswith("0000000000001010  21 0a ?? ??")
    assert lines[1].endswith("|!.??            |")
    assert not dump.readable and len(dump) == 16
    html = parse_html(bundle_of(dump)["text/html"])
    assert html.rows[0] == ["address", "bytes", "ascii"]
    assert "48 65 6c 6c" in html.rows[1][1] and "??" in html.rows[2][1]
    assert "pid 3" in html.text
    assert HexDump(0, list(b"ab")).bytes() == b"ab"


def test_registers_table():
    values = {name: i for i, name in enumerate(inspector.REGISTER_ORDER)}
    values["rflags"] = 0x246
    values["rax"] = (1 << 64) - 1
    regs = Registers(values, tid=4, pid=2, changed={"rax"})
    assert regs["rsp"] == values["rsp"] and dict(regs) == values
    assert rflags_names(0x246) == "PF ZF IF"
    text = regs.text()
    assert "tid 4 (pid 2)" in text and "[PF ZF IF]" in text
    assert any(line.strip().startswith("rax 0xffffffffffffffff") and line.endswith("-1 *")
               for line in text.splitlines())  # fmt: skip
    for columns in (1, 2):
        html = parse_html(regs.to_html(columns=columns))
        cells = [c for row in html.rows[1:] for c in row]
        assert cells.count("rip") == 1 and f"{values['rip']:#018x}" in cells
        assert len(html.rows) - 1 == -(-len(values) // columns)
    assert "background:#fff3b0" in regs.to_html()  # the changed register stands out


def test_disassembly_of_known_bytes():
    code = bytes.fromhex("4831edb8270000000f05c3")  # xor rbp,rbp; mov eax,39; syscall; ret
    dis = disassemble_bytes(code, 0x401000, n=10, current=0x401008, rax=39)
    assert [(i.address, i.mnemonic) for i in dis] == [
        (0x401000, "xor"), (0x401003, "mov"), (0x401008, "syscall"), (0x40100A, "ret")
    ]  # fmt: skip
    assert dis.current.address == 0x401008 and dis.current.note == "getpid (rax=39)"
    assert dis.truncated == "unreadable memory"  # 4 of 10: the bytes ran out
    lines = dis.text().splitlines()
    assert lines[2].startswith("=> 0x000000401008: 0f 05") and "; getpid" in lines[2]
    html = parse_html(bundle_of(dis)["text/html"])
    assert html.rows[3][3] == "syscall" and "getpid" in html.rows[3][4]
    bad = disassemble_bytes(b"\x90\x06\x90", 0x1000, n=3)  # 0x06 is not an x86-64 instruction
    assert len(bad) == 1 and bad.truncated.startswith("cannot decode the bytes at 0x1001")


def _thread(tid, status=TaskStatus.RUNNABLE, exited=False):
    return SimpleNamespace(tid=tid, exited=exited, task=SimpleNamespace(status=status))


def test_process_table_states():
    init = SimpleNamespace(pid=1, parent=None, comm=b"init", zombie=False, exiting=False, stopped=False,
                           threads=[_thread(1, TaskStatus.SLEEPING)])  # fmt: skip
    worker = SimpleNamespace(pid=2, parent=init, comm=b"worker", zombie=False, exiting=False, stopped=False,
                             threads=[_thread(2), _thread(3, TaskStatus.SLEEPING)])  # fmt: skip
    dead = SimpleNamespace(pid=4, parent=init, comm=b"dead", zombie=True, exiting=False, stopped=False,
                           threads=[_thread(4, TaskStatus.EXITED, exited=True)])  # fmt: skip
    for t in worker.threads:
        t.process = worker
    kernel = SimpleNamespace(processes={4: dead, 2: worker, 1: init})
    table = process_table(kernel, current=worker.threads[0])
    assert [(r.pid, r.ppid, r.state, r.threads, r.current) for r in table] == [
        (1, 0, "S", ((1, "S"),), False),
        (2, 1, "R", ((2, "R"), (3, "S")), True),
        (4, 1, "Z", ((4, "X"),), False),
    ]
    text = table.text()
    assert "*   2     1 running" in text and "zombie" in text
    html = parse_html(bundle_of(table)["text/html"])
    assert html.rows[1] == ["1", "0", "sleeping", "1 (sleeping)", "init"]


def test_vm_areas_counts_resident_pages():
    areas = [SimpleNamespace(start=0x1000, end=0x4000, prot=5, shared=False, name="[text]"),
             SimpleNamespace(start=0x10000, end=0x12000, prot=3, shared=True, name="shm")]  # fmt: skip
    mapped = [(0x1000, 0, 0), (0x3000, 0, 0), (0x11000, 0, 0), (0x20000, 0, 0)]
    vm = SimpleNamespace(areas=areas, vm_space=SimpleNamespace(mappings=lambda: iter(mapped)))
    table = vm_areas(SimpleNamespace(pid=9, zombie=False, vm=vm))
    assert [(r.perms, r.resident, r.pages) for r in table] == [("r-xp", 2, 3), ("rw-s", 1, 2)]
    assert table.outside == 1 and table.resident == 4 and table.pages == 5
    assert table.summary() == "pid 9: 2 areas, 5 pages, 4 resident"
    assert "(1 pages mapped outside every area)" in table.text()
    parse_html(bundle_of(table)["text/html"])
    assert len(vm_areas(SimpleNamespace(pid=9, zombie=True, vm=vm))) == 0
    assert isinstance(AreaTable([]).to_html(), str)


def test_readers_on_a_live_machine():
    s = Session(["/bin/hello"])
    thread = s.thread
    regs = inspector.registers(thread)
    assert regs == thread.context.general_regs() and not regs.changed
    dis = inspector.disassemble(thread, 4)
    assert dis.current is dis[0] and dis[0].address == regs["rip"]
    dump = inspector.hexdump(thread.process, regs["rsp"], 8)
    assert dump.bytes() == (1).to_bytes(8, "little")  # argc
    table = inspector.process_table(s.kernel, thread)
    assert [(r.pid, r.comm, r.state) for r in table] == [(1, "hello", "R")]
    areas = inspector.vm_areas(thread.process)
    assert any(r.name == "[stack]" for r in areas)
