"""Time syscalls: clocks, sleeps, alarm and interval timers, times().

All clocks read OSTD's timer module, which is the host's clock or, in deterministic
mode, a virtual one. Sleeping is a timer plus :func:`pause_until`, so a signal cuts a
sleep short (EINTR, with the remaining time reported where the call has room for it).
"""

from __future__ import annotations

import struct

from ..error import EINVAL, ETIMEDOUT, LinuxError
from ..process.signal.constants import ERESTART_RESTARTBLOCK, ERESTARTNOHAND, SI_KERNEL, SI_TIMER, SIGALRM
from ..process.signal.deliver import send_to_process, send_to_thread
from ..process.signal.pause import pause_until
from ..process.signal.state import SigInfo
from ..time import clock as clocks
from ..time.timers import IntervalTimer
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
        return clocks.realtime_ns()
    if clock in (CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
                 CLOCK_BOOTTIME_ALARM):  # fmt: skip
        return clocks.monotonic_ns()
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
        sec, ns = divmod(clocks.realtime_ns(), NS)
        t.process.write_bytes(tv, _timeval.pack(sec, ns // 1000))
    if tz:
        t.process.write_bytes(tz, bytes(8))
    return 0


def sys_time(t, tloc, *_):
    now = clocks.realtime_ns() // NS
    if tloc:
        t.process.write_bytes(tloc, struct.pack("<q", now))
    return now


def _sleep_until(t, deadline: int, rem: int = 0, restart: int = ERESTART_RESTARTBLOCK) -> int:
    try:
        pause_until(t, lambda: clocks.monotonic_ns() >= deadline or None, deadline_ns=deadline, restart=restart)
    except LinuxError as error:
        if error.errno == ETIMEDOUT:
            return 0
        if rem:
            left = max(0, deadline - clocks.monotonic_ns())
            t.process.write_bytes(rem, _timespec.pack(*divmod(left, NS)))
        raise
    return 0


def sys_nanosleep(t, req, rem, *_):
    return _sleep_until(t, clocks.monotonic_ns() + _read_timespec(t, req), rem)


def sys_clock_nanosleep(t, clock, flags, req, rem, *_):
    clock = s32(clock)
    if clock in (CLOCK_THREAD_CPUTIME_ID,):
        raise LinuxError(EINVAL)
    ns = _read_timespec(t, req)
    now = clock_ns(t, clock)
    if s32(flags) & TIMER_ABSTIME:
        # Absolute sleeps are restarted as they are (their deadline does not move).
        return _sleep_until(t, clocks.monotonic_ns() + max(0, ns - now), restart=ERESTARTNOHAND)
    return _sleep_until(t, clocks.monotonic_ns() + ns, rem)


# --- interval timers: ITIMER_REAL (alarm), ITIMER_VIRTUAL/PROF, POSIX timers -----------


def _real_timer(t) -> IntervalTimer:
    process = t.process
    if process.itimer_real is None:
        process.itimer_real = IntervalTimer(
            t.kernel.timers, lambda: send_to_process(process, SigInfo(SIGALRM, code=SI_KERNEL))
        )
    return process.itimer_real


def sys_alarm(t, seconds, *_):
    real = _real_timer(t)
    remaining = real.remaining(clocks.monotonic_ns())
    if seconds & 0xFFFF_FFFF:
        real.arm(clocks.monotonic_ns() + (seconds & 0xFFFF_FFFF) * NS, 0)
    else:
        real.disarm()
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


def _itimer_state(t, which: int) -> tuple[int, int]:
    """(value, interval) of an interval timer, in ns."""
    if which == ITIMER_REAL:
        real = t.process.itimer_real
        return real.state(clocks.monotonic_ns()) if real is not None else (0, 0)
    cpu = t.process.cpu_timers.get(which)
    if cpu is None:
        return 0, 0
    deadline, interval = cpu
    return max(0, deadline - t.process.total_cpu_ns()), interval


def sys_setitimer(t, which, new_value, old_value, *_):
    which = s32(which)
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise LinuxError(EINVAL)
    interval = value = 0
    if new_value:
        isec, iusec, vsec, vusec = _itimerval.unpack(t.process.read_bytes(new_value, 32))
        interval, value = _timeval_ns(isec, iusec), _timeval_ns(vsec, vusec)
    previous = _itimer_state(t, which)
    if which == ITIMER_REAL:
        real = _real_timer(t)
        if value:
            real.arm(clocks.monotonic_ns() + value, interval)
        else:
            real.disarm()
    elif value:
        # CPU-time timers are checked by the thread loop as CPU time is accounted.
        t.process.cpu_timers[which] = (t.process.total_cpu_ns() + value, interval)
    else:
        t.process.cpu_timers.pop(which, None)
    if old_value:
        t.process.write_bytes(old_value, _pack_itimerval(*previous))
    return 0


def sys_getitimer(t, which, curr_value, *_):
    which = s32(which)
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise LinuxError(EINVAL)
    t.process.write_bytes(curr_value, _pack_itimerval(*_itimer_state(t, which)))
    return 0


SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
_sigevent = struct.Struct("<Qiii")
_itimerspec = struct.Struct("<qqqq")


class PosixTimer:
    """A timer_create() timer: an IntervalTimer plus how to notify (sigevent)."""

    def __init__(self, t, timer_id: int, clock: int, notify: int, signo: int, value: int, target) -> None:
        self.id = timer_id
        self.clock = clock
        self.notify = notify
        self.signo = signo
        self.value = value
        self.process = t.process
        self.target = target  # the thread for SIGEV_THREAD_ID
        self.pending = False
        self.timer = IntervalTimer(t.kernel.timers, self._expire)

    def _expire(self) -> None:
        if self.notify == SIGEV_NONE:
            return
        info = SigInfo(self.signo, code=SI_TIMER, timer_id=self.id, value=self.value,
                       overrun=self.timer.overrun, kind="timer")  # fmt: skip
        if self.notify == SIGEV_THREAD_ID and self.target is not None:
            send_to_thread(self.target, info)
        else:
            send_to_process(self.process, info)


def _posix_timer(t, timer_id: int) -> PosixTimer:
    found = t.process.posix_timers.get(s32(timer_id))
    if found is None:
        raise LinuxError(EINVAL)
    return found


def sys_timer_create(t, clock, sevp, timerid, *_):
    clock = s32(clock)
    if clock not in (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM):
        raise LinuxError(EINVAL)  # CPU-time clocks are not supported for POSIX timers
    timers = t.process.posix_timers
    timer_id = next(i for i in range(len(timers) + 1) if i not in timers)
    notify, signo, value, target = SIGEV_SIGNAL, SIGALRM, timer_id, None
    if sevp:
        value, signo, notify, tid = _sigevent.unpack(t.process.read_bytes(sevp, 20))
        if notify not in (SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID):
            raise LinuxError(EINVAL)
        if notify != SIGEV_NONE and not 1 <= signo <= 64:
            raise LinuxError(EINVAL)
        if notify == SIGEV_THREAD_ID:
            target = next((th for th in t.process.threads if th.tid == tid and not th.exited), None)
            if target is None:
                raise LinuxError(EINVAL)
    t.process.write_bytes(timerid, struct.pack("<i", timer_id))
    timers[timer_id] = PosixTimer(t, timer_id, clock, notify, signo, value, target)
    return 0


def sys_timer_settime(t, timer_id, flags, new_value, old_value, *_):
    posix = _posix_timer(t, timer_id)
    isec, insec, vsec, vnsec = _itimerspec.unpack(t.process.read_bytes(new_value, 32))
    if isec < 0 or vsec < 0 or not 0 <= insec < NS or not 0 <= vnsec < NS:
        raise LinuxError(EINVAL)
    interval, value = isec * NS + insec, vsec * NS + vnsec
    now = clocks.monotonic_ns()
    if old_value:
        t.process.write_bytes(old_value, _pack_itimerspec(*posix.timer.state(now)))
    if not value:
        posix.timer.disarm()
        return 0
    if s32(flags) & TIMER_ABSTIME:
        value = max(0, value - clock_ns(t, posix.clock))
    posix.timer.arm(now + value, interval)
    return 0


def _pack_itimerspec(value: int, interval: int) -> bytes:
    return _itimerspec.pack(*divmod(interval, NS), *divmod(value, NS))


def sys_timer_gettime(t, timer_id, curr_value, *_):
    posix = _posix_timer(t, timer_id)
    t.process.write_bytes(curr_value, _pack_itimerspec(*posix.timer.state(clocks.monotonic_ns())))
    return 0


def sys_timer_getoverrun(t, timer_id, *_):
    return _posix_timer(t, timer_id).timer.overrun


def sys_timer_delete(t, timer_id, *_):
    posix = _posix_timer(t, timer_id)
    posix.timer.disarm()
    del t.process.posix_timers[posix.id]
    return 0


def sys_times(t, buf, *_):
    process = t.process
    ticks = NS // CLK_TCK
    if buf:
        user = process.total_cpu_ns() // ticks
        children = process.children_cpu_ns // ticks
        t.process.write_bytes(buf, struct.pack("<qqqq", user, 0, children, 0))
    return clocks.monotonic_ns() // ticks


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
    (nr.SYS_TIMER_CREATE, sys_timer_create, False),
    (nr.SYS_TIMER_SETTIME, sys_timer_settime, False),
    (nr.SYS_TIMER_GETTIME, sys_timer_gettime, False),
    (nr.SYS_TIMER_GETOVERRUN, sys_timer_getoverrun, False),
    (nr.SYS_TIMER_DELETE, sys_timer_delete, False),
)
