"""The process model where Linux cannot be the oracle: what fork does to memory,
copy-on-write, PROT_NONE, determinism, and running out of processes or memory.

The ABI behaviours themselves (fork, wait, signals, threads, mmap...) are compared
with Linux in test_process_differential.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from asterinas_lab import ostd, runner
from asterinas_lab.kernel.process.process import new_process_vm
from asterinas_lab.kernel.time import clock
from asterinas_lab.kernel.vm.page_fault import SEGV_ACCERR, handle_page_fault
from asterinas_lab.kernel.vm.vmar import PROT_NONE, PROT_READ, PROT_WRITE, VmArea
from asterinas_lab.ostd import PAGE_SIZE, FrameAllocOptions, PageFlags, VmReader, VmWriter
from asterinas_lab.ostd.mm import frame as frame_mod

IMAGES_BIN = Path(__file__).resolve().parent.parent / "images" / "bin"
RW = PageFlags.R | PageFlags.W
BASE = 0x40_0000


def untyped_frames() -> int:
    return frame_mod.allocator().count(frame_mod.UNTYPED)


def test_duplicate_copies_page_tables_not_pages(in_kernel):
    def check():
        space = ostd.VmSpace()
        frames = []
        for i in range(8):
            frame = FrameAllocOptions().alloc_frame()
            frame.write(0, bytes([i]) * 16)
            space.cursor_mut(BASE + i * PAGE_SIZE, BASE + (i + 1) * PAGE_SIZE).map(frame, RW)
            frames.append(frame)
        shared_page = BASE + 7 * PAGE_SIZE
        before = untyped_frames()
        child = space.duplicate(shared=[(shared_page, shared_page + PAGE_SIZE)])
        assert untyped_frames() == before, "fork must not allocate data frames"
        allocator = frame_mod.allocator()
        for i, frame in enumerate(frames):
            n = frame.paddr // PAGE_SIZE
            assert allocator.maps[n] == 2 and allocator.refs[n] == 3  # two mappings + our handle
            vaddr = BASE + i * PAGE_SIZE
            assert child.query(vaddr).frame.paddr == frame.paddr
            writable = i == 7
            assert bool(space.query_flags(vaddr) & PageFlags.W) == writable
            assert bool(child.query_flags(vaddr) & PageFlags.W) == writable
        child.destroy()
        assert all(allocator.maps[f.paddr // PAGE_SIZE] == 1 for f in frames)

    in_kernel(check)


def test_copy_on_write_copies_only_the_written_page(in_kernel):
    def check():
        vm = new_process_vm()
        vm.add(VmArea(BASE, BASE + 4 * PAGE_SIZE, PROT_READ | PROT_WRITE))
        VmWriter(vm.vm_space, BASE, 4 * PAGE_SIZE).write(b"p" * 4 * PAGE_SIZE)
        child = vm.fork()
        before = untyped_frames()
        # The child writes one page: it alone gets a copy, the parent's stays.
        assert handle_page_fault(child, BASE + PAGE_SIZE, write=True) == 0
        VmWriter(child.vm_space, BASE + PAGE_SIZE, 1).write(b"c")
        assert untyped_frames() == before + 1
        assert VmReader(vm.vm_space, BASE + PAGE_SIZE, 1).read() == b"p"
        assert VmReader(child.vm_space, BASE + PAGE_SIZE, 1).read() == b"c"
        assert child.vm_space.query(BASE).frame.paddr == vm.vm_space.query(BASE).frame.paddr
        # Once the child is gone the parent is the page's only user: a write takes the
        # page back without copying.
        child.destroy()
        before = untyped_frames()
        VmWriter(vm.vm_space, BASE, 1).write(b"P")
        assert untyped_frames() == before
        vm.destroy()

    in_kernel(check)


def test_prot_none_keeps_the_page_but_denies_access(in_kernel):
    def check():
        vm = new_process_vm()
        vm.add(VmArea(BASE, BASE + PAGE_SIZE, PROT_READ | PROT_WRITE))
        VmWriter(vm.vm_space, BASE, 2).write(b"42")
        vm.protect(BASE, BASE + PAGE_SIZE, PROT_NONE)
        assert vm.vm_space.query_flags(BASE) == PageFlags(0)  # still mapped
        assert handle_page_fault(vm, BASE) == SEGV_ACCERR
        with pytest.raises(ostd.PageFaultError):
            VmReader(vm.vm_space, BASE, 2).read()
        vm.protect(BASE, BASE + PAGE_SIZE, PROT_READ | PROT_WRITE)
        assert VmReader(vm.vm_space, BASE, 2).read() == b"42"
        vm.destroy()

    in_kernel(check)


def _trace(argv: list[str], **kwargs) -> tuple[int, bytes, list[str]]:
    lines: list[str] = []
    result = runner.run(argv, deterministic=True, strace=lines.append, **kwargs)
    assert not result.oopses and result.panic is None
    return result.status, result.stdout, lines


@pytest.mark.parametrize("program", ["fork_tree", "pthread_counter", "signal_handlers", "pipe_pingpong"])
def test_deterministic_mode_repeats_the_same_trace(program):
    argv = [f"/bin/{program}"] + (["300"] if program == "pipe_pingpong" else [])
    first = _trace(argv)
    second = _trace(argv)
    assert first[0] == 0
    assert len(first[2]) > 20
    assert first == second


def test_deterministic_clock_is_virtual_and_jumps_over_sleeps():
    # busybox's date reads CLOCK_REALTIME: on the virtual clock it starts at the
    # virtual epoch, and a 3-second sleep passes without the host waiting for it.
    busybox = "/usr/bin/busybox"
    if not Path(busybox).is_file():
        pytest.skip("busybox-static not installed")
    argv = [busybox, "sh", "-c", f"{busybox} date +%s; {busybox} sleep 3; {busybox} date +%s"]
    start = time.perf_counter()
    result = runner.run(argv, host_files=runner.host_program(busybox), deterministic=True)
    host_seconds = time.perf_counter() - start
    assert result.status == 0, result
    before, after = (int(line) for line in result.stdout.split())
    assert before == clock.VIRTUAL_EPOCH_NS // 1_000_000_000
    assert after - before == 3
    assert host_seconds < 3


def test_out_of_memory_kills_the_process_not_the_machine():
    result = runner.run(["/bin/touch_pages", "20000"], ram_size=32 << 20)
    assert result.signal == 9 and result.panic is None and not result.oopses
    assert any("out of memory" in line for line in result.log)


def test_a_shell_survives_its_child_running_out_of_memory():
    busybox = "/usr/bin/busybox"
    if not Path(busybox).is_file():
        pytest.skip("busybox-static not installed")
    script = "/bin/touch_pages 20000; echo child status $?; /bin/touch_pages 100"
    result = runner.run([busybox, "sh", "-c", script], host_files=runner.host_program(busybox), ram_size=32 << 20)
    assert result.status == 0, result
    assert result.stdout == b"child status 137\ndone 100, odd 50\n"


def test_fork_bomb_stops_with_eagain_or_enomem():
    result = runner.run(["/bin/fork_bomb"], ram_size=64 << 20, deterministic=True)
    assert result.status == 0 and result.panic is None and not result.oopses, result
    out = result.stdout.decode()
    assert "fork eventually failed: EAGAIN or ENOMEM: yes" in out
    assert "reaped all: yes" in out and "all killed by SIGKILL: yes" in out
    assert "fork works again afterwards: yes" in out


def test_a_deadlock_is_reported_not_hung():
    # A shell that stops itself: nothing can ever send it SIGCONT. Linux would wait
    # forever; the lab sees that no thread can be woken, says so and kills them.
    busybox = "/usr/bin/busybox"
    if not Path(busybox).is_file():
        pytest.skip("busybox-static not installed")
    argv = [busybox, "sh", "-c", "kill -STOP $$; echo never"]
    result = runner.run(argv, host_files=runner.host_program(busybox))
    assert result.signal == 9 and result.stdout == b""
    assert b"deadlock" in result.stderr


def test_timer_interrupts_never_run_an_instruction_twice():
    # About 30 timer interrupts land inside this loop; each must resume exactly
    # where it stopped (see machine/cpu.py on why uc_emu_stop alone does not).
    n = 30_000_000
    result = runner.run(["/bin/count_loop", str(n)])
    assert result.stdout == f"{n}\n".encode() and result.status == 0


def test_exited_processes_leave_no_frame_behind():
    # After the run every process has exited: whatever frames are still in use are
    # the file system's (and the page cache's), the same however many processes ran.
    busybox = "/usr/bin/busybox"
    if not Path(busybox).is_file():
        pytest.skip("busybox-static not installed")
    free = []
    for n in (2, 10):
        body = "/bin/fork_tree > /dev/null; /bin/pthread_counter 1000 > /dev/null"
        script = f"i=0; while [ $i -lt {n} ]; do {body}; i=$((i+1)); done"
        result = runner.run([busybox, "sh", "-c", script], host_files=runner.host_program(busybox))
        assert result.status == 0, result
        free.append(ostd.memory_stats()[1])  # the machine of the run that just ended
    assert free[0] == free[1]
