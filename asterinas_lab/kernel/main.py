"""The kernel's entry point and its global state.

``Kernel.main`` is what OSTD's boot calls (like Asterinas' ``#[ostd::main]``): it
unpacks the initramfs into the root file system, creates the first process, loads its
program and starts the task that runs it. After that, everything happens in syscalls.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from .. import ostd
from ..ostd import BootInfo, Task, UserContext, format_exception_site, log, timer
from .error import LinuxError
from .fs.devfs import populate_dev
from .fs.initramfs import load_initramfs
from .fs.ramfs import RamFs
from .fs.vfs import Vfs
from .process import exec as exec_mod
from .process.lifecycle import exit_process
from .process.process import Process, Thread
from .process.thread_loop import thread_loop
from .syscall.numbers import SYS_EXIT, SYS_EXIT_GROUP
from .syscall.strace import SyscallFormatter
from .syscall.table import NR_SYSCALLS, TABLE, dispatch

SIGSEGV = 11
_NO_RETURN = (SYS_EXIT, SYS_EXIT_GROUP)


@dataclass
class KernelConfig:
    """How to start the first process, and where the kernel's own messages go."""

    init_path: bytes = b"/init"
    argv: list[bytes] = field(default_factory=lambda: [b"/init"])
    envp: list[bytes] = field(default_factory=lambda: [b"PATH=/usr/sbin:/usr/bin:/sbin:/bin", b"HOME=/"])
    stdio: tuple[Any, Any, Any] | None = None
    strace: Callable[[str], object] | None = None
    report: Callable[[str], object] | None = None
    seed: int = 0


class Kernel:
    def __init__(self, config: KernelConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.processes: dict[int, Process] = {}
        self._pids = count(1)
        self.vfs: Vfs | None = None
        self.init_process: Process | None = None
        self.exec_error: LinuxError | None = None
        self.oopses: list[str] = []
        self._sleepers: list[tuple[int, int, Task]] = []
        self._sleep_seq = count()

    # --- boot ---------------------------------------------------------------------------

    def main(self, boot_info: BootInfo) -> None:
        ostd.set_oops_handler(self._oops)
        timer.register_callback(self._wake_sleepers)
        fs = load_initramfs(boot_info.initramfs, RamFs()) if boot_info.initramfs else RamFs()
        populate_dev(fs, self.rng)
        self.vfs = Vfs(fs)
        log(f"kernel: root file system unpacked from a {len(boot_info.initramfs)}-byte initramfs")
        process = self.new_process(parent=None)
        self.init_process = process
        for fd, file in enumerate(self.config.stdio or ()):
            if file is not None:
                process.files.install_at(fd, file)
        thread = self.new_thread(process)
        try:
            exec_mod.execve(self, thread, self.config.init_path, self.config.argv, self.config.envp)
        except LinuxError as error:
            self.exec_error = error
            log(f"kernel: cannot execute {self.config.init_path.decode(errors='replace')}: {error.name}")
            exit_process(self, process, code=127 if error.errno == 2 else 126)
            return
        log(f"kernel: starting pid 1: {b' '.join(self.config.argv).decode(errors='replace')}")
        self.start_thread(thread)

    def new_process(self, parent: Process | None) -> Process:
        pid = next(self._pids)
        root = self.vfs.root
        process = Process(pid, parent, parent.cwd if parent else root, root)
        process.kernel = self
        self.processes[pid] = process
        if parent is not None:
            parent.children[pid] = process
        return process

    def new_thread(self, process: Process, context: UserContext | None = None) -> Thread:
        tid = process.pid if not process.threads else next(self._pids)
        thread = Thread(tid, process, context)
        thread.kernel = self
        process.threads.append(thread)
        return thread

    def start_thread(self, thread: Thread) -> None:
        thread.task = Task(lambda: thread_loop(thread), data=thread, name=f"tid {thread.tid}")
        thread.task.run()

    # --- syscall entry points ------------------------------------------------------------

    def make_fast_syscall(self, thread: Thread) -> Callable[[UserContext], bool]:
        if self.config.strace is None:
            return lambda context: dispatch(thread, context, False)
        return lambda context: self._traced(thread, context, False)

    def make_slow_syscall(self, thread: Thread) -> Callable[[UserContext], object]:
        if self.config.strace is None:
            return lambda context: dispatch(thread, context, True)
        return lambda context: self._traced(thread, context, True)

    def _traced(self, thread: Thread, context: UserContext, allow_blocking: bool) -> bool:
        """``dispatch`` that also prints the call in strace's format."""
        number, *rest = context.syscall_args()
        entry = TABLE[number] if number < NR_SYSCALLS else None
        if entry is not None and entry.blocking and not allow_blocking:
            return False
        formatter = thread.data.get("strace") or self._new_formatter(thread)
        args = tuple(rest)
        formatter.format_entry(number, args)
        if number in _NO_RETURN:
            self.config.strace(formatter.format_exit(number, args, 0))
            return dispatch(thread, context, allow_blocking)
        dispatch(thread, context, allow_blocking)
        ret = context.rax
        self.config.strace(formatter.format_exit(number, args, ret - (1 << 64) if ret >= 1 << 63 else ret))
        return True

    @staticmethod
    def _new_formatter(thread: Thread) -> SyscallFormatter:
        process = thread.process

        def read_memory(addr: int, length: int) -> bytes | None:
            try:
                return process.read_bytes(addr, length)
            except LinuxError:
                return None

        def read_cstring(addr: int, limit: int) -> bytes | None:
            try:
                return process.read_cstring(addr, limit)
            except LinuxError:
                return None

        formatter = thread.data["strace"] = SyscallFormatter(read_memory, read_cstring)
        return formatter

    # --- services used by syscalls ----------------------------------------------------------

    def readlink(self, process: Process, path: bytes, start) -> bytes:
        if path == b"/proc/self/exe":  # procfs arrives with the file-system issue
            return process.exe_path
        return self.vfs.readlink(path, start)

    def vfs_absolute(self, path: bytes, cwd) -> bytes:
        if path.startswith(b"/"):
            return path
        base = self.vfs.path_of(cwd)
        return base.rstrip(b"/") + b"/" + path

    def memory_stats(self) -> tuple[int, int]:
        return ostd.memory_stats()

    def sleep_ns(self, ns: int) -> None:
        task = Task.current()
        deadline = timer.monotonic_ns() + ns
        heapq.heappush(self._sleepers, (deadline, next(self._sleep_seq), task))
        while timer.monotonic_ns() < deadline:
            task.sleep()

    def _wake_sleepers(self) -> None:
        now = timer.monotonic_ns()
        while self._sleepers and self._sleepers[0][0] <= now:
            heapq.heappop(self._sleepers)[2].wake()

    def idle(self) -> bool:
        """Nothing runnable: wait for the next sleeper's deadline, or give up."""
        if not self._sleepers:
            return False
        delay = self._sleepers[0][0] - timer.monotonic_ns()
        if delay > 0:
            time.sleep(delay / 1e9)
        self._wake_sleepers()
        return True

    # --- failure containment ------------------------------------------------------------

    def _oops(self, task: Task, error: BaseException) -> None:
        thread = task.data
        process = thread.process if thread is not None else None
        who = f"pid {process.pid} ({process.comm.decode(errors='replace')})" if process else task.name
        message = (
            f"oops: {type(error).__name__}: {error} in safe kernel code at "
            f"{format_exception_site(error)}; killing {who}"
        )
        self.oopses.append(message)
        log(f"kernel: {message}")
        if self.config.report is not None:
            self.config.report(message)
        if process is not None:
            exit_process(self, process, code=0, signal=SIGSEGV)

    def on_process_exit(self, process: Process) -> None:
        pass
