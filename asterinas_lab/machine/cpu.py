"""One x86-64 CPU, emulated by unicorn 2.1.4.

This module is "the hardware". It knows nothing about any operating system: it offers
what a CPU offers (registers, control registers, a page-table root, instructions that
trap) and reports two kinds of events to whoever runs it:

* ``syscall``: the user program executed ``syscall``. The handler runs *inside* the
  unicorn hook, with RIP still on the instruction; when the hook returns, unicorn
  adds 2 to RIP (even if the handler wrote RIP), which is exactly the ``sysret``
  return address, so a handler that serves the call and writes RAX is a complete
  round trip without leaving the emulator (the fast path).
* ``exception``: a CPU exception (vector 14 is a page fault, CR2 has the address).
  Returning from the hook retries the faulting instruction.

Either handler may call :meth:`Cpu.stop` to make :meth:`Cpu.run` return; a host timer
may call :meth:`Cpu.interrupt` from another thread for the same effect.

Interrupts are taken at an instruction boundary, as on real hardware. That needs
care: calling ``uc_emu_stop`` from another thread stops the emulator in the middle of
a translated block, just after a memory access, and unicorn then resumes from the
*start* of that block, so the instructions before the stop run twice (a
``counter++`` loop overshoots by about one per interrupt). So the timer only sets a
flag, and a block hook checks it at the start of every translated block, where the
program counter is exact, and stops the emulator from there. The hook is a few bytes
of native code (``_INTERRUPT_CHECK``), called directly by unicorn: a Python callback
per block would cost microseconds; this costs nanoseconds.

Registers are read through a batched ctypes path (``uc_reg_read_batch`` into arrays
allocated once), which is several times faster than the binding's ``reg_read``.

The unicorn #1883 workaround lives here too, because it is a defect of this
"hardware": unicorn never clears the CPU's "exception in flight" field, so a second
page fault would be promoted to a double fault (#DF) and a third would silently halt
emulation. After each exception we save the CPU state, write -1 into that field of the
saved blob and restore it. The field's offset is found at power-on by provoking
faults and comparing saved states, never hard-coded.
"""

from __future__ import annotations

import ctypes
import mmap
import struct
from collections.abc import Callable, Sequence

from unicorn import UC_ARCH_X86, UC_HOOK_BLOCK, UC_HOOK_INSN, UC_HOOK_INTR, UC_MODE_64, UC_PROT_ALL, Uc
from unicorn import x86_const as X  # noqa: N812 - the register constants read best short
from unicorn.unicorn_const import UC_CTL_IO_WRITE, UC_CTL_TB_FLUSH, UC_CTL_TLB_FLUSH
from unicorn.unicorn_py3.arch.intel import HOOK_INSN_SYSCALL_CFUNC
from unicorn.unicorn_py3.unicorn import HOOK_INTR_CFUNC, uclib

from .ram import PAGE_SIZE, PhysicalMemory

# Register identifiers, re-exported so the trusted core never imports unicorn itself.
RAX, RBX, RCX, RDX = X.UC_X86_REG_RAX, X.UC_X86_REG_RBX, X.UC_X86_REG_RCX, X.UC_X86_REG_RDX
RSI, RDI, RBP, RSP = X.UC_X86_REG_RSI, X.UC_X86_REG_RDI, X.UC_X86_REG_RBP, X.UC_X86_REG_RSP
R8, R9, R10, R11 = X.UC_X86_REG_R8, X.UC_X86_REG_R9, X.UC_X86_REG_R10, X.UC_X86_REG_R11
R12, R13, R14, R15 = X.UC_X86_REG_R12, X.UC_X86_REG_R13, X.UC_X86_REG_R14, X.UC_X86_REG_R15
RIP, RFLAGS = X.UC_X86_REG_RIP, X.UC_X86_REG_RFLAGS
FS_BASE, GS_BASE = X.UC_X86_REG_FS_BASE, X.UC_X86_REG_GS_BASE
CR0, CR2, CR3, CR4 = X.UC_X86_REG_CR0, X.UC_X86_REG_CR2, X.UC_X86_REG_CR3, X.UC_X86_REG_CR4
CS = X.UC_X86_REG_CS
XMM0 = X.UC_X86_REG_XMM0
MXCSR = X.UC_X86_REG_MXCSR
FPCW, FPSW, FPTAG = X.UC_X86_REG_FPCW, X.UC_X86_REG_FPSW, X.UC_X86_REG_FPTAG

MSR_EFER = 0xC000_0080
MSR_STAR = 0xC000_0081
EFER_SCE, EFER_LME, EFER_LMA, EFER_NXE = 1 << 0, 1 << 8, 1 << 10, 1 << 11
CR0_PE, CR0_MP, CR0_NE, CR0_WP, CR0_PG = 1 << 0, 1 << 1, 1 << 5, 1 << 16, 1 << 31
CR4_PAE, CR4_OSFXSR, CR4_OSXMMEXCPT = 1 << 5, 1 << 9, 1 << 10

# SYSRET loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8, both with RPL 3.
USER_CS, USER_SS = 0x33, 0x2B
_STAR = (0x23 << 48) | (0x10 << 32)

VECTOR_PAGE_FAULT = 14
VECTOR_DOUBLE_FAULT = 8
VECTOR_INVALID_OPCODE = 6
_UC_ERR_INSN_INVALID = 10

# The stop address handed to emu_start: non-canonical, so no instruction lives there.
_NEVER = 0x8000_0000_0000_0000

SYSCALL_ARG_REGS = (RAX, RDI, RSI, RDX, R10, R8, R9)


def _interrupt_check_code(emu_stop_address: int) -> bytes:
    """x86-64 machine code for the block hook ``void f(uc, address, size, flag)``::

        if (*flag) { *flag = 0; uc_emu_stop(uc); }

    (System V ABI: uc in RDI, the flag pointer in RCX; uc_emu_stop is tail-called
    with RDI untouched.)
    """
    return (
        b"\x83\x39\x00"  # cmp dword [rcx], 0
        b"\x75\x01"  # jne +1
        b"\xc3"  # ret
        b"\xc7\x01\x00\x00\x00\x00"  # mov dword [rcx], 0
        b"\x48\xb8" + struct.pack("<Q", emu_stop_address)  # movabs rax, uc_emu_stop
        + b"\xff\xe0"  # jmp rax
    )


class _NativeCode:
    """A page of host machine code: written, then made read-only and executable."""

    def __init__(self, code: bytes) -> None:
        self._page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        self._page.write(code)
        self.address = ctypes.addressof(ctypes.c_char.from_buffer(self._page))
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        if libc.mprotect(self.address, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
            raise OSError(ctypes.get_errno(), "mprotect of the interrupt-check code failed")


def _ctl_code(ctl: int, nargs: int) -> int:
    return ctl | (nargs << 26) | (UC_CTL_IO_WRITE << 30)


class HookError(Exception):
    """An exception escaped from a handler called inside the emulator."""


class Cpu:
    """An x86-64 CPU in long mode with paging on, attached to ``ram`` at physical 0.

    Invariant: between calls to :meth:`run`, the CPU is stopped and its whole state can
    be read and written; during :meth:`run`, only the handlers (called from unicorn's
    hooks) and :meth:`interrupt` (from any thread) touch it.
    """

    def __init__(self, ram: PhysicalMemory) -> None:
        self.ram = ram
        uc = Uc(UC_ARCH_X86, UC_MODE_64)
        self._uc = uc
        self._h = uc._uch
        uc.mem_map_ptr(0, ram.size, UC_PROT_ALL, ram.host_address)
        self.on_syscall: Callable[[], None] = self._unhandled_syscall
        self.on_exception: Callable[[int], None] = self._unhandled_exception
        self._hook_error: BaseException | None = None
        self.interrupt_pending = False
        self.running = False
        # Set by interrupt() from any thread; the block hook stops at the next block.
        self._interrupt_flag = ctypes.c_int32(0)

        # Preallocated arrays for the fast register path.
        n = len(SYSCALL_ARG_REGS)
        self._sys_ids = (ctypes.c_int32 * n)(*SYSCALL_ARG_REGS)
        self._sys_vals = (ctypes.c_uint64 * n)()
        self._sys_ptrs = (ctypes.c_void_p * n)(
            *[ctypes.addressof(self._sys_vals) + 8 * i for i in range(n)]
        )
        self._one = ctypes.c_uint64()
        self._one_ref = ctypes.byref(self._one)
        self._reg_read = uclib.uc_reg_read
        self._reg_write = uclib.uc_reg_write
        self._reg_read_batch = uclib.uc_reg_read_batch
        self._emu_start = uclib.uc_emu_start
        self._emu_stop = uclib.uc_emu_stop
        self._ctx_size = uclib.uc_context_size(self._h)
        self._scratch = self.new_context()

        # Hooks go straight to the C API (no per-call wrapper objects).
        self._syscall_cb = HOOK_INSN_SYSCALL_CFUNC(self._syscall_hook)
        self._intr_cb = HOOK_INTR_CFUNC(self._intr_hook)
        self._hooks = []
        for htype, cb, extra in (
            (UC_HOOK_INSN, self._syscall_cb, (ctypes.c_int(X.UC_X86_INS_SYSCALL),)),
            (UC_HOOK_INTR, self._intr_cb, ()),
        ):
            handle = ctypes.c_size_t()
            err = uclib.uc_hook_add(
                self._h, ctypes.byref(handle), htype, ctypes.cast(cb, ctypes.c_void_p),
                None, ctypes.c_uint64(1), ctypes.c_uint64(0), *extra,
            )
            if err:
                raise RuntimeError(f"uc_hook_add failed: {err}")
            self._hooks.append(handle)
        emu_stop_address = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value
        self._interrupt_check = _NativeCode(_interrupt_check_code(emu_stop_address))
        handle = ctypes.c_size_t()
        err = uclib.uc_hook_add(
            self._h, ctypes.byref(handle), UC_HOOK_BLOCK, ctypes.c_void_p(self._interrupt_check.address),
            ctypes.c_void_p(ctypes.addressof(self._interrupt_flag)), ctypes.c_uint64(1), ctypes.c_uint64(0),
        )  # fmt: skip
        if err:
            raise RuntimeError(f"uc_hook_add failed: {err}")
        self._hooks.append(handle)

        self._init_long_mode()
        # The state at power-on (CPL 0, long mode): where fresh user threads start from,
        # since only SYSRET from CPL 0 can enter user mode with the right selectors.
        self.power_on_context = self.new_context()
        self.save_context(self.power_on_context)
        self._exception_field: int | None = None
        self._exception_field = self._locate_exception_field()

    # --- power-on -------------------------------------------------------------------

    def _init_long_mode(self) -> None:
        uc = self._uc
        uc.reg_write(CR4, CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT)
        uc.reg_write(X.UC_X86_REG_MSR, (MSR_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
        uc.reg_write(CR0, CR0_PE | CR0_MP | CR0_NE | CR0_WP | CR0_PG)
        uc.reg_write(X.UC_X86_REG_MSR, (MSR_STAR, _STAR))

    def _locate_exception_field(self) -> int:
        """Find the offset of "exception in flight" inside a saved CPU state.

        We build a throw-away address space in the last five frames of RAM, enter user
        mode and fault three times on a supervisor page. The field reads -1 before the
        first fault, 14 (#PF) after it, and 8 (#DF) after the second, because of the
        bug itself. Exactly one 32-bit field moves that way.
        """
        top = self.ram.size - 5 * PAGE_SIZE
        pml4, pdpt, pd, pt, code = (top + i * PAGE_SIZE for i in range(5))
        view = self.ram.view
        present_rw_user = 0x7
        struct.pack_into("<Q", view, pml4, pdpt | present_rw_user)
        struct.pack_into("<Q", view, pdpt, pd | present_rw_user)
        struct.pack_into("<Q", view, pd, pt | present_rw_user)
        struct.pack_into("<Q", view, pt, pt | 0x1)  # virt 0: supervisor-only, read-only
        struct.pack_into("<Q", view, pt + 8, code | 0x5)  # virt 0x1000: user code
        struct.pack_into("<Q", view, pt + 16, code | 0x1)  # virt 0x2000: sysretq, supervisor
        fault = bytes.fromhex("488b042500000000")  # mov rax, [0]
        view[code : code + 3 * len(fault) + 2] = fault * 3 + b"\x0f\x05"
        view[code + 0x800 : code + 0x803] = b"\x48\x0f\x07"  # sysretq
        snapshots: list[bytes] = []

        def snap() -> None:
            self.save_context(self._scratch)
            snapshots.append(ctypes.string_at(self._scratch.value, self._ctx_size))

        def on_exception(vector: int) -> None:
            snap()
            self.write_reg(RIP, self.read_reg(RIP) + len(fault))
            if len(snapshots) == 3:
                self.stop()

        saved = self.on_syscall, self.on_exception
        self.on_exception = on_exception
        self.on_syscall = self.stop
        try:
            self.set_cr3(pml4)
            snap()
            self.write_regs({RCX: 0x1000, R11: 0x202})
            self.run(0x2800)
        finally:
            self.on_syscall, self.on_exception = saved
            view[top : top + 5 * PAGE_SIZE] = bytes(5 * PAGE_SIZE)
            self.set_cr3(0)
            self.flush_translations()
        before, first, second = snapshots[:3]
        candidates = [
            off
            for off in range(0, self._ctx_size - 3, 4)
            if struct.unpack_from("<i", before, off)[0] == -1
            and struct.unpack_from("<i", first, off)[0] == VECTOR_PAGE_FAULT
            and struct.unpack_from("<i", second, off)[0] == VECTOR_DOUBLE_FAULT
        ]
        if len(candidates) != 1:
            raise RuntimeError(f"cannot locate unicorn's exception field: {candidates}")
        return candidates[0]

    # --- running ----------------------------------------------------------------------

    def run(self, rip: int, count: int = 0) -> None:
        """Execute from ``rip`` until a handler calls :meth:`stop`, an interrupt, or
        ``count`` instructions (0: no limit)."""
        if self._exception_field is not None:
            # Stopping inside a syscall hook also leaves a stale exception (#GP) in
            # flight; left there, the next fault would be promoted to a double fault.
            self._clear_exception_in_flight()
        self._hook_error = None
        self.running = True
        try:
            # count > 0 stops after that many instructions (single-stepping: unicorn then
            # counts every instruction, which is slow, so it is never used otherwise).
            err = self._emu_start(self._h, rip, _NEVER, 0, count)
        finally:
            self.running = False
        if self._hook_error is not None:
            error, self._hook_error = self._hook_error, None
            raise error
        if err == _UC_ERR_INSN_INVALID:
            # unicorn ends emulation on an undefined opcode (ud2, or an instruction it
            # does not implement) instead of raising #UD: deliver it as vector 6.
            self.on_exception(VECTOR_INVALID_OPCODE)
        elif err:
            raise RuntimeError(f"uc_emu_start failed: error {err}")

    def stop(self) -> None:
        """Called from a handler: make :meth:`run` return after this instruction."""
        self._emu_stop(self._h)

    def interrupt(self) -> None:
        """Called from any thread (the timer): raise an interrupt. Emulation stops at
        the start of the next translated block (see the module docstring)."""
        self.interrupt_pending = True
        self._interrupt_flag.value = 1

    def _syscall_hook(self, _uc: int, _user: int) -> None:
        try:
            self.on_syscall()
        except BaseException as error:  # noqa: BLE001 - reported by run()
            self._hook_error = error
            self._emu_stop(self._h)

    def _intr_hook(self, _uc: int, vector: int, _user: int) -> None:
        try:
            if self._exception_field is not None:
                self._clear_exception_in_flight()
            self.on_exception(vector)
        except BaseException as error:  # noqa: BLE001 - reported by run()
            self._hook_error = error
            self._emu_stop(self._h)

    def _clear_exception_in_flight(self) -> None:
        scratch = self._scratch
        uclib.uc_context_save(self._h, scratch)
        ctypes.memmove(scratch.value + self._exception_field, b"\xff\xff\xff\xff", 4)
        uclib.uc_context_restore(self._h, scratch)

    def _unhandled_syscall(self) -> None:
        raise RuntimeError("syscall with no handler installed")

    def _unhandled_exception(self, vector: int) -> None:
        raise RuntimeError(f"CPU exception {vector} with no handler installed")

    # --- registers ----------------------------------------------------------------------

    def syscall_args(self) -> tuple[int, int, int, int, int, int, int]:
        """RAX (the number) and the six argument registers, in one batched read."""
        self._reg_read_batch(self._h, self._sys_ids, self._sys_ptrs, 7)
        return tuple(self._sys_vals)  # type: ignore[return-value]

    def read_reg(self, reg: int) -> int:
        self._reg_read(self._h, reg, self._one_ref)
        return self._one.value

    def write_reg(self, reg: int, value: int) -> None:
        self._one.value = value & 0xFFFF_FFFF_FFFF_FFFF
        self._reg_write(self._h, reg, self._one_ref)

    def read_regs(self, regs: Sequence[int]) -> list[int]:
        n = len(regs)
        ids = (ctypes.c_int32 * n)(*regs)
        vals = (ctypes.c_uint64 * n)()
        ptrs = (ctypes.c_void_p * n)(*[ctypes.addressof(vals) + 8 * i for i in range(n)])
        self._reg_read_batch(self._h, ids, ptrs, n)
        return list(vals)

    def write_regs(self, values: dict[int, int]) -> None:
        for reg, value in values.items():
            self.write_reg(reg, value)

    def read_xmm(self, index: int) -> int:
        """One 128-bit SSE register as an integer."""
        return self._uc.reg_read(XMM0 + index)

    def write_xmm(self, index: int, value: int) -> None:
        self._uc.reg_write(XMM0 + index, value)

    def fault_address(self) -> int:
        return self.read_reg(CR2)

    # --- address translation ------------------------------------------------------------

    def set_cr3(self, root: int) -> None:
        """Switch the page-table root. Writing CR3 also flushes the TLB."""
        self.write_reg(CR3, root)

    def flush_tlb(self) -> None:
        uclib.uc_ctl(self._h, _ctl_code(UC_CTL_TLB_FLUSH, 0))

    def flush_translations(self) -> None:
        """Drop all translated code (needed after code bytes change behind the CPU)."""
        if self._h is not None:  # a powered-off CPU has nothing to flush
            uclib.uc_ctl(self._h, _ctl_code(UC_CTL_TB_FLUSH, 0))

    def close(self) -> None:
        """Power off: free the emulator. The Cpu must not be used afterwards."""
        if self._uc is not None:
            # The binding has no close(); its weakref finalizer is the one place that
            # calls uc_close, and calling it now makes the later GC a no-op.
            self._uc._Uc__finalizer()
            self._uc = None
            self._h = None

    # --- saved CPU states ---------------------------------------------------------------

    def new_context(self) -> ctypes.c_void_p:
        ctx = ctypes.c_void_p()
        err = uclib.uc_context_alloc(self._h, ctypes.byref(ctx))
        if err:
            raise MemoryError("uc_context_alloc failed")
        return ctx

    def free_context(self, ctx: ctypes.c_void_p) -> None:
        uclib.uc_context_free(ctx)

    def save_context(self, ctx: ctypes.c_void_p) -> None:
        uclib.uc_context_save(self._h, ctx)

    def restore_context(self, ctx: ctypes.c_void_p) -> None:
        uclib.uc_context_restore(self._h, ctx)

    def copy_context(self, dst: ctypes.c_void_p, src: ctypes.c_void_p) -> None:
        ctypes.memmove(dst.value, src.value, self._ctx_size)

    def context_read(self, ctx: ctypes.c_void_p, reg: int) -> int:
        uclib.uc_context_reg_read(ctx, reg, self._one_ref)
        return self._one.value

    def context_write(self, ctx: ctypes.c_void_p, reg: int, value: int) -> None:
        self._one.value = value & 0xFFFF_FFFF_FFFF_FFFF
        uclib.uc_context_reg_write(ctx, reg, self._one_ref)
