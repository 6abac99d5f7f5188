"""Shared memory objects: the pages behind MAP_SHARED mappings.

A private mapping gets its own frames (copied on write after fork). A shared mapping
must show every process the *same* frames, even for pages nobody had touched when the
processes forked, so its pages belong to an object rather than to an address space:

* a MAP_SHARED|MAP_ANONYMOUS region owns a :class:`SharedMemory` of its own, which
  fork hands to the child together with the VM area;
* a file's shared mappings all use the file's *page cache*, one SharedMemory per
  inode, so that writes through one mapping are seen by every other mapping, and by
  read(2) (the file's bytes are synchronised with the frames; see ``sync_to_file``).
"""

from __future__ import annotations

from itertools import count
from typing import TYPE_CHECKING

from ...ostd import PAGE_SIZE, Frame, FrameAllocOptions

if TYPE_CHECKING:
    from ..fs.ramfs import Inode

_keys = count(1)


class SharedMemory:
    """Frames by page index. Invariant: one frame per index, for the object's life."""

    def __init__(self, inode: Inode | None = None) -> None:
        self.frames: dict[int, Frame] = {}
        self.inode = inode
        self.key = next(_keys)  # futexes in shared memory are keyed by (key, offset)
        # Set once a page is mapped writable; until then the frames cannot differ
        # from the file and there is nothing to write back.
        self.written = False

    def frame(self, index: int) -> Frame:
        frame = self.frames.get(index)
        if frame is None:
            frame = FrameAllocOptions().alloc_frame()
            if self.inode is not None and self.inode.data is not None:
                data = self.inode.data[index * PAGE_SIZE : (index + 1) * PAGE_SIZE]
                if data:
                    frame.write(0, bytes(data))
            self.frames[index] = frame
        return frame

    def sync_to_file(self) -> None:
        """Write the pages back into the file (msync, munmap, and before read(2))."""
        data = self.inode.data if self.inode is not None else None
        if data is None or not self.written:
            return
        size = len(data)
        for index, frame in self.frames.items():
            start = index * PAGE_SIZE
            if start < size:
                length = min(PAGE_SIZE, size - start)
                data[start : start + length] = frame.read(0, length)

    def refresh_from_file(self, start: int, end: int) -> None:
        """The file changed in [start, end) (write(2), truncate): update the pages."""
        data = self.inode.data if self.inode is not None else None
        if data is None:
            return
        for index in range(start // PAGE_SIZE, (end + PAGE_SIZE - 1) // PAGE_SIZE):
            frame = self.frames.get(index)
            if frame is not None:
                chunk = bytes(data[index * PAGE_SIZE : (index + 1) * PAGE_SIZE])
                frame.write(0, chunk.ljust(PAGE_SIZE, b"\0"))


def page_cache(inode: Inode) -> SharedMemory:
    """The inode's page cache, created on its first shared mapping."""
    cache = inode.page_cache
    if cache is None:
        cache = inode.page_cache = SharedMemory(inode)
    return cache
