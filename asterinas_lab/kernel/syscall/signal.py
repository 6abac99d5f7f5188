"""Signal syscalls: sigaction, sigprocmask, sigreturn, kill, sigsuspend, ...

Sending is immediate (the target is woken); delivery happens in the target thread's
loop on its way back to user mode. That is why the calls that can make a signal
deliverable to the caller (kill to itself, unblocking, sigreturn) run on the slow
path: the loop then delivers before the next user instruction, as Linux does.
"""

from __future__ import annotations

import struct

from ..error import EAGAIN, EINTR, EINVAL, ENOMEM, EPERM, ESRCH, LinuxError, MustBlock
from ..process.signal.constants import (
    ERESTARTNOHAND,
    MINSIGSTKSZ,
    NSIG,
    SI_QUEUE,
    SI_TKILL,
    SI_USER,
    SIG_DFL,
    SIG_IGN,
    SIGKILL,
    SIGSTOP,
    SS_AUTODISARM,
    SS_DISABLE,
    SS_ONSTACK,
    UNBLOCKABLE,
)
from ..process.signal.deliver import send_to_process, send_to_thread, sigreturn
from ..process.signal.pause import pause_until
from ..process.signal.state import SigAction, SigInfo, lowest_signal
from ..time import clock
from . import numbers as nr
from .args import s32

SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
_u64 = struct.Struct("<Q")
_timespec = struct.Struct("<qq")
_stack_t = struct.Struct("<QiiQ")


def _signum(value: int, allow_zero: bool = False) -> int:
    sig = s32(value)
    if not (0 if allow_zero else 1) <= sig <= NSIG:
        raise LinuxError(EINVAL)
    return sig


def sys_rt_sigaction(t, signum, act, oldact, sigsetsize, *_):
    sig = _signum(signum)
    if sigsetsize != 8:
        raise LinuxError(EINVAL)
    if act and sig in (SIGKILL, SIGSTOP):
        raise LinuxError(EINVAL)
    actions = t.process.sig_actions
    new = SigAction.unpack(t.process.read_bytes(act, 32)) if act else None
    if oldact:
        t.process.write_bytes(oldact, actions[sig].pack())
    if new is not None:
        new.mask &= ~UNBLOCKABLE
        new.flags &= 0xFFFF_FFFF
        actions[sig] = new
        if new.handler == 1:
            # Setting SIG_IGN discards the signal if it is pending (POSIX).
            bit = 1 << (sig - 1)
            t.process.sig_pending.discard(bit)
            for thread in t.process.threads:
                thread.sig_pending.discard(bit)
    return 0


def sys_rt_sigprocmask(t, how, nset, oset, sigsetsize, *_):
    if sigsetsize != 8:
        raise LinuxError(EINVAL)
    mask = t.sig_mask
    value = _u64.unpack(t.process.read_bytes(nset, 8))[0] if nset else None
    if oset:
        t.process.write_bytes(oset, _u64.pack(mask))
    if value is not None:
        how = s32(how)
        if how == SIG_BLOCK:
            mask |= value
        elif how == SIG_UNBLOCK:
            mask &= ~value
        elif how == SIG_SETMASK:
            mask = value
        else:
            raise LinuxError(EINVAL)
        mask &= ~UNBLOCKABLE
        if t.in_fast_path and (t.sig_pending.mask | t.process.sig_pending.mask) & ~mask:
            raise MustBlock  # a signal becomes deliverable: take the slow path to deliver it
        t.sig_mask = mask
    return 0


def sys_rt_sigreturn(t, *_):
    sigreturn(t)
    return None


def sys_rt_sigpending(t, set_addr, sigsetsize, *_):
    if sigsetsize > 8:
        raise LinuxError(EINVAL)
    pending = (t.sig_pending.mask | t.process.sig_pending.mask) & t.sig_mask
    t.process.write_bytes(set_addr, _u64.pack(pending)[:sigsetsize])
    return 0


def sys_rt_sigsuspend(t, mask_addr, sigsetsize, *_):
    if sigsetsize != 8:
        raise LinuxError(EINVAL)
    (mask,) = _u64.unpack(t.process.read_bytes(mask_addr, 8))
    t.saved_sig_mask = t.sig_mask
    t.sig_mask = mask & ~UNBLOCKABLE
    pause_until(t, lambda: None, restart=ERESTARTNOHAND)
    return 0  # not reached: only a signal ends the wait


def sys_pause(t, *_):
    pause_until(t, lambda: None, restart=ERESTARTNOHAND)
    return 0


def sys_rt_sigtimedwait(t, set_addr, info_addr, timeout_addr, sigsetsize, *_):
    if sigsetsize != 8:
        raise LinuxError(EINVAL)
    (wanted,) = _u64.unpack(t.process.read_bytes(set_addr, 8))
    wanted &= ~UNBLOCKABLE
    deadline = None
    if timeout_addr:
        sec, nsec = _timespec.unpack(t.process.read_bytes(timeout_addr, 16))
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            raise LinuxError(EINVAL)
        deadline = clock.monotonic_ns() + sec * 1_000_000_000 + nsec
    process = t.process

    def pending():
        return (t.sig_pending.mask | process.sig_pending.mask) & wanted or None

    # The waited-for signals count as unblocked while waiting, so that kill wakes us.
    old_mask = t.sig_mask
    t.sig_mask = old_mask & ~wanted
    try:
        bits = pending()
        if bits is None:
            if deadline is not None and deadline <= clock.monotonic_ns():
                raise LinuxError(EAGAIN)
            t.sig_mask = old_mask  # other signals still interrupt; ours are checked by the condition
            try:
                bits = pause_until(t, pending, deadline_ns=deadline)
            except LinuxError as error:
                if error.errno == 110:  # ETIMEDOUT
                    raise LinuxError(EAGAIN) from None
                raise
    finally:
        t.sig_mask = old_mask
    sig = lowest_signal(bits)
    info = t.sig_pending.take(sig) or process.sig_pending.take(sig)
    if info_addr:
        t.process.write_bytes(info_addr, info.pack())
    return sig


def sys_sigaltstack(t, ss, old_ss, *_):
    ss_sp, ss_size, ss_flags = t.altstack
    sp = t.context.rsp
    on_stack = ss_flags != SS_DISABLE and ss_sp < sp <= ss_sp + ss_size
    new = _stack_t.unpack(t.process.read_bytes(ss, 24)) if ss else None
    if old_ss:
        flags = SS_ONSTACK if on_stack else ss_flags & ~SS_ONSTACK
        t.process.write_bytes(old_ss, _stack_t.pack(ss_sp, flags, 0, ss_size))
    if new is not None:
        sp_new, flags, _pad, size = new
        if on_stack:
            raise LinuxError(EPERM)
        mode = flags & ~SS_AUTODISARM
        if mode not in (0, SS_DISABLE, SS_ONSTACK):
            raise LinuxError(EINVAL)
        if mode == SS_DISABLE:
            t.altstack = (0, 0, SS_DISABLE)
        else:
            if size < MINSIGSTKSZ:
                raise LinuxError(ENOMEM)
            t.altstack = (sp_new, size, 0)
    return 0


def _protected_init(t, process, sig: int) -> bool:
    """Linux delivers to init (pid 1) only the signals it has a handler for: a user
    cannot kill init, not even with SIGKILL."""
    return process is t.kernel.init_process and t.process is not process and process.sig_actions[sig].handler in (
        SIG_DFL,
        SIG_IGN,
    )


def _kill_info(t, sig: int, code: int = SI_USER) -> SigInfo:
    return SigInfo(sig, code=code, pid=t.process.pid, uid=t.process.cred.uid)


def sys_kill(t, pid, signum, *_):
    pid, sig = s32(pid), _signum(signum, allow_zero=True)
    kernel = t.kernel
    if pid > 0:
        targets = [kernel.processes.get(pid)]
        if targets[0] is None or targets[0].zombie:
            raise LinuxError(ESRCH)
    else:
        if pid == 0:
            group = t.process.pgid
            targets = [p for p in kernel.processes.values() if p.pgid == group and not p.zombie]
        elif pid == -1:
            targets = [p for p in kernel.processes.values() if p.pid != 1 and p is not t.process and not p.zombie]
        else:
            targets = [p for p in kernel.processes.values() if p.pgid == -pid and not p.zombie]
        if not targets and pid != -1:
            raise LinuxError(ESRCH)
    if sig:
        for process in targets:
            if not _protected_init(t, process, sig):
                send_to_process(process, _kill_info(t, sig))
    return 0


def _find_thread(t, tgid: int, tid: int):
    for process in t.kernel.processes.values():
        if process.zombie or (tgid > 0 and process.pid != tgid):
            continue
        for thread in process.threads:
            if thread.tid == tid and not thread.exited:
                return thread
    raise LinuxError(ESRCH)


def sys_tgkill(t, tgid, tid, signum, *_):
    tgid, tid, sig = s32(tgid), s32(tid), _signum(signum, allow_zero=True)
    if tgid <= 0 or tid <= 0:
        raise LinuxError(EINVAL)
    target = _find_thread(t, tgid, tid)
    if sig and not _protected_init(t, target.process, sig):
        send_to_thread(target, _kill_info(t, sig, SI_TKILL))
    return 0


def sys_tkill(t, tid, signum, *_):
    tid, sig = s32(tid), _signum(signum, allow_zero=True)
    if tid <= 0:
        raise LinuxError(EINVAL)
    target = _find_thread(t, 0, tid)
    if sig and not _protected_init(t, target.process, sig):
        send_to_thread(target, _kill_info(t, sig, SI_TKILL))
    return 0


def sys_rt_sigqueueinfo(t, pid, signum, uinfo, *_):
    sig = _signum(signum, allow_zero=True)
    raw = t.process.read_bytes(uinfo, 128)
    code = struct.unpack_from("<i", raw, 8)[0]
    if code >= 0 or code == SI_TKILL:
        raise LinuxError(EPERM)
    process = t.kernel.processes.get(s32(pid))
    if process is None or process.zombie:
        raise LinuxError(ESRCH)
    if sig:
        value = struct.unpack_from("<Q", raw, 24)[0]
        send_to_process(process, SigInfo(sig, code=SI_QUEUE, pid=t.process.pid, value=value, kind="rt"))
    return 0


def sys_restart_syscall(t, *_):
    raise LinuxError(EINTR)

SYSCALLS = (
    (nr.SYS_RT_SIGACTION, sys_rt_sigaction, False),
    (nr.SYS_RT_SIGPROCMASK, sys_rt_sigprocmask, False),
    (nr.SYS_RT_SIGRETURN, sys_rt_sigreturn, True),
    (nr.SYS_RT_SIGPENDING, sys_rt_sigpending, False),
    (nr.SYS_RT_SIGSUSPEND, sys_rt_sigsuspend, True),
    (nr.SYS_PAUSE, sys_pause, True),
    (nr.SYS_RT_SIGTIMEDWAIT, sys_rt_sigtimedwait, True),
    (nr.SYS_RT_SIGQUEUEINFO, sys_rt_sigqueueinfo, True),
    (nr.SYS_SIGALTSTACK, sys_sigaltstack, False),
    (nr.SYS_KILL, sys_kill, True),
    (nr.SYS_TGKILL, sys_tgkill, True),
    (nr.SYS_TKILL, sys_tkill, True),
    (nr.SYS_RESTART_SYSCALL, sys_restart_syscall, False),
)
