"""Physical frames: metadata, the allocator, and the handles safe code holds.

Every 4 KiB frame of RAM has metadata kept here, in OSTD, where safe code cannot reach
it: its *kind* and its *reference count*.

* ``FREE``: owned by the allocator, mapped nowhere, no handle exists.
* ``UNTYPED``: user data. Safe code may read and write it through a :class:`Frame`
  handle and map it into user space through a VmSpace cursor.
* ``PAGE_TABLE`` and ``KERNEL``: *typed* frames, whose bytes carry meaning for the
  trusted core. They have no read or write methods and can never be mapped to user
  space, so no safe code can forge a page-table entry.
* ``RESERVED``: used by the machine set-up (frame 0, the shared kernel page tables,
  the trampoline page); never allocated.

The reference count is the number of :class:`Frame` handles plus the number of page
table entries that map the frame. A frame returns to the allocator only when both are
gone, so safe code cannot free a frame that is still mapped, and unmapping flushes the
TLB before the count drops (see ``vm_space``).
"""

from __future__ import annotations

from array import array

from ...machine.ram import PAGE_SIZE
from .. import events
from ..error import AccessDenied, OstdError
from ..events import Event
from ..unsafe import unsafe

FREE, UNTYPED, PAGE_TABLE, KERNEL, RESERVED = range(5)
KIND_NAMES = ("free", "untyped", "page table", "kernel", "reserved")
_ZERO_PAGE = bytes(PAGE_SIZE)
# Freed frames that once held executable user code wait here until the CPU's cache of
# translated code is flushed; reusing one earlier could run stale translations.
_QUARANTINE_LIMIT = 512


class FrameAllocator:
    """Owns the metadata of every frame and the free list.

    Invariants: ``kind[n] == FREE`` exactly when ``n`` is on the free list or in the
    quarantine, and then ``refs[n] == 0 == maps[n]``; for any other allocated frame
    ``refs[n] >= 1`` and ``refs[n] >= maps[n]``.
    """

    def __init__(self, ram_view: memoryview, nframes: int, flush_code_cache) -> None:
        self._ram = ram_view
        self.nframes = nframes
        self.kind = bytearray(nframes)
        self.refs = array("l", bytes(8 * nframes))
        self.maps = array("l", bytes(8 * nframes))
        self.executable = bytearray(nframes)
        self._free: list[int] = list(range(nframes - 1, 0, -1))
        self.kind[0] = RESERVED  # physical page 0 stays unused, as on a PC
        self._quarantine: list[int] = []
        self._flush_code_cache = flush_code_cache
        self.retired = False

    def retire(self) -> None:
        """The machine is powered off: handles that outlive it release nothing."""
        self.retired = True
    # --- allocation -------------------------------------------------------------------

    @unsafe
    def alloc(self, kind: int, zeroed: bool = True) -> int:
        """Take one frame off the free list; return its physical address."""
        if not self._free:
            self._release_quarantine()
            if not self._free:
                raise MemoryError("out of physical memory")
        n = self._free.pop()
        self.kind[n] = kind
        self.refs[n] = 1
        if events.active[Event.FRAME_ALLOC]:
            events.emit(Event.FRAME_ALLOC, paddr=n * PAGE_SIZE, kind=kind)
        if zeroed:
            paddr = n * PAGE_SIZE
            # SAFETY: frame n was free, so no handle or mapping can observe this write.
            self._ram[paddr : paddr + PAGE_SIZE] = _ZERO_PAGE
        return n * PAGE_SIZE

    def alloc_contiguous(self, count: int, kind: int) -> int:
        """Allocate ``count`` physically contiguous frames (a Segment)."""
        free = set(self._free)
        for start in range(1, self.nframes - count + 1):
            if all(n in free for n in range(start, start + count)):
                for n in range(start, start + count):
                    self._free.remove(n)
                    self._free.append(n)
                    self.alloc(kind)
                return start * PAGE_SIZE
        raise MemoryError(f"no {count} contiguous free frames")

    def get(self, paddr: int) -> None:
        """One more reference (a new handle or a new mapping)."""
        self.refs[paddr // PAGE_SIZE] += 1

    def put(self, paddr: int) -> None:
        """Drop one reference; the last one returns the frame to the allocator."""
        if self.retired:
            return
        n = paddr // PAGE_SIZE
        refs = self.refs[n] - 1
        if refs < 0 or self.kind[n] in (FREE, RESERVED):
            raise OstdError(f"frame {paddr:#x} released more often than acquired")
        self.refs[n] = refs
        if refs == 0:
            if events.active[Event.FRAME_FREE]:
                events.emit(Event.FRAME_FREE, paddr=paddr)
            self.kind[n] = FREE
            if self.executable[n]:
                self.executable[n] = 0
                self._quarantine.append(n)
                if len(self._quarantine) >= _QUARANTINE_LIMIT:
                    self._release_quarantine()
            else:
                self._free.append(n)

    def _release_quarantine(self) -> None:
        if self._quarantine:
            self._flush_code_cache()
            self._free.extend(self._quarantine)
            self._quarantine.clear()

    # --- statistics ---------------------------------------------------------------------

    @property
    def free_frames(self) -> int:
        return len(self._free) + len(self._quarantine)

    def count(self, kind: int) -> int:
        return self.kind.count(kind)


_allocator: FrameAllocator | None = None


def _install(allocator: FrameAllocator | None) -> None:
    global _allocator
    _allocator = allocator


def allocator() -> FrameAllocator:
    if _allocator is None:
        raise OstdError("OSTD is not booted")
    return _allocator


class Frame:
    """A handle to one untyped (user-data) frame.

    Invariant: while a handle exists the frame is allocated and untyped; its reference
    count includes this handle. Reads and writes stay inside the frame's 4 KiB.
    """

    __slots__ = ("_paddr", "_owner", "__weakref__")

    def __init__(self, paddr: int) -> None:
        self._owner = None
        a = allocator()
        if not 0 <= paddr < a.nframes * PAGE_SIZE or a.kind[paddr // PAGE_SIZE] != UNTYPED:
            raise AccessDenied(f"frame {paddr:#x} is not an untyped frame")
        a.get(paddr)
        self._paddr = paddr
        self._owner = a

    @property
    def paddr(self) -> int:
        """The frame's physical address. Read-only: the handle's reference is to this
        frame, and a handle re-pointed at another frame could write page tables."""
        return self._paddr

    # A copy of a handle is another handle: it must take its own reference (a plain
    # copy would release a reference it never took). Handles cannot be pickled.
    def __copy__(self) -> Frame:
        return Frame(self._paddr)

    def __deepcopy__(self, memo: dict) -> Frame:
        return Frame(self._paddr)

    def __reduce__(self):
        raise TypeError("frame handles cannot be pickled")

    @classmethod
    def _adopt(cls, paddr: int) -> Frame:
        """Wrap a freshly allocated frame whose first reference is this handle."""
        frame = object.__new__(cls)
        frame._paddr = paddr
        frame._owner = _allocator
        return frame

    def __del__(self) -> None:
        # The reference goes back to the allocator (the machine) the handle came from,
        # even if another machine has booted since.
        if self._owner is not None:
            self._owner.put(self._paddr)

    def __repr__(self) -> str:
        return f"Frame({self._paddr:#x})"

    @property
    def size(self) -> int:
        return PAGE_SIZE

    @property
    def reference_count(self) -> int:
        return allocator().refs[self._paddr // PAGE_SIZE]

    @unsafe
    def read(self, offset: int, length: int) -> bytes:
        _check_range(offset, length)
        base = self._paddr + offset
        # SAFETY: the range was checked to lie inside this untyped frame, which the
        # handle keeps allocated.
        return bytes(self._owner._ram[base : base + length])

    @unsafe
    def write(self, offset: int, data: bytes) -> None:
        _check_range(offset, len(data))
        a = self._owner
        base = self._paddr + offset
        # SAFETY: as in read(); the frame is untyped, so no invariant lives in its bytes.
        a._ram[base : base + len(data)] = data
        if a.executable[self._paddr // PAGE_SIZE]:
            a._flush_code_cache()

    def copy_from(self, other: Frame) -> None:
        self.write(0, other.read(0, PAGE_SIZE))


def _check_range(offset: int, length: int) -> None:
    if offset < 0 or length < 0 or offset + length > PAGE_SIZE:
        raise OstdError(f"access {offset}+{length} outside a {PAGE_SIZE}-byte frame")


class _Uncopyable:
    """A handle whose copy would release a reference it never took: not copyable."""

    __slots__ = ()

    def __copy__(self):
        raise TypeError(f"{type(self).__name__} handles cannot be copied")

    def __deepcopy__(self, memo: dict):
        return self.__copy__()

    def __reduce__(self):
        return self.__copy__()


class TypedFrame(_Uncopyable):
    """A handle to a typed frame (page table or kernel object): no byte access at all.

    Safe code may hold one (to pass it back to OSTD) but can neither read it, write it,
    nor map it into user space.
    """

    __slots__ = ("_paddr", "_kind", "_owner")

    def __init__(self, paddr: int, kind: int) -> None:
        self._paddr = paddr
        self._kind = kind
        self._owner = _allocator

    @property
    def paddr(self) -> int:
        return self._paddr

    @property
    def kind(self) -> int:
        return self._kind


    def __del__(self) -> None:
        if self._owner is not None:
            self._owner.put(self._paddr)

    def __repr__(self) -> str:
        return f"TypedFrame({self.paddr:#x}, {KIND_NAMES[self.kind]})"

    def read(self, offset: int, length: int) -> bytes:
        raise AccessDenied(f"typed ({KIND_NAMES[self._kind]}) frame {self._paddr:#x} cannot be read")

    def write(self, offset: int, data: bytes) -> None:
        raise AccessDenied(f"typed ({KIND_NAMES[self._kind]}) frame {self._paddr:#x} cannot be written")


class Segment(_Uncopyable):
    """A handle to physically contiguous untyped frames, e.g. a DMA buffer."""

    __slots__ = ("_start", "_nframes", "_owner")

    def __init__(self, start_paddr: int, nframes: int) -> None:
        self._start = start_paddr
        self._nframes = nframes
        self._owner = _allocator

    @property
    def start_paddr(self) -> int:
        return self._start

    @property
    def nframes(self) -> int:
        return self._nframes


    def __del__(self) -> None:
        if self._owner is not None:
            for i in range(self._nframes):
                self._owner.put(self._start + i * PAGE_SIZE)

    def frames(self) -> list[Frame]:
        return [Frame(self.start_paddr + i * PAGE_SIZE) for i in range(self.nframes)]

    @property
    def size(self) -> int:
        return self.nframes * PAGE_SIZE


class FrameAllocOptions:
    """Builder for frame allocation, as in Asterinas: ``FrameAllocOptions().alloc_frame()``."""

    def __init__(self, zeroed: bool = True) -> None:
        self.zeroed = zeroed

    def alloc_frame(self) -> Frame:
        return Frame._adopt(allocator().alloc(UNTYPED, self.zeroed))

    def alloc_segment(self, nframes: int) -> Segment:
        return Segment(allocator().alloc_contiguous(nframes, UNTYPED), nframes)

    def alloc_typed(self) -> TypedFrame:
        """A frame for a kernel object: the kernel can own it but never touch its bytes."""
        return TypedFrame(allocator().alloc(KERNEL, True), KERNEL)
