"""A seeded syscall fuzzer: random and adversarial syscalls against the lab's kernel.

``fuzz(seed=1, calls=100_000)`` boots a machine in deterministic mode with memcheck on
and runs ``/bin/fuzz_syscalls SEED CALLS BATCH`` (images/src/fuzz_syscalls.c) as pid 1.
That program forks one worker per batch; a worker issues random syscalls (every number
of the x86-64 table, implemented or not, and some outside it) with adversarial
arguments (bad, kernel and non-canonical pointers, pointers straddling a guard page,
huge lengths, negative and real file descriptors, paths) until its batch is done or
a call ends it (exit, a fatal signal, an oops, a timeout: the parent kills a worker
that has not finished after 2 s of virtual time). The parent prints its figures,
which this module parses into a :class:`FuzzReport` together with what the machine
reported: oopses (and the "asterinas-lab: oops:" lines on stderr), a panic, memcheck
findings, exceptions Python swallowed in finalizers, signals that reached pid 1.

The same seed gives the same run, call for call, on every machine. For each oops the
report names the call that caused it (the worker writes each call to a page shared
with its parent before making it), which is a one-line reproducer.

``python -m asterinas_lab.fuzz --seed 1 --calls 100000`` prints the summary (``--json``
prints the whole report) and exits 1 if the kernel did not come through clean.
See docs/fuzzing.md.
"""

from __future__ import annotations

import argparse
import errno
import gc
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import runner
from .kernel.syscall.numbers import SYSCALL_NAMES

PROGRAM = "/bin/fuzz_syscalls"
DEFAULT_SEED = 1
DEFAULT_CALLS = 100_000
DEFAULT_BATCH = 1000
DEFAULT_RAM = 64 << 20

#: What a worker's low file descriptors are when it starts (see fuzz_syscalls.c).
RESOURCES = {
    0: "/dev/null", 1: "/dev/null", 2: "/dev/null", 3: "/tmp/fz", 4: "/dev/zero", 5: "/dev/urandom",
    6: "/ (directory)", 7: "pipe read end", 8: "pipe write end", 9: "/tmp (directory)", 10: "/dev/full",
    11: "/bin/tiny", 12: "/dev/null (O_APPEND)",
}  # fmt: skip
#: si_code values of SIGCHLD-style notifications (a child's exit signal).
CLD_CODES = {
    1: "CLD_EXITED",
    2: "CLD_KILLED",
    3: "CLD_DUMPED",
    4: "CLD_TRAPPED",
    5: "CLD_STOPPED",
    6: "CLD_CONTINUED",
}
_OOPS_PID = re.compile(r"killing pid (\d+)")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def _errno_name(number: int) -> str:
    return errno.errorcode.get(number, f"E#{number}")


@dataclass
class FuzzCall:
    """One syscall as the worker made it: the number and six raw argument registers."""

    nr: int
    args: tuple[int, ...]

    @property
    def name(self) -> str:
        return SYSCALL_NAMES.get(self.nr, f"syscall_{self.nr:#x}")

    def __str__(self) -> str:
        return f"{self.name}({', '.join(f'{value:#x}' for value in self.args)})  [nr {self.nr}]"


@dataclass
class WorkerEnd:
    """A worker that did not complete its batch: how it ended and its last call."""

    batch: int
    pid: int
    calls: int
    how: str  # "signal:N", "exit:N" or "timeout"
    last: FuzzCall


@dataclass
class StraySignal:
    """A signal that reached the parent (pid 1): the worker's batch, the signal, and
    the si_code and si_pid it came with."""

    batch: int
    worker_pid: int
    signal: int
    code: int
    sender: int

    def __str__(self) -> str:
        how = CLD_CODES.get(self.code, f"si_code {self.code}")
        return (f"{_signal_name(self.signal)} ({how}) from pid {self.sender}, "
                f"during batch {self.batch} (worker pid {self.worker_pid})")  # fmt: skip


@dataclass
class OopsCause:
    """An oops and the call that caused it (None if the killed pid was not a worker)."""

    message: str
    pid: int | None
    worker: WorkerEnd | None


@dataclass
class FuzzReport:
    """One fuzzing run: the parent's figures (see fuzz_syscalls.c for their meaning)
    and what the machine reported. ``summary()`` is the text the CLI prints."""

    seed: int
    requested: int
    batch_size: int
    ram_size: int
    host_seconds: float = 0.0
    # The parent's figures.
    calls: int = 0
    returned: int = 0
    succeeded: int = 0
    out_of_range: int = 0
    rewritten: int = 0
    numbers_span: int = 0
    numbers_tried: int = 0
    numbers_answered: int = 0
    batches: int = 0
    completed: int = 0
    exited_early: int = 0
    timeouts: int = 0
    lost: int = 0
    fork_failed: int = 0
    orphans: int = 0
    killed_by: dict[int, int] = field(default_factory=dict)
    errnos: dict[int, int] = field(default_factory=dict)
    errno_other: int = 0
    parent_signals: dict[int, int] = field(default_factory=dict)
    strays: list[StraySignal] = field(default_factory=list)
    ends: list[WorkerEnd] = field(default_factory=list)
    done: bool = False
    # What the machine reported.
    status: int | None = None
    panic: str | None = None
    oopses: list[str] = field(default_factory=list)
    reported_oopses: list[str] = field(default_factory=list)  # the "asterinas-lab: oops:" lines
    other_reports: list[str] = field(default_factory=list)  # other "asterinas-lab:" lines
    memcheck_audits: int = 0
    memcheck_findings: list[str] = field(default_factory=list)
    #: Exceptions Python swallowed during the run ("Exception ignored in ..."): raised
    #: where nothing can catch them (``__del__``), so neither an oops nor a panic.
    unraisable: list[str] = field(default_factory=list)

    # --- derived figures ------------------------------------------------------------

    @property
    def failed(self) -> int:
        return sum(self.errnos.values()) + self.errno_other

    @property
    def killed(self) -> int:
        return sum(self.killed_by.values())

    @property
    def oops_causes(self) -> list[OopsCause]:
        by_pid = {end.pid: end for end in self.ends}
        causes = []
        for message in self.oopses:
            match = _OOPS_PID.search(message)
            pid = int(match.group(1)) if match else None
            causes.append(OopsCause(message, pid, by_pid.get(pid) if pid is not None else None))
        return causes

    @property
    def clean(self) -> bool:
        """The ideal outcome: the parent finished, nothing went wrong in the kernel."""
        return (self.done and self.status == 0 and self.panic is None and not self.oopses
                and not self.memcheck_findings and not self.strays and not self.unraisable
                and self.calls >= self.requested)  # fmt: skip

    def top_errnos(self, count: int = 8) -> list[tuple[str, int]]:
        ranked = sorted(self.errnos.items(), key=lambda item: (-item[1], item[0]))[:count]
        return [(_errno_name(number), calls) for number, calls in ranked]

    def summary(self) -> str:
        rate = self.calls / self.host_seconds if self.host_seconds else 0.0
        lines = [
            f"syscall fuzzer: seed {self.seed}, {self.requested} calls requested in batches of "
            f"{self.batch_size}, {self.ram_size >> 20} MiB RAM, deterministic, memcheck on",
            f"  calls            {self.calls} issued, {self.returned} returned: {self.succeeded} succeeded, "
            f"{self.failed} failed; {self.host_seconds:.1f} s host ({rate:,.0f} calls/s)",
            f"  numbers          {self.numbers_tried} of 0..{self.numbers_span - 1} tried, "
            f"{self.numbers_answered} answered something other than ENOSYS; "
            f"{self.out_of_range} calls with a number outside the table",
            f"  made safe        {self.rewritten} calls had arguments rewritten "
            "(pids that reach pid 1, host-sized files and address ranges)",
            f"  workers          {self.batches}: {self.completed} completed their batch, "
            f"{self.exited_early} exited early (exit, exit_group, execve), {self.timeouts} timed out, "
            f"{self.killed} killed by a signal, {self.lost} lost their figures, {self.orphans} orphans reaped",
        ]
        if self.killed_by:
            signals = ", ".join(
                f"{_signal_name(s)} {n}" for s, n in sorted(self.killed_by.items(), key=lambda i: -i[1])
            )
            lines.append(f"  killed by        {signals}")
        errnos = ", ".join(f"{name} {n}" for name, n in self.top_errnos())
        lines.append(f"  top errnos       {errnos}")
        kernel = "PANIC: " + self.panic if self.panic else "no panic"
        lines.append(
            f"  kernel           {kernel}; pid 1 status {self.status}; {'done' if self.done else 'NOT done'}; "
            f"{len(self.oopses)} oopses; memcheck: {self.memcheck_audits} audits, "
            f"{len(self.memcheck_findings)} findings"
        )
        if self.oopses:
            legend = ", ".join(f"{fd} {what}" for fd, what in RESOURCES.items() if fd >= 3)
            lines.append(f"  (a worker's fds: 0-2 /dev/null, {legend})")
        for i, cause in enumerate(self.oops_causes, 1):
            lines.append(f"  oops {i}: {cause.message.removeprefix('oops: ')}")
            if cause.worker is not None:
                end = cause.worker
                lines.append(f"    caused by call {end.calls} of batch {end.batch}: {end.last}")
            else:
                lines.append("    caused by: unknown (not a worker's last call)")
        for finding in self.memcheck_findings[:20]:
            lines.append(f"  memcheck: {finding}")
        if self.strays:
            lines.append(f"  signals that reached pid 1: {len(self.strays)}")
            for stray in self.strays[:10]:
                lines.append(f"    {stray}")
            if len(self.strays) > 10:
                lines.append(f"    ... and {len(self.strays) - 10} more")
        for message in self.unraisable[:10]:
            lines.append(f"  swallowed: {message}")
        for report in self.other_reports[:10]:
            lines.append(f"  reported: {report}")
        lines.append("  verdict          " + ("clean" if self.clean else "NOT clean"))
        return "\n".join(lines)

    # --- JSON ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FuzzReport:
        data = dict(data)
        for key in ("killed_by", "errnos", "parent_signals"):
            data[key] = {int(k): v for k, v in data[key].items()}
        data["strays"] = [StraySignal(**s) for s in data["strays"]]
        data["ends"] = [
            WorkerEnd(**{**e, "last": FuzzCall(e["last"]["nr"], tuple(e["last"]["args"]))}) for e in data["ends"]
        ]
        return cls(**data)


def parse_output(report: FuzzReport, stdout: str) -> None:
    """Fill ``report`` from the program's "key value" lines."""
    counters = {name for name, kind in FuzzReport.__annotations__.items() if kind == "int"}
    for line in stdout.splitlines():
        words = line.split()
        if not words:
            continue
        key, values = words[0], words[1:]
        try:
            if key == "done":
                report.done = True
            elif key == "end" and len(values) == 11:
                batch, pid, calls = int(values[0]), int(values[1]), int(values[2])
                call = FuzzCall(int(values[4], 16), tuple(int(v, 16) for v in values[5:]))
                report.ends.append(WorkerEnd(batch, pid, calls, values[3], call))
            elif key == "stray" and len(values) == 5:
                report.strays.append(StraySignal(*(int(v) for v in values)))
            elif key == "signal" and len(values) == 2:
                report.killed_by[int(values[0])] = int(values[1])
            elif key == "errno" and len(values) == 2:
                report.errnos[int(values[0])] = int(values[1])
            elif key == "parent_signal" and len(values) == 2:
                report.parent_signals[int(values[0])] = int(values[1])
            elif key in counters and len(values) == 1 and key not in ("seed", "requested", "ram_size"):
                setattr(report, key, int(values[0]))
        except ValueError:
            continue  # a garbled line: the figures that parse still count


def _describe_unraisable(hook_args: Any) -> str:
    where = ""
    tb = hook_args.exc_traceback
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
    context = hook_args.err_msg or "Exception ignored in"
    return f"{context}: {hook_args.object!r}: {hook_args.exc_type.__name__}: {hook_args.exc_value}{where}"


def fuzz(
    seed: int = DEFAULT_SEED,
    calls: int = DEFAULT_CALLS,
    ram_size: int = DEFAULT_RAM,
    batch: int = DEFAULT_BATCH,
) -> FuzzReport:
    """Run the fuzzer in this process and return its report."""
    report = FuzzReport(seed=seed, requested=calls, batch_size=batch, ram_size=ram_size)
    started = time.perf_counter()
    previous_hook = sys.unraisablehook
    sys.unraisablehook = lambda hook_args: report.unraisable.append(_describe_unraisable(hook_args))
    try:
        result = runner.run([PROGRAM, str(seed), str(calls), str(batch)], memcheck=True, deterministic=True,
                            ram_size=ram_size)  # fmt: skip
        gc.collect()  # finalizers of objects from the run report here, not later
    finally:
        sys.unraisablehook = previous_hook
    report.host_seconds = round(time.perf_counter() - started, 2)
    parse_output(report, result.stdout.decode(errors="replace"))
    report.status = result.status
    report.panic = result.panic
    report.oopses = list(result.oopses)
    for line in result.stderr.decode(errors="replace").splitlines():
        if line.startswith("asterinas-lab: oops: "):
            report.reported_oopses.append(line.removeprefix("asterinas-lab: "))
        elif line.startswith("asterinas-lab: "):
            report.other_reports.append(line.removeprefix("asterinas-lab: "))
    report.memcheck_audits = len(result.memcheck)
    report.memcheck_findings = result.memcheck_findings
    return report


def fuzz_isolated(
    seed: int = DEFAULT_SEED,
    calls: int = DEFAULT_CALLS,
    ram_size: int = DEFAULT_RAM,
    batch: int = DEFAULT_BATCH,
    timeout: float = 600.0,
) -> FuzzReport:
    """:func:`fuzz` in a fresh Python process, killed after ``timeout`` host seconds
    (a kernel that hangs fails the caller instead of stopping it)."""
    argv = [sys.executable, "-m", "asterinas_lab.fuzz", "--json", "--seed", str(seed), "--calls", str(calls),
            "--batch", str(batch), "--ram", str(ram_size)]  # fmt: skip
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as expired:
        tail = (expired.stderr or b"")[-2000:].decode(errors="replace")
        raise TimeoutError(
            f"the fuzzer (seed {seed}, {calls} calls) did not finish in {timeout} s\n{tail}"
        ) from None
    try:
        return FuzzReport.from_dict(json.loads(proc.stdout))
    except (ValueError, KeyError, TypeError) as error:
        tail = proc.stderr[-4000:].decode(errors="replace")
        raise RuntimeError(f"the fuzzer process failed (status {proc.returncode}): {error}\n{tail}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asterinas_lab.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--calls", type=int, default=DEFAULT_CALLS, help="syscalls to issue in total")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="syscalls per worker process")
    parser.add_argument("--ram", type=int, default=DEFAULT_RAM, help="machine RAM in bytes")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    report = fuzz(seed=args.seed, calls=args.calls, ram_size=args.ram, batch=args.batch)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(report.summary())
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
