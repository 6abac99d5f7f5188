"""VmReader and VmWriter: copying bytes between the kernel and user memory.

Safe kernel code never sees a physical address or the RAM buffer. To read a syscall's
buffer it asks for a reader over the user range ``[vaddr, vaddr + length)`` of an
address space; the reader translates each page through the page table, checks that the
page is user-accessible (and writable, for a writer), and copies. A page that is not
present (or read-only when writing) is first offered to the kernel's page-fault handler,
as a real kernel does when ``copy_to_user`` faults (demand paging, copy-on-write). If
that fails, the copy stops with :class:`PageFaultError` (the kernel's EFAULT): never a
host exception, and never a byte outside the requested range.
"""

from __future__ import annotations

import struct

from ...machine.ram import PAGE_SIZE
from ..error import PageFaultError
from ..unsafe import unsafe
from .page_table import PTE_ADDR_MASK, PTE_PRESENT, PTE_USER, PTE_WRITABLE, USER_SPACE_END
from .vm_space import VmSpace

_PAGE_MASK = PAGE_SIZE - 1


def _translate(space: VmSpace, vaddr: int, write: bool) -> int:
    """Physical address of user ``vaddr``, faulting the page in if the kernel can."""
    if not 0 <= vaddr < USER_SPACE_END:
        raise PageFaultError(vaddr, write)
    need = PTE_PRESENT | PTE_USER | (PTE_WRITABLE if write else 0)
    entry = space._pt.entry(vaddr & ~_PAGE_MASK)
    if entry & need != need:
        handler = space.page_fault_handler
        if handler is None or not handler(vaddr, write):
            raise PageFaultError(vaddr, write)
        entry = space._pt.entry(vaddr & ~_PAGE_MASK)
        if entry & need != need:
            raise PageFaultError(vaddr, write)
    return (entry & PTE_ADDR_MASK) | (vaddr & _PAGE_MASK)


class VmReader:
    """Reads a user range sequentially. Invariant: never reads outside the range."""

    __slots__ = ("_space", "cursor", "end")

    def __init__(self, space: VmSpace, vaddr: int, length: int) -> None:
        if length < 0:
            raise PageFaultError(vaddr, False)
        self._space = space
        self.cursor = vaddr
        self.end = vaddr + length

    @property
    def remain(self) -> int:
        return self.end - self.cursor

    @unsafe
    def read(self, length: int | None = None) -> bytes:
        """Read ``length`` bytes (all that remain by default) and advance."""
        if length is None or length > self.remain:
            length = self.remain
        ram = self._space._platform.ram
        out = bytearray()
        vaddr, end = self.cursor, self.cursor + length
        while vaddr < end:
            chunk = min(end - vaddr, PAGE_SIZE - (vaddr & _PAGE_MASK))
            paddr = _translate(self._space, vaddr, False)
            # SAFETY: paddr..paddr+chunk lies in one user page that the page table grants.
            out += ram[paddr : paddr + chunk]
            vaddr += chunk
            self.cursor = vaddr
        return bytes(out)

    def read_val(self, fmt: struct.Struct) -> tuple:
        return fmt.unpack(self.read(fmt.size))

    @unsafe
    def read_cstring(self, max_length: int) -> bytes | None:
        """Bytes up to a NUL (excluded); None if no NUL within ``max_length`` bytes
        (or within the reader's range, whichever ends first)."""
        max_length = min(max_length, self.remain)
        ram = self._space._platform.ram
        out = bytearray()
        vaddr = self.cursor
        while len(out) < max_length:
            chunk = min(max_length - len(out), PAGE_SIZE - (vaddr & _PAGE_MASK))
            paddr = _translate(self._space, vaddr, False)
            # SAFETY: as in read().
            data = ram[paddr : paddr + chunk]
            nul = bytes(data).find(0)
            if nul >= 0:
                out += data[:nul]
                self.cursor = vaddr + nul + 1
                return bytes(out)
            out += data
            vaddr += chunk
        return None


class VmWriter:
    """Writes a user range sequentially. Invariant: never writes outside the range."""

    __slots__ = ("_space", "cursor", "end")

    def __init__(self, space: VmSpace, vaddr: int, length: int) -> None:
        if length < 0:
            raise PageFaultError(vaddr, True)
        self._space = space
        self.cursor = vaddr
        self.end = vaddr + length

    @property
    def avail(self) -> int:
        return self.end - self.cursor

    @unsafe
    def write(self, data: bytes) -> int:
        """Write as much of ``data`` as fits; return the number of bytes written."""
        length = min(len(data), self.avail)
        ram = self._space._platform.ram
        frames = self._space._platform.frames
        vaddr, end, done = self.cursor, self.cursor + length, 0
        while vaddr < end:
            chunk = min(end - vaddr, PAGE_SIZE - (vaddr & _PAGE_MASK))
            paddr = _translate(self._space, vaddr, True)
            # SAFETY: paddr..paddr+chunk lies in one user page mapped writable for the user.
            ram[paddr : paddr + chunk] = data[done : done + chunk]
            if frames.executable[paddr // PAGE_SIZE]:
                frames._flush_code_cache()
            vaddr += chunk
            done += chunk
            self.cursor = vaddr
        return done

    def write_val(self, fmt: struct.Struct, *values: object) -> None:
        self.write(fmt.pack(*values))

    def fill_zero(self, length: int) -> int:
        return self.write(bytes(min(length, self.avail)))
