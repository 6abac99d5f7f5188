"""Boot: power on the machine, set up memory management, and start the kernel.

``boot`` plays the role of the bootloader plus OSTD's early init: it creates the
machine, builds the frame metadata and the shared kernel half of the address space,
prepares the state new user threads start from, logs what it set up, and then calls the
kernel's entry point with a :class:`BootInfo` (memory map, command line, initramfs),
as a bootloader hands them to Linux. When the entry point returns, OSTD runs the
scheduler until no task is left.
"""

from __future__ import annotations

import atexit
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..machine import DEFAULT_RAM_SIZE, DEFAULT_TIMER_PERIOD_S, Machine
from ..machine.ram import PAGE_SIZE
from . import console, platform, timer
from .error import Panic
from .mm import frame as frame_mod
from .mm.frame import FrameAllocator
from .mm.page_table import PHYS_OFFSET, TRAMPOLINE_VADDR, KernelSpace
from .task import task as task_mod
from .task.scheduler import Scheduler
from .user import new_user_template


@dataclass
class MemoryRegion:
    start: int
    size: int
    kind: str  # "usable" or "reserved", as in an e820 map


@dataclass
class BootInfo:
    """What the kernel's entry point receives (Asterinas' ``boot_info``)."""

    cmdline: str
    initramfs: bytes
    memory_regions: list[MemoryRegion] = field(default_factory=list)


times = platform.times
atexit.register(lambda: shutdown())


def boot(
    kernel_main: Callable[[BootInfo], None],
    *,
    cmdline: str = "",
    initramfs: bytes = b"",
    ram_size: int = DEFAULT_RAM_SIZE,
    console_sink: Callable[[bytes], object] | None = None,
    timer_period_s: float = DEFAULT_TIMER_PERIOD_S,
    scheduler: Scheduler | None = None,
    idle: Callable[[], bool] | None = None,
    echo_log: bool = False,
) -> Machine:
    """Boot a new machine, run the kernel until its last task ends; return the machine."""
    times.start = time.perf_counter()
    times.first_user_instruction = 0.0
    shutdown()
    timer.reset()
    task_mod.reset(scheduler)
    console.log_lines.clear()
    console.echo_log = echo_log

    machine = Machine(ram_size, console_sink, timer_period_s)
    cpu = machine.cpu
    frames = FrameAllocator(machine.ram.view, machine.ram.frames, cpu.flush_translations)
    frame_mod._install(frames)
    kernel_space = KernelSpace(machine.ram.view, frames, ram_size)
    cpu.set_cr3(kernel_space.root)
    p = platform.Platform(machine, frames, kernel_space)
    p.user_template = new_user_template(cpu)
    platform.current = p

    log = console.log
    log(f"ostd: asterinas-lab booting, command line: {cmdline!r}")
    log(f"ostd: RAM {ram_size >> 20} MiB at physical 0, {machine.ram.frames} frames of {PAGE_SIZE} bytes")
    log(f"ostd: kernel half: direct map of RAM at {PHYS_OFFSET:#x} (supervisor, NX, 2 MiB pages)")
    log(f"ostd: user-mode entry trampoline (sysretq) at {TRAMPOLINE_VADDR:#x}")
    log(f"ostd: paging on: CR3={kernel_space.root:#x}, CR0.WP, EFER.NXE, CR4.PAE")
    log(f"ostd: unicorn #1883 workaround: exception field at context offset {cpu._exception_field}")
    log(f"ostd: frame allocator: {frames.free_frames} free frames")
    log(f"ostd: timer: {1 / timer_period_s:.0f} Hz; initramfs: {len(initramfs)} bytes")

    info = BootInfo(
        cmdline=cmdline,
        initramfs=initramfs,
        memory_regions=[
            MemoryRegion(0, PAGE_SIZE, "reserved"),
            MemoryRegion(PAGE_SIZE, ram_size - PAGE_SIZE, "usable"),
        ],
    )
    times.kernel_entry = time.perf_counter()
    log("ostd: entering the kernel")
    machine.timer.start()
    try:
        try:
            kernel_main(info)
        except Exception as error:
            # The kernel could not even start: like Linux's "Kernel panic - not syncing".
            raise Panic(f"kernel initialisation failed: {type(error).__name__}: {error} "
                        f"at {task_mod.format_exception_site(error)}") from error  # fmt: skip
        task_mod.run_tasks(idle or _default_idle)
    finally:
        machine.timer.stop()
    log("ostd: all tasks finished")
    return machine


def _default_idle() -> bool:
    """Nothing runnable: wait one tick; give up if nobody could ever be woken."""
    return False


def shutdown() -> None:
    """Forget the current machine (its frames, its address spaces)."""
    machine = platform.current.machine if platform.current is not None else None
    if platform.current is not None:
        platform.current.frames.retire()
    platform.current = None
    frame_mod._install(None)
    if machine is not None:
        machine.power_off()
