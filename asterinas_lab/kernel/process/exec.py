"""execve: replace a process's program with a new one.

The new program is checked and planned first (ELF parsing, argument sizes), and its
address space built beside the old one; only then, past the point of no return, does
the process switch to it. A failure before that leaves the caller untouched, which is
why a bad program file just gets ``-ENOEXEC`` back.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ...ostd import Event, VmWriter, events
from ..error import ELOOP, ENOEXEC, LinuxError
from ..fs.stat import S_ISGID, S_ISUID
from ..fs.vfs import MS_NOSUID
from ..loader.elf import ElfImage, parse_elf
from ..loader.init_stack import AuxvParams, build_initial_stack
from ..vm.shared import SharedMemory, page_cache
from ..vm.vmar import PROT_READ, PROT_WRITE, STACK_MAX, STACK_TOP, VmArea, page_down, page_up
from .process import Credentials, Process, Thread, new_process_vm

if TYPE_CHECKING:
    from ..fs.ramfs import Inode
    from ..main import Kernel

MAX_SHEBANG_DEPTH = 4
RLIMIT_STACK = 3
MIN_STACK = 128 << 10
_SHEBANG_MAX = 256


def read_program(kernel: Kernel, process: Process, path: bytes) -> tuple[Inode, bytes]:
    inode = kernel.vfs.lookup(path, process.cwd)
    kernel.vfs.check_exec(inode)  # a regular file with execute permission: else EACCES
    if inode.page_cache is not None:
        inode.page_cache.sync_to_file()
    return inode, bytes(inode.data)


def resolve_interpreter(
    kernel: Kernel, process: Process, path: bytes, argv: list[bytes]
) -> tuple[bytes, list[bytes], Inode, bytes]:
    """Follow ``#!`` lines: return (program path, argv, inode, file bytes)."""
    for _ in range(MAX_SHEBANG_DEPTH + 1):
        inode, data = read_program(kernel, process, path)
        if not data.startswith(b"#!"):
            return path, argv, inode, data
        line = data[2:_SHEBANG_MAX].split(b"\n", 1)[0].strip()
        if not line:
            raise LinuxError(ENOEXEC)
        interp, _, arg = line.partition(b" ")
        arg = arg.strip()
        argv = [interp] + ([arg] if arg else []) + [path] + argv[1:]
        path = interp
    raise LinuxError(ELOOP)


def execve(kernel: Kernel, thread: Thread, path: bytes, argv: list[bytes], envp: list[bytes]) -> None:
    process = thread.process
    program_path, argv, inode, data = resolve_interpreter(kernel, process, path, argv)
    image = parse_elf(data)
    cred = exec_credentials(process.cred, inode)
    vm = new_process_vm()
    stack = _build_address_space(kernel, process, vm, image, page_cache(inode), argv, envp, path, cred)

    # Point of no return: switch the process to the new program.
    _kill_other_threads(thread)
    old_vm = process.vm
    process.vm = vm
    vm.vm_space.activate()
    old_vm.users -= 1
    if old_vm.users == 0:
        old_vm.destroy()
    if process.vfork_done is not None:
        process.vfork_done.wake_all()  # the vfork parent gets its memory back
        process.vfork_done = None
    if process.files.users > 1:
        shared, process.files = process.files, process.files.copy()
        shared.users -= 1
    process.files.close_on_exec()
    process.cred = cred
    process.sig_actions = process.sig_actions.copy()
    process.sig_actions.reset_for_exec()
    thread.altstack = (0, 0, 2)
    thread.signal_contexts.clear()
    thread.clear_child_tid = 0
    thread.robust_list = 0
    process.execed = True
    process.exe_path = kernel.vfs_absolute(program_path, process.cwd)
    process.comm = program_path.rsplit(b"/", 1)[-1][:15]
    process.argv = list(argv)
    if events.active[Event.EXEC]:
        events.emit(Event.EXEC, pid=process.pid, path=process.exe_path, argv=list(argv))
    context = thread.context
    context.reset()
    context.rip = image.entry
    context.rsp = stack


def _kill_other_threads(thread: Thread) -> None:
    """execve in a multi-threaded process: the other threads end, the caller stays
    and becomes the thread-group leader (its tid becomes the pid)."""
    process = thread.process
    for other in process.threads:
        if other is not thread and not other.exited:
            other.exited = True
            other.wake()
    for other in list(process.threads):
        if other is not thread:
            other.data["finished"] = True
    process.threads = [thread]
    thread.tid = process.pid


def exec_credentials(old: Credentials, inode: Inode) -> Credentials:
    """The credentials a program runs with (Linux's ``begin_new_exec`` creds): a
    set-user-ID file runs with its owner as effective uid, a set-group-ID file (if it
    is group-executable; otherwise the bit means mandatory locking) with its group as
    effective gid, unless its mount is nosuid. The saved and file-system ids follow the
    effective ones, as POSIX requires of exec."""
    cred = old.copy()
    if not inode.fs.mount_flags & MS_NOSUID:
        if inode.mode & S_ISUID:
            cred.euid = inode.uid
        if inode.mode & S_ISGID and inode.mode & 0o010:
            cred.egid = inode.gid
    cred.suid = cred.fsuid = cred.euid
    cred.sgid = cred.fsgid = cred.egid
    return cred


def _build_address_space(
    kernel, process, vm, image: ElfImage, cache: SharedMemory, argv, envp, execfn: bytes, cred: Credentials
) -> int:
    for seg in image.segments:
        start = page_down(seg.vaddr)
        end = page_up(seg.vaddr + seg.memsz)
        vm.add(
            VmArea(
                start, end, int(seg.prot), name="[text]" if seg.prot & 4 else "[data]",
                backing=seg.file_bytes, offset=0, file_end=start + seg.copy_offset + len(seg.file_bytes),
                # Whole file pages come from the page cache, shared by every process
                # running this program (copied only if written).
                file_cache=cache if seg.copy_offset == 0 and start == seg.vaddr else None,
                file_base=seg.file_offset,
            )
        )  # fmt: skip
    vm.brk_start = vm.brk = image.brk_start
    # The stack may grow (page by page, on demand) down to RLIMIT_STACK, at most
    # STACK_MAX: the mmap area starts below that.
    stack_size = page_up(max(MIN_STACK, min(STACK_MAX, kernel.rlimit(process, RLIMIT_STACK)[0])))
    vm.add(VmArea(STACK_TOP - stack_size, STACK_TOP, PROT_READ | PROT_WRITE, name="[stack]", grows_down=True))
    stack = build_initial_stack(
        STACK_TOP,
        argv,
        envp,
        replace(
            AuxvParams.from_image(image), uid=cred.uid, euid=cred.euid, gid=cred.gid, egid=cred.egid,
            # AT_SECURE: libc must not trust the environment of a program running with
            # ids its caller does not have.
            secure=cred.euid != cred.uid or cred.egid != cred.gid,
        ),
        kernel.rng.randbytes(16),
        execfn=execfn,
    )
    writer_target = stack.base
    VmWriter(vm.vm_space, writer_target, len(stack.data)).write(stack.data)
    return stack.sp
