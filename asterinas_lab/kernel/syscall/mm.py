"""Memory syscalls: brk, mmap, munmap, mprotect, mremap, msync, madvise.

They change VM areas (what may be mapped); pages appear later, on first touch, through
the page-fault handler. Unmapping and tightening protections go through OSTD's
cursor, which flushes the TLB before frames can be reused.
"""

from __future__ import annotations

from ...ostd import PAGE_SIZE
from ..error import EACCES, EEXIST, EFAULT, EINVAL, ENODEV, ENOMEM, LinuxError
from ..vm.shared import SharedMemory, page_cache
from ..vm.vmar import USER_TOP, VmArea, page_down, page_up
from . import numbers as nr
from .args import s32, s64

MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE = 0x01, 0x02, 0x03
MAP_TYPE = 0x0F
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_FIXED_NOREPLACE = 0x100000
MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED = 0, 1, 2, 3, 4
KNOWN_ADVICE = frozenset({*range(5), *range(8, 24), 100, 101, 102})  # madvise(2)'s MADV_* values
MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4
MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4
PROT_WRITE = 2
PROT_MASK = 0x7


RLIMIT_AS = 9


def _check_address_space_limit(t, extra: int) -> None:
    """RLIMIT_AS: the address space may not grow past the soft limit."""
    limit = t.kernel.rlimit(t.process, RLIMIT_AS)[0]
    if extra > 0 and t.process.vm.total_size() + extra > limit:
        raise LinuxError(ENOMEM)


def sys_brk(t, addr, *_):
    vm = t.process.vm
    if addr < vm.brk_start or addr >= USER_TOP:
        return vm.brk
    old_end, new_end = page_up(vm.brk), page_up(addr)
    if new_end > old_end:
        if vm.overlaps(old_end, new_end):
            return vm.brk
        try:
            _check_address_space_limit(t, new_end - old_end)
        except LinuxError:
            return vm.brk
        vm.add(VmArea(old_end, new_end, 3, name="[heap]"))
    elif new_end < old_end:
        vm.remove(new_end, old_end)
    vm.brk = addr
    return addr


def sys_mmap(t, addr, length, prot, flags, fd, offset):
    flags, prot, offset = s32(flags), s32(prot), s64(offset)
    if length == 0 or offset % PAGE_SIZE or offset < 0 or prot & ~PROT_MASK:
        raise LinuxError(EINVAL)
    if flags & MAP_TYPE not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
        raise LinuxError(EINVAL)
    length = page_up(length)
    if length > USER_TOP:
        raise LinuxError(ENOMEM)
    vm = t.process.vm
    fixed = bool(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
    if fixed:
        if addr % PAGE_SIZE:
            raise LinuxError(EINVAL)
        if addr + length > USER_TOP:
            raise LinuxError(ENOMEM)
        if flags & MAP_FIXED_NOREPLACE and vm.overlaps(addr, addr + length):
            raise LinuxError(EEXIST)
    else:
        addr = vm.find_free(length, page_down(addr))
    _check_address_space_limit(t, length)
    shared = flags & MAP_TYPE != MAP_PRIVATE
    area = VmArea(addr, addr + length, prot, shared=shared)
    if not flags & MAP_ANONYMOUS:
        file = t.process.files.get(s32(fd))
        inode = getattr(file, "inode", None)
        if inode is None or not inode.is_reg:
            raise LinuxError(ENODEV if inode is None or not inode.is_dir else EACCES)
        if not file.readable or (shared and prot & PROT_WRITE and not file.writable):
            raise LinuxError(EACCES)
        area.name = file.path.decode(errors="replace")
        area.offset = offset
        if shared:
            area.shared_mem = page_cache(inode)
        else:
            if inode.page_cache is not None:
                inode.page_cache.sync_to_file()
            data = bytes(inode.data)
            area.backing = data
            area.file_end = addr + max(0, min(length, len(data) - offset))
            area.eof = addr + page_up(max(0, len(data) - offset))
    elif shared:
        area.shared_mem = SharedMemory()
        area.offset = 0
    vm.add(area, replace=True)
    return addr


def _user_range(addr: int, length: int) -> tuple[int, int]:
    if addr % PAGE_SIZE:
        raise LinuxError(EINVAL)
    end = page_up(addr + length)
    if end > USER_TOP or end < addr:
        raise LinuxError(EINVAL if end < addr else ENOMEM)
    return addr, end


def sys_munmap(t, addr, length, *_):
    if length == 0:
        raise LinuxError(EINVAL)
    start, end = _user_range(addr, length)
    t.process.vm.remove(start, end)
    return 0


def sys_mprotect(t, addr, length, prot, *_):
    prot = s32(prot)
    if prot & ~PROT_MASK:
        raise LinuxError(EINVAL)
    start, end = _user_range(addr, length)
    if start < end:
        t.process.vm.protect(start, end, prot)
    return 0


def sys_madvise(t, addr, length, advice, *_):
    start, end = _user_range(addr, length)
    advice = s32(advice)
    if advice not in KNOWN_ADVICE:
        raise LinuxError(EINVAL)
    if advice == MADV_DONTNEED and start < end:
        vm = t.process.vm
        if not vm.covers(start, end):
            raise LinuxError(ENOMEM)
        # Private pages read back as zeros (or the file's bytes) afterwards: drop them.
        # Shared pages stay in their object, so they read back unchanged.
        vm.vm_space.cursor_mut(start, end).unmap(end - start)
    return 0


def sys_msync(t, addr, length, flags, *_):
    flags = s32(flags)
    if flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) or (flags & MS_ASYNC and flags & MS_SYNC):
        raise LinuxError(EINVAL)
    start, end = _user_range(addr, length)
    vm = t.process.vm
    if not vm.covers(start, end):
        raise LinuxError(ENOMEM)
    vm.sync_shared(start, end)
    return 0


def sys_mremap(t, old_addr, old_size, new_size, flags, new_addr, *_):
    flags = s32(flags)
    if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) or old_addr % PAGE_SIZE:
        raise LinuxError(EINVAL)
    if flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
        raise LinuxError(EINVAL)
    if flags & MREMAP_DONTUNMAP:
        raise LinuxError(EINVAL)  # not supported
    old_size, new_size = page_up(old_size), page_up(new_size)
    if new_size == 0 or old_size == 0:
        raise LinuxError(EINVAL)
    vm = t.process.vm
    area = vm.find(old_addr)
    if area is None or old_addr + old_size > area.end:
        raise LinuxError(EFAULT)
    old_end = old_addr + old_size
    _check_address_space_limit(t, new_size - old_size)
    if flags & MREMAP_FIXED:
        if new_addr % PAGE_SIZE or new_addr + new_size > USER_TOP:
            raise LinuxError(EINVAL)
        if new_addr < old_end and old_addr < new_addr + new_size:
            raise LinuxError(EINVAL)
        vm.remove(new_addr, new_addr + new_size)
        return _move(vm, old_addr, old_size, new_size, new_addr)
    if new_size <= old_size:
        if new_size < old_size:
            vm.remove(old_addr + new_size, old_end)
        return old_addr
    # Grow in place if the space after the area is free, else move (MREMAP_MAYMOVE).
    if old_end == area.end and old_addr + new_size <= USER_TOP and not vm.overlaps(old_end, old_addr + new_size):
        area.end = old_addr + new_size
        if area.file_end and area.backing is not None:
            area.file_end = min(area.start + len(area.backing) - area.offset, area.end)
        return old_addr
    if not flags & MREMAP_MAYMOVE:
        raise LinuxError(ENOMEM)
    return _move(vm, old_addr, old_size, new_size, vm.find_free(new_size))


def _move(vm, old_addr: int, old_size: int, new_size: int, new_addr: int) -> int:
    keep = min(old_size, new_size)
    if old_size > keep:
        vm.remove(old_addr + keep, old_addr + old_size)
    vm.move(old_addr, old_addr + keep, new_addr)
    if new_size > keep:
        moved = vm.find(new_addr + keep - PAGE_SIZE)
        extension = moved.copy()
        extension.start, extension.end = new_addr + keep, new_addr + new_size
        if extension.backing is not None or extension.shared_mem is not None:
            extension.offset = moved.offset + (extension.start - moved.start)
        vm.add(extension)
    return new_addr


SYSCALLS = (
    (nr.SYS_BRK, sys_brk, False),
    (nr.SYS_MMAP, sys_mmap, False),
    (nr.SYS_MUNMAP, sys_munmap, False),
    (nr.SYS_MPROTECT, sys_mprotect, False),
    (nr.SYS_MADVISE, sys_madvise, False),
    (nr.SYS_MSYNC, sys_msync, False),
    (nr.SYS_MREMAP, sys_mremap, False),
)
