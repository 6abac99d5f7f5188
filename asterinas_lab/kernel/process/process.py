"""Processes and threads (Linux's ``task_struct``, split as Asterinas splits it).

A :class:`Process` owns the resources: its address space (``vm``), its open files, its
working directory, its credentials and its children. A :class:`Thread` is one flow of
user execution inside it: a UserContext (registers) served by an OSTD Task that runs
the loop in ``thread_loop.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...ostd import PageFaultError, Task, UserContext, UserMode, VmReader, VmWriter, WaitQueue
from ..error import EFAULT, ENAMETOOLONG, LinuxError
from ..fs.file_table import FdTable
from ..vm.page_fault import handle_page_fault
from ..vm.vmar import ProcessVm

if TYPE_CHECKING:
    from ..fs.ramfs import Inode


@dataclass
class Credentials:
    uid: int = 0
    gid: int = 0
    euid: int = 0
    egid: int = 0
    suid: int = 0
    sgid: int = 0
    groups: list[int] = field(default_factory=list)


class Process:
    """A Linux process. Invariant: ``pid`` is unique among live and zombie processes."""

    def __init__(self, pid: int, parent: Process | None, cwd: Inode, root: Inode) -> None:
        self.pid = pid
        self.parent = parent
        self.children: dict[int, Process] = {}
        self.threads: list[Thread] = []
        self.vm = new_process_vm()
        self.files = FdTable()
        self.cwd = cwd
        self.root = root
        self.umask = 0o022
        self.cred = Credentials()
        self.pgid = pid
        self.sid = pid
        self.comm = b""
        self.exe_path = b""
        self.argv: list[bytes] = []
        self.rlimits: dict[int, tuple[int, int]] = {}
        self.exit_code: int | None = None  # exit status (0..255) once exited
        self.exit_signal: int | None = None  # the signal that killed it, if any
        self.zombie = False
        self.child_exit = WaitQueue()

    def __repr__(self) -> str:
        return f"Process(pid={self.pid}, comm={self.comm.decode(errors='replace')!r})"

    @property
    def wait_status(self) -> int:
        """The status word wait4() reports: exit code << 8, or the signal number."""
        if self.exit_signal is not None:
            return self.exit_signal & 0x7F
        return (self.exit_code or 0) << 8

    # --- user memory ----------------------------------------------------------------

    def read_bytes(self, addr: int, length: int) -> bytes:
        try:
            return VmReader(self.vm.vm_space, addr, length).read()
        except PageFaultError:
            raise LinuxError(EFAULT) from None

    def write_bytes(self, addr: int, data: bytes) -> int:
        try:
            return VmWriter(self.vm.vm_space, addr, len(data)).write(data)
        except PageFaultError:
            raise LinuxError(EFAULT) from None

    def read_cstring(self, addr: int, max_length: int = 4096) -> bytes:
        """A NUL-terminated string; ENAMETOOLONG if longer than ``max_length``."""
        try:
            value = VmReader(self.vm.vm_space, addr, max_length + 1).read_cstring(max_length + 1)
        except PageFaultError:
            raise LinuxError(EFAULT) from None
        if value is None or len(value) > max_length:
            raise LinuxError(ENAMETOOLONG)
        return value

    def read_u64(self, addr: int) -> int:
        return int.from_bytes(self.read_bytes(addr, 8), "little")


def new_process_vm() -> ProcessVm:
    vm = ProcessVm()
    vm.vm_space.register_page_fault_handler(lambda vaddr, write: handle_page_fault(vm, vaddr, write) == 0)
    return vm


class Thread:
    """One thread of a process: its registers and the task that serves them."""

    def __init__(self, tid: int, process: Process, context: UserContext | None = None) -> None:
        self.tid = tid
        self.process = process
        self.context = context if context is not None else UserContext()
        self.user_mode = UserMode(self.context)
        self.task: Task | None = None
        self.exited = False
        self.clear_child_tid = 0
        self.robust_list = 0
        self.data: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Thread(tid={self.tid}, pid={self.process.pid})"
