"""Sending signals and delivering them on the way back to user mode.

*Sending* (kill, a fault, a timer, a child's exit) queues the signal on a process or a
thread and wakes a thread that can take it. *Delivery* happens in the thread's own
loop, just before it returns to user code (:func:`handle_pending_signals`): the
lowest pending unblocked signal is taken and its action applied -- ignore, the default
action (terminate, dump core, stop, continue) or the user's handler, for which a
signal frame is pushed on the user stack (``frame.py``). ``rt_sigreturn`` undoes that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ....ostd import Event, events
from ...error import EINTR, LinuxError
from ..lifecycle import exit_group
from .constants import (
    CLD_CONTINUED,
    CLD_STOPPED,
    CONT,
    CORE,
    ERESTART_RESTARTBLOCK,
    ERESTARTNOHAND,
    ERESTARTSYS,
    IGNORE,
    SA_NOCLDSTOP,
    SA_NODEFER,
    SA_ONSTACK,
    SA_RESETHAND,
    SA_RESTART,
    SIG_DFL,
    SIG_IGN,
    SIGCHLD,
    SIGCONT,
    SIGKILL,
    SIGSEGV,
    SS_DISABLE,
    SS_ONSTACK,
    STOP,
    STOP_MASK,
    UNBLOCKABLE,
    default_action,
    sig_bit,
)
from .frame import (
    RED_ZONE,
    SIGINFO_OFFSET,
    UCONTEXT_OFFSET,
    UCONTEXT_SIZE,
    frame_address,
    pack_frame,
    unpack_ucontext,
)
from .state import SigAction, SigInfo, lowest_signal

if TYPE_CHECKING:
    from ..process import Process, Thread

_MAX_SAVED_CONTEXTS = 64
_RFLAGS_CLEAR_ON_ENTRY = 0x400 | 0x100  # DF, TF


def is_ignored(process: Process, sig: int) -> bool:
    action = process.sig_actions[sig]
    if action.handler == SIG_IGN:
        return True
    return action.handler == SIG_DFL and default_action(sig) in (IGNORE, CONT)


def _generation_effects(process: Process, sig: int) -> bool:
    """What happens when a signal is *sent*, before anyone takes it. Returns False if
    the signal need not be queued."""
    if process.zombie or process.exiting:
        return False
    if sig == SIGKILL:
        exit_group(process, signal=SIGKILL)
        return False
    if sig == SIGCONT:
        process.sig_pending.discard(STOP_MASK)
        for thread in process.threads:
            thread.sig_pending.discard(STOP_MASK)
        if process.stopped:
            process.stopped = False
            process.report_stop = None
            process.report_continued = True
            process.stop_queue.wake_all()
            _tell_parent(process, CLD_CONTINUED, SIGCONT)
    elif sig_bit(sig) & STOP_MASK:
        process.sig_pending.discard(sig_bit(SIGCONT))
    bit = sig_bit(sig)
    if is_ignored(process, sig) and all(not t.sig_mask & bit for t in process.threads if not t.exited):
        return False
    return True


def send_to_process(process: Process, info: SigInfo) -> None:
    """Queue a process-directed signal (kill) and wake a thread that can take it."""
    if not _generation_effects(process, info.signo):
        return
    if not process.sig_pending.add(info):
        return
    bit = sig_bit(info.signo)
    for thread in process.threads:
        if not thread.exited and not thread.sig_mask & bit:
            thread.wake()
            return


def send_to_thread(thread: Thread, info: SigInfo) -> None:
    """Queue a thread-directed signal (tgkill, a CPU fault) on that thread."""
    if not _generation_effects(thread.process, info.signo):
        return
    if thread.sig_pending.add(info):
        thread.wake()


def _tell_parent(process: Process, code: int, sig: int) -> None:
    parent = process.parent
    if parent is None or parent.zombie:
        return
    parent.child_exit.wake_all()
    if not parent.sig_actions[SIGCHLD].flags & SA_NOCLDSTOP:
        send_to_process(parent, SigInfo(SIGCHLD, code=code, pid=process.pid, status=sig, kind="chld"))


def _stop(process: Process, sig: int) -> None:
    if process.stopped or process.exiting:
        return
    process.stopped = True
    process.report_stop = sig
    process.report_continued = False
    for thread in process.threads:
        thread.wake()  # threads in user mode stop on their way back
    _tell_parent(process, CLD_STOPPED, sig)


def handle_pending_signals(thread: Thread) -> None:
    """Apply pending signals before returning to user mode (at most one handler)."""
    process = thread.process
    actions = process.sig_actions
    while not thread.exited:
        if process.stopped:
            process.stop_queue.wait_until(lambda: not process.stopped or thread.exited)
            continue
        pending = (thread.sig_pending.mask | process.sig_pending.mask) & ~thread.sig_mask
        if not pending:
            break
        # Signals the thread itself caused (faults) and thread-directed ones go first.
        own = thread.sig_pending.mask & ~thread.sig_mask
        sig = lowest_signal(own or pending)
        info = thread.sig_pending.take(sig) if own else process.sig_pending.take(sig)
        action = actions[sig]
        if events.active[Event.SIGNAL]:
            events.emit(Event.SIGNAL, pid=process.pid, tid=thread.tid, signal=sig,
                        action=_action_name(action, sig))  # fmt: skip
        if action.handler == SIG_IGN:
            continue
        if action.handler == SIG_DFL:
            kind = default_action(sig)
            if kind in (IGNORE, CONT):
                continue
            if kind == STOP:
                _stop(process, sig)
                continue
            exit_group(process, signal=sig, core=kind == CORE)
            return
        _fix_up_restart(thread, action)
        _setup_frame(thread, info, action)
        return
    if thread.exited:
        return
    if thread.restart is not None:
        # No handler ran: the interrupted syscall simply starts again.
        _restart_syscall(thread)
    if thread.saved_sig_mask is not None:
        thread.sig_mask, thread.saved_sig_mask = thread.saved_sig_mask, None


def _action_name(action: SigAction, sig: int) -> str:
    if action.handler == SIG_IGN:
        return "ignore"
    return default_action(sig) if action.handler == SIG_DFL else "handler"


def _restart_syscall(thread: Thread) -> None:
    _code, number = thread.restart
    thread.restart = None
    context = thread.context
    context.rip -= 2  # back onto the syscall instruction
    context.rax = number


def _fix_up_restart(thread: Thread, action: SigAction) -> None:
    if thread.restart is None:
        return
    code, _number = thread.restart
    if code in (ERESTARTNOHAND, ERESTART_RESTARTBLOCK) or (code == ERESTARTSYS and not action.flags & SA_RESTART):
        thread.restart = None
        thread.context.rax = -EINTR & 0xFFFF_FFFF_FFFF_FFFF
    else:
        _restart_syscall(thread)


def _setup_frame(thread: Thread, info: SigInfo, action: SigAction) -> None:
    context = thread.context
    process = thread.process
    regs = context.general_regs()
    sp = regs["rsp"]
    ss_sp, ss_size, ss_flags = thread.altstack
    on_altstack = ss_flags != SS_DISABLE and ss_sp < sp <= ss_sp + ss_size
    if action.flags & SA_ONSTACK and ss_flags != SS_DISABLE and not on_altstack:
        sp = ss_sp + ss_size
    else:
        sp -= RED_ZONE
    frame = frame_address(sp)
    old_mask = thread.saved_sig_mask if thread.saved_sig_mask is not None else thread.sig_mask
    thread.saved_sig_mask = None
    stack_flags = SS_DISABLE if ss_flags == SS_DISABLE else (SS_ONSTACK if on_altstack else 0)
    data = pack_frame(
        action.restorer, regs, (ss_sp, ss_size, stack_flags), old_mask, info.pack(),
        trapno=info.trapno, err=info.error_code, cr2=info.addr if info.trapno == 14 else 0,
    )  # fmt: skip
    try:
        process.write_bytes(frame, data)
    except LinuxError:
        # No room for the frame (a smashed stack): Linux kills with SIGSEGV.
        exit_group(process, signal=SIGSEGV, core=True)
        return
    saved = thread.signal_contexts
    if len(saved) >= _MAX_SAVED_CONTEXTS:
        saved.pop(next(iter(saved)))  # a handler left with longjmp never returns
    saved[frame] = context.clone()
    sig = info.signo
    blocked = action.mask | (0 if action.flags & SA_NODEFER else sig_bit(sig))
    thread.sig_mask = (old_mask | blocked) & ~UNBLOCKABLE
    if action.flags & SA_RESETHAND:
        process.sig_actions[sig] = SigAction()
    context.set_general_regs({
        "rsp": frame, "rip": action.handler, "rdi": sig, "rsi": frame + SIGINFO_OFFSET,
        "rdx": frame + UCONTEXT_OFFSET, "rax": 0, "rflags": regs["rflags"] & ~_RFLAGS_CLEAR_ON_ENTRY,
    })  # fmt: skip


def sigreturn(thread: Thread) -> None:
    """rt_sigreturn: restore what the frame at RSP-8 saved."""
    context = thread.context
    ucontext = context.rsp
    frame = ucontext - UCONTEXT_OFFSET
    try:
        data = thread.process.read_bytes(ucontext, UCONTEXT_SIZE)
    except LinuxError:
        exit_group(thread.process, signal=SIGSEGV, core=True)
        return
    regs, mask = unpack_ucontext(data)
    saved = thread.signal_contexts.pop(frame, None)
    if saved is not None:
        context.restore_from(saved)
    context.set_general_regs(regs)
    thread.sig_mask = mask & ~UNBLOCKABLE
    thread.restart = None

