"""Run one program on a freshly booted machine: the library API behind the CLI.

``run(["/bin/hello"])`` boots a machine, unpacks a root file system (the built-in
image, or a host directory), starts the program as pid 1 and returns a
:class:`RunResult` with its exit status and, when captured, its output. Notebooks,
tests, the autograder and the benchmarks all go through here.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import ostd
from .images import default_initramfs
from .kernel.device.host_stream import HostStream
from .kernel.fs.initramfs import build_cpio_files, build_cpio_newc
from .kernel.main import Kernel, KernelConfig
from .machine import DEFAULT_RAM_SIZE
from .memcheck import MemcheckReport
from .memcheck import memcheck as audit_memory

DEFAULT_PATH = b"PATH=/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_HOME = b"HOME=/"


@dataclass
class RunResult:
    exit_code: int | None
    signal: int | None
    stdout: bytes = b""
    stderr: bytes = b""
    exec_error: str | None = None
    oopses: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    panic: str | None = None
    #: With ``memcheck=True``: one report per process exit (taken while every
    #: process still alive is intact) and a last one after the run.
    memcheck: list[MemcheckReport] = field(default_factory=list)

    @property
    def memcheck_findings(self) -> list[str]:
        return [str(finding) for report in self.memcheck for finding in report.findings]

    @property
    def status(self) -> int:
        """The shell's view: the exit code, or 128 + N when killed by signal N."""
        if self.signal is not None:
            return 128 + self.signal
        return self.exit_code if self.exit_code is not None else 0


def build_initramfs(root: Path | None, host_files: dict[bytes, tuple[int, bytes]] | None = None) -> bytes:
    archive = build_cpio_newc(root) if root is not None else default_initramfs()
    if host_files:
        archive += build_cpio_files(host_files)
    return archive


def host_program(path: str) -> dict[bytes, tuple[int, bytes]]:
    """A host file to copy into the guest at the same (absolute) path."""
    absolute = os.path.abspath(path).encode()
    st = os.stat(path)
    with open(path, "rb") as f:
        # Executable in the guest whatever its host mode: like qemu-x86_64, we run the
        # file we were given, and a non-program gets "exec format error".
        return {absolute: (stat.S_IFREG | (st.st_mode & 0o7777) | 0o111, f.read())}


def run(
    argv: list[str | bytes],
    *,
    path: str | bytes | None = None,
    root: Path | str | None = None,
    env: dict[str, str] | None = None,
    stdin: bytes | None = b"",
    capture: bool = True,
    strace: bool | Callable[[str], object] = False,
    host_files: dict[bytes, tuple[int, bytes]] | None = None,
    ram_size: int = DEFAULT_RAM_SIZE,
    boot_log: bool = False,
    console: Callable[[bytes], object] | None = None,
    deterministic: bool = False,
    memcheck: bool = False,
    with_kernel: Callable[[Kernel], object] | None = None,
    chaos: int | None = None,
) -> RunResult:
    """Boot, run ``argv`` as pid 1, and return its result.

    ``path`` is the guest path of the program (default: ``argv[0]``).

    ``with_kernel(kernel)`` is called with the kernel before it boots: a notebook or a
    tool uses it to observe the run (``kernel.exit_observers``, event subscriptions).

    ``memcheck`` audits memory (``asterinas_lab.memcheck``) each time a process exits
    and once more at the end; the reports are in ``RunResult.memcheck``.

    ``deterministic`` runs on a virtual clock with preemption by syscall count, so the
    same program and input give the same syscall trace on every run and machine.

    ``chaos=SEED`` runs under the chaos scheduler (``kernel/chaos.py``): deterministic
    mode, plus preemption at random instructions and a random choice of the next
    thread, all from SEED; ``kernel.chaos`` has its counters.

    With ``capture`` the program's stdout and stderr are collected; otherwise they go
    to this process's stdout and stderr (as in the CLI). ``stdin=None`` connects the
    host's stdin.
    """
    args = [a if isinstance(a, bytes) else os.fsencode(a) for a in argv]
    envp = [DEFAULT_PATH, DEFAULT_HOME] + [f"{k}={v}".encode() for k, v in (env or {}).items()]
    initramfs = build_initramfs(Path(root) if root is not None else None, host_files)
    out, err = bytearray(), bytearray()
    stdin_buffer = bytearray(stdin or b"")

    def read_stdin(count: int) -> bytes:
        if stdin is None:
            return os.read(0, count)
        data = bytes(stdin_buffer[:count])
        del stdin_buffer[:count]
        return data

    if capture:
        stdout_file = HostStream("stdout", read_stdin, out.extend)
        stderr_file = HostStream("stderr", read_stdin, err.extend)
        stdin_file = HostStream("stdin", read_stdin, out.extend)
    else:
        stdout_file = HostStream("stdout", read_stdin, _host_writer(1), host_fd=1)
        stderr_file = HostStream("stderr", read_stdin, _host_writer(2), host_fd=2)
        stdin_file = HostStream("stdin", read_stdin, _host_writer(1), host_fd=0 if stdin is None else None)

    trace: Callable[[str], object] | None
    if strace is True:
        trace = (lambda line: err.extend(line.encode() + b"\n")) if capture else _stderr_line
    else:
        trace = strace or None

    def report(message: str) -> None:
        if capture:
            err.extend(f"asterinas-lab: {message}\n".encode())
        else:
            _stderr_line(f"asterinas-lab: {message}")

    kernel = Kernel(
        KernelConfig(
            init_path=os.fsencode(path) if path is not None else args[0], argv=args, envp=envp,
            stdio=(stdin_file, stdout_file, stderr_file), strace=trace, report=report,
            deterministic=deterministic or chaos is not None,
        )
    )  # fmt: skip
    boot_options: dict = {}
    if chaos is not None:
        from .kernel import chaos as chaos_mod

        scheduler = chaos_mod.install(kernel, chaos).scheduler
        boot_options = {"scheduler": scheduler, "timer_period_s": chaos_mod.TIMER_OFF_S}
    result = RunResult(exit_code=None, signal=None)
    if with_kernel is not None:
        with_kernel(kernel)
    if memcheck:
        kernel.exit_observers.append(lambda _process: result.memcheck.append(audit_memory(kernel)))
    try:
        ostd.boot(kernel.main, cmdline=" ".join(a.decode(errors="replace") for a in args),
                  initramfs=initramfs, ram_size=ram_size, idle=kernel.idle,
                  console_sink=console, echo_log=boot_log, **boot_options)  # fmt: skip
    except ostd.Panic as panic:
        result.panic = str(panic)
    if memcheck and result.panic is None:
        result.memcheck.append(audit_memory(kernel))
    process = kernel.init_process
    if process is not None:
        result.exit_code = process.exit_code
        result.signal = process.term_signal
    if kernel.exec_error is not None:
        result.exec_error = os.strerror(kernel.exec_error.errno)
    result.stdout, result.stderr = bytes(out), bytes(err)
    result.oopses = list(kernel.oopses)
    result.log = list(ostd.console.log_lines)
    return result


def _host_writer(fd: int) -> Callable[[bytes], None]:
    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    return write


def _stderr_line(line: str) -> None:
    sys.stderr.flush()
    _host_writer(2)(line.encode(errors="replace") + b"\n")
