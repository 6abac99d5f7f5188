"""Build the initial user stack of a new program, byte for byte like Linux.

When ``execve`` jumps to ``_start`` the only thing a program knows about the world
is what the kernel left on its stack.  The layout is fixed by the x86-64 System V
ABI and produced by Linux in ``fs/exec.c`` (the strings) and ``create_elf_tables()``
in ``fs/binfmt_elf.c`` (everything else).  From high to low addresses::

    stack_top ->  8 zero bytes            end marker (bprm->p starts below it)
                  execfn string           the path passed to execve  (AT_EXECFN)
                  envp strings            envp[0] lowest ... envp[n-1] highest
                  argv strings            argv[0] lowest ... argv[n-1] highest
                  (pad to 16 bytes)
                  platform string         "x86_64"                   (AT_PLATFORM)
                  16 random bytes                                    (AT_RANDOM)
                  (pad so that sp ends up 16-byte aligned)
                  auxv pairs ... AT_NULL, 0
                  NULL
                  envp[] pointers
                  NULL
                  argv[] pointers
           sp ->  argc

``sp`` is 16-byte aligned, which is what the ABI requires *at process entry*
(unlike at a function entry, where ``call`` has pushed an 8-byte return address).
libc's ``_start`` finds argc at ``(%rsp)``, ``argv`` at ``8(%rsp)``, walks past
the NULL to ``envp``, and past the next NULL to the auxiliary vector, which it
uses to find its own program headers (for TLS), the page size and a random seed
for stack-protector and pointer-mangling canaries.

This module only *computes* the bytes; the caller writes ``data`` into the new
address space at ``base`` (``base + len(data) == stack_top``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from asterinas_lab.kernel.error import E2BIG, LinuxError
from asterinas_lab.kernel.loader.elf import PAGE_SIZE, ElfImage

__all__ = [
    "ARG_MAX",
    "AT_BASE",
    "AT_CLKTCK",
    "AT_EGID",
    "AT_ENTRY",
    "AT_EUID",
    "AT_EXECFN",
    "AT_FLAGS",
    "AT_GID",
    "AT_HWCAP",
    "AT_HWCAP2",
    "AT_MINSIGSTKSZ",
    "AT_NULL",
    "AT_PAGESZ",
    "AT_PHDR",
    "AT_PHENT",
    "AT_PHNUM",
    "AT_PLATFORM",
    "AT_RANDOM",
    "AT_SECURE",
    "AT_SYSINFO_EHDR",
    "AT_UID",
    "DEFAULT_HWCAP",
    "DEFAULT_STACK_RLIMIT",
    "MAX_ARG_STRLEN",
    "AuxvParams",
    "InitialStack",
    "build_initial_stack",
]

# Auxiliary vector keys (linux/auxvec.h and x86's asm/auxvec.h).
AT_NULL = 0
AT_PHDR = 3
AT_PHENT = 4
AT_PHNUM = 5
AT_PAGESZ = 6
AT_BASE = 7
AT_FLAGS = 8
AT_ENTRY = 9
AT_UID = 11
AT_EUID = 12
AT_GID = 13
AT_EGID = 14
AT_PLATFORM = 15
AT_HWCAP = 16
AT_CLKTCK = 17
AT_SECURE = 23
AT_RANDOM = 25
AT_HWCAP2 = 26
AT_EXECFN = 31
AT_SYSINFO_EHDR = 33
AT_MINSIGSTKSZ = 51

#: CPUID leaf 1 EDX of a baseline x86-64 CPU (this exact value is what many AMD
#: and QEMU CPUs report): FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA
#: CMOV PAT PSE36 CLFLUSH MMX FXSR SSE SSE2 HTT.  On x86 ``AT_HWCAP`` is literally
#: that register.  Keep it consistent with what the emulated CPUID reports, or
#: libc's feature detection will disagree with itself.
DEFAULT_HWCAP = 0x178BFBFF

#: Linux's default ``RLIMIT_STACK`` (8 MiB); argument space is derived from it.
DEFAULT_STACK_RLIMIT = 8 * 1024 * 1024
#: Longest single argument or environment string, including its NUL (32 pages).
MAX_ARG_STRLEN = 32 * PAGE_SIZE
#: Minimum argument space Linux always grants, whatever the rlimit (32 pages).
ARG_MAX = 32 * PAGE_SIZE
#: Upper bound on argument space: 3/4 of ``_STK_LIM`` (8 MiB).
_ARG_SPACE_CAP = 8 * 1024 * 1024 // 4 * 3
#: Clock ticks per second reported to user space (``USER_HZ``; ``times()`` units).
USER_HZ = 100

_WORD = 8


@dataclass(frozen=True)
class AuxvParams:
    """Values for the auxiliary vector that depend on the program and the caller.

    Build one with :meth:`from_image` and override credentials with
    :func:`dataclasses.replace`.
    """

    #: ``AT_PHDR``/``AT_PHENT``/``AT_PHNUM``: where libc finds its program headers.
    phdr: int
    phent: int
    phnum: int
    #: ``AT_ENTRY``: the program's entry point (with no interpreter, the same
    #: address execution starts at).
    entry: int
    #: ``AT_BASE``: load address of the dynamic linker; 0 because there is none.
    interp_base: int = 0
    uid: int = 0
    euid: int = 0
    gid: int = 0
    egid: int = 0
    #: ``AT_SECURE``: set for setuid programs so libc ignores ``LD_*`` variables.
    secure: bool = False
    hwcap: int = DEFAULT_HWCAP
    hwcap2: int = 0
    clktck: int = USER_HZ
    #: ``AT_MINSIGSTKSZ``: minimum signal-stack size.  Linux always sends it on x86
    #: (it depends on the XSAVE area size); ``None`` omits it and libc falls back
    #: to its compile-time ``MINSIGSTKSZ``.
    minsigstksz: int | None = None

    @classmethod
    def from_image(cls, image: ElfImage) -> AuxvParams:
        """Take the program-dependent values from a parsed ELF image."""
        return cls(
            phdr=image.phdr_vaddr,
            phent=image.phent,
            phnum=image.phnum,
            entry=image.entry,
        )


@dataclass(frozen=True)
class InitialStack:
    """The stack contents the caller must write before jumping to the entry point."""

    #: Value for ``%rsp`` at entry; points at ``argc``; 16-byte aligned.
    sp: int
    #: The bytes from ``base`` up to ``stack_top``.
    data: bytes
    #: Address where ``data`` starts (equal to ``sp``).
    base: int
    #: The auxiliary vector as written (without the final ``AT_NULL``), handy for
    #: ``/proc/<pid>/auxv`` and for tests.
    auxv: tuple[tuple[int, int], ...]
    #: Addresses of the argv and envp strings (``/proc/<pid>/cmdline`` and
    #: ``environ`` report the ranges they span).
    argv_addrs: tuple[int, ...]
    envp_addrs: tuple[int, ...]


def _check_strings(
    argv: list[bytes], envp: list[bytes], execfn: bytes, stack_rlimit: int
) -> None:
    """Apply Linux's argument-size limits, raising E2BIG like ``execve`` does.

    Linux caps each string at ``MAX_ARG_STRLEN`` and all of them together at a
    quarter of the stack rlimit (but at least ``ARG_MAX``, at most 6 MiB), minus
    the space the argv/envp pointer arrays will need.  The point is that a huge
    environment must fail ``execve`` cleanly instead of leaving a new program
    with no stack to run on.
    """
    for s in (*argv, *envp, execfn):
        if b"\0" in s:
            raise ValueError("argument and environment strings must not contain NUL")
        if len(s) + 1 > MAX_ARG_STRLEN:
            raise LinuxError(E2BIG, f"argument string of {len(s)} bytes is too long")
    limit = max(min(_ARG_SPACE_CAP, stack_rlimit // 4), ARG_MAX)
    pointer_space = (max(len(argv), 1) + len(envp)) * _WORD
    if limit <= pointer_space:
        raise LinuxError(E2BIG, "too many arguments")
    string_space = sum(len(s) + 1 for s in (*argv, *envp, execfn))
    if string_space > limit - pointer_space:
        raise LinuxError(E2BIG, "argument list too long")


def build_initial_stack(
    stack_top: int,
    argv: list[bytes],
    envp: list[bytes],
    auxv: AuxvParams,
    random_bytes: bytes,
    *,
    execfn: bytes,
    platform: bytes = b"x86_64",
    stack_rlimit: int = DEFAULT_STACK_RLIMIT,
) -> InitialStack:
    """Lay out argc/argv/envp/auxv below ``stack_top`` exactly like Linux.

    ``argv``/``envp`` are the strings without their terminating NUL; ``execfn``
    is the path given to ``execve`` (``AT_EXECFN``); ``random_bytes`` are the 16
    bytes ``AT_RANDOM`` points to (the caller supplies them so tests can be
    deterministic).  Raises ``LinuxError(E2BIG)`` if the strings exceed Linux's
    limits and ``ValueError`` for caller mistakes (bad alignment, NUL inside a
    string, wrong number of random bytes).
    """
    if stack_top % 16:
        raise ValueError(f"stack_top {stack_top:#x} is not 16-byte aligned")
    if len(random_bytes) != 16:
        raise ValueError("AT_RANDOM needs exactly 16 bytes")
    if b"\0" in platform:
        raise ValueError("platform must not contain NUL")
    if not argv:
        # Since Linux 5.18 an empty argv becomes [""], so that programs which
        # blindly use argv[0] (or loop from argv[1]) do not walk into envp.
        argv = [b""]
    _check_strings(argv, envp, execfn, stack_rlimit)

    # The image grows downwards from stack_top.  We collect the pieces top-first
    # and join them in reverse at the end; `p` is the address of the lowest byte
    # placed so far, exactly like bprm->p in Linux.
    chunks: list[bytes] = []
    p = stack_top

    def push(blob: bytes) -> int:
        """Place ``blob`` immediately below everything pushed so far."""
        nonlocal p
        p -= len(blob)
        chunks.append(blob)
        return p

    # fs/exec.c: bprm->p starts one pointer below the top, leaving a NULL word
    # that marks the end of the stack.  Then copy_strings() copies the filename,
    # envp and argv, each list from its last element down, so the first string
    # ends up lowest.
    push(b"\0" * _WORD)
    execfn_addr = push(execfn + b"\0")
    envp_addrs = [push(s + b"\0") for s in reversed(envp)][::-1]
    argv_addrs = [push(s + b"\0") for s in reversed(argv)][::-1]

    # create_elf_tables(): align, then the platform string and the random bytes.
    push(b"\0" * (p % 16))
    platform_addr = push(platform + b"\0")
    random_addr = push(bytes(random_bytes))

    pairs: list[tuple[int, int]] = []
    if auxv.minsigstksz is not None:
        pairs.append((AT_MINSIGSTKSZ, auxv.minsigstksz))
    pairs += [
        (AT_HWCAP, auxv.hwcap),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_CLKTCK, auxv.clktck),
        (AT_PHDR, auxv.phdr),
        (AT_PHENT, auxv.phent),
        (AT_PHNUM, auxv.phnum),
        (AT_BASE, auxv.interp_base),
        (AT_FLAGS, 0),
        (AT_ENTRY, auxv.entry),
        (AT_UID, auxv.uid),
        (AT_EUID, auxv.euid),
        (AT_GID, auxv.gid),
        (AT_EGID, auxv.egid),
        (AT_SECURE, int(auxv.secure)),
        (AT_RANDOM, random_addr),
        (AT_HWCAP2, auxv.hwcap2),
        (AT_EXECFN, execfn_addr),
        (AT_PLATFORM, platform_addr),
    ]

    words: list[int] = [len(argv), *argv_addrs, 0, *envp_addrs, 0]
    for key, value in (*pairs, (AT_NULL, 0)):
        words += [key, value]
    # STACK_ROUND in create_elf_tables(): choose sp so that it is 16-byte aligned;
    # any slack goes between the auxv and the random bytes.
    sp = (p - len(words) * _WORD) & ~15
    push(b"\0" * (p - sp - len(words) * _WORD))
    push(struct.pack(f"<{len(words)}Q", *words))
    assert p == sp

    data = b"".join(reversed(chunks))
    return InitialStack(
        sp=sp,
        data=data,
        base=sp,
        auxv=tuple(pairs),
        argv_addrs=tuple(argv_addrs),
        envp_addrs=tuple(envp_addrs),
    )
