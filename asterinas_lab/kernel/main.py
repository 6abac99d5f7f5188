"""The kernel's entry point and its global state.

``Kernel.main`` is what OSTD's boot calls (like Asterinas' ``#[ostd::main]``): it
unpacks the initramfs into the root file system, creates the first process, loads its
program and starts the task that runs it. After that, everything happens in syscalls.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from .. import ostd
from ..ostd import BootInfo, Task, UserContext, events, format_exception_site, log, timer
from .error import LinuxError
from .fs.devfs import populate_dev
from .fs.initramfs import load_initramfs
from .fs.procfs import ProcFs, ProcLink
from .fs.ramfs import RamFs
from .fs.vfs import Vfs
from .ipc.futex import Futexes
from .process import exec as exec_mod
from .process.lifecycle import exit_group, exit_thread
from .process.process import FsContext, Process, Thread
from .process.thread_loop import thread_loop
from .syscall.numbers import SYS_EXIT, SYS_EXIT_GROUP, SYSCALL_NAMES
from .syscall.strace import SyscallFormatter, pid_prefixed
from .syscall.table import NR_SYSCALLS, TABLE, SyscallEntry, dispatch
from .time import clock
from .time.cpu_timers import check_cpu_timers
from .time.timers import TimerQueue
from .vm.vmar import ProcessVm

SIGKILL, SIGSEGV = 9, 11
#: Deterministic mode: virtual time one syscall costs, the time slice after which the
#: running thread is preempted, and how many host ticks (10 ms) a thread may run
#: without a syscall before the watchdog preempts it anyway.
SYSCALL_COST_NS = 1_000
TIME_SLICE_NS = 10_000_000
WATCHDOG_TICKS = 5
_NO_RETURN = (SYS_EXIT, SYS_EXIT_GROUP)
SYSCALL_ENTER, SYSCALL_EXIT = events.Event.SYSCALL_ENTER, events.Event.SYSCALL_EXIT


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
    deterministic: bool = False


class Kernel:
    def __init__(self, config: KernelConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.processes: dict[int, Process] = {}
        self._ids = count(1)  # pids and tids come from one counter, as in Linux
        self.vfs: Vfs | None = None
        self.init_process: Process | None = None
        self.exec_error: LinuxError | None = None
        self.oopses: list[str] = []
        self.timers = TimerQueue()
        self.futexes = Futexes()
        self.deterministic = config.deterministic
        self.max_threads = 1024
        self._resched = False
        self._ticks_without_syscall = 0
        # Called with each process that is about to release its memory (its threads
        # have all exited): observers such as memcheck see it still complete.
        self.exit_observers: list[Callable[[Process], object]] = []
        # A debugger: ``instructions(thread)`` (0, or how many to run before stopping)
        # and ``after(thread, reason)``, called in the thread's task after each return
        # to the kernel. With one, every syscall takes the slow path (a stop point).
        # Single-stepping on unicorn 2.1.4 has quirks (a free run right after a counted
        # one can double-fault): asterinas_lab/viz/session.py drives it safely.
        self.debugger: Any = None
        # Chaos mode (kernel/chaos.py, ``runner.run(chaos=SEED)``): seeded preemption at
        # random instructions and at the kernel's preemption points. None otherwise.
        self.chaos: Any = None
        # The scheduling policy (lab 5): an ``ostd.Scheduler`` (enqueue, pick_next, len)
        # to inject at boot, before the first task exists; None keeps OSTD's FIFO.
        # Set it from ``runner.run(with_kernel=lambda k: setattr(k, "scheduler", ...))``.
        self.scheduler: Any = None
        # The syscall table this kernel dispatches through: the shared TABLE, or a private
        # copy once ``override_syscall`` replaced an entry (lab 3). Fixed at boot.
        self.syscall_table: list[SyscallEntry | None] = TABLE

    # --- boot ---------------------------------------------------------------------------

    def main(self, boot_info: BootInfo) -> None:
        ostd.set_oops_handler(self._oops)
        if self.scheduler is not None:
            ostd.inject_scheduler(self.scheduler)
        clock.start(virtual=self.deterministic)
        timer.register_callback(self._on_tick)
        total_frames, _free = ostd.memory_stats()
        # Linux sizes threads-max from memory (max_threads = pages / 8 / THREAD_SIZE-ish).
        self.max_threads = max(64, min(4096, total_frames // 64))
        fs = load_initramfs(boot_info.initramfs, RamFs()) if boot_info.initramfs else RamFs()
        populate_dev(fs, self.rng, self.config.stdio)
        if fs.root.children is not None and b"proc" not in fs.root.children:
            fs.root.mkdir(b"proc", 0o555)
        self.vfs = Vfs(fs)
        self.vfs.mount(ProcFs(self), b"/proc")
        self._mount_tmp(fs, total_frames)
        log(f"kernel: root file system unpacked from a {len(boot_info.initramfs)}-byte initramfs")
        if self.deterministic:
            log("kernel: deterministic mode: virtual clock, preemption by syscall count")
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
            exit_group(process, code=127 if error.errno == 2 else 126)
            return
        log(f"kernel: starting pid 1: {b' '.join(self.config.argv).decode(errors='replace')}")
        self.start_thread(thread)

    def new_process(self, parent: Process | None, vm: ProcessVm | None = None) -> Process:
        pid = next(self._ids)
        fs = parent.fs.copy() if parent is not None else FsContext(self.vfs.root, self.vfs.root)
        process = Process(pid, parent, fs, vm)
        process.kernel = self
        self.processes[pid] = process
        if parent is not None:
            parent.children[pid] = process
        return process

    def new_thread(self, process: Process, context: UserContext | None = None) -> Thread:
        tid = process.pid if not process.threads else next(self._ids)
        thread = Thread(tid, process, context)
        thread.kernel = self
        process.threads.append(thread)
        return thread

    def start_thread(self, thread: Thread) -> None:
        thread.task = Task(lambda: thread_loop(thread), data=thread, name=f"tid {thread.tid}")
        thread.task.run()

    def thread_count(self) -> int:
        return sum(len(p.live_threads) for p in self.processes.values() if not p.zombie)

    def rlimit(self, process: Process, resource: int) -> tuple[int, int]:
        from .syscall.misc import DEFAULT_RLIMITS

        return process.rlimits.get(resource, DEFAULT_RLIMITS[resource])

    # --- syscall entry points ------------------------------------------------------------

    def override_syscall(self, number: int, handler: Callable[..., int | None], blocking: bool = False) -> None:
        """Serve syscall ``number`` with ``handler(thread, a0, ..., a5)`` (the signature
        of the table's handlers, asterinas_lab/kernel/syscall/table.py) in this kernel
        only: the injection point for student handlers (lab 3). Call it before boot, e.g.
        ``runner.run(argv, with_kernel=lambda k: k.override_syscall(1, my_write))``.
        ``blocking`` handlers run in the thread's task (they may sleep), others on the
        fast path. The shared table is never changed, and without an override dispatch
        is exactly as before."""
        if self.syscall_table is TABLE:
            self.syscall_table = list(TABLE)
        self.syscall_table[number] = SyscallEntry(handler, blocking)

    def _server(self) -> Callable[[Thread, UserContext, bool], bool]:
        """dispatch, or the tracing dispatch while strace or a syscall event wants it."""
        if self.config.strace is not None:
            return self._traced
        active, traced, table = events.active, self._traced, self.syscall_table

        def serve(thread: Thread, context: UserContext, allow_blocking: bool) -> bool:
            if active[SYSCALL_EXIT]:  # set while SYSCALL_ENTER or SYSCALL_EXIT is watched
                return traced(thread, context, allow_blocking)
            return dispatch(thread, context, allow_blocking, table)

        return serve

    def make_fast_syscall(self, thread: Thread) -> Callable[[UserContext], bool]:
        if self.debugger is not None:
            return lambda context: False  # every syscall stops the CPU: the debugger sees it
        if not self.deterministic:
            if self.config.strace is not None:
                return lambda context: self._traced(thread, context, False)
            active, traced, table = events.active, self._traced, self.syscall_table

            def fast_path(context: UserContext) -> bool:  # the hot path: one test more
                if active[SYSCALL_EXIT]:
                    return traced(thread, context, False)
                return dispatch(thread, context, False, table)

            return fast_path
        serve = self._server()

        def fast(context: UserContext) -> bool:
            self._account_syscall(thread)
            # With a time slice used up or a signal to deliver, the slow path goes
            # through the thread loop, which preempts or delivers deterministically.
            if not (self._resched or thread.has_deliverable_signal()) and serve(thread, context, False):
                return True
            thread.accounted = True
            return False

        return fast

    def make_slow_syscall(self, thread: Thread) -> Callable[[UserContext], object]:
        serve = self._server()
        if not self.deterministic:
            return lambda context: serve(thread, context, True)

        def slow(context: UserContext) -> object:
            if thread.accounted:
                thread.accounted = False
            else:
                self._account_syscall(thread)
            return serve(thread, context, True)

        return slow

    def _account_syscall(self, thread: Thread) -> None:
        """Deterministic mode: every syscall costs the same virtual time."""
        clock.advance(SYSCALL_COST_NS)
        thread.cpu_ns += SYSCALL_COST_NS
        if thread.process.cpu_timers:
            check_cpu_timers(thread.process)
        self._ticks_without_syscall = 0
        self.timers.run_expired(clock.monotonic_ns())
        if clock.monotonic_ns() // TIME_SLICE_NS != (clock.monotonic_ns() - SYSCALL_COST_NS) // TIME_SLICE_NS:
            self._resched = True

    def need_resched(self) -> bool:
        """After a kernel event: should the current thread give up the CPU?"""
        if not self.deterministic:
            return True
        if self._resched:
            self._resched = False
            return True
        return False

    def _on_tick(self) -> None:
        if not self.deterministic:
            self.timers.run_expired(clock.monotonic_ns())
            return
        # Deterministic mode ignores host time, except as a watchdog for a thread
        # that spins without ever making a syscall (that alone is not reproducible).
        self._ticks_without_syscall += 1
        if self._ticks_without_syscall >= WATCHDOG_TICKS:
            self._ticks_without_syscall = 0
            clock.advance(TIME_SLICE_NS)
            current = Task.current()
            if current is not None and isinstance(current.data, Thread):
                current.data.cpu_ns += TIME_SLICE_NS  # the spinning thread used that time
                if current.data.process.cpu_timers:
                    check_cpu_timers(current.data.process)
            self.timers.run_expired(clock.monotonic_ns())
            self._resched = True

    def _traced(self, thread: Thread, context: UserContext, allow_blocking: bool) -> bool:
        """``dispatch`` that also prints the call in strace's format and publishes the
        SYSCALL_ENTER and SYSCALL_EXIT events."""
        number, *rest = context.syscall_args()
        table = self.syscall_table
        entry = table[number] if number < NR_SYSCALLS else None
        if entry is not None and entry.blocking and not allow_blocking:
            return False
        formatter = thread.data.get("strace") or self._new_formatter(thread)
        args = tuple(rest)
        text = formatter.format_entry(number, args)
        fields = {"tid": thread.tid, "pid": thread.process.pid, "number": number,
                  "name": SYSCALL_NAMES.get(number, str(number)), "args": args}  # fmt: skip
        # On the fast path a call may still find that it must sleep and be handed to
        # the slow path, which serves it again from the start: there, SYSCALL_ENTER is
        # published only once the call is done, so each call is entered once.
        if allow_blocking and events.active[SYSCALL_ENTER]:
            events.emit(SYSCALL_ENTER, text=text, **fields)
        if number in _NO_RETURN:
            if not allow_blocking and events.active[SYSCALL_ENTER]:
                events.emit(SYSCALL_ENTER, text=text, **fields)
            self._trace_exit(thread, fields, formatter.format_exit(number, args, 0), None)
            return dispatch(thread, context, allow_blocking, table)
        if not dispatch(thread, context, allow_blocking, table):
            return False  # it must block: the slow path will serve (and print) it
        if not allow_blocking and events.active[SYSCALL_ENTER]:
            events.emit(SYSCALL_ENTER, text=text, **fields)
        ret = context.rax
        ret = ret - (1 << 64) if ret >= 1 << 63 else ret
        self._trace_exit(thread, fields, formatter.format_exit(number, args, ret), ret)
        return True

    def _trace_exit(self, thread: Thread, fields: dict, line: str, ret: int | None) -> None:
        if self.config.strace is not None:
            init = self.init_process
            self.config.strace(pid_prefixed(line, thread.tid, init.pid if init is not None else thread.tid))
        if events.active[SYSCALL_EXIT]:
            events.emit(SYSCALL_EXIT, text=line, ret=ret, **fields)

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
        inode = self.vfs.lookup(path, start, follow=False)
        if isinstance(inode, ProcLink):
            return inode.link_text()  # /proc/PID/fd/N shows "pipe:[..]" etc., like Linux
        return self.vfs.readlink(path, start)

    def vfs_absolute(self, path: bytes, cwd) -> bytes:
        """The canonical absolute path (symlinks resolved, as /proc/PID/exe shows it);
        executing ``/proc/self/exe`` must record the program, not the link."""
        try:
            return self._realpath(path, cwd, 40)
        except LinuxError:
            pass
        if path.startswith(b"/"):
            return path
        base = self.vfs.path_of(cwd)
        return base.rstrip(b"/") + b"/" + path

    def _realpath(self, path: bytes, cwd, budget: int) -> bytes:
        parent, name, _ = self.vfs.lookup_parent(path, cwd)
        if name in (b"", b".", b".."):
            return self.vfs.path_of(self.vfs.lookup_dir(path, cwd))
        full = self.vfs.path_of(parent).rstrip(b"/") + b"/" + name
        inode = self.vfs.lookup(full, follow=False)
        if inode.is_symlink and budget > 0 and inode.target:
            return self._realpath(inode.target, parent, budget - 1)
        return full

    def _mount_tmp(self, fs: RamFs, total_frames: int) -> None:
        """Mount a tmpfs on /tmp, sized like Linux's default (half of RAM).

        Whatever the initramfs put in /tmp moves into the new file system, and the
        mount's root takes over the directory's mode, owner and times (usually 1777).
        """
        tmp = (fs.root.children or {}).get(b"tmp")
        if tmp is None or not tmp.is_dir:
            return
        tmpfs = RamFs(max_bytes=total_frames * 4096 // 2)
        root = tmpfs.root
        root.mode, root.uid, root.gid = tmp.mode, tmp.uid, tmp.gid
        tmpfs.adopt(root, tmp)
        root.atime_ns, root.mtime_ns, root.ctime_ns = tmp.atime_ns, tmp.mtime_ns, tmp.ctime_ns
        assert self.vfs is not None
        self.vfs.mount(tmpfs, b"/tmp")

    def memory_stats(self) -> tuple[int, int]:
        return ostd.memory_stats()

    def idle(self) -> bool:
        """Nothing runnable: wait for the next timer. With no timer either, every
        thread sleeps on something only another thread could provide: a deadlock,
        which on Linux would hang forever. Report it and kill everything instead."""
        deadline = self.timers.next_deadline()
        if deadline is None:
            return self._break_deadlock()
        delay = deadline - clock.monotonic_ns()
        if delay > 0:
            if self.deterministic:
                clock.advance(delay)
            else:
                time.sleep(delay / 1e9)
        self.timers.run_expired(clock.monotonic_ns())
        return True

    def _break_deadlock(self) -> bool:
        alive = [p for p in self.processes.values() if not p.zombie and not p.exiting]
        if not alive:
            return False
        names = ", ".join(f"pid {p.pid} ({p.comm.decode(errors='replace')})" for p in alive)
        message = f"deadlock: every thread is blocked and nothing can wake them; killing {names}"
        log(f"kernel: {message}")
        if self.config.report is not None:
            self.config.report(message)
        for process in alive:
            exit_group(process, signal=SIGKILL)
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
            exit_group(process, signal=SIGSEGV)
            exit_thread(thread)

    def on_process_exit(self, process: Process) -> None:
        """Called when a process has become a zombie: a hook for observers (the
        visualisations and tracers that subclass or wrap the kernel)."""
