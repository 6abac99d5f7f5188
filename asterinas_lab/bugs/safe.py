"""Bugs in *safe* kernel code.

Each function here is a buggy version of a syscall handler, written exactly like the
real ones in ``asterinas_lab/kernel/syscall/``: only OSTD's public API, no private
names, no machine access (the boundary check runs over this file too). That is the
point: whatever these bugs do, OSTD's invariants hold, so the damage stays inside the
calling process -- an error code, an oops, or bytes of its *own* memory.
"""

from __future__ import annotations

from ..kernel.syscall.args import s32
from ..ostd import FrameAllocOptions, PageFlags

UTS_FIELDS = (b"Linux", b"asterinas-lab", b"6.1.0-asterinas-lab", b"#1 SMP PREEMPT", b"x86_64")
_kept_frames: list = []


def read_overflow(t, fd, buf, count, *_):
    """read(2), off by a page: copies count + 4096 bytes into the user buffer."""
    file = t.process.files.get(s32(fd))
    data = file.read(min(count, 0x7FFF_F000))
    # BUG: the extra page. OSTD's VmWriter still stops at the first page the process
    # does not own (EFAULT); what it can overwrite is this process's own memory.
    return t.process.write_bytes(buf, data + bytes(4096)) if data else 0


def kept_frame_munmap(t, addr, length, *_):
    """munmap(2) that keeps a handle to the first unmapped frame ("for later"), and
    on the next call writes garbage through the handle it kept: a use after free."""
    vm = t.process.vm
    start = addr & ~0xFFF
    end = (addr + length + 0xFFF) & ~0xFFF
    for frame in _kept_frames:
        frame.write(0, b"\xde\xad" * 2048)  # BUG: writes a frame that was unmapped
    _kept_frames.clear()
    page = vm.vm_space.query(start)
    if page is not None:
        _kept_frames.append(page.frame)  # BUG: a handle that outlives the mapping
    vm.remove(start, end)
    return 0


def map_typed_frame_brk(t, addr, *_):
    """brk(2) that maps a frame allocated for the kernel's own bookkeeping (a typed
    frame, like a page-table frame) into the new heap."""
    vm = t.process.vm
    if addr <= vm.brk:
        return vm.brk
    typed = FrameAllocOptions().alloc_typed()
    start = (vm.brk + 0xFFF) & ~0xFFF
    # BUG: user space would see (and could rewrite) kernel data. OSTD refuses.
    vm.vm_space.cursor_mut(start, start + 4096).map(typed, PageFlags.R | PageFlags.W)
    return addr


def uname_index_error(t, buf, *_):
    """uname(2) that indexes past the end of its table: an ordinary Python bug."""
    fields = [UTS_FIELDS[i] for i in range(6)]  # BUG: there are only 5 fields
    t.process.write_bytes(buf, b"".join(f.ljust(65, b"\0") for f in fields))
    return 0
