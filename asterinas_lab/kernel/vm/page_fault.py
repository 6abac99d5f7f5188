"""The page-fault handler: demand paging and copy-on-write.

A page fault means the CPU could not translate an address, or the translation did
not allow the access. If the address lies in a VM area whose protections allow the
access, the kernel fixes the page table and the faulting instruction is retried:

* nothing is mapped yet (*demand paging*): allocate a frame, fill it from the area's
  backing (zeros, file bytes, or the shared object's page) and map it;
* a write hit a read-only page of a writable private area (*copy-on-write*): since
  fork both processes map the same frame read-only; the first writer gets its own copy
  (or, if it is the frame's last user, simply gets write access back).

Otherwise the access is a real error and the process gets SIGSEGV, with si_code
SEGV_MAPERR (nothing there) or SEGV_ACCERR (there, but not with that access).

unicorn does not report the page-fault error code, so the kind of access is inferred:
a fault on a page that is present (and readable) must be a write, unless the address
is where the instruction pointer is, which makes it an instruction fetch.

The common cases, a first touch of anonymous memory, a copy-on-write write and a first
touch of a private file mapping, can be served by other safe code (lab 4's exercises)
through :func:`inject_fault_handlers`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ...ostd import PAGE_SIZE, Frame, FrameAllocOptions, PageFlags, VmSpace
from .vmar import PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE, ProcessVm, VmArea, page_down, prot_to_flags

SEGV_MAPERR = 1
SEGV_ACCERR = 2
#: Returned when no frame was left: the caller kills the process (the OOM killer).
FAULT_OOM = -1
#: Returned for an access to a file mapping's page past the end of the file.
FAULT_SIGBUS = -2

# File-backed faults map up to this many neighbouring pages at once (Linux's
# "fault-around"), which makes loading a program's text cheap; anonymous faults map
# a few, which makes first touch of a large array cheap.
FAULT_AROUND_PAGES = 16
ANON_FAULT_AROUND_PAGES = 4

# --- injection point: the fault policy (lab 4) ------------------------------------------
#: ``handler(vm_space, page, flags)``: resolves one fault at the page-aligned ``page``.
FaultHandler = Callable[[VmSpace, int, PageFlags], None]
#: Set by :func:`inject_fault_handlers`; None means the kernel's own code below.
#: ``anonymous`` serves a first touch of a page in a private anonymous area (heap, stack,
#: anonymous mmap): nothing is mapped there yet, and the page must become a zeroed frame
#: mapped with ``flags`` (the area's). ``cow`` serves a write to a present, read-only page
#: of a writable private area (copy-on-write): the page must end up writable with
#: ``flags``, holding its current bytes, and no other address space may see the write.
anonymous_fault_handler: FaultHandler | None = None
cow_fault_handler: FaultHandler | None = None

#: ``handler(vm_space, page, flags, file_page, length)``: first touch of ``page`` in a
#: private file mapping (a program's text or data, an ``mmap(MAP_PRIVATE)`` of a file);
#: nothing is mapped there yet. ``file_page`` is a frame holding the file's page behind
#: ``page``: the file's page-cache frame, shared with every other mapping of the file (for
#: an explicit mmap, whose file the kernel snapshots, a frame of its own), never to be
#: written. Only its first ``length`` bytes belong to the mapping (PAGE_SIZE for a whole
#: page of the file); the rest of the page must read as zeros (past the end of the file,
#: or an ELF segment's .bss); ``length`` is 0 and ``file_page`` None for a page with no
#: file bytes at all. Accesses past the end of the file never get here (SIGBUS).
FileFaultHandler = Callable[[VmSpace, int, PageFlags, Frame | None, int], None]
file_fault_handler: FileFaultHandler | None = None


@contextmanager
def inject_fault_handlers(
    anonymous: FaultHandler | None = None, cow: FaultHandler | None = None, file: FileFaultHandler | None = None
) -> Iterator[None]:
    """Serve anonymous first touches, copy-on-write faults and first touches of private
    file mappings with other code (safe kernel code, e.g. a student's) while the
    ``with`` block runs; None keeps the kernel's own. Such a handler serves exactly the
    faulting page (no fault-around), so each first touch and each copy is one fault."""
    global anonymous_fault_handler, cow_fault_handler, file_fault_handler
    saved = anonymous_fault_handler, cow_fault_handler, file_fault_handler
    anonymous_fault_handler, cow_fault_handler, file_fault_handler = anonymous, cow, file
    try:
        yield
    finally:
        anonymous_fault_handler, cow_fault_handler, file_fault_handler = saved


def handle_page_fault(vm: ProcessVm, vaddr: int, write: bool = False, execute: bool = False) -> int:
    """Resolve a fault at ``vaddr``. Returns 0 if resolved, else the SEGV si_code
    (or FAULT_OOM when memory ran out)."""
    area = vm.find(vaddr)
    if area is None:
        return SEGV_MAPERR
    prot = area.prot
    page = page_down(vaddr)
    space = vm.vm_space
    present = space.query_flags(page)
    if present is not None and not execute:
        write = True  # a read of a present page cannot fault
    if prot == PROT_NONE or (write and not prot & PROT_WRITE) or (execute and not prot & PROT_EXEC):
        return SEGV_ACCERR
    if not prot & (PROT_READ | PROT_WRITE | PROT_EXEC):
        return SEGV_ACCERR
    if area.eof and page >= area.eof:
        return FAULT_SIGBUS
    shared = area.shared_mem
    if shared is not None and shared.inode is not None:
        if area.shared_index(page) * PAGE_SIZE >= len(shared.inode.data):
            return FAULT_SIGBUS
    try:
        if present is not None:
            return _fix_present(vm, area, page, present, write)
        return _demand_page(vm, area, page)
    except MemoryError:
        return FAULT_OOM


def _fix_present(vm: ProcessVm, area: VmArea, page: int, present: PageFlags, write: bool) -> int:
    space = vm.vm_space
    flags = prot_to_flags(area.prot)
    cursor = space.cursor_mut(page, page + PAGE_SIZE)
    if area.shared_mem is not None:
        # The PTE is stricter than the area (e.g. after mprotect): give what it allows.
        if flags & PageFlags.W:
            area.shared_mem.written = True
        cursor.protect_next(PAGE_SIZE, lambda _old: flags)
        return 0
    if not write:
        # As above, but a private page stays read-only if it was: it may be shared.
        cursor.protect_next(PAGE_SIZE, lambda old: flags & ~PageFlags.W | (old & PageFlags.W))
        return 0
    if cow_fault_handler is not None:
        cow_fault_handler(space, page, flags)
        return 0
    mapped = space.query(page)
    # Our handle plus this mapping: nobody else can see the frame, so no copy is needed.
    if mapped.frame.reference_count <= 2:
        cursor.protect_next(PAGE_SIZE, lambda _old: flags)
        return 0
    copy = FrameAllocOptions(zeroed=False).alloc_frame()
    copy.copy_from(mapped.frame)
    cursor.map(copy, flags)  # replaces the shared mapping (flushing the TLB)
    return 0


def _demand_page(vm: ProcessVm, area: VmArea, page: int) -> int:
    space = vm.vm_space
    flags = prot_to_flags(area.prot)
    shared = area.shared_mem
    if shared is not None:
        if flags & PageFlags.W:
            shared.written = True
        cursor = space.cursor_mut(page, page + PAGE_SIZE)
        cursor.map(shared.frame(area.shared_index(page)), flags)
        return 0
    if anonymous_fault_handler is not None and area.backing is None:
        anonymous_fault_handler(space, page, flags)
        return 0
    if file_fault_handler is not None and area.backing is not None:
        _inject_file_page(area, space, page, flags)
        return 0
    around = FAULT_AROUND_PAGES if area.backing is not None else ANON_FAULT_AROUND_PAGES
    limit = min(area.end, (page | 0x1FFFFF) + 1)  # stay in this area and 2 MiB region
    if area.eof:
        limit = min(limit, area.eof)  # and before the end of the file (SIGBUS there)
    count = max(1, min(around, (limit - page) // PAGE_SIZE))
    cursor = space.cursor_mut(page, page + count * PAGE_SIZE)
    alloc = FrameAllocOptions()
    cache = area.file_cache
    cached_until = area.file_end if cache is not None else 0
    read_only = flags & ~PageFlags.W
    for i in range(count):
        addr = page + i * PAGE_SIZE
        if i and space.query_flags(addr) is not None:
            break
        cursor.jump(addr)
        if addr + PAGE_SIZE <= cached_until:
            # A whole page of the file: map the page cache's frame, read-only; a
            # write will copy it (copy-on-write), so the file never changes.
            cursor.map(cache.frame(area.cache_index(addr)), read_only)
            continue
        frame = alloc.alloc_frame()
        data = area.bytes_for_page(addr)
        if data:
            frame.write(0, data)
        cursor.map(frame, flags)
    return 0


def _inject_file_page(area: VmArea, space: VmSpace, page: int, flags: PageFlags) -> None:
    """Hand a first touch of a private file mapping to the injected ``file`` handler."""
    length = max(0, min(PAGE_SIZE, area.file_end - page))
    file_page = None
    if length:
        cache = area.file_cache
        if cache is not None:
            file_page = cache.frame(area.cache_index(page))
        else:
            file_page = FrameAllocOptions().alloc_frame()
            file_page.write(0, area.bytes_for_page(page))
    file_fault_handler(space, page, flags, file_page, length)
