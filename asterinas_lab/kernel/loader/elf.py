"""Parse a static x86-64 ELF executable into a *load plan*.

``execve`` has two halves.  The first half, here, only *reads* the file: it checks
that the program is something this kernel can run and works out which pages must
exist, with which contents and permissions.  The second half (someone else's job)
creates those mappings in the new address space.  Keeping the parser pure makes it
easy to test and impossible for a malicious binary to corrupt kernel state: the worst
a bad file can do here is make :func:`parse_elf` raise ``LinuxError(ENOEXEC)``.

The checks follow ``load_elf_binary()`` in Linux's ``fs/binfmt_elf.c``; where we are
stricter than Linux (for example, Linux would happily ``mmap`` a segment past the end
of the file and let the program die of ``SIGBUS`` later) the docstring says so.

Only *static* programs are supported: plain ``ET_EXEC`` executables (``gcc -static``,
musl, busybox-static) and static-PIE (``gcc -static-pie``: ``ET_DYN`` that relocates
itself and has no ``PT_INTERP``).  Anything asking for a dynamic linker is refused,
because loading ``ld-linux.so`` would need a second ELF load and a file system lookup.
"""

from __future__ import annotations

import enum
import io
import itertools
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from elftools.elf.elffile import ELFFile

from asterinas_lab.kernel.error import ENOEXEC, LinuxError

__all__ = [
    "ELF_ET_DYN_BASE",
    "MMAP_MIN_ADDR",
    "PAGE_SIZE",
    "TASK_SIZE",
    "ElfImage",
    "Prot",
    "Segment",
    "TlsInfo",
    "page_align_down",
    "page_align_up",
    "parse_elf",
]

PAGE_SIZE = 4096

#: Where Linux puts an ``ET_DYN`` main program when ASLR is off (x86-64's
#: ``ELF_ET_DYN_BASE`` = 2/3 of ``TASK_SIZE``, page-aligned).  This is the familiar
#: ``0x555555554000`` you see in gdb.  Note: real Linux only uses it for PIEs *with* an
#: interpreter; a static-PIE is placed wherever ``mmap`` chooses (near the top of the
#: address space).  We use the well-known base for both because it is deterministic
#: and keeps the program far away from the stack and the mmap area.
ELF_ET_DYN_BASE = 0x555555554000

#: First address past user space on x86-64 with 4-level paging (Linux's
#: ``TASK_SIZE_MAX``: 2**47 minus one guard page).  Everything above, up to the
#: non-canonical hole and the kernel half, is off limits to a program.
TASK_SIZE = (1 << 47) - PAGE_SIZE

#: Linux refuses to map anything below ``vm.mmap_min_addr`` (64 KiB by default) so
#: that a kernel NULL-pointer dereference can never hit user-controlled memory.
MMAP_MIN_ADDR = 0x10000

# ELF constants we need (values from the System V ABI / <elf.h>).
_ELF_MAGIC = b"\x7fELF"
_EHDR_SIZE = 64
_PHDR_SIZE = 56
_ELFCLASS64 = 2
_ELFDATA2LSB = 1
_EV_CURRENT = 1
_ET_EXEC = 2
_ET_DYN = 3
_EM_X86_64 = 62
_PF_X = 1
_PF_W = 2
_PF_R = 4
_PN_XNUM = 0xFFFF
# Linux refuses program-header tables larger than 64 KiB (elf_read_phdrs()).
_MAX_PHDR_TABLE = 65536


def _fail(reason: str) -> LinuxError:
    """Build the one error this module raises: exec format error plus a reason."""
    return LinuxError(ENOEXEC, f"exec format error: {reason}")


def page_align_down(addr: int) -> int:
    """Round ``addr`` down to a page boundary (Linux's ``ELF_PAGESTART``)."""
    return addr & ~(PAGE_SIZE - 1)


def page_align_up(addr: int) -> int:
    """Round ``addr`` up to a page boundary (Linux's ``ELF_PAGEALIGN``)."""
    return (addr + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


class Prot(enum.IntFlag):
    """Page permissions, numerically equal to ``PROT_READ|PROT_WRITE|PROT_EXEC``.

    ELF's ``p_flags`` use a *different* bit order (``PF_X=1, PF_W=2, PF_R=4``), so
    they must be translated; forgetting that is a classic loader bug that makes text
    writable and data executable.
    """

    NONE = 0
    READ = 1
    WRITE = 2
    EXEC = 4

    @classmethod
    def from_p_flags(cls, p_flags: int) -> Prot:
        """Translate ELF ``PF_*`` bits into ``PROT_*`` bits."""
        prot = cls.NONE
        if p_flags & _PF_R:
            prot |= cls.READ
        if p_flags & _PF_W:
            prot |= cls.WRITE
        if p_flags & _PF_X:
            prot |= cls.EXEC
        return prot


@dataclass(frozen=True)
class Segment:
    """One ``PT_LOAD`` segment turned into a page-granular mapping request.

    The MMU works in whole pages, but ELF segments start and end anywhere.  Linux
    handles this by mapping the *file* from the page-aligned offset below
    ``p_offset`` (that is why the ELF spec demands ``p_vaddr ≡ p_offset (mod
    page size)``) and zero-filling everything after ``p_filesz`` (the ``.bss``).
    We do the same, so a mapper only has to:

    1. create ``memsz`` bytes of zeroed memory at ``vaddr`` (both page-aligned),
    2. copy ``file_bytes`` to ``vaddr + copy_offset``,
    3. set the permissions to ``prot``.

    The bytes before ``p_vaddr`` inside the first page are real file contents
    (often the ELF header itself, which is how ``AT_PHDR`` can point into memory).
    """

    #: Page-aligned start of the mapping (load bias already applied).
    vaddr: int
    #: Page-aligned length of the mapping; everything not covered by
    #: ``file_bytes`` is zero (the tail of ``.data``'s last page and the ``.bss``).
    memsz: int
    #: File contents to copy, starting at the page-aligned file offset.
    file_bytes: bytes
    #: Offset from ``vaddr`` at which ``file_bytes`` go (0 in practice; kept explicit
    #: so the mapper never has to re-derive it).
    copy_offset: int
    #: Permissions of the whole mapping.
    prot: Prot
    #: Page-aligned file offset the bytes came from (for ``/proc/<pid>/maps``).
    file_offset: int
    #: The raw, biased ``p_vaddr``/``p_filesz``/``p_memsz`` for diagnostics.
    p_vaddr: int
    p_filesz: int
    p_memsz: int

    @property
    def end(self) -> int:
        """First address past the mapping (page-aligned)."""
        return self.vaddr + self.memsz

    @property
    def zero_fill_start(self) -> int:
        """First address that must read as zero (end of the copied file bytes)."""
        return self.vaddr + self.copy_offset + len(self.file_bytes)


@dataclass(frozen=True)
class TlsInfo:
    """The ``PT_TLS`` template (biased).

    libc reads it itself via ``AT_PHDR`` and sets up its thread pointer with
    ``arch_prctl``; the kernel only reports it for debugging.
    """

    vaddr: int
    filesz: int
    memsz: int
    align: int


@dataclass(frozen=True)
class ElfImage:
    """Everything ``execve`` needs to know about a parsed program."""

    #: Address of the first instruction (``e_entry`` + ``load_bias``).
    entry: int
    #: Amount added to every ``p_vaddr``: 0 for ``ET_EXEC``, chosen for ``ET_DYN``.
    load_bias: int
    #: Where the program-header table is visible in memory (``AT_PHDR``).  libc
    #: walks it at start-up to find ``PT_TLS``; 0 if no segment maps it (Linux
    #: behaves the same, and such programs usually do not need it).
    phdr_vaddr: int
    #: ``AT_PHENT`` (size of one program header, always 56 here).
    phent: int
    #: ``AT_PHNUM``.
    phnum: int
    #: The ``PT_LOAD`` segments in ascending address order.
    segments: list[Segment] = field(default_factory=list)
    #: Initial program break: page-aligned end of the highest segment
    #: (Linux's ``mm->start_brk`` without brk randomisation).
    brk_start: int = 0
    #: The ``PT_TLS`` template, if any.
    tls: TlsInfo | None = None
    #: ``PT_GNU_STACK`` has ``PF_X``.  Without ``PT_GNU_STACK`` a 64-bit x86
    #: program gets a non-executable stack on modern Linux, so that is False too.
    stack_executable: bool = False
    #: True for static-PIE (``ET_DYN``), False for ``ET_EXEC``.
    is_pie: bool = False


def parse_elf(data: bytes, *, dyn_base: int = ELF_ET_DYN_BASE) -> ElfImage:
    """Validate ``data`` as a static x86-64 executable and plan how to load it.

    ``dyn_base`` is where an ``ET_DYN`` (static-PIE) program's lowest segment goes;
    it is ignored for ``ET_EXEC``, whose addresses are fixed by the linker.

    Raises ``LinuxError(ENOEXEC)`` with a human-readable reason for anything that
    is not a well-formed static x86-64 executable.  No exception from pyelftools
    (which is written for trusted input) ever escapes: a kernel must treat every
    file as hostile.
    """
    _check_ident_and_header(data)
    try:
        return _plan(data, dyn_base)
    except LinuxError:
        raise
    except Exception as exc:
        # Hostile input: any parser failure whatsoever is an exec format error.
        raise _fail(f"malformed ELF file ({type(exc).__name__}: {exc})") from exc


def _check_ident_and_header(data: bytes) -> None:
    """Cheap checks on ``e_ident`` and the ELF header, done by hand.

    Doing them before pyelftools gives precise messages ("32-bit", "wrong
    machine") instead of a generic parse error, and rejects most non-ELF files
    (scripts, text, empty files) without building any parser state.
    """
    if len(data) < 4 or data[:4] != _ELF_MAGIC:
        if data.startswith(b"#!"):
            raise _fail(
                "not an ELF file (a #! script: the caller must run its interpreter)"
            )
        raise _fail("not an ELF file (bad magic)")
    if len(data) < _EHDR_SIZE:
        raise _fail(f"truncated ELF header ({len(data)} of {_EHDR_SIZE} bytes)")
    ei_class, ei_data, ei_version = data[4], data[5], data[6]
    if ei_class != _ELFCLASS64:
        raise _fail(
            f"not a 64-bit ELF (EI_CLASS={ei_class}); 32-bit programs are not supported"
        )
    if ei_data != _ELFDATA2LSB:
        raise _fail(f"not a little-endian ELF (EI_DATA={ei_data})")
    if ei_version != _EV_CURRENT:
        raise _fail(f"unknown ELF version {ei_version}")
    (e_type, e_machine, e_version) = struct.unpack_from("<HHI", data, 16)
    e_phoff, e_phentsize, e_phnum = (
        struct.unpack_from("<Q", data, 32)[0],
        *struct.unpack_from("<HH", data, 54),
    )
    if e_type not in (_ET_EXEC, _ET_DYN):
        raise _fail(
            f"not an executable (e_type={e_type}); "
            "relocatable objects and core dumps cannot run"
        )
    if e_machine != _EM_X86_64:
        raise _fail(
            f"wrong machine e_machine={e_machine}, expected EM_X86_64 ({_EM_X86_64})"
        )
    if e_version != _EV_CURRENT:
        raise _fail(f"unknown ELF e_version {e_version}")
    if e_phentsize != _PHDR_SIZE:
        raise _fail(f"bad program header size {e_phentsize}, expected {_PHDR_SIZE}")
    if e_phnum == 0:
        raise _fail("no program headers")
    if e_phnum == _PN_XNUM or e_phnum * _PHDR_SIZE > _MAX_PHDR_TABLE:
        raise _fail(f"too many program headers ({e_phnum})")
    if e_phoff + e_phnum * _PHDR_SIZE > len(data):
        raise _fail("program header table extends past the end of the file")


def _plan(data: bytes, dyn_base: int) -> ElfImage:
    """Read the program headers (with pyelftools) and turn them into an ElfImage."""
    elf = ELFFile(io.BytesIO(data))
    hdr = elf.header
    # Re-check with pyelftools' view: the two readings must agree.
    if elf.elfclass != 64 or not elf.little_endian or hdr["e_machine"] != "EM_X86_64":
        raise _fail("not an x86-64 little-endian 64-bit ELF")
    is_pie = hdr["e_type"] == "ET_DYN"
    e_entry: int = hdr["e_entry"]
    e_phoff: int = hdr["e_phoff"]
    phnum: int = hdr["e_phnum"]

    loads: list[Mapping[str, Any]] = []
    phdr_from_pt_phdr: int | None = None
    tls_raw: Mapping[str, Any] | None = None
    stack_executable = False
    for index in range(phnum):
        ph = elf.get_segment(index).header
        p_type = ph["p_type"]
        if p_type == "PT_INTERP":
            raise _fail(
                "dynamically linked programs are not supported (PT_INTERP present); "
                "link with -static or -static-pie"
            )
        if p_type == "PT_LOAD":
            # Linux skips zero-sized PT_LOADs (some linkers emit them); so do we.
            if ph["p_memsz"]:
                loads.append(ph)
        elif p_type == "PT_PHDR":
            phdr_from_pt_phdr = ph["p_vaddr"]
        elif p_type == "PT_TLS":
            tls_raw = ph
        elif p_type == "PT_GNU_STACK":
            stack_executable = bool(ph["p_flags"] & _PF_X)
    if not loads:
        raise _fail("no PT_LOAD segments: nothing to load")

    # The ELF spec requires PT_LOADs sorted by p_vaddr; sort anyway and check overlap
    # below, so a file that lies about the order is rejected, not mis-loaded.
    loads.sort(key=lambda ph: ph["p_vaddr"])
    load_bias = _choose_load_bias(loads, dyn_base) if is_pie else 0

    segments = [
        _plan_segment(index, ph, data, load_bias) for index, ph in enumerate(loads)
    ]
    for lower, upper in itertools.pairwise(segments):
        if lower.p_vaddr + lower.p_memsz > upper.p_vaddr:
            raise _fail(f"PT_LOAD segments overlap at {upper.p_vaddr:#x}")
        if lower.end > upper.vaddr:
            # Linux copes by letting the later mmap replace the shared page, which
            # silently clobbers the earlier segment's .bss zeroing.  Refuse instead.
            raise _fail(
                f"PT_LOAD segments share the page at {upper.vaddr:#x} (not supported)"
            )

    entry = e_entry + load_bias
    if not any(s.p_vaddr <= entry < s.p_vaddr + s.p_memsz for s in segments):
        raise _fail(f"entry point {entry:#x} is not inside any PT_LOAD segment")

    if phdr_from_pt_phdr is not None:
        phdr_vaddr = phdr_from_pt_phdr + load_bias
    else:
        # Like Linux since 5.18: find the PT_LOAD whose *file* range contains the
        # program headers and translate the file offset into a virtual address.
        phdr_vaddr = 0
        for ph in loads:
            if ph["p_offset"] <= e_phoff < ph["p_offset"] + ph["p_filesz"]:
                phdr_vaddr = e_phoff - ph["p_offset"] + ph["p_vaddr"] + load_bias
                break

    tls = None
    if tls_raw is not None:
        tls = TlsInfo(
            vaddr=tls_raw["p_vaddr"] + load_bias,
            filesz=tls_raw["p_filesz"],
            memsz=tls_raw["p_memsz"],
            align=tls_raw["p_align"],
        )

    return ElfImage(
        entry=entry,
        load_bias=load_bias,
        phdr_vaddr=phdr_vaddr,
        phent=_PHDR_SIZE,
        phnum=phnum,
        segments=segments,
        brk_start=page_align_up(max(s.p_vaddr + s.p_memsz for s in segments)),
        tls=tls,
        stack_executable=stack_executable,
        is_pie=is_pie,
    )


def _choose_load_bias(loads: list[Mapping[str, Any]], dyn_base: int) -> int:
    """Pick the amount to add to an ET_DYN program's addresses.

    Mirrors Linux: start from the base, round it down to the largest ``p_align``
    (so segments linked for 2 MiB pages still get 2 MiB-aligned), then subtract
    the lowest ``p_vaddr`` so that segment lands at the base.
    """
    if dyn_base % PAGE_SIZE:
        raise ValueError(f"dyn_base {dyn_base:#x} is not page-aligned")
    alignment = PAGE_SIZE
    for ph in loads:
        align = ph["p_align"]
        if align > alignment and align & (align - 1) == 0:
            alignment = align
    base = dyn_base & ~(alignment - 1)
    return page_align_down(base - loads[0]["p_vaddr"])


def _plan_segment(
    index: int, ph: Mapping[str, Any], data: bytes, load_bias: int
) -> Segment:
    """Validate one PT_LOAD header and convert it into a :class:`Segment`."""
    p_offset: int = ph["p_offset"]
    p_vaddr: int = ph["p_vaddr"] + load_bias
    p_filesz: int = ph["p_filesz"]
    p_memsz: int = ph["p_memsz"]
    p_flags: int = ph["p_flags"]
    what = f"PT_LOAD #{index} (vaddr {p_vaddr:#x})"

    if p_filesz > p_memsz:
        raise _fail(f"{what}: p_filesz {p_filesz:#x} > p_memsz {p_memsz:#x}")
    if p_filesz and p_offset + p_filesz > len(data):
        raise _fail(
            f"{what}: file range {p_offset:#x}+{p_filesz:#x} is outside the file"
        )
    if p_filesz and p_offset % PAGE_SIZE != p_vaddr % PAGE_SIZE:
        # mmap can only map whole file pages to whole memory pages, so the offset
        # within the page must be the same on both sides (Linux: mmap -> EINVAL).
        raise _fail(
            f"{what}: p_offset {p_offset:#x} and p_vaddr differ modulo the page size"
        )
    start = page_align_down(p_vaddr)
    end = page_align_up(p_vaddr + p_memsz)
    if start < MMAP_MIN_ADDR:
        raise _fail(f"{what}: below mmap_min_addr {MMAP_MIN_ADDR:#x}")
    if end > TASK_SIZE:
        raise _fail(
            f"{what}: ends at {end:#x}, outside user space (limit {TASK_SIZE:#x})"
        )

    if p_filesz:
        file_start = page_align_down(p_offset)
        file_bytes = bytes(data[file_start : p_offset + p_filesz])
    else:
        # Pure .bss segment: Linux maps anonymous memory and reads nothing.
        file_start = 0
        file_bytes = b""
    return Segment(
        vaddr=start,
        memsz=end - start,
        file_bytes=file_bytes,
        copy_offset=0,
        prot=Prot.from_p_flags(p_flags),
        file_offset=file_start,
        p_vaddr=p_vaddr,
        p_filesz=p_filesz,
        p_memsz=p_memsz,
    )
