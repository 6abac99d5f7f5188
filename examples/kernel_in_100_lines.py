"""A kernel in 100 lines of safe Python.

The analogue of the Asterinas book's "a 100-line kernel in safe Rust": it uses only
OSTD's public API to load a tiny static ELF program, runs it in user mode, and serves
two syscalls, ``write`` and ``exit``. Everything unsafe (page tables, the CPU, RAM) is
behind OSTD; this file could not corrupt memory if it tried.

Run it:  python examples/kernel_in_100_lines.py [path/to/static-elf]
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from elftools.elf.elffile import ELFFile

from asterinas_lab import ostd
from asterinas_lab.ostd import (
    PAGE_SIZE,
    FrameAllocOptions,
    PageFlags,
    ReturnReason,
    Task,
    UserContext,
    UserMode,
    VmReader,
    VmSpace,
)

SYS_WRITE, SYS_EXIT = 1, 60
TINY = Path(__file__).resolve().parents[1] / "images" / "bin" / "tiny"


def create_vm_space(program: bytes) -> tuple[VmSpace, int]:
    """Map each PT_LOAD segment of the ELF into a new address space."""
    elf = ELFFile(io.BytesIO(program))
    vm_space = VmSpace()
    for segment in elf.iter_segments("PT_LOAD"):
        start = segment["p_vaddr"] & ~(PAGE_SIZE - 1)
        end = (segment["p_vaddr"] + segment["p_memsz"] + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        data = bytes(segment["p_vaddr"] - start) + segment.data()
        flags = PageFlags.R
        flags |= PageFlags.W if segment["p_flags"] & 2 else 0
        flags |= PageFlags.X if segment["p_flags"] & 1 else 0
        cursor = vm_space.cursor_mut(start, end)
        for offset in range(0, end - start, PAGE_SIZE):
            frame = FrameAllocOptions().alloc_frame()
            frame.write(0, data[offset : offset + PAGE_SIZE])
            cursor.map(frame, flags)
    return vm_space, elf.header["e_entry"]


def create_user_task(program: bytes, output: list[bytes]) -> Task:
    vm_space, entry = create_vm_space(program)
    # A one-page stack just below 0x7fff_0000_0000.
    stack_top = 0x7FFF_0000_0000
    vm_space.cursor_mut(stack_top - PAGE_SIZE, stack_top).map(
        FrameAllocOptions().alloc_frame(), PageFlags.R | PageFlags.W
    )

    def user_task() -> None:
        context = UserContext()
        context.rip = entry
        context.rsp = stack_top
        user_mode = UserMode(context)
        vm_space.activate()
        while True:
            if user_mode.execute() is not ReturnReason.USER_SYSCALL:
                continue  # timer ticks; a real kernel would also handle exceptions
            number, fd, buf, count, *_ = context.syscall_args()
            if number == SYS_WRITE:
                data = VmReader(vm_space, buf, count).read()
                output.append(data)
                ostd.print_console(data)
                context.set_syscall_return(len(data))
            elif number == SYS_EXIT:
                return
            else:
                context.set_syscall_return(-38)  # ENOSYS

    return Task(user_task, name="user")


def run(program: bytes) -> bytes:
    output: list[bytes] = []

    def kernel_main(boot_info: ostd.BootInfo) -> None:
        create_user_task(program, output).run()

    ostd.boot(kernel_main, console_sink=sys.stdout.buffer.write)
    sys.stdout.flush()
    return b"".join(output)


if __name__ == "__main__":
    run(Path(sys.argv[1] if len(sys.argv) > 1 else TINY).read_bytes())
