"""The booted machine, as OSTD's modules see it.

One machine runs at a time in a Python process; ``boot`` installs it here and
``shutdown`` clears it. Only OSTD reads these globals; the kernel reaches the machine
solely through OSTD's public types.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..machine import Machine
    from .mm.frame import FrameAllocator
    from .mm.page_table import KernelSpace
    from .mm.vm_space import VmSpace
    from .user import UserContext


class BootTimes:
    """perf_counter() stamps: power-on, kernel entry, first user instruction."""

    def __init__(self) -> None:
        self.start = 0.0
        self.kernel_entry = 0.0
        self.first_user_instruction = 0.0

    @property
    def to_first_user_instruction(self) -> float:
        return self.first_user_instruction - self.start


times = BootTimes()


class Platform:
    def __init__(self, machine: Machine, frames: FrameAllocator, kernel_space: KernelSpace) -> None:
        self.machine = machine
        self.cpu = machine.cpu
        self.ram = machine.ram.view
        self.frames = frames
        self.kernel_space = kernel_space
        self.active_vm_space: VmSpace | None = None
        self.loaded_context: UserContext | None = None
        # Every live address space, for auditors (memcheck) and visualisation.
        self.vm_spaces: weakref.WeakSet[VmSpace] = weakref.WeakSet()


current: Platform | None = None


def get() -> Platform:
    if current is None:
        from .error import OstdError

        raise OstdError("no machine is booted")
    return current
