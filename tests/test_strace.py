"""Tests for the strace-style syscall formatter and the syscall number table.

The reference is real strace on the host: the same static busybox runs under
``strace -e raw=all`` (which shows the raw registers) and under plain strace (which
shows the decoded line). Feeding the raw registers and the bytes we know were in
memory to :class:`SyscallFormatter` must reproduce the decoded line exactly.
"""

from __future__ import annotations

import errno
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from asterinas_lab.kernel.syscall import numbers
from asterinas_lab.kernel.syscall.strace import (
    SyscallFormatter,
    align_line,
    format_errno,
    format_flags,
    quote_bytes,
)

UNISTD_H = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
BUSYBOX = shutil.which("busybox")
STRACE = shutil.which("strace")


class FakeMemory:
    """Guest memory made of a few regions; anything else is a bad address."""

    def __init__(self) -> None:
        self.regions: dict[int, bytes] = {}

    def put(self, addr: int, data: bytes) -> int:
        self.regions[addr] = data
        return addr

    def read(self, addr: int, size: int) -> bytes | None:
        for base, data in self.regions.items():
            if base <= addr and addr + size <= base + len(data):
                return data[addr - base : addr - base + size]
        return None

    def read_cstring(self, addr: int, max_len: int) -> bytes | None:
        for base, data in self.regions.items():
            if base <= addr < base + len(data):
                return data[addr - base :].split(b"\0", 1)[0][:max_len]
        return None


@pytest.fixture()
def mem() -> FakeMemory:
    return FakeMemory()


@pytest.fixture()
def fmt(mem: FakeMemory) -> SyscallFormatter:
    return SyscallFormatter(mem.read, mem.read_cstring)


def args6(*values: int) -> tuple[int, int, int, int, int, int]:
    padded = (*values, 0, 0, 0, 0, 0, 0)[:6]
    return (padded[0], padded[1], padded[2], padded[3], padded[4], padded[5])


# ------------------------------------------------------------------ number table


def test_numbers_basic() -> None:
    assert numbers.SYS_READ == 0
    assert numbers.SYS_EXIT_GROUP == 231
    assert numbers.SYS_RSEQ == 334
    assert numbers.SYS_CLONE3 == 435
    assert numbers.SYS_FUTEX_WAITV == 449
    assert numbers.SYSCALL_NAMES[59] == "execve"
    assert set(numbers.SYSCALL_NAMES) == set(numbers.SYSCALL_NARGS)
    assert numbers.SYSCALL_NARGS[numbers.SYS_MMAP] == 6
    assert numbers.SYSCALL_NUMBERS["openat"] == 257


@pytest.mark.skipif(not UNISTD_H.exists(), reason="linux-libc-dev headers not installed")
def test_numbers_match_host_header() -> None:
    header = {
        m.group(1): int(m.group(2)) for m in re.finditer(r"#define __NR_(\w+)\s+(\d+)", UNISTD_H.read_text())
    }
    assert len(header) > 300
    for name, number in header.items():
        assert numbers.SYSCALL_NAMES[number] == name
        assert getattr(numbers, f"SYS_{name.upper()}") == number


# ----------------------------------------------------------------- string quoting


def test_quote_escapes() -> None:
    data = b'a\tb"c\\d\0e\377f\0013\033g\r\v\f\0'
    assert quote_bytes(data) == r'"a\tb\"c\\d\0e\377f\0013\33g\r\v\f\0"'


def test_quote_force_hex() -> None:
    assert quote_bytes(b"\x04\x5d", force_hex=True) == r'"\x04\x5d"'


def test_write_truncates_after_32(fmt: SyscallFormatter, mem: FakeMemory) -> None:
    text = b"0123456789" * 4
    buf = mem.put(0x1000, text)
    line = fmt.format_exit(1, args6(1, buf, 40), 40)
    assert line == 'write(1, "01234567890123456789012345678901"..., 40) = 40'
    assert fmt.format_exit(1, args6(1, buf, 32), 32).count("...") == 0


def test_entry_stops_before_output_args(fmt: SyscallFormatter, mem: FakeMemory) -> None:
    buf = mem.put(0x2000, b"hi\n" + bytes(61))
    assert fmt.format_entry(1, args6(1, buf, 3)) == 'write(1, "hi\\n", 3'
    assert fmt.format_entry(0, args6(3, buf, 64)) == "read(3, "
    assert fmt.format_exit(0, args6(3, buf, 64), 3) == 'read(3, "hi\\n", 64) = 3'
    assert fmt.format_entry(39, args6()) == "getpid("


# --------------------------------------------------------------- flags, errors


def test_openat_flags_and_mode(fmt: SyscallFormatter, mem: FakeMemory) -> None:
    path = mem.put(0x3000, b"/etc/passwd\0")
    flags = 0o2000000 | 0o100 | 0o1000 | 1
    line = fmt.format_exit(257, args6(0xFFFFFF9C, path, flags, 0o644), 3)
    assert line == 'openat(AT_FDCWD, "/etc/passwd", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 3'
    line = fmt.format_exit(257, args6(-100 & 0xFFFFFFFFFFFFFFFF, path, 0o2000000, 0), 3)
    assert line == 'openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3'


def test_errno_return(fmt: SyscallFormatter) -> None:
    line = fmt.format_exit(16, args6(1, 0x5401, 0x7FFD0000), -errno.ENOTTY)
    assert line == "ioctl(1, TCGETS, 0x7ffd0000) = -1 ENOTTY (Inappropriate ioctl for device)"
    unsigned = (-errno.ENOENT) & 0xFFFFFFFFFFFFFFFF
    assert fmt.format_exit(3, args6(9), unsigned) == "close(9) = -1 ENOENT (No such file or directory)"
    assert format_errno(errno.EBADF) == "-1 EBADF (Bad file descriptor)"


def test_mmap_brk_and_exit(fmt: SyscallFormatter) -> None:
    line = fmt.format_exit(9, args6(0, 8192, 3, 0x22, 0xFFFFFFFF, 0), 0x7F0000001000)
    assert line == "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000"
    assert fmt.format_exit(12, args6(0), 0x4D2000) == "brk(NULL) = 0x4d2000"
    assert fmt.format_exit(231, args6(0), 0) == "exit_group(0) = ?"
    assert fmt.format_exit(158, args6(0x1002, 0x4C0380), 0) == "arch_prctl(ARCH_SET_FS, 0x4c0380) = 0"
    assert fmt.format_exit(10, args6(0x1000, 4096, 0), 0) == "mprotect(0x1000, 4096, PROT_NONE) = 0"


def test_format_flags_unknown_bits() -> None:
    table = ((1, "A"), (4, "C"))
    assert format_flags(0, table, "NONE") == "NONE"
    assert format_flags(5, table) == "A|C"
    assert format_flags(0x13, table) == "A|0x12"


def test_lseek_unknown_whence(fmt: SyscallFormatter) -> None:
    assert fmt.format_exit(8, args6(0, 5, 2), 10) == "lseek(0, 5, SEEK_END) = 10"
    assert fmt.format_exit(8, args6(0, 5, 7), -22) == (
        "lseek(0, 5, 0x7 /* SEEK_??? */) = -1 EINVAL (Invalid argument)"
    )


def test_unknown_syscall_prints_hex(fmt: SyscallFormatter) -> None:
    line = fmt.format_exit(999, args6(1, 2, 3), -errno.ENOSYS)
    assert line == "syscall_0x3e7(0x1, 0x2, 0x3, 0, 0, 0) = -1 ENOSYS (Function not implemented)"
    # A known syscall without a decoder uses its real argument count.
    assert fmt.format_exit(numbers.SYS_SYNCFS, args6(3, 9, 9), 0) == "syncfs(0x3) = 0"


# ----------------------------------------------------------------- bad pointers


def test_bad_pointers_print_hex(fmt: SyscallFormatter) -> None:
    assert fmt.format_exit(1, args6(1, 0x8, 5), 5) == "write(1, 0x8, 5) = 5"
    assert fmt.format_exit(2, args6(0xDEAD0000, 0), -14) == (
        "open(0xdead0000, O_RDONLY) = -1 EFAULT (Bad address)"
    )
    assert fmt.format_exit(1, args6(1, 0, 5), -14).startswith("write(1, NULL, 5)")


def test_failed_call_leaves_output_pointer(fmt: SyscallFormatter, mem: FakeMemory) -> None:
    path = mem.put(0x5000, b"/nonexist\0")
    line = fmt.format_exit(262, args6(0xFFFFFF9C, path, 0x7FFC0000, 0x100), -2)
    assert line == (
        'newfstatat(AT_FDCWD, "/nonexist", 0x7ffc0000, AT_SYMLINK_NOFOLLOW)'
        " = -1 ENOENT (No such file or directory)"
    )


# ----------------------------------------------------------------- structures


def test_stat_and_iovec(fmt: SyscallFormatter, mem: FakeMemory) -> None:
    st = bytearray(144)
    struct.pack_into("<I", st, 24, 0o100644)
    struct.pack_into("<q", st, 48, 11)
    addr = mem.put(0x6000, bytes(st))
    assert fmt.format_exit(5, args6(3, addr), 0) == "fstat(3, {st_mode=S_IFREG|0644, st_size=11, ...}) = 0"
    hello = mem.put(0x7000, b"hello")
    world = mem.put(0x7100, b"world\n")
    vec = mem.put(0x7200, struct.pack("<4Q", hello, 5, world, 6))
    assert fmt.format_exit(20, args6(3, vec, 2), 11) == (
        'writev(3, [{iov_base="hello", iov_len=5}, {iov_base="world\\n", iov_len=6}], 2) = 11'
    )


def test_signals_and_execve(fmt: SyscallFormatter, mem: FakeMemory) -> None:
    mask = mem.put(0x8000, struct.pack("<Q", (1 << 1) | (1 << 16)))
    assert (
        fmt.format_exit(14, args6(0, mask, 0, 8), 0) == "rt_sigprocmask(SIG_BLOCK, [INT CHLD], NULL, 8) = 0"
    )
    prog = mem.put(0x9000, b"/bin/true\0")
    arg1 = mem.put(0x9100, b"a\nb\0")
    argv = mem.put(0x9200, struct.pack("<3Q", prog, arg1, 0))
    a = args6(prog, argv, 0)
    assert fmt.format_entry(59, a) == 'execve("/bin/true", ["/bin/true", "a\\nb"], NULL'
    mem.regions.clear()  # the old image is gone after a successful execve
    assert fmt.format_exit(59, a, 0) == 'execve("/bin/true", ["/bin/true", "a\\nb"], NULL) = 0'


def test_alignment() -> None:
    assert align_line("brk(NULL", "0x20c0000") == "brk(NULL)" + " " * 31 + "= 0x20c0000"
    long_call = 'openat(AT_FDCWD, "/etc/hostname", O_RDONLY'
    assert align_line(long_call, "3") == long_call + ") = 3"


# ------------------------------------------------------------- against real strace

_LINE = re.compile(r"^(\w+)\((.*)\)\s+= (.*)$")


def _run_strace(tmp_path: Path, extra: list[str], argv: list[str]) -> tuple[list[str], bytes]:
    out = tmp_path / f"trace{len(extra)}.txt"
    cmd = [STRACE or "strace", "-qq", "-o", str(out), *extra, "-e", "trace=openat,write,close,exit_group"]
    proc = subprocess.run([*cmd, *argv], capture_output=True, cwd=tmp_path, timeout=60, check=False)
    return out.read_text().splitlines(), proc.stderr


@pytest.mark.skipif(not (STRACE and BUSYBOX), reason="needs strace and busybox on the host")
def test_matches_real_strace(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("hi\n")
    argv = [BUSYBOX or "busybox", "cat", "/nonexistent_zz", "f.txt"]
    raw, stderr = _run_strace(tmp_path, ["-e", "raw=all"], argv)
    decoded, _ = _run_strace(tmp_path, [], argv)
    if not raw or raw[0].startswith("strace:"):
        pytest.skip("ptrace is not permitted here")
    assert len(raw) == len(decoded)
    mem = FakeMemory()
    fmt = SyscallFormatter(mem.read, mem.read_cstring)
    strings = iter([b"/nonexistent_zz\0", b"f.txt\0"])
    checked = 0
    for raw_line, want in zip(raw, decoded, strict=True):
        m = _LINE.match(raw_line)
        assert m, raw_line
        name, arg_text, ret_text = m.groups()
        args = [int(x, 16) for x in arg_text.split(", ")]
        if name == "openat":
            mem.put(args[1], next(strings))
        elif name == "write":
            mem.put(args[1], stderr[: args[2]])
        if ret_text == "?":
            ret = 0
        elif ret_text.startswith("-1 "):
            ret = -getattr(errno, ret_text.split()[1])
        else:
            ret = int(ret_text, 16)
        got = fmt.format_exit_aligned(numbers.SYSCALL_NUMBERS[name], tuple(args), ret)
        assert got == want
        checked += 1
    assert checked >= 4


def test_every_syscall_formats_without_errors(fmt: SyscallFormatter, mem: FakeMemory) -> None:
    """Every decoder copes with junk registers, bad pointers, errors and successes."""
    zeros = mem.put(0x10000, bytes(4096))
    for number in [*numbers.SYSCALL_NAMES, 999]:
        for a in (args6(), args6(*[zeros] * 6), args6(*[0xFFFFFFFFFFFFFFFF] * 6)):
            entry = fmt.format_entry(number, a)
            for ret in (0, 1, -errno.EINVAL, -512, 0x7F0000000000):
                line = fmt.format_exit(number, a, ret)
                assert line.startswith(entry.rstrip(", ")), (entry, line)
