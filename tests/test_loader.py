"""Tests for the ELF loader and the initial-stack builder.

Real binaries from the host (Debian's busybox-static, programs built here with
``gcc -static`` and ``gcc -static-pie``) are parsed and compared with an independent
reading by pyelftools and ``readelf``; hand-corrupted files must all fail with
ENOEXEC; the initial stack is decoded back and checked against the ABI.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from asterinas_lab.kernel.error import E2BIG, ENOEXEC, LinuxError
from asterinas_lab.kernel.loader.elf import (
    ELF_ET_DYN_BASE,
    PAGE_SIZE,
    ElfImage,
    Prot,
    parse_elf,
)
from asterinas_lab.kernel.loader.init_stack import (
    AT_BASE,
    AT_CLKTCK,
    AT_EGID,
    AT_ENTRY,
    AT_EUID,
    AT_EXECFN,
    AT_FLAGS,
    AT_GID,
    AT_HWCAP,
    AT_HWCAP2,
    AT_NULL,
    AT_PAGESZ,
    AT_PHDR,
    AT_PHENT,
    AT_PHNUM,
    AT_PLATFORM,
    AT_RANDOM,
    AT_SECURE,
    AT_UID,
    DEFAULT_HWCAP,
    MAX_ARG_STRLEN,
    AuxvParams,
    InitialStack,
    build_initial_stack,
)

BUSYBOX = Path("/usr/bin/busybox")
HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'

# ---------------------------------------------------------------------------
# Fixtures: binaries to parse
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busybox() -> bytes:
    if not BUSYBOX.exists():
        pytest.skip("busybox-static is not installed")
    return BUSYBOX.read_bytes()


def _compile(tmp: Path, flag: str) -> bytes:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    src = tmp / "hello.c"
    src.write_text(HELLO_C)
    out = tmp / f"hello{flag}"
    result = subprocess.run(
        [gcc, flag, "-O1", "-o", str(out), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"gcc {flag} failed: {result.stderr.strip()}")
    return out.read_bytes()


@pytest.fixture(scope="module")
def hello_static(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _compile(tmp_path_factory.mktemp("static"), "-static")


@pytest.fixture(scope="module")
def hello_static_pie(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _compile(tmp_path_factory.mktemp("static_pie"), "-static-pie")


# ---------------------------------------------------------------------------
# Parsing real programs
# ---------------------------------------------------------------------------


def _check_against_pyelftools(data: bytes, image: ElfImage, bias: int) -> None:
    """Compare the plan with an independent reading of the same file."""
    elf = ELFFile(io.BytesIO(data))
    assert image.load_bias == bias
    assert image.entry == elf.header["e_entry"] + bias
    assert image.phent == 56
    assert image.phnum == elf.header["e_phnum"]

    loads = [s.header for s in elf.iter_segments() if s.header["p_type"] == "PT_LOAD"]
    assert len(image.segments) == len(loads)
    for seg, ph in zip(image.segments, loads, strict=True):
        p_vaddr = ph["p_vaddr"] + bias
        assert seg.vaddr % PAGE_SIZE == 0 and seg.memsz % PAGE_SIZE == 0
        assert seg.vaddr == p_vaddr & ~(PAGE_SIZE - 1)
        assert seg.end >= p_vaddr + ph["p_memsz"]
        assert seg.end - (p_vaddr + ph["p_memsz"]) < PAGE_SIZE
        # The segment's own bytes sit at their p_vaddr inside the mapping ...
        in_page = p_vaddr - seg.vaddr
        start = seg.copy_offset
        copied = seg.file_bytes[in_page - start : in_page - start + ph["p_filesz"]]
        assert copied == data[ph["p_offset"] : ph["p_offset"] + ph["p_filesz"]]
        # ... and everything after p_filesz is left to zero-fill.
        assert seg.zero_fill_start == p_vaddr + ph["p_filesz"]
        flags = ph["p_flags"]
        assert bool(seg.prot & Prot.READ) == bool(flags & 4)
        assert bool(seg.prot & Prot.WRITE) == bool(flags & 2)
        assert bool(seg.prot & Prot.EXEC) == bool(flags & 1)

    highest = max(ph["p_vaddr"] + ph["p_memsz"] for ph in loads) + bias
    assert image.brk_start == (highest + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)

    # AT_PHDR must point at bytes in memory that *are* the program headers.
    phoff, size = elf.header["e_phoff"], image.phnum * 56
    assert _read_mapped(image, image.phdr_vaddr, size) == data[phoff : phoff + size]

    tls = [s.header for s in elf.iter_segments() if s.header["p_type"] == "PT_TLS"]
    if tls:
        assert image.tls is not None
        assert image.tls.vaddr == tls[0]["p_vaddr"] + bias
        assert image.tls.memsz == tls[0]["p_memsz"]
    assert image.stack_executable is False


def _read_mapped(image: ElfImage, addr: int, size: int) -> bytes:
    """Read what memory would contain after the segments are mapped."""
    for seg in image.segments:
        if seg.vaddr <= addr and addr + size <= seg.end:
            memory = bytearray(seg.memsz)
            blob = seg.file_bytes
            memory[seg.copy_offset : seg.copy_offset + len(blob)] = blob
            return bytes(memory[addr - seg.vaddr : addr - seg.vaddr + size])
    raise AssertionError(f"{addr:#x} is not mapped")


def _readelf(data: bytes, tmp_path: Path) -> tuple[int, list[tuple[int, int, str]]]:
    """Entry point and (vaddr, memsz, flags) of PT_LOADs according to readelf."""
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf is not installed")
    path = tmp_path / "prog"
    path.write_bytes(data)
    text = subprocess.run(
        [readelf, "-lhW", str(path)], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"Entry point address:\s+(0x[0-9a-f]+)", text)
    assert match is not None
    loads = []
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "LOAD":
            flags = "".join(fields[6:-1])
            loads.append((int(fields[2], 16), int(fields[5], 16), flags))
    return int(match.group(1), 16), loads


def _check_against_readelf(
    data: bytes, image: ElfImage, bias: int, tmp_path: Path
) -> None:
    entry, loads = _readelf(data, tmp_path)
    assert image.entry == entry + bias
    for seg, (vaddr, memsz, flags) in zip(image.segments, loads, strict=True):
        assert seg.p_vaddr == vaddr + bias
        assert seg.p_memsz == memsz
        assert ("E" in flags) == bool(seg.prot & Prot.EXEC)
        assert ("W" in flags) == bool(seg.prot & Prot.WRITE)


def test_busybox(busybox: bytes, tmp_path: Path) -> None:
    image = parse_elf(busybox)
    assert not image.is_pie
    _check_against_pyelftools(busybox, image, bias=0)
    _check_against_readelf(busybox, image, 0, tmp_path)


def test_gcc_static(hello_static: bytes, tmp_path: Path) -> None:
    image = parse_elf(hello_static)
    assert not image.is_pie
    _check_against_pyelftools(hello_static, image, bias=0)
    _check_against_readelf(hello_static, image, 0, tmp_path)


def test_gcc_static_pie(hello_static_pie: bytes, tmp_path: Path) -> None:
    image = parse_elf(hello_static_pie)
    assert image.is_pie
    assert image.segments[0].vaddr == ELF_ET_DYN_BASE
    _check_against_pyelftools(hello_static_pie, image, bias=ELF_ET_DYN_BASE)
    _check_against_readelf(hello_static_pie, image, ELF_ET_DYN_BASE, tmp_path)


def test_static_pie_custom_base(hello_static_pie: bytes) -> None:
    image = parse_elf(hello_static_pie, dyn_base=0x7000_0000_0000)
    assert image.load_bias == 0x7000_0000_0000
    _check_against_pyelftools(hello_static_pie, image, bias=0x7000_0000_0000)


def test_et_exec_ignores_dyn_base(busybox: bytes) -> None:
    assert parse_elf(busybox, dyn_base=0x7000_0000_0000).load_bias == 0


# ---------------------------------------------------------------------------
# Rejections: everything must be ENOEXEC, never a pyelftools exception
# ---------------------------------------------------------------------------


def _expect_enoexec(data: bytes, reason: str) -> None:
    with pytest.raises(LinuxError) as info:
        parse_elf(data)
    assert info.value.errno == ENOEXEC
    assert reason in str(info.value), str(info.value)


def _patch(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


def _phdr_offset(data: bytes, index: int) -> int:
    (e_phoff,) = struct.unpack_from("<Q", data, 32)
    return e_phoff + index * 56


def _load_indices(data: bytes) -> list[int]:
    (phnum,) = struct.unpack_from("<H", data, 56)
    return [
        i
        for i in range(phnum)
        if struct.unpack_from("<I", data, _phdr_offset(data, i))[0] == 1
    ]


def test_rejects_script() -> None:
    _expect_enoexec(b"#!/bin/sh\necho hi\n", "script")


def test_rejects_text_and_empty() -> None:
    _expect_enoexec(b"hello world\n", "not an ELF")
    _expect_enoexec(b"", "not an ELF")
    _expect_enoexec(b"\x7fEL", "not an ELF")


def test_rejects_truncated(busybox: bytes) -> None:
    _expect_enoexec(busybox[:40], "truncated")
    _expect_enoexec(busybox[:100], "past the end")
    _expect_enoexec(busybox[:4096], "outside the file")


def test_rejects_32_bit(busybox: bytes) -> None:
    _expect_enoexec(_patch(busybox, 4, "<B", 1), "64-bit")


def test_rejects_big_endian(busybox: bytes) -> None:
    _expect_enoexec(_patch(busybox, 5, "<B", 2), "little-endian")


def test_rejects_wrong_machine(busybox: bytes) -> None:
    _expect_enoexec(_patch(busybox, 18, "<H", 183), "machine")  # EM_AARCH64


def test_rejects_relocatable(busybox: bytes) -> None:
    _expect_enoexec(_patch(busybox, 16, "<H", 1), "not an executable")  # ET_REL


def test_rejects_dynamic_program() -> None:
    ls = Path("/bin/ls")
    data = ls.read_bytes() if ls.exists() else b""
    if not data.startswith(b"\x7fELF") or b"ld-linux" not in data:
        pytest.skip("/bin/ls is not a dynamically linked ELF here")
    _expect_enoexec(data, "dynamically linked")


def test_rejects_no_pt_load(busybox: bytes) -> None:
    data = busybox
    for i in _load_indices(busybox):
        data = _patch(data, _phdr_offset(data, i), "<I", 0)  # PT_NULL
    _expect_enoexec(data, "no PT_LOAD")


def test_rejects_filesz_greater_than_memsz(busybox: bytes) -> None:
    ph = _phdr_offset(busybox, _load_indices(busybox)[0])
    (filesz,) = struct.unpack_from("<Q", busybox, ph + 32)
    _expect_enoexec(_patch(busybox, ph + 40, "<Q", filesz - 1), "p_filesz")


def test_rejects_segment_outside_file(busybox: bytes) -> None:
    ph = _phdr_offset(busybox, _load_indices(busybox)[-1])
    _expect_enoexec(_patch(busybox, ph + 8, "<Q", len(busybox)), "outside the file")


def test_rejects_kernel_address(busybox: bytes) -> None:
    ph = _phdr_offset(busybox, _load_indices(busybox)[-1])
    (vaddr,) = struct.unpack_from("<Q", busybox, ph + 16)
    kernel = 0xFFFF_8000_0000_0000 | (vaddr & 0xFFF)
    _expect_enoexec(_patch(busybox, ph + 16, "<Q", kernel), "user space")
    non_canonical = 0x0000_8000_0000_0000 | (vaddr & 0xFFF)
    _expect_enoexec(_patch(busybox, ph + 16, "<Q", non_canonical), "user space")


def test_rejects_null_page(busybox: bytes) -> None:
    ph = _phdr_offset(busybox, _load_indices(busybox)[0])
    data = _patch(busybox, ph + 16, "<Q", 0)
    _expect_enoexec(data, "mmap_min_addr")


def test_rejects_overlap(busybox: bytes) -> None:
    loads = _load_indices(busybox)
    first = _phdr_offset(busybox, loads[0])
    second = _phdr_offset(busybox, loads[1])
    (vaddr,) = struct.unpack_from("<Q", busybox, first + 16)
    (offset,) = struct.unpack_from("<Q", busybox, second + 8)
    _expect_enoexec(
        _patch(busybox, second + 16, "<Q", vaddr + (offset & 0xFFF)), "overlap"
    )


def test_rejects_incongruent_offset(busybox: bytes) -> None:
    ph = _phdr_offset(busybox, _load_indices(busybox)[1])
    (offset,) = struct.unpack_from("<Q", busybox, ph + 8)
    _expect_enoexec(_patch(busybox, ph + 8, "<Q", offset + 8), "modulo the page")


def test_rejects_entry_outside_segments(busybox: bytes) -> None:
    _expect_enoexec(_patch(busybox, 24, "<Q", 0x10), "entry point")


def test_rejects_bad_phentsize(busybox: bytes) -> None:
    _expect_enoexec(_patch(busybox, 54, "<H", 32), "program header size")


def test_section_headers_are_ignored(busybox: bytes) -> None:
    """Like Linux, exec looks only at program headers; sections are for linkers."""
    data = _patch(busybox, 40, "<Q", 0xFF_FFFF_FFFF)  # e_shoff far past the end
    data = _patch(data, 58, "<HHH", 7, 0xFFFF, 999)  # nonsense sizes and index
    assert parse_elf(data).entry == parse_elf(busybox).entry


def test_random_corruption_is_always_enoexec(hello_static: bytes) -> None:
    """Fuzz the headers: the parser may accept or reject, but never crash."""
    rng = random.Random(1234)
    header_area = 64 + 56 * struct.unpack_from("<H", hello_static, 56)[0]
    for _ in range(400):
        data = bytearray(hello_static)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(header_area)] = rng.randrange(256)
        try:
            parse_elf(bytes(data))
        except LinuxError as exc:
            assert exc.errno == ENOEXEC


# ---------------------------------------------------------------------------
# Initial stack
# ---------------------------------------------------------------------------

STACK_TOP = 0x7FFF_FFFF_F000
RANDOM = bytes(range(0xA0, 0xB0))
AUXV = AuxvParams(phdr=0x400040, phent=56, phnum=10, entry=0x401000, uid=1000)


class DecodedStack:
    """The initial stack read back the way libc's ``_start`` reads it."""

    def __init__(self, stack: InitialStack, stack_top: int) -> None:
        assert stack.base == stack.sp
        assert stack.base + len(stack.data) == stack_top
        self.stack = stack
        self.argc = self.word(stack.sp)
        addr = stack.sp + 8
        self.argv = []
        for _ in range(self.argc):
            self.argv.append(self.cstring(self.word(addr)))
            addr += 8
        assert self.word(addr) == 0
        addr += 8
        self.envp = []
        while (pointer := self.word(addr)) != 0:
            self.envp.append(self.cstring(pointer))
            addr += 8
        addr += 8
        self.auxv_list: list[tuple[int, int]] = []
        while True:
            key, value = self.word(addr), self.word(addr + 8)
            addr += 16
            if key == AT_NULL:
                break
            self.auxv_list.append((key, value))
        self.auxv = dict(self.auxv_list)

    def read(self, addr: int, size: int) -> bytes:
        offset = addr - self.stack.base
        assert 0 <= offset and offset + size <= len(self.stack.data)
        return self.stack.data[offset : offset + size]

    def word(self, addr: int) -> int:
        return int(struct.unpack("<Q", self.read(addr, 8))[0])

    def cstring(self, addr: int) -> bytes:
        offset = addr - self.stack.base
        end = self.stack.data.index(b"\0", offset)
        return self.stack.data[offset:end]


def _build(argv: list[bytes], envp: list[bytes], **kwargs: object) -> InitialStack:
    return build_initial_stack(
        STACK_TOP, argv, envp, AUXV, RANDOM, execfn=b"/bin/prog", **kwargs
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("argc", [1, 2, 3, 4])
@pytest.mark.parametrize("envc", [0, 1, 2])
def test_stack_layout(argc: int, envc: int) -> None:
    argv = [b"prog", *[b"arg%d" % i for i in range(1, argc)]]
    envp = [b"VAR%d=value" % i for i in range(envc)]
    stack = _build(argv, envp)
    assert stack.sp % 16 == 0
    decoded = DecodedStack(stack, STACK_TOP)
    assert decoded.argc == argc
    assert decoded.argv == argv
    assert decoded.envp == envp
    assert decoded.auxv_list == list(stack.auxv)

    auxv = decoded.auxv
    assert auxv[AT_PHDR] == 0x400040
    assert auxv[AT_PHENT] == 56
    assert auxv[AT_PHNUM] == 10
    assert auxv[AT_ENTRY] == 0x401000
    assert auxv[AT_PAGESZ] == 4096
    assert auxv[AT_CLKTCK] == 100
    assert auxv[AT_HWCAP] == DEFAULT_HWCAP
    assert auxv[AT_HWCAP2] == 0
    assert auxv[AT_BASE] == 0 and auxv[AT_FLAGS] == 0 and auxv[AT_SECURE] == 0
    assert auxv[AT_UID] == 1000 and auxv[AT_EUID] == 0
    assert auxv[AT_GID] == 0 and auxv[AT_EGID] == 0
    assert decoded.read(auxv[AT_RANDOM], 16) == RANDOM
    assert decoded.cstring(auxv[AT_EXECFN]) == b"/bin/prog"
    assert decoded.cstring(auxv[AT_PLATFORM]) == b"x86_64"
    # Linux's order: the execfn string is the highest, right under 8 zero bytes.
    assert auxv[AT_EXECFN] + len(b"/bin/prog") + 1 == STACK_TOP - 8
    assert stack.data[-8:] == bytes(8)
    # Strings lie above the pointer arrays, argv below envp, in order.
    addrs = [*stack.argv_addrs, *stack.envp_addrs]
    assert addrs == sorted(addrs)
    assert auxv[AT_RANDOM] > stack.sp
    assert auxv[AT_PLATFORM] == auxv[AT_RANDOM] + 16
    assert auxv[AT_PLATFORM] + 7 <= min(addrs)


def test_stack_auxv_order() -> None:
    keys = [key for key, _ in _build([b"a"], []).auxv]
    assert keys[:3] == [AT_HWCAP, AT_PAGESZ, AT_CLKTCK]
    assert keys[-3:] == [AT_HWCAP2, AT_EXECFN, AT_PLATFORM]


def test_stack_from_image(busybox: bytes) -> None:
    image = parse_elf(busybox)
    stack = build_initial_stack(
        STACK_TOP,
        [b"busybox", b"echo", b"hi"],
        [b"PATH=/bin"],
        AuxvParams.from_image(image),
        RANDOM,
        execfn=b"/bin/busybox",
    )
    auxv = DecodedStack(stack, STACK_TOP).auxv
    assert auxv[AT_PHDR] == image.phdr_vaddr
    assert auxv[AT_ENTRY] == image.entry
    assert auxv[AT_PHNUM] == image.phnum


def test_empty_argv_becomes_empty_string() -> None:
    decoded = DecodedStack(_build([], [b"A=1"]), STACK_TOP)
    assert decoded.argc == 1
    assert decoded.argv == [b""]
    assert decoded.envp == [b"A=1"]


def test_stack_rejects_caller_mistakes() -> None:
    with pytest.raises(ValueError):
        build_initial_stack(STACK_TOP, [b"a"], [], AUXV, b"short", execfn=b"a")
    with pytest.raises(ValueError):
        build_initial_stack(STACK_TOP - 8, [b"a"], [], AUXV, RANDOM, execfn=b"a")
    with pytest.raises(ValueError):
        build_initial_stack(STACK_TOP, [b"a\0b"], [], AUXV, RANDOM, execfn=b"a")


def test_e2big_single_string() -> None:
    _build([b"x" * (MAX_ARG_STRLEN - 1)], [])  # exactly the limit with its NUL
    with pytest.raises(LinuxError) as info:
        _build([b"prog"], [b"X=" + b"y" * MAX_ARG_STRLEN])
    assert info.value.errno == E2BIG


def test_e2big_total() -> None:
    # 8 MiB rlimit -> 2 MiB of argument space; 20 strings of 120 KiB exceed it.
    big = [b"z" * (120 * 1024)] * 20
    with pytest.raises(LinuxError) as info:
        _build([b"prog"], big)
    assert info.value.errno == E2BIG
    # With a larger stack rlimit the same arguments fit.
    stack = _build([b"prog"], big, stack_rlimit=64 * 1024 * 1024)
    assert DecodedStack(stack, STACK_TOP).envp == big


def test_e2big_floor_is_arg_max() -> None:
    # A tiny rlimit still allows ARG_MAX (128 KiB) of arguments, as on Linux.
    _build([b"prog"], [b"v" * 100_000], stack_rlimit=4096)
    with pytest.raises(LinuxError):
        _build([b"prog"], [b"v" * 100_000] * 2, stack_rlimit=4096)
