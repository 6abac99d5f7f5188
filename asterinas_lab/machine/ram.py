"""Physical RAM of the emulated machine.

One anonymous host mapping holds all of physical memory. The CPU sees it at physical
address 0 (unicorn maps it once with ``mem_map_ptr``); the trusted core reads and writes
it through :attr:`PhysicalMemory.view`, a memoryview of the same bytes, so a host write
is immediately visible to the emulated CPU and vice versa.
"""

from __future__ import annotations

import ctypes
import mmap

PAGE_SIZE = 4096


class PhysicalMemory:
    """``size`` bytes of zero-filled RAM, page-aligned, at a fixed host address."""

    def __init__(self, size: int) -> None:
        if size <= 0 or size % PAGE_SIZE:
            raise ValueError(f"RAM size must be a positive multiple of {PAGE_SIZE}")
        self.size = size
        self._buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self.view = memoryview(self._buffer)
        self.host_address = ctypes.addressof(ctypes.c_char.from_buffer(self._buffer))

    @property
    def frames(self) -> int:
        return self.size // PAGE_SIZE

    def release(self) -> None:
        """Give the host memory back (the contents read as zero afterwards)."""
        self._buffer.madvise(mmap.MADV_DONTNEED)
