"""Processes and threads (Linux's ``task_struct``, split as Asterinas splits it).

A :class:`Process` owns the resources: its address space (``vm``), its open files, its
file-system context (working directory, root, umask), its signal dispositions, its
credentials and its children. A :class:`Thread` is one flow of user execution inside
it: a UserContext (registers), a signal mask and pending set, served by an OSTD Task
that runs the loop in ``thread_loop.py``.

What ``clone`` shares between parent and child is exactly which of these objects the
two point to: CLONE_VM shares ``vm``, CLONE_FILES ``files``, CLONE_FS ``fs``,
CLONE_SIGHAND ``sig_actions``, and CLONE_THREAD puts the new thread in the same
Process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...ostd import PageFaultError, Task, UserContext, UserMode, VmReader, VmWriter, WaitQueue
from ..error import EFAULT, ENAMETOOLONG, LinuxError
from ..fs.file_table import FdTable
from ..vm.page_fault import handle_page_fault
from ..vm.vmar import ProcessVm
from .signal.constants import SIGCHLD
from .signal.state import SigDispositions, SigQueue

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
    fsuid: int = 0
    fsgid: int = 0
    groups: list[int] = field(default_factory=list)

    def copy(self) -> Credentials:
        return Credentials(**{**self.__dict__, "groups": list(self.groups)})


@dataclass
class FsContext:
    """Working directory, root and umask (``fs_struct``); CLONE_FS shares it."""

    cwd: Inode
    root: Inode
    umask: int = 0o022

    def copy(self) -> FsContext:
        return FsContext(self.cwd, self.root, self.umask)


class Process:
    """A Linux process (a thread group).

    Invariants: ``pid`` is unique among live and zombie processes; a process is a
    zombie exactly when all its threads have exited, and then it holds no address
    space and no files, only its exit status.
    """

    def __init__(self, pid: int, parent: Process | None, fs: FsContext, vm: ProcessVm | None = None) -> None:
        self.pid = pid
        self.parent = parent
        self.children: dict[int, Process] = {}
        self.threads: list[Thread] = []
        self.vm = vm if vm is not None else new_process_vm()
        self.files = FdTable()
        self.fs = fs
        self.cred = Credentials()
        self.pgid = pid
        self.sid = pid
        self.comm = b""
        self.exe_path = b""
        self.argv: list[bytes] = []
        self.execed = False  # has called execve since fork (setpgid then gives EACCES)
        self.rlimits: dict[int, tuple[int, int]] = {}
        self.nice = 0  # -20..19 (setpriority); a scheduler policy may weigh tasks by it
        self.sig_actions = SigDispositions()
        self.sig_pending = SigQueue()
        self.exit_signal = SIGCHLD  # what the parent gets when this process ends
        # How the process ended: set once, by the first exit_group or fatal signal.
        self.exit_code: int | None = None  # exit status (0..255)
        self.term_signal: int | None = None  # the signal that killed it, if any
        self.core_dumped = False
        self.exiting = False
        self.zombie = False
        # Job control: a stopped process, and what its parent has not yet been told.
        self.stopped = False
        self.stop_queue = WaitQueue()
        self.report_stop: int | None = None  # the stop signal, until wait() reports it
        self.report_continued = False
        self.child_exit = WaitQueue()  # the parent sleeps here in wait4
        self.vfork_done: WaitQueue | None = None  # set while a vfork parent waits
        self.itimer_real: Any = None  # an IntervalTimer, once setitimer/alarm is used
        self.cpu_timers: dict[int, tuple[int, int]] = {}  # ITIMER_VIRTUAL/PROF: (deadline, interval)
        self.posix_timers: dict[int, Any] = {}
        # CPU time (ns) of exited threads, and of reaped children (for times/getrusage).
        self.cpu_ns = 0
        self.children_cpu_ns = 0
        self.kernel: Any = None

    def __repr__(self) -> str:
        return f"Process(pid={self.pid}, comm={self.comm.decode(errors='replace')!r})"

    # The file-system context, as the syscalls use it.
    @property
    def cwd(self) -> Inode:
        return self.fs.cwd

    @cwd.setter
    def cwd(self, inode: Inode) -> None:
        self.fs.cwd = inode

    @property
    def root(self) -> Inode:
        return self.fs.root

    @property
    def umask(self) -> int:
        return self.fs.umask

    @umask.setter
    def umask(self, value: int) -> None:
        self.fs.umask = value

    @property
    def wait_status(self) -> int:
        """The status word wait4() reports: exit code << 8, or the signal number."""
        if self.term_signal is not None:
            return (self.term_signal & 0x7F) | (0x80 if self.core_dumped else 0)
        return ((self.exit_code or 0) & 0xFF) << 8

    @property
    def live_threads(self) -> list[Thread]:
        return [t for t in self.threads if not t.exited]

    def total_cpu_ns(self) -> int:
        return self.cpu_ns + sum(t.cpu_ns for t in self.threads)

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

    def read_u32(self, addr: int) -> int:
        return int.from_bytes(self.read_bytes(addr, 4), "little")


def _install_fault_handler(vm: ProcessVm) -> ProcessVm:
    vm.vm_space.register_page_fault_handler(lambda vaddr, write: handle_page_fault(vm, vaddr, write) == 0)
    return vm


def new_process_vm() -> ProcessVm:
    return _install_fault_handler(ProcessVm())


def fork_process_vm(vm: ProcessVm) -> ProcessVm:
    """The child's copy-on-write address space (fork without CLONE_VM)."""
    return _install_fault_handler(vm.fork())


class Thread:
    """One thread of a process: its registers, signal state and the task serving it."""

    def __init__(self, tid: int, process: Process, context: UserContext | None = None) -> None:
        self.tid = tid
        self.process = process
        self.context = context if context is not None else UserContext()
        self.user_mode = UserMode(self.context)
        self.task: Task | None = None
        self.exited = False
        self.clear_child_tid = 0
        self.robust_list = 0
        self.sig_mask = 0
        self.sig_pending = SigQueue()
        self.saved_sig_mask: int | None = None  # sigsuspend's mask, restored after the handler
        self.altstack = (0, 0, 2)  # (ss_sp, ss_size, ss_flags): SS_DISABLE
        self.signal_contexts: dict[int, UserContext] = {}  # frame address -> FPU state
        self.restart: tuple[int, int] | None = None  # (ERESTART* code, syscall number)
        self.cpu_ns = 0
        self.in_fast_path = False  # serving a syscall inside the CPU hook: no sleeping
        self.accounted = False  # deterministic mode: this syscall's time is counted
        self.data: dict[str, Any] = {}
        self.kernel: Any = None

    def __repr__(self) -> str:
        return f"Thread(tid={self.tid}, pid={self.process.pid})"

    def has_deliverable_signal(self) -> bool:
        """An unblocked signal is pending, or the thread must die or stop."""
        if self.exited:
            return True
        pending = self.sig_pending.mask | self.process.sig_pending.mask
        return bool(pending & ~self.sig_mask)

    def wake(self) -> None:
        """Wake the thread if it sleeps (a signal arrived, or it must exit); if it is
        the one running, make it come back to its loop at its next kernel entry."""
        self.user_mode.notify_kernel_event()
        if self.task is not None:
            self.task.wake()
