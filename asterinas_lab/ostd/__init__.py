"""OSTD: the trusted core of asterinas-lab (the framekernel's TCB).

This package is the only code allowed to touch the emulated machine: RAM, CPU
registers, page tables. Everything it offers to the kernel keeps its invariants no
matter how it is called, so that bugs in the (much larger) safe kernel cannot corrupt
memory. The kernel imports only the names listed here.
"""

from . import events, timer
from .boot import BootInfo, MemoryRegion, boot, shutdown
from .console import log, print_console, read_console
from .error import AccessDenied, OstdError, PageFaultError, Panic
from .events import Event
from .mm.frame import Frame, FrameAllocOptions, Segment, TypedFrame
from .mm.io import VmReader, VmWriter
from .mm.page_table import PHYS_OFFSET, USER_SPACE_END, PageFlags
from .mm.vm_space import CursorMut, MappedPage, VmSpace
from .sync import WaitQueue
from .task import FifoScheduler, Scheduler, Task, TaskStatus
from .task.task import format_exception_site, inject_scheduler, set_oops_handler
from .user import CpuException, ReturnReason, UserContext, UserMode

PAGE_SIZE = 4096


def memory_stats() -> tuple[int, int]:
    """(total frames, free frames) of the booted machine."""
    from .mm.frame import allocator

    frames = allocator()
    return frames.nframes, frames.free_frames


__all__ = [
    "PAGE_SIZE",
    "PHYS_OFFSET",
    "USER_SPACE_END",
    "AccessDenied",
    "BootInfo",
    "CpuException",
    "CursorMut",
    "Event",
    "FifoScheduler",
    "Frame",
    "FrameAllocOptions",
    "MappedPage",
    "MemoryRegion",
    "OstdError",
    "PageFaultError",
    "PageFlags",
    "Panic",
    "ReturnReason",
    "Scheduler",
    "Segment",
    "Task",
    "TaskStatus",
    "TypedFrame",
    "UserContext",
    "UserMode",
    "VmReader",
    "VmSpace",
    "VmWriter",
    "WaitQueue",
    "boot",
    "format_exception_site",
    "inject_scheduler",
    "log",
    "memory_stats",
    "print_console",
    "read_console",
    "set_oops_handler",
    "shutdown",
    "events",
    "timer",
]
