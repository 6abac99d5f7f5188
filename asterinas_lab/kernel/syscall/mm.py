"""Memory syscalls: brk, mmap, munmap, mprotect, madvise.

They change VM areas (what may be mapped); pages appear later, on first touch, through
the page-fault handler. Unmapping and tightening protections go through OSTD's
cursor, which flushes the TLB before frames can be reused.
"""

from __future__ import annotations

from ...ostd import PAGE_SIZE
from ..error import EACCES, EEXIST, EINVAL, ENODEV, ENOMEM, LinuxError
from ..vm.vmar import USER_TOP, VmArea, page_down, page_up
from . import numbers as nr
from .args import s32, s64

MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE = 0x01, 0x02, 0x03
MAP_TYPE = 0x0F
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_FIXED_NOREPLACE = 0x100000
MADV_DONTNEED = 4
PROT_MASK = 0x7


def sys_brk(t, addr, *_):
    vm = t.process.vm
    if addr < vm.brk_start or addr >= USER_TOP:
        return vm.brk
    old_end, new_end = page_up(vm.brk), page_up(addr)
    if new_end > old_end:
        if vm.overlaps(old_end, new_end):
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
    area = VmArea(addr, addr + length, prot, shared=flags & MAP_TYPE != MAP_PRIVATE)
    if not flags & MAP_ANONYMOUS:
        file = t.process.files.get(s32(fd))
        inode = getattr(file, "inode", None)
        if inode is None or not inode.is_reg:
            raise LinuxError(ENODEV if inode is None or not inode.is_dir else EACCES)
        if not file.readable:
            raise LinuxError(EACCES)
        data = bytes(inode.data)
        area.backing = data
        area.offset = offset
        area.file_end = addr + max(0, min(length, len(data) - offset))
        area.name = file.path.decode(errors="replace")
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
    if s32(advice) == MADV_DONTNEED and start < end:
        # Private anonymous pages read back as zeros afterwards: drop them.
        t.process.vm.vm_space.cursor_mut(start, end).unmap(end - start)
    return 0


SYSCALLS = (
    (nr.SYS_BRK, sys_brk, False),
    (nr.SYS_MMAP, sys_mmap, False),
    (nr.SYS_MUNMAP, sys_munmap, False),
    (nr.SYS_MPROTECT, sys_mprotect, False),
    (nr.SYS_MADVISE, sys_madvise, False),
)
