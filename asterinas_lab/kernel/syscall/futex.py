"""futex(2) and the robust-list bookkeeping of threads (see ``ipc/futex.py``)."""

from __future__ import annotations

import struct

from ..error import EINVAL, ENOSYS, LinuxError
from ..ipc.futex import FUTEX_BITSET_MATCH_ANY
from ..time import clock
from . import numbers as nr
from .args import s32

FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP = 0, 1, 2, 3, 4, 5
FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 6, 7, 8, 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
_timespec = struct.Struct("<qq")
NS = 1_000_000_000


def _deadline(t, addr: int, absolute: bool, realtime: bool) -> int | None:
    if not addr:
        return None
    sec, nsec = _timespec.unpack(t.process.read_bytes(addr, 16))
    if sec < 0 or not 0 <= nsec < NS:
        raise LinuxError(EINVAL)
    ns = sec * NS + nsec
    if not absolute:
        return clock.monotonic_ns() + ns
    now = clock.realtime_ns() if realtime else clock.monotonic_ns()
    return clock.monotonic_ns() + (ns - now)


def sys_futex(t, uaddr, futex_op, val, timeout, uaddr2, val3):
    op = s32(futex_op)
    private = bool(op & FUTEX_PRIVATE_FLAG)
    realtime = bool(op & FUTEX_CLOCK_REALTIME)
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    futexes = t.kernel.futexes
    process = t.process
    if realtime and cmd not in (FUTEX_WAIT_BITSET, FUTEX_WAIT):
        raise LinuxError(ENOSYS)
    if cmd == FUTEX_WAIT:
        deadline = _deadline(t, timeout, absolute=False, realtime=False)
        return futexes.wait(t, uaddr, val, deadline, FUTEX_BITSET_MATCH_ANY, private)
    if cmd == FUTEX_WAIT_BITSET:
        deadline = _deadline(t, timeout, absolute=True, realtime=realtime)
        return futexes.wait(t, uaddr, val, deadline, val3 & 0xFFFF_FFFF, private)
    if cmd == FUTEX_WAKE:
        return futexes.wake(process, uaddr, s32(val), FUTEX_BITSET_MATCH_ANY, private)
    if cmd == FUTEX_WAKE_BITSET:
        return futexes.wake(process, uaddr, s32(val), val3 & 0xFFFF_FFFF, private)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        # For the requeue commands the "timeout" argument is nr_requeue.
        expected = val3 if cmd == FUTEX_CMP_REQUEUE else None
        return futexes.requeue(process, uaddr, uaddr2, s32(val), s32(timeout), expected, private)
    if cmd == FUTEX_WAKE_OP:
        return _wake_op(t, uaddr, s32(val), s32(timeout), uaddr2, val3, private)
    raise LinuxError(ENOSYS)


def _wake_op(t, uaddr, nr_wake, nr_wake2, uaddr2, val3, private) -> int:
    """FUTEX_WAKE_OP: *uaddr2 = op(*uaddr2, oparg); wake uaddr; maybe wake uaddr2."""
    op, cmp = (val3 >> 28) & 0xF, (val3 >> 24) & 0xF
    oparg, cmparg = (val3 >> 12) & 0xFFF, val3 & 0xFFF
    if op & 8:
        op &= 7
        oparg = 1 << oparg
    process = t.process
    old = process.read_u32(uaddr2)
    new = {0: oparg, 1: old + oparg, 2: old | oparg, 3: old & ~oparg, 4: old ^ oparg}.get(op)
    if new is None:
        raise LinuxError(ENOSYS)
    process.write_bytes(uaddr2, struct.pack("<I", new & 0xFFFF_FFFF))
    futexes = t.kernel.futexes
    woken = futexes.wake(process, uaddr, nr_wake, FUTEX_BITSET_MATCH_ANY, private)
    signed_old = old - (1 << 32) if old & 0x8000_0000 else old
    test = {0: signed_old == cmparg, 1: signed_old != cmparg, 2: signed_old < cmparg,
            3: signed_old <= cmparg, 4: signed_old > cmparg, 5: signed_old >= cmparg}.get(cmp)  # fmt: skip
    if test is None:
        raise LinuxError(ENOSYS)
    if test:
        woken += futexes.wake(process, uaddr2, nr_wake2, FUTEX_BITSET_MATCH_ANY, private)
    return woken


def sys_set_robust_list(t, head, length, *_):
    if length != 24:
        raise LinuxError(EINVAL)
    t.robust_list = head
    return 0


def sys_get_robust_list(t, pid, head_ptr, len_ptr, *_):
    t.process.write_bytes(head_ptr, struct.pack("<Q", t.robust_list))
    t.process.write_bytes(len_ptr, struct.pack("<Q", 24))
    return 0


SYSCALLS = (
    (nr.SYS_FUTEX, sys_futex, False),
    (nr.SYS_SET_ROBUST_LIST, sys_set_robust_list, False),
    (nr.SYS_GET_ROBUST_LIST, sys_get_robust_list, False),
)
