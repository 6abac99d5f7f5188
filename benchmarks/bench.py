#!/usr/bin/env python3
"""Per-operation cost of asterinas-lab against native Linux and qemu-user.

Usage::

    python benchmarks/bench.py            # full run (each asterinas-lab run ~1 s)
    python benchmarks/bench.py --quick    # N / 10, one repetition: a smoke test

The same static programs (images/bin, musl) run natively, under ``qemu-x86_64``
when it is installed, and under asterinas-lab through the in-process API
``runner.run``. Start-up is removed by timing each program with 0 and with N
iterations: cost = (t(N) - t(0)) / N. Each timing is the best of ``--repeat`` runs.

* syscall: ``getppid_loop N`` -> time per getppid round trip
* compute: ``compute_loop N`` (xorshift + LCG, registers only) -> ratio to native
* sieve:   ``sieve N`` (byte sieve, store heavy) -> ratio to native
* fork:    ``fork_loop N`` -> time per fork + _exit + waitpid
* touch:   ``touch_pages N`` -> time per first write to a fresh anonymous page
* pipe:    ``pipe_pingpong N`` -> time per one-byte round trip between two processes
  (two blocking reads, two context switches)
* sh:      busybox ``sh -c 'while ...; do busybox true; done'`` -> time per fork+exec
* boot:    time from ``ostd.boot`` to the first user-mode instruction, and the
  wall time of ``runner.run(["/bin/tiny"])`` (boot + unpack + exec + run + exit)
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from asterinas_lab import runner
from asterinas_lab.ostd import platform as ostd_platform

IMAGES_BIN = Path(__file__).resolve().parent.parent / "images" / "bin"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"}


@dataclass
class Work:
    name: str
    program: str  # a program of images/bin, or "busybox-sh" (see SH_LOOP)
    n: int
    unit: str  # "us/op" (cost per iteration), "ratio" (vs native) or "MiB/s" (N is MiB)
    budget: float | None  # us per op, max ratio to native, or min MiB/s; None: recorded only


WORKS = [
    Work("syscall (getppid)", "getppid_loop", 200_000, "us/op", 5.0),
    Work("compute loop", "compute_loop", 500_000_000, "ratio", 2.0),
    Work("sieve (stores)", "sieve", 50_000_000, "ratio", 10.0),
    Work("fork+exit+wait", "fork_loop", 2_000, "us/op", 1000.0),
    Work("first touch of a page", "touch_pages", 50_000, "us/op", 10.0),
    Work("pipe ping-pong round trip", "pipe_pingpong", 20_000, "us/op", None),
    Work("sh: fork+exec /bin/true", "busybox-sh", 500, "us/op", 5000.0),
    Work("pipe throughput, 64 KiB writes", "pipe_throughput", 256, "MiB/s", None),
    Work("file create+write+read+unlink", "file_ops", 5_000, "us/op", None),
    Work("sh script: echo | wc pipeline", "busybox-pipeline", 200, "us/op", None),
]
#: busybox sh running busybox's ``true`` N times: one fork + execve + wait each.
#: The same static busybox runs natively, under qemu-user and in the lab, where it
#: is copied into the image at the same absolute path.
BUSYBOX = "/usr/bin/busybox"
SH_LOOP = 'i=0; while [ $i -lt {n} ]; do {busybox} true; i=$((i+1)); done'
SH_PIPELINE = 'i=0; while [ $i -lt {n} ]; do echo $i | {busybox} wc -c > /dev/null; i=$((i+1)); done'


def command(program: str, n: int, lab: bool) -> list[str]:
    if program == "busybox-sh":
        return [BUSYBOX, "sh", "-c", SH_LOOP.format(n=n, busybox=BUSYBOX)]
    if program == "busybox-pipeline":
        return [BUSYBOX, "sh", "-c", SH_PIPELINE.format(n=n, busybox=BUSYBOX)]
    args = [str(n), "/tmp"] if program == "file_ops" else [str(n)]
    return [f"/bin/{program}" if lab else str(IMAGES_BIN / program), *args]
BOOT_BUDGET_S = 0.3


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def native_runner(program: str) -> Callable[[int], None]:
    def run(n: int) -> None:
        subprocess.run(command(program, n, lab=False), env=ENV, check=True, stdout=subprocess.DEVNULL)

    return run


def qemu_runner(program: str, qemu: str) -> Callable[[int], None]:
    def run(n: int) -> None:
        argv = [qemu, *command(program, n, lab=False)]
        subprocess.run(argv, env=ENV, check=True, stdout=subprocess.DEVNULL)

    return run


def lab_runner(program: str) -> Callable[[int], None]:
    host_files = runner.host_program(BUSYBOX) if program.startswith("busybox-") else None

    def run(n: int) -> None:
        argv = command(program, n, lab=True)
        result = runner.run(argv, host_files=host_files)
        if result.status != 0 or result.panic or result.oopses:
            raise RuntimeError(f"{' '.join(argv)} failed in asterinas-lab: {result}")

    return run


QILING_DRIVER = Path(__file__).resolve().parent / "qiling_run.py"


def qiling_runner(work: Work, python: str, rootfs: Path) -> Callable[[int], None] | None:
    """Qiling (in its own environment's ``python``) running the musl build from a copy
    of images/bin in ``rootfs``; None where Qiling does not give Linux's output (its
    fork, for example, fails), so that no row times a run that went wrong."""
    program = work.program
    if program.startswith("busybox-"):
        return None  # the shell rows exec other programs: not timed under Qiling

    def argv(n: int) -> list[str]:
        return [python, str(QILING_DRIVER), str(rootfs), *command(program, n, lab=True)]

    check_n = max(1, min(100, work.n // 1000))
    want = subprocess.run(command(program, check_n, lab=False), env=ENV, capture_output=True).stdout
    got = subprocess.run(argv(check_n), env=ENV, capture_output=True).stdout
    if got != want:
        print(f"  qiling: {program} prints {got[-80:]!r}, Linux {want[-80:]!r}: not timed", file=sys.stderr)
        return None

    def run(n: int) -> None:
        subprocess.run(argv(n), env=ENV, check=True, stdout=subprocess.DEVNULL)

    return run


def qiling_rootfs() -> Path:
    rootfs = Path(tempfile.mkdtemp(prefix="asterinas-lab-qiling-"))
    (rootfs / "tmp").mkdir()
    shutil.copytree(IMAGES_BIN, rootfs / "bin")
    return rootfs


def per_op(run: Callable[[int], None], n: int, repeat: int) -> tuple[float, float]:
    """(seconds per iteration, seconds for N iterations including start-up)."""
    t0 = best_of(repeat, lambda: run(0))
    tn = best_of(repeat, lambda: run(n))
    return max(tn - t0, 0.0) / n, tn


def fmt_cost(work: Work, seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if work.unit == "us/op":
        return f"{seconds * 1e6:.3f} us"
    if work.unit == "MiB/s":
        return f"{1 / seconds:.0f} MiB/s" if seconds > 0 else "-"
    return f"{seconds * 1e9:.3f} ns/it"


def boot_figures(repeat: int) -> tuple[float, float]:
    """(boot -> first user instruction, wall time of running /bin/tiny), best of repeat."""
    first_user, total = float("inf"), float("inf")
    for _ in range(repeat + 2):  # the first run also pays for imports and caches
        start = time.perf_counter()
        result = runner.run(["/bin/tiny"])
        elapsed = time.perf_counter() - start
        if result.status != 0:
            raise RuntimeError(f"/bin/tiny failed: {result}")
        times = ostd_platform.times
        if times.first_user_instruction:
            first_user = min(first_user, times.first_user_instruction - times.start)
        total = min(total, elapsed)
    return first_user, total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N / 10 and one repetition")
    ap.add_argument("--repeat", type=int, default=None, help="repetitions, best taken (default 3)")
    ap.add_argument("--qiling", metavar="PYTHON",
                    help="a Python with Qiling installed (its own venv): adds a Qiling column")  # fmt: skip
    args = ap.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    scale = 10 if args.quick else 1
    qemu = shutil.which("qemu-x86_64")

    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')}  {platform.machine()}  {platform.processor() or ''}"
        f"  python {platform.python_version()}  repeat={repeat}{'  (quick)' if args.quick else ''}"
    )
    header = ("work", "N", "native", "qemu-user", "Qiling", "asterinas-lab", "lab run (N)", "vs native", "budget",
              "ok")  # fmt: skip
    rootfs = qiling_rootfs() if args.qiling else None
    rows: list[tuple[str, ...]] = []
    for work in WORKS:
        n = work.n // scale
        native, _ = per_op(native_runner(work.program), n, repeat)
        # qemu-user follows a fork but not an execve into another program: skip it there.
        with_qemu = qemu and not work.program.startswith("busybox-")
        q = per_op(qemu_runner(work.program, qemu), n, repeat)[0] if with_qemu else None
        qiling = qiling_runner(work, args.qiling, rootfs) if rootfs is not None else None
        ql = per_op(qiling, n, repeat)[0] if qiling is not None else None
        lab, lab_total = per_op(lab_runner(work.program), n, repeat)
        ratio = lab / native if native > 0 else float("inf")
        if work.budget is None:
            ok, budget = True, "-"
        elif work.unit == "us/op":
            ok = lab * 1e6 <= work.budget
            budget = f"<= {work.budget:g} us"
        elif work.unit == "MiB/s":
            ok = lab > 0 and 1 / lab >= work.budget
            budget = f">= {work.budget:g} MiB/s"
        else:
            ok = ratio <= work.budget
            budget = f"<= {work.budget:g}x"
        rows.append(
            (
                work.name,
                f"{n:,}",
                fmt_cost(work, native),
                fmt_cost(work, q),
                fmt_cost(work, ql),
                fmt_cost(work, lab),
                f"{lab_total:.2f} s",
                f"{ratio:.1f}x",
                budget,
                "yes" if ok else "NO",
            )
        )
        print(f"  {work.name}: done", file=sys.stderr)

    first_user, tiny = boot_figures(repeat)
    native_tiny = best_of(
        repeat, lambda: subprocess.run([str(IMAGES_BIN / "tiny")], stdout=subprocess.DEVNULL)
    )
    qemu_tiny = (
        best_of(repeat, lambda: subprocess.run([qemu, str(IMAGES_BIN / "tiny")], stdout=subprocess.DEVNULL))
        if qemu
        else None
    )
    if first_user != float("inf"):
        rows.append(
            (
                "boot -> 1st user insn",
                "-",
                "-",
                "-",
                "-",
                f"{first_user * 1e3:.1f} ms",
                "-",
                "-",
                f"<= {BOOT_BUDGET_S:g} s",
                "yes" if first_user <= BOOT_BUDGET_S else "NO",
            )
        )
    rows.append(
        (
            "boot + run tiny",
            "-",
            f"{native_tiny * 1e3:.1f} ms",
            f"{qemu_tiny * 1e3:.1f} ms" if qemu_tiny is not None else "-",
            "-",
            f"{tiny * 1e3:.1f} ms",
            "-",
            f"{tiny / native_tiny:.0f}x",
            f"<= {BOOT_BUDGET_S:g} s",
            "yes" if tiny <= BOOT_BUDGET_S else "NO",
        )
    )

    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    if rootfs is not None:
        shutil.rmtree(rootfs, ignore_errors=True)
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print(
        "(native and qemu-user 'boot + run tiny' are process spawn + run; per-op costs have start-up removed)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
