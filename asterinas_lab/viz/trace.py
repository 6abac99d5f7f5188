"""Syscall tracing for notebooks: a Trace of strace-format records, filters, an HTML
table, and a ``strace -c`` summary.

The records come from the SYSCALL_ENTER/SYSCALL_EXIT events (asterinas_lab/ostd/
events.py), whose text is made by the same formatter as ``asterinas-lab run --strace``
(asterinas_lab/kernel/syscall/strace.py)::

    from asterinas_lab.viz.trace import trace
    t, result = trace(["/bin/fork_tree"])
    t.filter(syscalls={"fork", "wait4"})     # renders as a table in a notebook
    t.summary()                              # like strace -c
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import runner
from ..kernel.syscall.strace import pid_prefixed
from ..ostd import events
from ..ostd.events import Event


@dataclass(frozen=True)
class SyscallRecord:
    pid: int
    tid: int
    number: int
    name: str
    args: tuple[int, ...]
    ret: int | None  # None for calls that do not return (exit, exit_group, a successful execve)
    text: str  # the strace line, without a pid prefix
    seconds: float  # host time from entry to exit

    @property
    def failed(self) -> bool:
        return self.ret is not None and -4096 < self.ret < 0


@dataclass
class Trace:
    records: list[SyscallRecord] = field(default_factory=list)
    first_pid: int = 1

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def filter(self, syscalls: Iterable[str] | None = None, pids: Iterable[int] | None = None,
               failed: bool | None = None) -> Trace:  # fmt: skip
        """The records of these syscalls (names), these processes, and/or only the
        calls that failed (or succeeded)."""
        names = set(syscalls) if syscalls is not None else None
        wanted = set(pids) if pids is not None else None
        kept = [r for r in self.records if (names is None or r.name in names)
                and (wanted is None or r.pid in wanted) and (failed is None or r.failed == failed)]  # fmt: skip
        return Trace(kept, self.first_pid)

    def lines(self) -> list[str]:
        """strace -f's output: lines of other processes than the first name their tid."""
        return [pid_prefixed(r.text, r.tid, self.first_pid) for r in self.records]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def summary(self) -> TraceSummary:
        return TraceSummary.of(self.records)

    def _repr_html_(self, limit: int = 500, timings: bool = True) -> str:
        rows = "".join(
            f"<tr><td>{r.pid}</td><td>{r.tid}</td><td>{html.escape(r.name)}</td>"
            f"<td style='text-align:left;font-family:monospace'>{html.escape(r.text)}</td>"
            f"<td>{'' if r.ret is None else r.ret}</td>" + (f"<td>{r.seconds * 1e6:.1f}</td>" if timings else "")
            + "</tr>"
            for r in self.records[:limit]
        )
        more = f"<p>... {len(self.records) - limit} more calls</p>" if len(self.records) > limit else ""
        names = ("pid", "tid", "syscall", "call", "result") + (("us",) if timings else ())
        head = "".join(f"<th>{name}</th>" for name in names)
        return f"<table class='asterinas-trace'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{more}"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}


@dataclass
class SummaryRow:
    name: str
    calls: int
    errors: int
    seconds: float

    @property
    def usecs_per_call(self) -> float:
        return self.seconds * 1e6 / self.calls if self.calls else 0.0


@dataclass
class TraceSummary:
    """What ``strace -c`` prints: per syscall, the share of time, seconds, usecs/call,
    calls and errors, busiest first."""

    rows: list[SummaryRow]

    @classmethod
    def of(cls, records: Iterable[SyscallRecord]) -> TraceSummary:
        by_name: dict[str, SummaryRow] = {}
        for r in records:
            row = by_name.setdefault(r.name, SummaryRow(r.name, 0, 0, 0.0))
            row.calls += 1
            row.errors += r.failed
            row.seconds += r.seconds
        return cls(sorted(by_name.values(), key=lambda row: (-row.seconds, row.name)))

    @property
    def total(self) -> SummaryRow:
        return SummaryRow("total", sum(r.calls for r in self.rows), sum(r.errors for r in self.rows),
                          sum(r.seconds for r in self.rows))  # fmt: skip

    def __str__(self) -> str:
        total = self.total
        lines = ["% time     seconds  usecs/call     calls    errors syscall",
                 "------ ----------- ----------- --------- --------- ----------------"]  # fmt: skip
        for row in [*self.rows, total]:
            if row is total:
                lines.append(lines[1])
            share = 100.0 * row.seconds / total.seconds if total.seconds else 0.0
            errors = str(row.errors) if row.errors else ""
            lines.append(f"{share:6.2f} {row.seconds:11.6f} {row.usecs_per_call:11.0f} {row.calls:9d} "
                         f"{errors:>9} {row.name}")  # fmt: skip
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        total = self.total
        body = "".join(
            f"<tr><td>{100.0 * r.seconds / total.seconds if total.seconds else 0:.2f}</td>"
            f"<td>{r.seconds:.6f}</td><td>{r.usecs_per_call:.0f}</td><td>{r.calls}</td>"
            f"<td>{r.errors or ''}</td><td>{html.escape(r.name)}</td></tr>"
            for r in [*self.rows, total]
        )
        names = ("% time", "seconds", "usecs/call", "calls", "errors", "syscall")
        head = "".join(f"<th>{name}</th>" for name in names)
        return f"<table class='asterinas-strace-c'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}


class Tracer:
    """Records syscalls while it is active (a context manager): the events of every
    machine booted inside the ``with`` block."""

    def __init__(self, syscalls: Iterable[str] | None = None, pids: Iterable[int] | None = None) -> None:
        self.trace = Trace()
        self._names = set(syscalls) if syscalls is not None else None
        self._pids = set(pids) if pids is not None else None
        self._started: dict[int, int] = {}  # tid -> perf_counter_ns at entry
        self._undo: list[Any] = []

    def __enter__(self) -> Tracer:
        self._undo = [events.subscribe(Event.SYSCALL_ENTER, self._enter),
                      events.subscribe(Event.SYSCALL_EXIT, self._exit)]  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        for undo in self._undo:
            undo()

    def _enter(self, _kind: Event, fields: dict[str, Any]) -> None:
        self._started[fields["tid"]] = time.perf_counter_ns()

    def _exit(self, _kind: Event, fields: dict[str, Any]) -> None:
        started = self._started.pop(fields["tid"], None)
        if self._names is not None and fields["name"] not in self._names:
            return
        if self._pids is not None and fields["pid"] not in self._pids:
            return
        seconds = (time.perf_counter_ns() - started) / 1e9 if started is not None else 0.0
        record = SyscallRecord(
            fields["pid"], fields["tid"], fields["number"], fields["name"], tuple(fields["args"]),
            fields["ret"], fields["text"], seconds,
        )  # fmt: skip
        self.trace.records.append(record)


def trace(argv: list[str], syscalls: Iterable[str] | None = None, pids: Iterable[int] | None = None,
          **run_options: Any) -> tuple[Trace, runner.RunResult]:  # fmt: skip
    """Run ``argv`` on a fresh machine (``runner.run`` options apply) and return its
    syscall trace and the run's result."""
    with Tracer(syscalls, pids) as tracer:
        result = runner.run(argv, **run_options)
    return tracer.trace, result
