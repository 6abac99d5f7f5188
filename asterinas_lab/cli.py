"""The ``asterinas-lab`` command.

``asterinas-lab run [--root DIR] [-E NAME=VALUE]... [--strace] PROG [ARGS...]`` works
like ``qemu-x86_64``: the guest program gets the host's stdin, stdout and stderr, and
the command exits with the program's status (128+N if it was killed by signal N).
``asterinas-lab boot`` boots the built-in image and runs its /init, showing the boot
log; on a terminal it then gives an interactive busybox shell on the console tty
(line editing, ^C/^Z job control; Ctrl-A x powers off), and without one it powers
off when /init ends. ``asterinas-lab grade`` and ``asterinas-lab labs`` are the
course tools (``asterinas_lab.grading``). ``asterinas-lab tcb`` prints the size of the
trusted computing base (OSTD) against the safe kernel; ``tcb --check`` also runs the
boundary check and exits 1, naming each offending ``file:line``, if the kernel breaks
the boundary or OSTD exceeds 15 % of the code. ``asterinas-lab bugs [BUG...]`` runs
the bug catalogue's demonstrations (``asterinas_lab.bugs``) and prints, for each,
whether memory stayed intact. Errors are one line on stderr and a non-zero status,
never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import runner
from .grading import cli as grading_cli

EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
EXIT_PANIC = 70


def _fail(message: str, status: int) -> int:
    print(f"asterinas-lab: {message}", file=sys.stderr)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asterinas-lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a static Linux program on a fresh machine")
    run.add_argument("--root", metavar="DIR", help="host directory to use as the root file system")
    run.add_argument("-E", dest="env", action="append", default=[], metavar="NAME=VALUE",
                     help="add a variable to the guest environment")  # fmt: skip
    run.add_argument("--strace", action="store_true", help="print every syscall to stderr")
    run.add_argument("--ram", type=int, default=256, metavar="MiB", help="RAM size (default 256)")
    run.add_argument("--deterministic", action="store_true",
                     help="virtual clock and syscall-count preemption: the same run every time")
    run.add_argument("prog", metavar="PROG")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
    boot = sub.add_parser("boot", help="boot the built-in image and run /init")
    boot.add_argument("--ram", type=int, default=256, metavar="MiB", help="RAM size (default 256)")
    build = sub.add_parser("build-images", help="rebuild images/bin from images/src (needs ziglang)")
    build.add_argument("--check", action="store_true", help="only check that a rebuild reproduces them")
    tcb = sub.add_parser("tcb", help="measure the trusted computing base (OSTD) against the safe kernel")
    tcb.add_argument("--check", action="store_true",
                     help="check the boundary and the 15 %% ceiling; exit 1 on any violation")  # fmt: skip
    tcb.add_argument("--path", "--kernel", dest="kernel", metavar="DIR",
                     help="the kernel tree to measure and check (default: asterinas_lab/kernel)")  # fmt: skip
    tcb.add_argument("--packages", action="store_true", help="per package only, without the per-module table")
    bugs = sub.add_parser("bugs", help="run the bug catalogue: safe-code bugs contained, OSTD bugs corrupting")
    bugs.add_argument("names", nargs="*", metavar="BUG", help="only these bugs (default: all)")
    bugs.add_argument("--without", action="store_true",
                      help="run the demonstrations with the bugs off (every one must run clean)")
    grading_cli.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "boot":
            return _boot(args)
        if args.command == "build-images":
            return _build_images(args)
        if args.command == "tcb":
            return _tcb(args)
        if args.command == "bugs":
            from . import bugs

            return bugs.main(args.names, injected=not args.without)
        if args.command in grading_cli.COMMANDS:
            return grading_cli.main(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as a killed-by-SIGPIPE tool.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13
    except Exception as error:  # noqa: BLE001 - one clear line instead of a traceback
        if os.environ.get("ASTERINAS_LAB_DEBUG"):
            raise
        return _fail(f"internal error: {type(error).__name__}: {error} "
                     "(set ASTERINAS_LAB_DEBUG=1 for a traceback)", EXIT_PANIC)  # fmt: skip
    return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    if args.root is not None and not os.path.isdir(args.root):
        return _fail(f"--root {args.root}: not a directory", EXIT_USAGE)
    env: dict[str, str] = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            return _fail(f"-E {item}: expected NAME=VALUE", EXIT_USAGE)
        env[name] = value
    host_files = None
    prog = args.prog
    in_root = args.root is not None and os.path.lexists(os.path.join(args.root, prog.lstrip("/")))
    if os.path.isfile(prog) and not in_root:
        try:
            host_files = runner.host_program(prog)
        except OSError as error:
            return _fail(f"{prog}: {error.strerror}", EXIT_NOT_FOUND)
        guest_path = os.path.abspath(prog)
    else:
        guest_path = prog
    result = runner.run(
        [prog, *args.args],
        path=guest_path,
        root=args.root, env=env, stdin=None, capture=False, strace=args.strace,
        deterministic=args.deterministic,
        host_files=host_files, ram_size=args.ram << 20,
    )  # fmt: skip
    return _finish(result, prog)


def _finish(result: runner.RunResult, prog: str) -> int:
    if result.panic is not None:
        return _fail(f"kernel panic: {result.panic}", EXIT_PANIC)
    if result.exec_error is not None:
        if result.exec_error == os.strerror(2):
            return _fail(f"{prog}: No such file or directory", EXIT_NOT_FOUND)
        if result.exec_error == os.strerror(8):
            return _fail(f"{prog}: exec format error", EXIT_NOT_EXECUTABLE)
        return _fail(f"{prog}: {result.exec_error}", EXIT_NOT_EXECUTABLE)
    return result.status


def _boot(args: argparse.Namespace) -> int:
    """Boot the built-in image. On a terminal, the console is a guest tty and the user
    gets a busybox shell on it (job control, ^C, line editing); otherwise /init runs with
    the host's streams and the machine powers off when it ends (scripts, CI)."""
    if os.isatty(0):
        return _boot_interactive(args)

    def console(data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    result = runner.run(["/init"], stdin=None, capture=False, ram_size=args.ram << 20,
                        boot_log=True, console=console)  # fmt: skip
    status = _finish(result, "/init")
    print(f"asterinas-lab: /init exited with status {status}", file=sys.stderr)
    return status


#: What pid 1 runs on an interactive console: /init, then a login-less shell in a
#: session of its own whose controlling terminal is the console (as a getty would
#: arrange), so that job control works; the machine powers off when that shell exits.
INTERACTIVE_INIT = "/init; setsid -c /bin/sh -i; exit $?"
INTERACTIVE_PS1 = r"\w \$ "
#: The escape key of the interactive console (then x: power off), as in qemu.
CTRL_A = 0x01
#: Kernel log lines not echoed on an interactive console: deaths by the signals that
#: terminal keys, hang-ups and shells send as a matter of course.
_ROUTINE_DEATH = rb"\[ *\d+\.\d+\] kernel: pid \d+ \(.*\) killed by SIG(INT|QUIT|HUP|TERM|PIPE|KILL)\n\Z"


def _boot_interactive(args: argparse.Namespace) -> int:
    """``boot`` on a host terminal: the terminal becomes a serial line into the guest.

    The host terminal is put in raw mode (no echo, no line editing, ^C and ^Z passed on
    as bytes), so that the guest's line discipline does all of that, as a serial
    console on real hardware would. Its settings are restored however the run ends.
    """
    import re
    import termios
    import threading

    from .images import HOST_BUSYBOX
    from .kernel.device.tty import SerialDriver, Tty

    fd = 0
    saved = termios.tcgetattr(fd)
    driver = SerialDriver(has_input=True)
    tty = Tty(driver)
    keyboard = _HostKeyboard(fd, driver)
    size = keyboard.terminal_size()
    if size is not None:
        tty.winsize = (size[0], size[1], 0, 0)
    if HOST_BUSYBOX.is_file():
        argv, name = ["/bin/sh", "-c", INTERACTIVE_INIT], "the shell"
    else:
        argv, name = ["/init"], "/init"  # no busybox in the image: no shell to offer

    last = bytearray(b"\n")
    routine_death = re.compile(_ROUTINE_DEATH)

    def console(data: bytes) -> None:
        if routine_death.match(data):
            return  # ^C'ing a job is no news; the line would land amid the user's typing
        # The guest tty sends CR NL itself (ONLCR); the kernel log's lines end in a bare
        # NL, which a raw host terminal would not return to column 0.
        parts = data.split(b"\n")
        out = bytearray()
        for line in parts[:-1]:
            out += line + (b"\n" if (line[-1:] or last) == b"\r" else b"\r\n")
            last[:] = b"\n"
        out += parts[-1]
        if parts[-1]:
            last[:] = parts[-1][-1:]
        view = memoryview(bytes(out))
        while view:
            view = view[os.write(1, view) :]

    raw = termios.tcgetattr(fd)
    raw[0] &= ~(termios.BRKINT | termios.ICRNL | termios.INPCK | termios.ISTRIP | termios.IXON)
    raw[1] &= ~termios.OPOST
    raw[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN | termios.ISIG)
    raw[6][termios.VMIN], raw[6][termios.VTIME] = 1, 0
    feeder = threading.Thread(target=keyboard.run, name="host keyboard", daemon=True)
    print("asterinas-lab: this terminal is the machine's console; Ctrl-A x powers it off", file=sys.stderr)
    try:
        termios.tcsetattr(fd, termios.TCSANOW, raw)
        feeder.start()
        result = runner.run(argv, env={"PS1": INTERACTIVE_PS1}, stdin=None, capture=False,
                            ram_size=args.ram << 20, boot_log=True, console=console,
                            with_kernel=lambda kernel: _on_console(kernel, tty))  # fmt: skip
    except KeyboardInterrupt:
        if not keyboard.forced:
            raise
        result = None
    finally:
        keyboard.stop.set()
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        if feeder.is_alive():
            feeder.join(0.5)
    if result is None or keyboard.forced and result.panic is not None:
        print("asterinas-lab: machine powered off (Ctrl-A x twice)", file=sys.stderr)
        return 128 + 9
    status = _finish(result, argv[0])
    print(f"asterinas-lab: {name} exited with status {status}; machine powered off", file=sys.stderr)
    return status


def _on_console(kernel: object, tty: object) -> None:
    """Give init the console tty as its fds 0-2 (instead of the host's streams)."""
    from .kernel.device.tty import console_stdio

    kernel.config.stdio = console_stdio(tty)  # type: ignore[attr-defined]


class _HostKeyboard:
    """The wire from the host terminal to the machine's serial port: a host thread that
    reads keys and feeds them to the UART (the guest tty polls it), and passes on a new
    terminal size when the window was resized."""

    def __init__(self, fd: int, driver: object) -> None:
        import threading

        self.fd = fd
        self.driver = driver
        self.stop = threading.Event()
        self.escape = False  # Ctrl-A seen: the next key is a command to the CLI
        self.forced = False

    def escapes(self, data: bytes) -> bytes:
        """Ctrl-A x unplugs the line (the guest gets a hang-up, its shell ends, the
        machine powers off); pressed again, it stops the machine outright. Ctrl-A
        Ctrl-A types one Ctrl-A. (qemu's console uses the same keys.)"""
        import _thread

        out = bytearray()
        for key in data:
            if not self.escape:
                if key == CTRL_A:
                    self.escape = True
                else:
                    out.append(key)
                continue
            self.escape = False
            if key in (ord("x"), ord("X")):
                if self.driver.carrier_lost:  # type: ignore[attr-defined]
                    self.forced = True
                    _thread.interrupt_main()
                self.driver.carrier_lost = True  # type: ignore[attr-defined]
            elif key == CTRL_A:
                out.append(CTRL_A)
            else:
                out += bytes([CTRL_A, key])
        return bytes(out)

    def terminal_size(self) -> tuple[int, int] | None:
        try:
            size = os.get_terminal_size(self.fd)
        except OSError:
            return None
        return size.lines, size.columns

    def run(self) -> None:
        import select

        from .ostd import platform

        pending = bytearray()
        size = self.terminal_size()
        try:
            while not self.stop.is_set():
                ready, _, _ = select.select([self.fd], [], [], 0.05)
                if ready:
                    data = os.read(self.fd, 1024)
                    if not data:
                        return  # the terminal went away
                    pending += self.escapes(data)
                machine = platform.current.machine if platform.current is not None else None
                if pending and machine is not None:
                    machine.serial.feed(bytes(pending))
                    pending.clear()
                new_size = self.terminal_size()
                if new_size is not None and new_size != size:
                    size = new_size
                    self.driver.winsize_request = new_size  # type: ignore[attr-defined]
        except (OSError, ValueError):
            return  # stdin closed under us: stop feeding, the run goes on


def _build_images(args: argparse.Namespace) -> int:
    import runpy

    from .images import IMAGES_DIR

    script = IMAGES_DIR / "build.py"
    if not script.is_file():
        return _fail(f"{script}: not found (build-images needs a source checkout)", EXIT_USAGE)
    sys.argv = [str(script)] + (["--check"] if args.check else [])
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def _tcb(args: argparse.Namespace) -> int:
    from . import boundary, tcb

    kernel = tcb.KERNEL_DIR if args.kernel is None else Path(args.kernel)
    if not kernel.is_dir():
        return _fail(f"--path {args.kernel}: not a directory", EXIT_USAGE)
    try:
        report = tcb.tcb_report(kernel_dir=kernel)
    except SyntaxError as error:
        if not args.check:
            return _fail(f"{error.filename}:{error.lineno}: cannot parse: {error.msg}", EXIT_CHECK_FAILED)
        report = None  # the boundary check below names the file and line
    if not args.check:
        print(report.format(modules=not args.packages))
        return 0
    problems = [str(v) for v in boundary.check_kernel(kernel)]
    default = kernel.resolve() == tcb.KERNEL_DIR
    repo = tcb.PACKAGE_DIR.parent
    if report is not None:
        for path, line, what in report.unsafe_markers("kernel"):
            shown = path.resolve().relative_to(repo) if default else path
            problems.append(f"{shown}:{line}: {what} in safe kernel code (only OSTD may be unsafe)")
    modules = sum(1 for _ in kernel.rglob("*.py"))
    for problem in problems:
        print(problem)
    if report is None:
        return _fail(f"tcb --check: {len(problems)} violation(s) in {kernel}", EXIT_CHECK_FAILED)
    figure = (f"TCB {report.tcb_percent:.1f} % ({report.ostd_lines} OSTD lines of {report.total_lines}; "
              f"paper {report.paper_percent:.1f} %, ceiling {report.ceiling_percent:.0f} %)")  # fmt: skip
    if not report.within_ceiling:
        print(f"{tcb.OSTD_DIR.relative_to(repo)}: {figure}: over the ceiling")
    if problems or not report.within_ceiling:
        over = "" if report.within_ceiling else ", TCB over the ceiling"
        return _fail(f"tcb --check: {len(problems)} boundary violation(s){over}", EXIT_CHECK_FAILED)
    print(f"boundary: {modules} kernel modules use only OSTD's public API")
    print(f"{figure}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
