"""Scheduling pictures: which thread ran when, and how long syscalls took.

::

    from asterinas_lab.viz.sched import record_schedule, timeline, latency_histogram
    schedule, result = record_schedule(["/bin/fork_tree"])
    timeline(schedule)                       # a matplotlib Figure: one row per thread
    latency_histogram(["/bin/fork_tree"])    # syscall latencies (a Trace works too)

The schedule comes from the CONTEXT_SWITCH event (asterinas_lab/ostd/events.py): OSTD
publishes it each time its scheduler loop switches to a task. A thread's slice runs
from there to the next switch, or to the moment the scheduler found nothing to run
(the kernel's idle hook), or to the end of the run. Times are host time
(``time.perf_counter_ns``), so they include the emulator's and Python's own costs.

A :class:`Schedule` is plain data; it stays usable after the machine is gone. The
figures use matplotlib, imported only when one is drawn.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import runner
from ..ostd import events
from ..ostd.events import Event
from .figures import TextAndHtml, notebook_figure_class
from .inspector import MONO, html_table


@dataclass(frozen=True)
class Slice:
    """A thread (``key``) on the CPU from ``start`` to ``end`` (ns since the recording began)."""

    key: str
    start: int
    end: int

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass
class ThreadInfo:
    key: str  # "tid N", or the task's name for a task that serves no thread
    tid: int | None
    pid: int | None
    comm: str = ""

    @property
    def label(self) -> str:
        if self.tid is None:
            return self.key
        who = f"pid {self.pid}" if self.pid == self.tid else f"pid {self.pid} tid {self.tid}"
        return f"{who} ({self.comm})" if self.comm else who


@dataclass
class Schedule(TextAndHtml):
    """Who ran when: ``slices`` in time order, ``threads`` in order of first run,
    ``idle`` periods (nothing runnable), all in ns since the recording began."""

    slices: list[Slice] = field(default_factory=list)
    threads: dict[str, ThreadInfo] = field(default_factory=dict)
    idle: list[tuple[int, int]] = field(default_factory=list)
    duration: int = 0

    def by_thread(self) -> dict[str, list[Slice]]:
        out: dict[str, list[Slice]] = {key: [] for key in self.threads}
        for s in self.slices:
            out.setdefault(s.key, []).append(s)
        return out

    def busy_ns(self, key: str) -> int:
        return sum(s.duration for s in self.slices if s.key == key)

    def text(self) -> str:
        lines = [f"{len(self.threads)} threads, {len(self.slices)} slices in {self.duration / 1e6:.3f} ms"
                 f" ({sum(e - s for s, e in self.idle) / 1e6:.3f} ms idle)"]  # fmt: skip
        per = self.by_thread()
        for key, info in self.threads.items():
            lines.append(f"  {info.label:<32} {len(per[key]):>5} slices {self.busy_ns(key) / 1e6:>9.3f} ms")
        return "\n".join(lines)

    def to_html(self) -> str:
        per = self.by_thread()
        rows = [f"<tr><td style='{MONO}'>{html.escape(info.label)}</td><td style='{MONO}'>{len(per[key])}</td>"
                f"<td style='{MONO}'>{self.busy_ns(key) / 1e6:.3f}</td></tr>"
                for key, info in self.threads.items()]  # fmt: skip
        head = f"<div style='{MONO}'>{html.escape(self.text().splitlines()[0])}</div>"
        return head + html_table(["thread", "slices", "ms on the CPU"], rows, "asterinas-schedule")


class ScheduleRecorder:
    """Records context switches while active (a context manager), for every machine
    booted or resumed inside the ``with`` block. Call :meth:`watch_kernel` with a
    kernel before it boots (``runner.run(with_kernel=...)``) to also see idle periods.
    With a Session::

        recorder = ScheduleRecorder()
        s = Session(argv, with_kernel=recorder.watch_kernel)
        with recorder:
            s.run()
        timeline(recorder.schedule)
    """

    def __init__(self, clock: Callable[[], int] = time.perf_counter_ns) -> None:
        self.clock = clock
        self._switches: list[tuple[int, str]] = []  # (time, key) or (time, "") for idle
        self._threads: dict[str, ThreadInfo] = {}
        self._undo: Callable[[], None] | None = None
        self._start = 0
        self._end: int | None = None

    def __enter__(self) -> ScheduleRecorder:
        self._start = self.clock()
        self._end = None
        self._undo = events.subscribe(Event.CONTEXT_SWITCH, self._on_switch)
        return self

    def __exit__(self, *exc: object) -> None:
        self._end = self.clock()
        if self._undo is not None:
            self._undo()
            self._undo = None

    def watch_kernel(self, kernel: Any) -> None:
        """Mark the moments the scheduler finds nothing to run (wraps ``kernel.idle``,
        which the runner hands to OSTD after ``with_kernel`` returns)."""
        idle = kernel.idle

        def watched_idle() -> bool:
            if self._undo is not None:
                self._switches.append((self.clock(), ""))
            return idle()

        kernel.idle = watched_idle

    # A callback in kernel context: record only.
    def _on_switch(self, _kind: Event, fields: dict[str, Any]) -> None:
        now = self.clock()
        task = fields["task"]
        thread = getattr(task, "data", None)
        tid = getattr(thread, "tid", None)
        key = f"tid {tid}" if tid is not None else str(getattr(task, "name", "task"))
        info = self._threads.get(key)
        if info is None:
            process = getattr(thread, "process", None)
            info = self._threads[key] = ThreadInfo(key, tid, getattr(process, "pid", None))
        comm = getattr(getattr(thread, "process", None), "comm", b"")
        if comm:
            info.comm = comm.decode(errors="replace") if isinstance(comm, bytes) else str(comm)
        self._switches.append((now, key))

    @property
    def schedule(self) -> Schedule:
        end = self._end if self._end is not None else self.clock()
        # Time 0 is the first switch (the machine's boot before it is of no interest).
        start = self._switches[0][0] if self._switches else self._start
        schedule = Schedule(threads=dict(self._threads), duration=end - start)
        marks = self._switches + [(end, "")]
        for (t0, key), (t1, _next) in zip(marks, marks[1:], strict=False):
            if key:
                schedule.slices.append(Slice(key, t0 - start, t1 - start))
            else:
                schedule.idle.append((t0 - start, t1 - start))
        return schedule


def record_schedule(argv: list[str | bytes], **run_options: Any) -> tuple[Schedule, runner.RunResult]:
    """Run ``argv`` on a fresh machine (``runner.run`` options apply); return who ran
    when, and the run's result."""
    user_with_kernel = run_options.pop("with_kernel", None)
    with ScheduleRecorder() as recorder:

        def with_kernel(kernel: Any) -> None:
            recorder.watch_kernel(kernel)
            if user_with_kernel is not None:
                user_with_kernel(kernel)

        result = runner.run(argv, with_kernel=with_kernel, **run_options)
    return recorder.schedule, result


# --- figures ---------------------------------------------------------------------------------------


def _new_axes(ax: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    fig = notebook_figure_class()(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def timeline(schedule: Schedule | list[str | bytes], ax: Any = None, *, show_idle: bool = True,
             title: str | None = None) -> Any:  # fmt: skip
    """A Gantt chart of ``schedule`` (or of a run of ``argv``): one row per thread in
    order of first run, a bar for each slice on the CPU, coloured by process; with
    ``show_idle``, a last row for the times nothing was runnable. Returns the Figure
    (each row is one ``broken_barh`` collection of the axes)."""
    if not isinstance(schedule, Schedule):
        schedule, _ = record_schedule(schedule)
    from matplotlib import colormaps

    keys = list(schedule.threads)
    rows = len(keys) + (1 if show_idle and schedule.idle else 0)
    fig, ax = _new_axes(ax, (10, max(2.0, 0.28 * rows + 1.2)))
    colours = colormaps["tab20"]
    pids: dict[int | None, int] = {}
    per = schedule.by_thread()
    for y, key in enumerate(keys):
        info = schedule.threads[key]
        colour = colours(pids.setdefault(info.pid, len(pids)) % 20)
        bars = [(s.start / 1e6, max(s.duration / 1e6, 1e-4)) for s in per[key]]
        ax.broken_barh(bars, (y - 0.4, 0.8), facecolors=colour)
    labels = [schedule.threads[k].label for k in keys]
    if show_idle and schedule.idle:
        ax.broken_barh([(s / 1e6, (e - s) / 1e6) for s, e in schedule.idle], (len(keys) - 0.4, 0.8),
                       facecolors="#cccccc")  # fmt: skip
        labels.append("(idle)")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(len(labels) - 0.5, -0.5)  # first thread on top
    ax.set_xlim(0, max(schedule.duration / 1e6, 1e-3))
    ax.set_xlabel("host time since the start (ms)")
    ax.set_title(title or f"Scheduler timeline: {len(keys)} threads, {len(schedule.slices)} slices")
    ax.grid(axis="x", alpha=0.3)
    return fig


def _latencies(source: Any) -> list[tuple[str, float]]:
    if isinstance(source, list | tuple) and source and isinstance(source[0], str | bytes):
        from .trace import trace

        source, _ = trace(list(source))
    records = getattr(source, "records", source)
    return [(r.name, r.seconds) for r in records]


def latency_histogram(source: Any, bins: int = 30, *, by_syscall: bool = True, top: int = 6,
                      ax: Any = None, title: str | None = None) -> Any:  # fmt: skip
    """A histogram of syscall latencies (microseconds, log scale) from a Trace
    (``asterinas_lab.viz.trace``), its records, or ``argv`` to run and trace. With
    ``by_syscall`` the bars are stacked by syscall: the ``top`` most frequent ones,
    the rest as "other". Returns the Figure: ``bins`` bars per stacked group."""
    samples = [(name, max(seconds * 1e6, 0.01)) for name, seconds in _latencies(source)]
    fig, ax = _new_axes(ax, (8, 4))
    if not samples:
        ax.set_title("no syscalls")
        return fig
    low, high = min(v for _, v in samples), max(v for _, v in samples)
    if high <= low:
        high = low * 1.5
    edges = [math.exp(math.log(low) + (math.log(high) - math.log(low)) * i / bins) for i in range(bins + 1)]
    edges[0], edges[-1] = low, high  # exactly: rounding must not leave the extremes out
    if by_syscall:
        counts: dict[str, int] = {}
        for name, _ in samples:
            counts[name] = counts.get(name, 0) + 1
        names = sorted(counts, key=lambda n: (-counts[n], n))[:top]
        groups = {name: [v for n, v in samples if n == name] for name in names}
        rest = [v for n, v in samples if n not in groups]
        if rest:
            groups["other"] = rest
        ax.hist(list(groups.values()), bins=edges, stacked=True, label=list(groups))
        ax.legend(fontsize=8)
    else:
        ax.hist([v for _, v in samples], bins=edges, color="#3b528b")
    ax.set_xscale("log")
    ax.set_xlabel("latency (µs, host time from entry to exit)")
    ax.set_ylabel("calls")
    ax.set_title(title or f"Syscall latency: {len(samples)} calls")
    return fig
