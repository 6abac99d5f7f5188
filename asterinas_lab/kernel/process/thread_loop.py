"""The loop each user thread's kernel task runs (Asterinas' ``task_fn``).

Run user code; when it returns to the kernel, serve the reason: a syscall (those that
cannot block were already served on the fast path inside the CPU hook), a CPU
exception (a page fault the fast path could not resolve, or a crash), or a kernel
event (a timer tick: let other tasks run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...ostd import CpuException, ReturnReason, Task, UserContext
from ..syscall.table import dispatch
from ..vm.page_fault import handle_page_fault
from .lifecycle import exit_process

if TYPE_CHECKING:
    from .process import Thread

SIGILL, SIGTRAP, SIGFPE, SIGSEGV, SIGBUS = 4, 5, 8, 11, 7
_VECTOR_SIGNALS = {0: SIGFPE, 1: SIGTRAP, 3: SIGTRAP, 4: SIGSEGV, 5: SIGSEGV, 6: SIGILL,
                   13: SIGSEGV, 14: SIGSEGV, 16: SIGFPE, 17: SIGBUS, 19: SIGFPE}  # fmt: skip


def thread_loop(thread: Thread) -> None:
    kernel = thread.kernel
    user_mode = thread.user_mode
    context = user_mode.context
    user_mode.fast_syscall = kernel.make_fast_syscall(thread)
    user_mode.fast_page_fault = lambda ctx, address: _fast_page_fault(thread, ctx, address)
    slow = kernel.make_slow_syscall(thread)
    while not thread.exited:
        thread.process.vm.vm_space.activate()
        reason = user_mode.execute()
        if reason is ReturnReason.USER_SYSCALL:
            slow(context)
        elif reason is ReturnReason.USER_EXCEPTION:
            handle_user_exception(thread, context.trap)
        else:
            Task.yield_now()


def _fast_page_fault(thread: Thread, context: UserContext, address: int) -> bool:
    rip = context.rip
    return handle_page_fault(thread.process.vm, address, execute=rip <= address < rip + 16) == 0


def handle_user_exception(thread: Thread, trap: CpuException) -> None:
    """A CPU exception the kernel could not resolve: the process gets a signal.

    Signal handlers arrive with the process issue; until then the signal's default
    action applies, which for these signals is to terminate the process.
    """
    signal = _VECTOR_SIGNALS.get(trap.vector, SIGSEGV)
    exit_process(thread.kernel, thread.process, code=0, signal=signal)


def dispatch_fast(thread: Thread, context: UserContext) -> bool:
    return dispatch(thread, context, False)
