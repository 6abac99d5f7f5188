"""The ``asterinas-lab`` command.

``asterinas-lab run [--root DIR] [-E NAME=VALUE]... [--strace] PROG [ARGS...]`` works
like ``qemu-x86_64``: the guest program gets the host's stdin, stdout and stderr, and
the command exits with the program's status (128+N if it was killed by signal N).
``asterinas-lab boot`` boots the built-in image and runs its /init, showing the boot
log. Errors are one line on stderr and a non-zero status, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import runner

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


if __name__ == "__main__":
    sys.exit(main())
