"""Signal state: dispositions (per process, shared by CLONE_SIGHAND), pending sets
(per thread and per process) and the information each pending signal carries."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .constants import NSIG, SIG_DFL, SIG_IGN, SIGRTMIN, sig_bit

_SIGINFO_HEAD = struct.Struct("<iii")


@dataclass
class SigInfo:
    """``siginfo_t``: what a handler with SA_SIGINFO receives (128 bytes)."""

    signo: int
    code: int = 0
    errno: int = 0
    pid: int = 0
    uid: int = 0
    addr: int = 0  # SIGSEGV/SIGBUS/SIGILL/SIGFPE: the faulting address
    status: int = 0  # SIGCHLD
    utime: int = 0
    stime: int = 0
    value: int = 0  # sigqueue / timers
    timer_id: int = 0
    overrun: int = 0
    kind: str = "kill"  # which union member: kill, fault, chld, timer, rt
    trapno: int = 0  # for faults: the CPU vector and error code (uc_mcontext, not siginfo)
    error_code: int = 0

    def pack(self) -> bytes:
        head = _SIGINFO_HEAD.pack(self.signo, self.errno, self.code) + b"\0\0\0\0"
        if self.kind == "fault":
            body = struct.pack("<Q", self.addr)
        elif self.kind == "chld":
            body = struct.pack("<iiixxxxqq", self.pid, self.uid, self.status, self.utime, self.stime)
        elif self.kind == "timer":
            body = struct.pack("<iixxxxQ", self.timer_id, self.overrun, self.value)
        elif self.kind == "rt":
            body = struct.pack("<iiQ", self.pid, self.uid, self.value)
        else:
            body = struct.pack("<ii", self.pid, self.uid)
        return (head + body).ljust(128, b"\0")


@dataclass
class SigAction:
    handler: int = SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0

    _layout = struct.Struct("<QQQQ")

    def pack(self) -> bytes:
        return self._layout.pack(self.handler, self.flags, self.restorer, self.mask)

    @classmethod
    def unpack(cls, data: bytes) -> SigAction:
        return cls(*cls._layout.unpack(data))


class SigDispositions:
    """What each signal does in one process (``sighand_struct``); threads share it."""

    def __init__(self, actions: list[SigAction] | None = None) -> None:
        self.actions = actions if actions is not None else [SigAction() for _ in range(NSIG + 1)]

    def __getitem__(self, sig: int) -> SigAction:
        return self.actions[sig]

    def __setitem__(self, sig: int, action: SigAction) -> None:
        self.actions[sig] = action

    def copy(self) -> SigDispositions:
        return SigDispositions([SigAction(a.handler, a.flags, a.restorer, a.mask) for a in self.actions])

    def reset_for_exec(self) -> None:
        """execve: caught signals go back to their default; ignored ones stay ignored."""
        for i, action in enumerate(self.actions):
            if action.handler != SIG_IGN:
                self.actions[i] = SigAction()
            else:
                action.flags = action.restorer = action.mask = 0


@dataclass
class SigQueue:
    """Pending signals: a bit set, plus the queued infos (standard signals coalesce,
    real-time ones queue)."""

    mask: int = 0
    infos: dict[int, list[SigInfo]] = field(default_factory=dict)

    def add(self, info: SigInfo) -> bool:
        sig = info.signo
        bit = sig_bit(sig)
        if self.mask & bit and sig < SIGRTMIN:
            return False  # already pending: a standard signal is delivered once
        self.mask |= bit
        self.infos.setdefault(sig, []).append(info)
        return True

    def take(self, sig: int) -> SigInfo | None:
        bit = sig_bit(sig)
        if not self.mask & bit:
            return None
        queue = self.infos.get(sig)
        info = queue.pop(0) if queue else SigInfo(sig)
        if not queue:
            self.mask &= ~bit
            self.infos.pop(sig, None)
        return info

    def discard(self, mask: int) -> None:
        """Forget the signals in ``mask`` (e.g. a SIGCONT cancels pending stops)."""
        for sig in range(1, NSIG + 1):
            if mask & sig_bit(sig) and self.mask & sig_bit(sig):
                self.mask &= ~sig_bit(sig)
                self.infos.pop(sig, None)


def lowest_signal(mask: int) -> int:
    """The lowest-numbered signal in ``mask`` (signals are delivered lowest first)."""
    return (mask & -mask).bit_length()
