"""Grading tests for lab 1 (a kernel in 100 lines).

The student writes ``create_vm_space(program)`` (map an ELF's PT_LOAD segments) and
``handle_syscall(vm_space, context, output)`` (serve write, exit, exit_group; -EFAULT
for a bad buffer, -EBADF for another fd, -ENOSYS for anything else). The tests boot a
fresh OSTD machine, load real freestanding static programs (images/bin/tiny and
tiny_data) with the student's code, and compare with the same program run natively on
the host (x86-64 Linux).
"""

from __future__ import annotations

import io
import subprocess

from elftools.elf.elffile import ELFFile

from asterinas_lab import ostd
from asterinas_lab.grading import lab_test
from asterinas_lab.images import BIN_DIR
from asterinas_lab.ostd import (
    PAGE_SIZE,
    FrameAllocOptions,
    PageFlags,
    ReturnReason,
    Task,
    UserContext,
    UserMode,
    VmReader,
)

REQUIRED = ("create_vm_space", "handle_syscall")
STACK_TOP = 0x7FFF_0000_0000
RWX = PageFlags.R | PageFlags.W | PageFlags.X
MASK64 = (1 << 64) - 1


def on_machine(work) -> object:
    """Boot a fresh machine and run ``work()`` in a kernel task; return its result."""
    box: dict[str, object] = {}

    def kernel_main(_boot_info) -> None:
        Task(lambda: box.setdefault("result", work()), name="test").run()

    ostd.boot(kernel_main, console_sink=lambda _data: None)
    return box.get("result")


def run_kernel(submission, program: bytes, max_syscalls: int = 1000) -> dict:
    """The lab's kernel: the student's create_vm_space and handle_syscall around the
    user-mode loop. Returns output, exit code, CPU fault (if any) and syscall count."""
    run = {"output": [], "exit_code": None, "fault": None, "syscalls": 0}

    def user_task() -> None:
        vm_space, entry = submission.create_vm_space(program)
        vm_space.cursor_mut(STACK_TOP - PAGE_SIZE, STACK_TOP).map(
            FrameAllocOptions().alloc_frame(), PageFlags.R | PageFlags.W
        )
        context = UserContext()
        context.rip, context.rsp = entry, STACK_TOP
        user_mode = UserMode(context)
        vm_space.activate()
        while run["syscalls"] < max_syscalls:
            reason = user_mode.execute()
            if reason is ReturnReason.USER_EXCEPTION:
                run["fault"] = context.trap
                return
            if reason is not ReturnReason.USER_SYSCALL:
                continue
            run["syscalls"] += 1
            code = submission.handle_syscall(vm_space, context, run["output"])
            if code is not None:
                run["exit_code"] = code
                return

    def kernel_main(_boot_info) -> None:
        Task(user_task, name="user").run()

    ostd.boot(kernel_main, console_sink=lambda _data: None)
    run["stdout"] = b"".join(run["output"])
    return run


def native(name: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN_DIR / name)], capture_output=True, timeout=10, env={})


def load_segments(program: bytes) -> list[dict]:
    elf = ELFFile(io.BytesIO(program))
    return [
        {"vaddr": s["p_vaddr"], "memsz": s["p_memsz"], "flags": s["p_flags"], "data": s.data()}
        for s in elf.iter_segments("PT_LOAD")
    ]


def entry_point(program: bytes) -> int:
    return ELFFile(io.BytesIO(program)).header["e_entry"]


def check_against_native(submission, name: str) -> None:
    program = (BIN_DIR / name).read_bytes()
    run = run_kernel(submission, program)
    linux = native(name)
    assert run["fault"] is None, (
        f"{name} stopped with a CPU exception {run['fault']!r} after {run['syscalls']} syscalls "
        f"(output so far: {run['stdout']!r}): is every segment mapped, with the right flags?"
    )
    assert run["stdout"] == linux.stdout, (
        f"{name}: output\n  got  {run['stdout']!r}\n  want {linux.stdout!r} (Linux)"
    )
    assert run["exit_code"] == linux.returncode, (
        f"{name}: exit code {run['exit_code']}, Linux says {linux.returncode}"
    )


@lab_test(points=2)
def test_vm_space_contents(submission):
    """Every byte of every PT_LOAD segment is at its virtual address; .bss reads as zeros."""
    for name in ("tiny", "tiny_data"):
        program = (BIN_DIR / name).read_bytes()

        def work(program=program):
            vm_space, entry = submission.create_vm_space(program)
            problems = []
            if entry != entry_point(program):
                problems.append(f"entry point {entry:#x}, the ELF header says {entry_point(program):#x}")
            for seg in load_segments(program):
                want = seg["data"] + bytes(seg["memsz"] - len(seg["data"]))
                try:
                    got = VmReader(vm_space, seg["vaddr"], seg["memsz"]).read()
                except ostd.PageFaultError as error:
                    problems.append(f"segment at {seg['vaddr']:#x} (+{seg['memsz']:#x}): {error}")
                    continue
                if got != want:
                    first = next(i for i in range(len(want)) if got[i] != want[i])
                    problems.append(f"segment at {seg['vaddr']:#x}: byte {first:#x} is {got[first]:#x}, "
                                    f"want {want[first]:#x}")  # fmt: skip
            return problems

        problems = on_machine(work)
        assert problems == [], f"{name}: " + "; ".join(problems)


@lab_test(points=2, depends=("test_vm_space_contents",))
def test_run_tiny(submission):
    """/bin/tiny (write, exit) prints what it prints on Linux and exits 0."""
    check_against_native(submission, "tiny")


@lab_test(points=2, depends=("test_run_tiny",))
def test_run_tiny_data(submission):
    """tiny_data writes to .data and .bss and passes write() a bad pointer: -EFAULT, as on Linux."""
    check_against_native(submission, "tiny_data")


@lab_test(points=2, depends=("test_vm_space_contents",), visibility="hidden")
def test_w_xor_x(submission):
    """Each page has exactly its segment's permissions: text R-X, rodata R--, data RW-."""
    for name in ("tiny", "tiny_data", "hello"):
        program = (BIN_DIR / name).read_bytes()

        def work(program=program):
            vm_space, _entry = submission.create_vm_space(program)
            problems = []
            for seg in load_segments(program):
                want = PageFlags.R
                want |= PageFlags.W if seg["flags"] & 2 else 0
                want |= PageFlags.X if seg["flags"] & 1 else 0
                start = seg["vaddr"] & ~(PAGE_SIZE - 1)
                for page in range(start, seg["vaddr"] + seg["memsz"], PAGE_SIZE):
                    flags = vm_space.query_flags(page)
                    got = flags & RWX if flags is not None else None
                    if got != want:
                        problems.append(f"page {page:#x}: {got!r}, want {want!r}")
            return problems

        problems = on_machine(work)
        assert problems == [], f"{name}: " + "; ".join(problems[:5])


@lab_test(points=2, depends=("test_run_tiny",), visibility="hidden")
def test_other_syscalls(submission):
    """write to fd 1 and 2 is output; another fd is -EBADF; an unknown call is -ENOSYS;
    exit_group exits like exit, with the low 8 bits of its argument."""
    program = (BIN_DIR / "tiny").read_bytes()

    def work():
        vm_space, _entry = submission.create_vm_space(program)
        rodata = load_segments(program)[0]["vaddr"]
        seen = {}
        for label, (number, a0, a1, a2) in {
            "write(2, ...)": (1, 2, rodata, 4),
            "write(7, ...)": (1, 7, rodata, 4),
            "getpid()": (39, 0, 0, 0),
            "write(1, NULL, 0)": (1, 1, 0, 0),
            "exit_group(0x1234)": (231, 0x1234, 0, 0),
        }.items():
            context = UserContext()
            context.rax, context.rdi, context.rsi, context.rdx = number, a0, a1, a2
            output: list[bytes] = []
            code = submission.handle_syscall(vm_space, context, output)
            seen[label] = (code, context.rax & MASK64, b"".join(output))
        return seen

    seen = on_machine(work)
    program_bytes = load_segments(program)[0]["data"][:4]
    expected = {
        "write(2, ...)": (None, 4, program_bytes),
        "write(7, ...)": (None, -9 & MASK64, b""),
        "getpid()": (None, -38 & MASK64, b""),
        "write(1, NULL, 0)": (None, 0, b""),
        "exit_group(0x1234)": (0x34, None, b""),
    }
    for label, want in expected.items():
        got = seen[label]
        if want[1] is None:  # an exit: RAX does not matter
            got, want = (got[0], got[2]), (want[0], want[2])
        assert got == want, f"{label}: got (exit code, rax, output) {got}, want {want}"
