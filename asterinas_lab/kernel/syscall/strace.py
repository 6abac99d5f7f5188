"""strace-compatible formatting of system calls for the kernel's ``--strace`` mode.

Why mimic strace byte for byte: students compare a program's trace under this kernel
with the trace of the same static binary on a real Linux host (``strace ./prog``). If
both use the same notation -- escaped and truncated strings, ``NULL``, symbolic flags,
``-1 ENOENT (No such file or directory)`` -- a plain ``diff`` points straight at the
first syscall where the emulated kernel behaves differently.

The formatter never touches guest memory directly. The kernel passes two callbacks,
``read_memory(addr, n)`` and ``read_cstring(addr, max_len)``, which return ``None`` for
a bad address; the formatter then prints the pointer in hex, as strace does when
``process_vm_readv`` fails. This keeps the module "safe kernel" code: it imports no
machine, FFI or memory-mapping module.

A syscall is formatted in two steps because some arguments are inputs and some are
outputs. :meth:`SyscallFormatter.format_entry` runs before the handler and shows the
inputs (``read(3, ``); :meth:`SyscallFormatter.format_exit` runs after it and decodes
the buffers and structs that the kernel has just filled in (``read(3, "abc", 4) = 3``).
"""

from __future__ import annotations

import errno as _errno
import os
import struct
from collections.abc import Callable, Sequence

from asterinas_lab.kernel.syscall import numbers as sysno

__all__ = [
    "MAX_STRLEN",
    "SyscallFormatter",
    "align_line",
    "format_errno",
    "format_flags",
    "quote_bytes",
]

#: strace's default ``-s 32``: strings longer than this are cut and followed by ``...``.
MAX_STRLEN = 32
#: strace's default alignment column for ``= result`` (``-a 40``).
ACOLUMN = 40
#: The largest path strace reads (PATH_MAX).
PATH_MAX = 4096
_AT_FDCWD = -100
_MAX_ERRNO = 4095

ReadMemory = Callable[[int, int], bytes | None]
Args = Sequence[int]

# --------------------------------------------------------------------------- helpers


def _s32(v: int) -> int:
    """Reinterpret the low 32 bits of a register as a C ``int`` (fds, pids, signals)."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _s64(v: int) -> int:
    """Reinterpret a register as a signed 64-bit value (``off_t``, return values)."""
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v & (1 << 63) else v


def _u64(v: int) -> int:
    """Reinterpret a register as an unsigned 64-bit value (``size_t``, pointers)."""
    return v & 0xFFFFFFFFFFFFFFFF


def _hex(v: int) -> str:
    """Print like C's ``%#lx``: ``0`` stays ``0``, everything else gets ``0x``."""
    v = _u64(v)
    return f"{v:#x}" if v else "0"


def _ptr(v: int) -> str:
    """Print a pointer the way strace does: ``NULL`` for zero, otherwise hex."""
    v = _u64(v)
    return f"{v:#x}" if v else "NULL"


def _octal(v: int) -> str:
    """Print like C's ``%#03o`` (strace's format for file modes): ``0644``, ``000``."""
    text = f"0{v:o}" if v else "0"
    return text.rjust(3, "0")


def quote_bytes(
    data: bytes,
    *,
    truncated: bool = False,
    force_hex: bool = False,
) -> str:
    r"""Quote ``data`` as strace does and append ``...`` when ``truncated``.

    strace escapes ``"`` and ``\``, uses the C escapes ``\t \n \v \f \r``, and prints
    other non-printable bytes in octal. The octal form is as short as possible
    (``\0``, ``\33``) unless the next byte is an octal digit, in which case three
    digits are needed to keep the escape unambiguous (``\0013``). With
    ``force_hex`` (used for random bytes, e.g. getrandom) every byte is ``\xNN``.
    """
    if force_hex:
        body = "".join(f"\\x{b:02x}" for b in data)
    else:
        out: list[str] = []
        size = len(data)
        for i, c in enumerate(data):
            if c in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[c])
            elif 0x20 <= c <= 0x7E:
                out.append(chr(c))
            elif i + 1 < size and 0x30 <= data[i + 1] <= 0x37:
                out.append(f"\\{c:03o}")
            else:
                out.append(f"\\{c:o}")
        body = "".join(out)
    return f'"{body}"' + ("..." if truncated else "")


_SIMPLE_ESCAPES: dict[int, str] = {
    0x22: '\\"',
    0x5C: "\\\\",
    0x0C: "\\f",
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
    0x0B: "\\v",
}

Flags = tuple[tuple[int, str], ...]


def format_flags(value: int, table: Flags, zero: str = "0") -> str:
    """Join the names of the set bits with ``|`` and append unknown bits in hex.

    Entries may cover several bits (``O_SYNC`` includes ``O_DSYNC``); the first entry
    whose bits are all set wins and consumes them, so put composite flags first.
    ``zero`` is what strace prints when nothing is set (``0``, ``PROT_NONE``...).
    """
    if value == 0:
        return zero
    names: list[str] = []
    rest = value
    for mask, name in table:
        if mask and rest & mask == mask:
            names.append(name)
            rest &= ~mask
    if rest:
        names.append(f"{rest:#x}")
    return "|".join(names)


def _xlat(value: int, table: dict[int, str], unknown: str) -> str:
    """Name of a single enumerated value; unknown ones as ``0x7 /* SEEK_??? */``."""
    name = table.get(value)
    if name is not None:
        return name
    return f"{_hex(value)} /* {unknown} */"


_ERESTART: dict[int, tuple[str, str]] = {
    512: ("ERESTARTSYS", "To be restarted if SA_RESTART is set"),
    513: ("ERESTARTNOINTR", "To be restarted"),
    514: ("ERESTARTNOHAND", "To be restarted if no handler"),
    515: ("ENOIOCTLCMD", "Inappropriate ioctl for device"),
    516: ("ERESTART_RESTARTBLOCK", "Interrupted by signal"),
}


def format_errno(err: int) -> str:
    """``-1 ENOENT (No such file or directory)`` for a positive errno ``err``.

    Names and messages come from the host's :mod:`errno` and :func:`os.strerror`:
    the host is x86-64 Linux, so they are exactly the guest's. The kernel-internal
    restart codes (512..516) never reach user space; strace prints them with ``?``.
    """
    if err in _ERESTART:
        name, msg = _ERESTART[err]
        return f"? {name} ({msg})"
    name = _errno.errorcode.get(err, f"E{err}")
    return f"-1 {name} ({os.strerror(err)})"


def align_line(call: str, result: str, column: int = ACOLUMN) -> str:
    """Join ``call`` (without the ``)``) and ``result`` with strace's alignment.

    strace prints ``) ``, pads with spaces up to column 40 and then ``= result``;
    calls already past that column get a single space. Useful when comparing with
    real strace output; :meth:`SyscallFormatter.format_exit` uses the compact form.
    """
    head = call + ") "
    return head.ljust(column) + "= " + result


# ---------------------------------------------------------------- constant tables

_O_ACCMODE = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 3: "O_ACCMODE"}
_O_FLAGS: Flags = (
    (0o20200000, "O_TMPFILE"),
    (0o4010000, "O_SYNC"),
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o10000, "O_DSYNC"),
    (0o20000, "O_ASYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
)
_O_CREAT = 0o100
_O_TMPFILE = 0o20200000
_O_CLOEXEC_ONLY: Flags = ((0o2000000, "O_CLOEXEC"), (0o4000, "O_NONBLOCK"), (0o40000, "O_DIRECT"))

_PROT: Flags = (
    (0x1, "PROT_READ"),
    (0x2, "PROT_WRITE"),
    (0x4, "PROT_EXEC"),
    (0x8, "PROT_SEM"),
    (0x01000000, "PROT_GROWSDOWN"),
    (0x02000000, "PROT_GROWSUP"),
)
_MAP_TYPE = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}
_MAP_FLAGS: Flags = (
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x40, "MAP_32BIT"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"),
    (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"),
    (0x80000, "MAP_SYNC"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
)
_AT_FLAGS: Flags = (
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"),
)
_ACCESS: Flags = ((4, "R_OK"), (2, "W_OK"), (1, "X_OK"))
_SEEK = {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}
_STATX_MASK: Flags = (
    (0x7FF, "STATX_BASIC_STATS"),
    (0x1, "STATX_TYPE"),
    (0x2, "STATX_MODE"),
    (0x4, "STATX_NLINK"),
    (0x8, "STATX_UID"),
    (0x10, "STATX_GID"),
    (0x20, "STATX_ATIME"),
    (0x40, "STATX_MTIME"),
    (0x80, "STATX_CTIME"),
    (0x100, "STATX_INO"),
    (0x200, "STATX_SIZE"),
    (0x400, "STATX_BLOCKS"),
    (0x800, "STATX_BTIME"),
    (0x1000, "STATX_MNT_ID"),
    (0x2000, "STATX_DIOALIGN"),
)
_S_IFMT = {
    0o140000: "S_IFSOCK",
    0o120000: "S_IFLNK",
    0o100000: "S_IFREG",
    0o060000: "S_IFBLK",
    0o040000: "S_IFDIR",
    0o020000: "S_IFCHR",
    0o010000: "S_IFIFO",
}
_SIGNALS = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
    7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
    13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
    18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU",
    23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF",
    28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}  # fmt: skip
_SIGPROCMASK_HOW = {0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK"}
_SA_FLAGS: Flags = (
    (0x04000000, "SA_RESTORER"),
    (0x08000000, "SA_ONSTACK"),
    (0x10000000, "SA_RESTART"),
    (0x40000000, "SA_NODEFER"),
    (0x80000000, "SA_RESETHAND"),
    (0x1, "SA_NOCLDSTOP"),
    (0x2, "SA_NOCLDWAIT"),
    (0x4, "SA_SIGINFO"),
)
_IOCTL = {
    0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF",
    0x5405: "TCGETA", 0x5406: "TCSETA", 0x5407: "TCSETAW", 0x5408: "TCSETAF",
    0x5409: "TCSBRK", 0x540A: "TCXONC", 0x540B: "TCFLSH", 0x540C: "TIOCEXCL",
    0x540D: "TIOCNXCL", 0x540E: "TIOCSCTTY", 0x540F: "TIOCGPGRP", 0x5410: "TIOCSPGRP",
    0x5411: "TIOCOUTQ", 0x5412: "TIOCSTI", 0x5413: "TIOCGWINSZ", 0x5414: "TIOCSWINSZ",
    0x541B: "FIONREAD", 0x5421: "FIONBIO", 0x5422: "TIOCNOTTY", 0x5429: "TIOCGSID",
    0x5450: "FIONCLEX", 0x5451: "FIOCLEX", 0x5452: "FIOASYNC",
    0x80045430: "TIOCGPTN", 0x40045431: "TIOCSPTLCK",
}  # fmt: skip
_ARCH_PRCTL = {
    0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS",
    0x1004: "ARCH_GET_GS", 0x1011: "ARCH_GET_CPUID", 0x1012: "ARCH_SET_CPUID",
}  # fmt: skip
_CLONE_FLAGS: Flags = tuple(
    (1 << bit, name)
    for bit, name in (
        (8, "CLONE_VM"), (9, "CLONE_FS"), (10, "CLONE_FILES"), (11, "CLONE_SIGHAND"),
        (12, "CLONE_PIDFD"), (13, "CLONE_PTRACE"), (14, "CLONE_VFORK"),
        (15, "CLONE_PARENT"), (16, "CLONE_THREAD"), (17, "CLONE_NEWNS"),
        (18, "CLONE_SYSVSEM"), (19, "CLONE_SETTLS"), (20, "CLONE_PARENT_SETTID"),
        (21, "CLONE_CHILD_CLEARTID"), (22, "CLONE_DETACHED"), (23, "CLONE_UNTRACED"),
        (24, "CLONE_CHILD_SETTID"), (25, "CLONE_NEWCGROUP"), (26, "CLONE_NEWUTS"),
        (27, "CLONE_NEWIPC"), (28, "CLONE_NEWUSER"), (29, "CLONE_NEWPID"),
        (30, "CLONE_NEWNET"), (31, "CLONE_IO"),
    )
)  # fmt: skip
_WAIT_OPTIONS: Flags = (
    (1, "WNOHANG"),
    (2, "WUNTRACED"),
    (4, "WEXITED"),
    (8, "WCONTINUED"),
    (0x1000000, "WNOWAIT"),
    (0x20000000, "__WNOTHREAD"),
    (0x40000000, "__WALL"),
    (0x80000000, "__WCLONE"),
)
_GRND: Flags = ((1, "GRND_NONBLOCK"), (2, "GRND_RANDOM"), (4, "GRND_INSECURE"))
_RLIMIT = {
    0: "RLIMIT_CPU", 1: "RLIMIT_FSIZE", 2: "RLIMIT_DATA", 3: "RLIMIT_STACK",
    4: "RLIMIT_CORE", 5: "RLIMIT_RSS", 6: "RLIMIT_NPROC", 7: "RLIMIT_NOFILE",
    8: "RLIMIT_MEMLOCK", 9: "RLIMIT_AS", 10: "RLIMIT_LOCKS", 11: "RLIMIT_SIGPENDING",
    12: "RLIMIT_MSGQUEUE", 13: "RLIMIT_NICE", 14: "RLIMIT_RTPRIO", 15: "RLIMIT_RTTIME",
}  # fmt: skip
_FCNTL = {
    0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL",
    5: "F_GETLK", 6: "F_SETLK", 7: "F_SETLKW", 8: "F_SETOWN", 9: "F_GETOWN",
    10: "F_SETSIG", 11: "F_GETSIG", 15: "F_SETOWN_EX", 16: "F_GETOWN_EX",
    36: "F_OFD_GETLK", 37: "F_OFD_SETLK", 38: "F_OFD_SETLKW", 1024: "F_SETLEASE",
    1025: "F_GETLEASE", 1026: "F_NOTIFY", 1030: "F_DUPFD_CLOEXEC",
    1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ", 1033: "F_ADD_SEALS", 1034: "F_GET_SEALS",
}  # fmt: skip
_FCNTL_NOARG = frozenset({1, 3, 9, 11, 1025, 1032, 1034})
_FCNTL_INT = frozenset({0, 8, 10, 1024, 1026, 1030, 1031, 1033})
_FD_FLAGS: Flags = ((1, "FD_CLOEXEC"),)
_CLOCKS = {
    0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID",
    3: "CLOCK_THREAD_CPUTIME_ID", 4: "CLOCK_MONOTONIC_RAW", 5: "CLOCK_REALTIME_COARSE",
    6: "CLOCK_MONOTONIC_COARSE", 7: "CLOCK_BOOTTIME", 8: "CLOCK_REALTIME_ALARM",
    9: "CLOCK_BOOTTIME_ALARM", 11: "CLOCK_TAI",
}  # fmt: skip
_POLL: Flags = (
    (0x1, "POLLIN"),
    (0x2, "POLLPRI"),
    (0x4, "POLLOUT"),
    (0x8, "POLLERR"),
    (0x10, "POLLHUP"),
    (0x20, "POLLNVAL"),
    (0x40, "POLLRDNORM"),
    (0x80, "POLLRDBAND"),
    (0x100, "POLLWRNORM"),
    (0x200, "POLLWRBAND"),
    (0x400, "POLLMSG"),
    (0x2000, "POLLRDHUP"),
)
_PRCTL = {
    1: "PR_SET_PDEATHSIG", 2: "PR_GET_PDEATHSIG", 3: "PR_GET_DUMPABLE",
    4: "PR_SET_DUMPABLE", 7: "PR_GET_KEEPCAPS", 8: "PR_SET_KEEPCAPS",
    15: "PR_SET_NAME", 16: "PR_GET_NAME", 21: "PR_GET_SECCOMP", 22: "PR_SET_SECCOMP",
    23: "PR_CAPBSET_READ", 29: "PR_SET_TIMERSLACK", 30: "PR_GET_TIMERSLACK",
    35: "PR_SET_MM", 36: "PR_SET_CHILD_SUBREAPER", 37: "PR_GET_CHILD_SUBREAPER",
    38: "PR_SET_NO_NEW_PRIVS", 39: "PR_GET_NO_NEW_PRIVS", 41: "PR_SET_THP_DISABLE",
    42: "PR_GET_THP_DISABLE", 0x53564D41: "PR_SET_VMA",
}  # fmt: skip
_PRCTL_NOARG = frozenset({3, 7, 21, 30, 39, 42})
_PRCTL_INT = frozenset({4, 8, 29, 36, 41})
_RLIM_INFINITY = 0xFFFFFFFFFFFFFFFF
_RSEQ_FLAGS: Flags = ((1, "RSEQ_FLAG_UNREGISTER"),)
_TIMER_FLAGS: Flags = ((1, "TIMER_ABSTIME"),)
_NO_RETURN = frozenset({sysno.SYS_EXIT, sysno.SYS_EXIT_GROUP})
_HEX_RETURN = frozenset({sysno.SYS_MMAP, sysno.SYS_BRK, sysno.SYS_MREMAP, sysno.SYS_SHMAT})
#: Calls whose arguments are only readable before the handler runs: after a
#: successful execve the old address space, and with it argv, is gone.
_ENTRY_ONLY = frozenset({sysno.SYS_EXECVE, sysno.SYS_EXECVEAT})


def _signame(sig: int) -> str:
    """``SIGTERM`` for a signal number; real-time ones as ``SIGRT_n`` like strace."""
    sig = _s32(sig)
    if sig == 0:
        return "0"
    if sig in _SIGNALS:
        return _SIGNALS[sig]
    if 32 <= sig <= 64:
        return f"SIGRT_{sig - 32}"
    return str(sig)


def _sigset(mask: int) -> str:
    """A 64-bit signal mask as strace's ``[INT CHLD]`` (or ``~[...]`` when mostly set)."""
    bits = [s for s in range(1, 65) if mask >> (s - 1) & 1]
    if len(bits) > 32:
        bits = [s for s in range(1, 65) if not mask >> (s - 1) & 1]
        prefix = "~"
    else:
        prefix = ""
    return prefix + "[" + " ".join(_signame(s).removeprefix("SIG") for s in bits) + "]"


def _mode(mode: int) -> str:
    """``S_IFREG|0644`` for an ``st_mode``; setuid/setgid/sticky bits by name."""
    parts = []
    ftype = mode & 0o170000
    if ftype:
        parts.append(_S_IFMT.get(ftype, f"{ftype:#o}"))
    for bit, name in ((0o4000, "S_ISUID"), (0o2000, "S_ISGID"), (0o1000, "S_ISVTX")):
        if mode & bit:
            parts.append(name)
    parts.append(_octal(mode & 0o777))
    return "|".join(parts)


def _makedev(dev: int) -> str:
    """A ``dev_t`` as strace's ``makedev(0x88, 0)`` using glibc's bit layout."""
    major = ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFF)
    minor = (dev & 0xFF) | ((dev >> 12) & ~0xFF)
    return f"makedev({_hex(major)}, {_hex(minor)})"


def _fd(v: int) -> str:
    """A file-descriptor argument (``int``)."""
    return str(_s32(v))


def _dirfd(v: int) -> str:
    """A ``*at`` directory fd: ``AT_FDCWD`` for -100."""
    fd = _s32(v)
    return "AT_FDCWD" if fd == _AT_FDCWD else str(fd)


def _open_flags(v: int) -> str:
    """``O_RDONLY|O_CLOEXEC``: access mode first, then the other flags."""
    v &= 0xFFFFFFFF
    acc = _O_ACCMODE[v & 3]
    rest = format_flags(v & ~3, _O_FLAGS, "")
    return f"{acc}|{rest}" if rest else acc


def _is_error(ret: int) -> bool:
    """Linux's convention: a return in -4095..-1 is a negated errno."""
    return -_MAX_ERRNO <= _s64(ret) <= -1


# ------------------------------------------------------------------ the formatter

Decoder = Callable[["SyscallFormatter", Args, "int | None"], list["str | None"]]
RetFormatter = Callable[["SyscallFormatter", Args, int], str]


def pid_prefixed(line: str, tid: int, first_tid: int) -> str:
    """``strace -f``'s form: a line of any thread but the first names its tid."""
    return line if tid == first_tid else f"[pid {tid:>5}] {line}"


class SyscallFormatter:
    """Turns syscall numbers, raw argument registers and results into strace lines.

    The formatter keeps no per-process state except the text of the last entry of an
    ``execve``, whose arguments cannot be read again once the new image replaced the
    caller's memory.
    """

    def __init__(
        self,
        read_memory: Callable[[int, int], bytes | None],
        read_cstring: Callable[[int, int], bytes | None],
    ) -> None:
        """Remember the guest-memory accessors; both return ``None`` for bad addresses."""
        self._read_memory = read_memory
        self._read_cstring = read_cstring
        self._entry_cache: tuple[int, tuple[int, ...], list[str | None]] | None = None

    # ---- public API

    def format_entry(self, nr: int, args: tuple[int, int, int, int, int, int]) -> str:
        """The line strace shows before the call: name, ``(`` and the input arguments.

        Output arguments are not known yet, so the text stops before the first of
        them, keeping its ``, `` separator (``read(3, ``) exactly as strace does.
        """
        parts = self._decode(nr, args, None)
        if nr in _ENTRY_ONLY:
            self._entry_cache = (nr, tuple(args), parts)
        shown: list[str] = []
        cut = False
        for part in parts:
            if part is None:
                cut = True
                break
            shown.append(part)
        text = f"{self._name(nr)}(" + ", ".join(shown)
        if cut and shown:
            text += ", "
        return text

    def format_exit(self, nr: int, args: tuple[int, ...], ret: int) -> str:
        """The complete line, ``write(1, "hi\\n", 3) = 3``, decoded after the call."""
        call, result = self.format_exit_parts(nr, args, ret)
        return f"{call}) = {result}"

    def format_exit_aligned(self, nr: int, args: tuple[int, ...], ret: int, column: int = ACOLUMN) -> str:
        """Like :meth:`format_exit` but padded like real strace (``= `` at column 40)."""
        return align_line(*self.format_exit_parts(nr, args, ret), column=column)

    def format_exit_parts(self, nr: int, args: tuple[int, ...], ret: int) -> tuple[str, str]:
        """``("write(1, \\"hi\\", 2", "2")``: the call without ``)`` and the result."""
        cached = self._entry_cache
        if nr in _ENTRY_ONLY and cached and cached[0] == nr and cached[1] == tuple(args):
            parts = cached[2]
        else:
            parts = self._decode(nr, args, ret)
        self._entry_cache = None
        call = f"{self._name(nr)}(" + ", ".join(p if p is not None else "?" for p in parts)
        return call, self._format_return(nr, args, ret)

    # ---- memory helpers used by decoders

    def read(self, addr: int, size: int) -> bytes | None:
        """Read guest memory; ``None`` for NULL, bad addresses or short reads."""
        if addr == 0:
            return None
        data = self._read_memory(_u64(addr), size)
        if data is None or len(data) < size:
            return None
        return data

    def buf(self, addr: int, size: int, *, force_hex: bool = False) -> str:
        """A counted buffer (write, read...): at most 32 bytes, then ``...``."""
        if addr == 0:
            return "NULL"
        size = max(_s64(size), 0)
        n = min(size, MAX_STRLEN)
        data = self.read(addr, n) if n else b""
        if data is None:
            return _ptr(addr)
        return quote_bytes(data, truncated=size > MAX_STRLEN, force_hex=force_hex)

    def cstr(self, addr: int, limit: int = MAX_STRLEN) -> str:
        """A NUL-terminated string, cut after ``limit`` bytes with ``...``."""
        if addr == 0:
            return "NULL"
        data = self._read_cstring(_u64(addr), limit + 1)
        if data is None:
            return _ptr(addr)
        data = data.split(b"\0", 1)[0]
        return quote_bytes(data[:limit], truncated=len(data) > limit)

    def path(self, addr: int) -> str:
        """A path name: NUL-terminated, printed in full up to PATH_MAX."""
        return self.cstr(addr, PATH_MAX)

    def u64s(self, addr: int, count: int) -> tuple[int, ...] | None:
        """``count`` little-endian 64-bit words at ``addr``, or ``None`` if unreadable."""
        data = self.read(addr, 8 * count)
        return None if data is None else struct.unpack(f"<{count}Q", data)

    def out(self, ret: int | None, addr: int, decode: Callable[[], str]) -> str | None:
        """An output argument: unknown at entry, a pointer on failure, else decoded."""
        if ret is None:
            return None
        if addr == 0:
            return "NULL"
        if _is_error(ret):
            return _ptr(addr)
        return decode()

    # ---- structures shared by several decoders

    def timespec(self, addr: int) -> str:
        """``{tv_sec=1, tv_nsec=500}`` or the pointer when unreadable."""
        words = self.u64s(addr, 2)
        if words is None:
            return _ptr(addr)
        return f"{{tv_sec={_s64(words[0])}, tv_nsec={_s64(words[1])}}}"

    def stat(self, addr: int) -> str:
        """x86-64 ``struct stat`` in strace's short form."""
        data = self.read(addr, 144)
        if data is None:
            return _ptr(addr)
        mode = struct.unpack_from("<I", data, 24)[0]
        rdev, size = struct.unpack_from("<Qq", data, 40)
        if mode & 0o170000 in (0o020000, 0o060000):
            return f"{{st_mode={_mode(mode)}, st_rdev={_makedev(rdev)}, ...}}"
        return f"{{st_mode={_mode(mode)}, st_size={size}, ...}}"

    def statx(self, addr: int) -> str:
        """``struct statx`` in strace's short form."""
        data = self.read(addr, 256)
        if data is None:
            return _ptr(addr)
        mask = struct.unpack_from("<I", data, 0)[0]
        attrs = struct.unpack_from("<Q", data, 8)[0]
        mode = struct.unpack_from("<H", data, 28)[0]
        size = struct.unpack_from("<Q", data, 40)[0]
        return (
            f"{{stx_mask={format_flags(mask, _STATX_MASK)}, stx_attributes={_hex(attrs)}, "
            f"stx_mode={_mode(mode)}, stx_size={size}, ...}}"
        )

    def iovec(self, addr: int, count: int, limit: int | None) -> str:
        """``[{iov_base="hello", iov_len=5}, ...]``; ``limit`` caps the bytes shown
        in total (the return value of readv), ``None`` shows each buffer's length."""
        count = _s32(count)
        if count < 0 or addr == 0:
            return _ptr(addr)
        shown = min(count, MAX_STRLEN)
        words = self.u64s(addr, 2 * shown) if shown else ()
        if words is None:
            return _ptr(addr)
        items = []
        remaining = limit
        for i in range(shown):
            base, length = words[2 * i], words[2 * i + 1]
            n = length if remaining is None else min(length, remaining)
            if remaining is not None:
                remaining -= n
            items.append(f"{{iov_base={self.buf(base, n)}, iov_len={length}}}")
        if count > shown:
            items.append("...")
        return "[" + ", ".join(items) + "]"

    def string_array(self, addr: int) -> str:
        """``["ls", "-l"]`` for a NULL-terminated ``char *[]`` such as argv."""
        if addr == 0:
            return "NULL"
        items = []
        for i in range(MAX_STRLEN + 1):
            word = self.u64s(addr + 8 * i, 1)
            if word is None:
                return _ptr(addr) if i == 0 else "[" + ", ".join(items) + ", ...]"
            if word[0] == 0:
                return "[" + ", ".join(items) + "]"
            if i == MAX_STRLEN:
                items.append("...")
                break
            items.append(self.cstr(word[0]))
        return "[" + ", ".join(items) + "]"

    def env_summary(self, addr: int) -> str:
        """strace's abbreviation for envp: ``0x7ffd... /* 39 vars */``."""
        if addr == 0:
            return "NULL"
        count = 0
        while count < 4096:
            word = self.u64s(addr + 8 * count, 1)
            if word is None:
                return _ptr(addr)
            if word[0] == 0:
                break
            count += 1
        return f"{_ptr(addr)} /* {count} vars */"

    # ---- internals

    @staticmethod
    def _name(nr_: int) -> str:
        """Name strace prints; unknown numbers become ``syscall_0x3e7``."""
        name = sysno.SYSCALL_NAMES.get(nr_)
        return name if name is not None else f"syscall_{_hex(nr_)}"

    def _decode(self, nr_: int, args: Args, ret: int | None) -> list[str | None]:
        """Dispatch to the decoder for ``nr_`` or fall back to hex arguments."""
        decoder = _DECODERS.get(nr_)
        if decoder is not None:
            return decoder(self, args, ret)
        count = sysno.SYSCALL_NARGS.get(nr_, 6)
        return [_hex(a) for a in args[:count]]

    def _format_return(self, nr_: int, args: Args, ret: int) -> str:
        """``3``, ``0x7f..``, ``?`` or ``-1 ENOENT (...)`` plus strace's extra notes."""
        if nr_ in _NO_RETURN:
            return "?"
        sret = _s64(ret)
        err = -sret
        if 0 < err <= _MAX_ERRNO:
            return format_errno(err)
        if nr_ in _HEX_RETURN:
            return _hex(ret)
        aux = _RET_DECODERS.get(nr_)
        if aux is not None:
            return aux(self, args, sret)
        return str(sret)


# ------------------------------------------------------------------------- decoders
# Each decoder returns the argument strings; ``None`` marks an output argument that
# is not known yet (``ret is None`` means "at entry").

F = SyscallFormatter
R = int | None


def _d_read(f: F, a: Args, ret: R) -> list[str | None]:
    return [_fd(a[0]), f.out(ret, a[1], lambda: f.buf(a[1], ret or 0)), str(_u64(a[2]))]


def _d_write(f: F, a: Args, ret: R) -> list[str | None]:
    return [_fd(a[0]), f.buf(a[1], a[2]), str(_u64(a[2]))]


def _d_pread(f: F, a: Args, ret: R) -> list[str | None]:
    return [*_d_read(f, a, ret), str(_s64(a[3]))]


def _d_pwrite(f: F, a: Args, ret: R) -> list[str | None]:
    return [*_d_write(f, a, ret), str(_s64(a[3]))]


def _d_readv(f: F, a: Args, ret: R) -> list[str | None]:
    vec = f.out(ret, a[1], lambda: f.iovec(a[1], a[2], _s64(ret or 0)))
    return [_fd(a[0]), vec, str(_s32(a[2]))]


def _d_writev(f: F, a: Args, ret: R) -> list[str | None]:
    return [_fd(a[0]), f.iovec(a[1], a[2], None), str(_s32(a[2]))]


def _mode_if_creat(flags: int, mode: int) -> list[str | None]:
    """strace shows the mode argument only when O_CREAT or O_TMPFILE uses it."""
    if flags & _O_CREAT or flags & _O_TMPFILE == _O_TMPFILE:
        return [_octal(mode & 0o7777)]
    return []


def _d_open(f: F, a: Args, ret: R) -> list[str | None]:
    return [f.path(a[0]), _open_flags(a[1]), *_mode_if_creat(a[1], a[2])]


def _d_openat(f: F, a: Args, ret: R) -> list[str | None]:
    return [_dirfd(a[0]), f.path(a[1]), _open_flags(a[2]), *_mode_if_creat(a[2], a[3])]


def _d_fd(f: F, a: Args, ret: R) -> list[str | None]:
    return [_fd(a[0])]


def _d_fd_fd(f: F, a: Args, ret: R) -> list[str | None]:
    return [_fd(a[0]), _fd(a[1])]


def _d_dup3(f: F, a: Args, ret: R) -> list[str | None]:
    return [_fd(a[0]), _fd(a[1]), format_flags(a[2] & 0xFFFFFFFF, _O_CLOEXEC_ONLY)]


def _d_lseek(f: F, a: Args, ret: R) -> list[str | None]:
    return [_fd(a[0]), str(_s64(a[1])), _xlat(_s32(a[2]), _SEEK, "SEEK_???")]


def _d_stat(f: F, a: Args, ret: R) -> list[str | None]:
    return [f.path(a[0]), f.out(ret, a[1], lambda: f.stat(a[1]))]


def _d_fstat(f: F, a: Args, ret: R) -> list[str | None]:
    return [_fd(a[0]), f.out(ret, a[1], lambda: f.stat(a[1]))]


def _d_newfstatat(f: F, a: Args, ret: R) -> list[str | None]:
    st = f.out(ret, a[2], lambda: f.stat(a[2]))
    flags = format_flags(a[3] & 0xFFFFFFFF, _AT_FLAGS) if ret is not None else None
    return [_dirfd(a[0]), f.path(a[1]), st, flags]


def _d_statx(f: F, a: Args, ret: R) -> list[str | None]:
    flags = a[2] & 0xFFFFFFFF
    flag_text = format_flags(flags, _AT_FLAGS, "AT_STATX_SYNC_AS_STAT")
    if flags and not flags & 0x6000:
        flag_text = "AT_STATX_SYNC_AS_STAT|" + flag_text
    mask = format_flags(a[3] & 0xFFFFFFFF, _STATX_MASK)
    return [_dirfd(a[0]), f.path(a[1]), flag_text, mask, f.out(ret, a[4], lambda: f.statx(a[4]))]


def _d_getdents(f: F, a: Args, ret: R) -> list[str | None]:
    def entries() -> str:
        total = _s64(ret or 0)
        data = f.read(a[1], total) if total > 0 else b""
        if data is None:
            return _ptr(a[1])
        count = pos = 0
        while pos + 18 < len(data) + 1 and pos < len(data):
            reclen = struct.unpack_from("<H", data, pos + 16)[0]
            if reclen == 0:
                break
            count += 1
            pos += reclen
        return f"{_ptr(a[1])} /* {count} entries */"

    return [_fd(a[0]), f.out(ret, a[1], entries), str(_u64(a[2]) & 0xFFFFFFFF)]


def _d_mmap(f: F, a: Args, ret: R) -> list[str | None]:
    flags = a[3] & 0xFFFFFFFF
    mtype = _MAP_TYPE.get(flags & 0xF, f"{flags & 0xF:#x}")
    rest = format_flags(flags & ~0xF, _MAP_FLAGS, "")
    return [
        _ptr(a[0]),
        str(_u64(a[1])),
        format_flags(a[2] & 0xFFFFFFFF, _PROT, "PROT_NONE"),
        f"{mtype}|{rest}" if rest else mtype,
        _fd(a[4]),
        _hex(a[5]),
    ]


def _d_mprotect(f: F, a: Args, ret: R) -> list[str | None]:
    return [_ptr(a[0]), str(_u64(a[1])), format_flags(a[2] & 0xFFFFFFFF, _PROT, "PROT_NONE")]


def _d_munmap(f: F, a: Args, ret: R) -> list[str | None]:
    return [_ptr(a[0]), str(_u64(a[1]))]


def _d_brk(f: F, a: Args, ret: R) -> list[str | None]:
    return [_ptr(a[0])]


def _d_ioctl(f: F, a: Args, ret: R) -> list[str | None]:
    req = a[1] & 0xFFFFFFFF
    name = _IOCTL.get(req, _hex(req))
    arg = a[2]
    if name in ("TCGETS", "TIOCGWINSZ", "FIONREAD", "TIOCGPGRP", "TIOCGPTN"):
        shown = f.out(ret, arg, lambda: _ioctl_arg(f, name, arg))
    elif name in ("TCSETS", "TCSETSW", "TCSETSF", "TIOCSWINSZ", "TIOCSPGRP", "FIONBIO"):
        shown = _ioctl_arg(f, name, arg)
    elif name in ("TIOCSCTTY", "TCSBRK", "TCXONC", "TCFLSH"):
        shown = str(_s32(arg))
    elif name in ("TIOCNOTTY", "FIONCLEX", "FIOCLEX", "TIOCEXCL", "TIOCNXCL"):
        return [_fd(a[0]), name]
    else:
        shown = _hex(arg)
    return [_fd(a[0]), name, shown]


def _ioctl_arg(f: F, name: str, arg: int) -> str:
    """Decode the structure behind an ioctl argument (terminal ioctls only)."""
    if name in ("TIOCGWINSZ", "TIOCSWINSZ"):
        data = f.read(arg, 8)
        if data is None:
            return _ptr(arg)
        row, col, xpix, ypix = struct.unpack("<4H", data)
        return f"{{ws_row={row}, ws_col={col}, ws_xpixel={xpix}, ws_ypixel={ypix}}}"
    if name.startswith("TC"):
        data = f.read(arg, 16)
        if data is None:
            return _ptr(arg)
        iflag, oflag, cflag, lflag = struct.unpack("<4I", data)
        return (
            f"{{c_iflag={_hex(iflag)}, c_oflag={_hex(oflag)}, "
            f"c_cflag={_hex(cflag)}, c_lflag={_hex(lflag)}, ...}}"
        )
    data = f.read(arg, 4)
    if data is None:
        return _ptr(arg)
    return f"[{struct.unpack('<i', data)[0]}]"


def _d_arch_prctl(f: F, a: Args, ret: R) -> list[str | None]:
    code = _s32(a[0])
    name = _xlat(code, _ARCH_PRCTL, "ARCH_???")
    if code in (0x1003, 0x1004):
        word = f.out(ret, a[1], lambda: _bracket_word(f, a[1]))
        return [name, word]
    return [name, _hex(a[1])]


def _bracket_word(f: F, addr: int) -> str:
    """``[0x7f...]``: a 64-bit value written through a pointer."""
    word = f.u64s(addr, 1)
    return _ptr(addr) if word is None else f"[{_hex(word[0])}]"


def _d_ptr(f: F, a: Args, ret: R) -> list[str | None]:
    return [_ptr(a[0])]


def _d_exit(f: F, a: Args, ret: R) -> list[str | None]:
    return [str(_s32(a[0]))]


def _d_execve(f: F, a: Args, ret: R) -> list[str | None]:
    return [f.path(a[0]), f.string_array(a[1]), f.env_summary(a[2])]


def _d_execveat(f: F, a: Args, ret: R) -> list[str | None]:
    flags = format_flags(a[4] & 0xFFFFFFFF, _AT_FLAGS)
    return [_dirfd(a[0]), f.path(a[1]), f.string_array(a[2]), f.env_summary(a[3]), flags]


def _d_uname(f: F, a: Args, ret: R) -> list[str | None]:
    def uts() -> str:
        data = f.read(a[0], 65 * 2)
        if data is None:
            return _ptr(a[0])
        sysname = data[:65].split(b"\0", 1)[0]
        node = data[65:].split(b"\0", 1)[0]
        return f"{{sysname={quote_bytes(sysname)}, nodename={quote_bytes(node)}, ...}}"

    return [f.out(ret, a[0], uts)]


def _d_readlink(f: F, a: Args, ret: R) -> list[str | None]:
    out = f.out(ret, a[1], lambda: f.buf(a[1], ret or 0))
    return [f.path(a[0]), out, str(_u64(a[2]))]


def _d_readlinkat(f: F, a: Args, ret: R) -> list[str | None]:
    return [_dirfd(a[0]), *_d_readlink(f, a[1:], ret)]


def _d_rt_sigaction(f: F, a: Args, ret: R) -> list[str | None]:
    old = f.out(ret, a[2], lambda: _sigaction(f, a[2]))
    return [_signame(a[0]), _sigaction(f, a[1]), old, str(_u64(a[3]))]


def _sigaction(f: F, addr: int) -> str:
    """The kernel's ``struct sigaction``: handler, mask, flags, restorer."""
    words = f.u64s(addr, 4)
    if words is None:
        return _ptr(addr)
    handler, flags, restorer, mask = words
    hname = {0: "SIG_DFL", 1: "SIG_IGN"}.get(handler, _hex(handler))
    text = f"{{sa_handler={hname}, sa_mask={_sigset(mask)}, "
    text += f"sa_flags={format_flags(flags & 0xFFFFFFFF, _SA_FLAGS)}"
    if flags & 0x04000000:
        text += f", sa_restorer={_hex(restorer)}"
    return text + "}"


def _sigset_at(f: F, addr: int) -> str:
    words = f.u64s(addr, 1)
    return _ptr(addr) if words is None else _sigset(words[0])


def _d_rt_sigprocmask(f: F, a: Args, ret: R) -> list[str | None]:
    old = f.out(ret, a[2], lambda: _sigset_at(f, a[2]))
    how = _xlat(_s32(a[0]), _SIGPROCMASK_HOW, "SIG_???")
    new = "NULL" if a[1] == 0 else _sigset_at(f, a[1])
    return [how, new, old, str(_u64(a[3]))]


def _d_clone(f: F, a: Args, ret: R) -> list[str | None]:
    flags = a[0] & 0xFFFFFFFF
    sig = flags & 0xFF
    text = format_flags(flags & ~0xFF, _CLONE_FLAGS, "")
    if sig:
        text = f"{text}|{_signame(sig)}" if text else _signame(sig)
    parts: list[str | None] = [f"child_stack={_ptr(a[1])}", f"flags={text or '0'}"]
    if flags & 0x100000:
        parts.append(f"parent_tid={_ptr(a[2])}")
    if flags & (0x1000000 | 0x200000):
        parts.append(f"child_tidptr={_hex(a[3])}")
    if flags & 0x80000:
        parts.append(f"tls={_hex(a[4])}")
    return parts


def _wait_status(status: int) -> str:
    """``[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`` for a wait status word."""
    sig = status & 0x7F
    if sig == 0:
        return f"[{{WIFEXITED(s) && WEXITSTATUS(s) == {(status >> 8) & 0xFF}}}]"
    if sig == 0x7F:
        return f"[{{WIFSTOPPED(s) && WSTOPSIG(s) == {_signame((status >> 8) & 0xFF)}}}]"
    if status == 0xFFFF:
        return "[{WIFCONTINUED(s)}]"
    core = " && WCOREDUMP(s)" if status & 0x80 else ""
    return f"[{{WIFSIGNALED(s) && WTERMSIG(s) == {_signame(sig)}{core}}}]"


def _d_wait4(f: F, a: Args, ret: R) -> list[str | None]:
    def status() -> str:
        if _s64(ret or 0) == 0:
            return _ptr(a[1])
        data = f.read(a[1], 4)
        return _ptr(a[1]) if data is None else _wait_status(struct.unpack("<I", data)[0])

    usage = None if ret is None else _ptr(a[3])
    options = format_flags(a[2] & 0xFFFFFFFF, _WAIT_OPTIONS)
    return [str(_s32(a[0])), f.out(ret, a[1], status), options, usage]


def _d_kill(f: F, a: Args, ret: R) -> list[str | None]:
    return [str(_s32(a[0])), _signame(a[1])]


def _d_getrandom(f: F, a: Args, ret: R) -> list[str | None]:
    out = f.out(ret, a[0], lambda: f.buf(a[0], ret or 0, force_hex=True))
    return [out, str(_u64(a[1])), format_flags(a[2] & 0xFFFFFFFF, _GRND)]


def _rlimit_value(v: int) -> str:
    """strace prints limits as ``RLIM64_INFINITY``, ``8192*1024`` or plain decimal."""
    if v == _RLIM_INFINITY:
        return "RLIM64_INFINITY"
    if v and v % 1024 == 0:
        return f"{v // 1024}*1024"
    return str(v)


def _rlimit(f: F, addr: int) -> str:
    words = f.u64s(addr, 2)
    if words is None:
        return _ptr(addr)
    return f"{{rlim_cur={_rlimit_value(words[0])}, rlim_max={_rlimit_value(words[1])}}}"


def _d_prlimit64(f: F, a: Args, ret: R) -> list[str | None]:
    new = "NULL" if a[2] == 0 else _rlimit(f, a[2])
    old = f.out(ret, a[3], lambda: _rlimit(f, a[3]))
    return [str(_s32(a[0])), _xlat(_s32(a[1]), _RLIMIT, "RLIMIT_???"), new, old]


def _d_getrlimit(f: F, a: Args, ret: R) -> list[str | None]:
    return [_xlat(_s32(a[0]), _RLIMIT, "RLIMIT_???"), f.out(ret, a[1], lambda: _rlimit(f, a[1]))]


def _d_fcntl(f: F, a: Args, ret: R) -> list[str | None]:
    cmd = _s32(a[1])
    parts: list[str | None] = [_fd(a[0]), _xlat(cmd, _FCNTL, "F_???")]
    if cmd in _FCNTL_NOARG:
        return parts
    if cmd == 2:
        parts.append(format_flags(a[2] & 0xFFFFFFFF, _FD_FLAGS))
    elif cmd == 4:
        parts.append(_open_flags(a[2]))
    elif cmd in _FCNTL_INT:
        parts.append(str(_s32(a[2])))
    else:
        parts.append(_hex(a[2]))
    return parts


def _d_pipe(f: F, a: Args, ret: R) -> list[str | None]:
    def fds() -> str:
        data = f.read(a[0], 8)
        return _ptr(a[0]) if data is None else "[{}, {}]".format(*struct.unpack("<2i", data))

    return [f.out(ret, a[0], fds)]


def _d_pipe2(f: F, a: Args, ret: R) -> list[str | None]:
    flags = format_flags(a[1] & 0xFFFFFFFF, _O_CLOEXEC_ONLY) if ret is not None else None
    return [*_d_pipe(f, a, ret), flags]


def _d_path(f: F, a: Args, ret: R) -> list[str | None]:
    return [f.path(a[0])]


def _d_getcwd(f: F, a: Args, ret: R) -> list[str | None]:
    return [f.out(ret, a[0], lambda: f.path(a[0])), str(_u64(a[1]))]


def _d_access(f: F, a: Args, ret: R) -> list[str | None]:
    return [f.path(a[0]), format_flags(a[1] & 0xFFFFFFFF, _ACCESS, "F_OK")]


def _d_faccessat(f: F, a: Args, ret: R) -> list[str | None]:
    return [_dirfd(a[0]), *_d_access(f, a[1:], ret)]


def _d_faccessat2(f: F, a: Args, ret: R) -> list[str | None]:
    return [*_d_faccessat(f, a, ret), format_flags(a[3] & 0xFFFFFFFF, _AT_FLAGS)]


def _d_nanosleep(f: F, a: Args, ret: R) -> list[str | None]:
    return [f.timespec(a[0]), f.out(ret, a[1], lambda: f.timespec(a[1]))]


def _d_clock_nanosleep(f: F, a: Args, ret: R) -> list[str | None]:
    clock = _xlat(_s32(a[0]), _CLOCKS, "CLOCK_???")
    flags = format_flags(a[1] & 0xFFFFFFFF, _TIMER_FLAGS)
    return [clock, flags, f.timespec(a[2]), f.out(ret, a[3], lambda: f.timespec(a[3]))]


def _d_clock_gettime(f: F, a: Args, ret: R) -> list[str | None]:
    clock = _xlat(_s32(a[0]), _CLOCKS, "CLOCK_???")
    return [clock, f.out(ret, a[1], lambda: f.timespec(a[1]))]


def _pollfds(f: F, addr: int, count: int, revents: bool) -> str:
    """``[{fd=0, events=POLLIN}]`` (or only the ready ones with their ``revents``)."""
    shown = min(count, MAX_STRLEN)
    data = f.read(addr, 8 * shown) if shown else b""
    if data is None:
        return _ptr(addr)
    items = []
    for i in range(shown):
        fd, events, rev = struct.unpack_from("<ihh", data, 8 * i)
        if revents:
            if rev:
                items.append(f"{{fd={fd}, revents={format_flags(rev & 0xFFFF, _POLL)}}}")
        else:
            items.append(f"{{fd={fd}, events={format_flags(events & 0xFFFF, _POLL)}}}")
    if count > shown and not revents:
        items.append("...")
    return "[" + ", ".join(items) + "]"


def _d_poll(f: F, a: Args, ret: R) -> list[str | None]:
    count = a[1] & 0xFFFFFFFF
    return [_pollfds(f, a[0], count, False) if a[0] else "NULL", str(count), str(_s32(a[2]))]


def _r_poll(f: F, a: Args, ret: int) -> str:
    if ret == 0:
        return "0 (Timeout)"
    return f"{ret} ({_pollfds(f, a[0], a[1] & 0xFFFFFFFF, True)})"


def _r_fcntl(f: F, a: Args, ret: int) -> str:
    cmd = _s32(a[1])
    if cmd == 1:
        return f"{_hex(ret)} (flags {format_flags(ret, _FD_FLAGS)})" if ret else "0"
    if cmd == 3:
        return f"{_hex(ret)} (flags {_open_flags(ret)})"
    return str(ret)


def _d_sysinfo(f: F, a: Args, ret: R) -> list[str | None]:
    def info() -> str:
        data = f.read(a[0], 112)
        if data is None:
            return _ptr(a[0])
        uptime, l1, l2, l3, tram, fram, sram, bram, tswap, fswap = struct.unpack_from("<q9Q", data, 0)
        procs = struct.unpack_from("<H", data, 80)[0]
        thigh, fhigh = struct.unpack_from("<2Q", data, 88)
        unit = struct.unpack_from("<I", data, 104)[0]
        return (
            f"{{uptime={uptime}, loads=[{l1}, {l2}, {l3}], totalram={tram}, "
            f"freeram={fram}, sharedram={sram}, bufferram={bram}, totalswap={tswap}, "
            f"freeswap={fswap}, procs={procs}, totalhigh={thigh}, freehigh={fhigh}, "
            f"mem_unit={unit}}}"
        )

    return [f.out(ret, a[0], info)]


def _d_rseq(f: F, a: Args, ret: R) -> list[str | None]:
    flags = format_flags(a[2] & 0xFFFFFFFF, _RSEQ_FLAGS)
    return [_ptr(a[0]), _hex(a[1] & 0xFFFFFFFF), flags, _hex(a[3] & 0xFFFFFFFF)]


def _d_set_robust_list(f: F, a: Args, ret: R) -> list[str | None]:
    return [_ptr(a[0]), str(_u64(a[1]))]


def _d_prctl(f: F, a: Args, ret: R) -> list[str | None]:
    option = _s32(a[0])
    name = _xlat(option, _PRCTL, "PR_???")
    if option in _PRCTL_NOARG:
        return [name]
    if option == 15:
        return [name, f.cstr(a[1], 16)]
    if option == 16:
        return [name, f.out(ret, a[1], lambda: f.cstr(a[1], 16))]
    if option == 1:
        return [name, _signame(a[1])]
    if option in _PRCTL_INT:
        return [name, str(_u64(a[1]))]
    if option == 38:
        return [name, *(str(_u64(x)) for x in a[1:5])]
    return [name, *(_hex(x) for x in a[1:5])]


def _d_none(f: F, a: Args, ret: R) -> list[str | None]:
    return []


def _d_fd_int(f: F, a: Args, ret: R) -> list[str | None]:
    return [_fd(a[0]), str(_s64(a[1]))]


_DECODERS: dict[int, Decoder] = {
    sysno.SYS_READ: _d_read,
    sysno.SYS_WRITE: _d_write,
    sysno.SYS_PREAD64: _d_pread,
    sysno.SYS_PWRITE64: _d_pwrite,
    sysno.SYS_READV: _d_readv,
    sysno.SYS_WRITEV: _d_writev,
    sysno.SYS_OPEN: _d_open,
    sysno.SYS_OPENAT: _d_openat,
    sysno.SYS_CLOSE: _d_fd,
    sysno.SYS_DUP: _d_fd,
    sysno.SYS_DUP2: _d_fd_fd,
    sysno.SYS_DUP3: _d_dup3,
    sysno.SYS_FSYNC: _d_fd,
    sysno.SYS_FDATASYNC: _d_fd,
    sysno.SYS_FCHDIR: _d_fd,
    sysno.SYS_FTRUNCATE: _d_fd_int,
    sysno.SYS_LSEEK: _d_lseek,
    sysno.SYS_STAT: _d_stat,
    sysno.SYS_LSTAT: _d_stat,
    sysno.SYS_FSTAT: _d_fstat,
    sysno.SYS_NEWFSTATAT: _d_newfstatat,
    sysno.SYS_STATX: _d_statx,
    sysno.SYS_GETDENTS64: _d_getdents,
    sysno.SYS_GETDENTS: _d_getdents,
    sysno.SYS_MMAP: _d_mmap,
    sysno.SYS_MPROTECT: _d_mprotect,
    sysno.SYS_MUNMAP: _d_munmap,
    sysno.SYS_BRK: _d_brk,
    sysno.SYS_IOCTL: _d_ioctl,
    sysno.SYS_ARCH_PRCTL: _d_arch_prctl,
    sysno.SYS_SET_TID_ADDRESS: _d_ptr,
    sysno.SYS_EXIT: _d_exit,
    sysno.SYS_EXIT_GROUP: _d_exit,
    sysno.SYS_EXECVE: _d_execve,
    sysno.SYS_EXECVEAT: _d_execveat,
    sysno.SYS_UNAME: _d_uname,
    sysno.SYS_READLINK: _d_readlink,
    sysno.SYS_READLINKAT: _d_readlinkat,
    sysno.SYS_RT_SIGACTION: _d_rt_sigaction,
    sysno.SYS_RT_SIGPROCMASK: _d_rt_sigprocmask,
    sysno.SYS_CLONE: _d_clone,
    sysno.SYS_WAIT4: _d_wait4,
    sysno.SYS_KILL: _d_kill,
    sysno.SYS_GETRANDOM: _d_getrandom,
    sysno.SYS_PRLIMIT64: _d_prlimit64,
    sysno.SYS_GETRLIMIT: _d_getrlimit,
    sysno.SYS_FCNTL: _d_fcntl,
    sysno.SYS_PIPE: _d_pipe,
    sysno.SYS_PIPE2: _d_pipe2,
    sysno.SYS_CHDIR: _d_path,
    sysno.SYS_RMDIR: _d_path,
    sysno.SYS_UNLINK: _d_path,
    sysno.SYS_CHROOT: _d_path,
    sysno.SYS_GETCWD: _d_getcwd,
    sysno.SYS_ACCESS: _d_access,
    sysno.SYS_FACCESSAT: _d_faccessat,
    sysno.SYS_FACCESSAT2: _d_faccessat2,
    sysno.SYS_NANOSLEEP: _d_nanosleep,
    sysno.SYS_CLOCK_NANOSLEEP: _d_clock_nanosleep,
    sysno.SYS_CLOCK_GETTIME: _d_clock_gettime,
    sysno.SYS_CLOCK_GETRES: _d_clock_gettime,
    sysno.SYS_POLL: _d_poll,
    sysno.SYS_SYSINFO: _d_sysinfo,
    sysno.SYS_RSEQ: _d_rseq,
    sysno.SYS_SET_ROBUST_LIST: _d_set_robust_list,
    sysno.SYS_PRCTL: _d_prctl,
    sysno.SYS_TKILL: _d_kill,
}
# Calls that take no arguments print ``getpid()``, not ``getpid(...)``.
for _nr, _count in sysno.SYSCALL_NARGS.items():
    if _count == 0:
        _DECODERS.setdefault(_nr, _d_none)

_RET_DECODERS: dict[int, RetFormatter] = {
    sysno.SYS_POLL: _r_poll,
    sysno.SYS_FCNTL: _r_fcntl,
}
