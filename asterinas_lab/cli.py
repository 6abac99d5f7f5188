"""The ``asterinas-lab`` command.

``asterinas-lab run [--root DIR] [-E NAME=VALUE]... [--strace] PROG [ARGS...]`` works
like ``qemu-x86_64``: the guest program gets the host's stdin, stdout and stderr, and
the command exits with the program's status (128+N if it was killed by signal N).
``asterinas-lab boot`` boots the built-in image and runs its /init, showing the boot
log. ``asterinas-lab tcb`` prints the size of the trusted computing base (OSTD) against
the safe kernel; ``tcb --check`` also runs the boundary check and exits 1, naming each
offending ``file:line``, if the kernel breaks the boundary or OSTD exceeds 15 % of the
code. ``asterinas-lab bugs [BUG...]`` runs the bug catalogue's demonstrations
(``asterinas_lab.bugs``) and prints, for each, whether memory stayed intact. Errors are
one line on stderr and a non-zero status, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import runner

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
    def console(data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    result = runner.run(["/init"], stdin=None, capture=False, ram_size=args.ram << 20,
                        boot_log=True, console=console)  # fmt: skip
    status = _finish(result, "/init")
    print(f"asterinas-lab: /init exited with status {status}", file=sys.stderr)
    return status


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
