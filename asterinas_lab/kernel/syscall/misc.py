"""System information, randomness, resource limits, scheduling and prctl."""

from __future__ import annotations

import struct

from ...ostd import Task
from ..error import EFAULT, EINVAL, EPERM, ESRCH, LinuxError
from ..time import clock
from . import numbers as nr
from .args import s32

UTS_FIELDS = (b"Linux", b"asterinas-lab", b"6.1.0-asterinas-lab", b"#1 SMP PREEMPT", b"x86_64", b"(none)")
RLIM_INFINITY = 0xFFFF_FFFF_FFFF_FFFF
RLIMIT_STACK, RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_AS = 3, 6, 7, 9
DEFAULT_RLIMITS = {
    0: (RLIM_INFINITY, RLIM_INFINITY),  # CPU
    1: (RLIM_INFINITY, RLIM_INFINITY),  # FSIZE
    2: (RLIM_INFINITY, RLIM_INFINITY),  # DATA
    RLIMIT_STACK: (8 << 20, RLIM_INFINITY),
    4: (0, RLIM_INFINITY),  # CORE
    5: (RLIM_INFINITY, RLIM_INFINITY),  # RSS
    RLIMIT_NPROC: (4096, 4096),
    RLIMIT_NOFILE: (1024, 4096),
    8: (8 << 20, 8 << 20),  # MEMLOCK
    RLIMIT_AS: (RLIM_INFINITY, RLIM_INFINITY),
    10: (RLIM_INFINITY, RLIM_INFINITY),  # LOCKS
    11: (4096, 4096),  # SIGPENDING
    12: (819200, 819200),  # MSGQUEUE
    13: (0, 0),  # NICE
    14: (0, 0),  # RTPRIO
    15: (RLIM_INFINITY, RLIM_INFINITY),  # RTTIME
}
NR_OPEN = 1 << 20  # fs.nr_open: the highest RLIMIT_NOFILE even root may set
GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4
PR_SET_NAME, PR_GET_NAME = 15, 16
_timespec = struct.Struct("<qq")


def sys_uname(t, buf, *_):
    t.process.write_bytes(buf, b"".join(f.ljust(65, b"\0") for f in UTS_FIELDS))
    return 0


def sys_getrandom(t, buf, count, flags, *_):
    if flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE):
        raise LinuxError(EINVAL)
    count = min(count, 1 << 25)
    return t.process.write_bytes(buf, t.kernel.rng.randbytes(count)) if count else 0


def sys_prlimit64(t, pid, resource, new_limit, old_limit, *_):
    resource = s32(resource)
    pid = s32(pid)
    target = t.process if pid == 0 else t.kernel.processes.get(pid)
    if target is None or target.zombie:
        raise LinuxError(ESRCH)
    if resource not in DEFAULT_RLIMITS:
        raise LinuxError(EINVAL)
    current = target.rlimits.get(resource, DEFAULT_RLIMITS[resource])
    if new_limit:
        soft, hard = struct.unpack("<QQ", t.process.read_bytes(new_limit, 16))
        if soft > hard:
            raise LinuxError(EINVAL)
        if hard > current[1] and t.process.cred.euid != 0:
            raise LinuxError(EPERM)
        if resource == RLIMIT_NOFILE and hard > NR_OPEN:
            raise LinuxError(EPERM)
    if old_limit:
        t.process.write_bytes(old_limit, struct.pack("<QQ", *current))
    if new_limit:
        target.rlimits[resource] = (soft, hard)
        if resource == RLIMIT_NOFILE:
            target.files.limit = soft  # new descriptors must be below the soft limit
    return 0


def sys_getrlimit(t, resource, rlim, *_):
    return sys_prlimit64(t, 0, resource, 0, rlim)


def sys_setrlimit(t, resource, rlim, *_):
    return sys_prlimit64(t, 0, resource, rlim, 0)








def sys_prctl(t, option, arg2, *_):
    option = s32(option)
    if option == PR_SET_NAME:
        t.process.comm = t.process.read_cstring(arg2, 4096)[:15]
        return 0
    if option == PR_GET_NAME:
        t.process.write_bytes(arg2, t.process.comm[:15].ljust(16, b"\0"))
        return 0
    raise LinuxError(EINVAL)


PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2


def _priority_targets(t, which: int, who: int) -> list:
    """The processes setpriority/getpriority address (only live ones)."""
    which, who = s32(which), s32(who)
    live = [p for p in t.kernel.processes.values() if not p.zombie]
    if which == PRIO_PROCESS:
        targets = [t.process] if who == 0 else [p for p in live if p.pid == who]
    elif which == PRIO_PGRP:
        pgid = t.process.pgid if who == 0 else who
        targets = [p for p in live if p.pgid == pgid]
    elif which == PRIO_USER:
        targets = live  # one user here: everyone
    else:
        raise LinuxError(EINVAL)
    if not targets:
        raise LinuxError(ESRCH)
    return targets


def sys_getpriority(t, which, who, *_):
    # The raw syscall returns 20 - nice (1..40); libc turns it back into the nice value.
    return 20 - min(p.nice for p in _priority_targets(t, which, who))


def sys_setpriority(t, which, who, prio, *_):
    nice = max(-20, min(19, s32(prio)))
    for process in _priority_targets(t, which, who):
        process.nice = nice  # no permission model: every process may change any nice
    return 0


def sys_sched_yield(t, *_):
    Task.yield_now()
    return 0


def sys_sysinfo(t, info, *_):
    frames = t.kernel.memory_stats()
    uptime = clock.monotonic_ns() // 1_000_000_000
    # struct sysinfo: uptime, loads[3], total/free/shared/buffer ram, total/free swap,
    # procs (u16, then padding), totalhigh, freehigh, mem_unit.
    data = struct.pack(
        "<q3Q6QH6xQQI", uptime, 0, 0, 0, frames[0] * 4096, frames[1] * 4096, 0, 0, 0, 0,
        len(t.kernel.processes), 0, 0, 1,
    )  # fmt: skip
    t.process.write_bytes(info, data.ljust(112, b"\0"))
    return 0


def _sched_target(t, pid: int):
    pid = s32(pid)
    if pid < 0:
        raise LinuxError(EINVAL)
    if pid and pid not in t.kernel.processes:
        raise LinuxError(ESRCH)


def sys_sched_getaffinity(t, pid, size, mask, *_):
    _sched_target(t, pid)
    if size < 8 or size % 8:
        raise LinuxError(EINVAL)
    t.process.write_bytes(mask, struct.pack("<Q", 1))  # one CPU: CPU 0
    return 8


def sys_sched_setaffinity(t, pid, size, mask, *_):
    _sched_target(t, pid)
    raw = t.process.read_bytes(mask, min(size, 128))
    if not raw or not raw[0] & 1:
        raise LinuxError(EINVAL)  # the mask must include a CPU that exists (CPU 0)
    return 0


def sys_sched_getscheduler(t, pid, *_):
    _sched_target(t, pid)
    return 0  # SCHED_OTHER: round robin among all threads


def sys_sched_getparam(t, pid, param, *_):
    _sched_target(t, pid)
    t.process.write_bytes(param, struct.pack("<i", 0))
    return 0


def sys_sched_get_priority_max(t, policy, *_):
    policy = s32(policy)
    if policy not in (0, 1, 2, 3, 5):
        raise LinuxError(EINVAL)
    return 99 if policy in (1, 2) else 0


def sys_sched_get_priority_min(t, policy, *_):
    policy = s32(policy)
    if policy not in (0, 1, 2, 3, 5):
        raise LinuxError(EINVAL)
    return 1 if policy in (1, 2) else 0


def sys_getcpu(t, cpu, node, *_):
    if cpu:
        t.process.write_bytes(cpu, struct.pack("<I", 0))
    if node:
        t.process.write_bytes(node, struct.pack("<I", 0))
    return 0


RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1


def sys_getrusage(t, who, usage, *_):
    who = s32(who)
    if who == RUSAGE_SELF:
        cpu_ns = t.process.total_cpu_ns()
    elif who == RUSAGE_CHILDREN:
        cpu_ns = t.process.children_cpu_ns
    elif who == RUSAGE_THREAD:
        cpu_ns = t.cpu_ns
    else:
        raise LinuxError(EINVAL)
    if not usage:
        raise LinuxError(EFAULT)
    sec, ns = divmod(cpu_ns, 1_000_000_000)
    # ru_utime (all CPU time counts as user time here), ru_stime, then the counters.
    t.process.write_bytes(usage, struct.pack("<qq", sec, ns // 1000).ljust(144, b"\0"))
    return 0


SYSCALLS = (
    (nr.SYS_UNAME, sys_uname, False),
    (nr.SYS_GETRANDOM, sys_getrandom, False),
    (nr.SYS_PRLIMIT64, sys_prlimit64, False),
    (nr.SYS_GETRLIMIT, sys_getrlimit, False),
    (nr.SYS_SETRLIMIT, sys_setrlimit, False),
    (nr.SYS_PRCTL, sys_prctl, False),
    (nr.SYS_SCHED_YIELD, sys_sched_yield, True),
    (nr.SYS_GETPRIORITY, sys_getpriority, False),
    (nr.SYS_SETPRIORITY, sys_setpriority, False),
    (nr.SYS_SYSINFO, sys_sysinfo, False),
    (nr.SYS_SCHED_GETAFFINITY, sys_sched_getaffinity, False),
    (nr.SYS_SCHED_SETAFFINITY, sys_sched_setaffinity, False),
    (nr.SYS_SCHED_GETSCHEDULER, sys_sched_getscheduler, False),
    (nr.SYS_SCHED_GETPARAM, sys_sched_getparam, False),
    (nr.SYS_SCHED_GET_PRIORITY_MAX, sys_sched_get_priority_max, False),
    (nr.SYS_SCHED_GET_PRIORITY_MIN, sys_sched_get_priority_min, False),
    (nr.SYS_GETCPU, sys_getcpu, False),
    (nr.SYS_GETRUSAGE, sys_getrusage, False),
)
