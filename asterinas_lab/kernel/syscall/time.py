"""Time syscalls: clocks, sleeps, alarm and interval timers, times().

All clocks read OSTD's timer module, which is the host's clock or, in deterministic
mode, a virtual one. Sleeping is a timer plus :func:`pause_until`, so a signal cuts a
sleep short (EINTR, with the remaining time reported where the call has room for it).
"""

from __future__ import annotations

import struct

from ...ostd import timer
from ..error import EINVAL, ETIMEDOUT, LinuxError
from ..process.signal.constants import ERESTART_RESTARTBLOCK, ERESTARTNOHAND, SI_KERNEL, SIGALRM
from ..process.signal.deliver import send_to_process
from ..process.signal.pause import pause_until
from ..process.signal.state import SigInfo
from . import numbers as nr
from .args import s32

NS = 1_000_000_000
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 0, 1, 2, 3
CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME = 4, 5, 6, 7
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, CLOCK_TAI = 8, 9, 11
TIMER_ABSTIME = 1
ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
CLK_TCK = 100
_timespec = struct.Struct("<qq")
_timeval = struct.Struct("<qq")
_itimerval = struct.Struct("<qqqq")


def clock_ns(t, clock: int) -> int:
    if clock in (CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_REALTIME_ALARM, CLOCK_TAI):
        return timer.realtime_ns()
    if clock in (CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
                 CLOCK_BOOTTIME_ALARM):  # fmt: skip
        return timer.monotonic_ns()
    if clock == CLOCK_PROCESS_CPUTIME_ID:
        return t.process.total_cpu_ns()
    if clock == CLOCK_THREAD_CPUTIME_ID:
        return t.cpu_ns
    raise LinuxError(EINVAL)


def _read_timespec(t, addr: int) -> int:
    sec, nsec = _timespec.unpack(t.process.read_bytes(addr, 16))
    if sec < 0 or not 0 <= nsec < NS:
        raise LinuxError(EINVAL)
    return sec * NS + nsec


def sys_clock_gettime(t, clock, tp, *_):
    ns = clock_ns(t, s32(clock))
    t.process.write_bytes(tp, _timespec.pack(*divmod(ns, NS)))
    return 0


def sys_clock_getres(t, clock, res, *_):
    clock = s32(clock)
    clock_ns(t, clock)
    if res:
        coarse = clock in (CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)
        t.process.write_bytes(res, _timespec.pack(0, NS // CLK_TCK if coarse else 1))
    return 0


def sys_gettimeofday(t, tv, tz, *_):
    if tv:
        sec, ns = divmod(timer.realtime_ns(), NS)
        t.process.write_bytes(tv, _timeval.pack(sec, ns // 1000))
    if tz:
        t.process.write_bytes(tz, bytes(8))
    return 0


def sys_time(t, tloc, *_):
    now = timer.realtime_ns() // NS
    if tloc:
        t.process.write_bytes(tloc, struct.pack("<q", now))
    return now


def _sleep_until(t, deadline: int, rem: int = 0, restart: int = ERESTART_RESTARTBLOCK) -> int:
    try:
        pause_until(t, lambda: timer.monotonic_ns() >= deadline or None, deadline_ns=deadline, restart=restart)
    except LinuxError as error:
        if error.errno == ETIMEDOUT:
            return 0
        if rem:
            left = max(0, deadline - timer.monotonic_ns())
            t.process.write_bytes(rem, _timespec.pack(*divmod(left, NS)))
        raise
    return 0


def sys_nanosleep(t, req, rem, *_):
    return _sleep_until(t, timer.monotonic_ns() + _read_timespec(t, req), rem)


def sys_clock_nanosleep(t, clock, flags, req, rem, *_):
    clock = s32(clock)
    if clock in (CLOCK_THREAD_CPUTIME_ID,):
        raise LinuxError(EINVAL)
    ns = _read_timespec(t, req)
    now = clock_ns(t, clock)
    if s32(flags) & TIMER_ABSTIME:
        # Absolute sleeps are restarted as they are (their deadline does not move).
        return _sleep_until(t, timer.monotonic_ns() + max(0, ns - now), restart=ERESTARTNOHAND)
    return _sleep_until(t, timer.monotonic_ns() + ns, rem)


# --- ITIMER_REAL and alarm --------------------------------------------------------------


class RealTimer:
    """A process's ITIMER_REAL: SIGALRM at ``deadline``, then every ``interval`` ns."""

    def __init__(self, kernel, process, deadline: int, interval: int) -> None:
        self.kernel = kernel
        self.process = process
        self.deadline = deadline
        self.interval = interval
        self._timer = kernel.timers.add(deadline, self._fire)

    def _fire(self) -> None:
        send_to_process(self.process, SigInfo(SIGALRM, code=SI_KERNEL))
        if self.interval and self.process.itimer_real is self:
            self.deadline += self.interval
            self._timer = self.kernel.timers.add(self.deadline, self._fire)
        elif self.process.itimer_real is self:
            self.process.itimer_real = None

    def cancel(self) -> None:
        self._timer.cancel()

    def remaining(self) -> int:
        return max(0, self.deadline - timer.monotonic_ns())


def _set_real_timer(t, value_ns: int, interval_ns: int) -> tuple[int, int]:
    process = t.process
    old = process.itimer_real
    previous = (old.remaining(), old.interval) if old is not None else (0, 0)
    if old is not None:
        old.cancel()
        process.itimer_real = None
    if value_ns:
        process.itimer_real = RealTimer(t.kernel, process, timer.monotonic_ns() + value_ns, interval_ns)
    return previous


def sys_alarm(t, seconds, *_):
    remaining, _interval = _set_real_timer(t, (seconds & 0xFFFF_FFFF) * NS, 0)
    # Linux rounds the remaining time to the nearest second, and never reports 0 for
    # a pending alarm.
    secs, frac = divmod(remaining, NS)
    if frac >= NS // 2 or (remaining and not secs):
        secs += 1
    return secs


def _timeval_ns(sec: int, usec: int) -> int:
    if sec < 0 or not 0 <= usec < 1_000_000:
        raise LinuxError(EINVAL)
    return sec * NS + usec * 1000


def _pack_itimerval(value: int, interval: int) -> bytes:
    isec, ins = divmod(interval, NS)
    vsec, vns = divmod(value, NS)
    return _itimerval.pack(isec, ins // 1000, vsec, (vns + 999) // 1000)


def sys_setitimer(t, which, new_value, old_value, *_):
    which = s32(which)
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise LinuxError(EINVAL)
    interval = value = 0
    if new_value:
        isec, iusec, vsec, vusec = _itimerval.unpack(t.process.read_bytes(new_value, 32))
        interval, value = _timeval_ns(isec, iusec), _timeval_ns(vsec, vusec)
    if which != ITIMER_REAL:
        if old_value:
            t.process.write_bytes(old_value, bytes(32))
        return 0  # CPU-time timers: accepted, never fire (no CPU-time accounting signal)
    previous = _set_real_timer(t, value, interval)
    if old_value:
        t.process.write_bytes(old_value, _pack_itimerval(*previous))
    return 0


def sys_getitimer(t, which, curr_value, *_):
    which = s32(which)
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise LinuxError(EINVAL)
    current = t.process.itimer_real if which == ITIMER_REAL else None
    value = (current.remaining(), current.interval) if current is not None else (0, 0)
    t.process.write_bytes(curr_value, _pack_itimerval(*value))
    return 0


def sys_times(t, buf, *_):
    process = t.process
    ticks = NS // CLK_TCK
    if buf:
        user = process.total_cpu_ns() // ticks
        children = process.children_cpu_ns // ticks
        t.process.write_bytes(buf, struct.pack("<qqqq", user, 0, children, 0))
    return timer.monotonic_ns() // ticks


SYSCALLS = (
    (nr.SYS_CLOCK_GETTIME, sys_clock_gettime, False),
    (nr.SYS_CLOCK_GETRES, sys_clock_getres, False),
    (nr.SYS_GETTIMEOFDAY, sys_gettimeofday, False),
    (nr.SYS_TIME, sys_time, False),
    (nr.SYS_NANOSLEEP, sys_nanosleep, False),
    (nr.SYS_CLOCK_NANOSLEEP, sys_clock_nanosleep, False),
    (nr.SYS_ALARM, sys_alarm, False),
    (nr.SYS_SETITIMER, sys_setitimer, False),
    (nr.SYS_GETITIMER, sys_getitimer, False),
    (nr.SYS_TIMES, sys_times, False),
)
