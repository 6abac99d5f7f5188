"""Process syscalls: fork/clone, execve, exit, wait, ids, groups and sessions, ...

The work is done in ``kernel/process/`` (fork.py, exec.py, lifecycle.py, wait.py);
these handlers decode the arguments and encode the results.
"""

from __future__ import annotations

import struct

from ..error import E2BIG, EACCES, EFAULT, EINVAL, ENOSYS, EPERM, ESRCH, LinuxError
from ..loader.init_stack import MAX_ARG_STRLEN
from ..process import exec as exec_mod
from ..process import fork as fork_mod
from ..process.lifecycle import exit_group
from ..process.signal.constants import SIGCHLD
from ..process.signal.state import SigInfo
from ..process.wait import (
    WALL,
    WCLONE,
    WCONTINUED,
    WEXITED,
    WNOHANG,
    WNOTHREAD,
    WNOWAIT,
    WSTOPPED,
    WUNTRACED,
    do_wait,
    wait4_selector,
    waitid_selector,
)
from . import numbers as nr
from .args import s32

ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
MAX_ARGS = 0x7FFF_FFFF


def sys_exit_group(t, status, *_):
    exit_group(t.process, code=status & 0xFF)
    return None


def sys_exit(t, status, *_):
    """Only this thread ends; the process ends with its last thread."""
    t.data["exit_code"] = status & 0xFF
    t.exited = True
    return None


def sys_fork(t, *_):
    return fork_mod.clone(t.kernel, t, SIGCHLD)


def sys_vfork(t, *_):
    return fork_mod.clone(t.kernel, t, fork_mod.CLONE_VM | fork_mod.CLONE_VFORK | SIGCHLD)


def sys_clone(t, flags, stack, parent_tid, child_tid, tls, *_):
    # x86-64 argument order: flags, stack, parent_tid, child_tid, tls.
    return fork_mod.clone(t.kernel, t, flags & 0xFFFF_FFFF, stack, parent_tid, child_tid, tls)


def sys_clone3(t, args, size, *_):
    raise LinuxError(ENOSYS)  # libcs fall back to clone


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
    options = s32(options)
    if options & ~(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE):
        raise LinuxError(EINVAL)
    selector = wait4_selector(t, s32(pid))
    result = do_wait(t, selector, options | WEXITED)
    if result is None:
        return 0
    if wstatus:
        t.process.write_bytes(wstatus, struct.pack("<i", result.status))
    if rusage:
        t.process.write_bytes(rusage, pack_rusage(result.child.cpu_ns))
    return result.pid


def sys_waitid(t, idtype, ident, infop, options, rusage, *_):
    options = s32(options)
    if options & ~(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE):
        raise LinuxError(EINVAL)
    if not options & (WEXITED | WSTOPPED | WCONTINUED):
        raise LinuxError(EINVAL)
    selector = waitid_selector(t, s32(idtype), s32(ident))
    result = do_wait(t, selector, options)
    if infop:
        if result is None:
            t.process.write_bytes(infop, bytes(128))  # WNOHANG, nothing yet: si_pid = 0
        else:
            info = SigInfo(SIGCHLD, code=result.code, pid=result.pid, uid=result.uid, status=result.si_status,
                           kind="chld")  # fmt: skip
            t.process.write_bytes(infop, info.pack())
    if rusage:
        t.process.write_bytes(rusage, pack_rusage(result.child.cpu_ns if result else 0))
    return 0


def pack_rusage(cpu_ns: int) -> bytes:
    sec, ns = divmod(cpu_ns, 1_000_000_000)
    return struct.pack("<qq", sec, ns // 1000).ljust(144, b"\0")


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
    caller = t.process
    if pid in (0, caller.pid):
        target = caller
    else:
        target = caller.children.get(pid)
        if target is None:
            raise LinuxError(ESRCH)
        if target.sid != caller.sid:
            raise LinuxError(EPERM)
        if target.execed:
            raise LinuxError(EACCES)  # a child that has called execve
    if target.sid == target.pid:
        raise LinuxError(EPERM)  # a session leader cannot move
    pgid = pgid or target.pid
    if pgid != target.pid and not any(
        p.pgid == pgid and p.sid == caller.sid and not p.zombie for p in t.kernel.processes.values()
    ):
        raise LinuxError(EPERM)
    target.pgid = pgid
    return 0


def sys_setsid(t, *_):
    process = t.process
    if any(p.pgid == process.pid and not p.zombie for p in t.kernel.processes.values()):
        raise LinuxError(EPERM)  # already a process group leader
    process.sid = process.pgid = process.pid
    return process.sid


def _ids(values: tuple[int, ...]) -> list[int | None]:
    """-1 (as u32) means "leave unchanged"."""
    return [None if v & 0xFFFF_FFFF == 0xFFFF_FFFF else v & 0xFFFF_FFFF for v in values]


def _set_ids(t, kind: str, real, effective, saved) -> int:
    cred = t.process.cred
    r, e, s_ = _ids((real, effective, saved))
    privileged = cred.euid == 0
    current = (getattr(cred, kind), getattr(cred, "e" + kind), getattr(cred, "s" + kind))
    for value in (r, e, s_):
        if value is not None and not privileged and value not in current:
            raise LinuxError(EPERM)
    if r is not None:
        setattr(cred, kind, r)
    if e is not None:
        setattr(cred, "e" + kind, e)
        setattr(cred, "fs" + kind, e)
    if s_ is not None:
        setattr(cred, "s" + kind, s_)
    return 0


def sys_setuid(t, uid, *_):
    if t.process.cred.euid == 0:
        return _set_ids(t, "uid", uid, uid, uid)
    return _set_ids(t, "uid", -1, uid, -1)


def sys_setgid(t, gid, *_):
    if t.process.cred.euid == 0:
        return _set_ids(t, "gid", gid, gid, gid)
    return _set_ids(t, "gid", -1, gid, -1)


def sys_setreuid(t, ruid, euid, *_):
    return _set_ids(t, "uid", ruid, euid, -1)


def sys_setregid(t, rgid, egid, *_):
    return _set_ids(t, "gid", rgid, egid, -1)


def sys_setresuid(t, ruid, euid, suid, *_):
    return _set_ids(t, "uid", ruid, euid, suid)


def sys_setresgid(t, rgid, egid, sgid, *_):
    return _set_ids(t, "gid", rgid, egid, sgid)


def sys_getresuid(t, ruid, euid, suid, *_):
    cred = t.process.cred
    for addr, value in ((ruid, cred.uid), (euid, cred.euid), (suid, cred.suid)):
        t.process.write_bytes(addr, struct.pack("<I", value))
    return 0


def sys_getresgid(t, rgid, egid, sgid, *_):
    cred = t.process.cred
    for addr, value in ((rgid, cred.gid), (egid, cred.egid), (sgid, cred.sgid)):
        t.process.write_bytes(addr, struct.pack("<I", value))
    return 0


def _set_fs_id(t, field: str, value: int) -> int:
    """setfsuid/setfsgid: return the old value; only a privileged caller changes it."""
    cred = t.process.cred
    old = getattr(cred, field)
    if cred.euid == 0:
        setattr(cred, field, value & 0xFFFF_FFFF)
    return old


def sys_setfsuid(t, uid, *_):
    return _set_fs_id(t, "fsuid", uid)


def sys_setfsgid(t, gid, *_):
    return _set_fs_id(t, "fsgid", gid)


def sys_setgroups(t, size, grouplist, *_):
    size = s32(size)
    if not 0 <= size <= 65536:
        raise LinuxError(EINVAL)
    if t.process.cred.euid != 0:
        raise LinuxError(EPERM)
    raw = t.process.read_bytes(grouplist, 4 * size) if size else b""
    t.process.cred.groups = list(struct.unpack(f"<{size}I", raw))
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
    (nr.SYS_FORK, sys_fork, True),
    (nr.SYS_VFORK, sys_vfork, True),
    (nr.SYS_CLONE, sys_clone, True),
    (nr.SYS_CLONE3, sys_clone3, False),
    (nr.SYS_WAIT4, sys_wait4, False),
    (nr.SYS_WAITID, sys_waitid, False),
    (nr.SYS_SETSID, sys_setsid, False),
    (nr.SYS_SETUID, sys_setuid, False),
    (nr.SYS_SETGID, sys_setgid, False),
    (nr.SYS_SETREUID, sys_setreuid, False),
    (nr.SYS_SETREGID, sys_setregid, False),
    (nr.SYS_SETRESUID, sys_setresuid, False),
    (nr.SYS_SETRESGID, sys_setresgid, False),
    (nr.SYS_GETRESUID, sys_getresuid, False),
    (nr.SYS_GETRESGID, sys_getresgid, False),
    (nr.SYS_SETFSUID, sys_setfsuid, False),
    (nr.SYS_SETFSGID, sys_setfsgid, False),
    (nr.SYS_SETGROUPS, sys_setgroups, False),
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
    (nr.SYS_ARCH_PRCTL, sys_arch_prctl, False),
)
