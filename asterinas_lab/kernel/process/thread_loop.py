"""The loop each user thread's kernel task runs (Asterinas' ``task_fn``).

Run user code; when it returns to the kernel, serve the reason: a syscall (those that
cannot block were already served on the fast path inside the CPU hook), a CPU
exception (a page fault the fast path could not resolve, or a crash), or a kernel
event (a timer tick: let other tasks run; a signal arrived). Before each return to
user mode, pending signals are delivered.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ...ostd import USER_SPACE_END, CpuException, ReturnReason, Task, UserContext, log
from ..error import LinuxError
from ..time.cpu_timers import check_cpu_timers
from ..vm.fault_access import is_instruction_fetch, page_fault_error_code
from ..vm.page_fault import FAULT_OOM, FAULT_SIGBUS, SEGV_MAPERR, handle_page_fault
from .lifecycle import exit_group, exit_thread
from .signal.constants import (
    BUS_ADRERR,
    FPE_INTDIV,
    ILL_ILLOPN,
    RESTART_CODES,
    SI_KERNEL,
    SIG_IGN,
    SIGBUS,
    SIGFPE,
    SIGILL,
    SIGKILL,
    SIGSEGV,
    SIGTRAP,
    TRAP_BRKPT,
    sig_bit,
)
from .signal.deliver import handle_pending_signals, send_to_thread
from .signal.state import SigAction, SigInfo

if TYPE_CHECKING:
    from .process import Thread

_VECTOR_SIGNALS = {0: (SIGFPE, FPE_INTDIV), 1: (SIGTRAP, TRAP_BRKPT), 3: (SIGTRAP, SI_KERNEL),
                   4: (SIGSEGV, SI_KERNEL), 5: (SIGSEGV, SI_KERNEL), 6: (SIGILL, ILL_ILLOPN),
                   13: (SIGSEGV, SI_KERNEL), 16: (SIGFPE, 0), 17: (SIGBUS, BUS_ADRERR),
                   19: (SIGFPE, 0)}  # fmt: skip
_U64 = 1 << 64
_RESTART_MIN = _U64 - max(RESTART_CODES)


def thread_loop(thread: Thread) -> None:
    kernel = thread.kernel
    user_mode = thread.user_mode
    context = user_mode.context
    user_mode.fast_syscall = kernel.make_fast_syscall(thread)
    user_mode.fast_page_fault = lambda ctx, address: _fast_page_fault(thread, ctx, address)
    slow = kernel.make_slow_syscall(thread)
    has_event = thread.has_deliverable_signal
    # CPU time from the host clock (deterministic mode counts syscalls instead, and
    # checks the CPU-time timers there, at reproducible points).
    host_time = not kernel.deterministic
    clock = time.perf_counter_ns if host_time else (lambda: 0)
    # A debugger (a notebook stepping the machine) gets control after every return to
    # the kernel, in this task, where it may pause the whole machine.
    debugger = kernel.debugger
    try:
        while not thread.exited:
            handle_pending_signals(thread)
            if thread.exited:
                break
            thread.process.vm.vm_space.activate()
            started = clock()
            thread.in_fast_path = True
            reason = user_mode.execute(has_event, debugger.instructions(thread) if debugger else 0)
            thread.in_fast_path = False
            thread.cpu_ns += clock() - started
            if host_time and thread.process.cpu_timers:
                check_cpu_timers(thread.process)
            if reason is ReturnReason.USER_SYSCALL:
                number = context.rax
                slow(context)
                result = context.rax
                if result >= _RESTART_MIN and _U64 - result in RESTART_CODES and not thread.exited:
                    thread.restart = (_U64 - result, number)
            elif reason is ReturnReason.USER_EXCEPTION:
                handle_user_exception(thread, context.trap)
            elif kernel.need_resched():
                Task.yield_now()
            if debugger is not None:
                debugger.after(thread, reason)
    except BaseException:
        # An oops: the kernel's oops handler ends the process (and this thread).
        thread.data["task_ended"] = True
        raise
    thread.data["task_ended"] = True
    exit_thread(thread)


def _fast_page_fault(thread: Thread, context: UserContext, address: int) -> bool:
    rip = context.rip
    return handle_page_fault(thread.process.vm, address, execute=is_instruction_fetch(rip, address)) == 0


def handle_user_exception(thread: Thread, trap: CpuException) -> None:
    """A CPU exception the fast path did not resolve: retry a page fault in the slow
    path (memory may have been freed since), else the thread gets a signal."""
    if trap.vector == CpuException.PAGE_FAULT:
        rip = thread.context.rip
        code = handle_page_fault(thread.process.vm, trap.address, execute=is_instruction_fetch(rip, trap.address))
        if code == 0:
            return
        if code == FAULT_OOM:
            process = thread.process
            log(f"kernel: out of memory: killing pid {process.pid} ({process.comm.decode(errors='replace')})")
            exit_group(process, signal=SIGKILL)
            return
        if code == FAULT_SIGBUS:
            info = SigInfo(SIGBUS, code=BUS_ADRERR, addr=trap.address, kind="fault")
        else:
            info = SigInfo(SIGSEGV, code=code or SEGV_MAPERR, addr=trap.address, kind="fault")
        info.error_code = _error_code(thread, rip, trap.address)
    else:
        sig, code = _VECTOR_SIGNALS.get(trap.vector, (SIGSEGV, SI_KERNEL))
        info = SigInfo(sig, code=code, addr=thread.context.rip if sig != SIGSEGV else 0, kind="fault")
    info.trapno = trap.vector
    _force_signal(thread, info)


def _error_code(thread: Thread, rip: int, address: int) -> int:
    """The page-fault error code a real CPU would have pushed (see fault_access.py)."""
    process = thread.process
    present = address < USER_SPACE_END and process.vm.vm_space.query_flags(address & ~0xFFF) is not None
    try:
        code = process.read_bytes(rip, 16)
    except LinuxError:
        code = b""
    return page_fault_error_code(code, rip, address, present)


def _force_signal(thread: Thread, info: SigInfo) -> None:
    """A fault's signal cannot be blocked or ignored: if it is, the default applies."""
    process = thread.process
    sig = info.signo
    if thread.sig_mask & sig_bit(sig) or process.sig_actions[sig].handler == SIG_IGN:
        thread.sig_mask &= ~sig_bit(sig)
        process.sig_actions[sig] = SigAction()
    send_to_thread(thread, info)
