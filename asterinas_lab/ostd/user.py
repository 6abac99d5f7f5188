"""Running user code: UserContext, UserMode and ReturnReason (as in Asterinas' OSTD).

A kernel thread serves its user thread with a loop::

    user_mode = UserMode(context)
    while True:
        reason = user_mode.execute(lambda: has_pending_signal())
        if reason is ReturnReason.USER_SYSCALL:
            handle_syscall(user_mode.context)
        elif reason is ReturnReason.USER_EXCEPTION:
            handle_exception(user_mode.context)
        ...

``execute`` runs the user program at CPL 3 on the emulated CPU until it makes a
syscall, raises a CPU exception, or the timer interrupts it. Two optional *fast paths*
let the kernel serve a syscall or a page fault while the CPU is still inside the
emulator, which saves stopping and restarting it; a fast path returns False to fall
back to the loop above (for anything that may block, switch tasks, or change RIP).
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from enum import Enum

from ..machine import cpu as hw
from . import events, platform, timer
from .error import OstdError
from .events import Event
from .mm.page_table import TRAMPOLINE_VADDR
from .unsafe import unsafe

_GENERAL = {
    "rax": hw.RAX, "rbx": hw.RBX, "rcx": hw.RCX, "rdx": hw.RDX,
    "rsi": hw.RSI, "rdi": hw.RDI, "rbp": hw.RBP, "rsp": hw.RSP,
    "r8": hw.R8, "r9": hw.R9, "r10": hw.R10, "r11": hw.R11,
    "r12": hw.R12, "r13": hw.R13, "r14": hw.R14, "r15": hw.R15,
    "rip": hw.RIP, "rflags": hw.RFLAGS, "fs_base": hw.FS_BASE, "gs_base": hw.GS_BASE,
}  # fmt: skip
GENERAL_REGISTERS = tuple(_GENERAL)
_USER_REGISTERS = frozenset(_GENERAL.values())
_USER_RFLAGS = 0x202  # IF set, reserved bit 1 set
_RFLAGS_USER_MASK = 0x0000_0000_0025_8DD5  # CF PF AF ZF SF TF DF OF AC ID: what users may set


class ReturnReason(Enum):
    USER_SYSCALL = "syscall"
    USER_EXCEPTION = "exception"
    KERNEL_EVENT = "kernel event"


class CpuException:
    """The exception that stopped user code: vector and, for a page fault, the address."""

    __slots__ = ("vector", "address")

    PAGE_FAULT = hw.VECTOR_PAGE_FAULT

    def __init__(self, vector: int, address: int) -> None:
        self.vector = vector
        self.address = address

    def __repr__(self) -> str:
        return f"CpuException(vector={self.vector}, address={self.address:#x})"


class UserContext:
    """The user-visible CPU state of one thread: general registers, RIP, RFLAGS, FS/GS
    base and the FPU/SSE state.

    Invariant: while this context is loaded on the CPU, the CPU holds the truth and
    every access goes to it; otherwise the saved state does. Kernel code cannot reach
    control registers, segment selectors or CPL through it.
    """

    __slots__ = ("_blob", "_fresh", "trap", "__weakref__")

    @unsafe
    def __init__(self) -> None:
        p = platform.get()
        self._blob = p.cpu.new_context()
        # SAFETY: both blobs are unicorn CPU states of the same size.
        p.cpu.copy_context(self._blob, p.user_template)
        self._fresh = True
        self.trap: CpuException | None = None

    def __del__(self) -> None:
        p = platform.current
        if p is not None:
            if p.loaded_context is self:
                p.loaded_context = None
            p.cpu.free_context(self._blob)

    @unsafe
    def get(self, reg: int) -> int:
        if reg not in _USER_REGISTERS:
            raise OstdError(f"register {reg} is not a user register")
        p = platform.current
        if p.loaded_context is self:
            return p.cpu.read_reg(reg)
        return p.cpu.context_read(self._blob, reg)

    @unsafe
    def set(self, reg: int, value: int) -> None:
        if reg not in _USER_REGISTERS:
            raise OstdError(f"register {reg} is not a user register")  # e.g. CR3, CS
        if reg == hw.RFLAGS:
            value = (value & _RFLAGS_USER_MASK) | _USER_RFLAGS  # no IOPL, no clearing IF
        p = platform.current
        if p.loaded_context is self:
            p.cpu.write_reg(reg, value)
        else:
            p.cpu.context_write(self._blob, reg, value)

    def syscall_args(self) -> tuple[int, int, int, int, int, int, int]:
        """(number, a0..a5): RAX, RDI, RSI, RDX, R10, R8, R9 in one read."""
        p = platform.current
        if p.loaded_context is self:
            return p.cpu.syscall_args()
        return tuple(self.get(reg) for reg in hw.SYSCALL_ARG_REGS)  # type: ignore[return-value]

    def set_syscall_return(self, value: int) -> None:
        self.set(hw.RAX, value)

    def general_regs(self) -> dict[str, int]:
        return {name: self.get(reg) for name, reg in _GENERAL.items()}

    def set_general_regs(self, values: dict[str, int]) -> None:
        for name, value in values.items():
            if name == "rflags":
                value = (value & _RFLAGS_USER_MASK) | _USER_RFLAGS
            self.set(_GENERAL[name], value)

    @unsafe
    def reset(self) -> None:
        """Start over with all registers zero and a clean FPU (what execve does)."""
        # The template is a CPL-0 state: _fresh makes the next entry go through SYSRET.
        self._load(platform.current.user_template)
        self._fresh = True

    @unsafe
    def _load(self, blob) -> None:
        """Replace this context's whole CPU state with ``blob``."""
        p = platform.current
        if p.loaded_context is self:
            # SAFETY: blob is the user template or a clone of this thread's own state;
            # CR3 is re-written so the restore cannot bring back a stale address space.
            p.cpu.restore_context(blob)
            if p.active_vm_space is not None:
                p.cpu.set_cr3(p.active_vm_space.root_paddr)
        else:
            p.cpu.copy_context(self._blob, blob)
        self.trap = None

    def _sync_out(self, p: platform.Platform) -> None:
        if p.loaded_context is self:
            p.cpu.save_context(self._blob)

    @unsafe
    def clone(self) -> UserContext:
        """A copy of this context (fork): same registers, same FPU state."""
        p = platform.current
        self._sync_out(p)
        copy = UserContext.__new__(UserContext)
        copy._blob = p.cpu.new_context()
        # SAFETY: same-size CPU state blobs; the copy's CPL is the original's (user).
        p.cpu.copy_context(copy._blob, self._blob)
        copy._fresh = self._fresh
        copy.trap = None
        return copy


    # Copying a context is cloning it (a new CPU-state blob); a plain copy would share
    # the blob and free it twice. Contexts cannot be pickled.
    def __copy__(self) -> UserContext:
        return self.clone()

    def __deepcopy__(self, memo: dict) -> UserContext:
        return self.clone()

    def __reduce__(self):
        raise TypeError("user contexts cannot be pickled")

    @unsafe
    def restore_from(self, saved: UserContext) -> None:
        """Make this context a copy of ``saved`` (a clone of this same thread's context
        made earlier): how rt_sigreturn gets back the FPU/SSE state of the code a
        signal interrupted."""
        if saved._fresh:
            raise OstdError("cannot restore from a context that never ran")
        self._load(saved._blob)
        self._fresh = False


def _accessor(reg: int) -> property:
    return property(lambda self: self.get(reg), lambda self, value: self.set(reg, value))


for _name, _reg in _GENERAL.items():
    setattr(UserContext, _name, _accessor(_reg))


class UserMode:
    """Runs one UserContext in user mode. See the module docstring for the loop."""

    def __init__(self, context: UserContext) -> None:
        self.context = context
        self.fast_syscall: Callable[[UserContext], bool] | None = None
        self.fast_page_fault: Callable[[UserContext, int], bool] | None = None
        self._reason: ReturnReason | None = None
        self._event = False

    def notify_kernel_event(self) -> None:
        """Ask ``execute`` to return KERNEL_EVENT at the next kernel entry (e.g. a fast
        syscall just made a signal pending for this very thread)."""
        self._event = True

    @unsafe
    def execute(self, has_kernel_event: Callable[[], bool] | None = None, instructions: int = 0) -> ReturnReason:
        """Run user code until a syscall, an exception or a kernel event; with
        ``instructions`` > 0, at most that many instructions (then KERNEL_EVENT): a
        debugger's single step."""
        p = platform.get()
        cpu = p.cpu
        ctx = self.context
        if p.loaded_context is not ctx:
            # SAFETY: a context switch: park the previous thread's CPU state in its own
            # blob, load ours, then rewrite CR3 (the restore brought back a stale one,
            # and writing CR3 also flushes the TLB).
            if p.loaded_context is not None:
                cpu.save_context(p.loaded_context._blob)
            cpu.restore_context(ctx._blob)
            p.loaded_context = ctx
            if p.active_vm_space is not None:
                cpu.set_cr3(p.active_vm_space.root_paddr)
        ctx.trap = None
        self._reason = None
        self._event = False
        cpu.on_syscall = self._on_syscall
        cpu.on_exception = self._on_exception
        while True:
            if cpu.interrupt_pending:
                cpu.interrupt_pending = False
                timer.tick()
                return ReturnReason.KERNEL_EVENT
            if has_kernel_event is not None and has_kernel_event():
                return ReturnReason.KERNEL_EVENT
            if ctx._fresh:
                # First entry: SYSRET from the CPL-0 trampoline sets CPL 3 and the user
                # code and stack selectors; from then on the CPU stays at CPL 3.
                ctx._fresh = False
                if not platform.times.first_user_instruction:
                    platform.times.first_user_instruction = time.perf_counter()
                cpu.write_reg(hw.RCX, cpu.read_reg(hw.RIP))
                cpu.write_reg(hw.R11, _USER_RFLAGS)
                start = TRAMPOLINE_VADDR
            else:
                start = cpu.read_reg(hw.RIP)
            cpu.run(start, instructions)
            if self._reason is not None:
                return self._reason
            if instructions:
                return ReturnReason.KERNEL_EVENT

    def _on_syscall(self) -> None:
        fast = self.fast_syscall
        if fast is not None and fast(self.context):
            if self._event:
                self._event = False
                self._reason = ReturnReason.KERNEL_EVENT
                platform.current.cpu.stop()
            return
        self._reason = ReturnReason.USER_SYSCALL
        platform.current.cpu.stop()

    def _on_exception(self, vector: int) -> None:
        cpu = platform.current.cpu
        address = cpu.fault_address() if vector == hw.VECTOR_PAGE_FAULT else 0
        if vector == hw.VECTOR_PAGE_FAULT and events.active[Event.PAGE_FAULT]:
            events.emit(Event.PAGE_FAULT, address=address, rip=cpu.read_reg(hw.RIP))
        if vector == hw.VECTOR_PAGE_FAULT and self.fast_page_fault is not None:
            if self.fast_page_fault(self.context, address):
                return
        self.context.trap = CpuException(vector, address)
        self._reason = ReturnReason.USER_EXCEPTION
        cpu.stop()


def new_user_template(cpu: hw.Cpu) -> ctypes.c_void_p:
    """The CPU state every new UserContext starts from: CPL 0, all registers zero."""
    cpu.restore_context(cpu.power_on_context)
    for reg in _GENERAL.values():
        cpu.write_reg(reg, 0)
    cpu.write_reg(hw.RFLAGS, _USER_RFLAGS)
    blob = cpu.new_context()
    cpu.save_context(blob)
    return blob
