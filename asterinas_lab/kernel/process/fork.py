"""clone, fork and vfork: new processes and new threads.

``clone`` copies the calling thread's registers into a new thread whose ``syscall``
returns 0, and decides per resource whether the child *shares* it or gets a *copy*:

=================  ==========================  ===================================
flag               shared                      otherwise
=================  ==========================  ===================================
CLONE_VM           the address space           a copy-on-write duplicate
CLONE_FILES        the descriptor table        a copy (same open files)
CLONE_FS           cwd, root, umask            a copy
CLONE_SIGHAND      signal dispositions         a copy
CLONE_THREAD       the process (thread group)  a new process, child of the caller
=================  ==========================  ===================================

fork is ``clone(SIGCHLD)``; vfork is ``clone(CLONE_VM | CLONE_VFORK | SIGCHLD)``: the
child borrows the parent's memory and the parent sleeps until the child calls execve
or exits. Forking copies page tables, not pages (see ``ProcessVm.fork``).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ...ostd import Event, WaitQueue, events
from ..error import EAGAIN, EINVAL, LinuxError
from .process import Process, Thread, fork_process_vm
from .signal.constants import NSIG

if TYPE_CHECKING:
    from ..main import Kernel

CSIGNAL = 0x000000FF
CLONE_VM = 0x00000100
CLONE_FS = 0x00000200
CLONE_FILES = 0x00000400
CLONE_SIGHAND = 0x00000800
CLONE_PIDFD = 0x00001000
CLONE_PTRACE = 0x00002000
CLONE_VFORK = 0x00004000
CLONE_PARENT = 0x00008000
CLONE_THREAD = 0x00010000
CLONE_NEWNS = 0x00020000
CLONE_SYSVSEM = 0x00040000
CLONE_SETTLS = 0x00080000
CLONE_PARENT_SETTID = 0x00100000
CLONE_CHILD_CLEARTID = 0x00200000
CLONE_DETACHED = 0x00400000
CLONE_UNTRACED = 0x00800000
CLONE_CHILD_SETTID = 0x01000000
CLONE_NAMESPACES = 0x7E020000  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET

RLIMIT_NPROC = 6


def clone(
    kernel: Kernel,
    thread: Thread,
    flags: int,
    stack: int = 0,
    parent_tid: int = 0,
    child_tid: int = 0,
    tls: int = 0,
) -> int:
    """Create the child; return its thread id (the caller's syscall result)."""
    _check_flags(flags)
    parent = thread.process
    _check_limits(kernel, parent)
    context = thread.context.clone()
    context.rax = 0
    if stack:
        context.rsp = stack
    if flags & CLONE_SETTLS:
        context.fs_base = tls
    if flags & CLONE_THREAD:
        child = kernel.new_thread(parent, context)
        process = parent
    else:
        process = _new_process(kernel, thread, flags)
        child = kernel.new_thread(process, context)
    child.sig_mask = thread.sig_mask
    if not flags & CLONE_VM or flags & CLONE_VFORK:
        child.altstack = thread.altstack
    if flags & CLONE_PARENT_SETTID:
        parent.write_bytes(parent_tid, struct.pack("<I", child.tid))
    if flags & CLONE_CHILD_SETTID:
        process.write_bytes(child_tid, struct.pack("<I", child.tid))
    if flags & CLONE_CHILD_CLEARTID:
        child.clear_child_tid = child_tid
    if events.active[Event.PROCESS_CREATE]:
        events.emit(Event.PROCESS_CREATE, pid=process.pid, tid=child.tid, parent=parent.pid, flags=flags,
                    thread=bool(flags & CLONE_THREAD))  # fmt: skip
    kernel.start_thread(child)
    if flags & CLONE_VFORK:
        done = process.vfork_done = WaitQueue()
        # Not interruptible, as in Linux: the child is using our memory and stack.
        done.wait_until(lambda: process.vfork_done is None or process.zombie or thread.exited)
    return child.tid


def _check_flags(flags: int) -> None:
    if flags & CLONE_THREAD and not flags & CLONE_SIGHAND:
        raise LinuxError(EINVAL)
    if flags & CLONE_SIGHAND and not flags & CLONE_VM:
        raise LinuxError(EINVAL)
    if flags & CLONE_THREAD and flags & CSIGNAL:
        raise LinuxError(EINVAL)  # since Linux 5.x: a thread has no exit signal
    if flags & CLONE_NAMESPACES or flags & CLONE_PIDFD:
        raise LinuxError(EINVAL)  # namespaces and pidfds are not supported
    if (flags & CSIGNAL) > NSIG:
        raise LinuxError(EINVAL)


def _check_limits(kernel: Kernel, parent: Process) -> None:
    if kernel.thread_count() >= kernel.max_threads:
        raise LinuxError(EAGAIN)
    cred = parent.cred
    if cred.uid != 0 and cred.euid != 0:
        soft = kernel.rlimit(parent, RLIMIT_NPROC)[0]
        mine = sum(1 for p in kernel.processes.values() if not p.zombie and p.cred.uid == cred.uid)
        if mine >= soft:
            raise LinuxError(EAGAIN)


def _new_process(kernel: Kernel, thread: Thread, flags: int) -> Process:
    parent = thread.process
    vm = parent.vm
    if flags & CLONE_VM:
        vm.users += 1
    else:
        vm = fork_process_vm(vm)  # MemoryError -> ENOMEM in the dispatcher
    real_parent = parent.parent if flags & CLONE_PARENT and parent.parent is not None else parent
    process = kernel.new_process(real_parent, vm=vm)
    process.files = parent.files.share() if flags & CLONE_FILES else parent.files.copy()
    process.fs = parent.fs if flags & CLONE_FS else parent.fs.copy()
    process.sig_actions = parent.sig_actions if flags & CLONE_SIGHAND else parent.sig_actions.copy()
    process.cred = parent.cred.copy()
    process.pgid, process.sid = parent.pgid, parent.sid
    process.comm, process.exe_path, process.argv = parent.comm, parent.exe_path, list(parent.argv)
    process.rlimits = dict(parent.rlimits)
    process.nice = parent.nice
    # A sibling (CLONE_PARENT) inherits the caller's exit signal: a process may not
    # choose which signal its own parent gets (it could be init, and SIGKILL).
    process.exit_signal = parent.exit_signal if flags & CLONE_PARENT else flags & CSIGNAL
    return process
