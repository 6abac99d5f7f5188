"""Process syscalls: exit, execve, wait4, ids, arch_prctl, set_tid_address, ...

fork/clone, signals and threads come with the process issue; here is what a single
process needs to start, identify itself and end.
"""

from __future__ import annotations

import struct

from ..error import E2BIG, ECHILD, EFAULT, EINVAL, EPERM, ESRCH, LinuxError
from ..loader.init_stack import MAX_ARG_STRLEN
from ..process import exec as exec_mod
from ..process.lifecycle import exit_process
from . import numbers as nr
from .args import s32

ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
MAX_ARGS = 0x7FFF_FFFF


def sys_exit_group(t, status, *_):
    exit_process(t.kernel, t.process, code=status & 0xFF)
    return None


def sys_exit(t, status, *_):
    # With one thread per process (until threads arrive), exit ends the process.
    return sys_exit_group(t, status)


def _string_array(t, addr: int) -> list[bytes]:
    values: list[bytes] = []
    if not addr:
        return values
    while True:
        pointer = t.process.read_u64(addr + 8 * len(values))
        if not pointer:
            return values
        if len(values) >= MAX_ARGS:
            raise LinuxError(E2BIG)
        value = t.process.read_cstring(pointer, MAX_ARG_STRLEN) if pointer else b""
        values.append(value)


def sys_execve(t, pathname, argv, envp, *_):
    try:
        path = t.process.read_cstring(pathname, 4096)
        args = _string_array(t, argv)
        env = _string_array(t, envp)
    except LinuxError as error:
        if error.errno == 36:  # an argument string too long for MAX_ARG_STRLEN
            raise LinuxError(E2BIG) from None
        raise
    exec_mod.execve(t.kernel, t, path, args, env)
    return None


def sys_wait4(t, pid, wstatus, options, rusage, *_):
    pid = s32(pid)
    process = t.process
    zombie = next(
        (c for c in process.children.values() if c.zombie and (pid == -1 or c.pid == pid)), None
    )
    if zombie is None:
        if not process.children:
            raise LinuxError(ECHILD)
        # Blocking waits for live children arrive with fork (the process issue).
        raise LinuxError(ECHILD)
    if wstatus:
        t.process.write_bytes(wstatus, struct.pack("<i", zombie.wait_status))
    del process.children[zombie.pid]
    t.kernel.processes.pop(zombie.pid, None)
    return zombie.pid


def sys_getpid(t, *_):
    return t.process.pid


def sys_gettid(t, *_):
    return t.tid


def sys_getppid(t, *_):
    parent = t.process.parent
    return parent.pid if parent is not None else 0


def sys_getuid(t, *_):
    return t.process.cred.uid


def sys_geteuid(t, *_):
    return t.process.cred.euid


def sys_getgid(t, *_):
    return t.process.cred.gid


def sys_getegid(t, *_):
    return t.process.cred.egid


def sys_getpgrp(t, *_):
    return t.process.pgid


def _process_by_pid(t, pid: int):
    """The process named by a pid argument, where 0 means the caller."""
    pid = s32(pid)
    target = t.process if pid == 0 else t.kernel.processes.get(pid)
    if target is None:
        raise LinuxError(ESRCH)
    return target


def sys_getpgid(t, pid, *_):
    return _process_by_pid(t, pid).pgid


def sys_getsid(t, pid, *_):
    return _process_by_pid(t, pid).sid


def sys_setpgid(t, pid, pgid, *_):
    pid, pgid = s32(pid), s32(pgid)
    if pgid < 0:
        raise LinuxError(EINVAL)
    target = t.process if pid in (0, t.process.pid) else None
    if target is None:
        raise LinuxError(ESRCH)
    target.pgid = pgid or target.pid
    return 0


def sys_getgroups(t, size, grouplist, *_):
    groups = t.process.cred.groups
    size = s32(size)
    if size < 0:
        raise LinuxError(EINVAL)
    if size:
        if size < len(groups):
            raise LinuxError(EINVAL)
        t.process.write_bytes(grouplist, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


def sys_set_tid_address(t, tidptr, *_):
    t.clear_child_tid = tidptr
    return t.tid


def sys_set_robust_list(t, head, length, *_):
    if length != 24:
        raise LinuxError(EINVAL)
    t.robust_list = head
    return 0


def sys_arch_prctl(t, code, addr, *_):
    code = s32(code)
    if code == ARCH_SET_FS:
        if addr >= 1 << 47:
            raise LinuxError(EPERM)
        t.context.fs_base = addr
        return 0
    if code == ARCH_SET_GS:
        if addr >= 1 << 47:
            raise LinuxError(EPERM)
        t.context.gs_base = addr
        return 0
    if code in (ARCH_GET_FS, ARCH_GET_GS):
        value = t.context.fs_base if code == ARCH_GET_FS else t.context.gs_base
        if not t.process.write_bytes(addr, struct.pack("<Q", value)):
            raise LinuxError(EFAULT)
        return 0
    raise LinuxError(EINVAL)


SYSCALLS = (
    (nr.SYS_EXIT, sys_exit, True),
    (nr.SYS_EXIT_GROUP, sys_exit_group, True),
    (nr.SYS_EXECVE, sys_execve, True),
    (nr.SYS_WAIT4, sys_wait4, True),
    (nr.SYS_GETPID, sys_getpid, False),
    (nr.SYS_GETTID, sys_gettid, False),
    (nr.SYS_GETPPID, sys_getppid, False),
    (nr.SYS_GETUID, sys_getuid, False),
    (nr.SYS_GETEUID, sys_geteuid, False),
    (nr.SYS_GETGID, sys_getgid, False),
    (nr.SYS_GETEGID, sys_getegid, False),
    (nr.SYS_GETPGRP, sys_getpgrp, False),
    (nr.SYS_GETPGID, sys_getpgid, False),
    (nr.SYS_GETSID, sys_getsid, False),
    (nr.SYS_SETPGID, sys_setpgid, False),
    (nr.SYS_GETGROUPS, sys_getgroups, False),
    (nr.SYS_SET_TID_ADDRESS, sys_set_tid_address, False),
    (nr.SYS_SET_ROBUST_LIST, sys_set_robust_list, False),
    (nr.SYS_ARCH_PRCTL, sys_arch_prctl, False),
)
