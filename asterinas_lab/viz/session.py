"""Run a program under a notebook's control: pause, step, inspect, go on.

``Session(argv)`` boots a machine and starts ``argv`` as pid 1 exactly as
``runner.run`` does (same options), but the machine runs inside a greenlet of its own
and stops whenever the session says so. The kernel gives a *debugger* control after
every return to the kernel (``kernel.debugger``, see ``kernel/process/thread_loop.py``);
the session's debugger switches back to the notebook from there, in the thread's
kernel task, never from inside the emulator. While it is paused, the machine can be
looked at::

    s = Session(["/bin/hello"])     # paused at the entry point, before the first instruction
    s.registers()                   # the user registers (those changed by the last step highlighted)
    s.disassemble()                 # the next instructions, from RIP
    s.step()                        # one instruction
    s.step_syscall()                # run to just after the next syscall...
    s.last_syscall                  # ... and see it, strace-style
    s.hexdump(s.registers()["rsp"], 64)
    s.processes()                   # like ps
    result = s.run()                # to the end: the RunResult runner.run would give

Each inspection returns an object that draws itself in a notebook
(``_repr_mimebundle_``: text/plain and text/html), from ``asterinas_lab.viz.inspector``;
looking changes nothing (no page is faulted in to be shown).
``run_until(predicate)`` runs until ``predicate(session)`` holds at a stop; ``close()``
kills every process and lets the machine run to its end.

The machine's timer keeps ticking while it is paused; a tick only sets a flag, so the
first thing a resumed machine does is usually to take that interrupt (and maybe to
switch to another thread: ``step`` keeps following its thread).

One machine exists at a time (OSTD's state is global): a new Session closes the
previous one, and ``runner.run`` (or ``trace``) called while a session is paused powers
that session's machine off; the session then says so and refuses to go on.

This is a tool outside the trusted core, like a hardware debugger: it reads the
kernel's and OSTD's state and changes nothing but the pace of the machine.
"""

from __future__ import annotations

import atexit
import enum
import html
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from greenlet import greenlet

from .. import runner
from ..kernel.syscall.strace import pid_prefixed
from ..ostd import USER_SPACE_END, ReturnReason, events, platform
from ..ostd.events import Event
from . import inspector
from .inspector import MONO, AreaTable, Disassembly, HexDump, ProcessTable, Registers

SIGKILL = 9
VECTOR_NAMES = {0: "divide error", 1: "debug trap", 3: "breakpoint", 4: "overflow", 5: "bound range",
                6: "invalid opcode", 8: "double fault", 13: "general protection fault", 14: "page fault",
                16: "x87 error", 17: "alignment check", 19: "SIMD error"}  # fmt: skip
#: Two quirks of unicorn 2.1.4's instruction count (``uc_emu_start(count=N)``), which
#: single-stepping uses:
#: * a run stopped by its count followed directly by an uncounted run leaves a stale
#:   exception in flight, which turns the next page fault into a double fault (the
#:   program dies of SIGSEGV). So the first free run after a step is counted, with
#:   this budget: it ends some other way (a syscall, a fault, a tick), and later runs
#:   are uncounted again (counting slows the CPU down several times);
#: * code translated during an uncounted run is not counted when it runs again: a
#:   "single step" there runs on up to the next syscall. So the translations are
#:   dropped before a step that follows an uncounted run.
FREE_RUN_AFTER_STEP = 1 << 62


class SessionError(RuntimeError):
    """The session cannot do that (the program has finished, or its machine is gone)."""


class _Mode(enum.Enum):
    ENTRY = "entry"  # boot, then stop before the first user instruction
    STEP = "step"  # single-step one thread (or any), count the instructions
    SYSCALL = "syscall"  # run freely, stop after a syscall
    UNTIL = "until"  # run (or single-step), stop when a predicate holds
    RUN = "run"  # run to the end
    KILL = "kill"  # kill every process, then run to the end


def _may_repeat(process: Any, rip: int) -> bool:
    """Can the instruction at ``rip`` leave RIP where it was (a jump to itself, a rep
    string instruction)? True if it cannot be read (then we cannot tell)."""
    import capstone

    code = inspector.read_readable(process, rip, 15)
    insn = next(capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64).disasm(code, rip), None)
    if insn is None:
        return True
    if insn.mnemonic.startswith("rep"):
        return True
    return insn.op_str == f"{rip:#x}" and (insn.mnemonic.startswith(("j", "loop")))


@dataclass(frozen=True)
class SyscallStop:
    """A syscall the machine served (from the SYSCALL_EXIT event)."""

    pid: int
    tid: int
    number: int
    name: str
    ret: int | None  # None for calls that do not return (exit, exit_group)
    text: str  # strace's line

    def __str__(self) -> str:
        return pid_prefixed(self.text, self.tid, self.pid)


class _Debugger:
    """What the kernel calls (``kernel.debugger``): ``instructions`` before each user
    run, ``after`` after each return to the kernel, both in the thread's task."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def instructions(self, thread: Any) -> int:
        return self.session._instructions(thread)

    def after(self, thread: Any, reason: ReturnReason) -> None:
        self.session._after(thread, reason)


_active: Session | None = None
# Paused sessions whose machine was powered off under them: kept referenced, because a
# collected greenlet would unwind (GreenletExit) through the kernel code of a dead machine.
_graveyard: list[Session] = []
_at_exit_registered = False


def _register_at_exit() -> None:
    global _at_exit_registered
    if not _at_exit_registered:
        _at_exit_registered = True
        atexit.register(_close_at_exit)


class Session:
    """A program running under the notebook's control. See the module docstring."""

    def __init__(self, argv: list[str | bytes] | str | bytes, **run_options: Any) -> None:
        global _active
        self.argv = [argv] if isinstance(argv, str | bytes) else list(argv)
        self._run_options = dict(run_options)
        self._user_with_kernel: Callable[[Any], object] | None = self._run_options.pop("with_kernel", None)
        self.kernel: Any = None
        #: The RunResult, once the program has finished.
        self.result: runner.RunResult | None = None
        #: The thread the machine is paused in, and why it last came back to the kernel.
        self.thread: Any = None
        self.reason: ReturnReason | None = None
        #: Returns to the kernel seen, and user instructions single-stepped.
        self.stops = 0
        self.steps = 0
        #: The most recent syscalls served (all threads), and counts since boot.
        self.syscalls: deque[SyscallStop] = deque(maxlen=10_000)
        self.syscall_count = 0
        self.page_faults = 0
        self.abandoned = False
        self._mode = _Mode.ENTRY
        self._remaining = 0
        self._follow: int | None = None  # STEP/SYSCALL: only this tid counts (None: any)
        self._syscall_name: str | None = None
        self._predicate: Callable[[Session], object] | None = None
        self._until_step = False
        self._origins: dict[int, tuple[int, bool]] = {}  # tid -> RIP before its single step, fresh
        self._idle_runs: dict[int, int] = {}  # tid -> single steps in a row that ran nothing
        # The CPU's instruction count (see FREE_RUN_AFTER_STEP): runs handed out so far
        # (all threads), the latest of each thread, the budget of the latest free run...
        self._run_seq = 0
        self._run_of: dict[int, int] = {}
        self._free_budget: int | None = None
        self._count_stopped = False  # a run may have been stopped by its count
        self._stale_translations = False  # code may have been translated uncounted
        self._registers: dict[int, dict[str, int]] = {}  # tid -> registers at its latest pause
        self._previous: dict[int, dict[str, int]] = {}  # tid -> registers at the pause before that
        self._platform: Any = None
        self._paused: greenlet | None = None  # the kernel task the machine is paused in
        self._caller: greenlet | None = None  # the notebook's greenlet, which drives the machine
        self._running = False
        self._error: BaseException | None = None
        self._undo: list[Callable[[], None]] = []
        self._stdout: bytearray | None = None
        self._stderr: bytearray | None = None
        previous = _active
        if previous is not None and not previous.finished and not previous.abandoned:
            previous.close()
        _active = self
        self._machine = greenlet(self._machine_main)
        self._switch(self._machine)

    # --- state ----------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.result is not None

    @property
    def paused(self) -> bool:
        return self._paused is not None and not self.abandoned and not self._machine_gone()

    @property
    def process(self) -> Any:
        """The process of the thread the machine is paused in."""
        return self.thread.process if self.thread is not None else None

    @property
    def last_syscall(self) -> SyscallStop | None:
        return self.syscalls[-1] if self.syscalls else None

    @property
    def stdout(self) -> bytes:
        """What the program has written to its stdout so far (with ``capture``, the default)."""
        if self.result is not None:
            return self.result.stdout
        return bytes(self._stdout) if self._stdout is not None else b""

    @property
    def stderr(self) -> bytes:
        if self.result is not None:
            return self.result.stderr
        return bytes(self._stderr) if self._stderr is not None else b""

    def threads(self) -> list[Any]:
        """Every thread of every process the kernel knows."""
        if self.kernel is None:
            return []
        return [t for p in self.kernel.processes.values() for t in p.threads]

    # --- driving the machine ------------------------------------------------------------------------

    def step(self, n: int = 1, thread: Any = None) -> Session:
        """Execute ``n`` user instructions of ``thread`` (a Thread or a tid; default: the
        thread paused in), then pause. A ``syscall`` instruction is served within its
        step. Other threads may run meanwhile (up to their next return to the kernel).
        If the thread exits, the session pauses there."""
        follow = self._tid_of(thread, self.thread)
        if follow is not None and all(t.tid != follow or t.exited for t in self.threads()):
            follow = None  # that thread is gone: step whichever runs
        if n >= 1:
            self._resume(_Mode.STEP, remaining=n, follow=follow)
        return self

    def step_syscall(self, n: int = 1, name: str | None = None, thread: Any = None) -> Session:
        """Run until ``n`` syscalls (only those called ``name``, if given; only those of
        ``thread``, if given, else of any thread) have been served; pause right after."""
        if n >= 1:
            self._syscall_name = name
            self._resume(_Mode.SYSCALL, remaining=n, follow=self._tid_of(thread, None))
        return self

    def run_until(self, predicate: Callable[[Session], object], *, step: bool = False) -> Session:
        """Run until ``predicate(session)`` is true, tested at every stop (each return to
        the kernel: syscalls, exceptions, timer ticks) or, with ``step``, after every
        single instruction of any thread (slow, but exact). An exception raised by the
        predicate pauses the machine and is raised here."""
        self._predicate, self._until_step = predicate, step
        try:
            self._resume(_Mode.UNTIL)
        finally:
            self._predicate = None
        return self

    def run(self) -> runner.RunResult:
        """Run to the end and return the RunResult."""
        if self.result is None:
            self._resume(_Mode.RUN)
        assert self.result is not None
        return self.result

    def close(self) -> runner.RunResult | None:
        """Kill every process (SIGKILL) and let the machine run to its end."""
        global _active
        if self.result is None:
            if self.abandoned or self._machine_gone():
                self._abandon()
                return None
            self._resume(_Mode.KILL)
        if _active is self:
            _active = None
        return self.result

    def _tid_of(self, thread: Any, default: Any) -> int | None:
        thread = default if thread is None else thread
        if thread is None:
            return None
        return thread if isinstance(thread, int) else thread.tid

    def _resume(self, mode: _Mode, remaining: int = 1, follow: int | None = None) -> None:
        if self.result is not None:
            raise SessionError("the program has finished: see session.result")
        if self.abandoned or self._machine_gone():
            self._abandon()
            raise SessionError("this session's machine was powered off (another machine booted)")
        if self._paused is None:
            raise SessionError("the session is not paused")
        self._mode, self._remaining, self._follow = mode, remaining, follow
        self._switch(self._paused)

    def _switch(self, target: greenlet) -> None:
        """Run the machine (in ``target``) until it pauses or ends."""
        if self._running:
            raise SessionError("the session is running: it cannot be driven from inside the machine")
        self._caller = greenlet.getcurrent()
        self._machine.parent = self._caller  # where the machine greenlet goes when it ends
        self._running = True
        self._paused = None
        try:
            target.switch()
        finally:
            self._running = False
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _machine_gone(self) -> bool:
        return self._platform is not None and self.result is None and platform.current is not self._platform

    def _abandon(self) -> None:
        global _active
        if not self.abandoned:
            self.abandoned = True
            self._unsubscribe()
            if self._paused is not None:
                _graveyard.append(self)
        if _active is self:
            _active = None

    # --- inside the machine greenlet ------------------------------------------------------------------

    def _machine_main(self) -> None:
        try:
            self.result = runner.run(self.argv, with_kernel=self._attach, **self._run_options)
        except BaseException as error:  # noqa: BLE001 - handed to the notebook by _switch
            self._error = error
            self.result = runner.RunResult(exit_code=None, signal=None, panic=f"{type(error).__name__}: {error}")
        finally:
            self._unsubscribe()
            self.thread = None
            self._paused = None

    def _attach(self, kernel: Any) -> None:
        self.kernel = kernel
        kernel.debugger = _Debugger(self)
        # runner.run collects the output in bytearrays behind the stdio streams.
        stdio = kernel.config.stdio or ()
        for i, name in ((1, "_stdout"), (2, "_stderr")):
            buffer = getattr(getattr(stdio[i], "_write", None), "__self__", None) if len(stdio) > i else None
            if isinstance(buffer, bytearray):
                setattr(self, name, buffer)
        self._undo = [events.subscribe(Event.SYSCALL_EXIT, self._on_syscall_exit),
                      events.subscribe(Event.PAGE_FAULT, self._on_page_fault)]  # fmt: skip
        if self._user_with_kernel is not None:
            self._user_with_kernel(kernel)

    def _unsubscribe(self) -> None:
        for undo in self._undo:
            undo()
        self._undo = []

    # Event callbacks run synchronously, maybe inside a CPU hook: they only record.
    def _on_syscall_exit(self, _kind: Event, fields: dict[str, Any]) -> None:
        if self._machine_gone():
            self._unsubscribe()  # another machine booted: its events are not ours
            return
        self.syscall_count += 1
        self.syscalls.append(SyscallStop(fields["pid"], fields["tid"], fields["number"], fields["name"],
                                         fields["ret"], fields["text"]))  # fmt: skip

    def _on_page_fault(self, _kind: Event, _fields: dict[str, Any]) -> None:
        if self._machine_gone():
            self._unsubscribe()
            return
        self.page_faults += 1

    def _stepping(self, tid: int) -> bool:
        mode = self._mode
        if mode is _Mode.ENTRY:
            return True
        if mode is _Mode.STEP:
            return self._follow is None or self._follow == tid
        return mode is _Mode.UNTIL and self._until_step

    def _instructions(self, thread: Any) -> int:
        if self._platform is None:
            self._platform = platform.current
            _register_at_exit()
        self._run_seq += 1
        self._run_of[thread.tid] = self._run_seq
        if not self._stepping(thread.tid):
            # See FREE_RUN_AFTER_STEP: after a step, free runs stay counted until one of
            # them is known to have ended in a hook.
            budget = FREE_RUN_AFTER_STEP if self._count_stopped else 0
            self._stale_translations |= budget == 0
            self._free_budget = budget
            return budget
        if self._stale_translations:
            self._platform.cpu.flush_translations()
            self._stale_translations = False
        self._count_stopped = True
        self._free_budget = None
        context = thread.context
        # A context that never ran enters user mode through the trampoline's sysretq:
        # that first run executes no user instruction (a tool may read OSTD's internals).
        fresh = bool(getattr(context, "_fresh", False))
        self._origins[thread.tid] = (context.rip, fresh)
        return 1

    def _note_run_end(self, thread: Any, reason: ReturnReason) -> None:
        """A free counted run that was the CPU's latest and ended in a syscall or an
        exception (a hook stopped it, not the count): uncounted runs are safe again."""
        if (reason is not ReturnReason.KERNEL_EVENT and self._free_budget == FREE_RUN_AFTER_STEP
                and self._run_of.get(thread.tid) == self._run_seq):  # fmt: skip
            self._count_stopped = False

    def _counts_as_step(self, thread: Any, reason: ReturnReason) -> bool:
        """Did that single-step run execute its instruction? Not if it only entered user
        mode, or if a page fault (resolved: the instruction is retried) or a timer
        interrupt stopped it before the instruction."""
        tid = thread.tid
        origin = self._origins.pop(tid, None)
        if origin is None:
            return False  # it ran freely (started before the mode changed)
        rip, fresh = origin
        if thread.exited or reason is not ReturnReason.KERNEL_EVENT:
            self._idle_runs.pop(tid, None)
            return thread.exited or not fresh
        now = thread.context.rip
        if fresh or rip >= USER_SPACE_END or now >= USER_SPACE_END:
            return False  # entering user mode (the trampoline's sysretq, maybe not yet run)
        if now != rip:
            self._idle_runs.pop(tid, None)
            return True
        # RIP did not move. Only an instruction that jumps to itself or repeats (rep)
        # does that; otherwise nothing ran: a page fault or a timer interrupt stopped
        # the run first (the CPU sees the interrupt flag at a block's start, sometimes a
        # run late). Give up after a few tries: the user should see where it is stuck.
        idle = self._idle_runs.get(tid, 0) + 1
        if idle < 8 and not _may_repeat(thread.process, rip):
            self._idle_runs[tid] = idle
            return False
        self._idle_runs.pop(tid, None)
        return True

    def _after(self, thread: Any, reason: ReturnReason) -> None:
        self.stops += 1
        self._note_run_end(thread, reason)
        mode = self._mode
        if mode is _Mode.RUN:
            return
        if mode is _Mode.KILL:
            self._kill_all()
            return
        tid = thread.tid
        pause = False
        if mode is _Mode.ENTRY:
            self._origins.pop(tid, None)
            pause = thread.context.rip < USER_SPACE_END  # not still in the entry trampoline
        elif mode is _Mode.STEP:
            if self._follow is not None and self._follow != tid:
                return
            if self._counts_as_step(thread, reason):
                self.steps += 1
                self._remaining -= 1
                pause = self._remaining <= 0 or (thread.exited and self._follow is not None)
        elif mode is _Mode.SYSCALL:
            if reason is ReturnReason.USER_SYSCALL and self._follow in (None, tid):
                last = self.last_syscall
                if self._syscall_name is None or (last is not None and last.name == self._syscall_name):
                    self._remaining -= 1
                    pause = self._remaining <= 0
        elif mode is _Mode.UNTIL:
            if self._until_step:
                if not self._counts_as_step(thread, reason):
                    return
                self.steps += 1
            self.thread, self.reason = thread, reason
            try:
                pause = bool(self._predicate(self))
            except BaseException as error:  # noqa: BLE001 - the notebook's error, not the kernel's
                self._error = error
                pause = True
        if pause:
            self._pause(thread, reason)

    def _pause(self, thread: Any, reason: ReturnReason) -> None:
        self.thread, self.reason = thread, reason
        tid = thread.tid
        try:
            values = thread.context.general_regs()
        except Exception:  # noqa: BLE001 - an odd state must not oops the thread
            values = None
        if values is not None:
            if tid in self._registers:
                self._previous[tid] = self._registers[tid]
            self._registers[tid] = values
        self._paused = greenlet.getcurrent()
        self._running = False
        self._caller.switch()
        # Resumed by _resume: back into the kernel's thread loop.
        if self._mode is _Mode.KILL:
            self._kill_all()

    def _kill_all(self) -> None:
        from ..kernel.process.lifecycle import exit_group

        self._mode = _Mode.RUN
        for process in list(self.kernel.processes.values()):
            if not process.zombie and not process.exiting:
                exit_group(process, signal=SIGKILL)

    # --- inspection ------------------------------------------------------------------------------------

    def _need_thread(self) -> Any:
        if self.abandoned or self._machine_gone():
            raise SessionError("this session's machine was powered off (another machine booted)")
        if self.thread is None:
            raise SessionError("the machine is not paused in a thread (has the program finished?)")
        return self.thread

    def _thread_arg(self, thread: Any) -> Any:
        current = self._need_thread()
        if thread is None:
            return current
        if isinstance(thread, int):
            for t in self.threads():
                if t.tid == thread:
                    return t
            raise SessionError(f"no thread {thread}")
        return thread

    def registers(self, thread: Any = None) -> Registers:
        """The user registers of the paused thread (or of ``thread``, a Thread or tid):
        a dict; those the last step (since that thread's previous pause) changed are marked."""
        thread = self._thread_arg(thread)
        return inspector.registers(thread, self._previous.get(thread.tid))

    def disassemble(self, n: int = 8, address: int | None = None) -> Disassembly:
        """``n`` instructions from ``address`` (default: the paused thread's RIP)."""
        return inspector.disassemble(self._need_thread(), n, address)

    def hexdump(self, vaddr: int, length: int = 128) -> HexDump:
        """The paused process's memory at ``vaddr``, as ``hexdump -C`` (``??``: unreadable)."""
        return inspector.hexdump(self._need_thread().process, vaddr, length)

    def processes(self) -> ProcessTable:
        """Every process the kernel knows (zombies included): pid, ppid, state, threads."""
        if self.kernel is None:
            return ProcessTable([])
        return inspector.process_table(self.kernel, self.thread if self.paused else None)

    def areas(self, process: Any = None) -> AreaTable:
        """The VM areas of the paused process (or ``process``), with resident pages."""
        return inspector.vm_areas(process if process is not None else self._need_thread().process)

    # --- display ---------------------------------------------------------------------------------------

    def status(self) -> str:
        """One line: where the machine is and why it stopped."""
        name = self.argv[0].decode(errors="replace") if isinstance(self.argv[0], bytes) else str(self.argv[0])
        if self.abandoned or self._machine_gone():
            return f"{name}: abandoned (its machine was powered off when another booted)"
        if self.result is not None:
            r = self.result
            how = f"killed by signal {r.signal}" if r.signal is not None else f"exit status {r.exit_code}"
            extra = f"; panic: {r.panic}" if r.panic else ""
            return f"{name}: finished, {how}{extra} ({self.syscall_count} syscalls)"
        thread = self.thread
        if thread is None:
            return f"{name}: not started"
        process = thread.process
        where = f"pid {process.pid} ({process.comm.decode(errors='replace')}) tid {thread.tid}"
        why = {ReturnReason.USER_SYSCALL: "after a syscall", ReturnReason.USER_EXCEPTION: "after a CPU exception"
               }.get(self.reason, "")  # fmt: skip
        last = self.last_syscall
        trap = getattr(thread.context, "trap", None)
        if self.reason is ReturnReason.USER_EXCEPTION and trap is not None:
            name = VECTOR_NAMES.get(trap.vector, f"exception {trap.vector}")
            why = f"after a {name}" + (f" at {trap.address:#x}" if trap.vector == 14 else "")
        if self._mode is _Mode.ENTRY:
            why = "at the entry point"
        elif self.reason is ReturnReason.USER_SYSCALL and last is not None and last.tid == thread.tid:
            why = f"after {last.text}"
        if thread.exited:
            why = f"exiting{' ' + why if why else ''}"
        try:
            where += f" at {thread.context.rip:#x}"
        except Exception:  # noqa: BLE001
            pass
        return f"{name}: paused in {where}{', ' + why if why else ''}"

    def __repr__(self) -> str:
        return f"<Session {self.status()}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        status = self.status()
        text, parts = [status], [f"<div style='{MONO}'><b>{html.escape(status)}</b></div>"]
        if self.paused:
            try:
                code, regs = self.disassemble(6), self.registers()
            except Exception:  # noqa: BLE001 - show what can be shown
                code = regs = None
            if code is not None and regs is not None:
                text += [code.text(), regs.text()]
                parts.append("<div style='display:flex;gap:2em;align-items:flex-start'>"
                             f"<div>{code.to_html()}</div><div>{regs.to_html(columns=2)}</div></div>")  # fmt: skip
        elif self.result is not None and self.result.stdout:
            out = self.result.stdout.decode(errors="replace")
            text.append(out)
            parts.append(f"<pre>{html.escape(out)}</pre>")
        return {"text/plain": "\n".join(text), "text/html": "".join(parts)}


def _close_at_exit() -> None:
    # Let a paused machine end cleanly (its processes killed) before the interpreter
    # tears down the modules its greenlets would unwind through. Registered once a
    # machine exists, so that it runs before the exit-time finalizers (weakref.finalize)
    # that close the emulator, registered when the first one was created.
    session = _active
    if session is not None and session.result is None and not session.abandoned:
        try:
            session.close()
        except Exception:  # noqa: BLE001
            pass
