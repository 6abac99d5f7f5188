"""How threads and processes end: exit, exit_group, death by signal, and reaping.

A process ends in two steps, as in Linux:

1. *Deciding* to end (``exit_group``, a fatal signal, an oops): the exit status is
   recorded once and every thread is told to exit; sleeping threads are woken so that
   their syscalls return.
2. Each thread leaves its loop and calls :func:`exit_thread`; the *last* one releases
   what the process owns (its address space and open files) and turns it into a
   *zombie*, holding only the exit status until the parent reaps it with wait4. The
   parent is woken and sent SIGCHLD; the children are re-parented to init.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ...ostd import Event, events, log
from ..error import LinuxError
from .signal.constants import (
    CLD_DUMPED,
    CLD_EXITED,
    CLD_KILLED,
    SA_NOCLDWAIT,
    SIG_IGN,
    SIGCHLD,
    SIGKILL,
    signal_name,
)
from .signal.state import SigInfo

if TYPE_CHECKING:
    from ..main import Kernel
    from .process import Process, Thread

FUTEX_WAKE_ALL = 1


def exit_group(process: Process, code: int = 0, signal: int | None = None, core: bool = False) -> None:
    """Make the whole process exit, with ``code`` or killed by ``signal``."""
    if process.exiting or process.zombie:
        return
    process.exiting = True
    process.exit_code = code
    process.term_signal = signal
    process.core_dumped = core
    if process.stopped:
        process.stopped = False
        process.stop_queue.wake_all()
    if signal is not None:
        log(f"kernel: pid {process.pid} ({process.comm.decode(errors='replace')}) killed by {signal_name(signal)}")
    for thread in process.threads:
        if not thread.exited:
            thread.exited = True
            thread.wake()
    # Threads that never ran (or whose task already ended) leave right away.
    for thread in list(process.threads):
        if thread.task is None or thread.data.get("task_ended"):
            exit_thread(thread)


def exit_thread(thread: Thread) -> None:
    """The thread is gone; the last thread of a process takes the process with it."""
    if thread.data.get("finished"):
        return
    thread.exited = True
    thread.data["finished"] = True
    process = thread.process
    kernel = thread.kernel
    if thread.robust_list and not process.zombie:
        _release_robust_futexes(thread)
    if thread.clear_child_tid and not process.zombie:
        # CLONE_CHILD_CLEARTID: zero the tid word and wake a joiner (pthread_join).
        try:
            process.write_bytes(thread.clear_child_tid, struct.pack("<I", 0))
            kernel.futexes.wake(process, thread.clear_child_tid, FUTEX_WAKE_ALL, 0xFFFF_FFFF, private=False)
        except LinuxError:
            pass
    if all(t.data.get("finished") for t in process.threads):
        if not process.exiting:
            process.exiting = True
            process.exit_code = thread.data.get("exit_code", 0)
        _release_process(kernel, process)


FUTEX_WAITERS, FUTEX_OWNER_DIED, FUTEX_TID_MASK = 0x8000_0000, 0x4000_0000, 0x3FFF_FFFF
ROBUST_LIST_LIMIT = 2048


def _release_robust_futexes(thread: Thread) -> None:
    """A dying thread still holding robust mutexes (set_robust_list): mark each one
    FUTEX_OWNER_DIED and wake a waiter, so the next locker gets EOWNERDEAD instead of
    waiting forever. The list lives in user memory: ``struct robust_list_head`` is
    {next, futex_offset, list_op_pending}, each entry a {next} pointer."""
    process = thread.process
    try:
        head = thread.robust_list
        entry, offset, pending = struct.unpack("<QqQ", process.read_bytes(head, 24))
        entries = []
        while entry != head and entry and len(entries) < ROBUST_LIST_LIMIT:
            entries.append(entry)
            entry = process.read_u64(entry)
        if pending:
            entries.append(pending)
        for item in entries:
            word_addr = item + offset
            word = process.read_u32(word_addr)
            if word & FUTEX_TID_MASK != thread.tid:
                continue
            process.write_bytes(word_addr, struct.pack("<I", (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED))
            if word & FUTEX_WAITERS:
                thread.kernel.futexes.wake(process, word_addr, 1, 0xFFFF_FFFF, private=False)
    except LinuxError:
        pass  # a corrupt list: Linux stops walking it, and so do we


def _release_process(kernel: Kernel, process: Process) -> None:
    for observe in kernel.exit_observers:
        observe(process)
    process.files.release()
    vm = process.vm
    vm.users -= 1
    if vm.users == 0:
        vm.destroy()
    if process.vfork_done is not None:
        process.vfork_done.wake_all()
        process.vfork_done = None
    if process.itimer_real is not None:
        process.itimer_real.disarm()
        process.itimer_real = None
    for posix in process.posix_timers.values():
        posix.timer.disarm()
    process.posix_timers.clear()
    process.cpu_timers.clear()
    process.cpu_ns = process.total_cpu_ns()
    process.zombie = True
    if events.active[Event.EXIT]:
        events.emit(Event.EXIT, pid=process.pid, status=process.wait_status)
    _reparent_children(kernel, process)
    parent = process.parent
    if parent is None or parent.zombie:
        kernel.processes.pop(process.pid, None)
    else:
        _notify_parent(parent, process)
    kernel.on_process_exit(process)


def _reparent_children(kernel: Kernel, process: Process) -> None:
    init = kernel.init_process
    if process is init:
        # Like the last process of a PID namespace: when init goes, everything goes.
        for other in list(kernel.processes.values()):
            if other is not process and not other.zombie:
                exit_group(other, signal=SIGKILL)
        for child in process.children.values():
            child.parent = None
            if child.zombie:
                kernel.processes.pop(child.pid, None)
        process.children.clear()
        return
    for pid, child in list(process.children.items()):
        child.parent = init
        child.exit_signal = SIGCHLD  # "we don't want people slaying init" (Linux)
        if init is not None and not init.zombie:
            init.children[pid] = child
            if child.zombie:
                _notify_parent(init, child)
        elif child.zombie:
            kernel.processes.pop(pid, None)
    process.children.clear()


def _notify_parent(parent: Process, child: Process) -> None:
    from .signal.deliver import send_to_process  # deliver.py imports this module

    action = parent.sig_actions[SIGCHLD]
    if child.exit_signal == SIGCHLD and (action.handler == SIG_IGN or action.flags & SA_NOCLDWAIT):
        # The parent said it will never wait: the child is reaped at once.
        reap(parent, child)
        parent.child_exit.wake_all()
        return
    parent.child_exit.wake_all()
    if child.exit_signal:
        if child.term_signal is None:
            code, status = CLD_EXITED, child.exit_code or 0
        else:
            code, status = (CLD_DUMPED if child.core_dumped else CLD_KILLED), child.term_signal
        send_to_process(parent, SigInfo(child.exit_signal, code=code, pid=child.pid, status=status,
                                        utime=child.cpu_ns // 10_000_000, kind="chld"))  # fmt: skip


def reap(parent: Process, child: Process) -> None:
    """Forget a zombie child (after wait4 reported it)."""
    parent.children.pop(child.pid, None)
    parent.children_cpu_ns += child.cpu_ns + child.children_cpu_ns
    kernel = child.kernel
    if kernel is not None:
        kernel.processes.pop(child.pid, None)
