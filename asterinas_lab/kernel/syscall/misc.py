"""System information, randomness, resource limits, scheduling and prctl."""

from __future__ import annotations

import struct

from ...ostd import Task, timer
from ..error import EFAULT, EINVAL, LinuxError
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
CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1
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


def _rlimit(t, resource: int) -> tuple[int, int]:
    if resource not in DEFAULT_RLIMITS:
        raise LinuxError(EINVAL)
    return t.process.rlimits.get(resource, DEFAULT_RLIMITS[resource])


def sys_prlimit64(t, pid, resource, new_limit, old_limit, *_):
    resource = s32(resource)
    current = _rlimit(t, resource)
    if new_limit:
        soft, hard = struct.unpack("<QQ", t.process.read_bytes(new_limit, 16))
        if soft > hard:
            raise LinuxError(EINVAL)
    if old_limit:
        t.process.write_bytes(old_limit, struct.pack("<QQ", *current))
    if new_limit:
        t.process.rlimits[resource] = (soft, hard)
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


def sys_sched_yield(t, *_):
    Task.yield_now()
    return 0
















def sys_sysinfo(t, info, *_):
    frames = t.kernel.memory_stats()
    uptime = timer.monotonic_ns() // 1_000_000_000
    data = struct.pack(
        "<q3QQQQQQHHxxxxQQI", uptime, 0, 0, 0, frames[0] * 4096, frames[1] * 4096, 0, 0, 0, 0,
        len(t.kernel.processes), 0, 0, 0, 1,
    )  # fmt: skip
    t.process.write_bytes(info, data.ljust(112, b"\0"))
    return 0


def sys_sched_getaffinity(t, pid, size, mask, *_):
    if size < 8 or size % 8:
        raise LinuxError(EINVAL)
    t.process.write_bytes(mask, struct.pack("<Q", 1))
    return 8


def sys_getcpu(t, cpu, node, *_):
    if cpu:
        t.process.write_bytes(cpu, struct.pack("<I", 0))
    if node:
        t.process.write_bytes(node, struct.pack("<I", 0))
    return 0


def sys_getrusage(t, who, usage, *_):
    if s32(who) not in (0, -1, 1):
        raise LinuxError(EINVAL)
    if not usage:
        raise LinuxError(EFAULT)
    t.process.write_bytes(usage, bytes(144))
    return 0


SYSCALLS = (
    (nr.SYS_UNAME, sys_uname, False),
    (nr.SYS_GETRANDOM, sys_getrandom, False),
    (nr.SYS_PRLIMIT64, sys_prlimit64, False),
    (nr.SYS_GETRLIMIT, sys_getrlimit, False),
    (nr.SYS_SETRLIMIT, sys_setrlimit, False),
    (nr.SYS_PRCTL, sys_prctl, False),
    (nr.SYS_SCHED_YIELD, sys_sched_yield, True),
    (nr.SYS_SYSINFO, sys_sysinfo, False),
    (nr.SYS_SCHED_GETAFFINITY, sys_sched_getaffinity, False),
    (nr.SYS_GETCPU, sys_getcpu, False),
    (nr.SYS_GETRUSAGE, sys_getrusage, False),
)
