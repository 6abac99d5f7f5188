"""Running a program under a notebook's control (asterinas_lab/viz/session.py) and
looking inside the paused machine (asterinas_lab/viz/inspector.py)."""

from __future__ import annotations

from html.parser import HTMLParser

import capstone
import pytest
from elftools.elf.elffile import ELFFile

from asterinas_lab import runner
from asterinas_lab.images import BIN_DIR
from asterinas_lab.ostd import ReturnReason
from asterinas_lab.viz import session as session_mod
from asterinas_lab.viz.inspector import HexDump, disassemble_bytes
from asterinas_lab.viz.session import Session, SessionError

_MD = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
# Instructions after which RIP is not simply the next instruction.
_JUMPS = {"jmp", "call", "ret", "syscall", "loop", "loope", "loopne", "jrcxz", "jecxz"}


@pytest.fixture(autouse=True)
def _close_sessions():
    yield
    active = session_mod._active
    if active is not None:
        active.close()


class _Html(HTMLParser):
    """Checks that tags nest properly; collects table cells and all text."""

    VOID = {"br", "hr", "img", "meta", "input", "col"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.rows: list[list[str]] = []
        self.text = ""
        self._cell = False

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()
        if tag in ("td", "th"):
            self._cell = False

    def handle_data(self, data):
        self.text += data
        if self._cell:
            self.rows[-1][-1] += data


def parse_html(markup: str) -> _Html:
    parser = _Html()
    parser.feed(markup)
    parser.close()
    assert not parser.stack, f"unclosed tags: {parser.stack}"
    return parser


def bundle_of(obj) -> dict[str, str]:
    bundle = obj._repr_mimebundle_()
    assert {"text/plain", "text/html"} <= set(bundle)
    parse_html(bundle["text/html"])
    return bundle


def _decoded(s: Session, address: int) -> capstone.CsInsn:
    code = s.process.read_bytes(address, 15)
    return next(_MD.disasm(code, address))


# --- stepping ---------------------------------------------------------------------------------


def test_session_pauses_at_the_entry_point():
    s = Session(["/bin/hello"])
    elf = ELFFile(open(BIN_DIR / "hello", "rb"))
    assert s.paused and not s.finished
    assert s.thread.tid == 1 and s.process.pid == 1
    assert s.registers()["rip"] == elf.header.e_entry
    assert s.syscall_count == 0 and s.stdout == b""
    assert "at the entry point" in s.status()


def _check_steps(s: Session, n: int) -> int:
    """Step ``n`` times; each step must run exactly one instruction. Returns how many
    steps were checked against the decoded size (those that do not jump)."""
    checked = 0
    for _ in range(n):
        before = s.registers()["rip"]
        insn = _decoded(s, before)
        steps, syscalls = s.steps, s.syscall_count
        s.step()
        if s.finished:
            break
        assert s.steps == steps + 1
        after = s.registers()["rip"]
        if insn.mnemonic == "syscall":
            assert s.reason is ReturnReason.USER_SYSCALL and after == before + 2
            assert s.syscall_count == syscalls + 1
        else:
            assert s.syscall_count == syscalls, f"{insn.mnemonic} at {before:#x} ran on to a syscall"
        if insn.mnemonic not in _JUMPS and not insn.mnemonic.startswith(("j", "rep", "cmov")):
            assert after == before + insn.size, f"{insn.mnemonic} {insn.op_str} at {before:#x}"
            checked += 1
    return checked


def test_step_advances_rip_by_exactly_one_instruction():
    s = Session(["/bin/hello"])
    assert _check_steps(s, 300) > 100


def test_steps_stay_single_after_running_freely():
    # The loop's code was translated while running freely: a step must still stop
    # after one instruction (and the free runs after steps must not crash the program).
    s = Session(["/bin/getppid_loop", "200"])
    for _ in range(3):
        s.step_syscall(20, name="getppid")
        assert _check_steps(s, 40) > 10
    assert s.run().exit_code == 0


def test_step_over_a_syscall_serves_it():
    s = Session(["/bin/tiny"])
    while _decoded(s, s.registers()["rip"]).mnemonic != "syscall":
        s.step()
    assert s.disassemble(1).current.note.startswith("write")
    s.step()
    assert s.reason is ReturnReason.USER_SYSCALL
    assert s.last_syscall.name == "write" and s.stdout == b"Hello from user mode!\n"
    assert s.registers()["rax"] == len(s.stdout)


def test_step_syscall_stops_right_after_each_syscall():
    expected = runner.run(["/bin/hello"], strace=True).stderr.decode().splitlines()
    s = Session(["/bin/hello"])
    seen = []
    while True:
        s.step_syscall()
        if s.finished:
            break
        assert s.reason is ReturnReason.USER_SYSCALL
        seen.append(s.last_syscall.text)
        # Paused just after the syscall instruction, its result in RAX.
        rip = s.registers()["rip"]
        assert s.process.read_bytes(rip - 2, 2) == b"\x0f\x05"
        if s.last_syscall.ret is not None:
            assert s.registers()["rax"] == s.last_syscall.ret & (1 << 64) - 1
        assert s.last_syscall.text in s.status()
    assert seen == expected[: len(seen)] and len(seen) >= len(expected) - 1  # exit_group ends it
    assert s.result.exit_code == 0


def test_step_syscall_by_name_and_count():
    s = Session(["/bin/getppid_loop", "50"])
    s.step_syscall(10, name="getppid")
    assert s.last_syscall.name == "getppid"
    assert sum(1 for c in s.syscalls if c.name == "getppid") == 10


def test_run_finishes_with_the_same_output_as_runner_run():
    for argv in (["/bin/hello"], ["/bin/fork_tree"], ["/bin/pthread_counter"]):
        expected = runner.run(argv)
        s = Session(argv)
        s.step(20)
        s.step_syscall(3)
        result = s.run()
        assert result.stdout == expected.stdout and result.exit_code == expected.exit_code == 0, argv
        assert s.finished and s.result is result
        assert "finished, exit status 0" in s.status()
        bundle_of(s)
        with pytest.raises(SessionError):
            s.step()
        with pytest.raises(SessionError):
            s.registers()


def test_stepping_through_a_whole_forking_program_keeps_its_output():
    expected = runner.run(["/bin/fork_tree"]).stdout
    s = Session(["/bin/fork_tree"])
    pids = set()
    while not s.finished:
        s.step_syscall()
        if s.finished:
            break
        pids.add(s.process.pid)
        if len(pids) > 3 and s.process.pid != 1 and not s.thread.exited:
            s.step(5)  # single steps in a child
    assert s.result.stdout == expected
    assert len(pids) > 10


def test_step_follows_its_thread():
    s = Session(["/bin/pthread_counter"])
    s.step_syscall(name="clone")
    assert len(s.threads()) == 2
    other = next(t for t in s.threads() if t.tid != 1)
    s.step(3, thread=other.tid)
    assert s.thread is other and s.steps == 3
    for _ in range(50):
        s.step()
        assert s.thread is other  # the default: the thread paused in
    s.step(thread=1)
    for _ in range(50):
        s.step()
        assert s.thread.tid == 1
    assert s.run().exit_code == 0


def test_run_until_a_predicate():
    s = Session(["/bin/fork_tree"])
    s.run_until(lambda s: len(s.kernel.processes) >= 4)
    assert len(s.kernel.processes) >= 4 and s.paused
    table = s.processes()
    assert len(table) == len(s.kernel.processes)
    assert [r.pid for r in table if r.current] == [s.process.pid]
    # exact, instruction by instruction
    s.step_syscall()
    steps = s.steps
    s.run_until(lambda s: s.steps - steps >= 5, step=True)
    assert s.steps == steps + 5
    s.run_until(lambda s: s.registers()["rsp"] % 16 == 8, step=True)
    assert s.registers()["rsp"] % 16 == 8

    def boom(_s):
        raise ValueError("predicate failed")

    with pytest.raises(ValueError):
        s.run_until(boom)
    assert s.paused  # the error paused the machine, it did not kill the program
    assert s.run().stdout == runner.run(["/bin/fork_tree"]).stdout


def test_run_until_a_crash():
    s = Session(["/bin/segv_null"])
    s.run_until(lambda s: s.reason is ReturnReason.USER_EXCEPTION)
    assert "after a page fault at 0x0" in s.status()
    assert s.disassemble(1).current.op_str.startswith("dword ptr [rax]")
    assert s.registers()["rax"] == 0
    result = s.run()
    assert result.signal == 11 and result.stdout == runner.run(["/bin/segv_null"]).stdout


def test_close_kills_the_program_and_a_new_session_closes_the_old_one():
    s = Session(["/bin/count_loop", "1000000000"])
    s.step_syscall()
    t = Session(["/bin/hello"])
    assert s.finished and s.result.signal == 9
    assert t.paused
    assert t.close().signal == 9 and t.finished
    assert t.close() is t.result  # closing twice is fine


def test_a_run_elsewhere_abandons_a_paused_session():
    s = Session(["/bin/hello"])
    assert runner.run(["/bin/tiny"]).stdout == b"Hello from user mode!\n"
    assert not s.paused
    with pytest.raises(SessionError):
        s.step()
    assert "abandoned" in s.status()
    assert s.close() is None
    bundle_of(s)


def test_run_options_and_with_kernel_are_passed_through():
    kernels = []
    s = Session(["/bin/args", "one", "two"], with_kernel=kernels.append, env={"X": "1"})
    assert kernels == [s.kernel]
    result = s.run()
    assert result.stdout == runner.run(["/bin/args", "one", "two"], env={"X": "1"}).stdout


# --- inspection -------------------------------------------------------------------------------


def test_registers_render_and_mark_what_changed():
    s = Session(["/bin/hello"])
    s.step()
    regs = s.registers()
    assert set(regs) >= {"rax", "rsp", "rip", "rflags", "fs_base"}
    assert "rip" in regs.changed and "rsp" not in regs.changed
    bundle = bundle_of(regs)
    cells = parse_html(bundle["text/html"]).rows
    assert any(f"{regs['rip']:#018x}" in row for row in cells)
    assert f"{regs['rsp']:#018x}" in bundle["text/plain"]
    assert regs == s.thread.context.general_regs()


def test_disassembly_marks_the_current_instruction():
    s = Session(["/bin/hello"])
    rip = s.registers()["rip"]
    code = s.disassemble(8)
    assert len(code) == 8 and code[0].current and code.current.address == rip
    assert [i.current for i in code].count(True) == 1
    first = _decoded(s, rip)
    assert (code[0].mnemonic, code[0].size) == (first.mnemonic, first.size)
    assert all(b.address == a.address + a.size for a, b in zip(code, code[1:], strict=False))
    bundle = bundle_of(code)
    assert bundle["text/plain"].splitlines()[0].startswith("=>")
    assert f"{rip:#x}" in parse_html(bundle["text/html"]).text
    elsewhere = s.disassemble(3, address=code[2].address)
    assert elsewhere[0].address == code[2].address and not any(i.current for i in elsewhere)


def test_disassembly_of_unreadable_memory_says_so():
    dis = disassemble_bytes(b"\x90\x90", 0x1000, n=4)
    assert len(dis) == 2 and dis.truncated == "unreadable memory"
    bundle_of(dis)


def test_hexdump_shows_argv_on_the_stack():
    s = Session(["/bin/hello", "--greeting"])
    rsp = s.registers()["rsp"]
    assert s.hexdump(rsp, 8).bytes() == (2).to_bytes(8, "little")  # argc
    argv1 = int.from_bytes(s.hexdump(rsp + 16, 8).bytes(), "little")
    dump = s.hexdump(argv1, 11)
    assert dump.bytes() == b"--greeting\0"
    text = dump.text()
    assert "2d 2d 67 72 65 65 74 69" in text  # rows are 16-byte aligned, as in hexdump -C
    assert "".join(line.split("|")[1] for line in text.splitlines()).strip() == "--greeting."
    html = parse_html(dump._repr_mimebundle_()["text/html"])
    assert "--greeti" in html.text and "ng." in html.text


def test_hexdump_of_rodata_and_of_unmapped_memory():
    s = Session(["/bin/hello"])
    elf = ELFFile(open(BIN_DIR / "hello", "rb"))
    found = None
    for segment in elf.iter_segments():
        if segment["p_type"] == "PT_LOAD":
            at = segment.data().find(b"hello, world")
            if at >= 0:
                found = segment["p_vaddr"] + at
    assert found is not None
    assert s.hexdump(found, 12).bytes() == b"hello, world"
    dump = s.hexdump(0x1000 - 8, 16)  # the page below 0x1000 is never mapped
    assert isinstance(dump, HexDump) and not dump.readable
    assert dump.data[:8] == [None] * 8
    assert "?? ?? ??" in dump.text()
    with pytest.raises(ValueError):
        dump.bytes()
    bundle_of(dump)


def test_looking_changes_nothing():
    # Pages never touched are shown as their first touch would fill them, not faulted in.
    s = Session(["/bin/fork_tree"])
    space = s.process.vm.vm_space
    resident = sorted(vaddr for vaddr, _, _ in space.mappings())
    faults = s.page_faults
    first = s.areas().rows[0]  # the ELF headers' page: not touched yet
    assert first.start not in resident
    assert s.hexdump(first.start, 4).bytes() == b"\x7fELF"
    stack = next(r for r in s.areas() if r.name == "[stack]")
    assert stack.resident < stack.pages
    assert s.hexdump(stack.start, 32).bytes() == bytes(32)
    s.disassemble(50)
    s.registers()
    assert sorted(vaddr for vaddr, _, _ in space.mappings()) == resident
    assert s.page_faults == faults
    assert s.run().exit_code == 0


def test_processes_and_areas():
    s = Session(["/bin/fork_tree"])
    s.step_syscall(3, name="fork")
    table = s.processes()
    rows = {r.pid: r for r in table}
    assert rows[1].comm == "fork_tree" and len(rows) >= 3
    assert all(r.state in "RrSZX" for r in table)
    assert sum(r.current for r in table) == 1
    html = parse_html(bundle_of(table)["text/html"])
    assert html.rows[0] == ["pid", "ppid", "state", "threads", "command"]
    areas = s.areas()
    assert areas.rows and areas.resident > 0
    assert any(r.name == "[stack]" and r.resident >= 1 for r in areas)
    assert all(0 <= r.resident <= r.pages for r in areas)
    assert areas.resident == len(list(s.process.vm.vm_space.mappings()))
    bundle_of(areas)


def test_session_display():
    s = Session(["/bin/hello"])
    bundle = bundle_of(s)
    assert "paused in pid 1 (hello)" in bundle["text/plain"]
    assert "=>" in bundle["text/plain"]
    s.run()
    assert "hello, world" in bundle_of(s)["text/plain"]
