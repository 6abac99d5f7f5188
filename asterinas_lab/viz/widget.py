"""A live view of a running Session: counters, recent events, address space, controls.

::

    from asterinas_lab.viz.widget import LiveView
    view = LiveView(["/bin/fork_tree"])     # or LiveView(session)
    view                                    # in a notebook: the widget

The view has Step / Step syscall / Run N / Run buttons that drive the
:class:`~asterinas_lab.viz.session.Session`, and shows, refreshed after each of them:

* counters: syscalls, page faults, maps and unmaps, frames allocated and freed,
  context switches, signals, processes, execs, exits;
* the most recent events (syscalls with their strace line, page faults, maps and
  unmaps, protections, context switches, signals, process creation, exec, exit);
* where the machine is paused (registers and code), the processes, the paused
  process's VM areas with their resident pages, the program's output, and (with
  ``pagetable=True``) its page tables (``asterinas_lab.viz.pagetable``).

What it shows is a plain Python object, :class:`LiveModel` (``view.model``), that can be
used and tested without a browser. Event callbacks run synchronously, sometimes inside
a CPU hook: the model's only record the event (an append to a list) and everything is
formatted later, when the view refreshes. Without a notebook frontend (a script, an
exported notebook), the view displays as static HTML of the current state.
"""

from __future__ import annotations

import html
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..ostd import Task, events
from ..ostd.events import Event
from . import inspector
from .inspector import MONO, AreaTable, ProcessTable
from .session import Session

#: The counters, in display order, and the event each counts.
COUNTERS: tuple[tuple[str, Event], ...] = (
    ("syscalls", Event.SYSCALL_EXIT),
    ("page faults", Event.PAGE_FAULT),
    ("maps", Event.MAP),
    ("unmaps", Event.UNMAP),
    ("protects", Event.PROTECT),
    ("frames allocated", Event.FRAME_ALLOC),
    ("frames freed", Event.FRAME_FREE),
    ("context switches", Event.CONTEXT_SWITCH),
    ("signals", Event.SIGNAL),
    ("processes created", Event.PROCESS_CREATE),
    ("execs", Event.EXEC),
    ("exits", Event.EXIT),
)
_NAME_OF = {event: name for name, event in COUNTERS}
#: Events that are counted but not logged one by one (there are too many).
QUIET = frozenset({Event.FRAME_ALLOC, Event.FRAME_FREE})
KIND_LABELS = {
    Event.SYSCALL_EXIT: "syscall", Event.PAGE_FAULT: "page fault", Event.MAP: "map", Event.UNMAP: "unmap",
    Event.PROTECT: "protect", Event.FRAME_ALLOC: "frame alloc", Event.FRAME_FREE: "frame free",
    Event.CONTEXT_SWITCH: "switch", Event.SIGNAL: "signal", Event.PROCESS_CREATE: "create",
    Event.EXEC: "exec", Event.EXIT: "exit",
}  # fmt: skip
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
KIND_COLOURS = {"syscall": "#1f4e79", "page fault": "#b35900", "map": "#2e7d32", "unmap": "#8e2430",
                "protect": "#6a1b9a", "switch": "#555", "signal": "#c62828", "create": "#00695c",
                "exec": "#00695c", "exit": "#8e2430"}  # fmt: skip


@dataclass
class EventRecord:
    """One logged event. ``pid``/``tid`` name the thread it concerns (for page faults
    and memory events: the thread running when it happened)."""

    seq: int
    kind: str
    pid: int | None
    tid: int | None
    text: str
    count: int = 1  # consecutive maps of adjacent pages are folded into one record

    def __str__(self) -> str:
        who = f"{self.pid}/{self.tid}" if self.pid is not None else "-"
        return f"{self.seq:>6} {who:>9} {self.kind:<10} {self.text}"


class LiveModel:
    """The data a live view shows: counters, recent events, where the machine is paused,
    the processes and the paused process's VM areas. A plain object: ``refresh()``
    takes the state from the session, the event callbacks feed the counters and log."""

    def __init__(self, session: Session, max_events: int = 200) -> None:
        self.session = session
        self.counters: dict[str, int] = {name: 0 for name, _ in COUNTERS}
        self.max_events = max_events
        self.events_seen = 0
        self.refreshes = 0
        self.status = ""
        self.error: str | None = None
        self.areas: AreaTable = AreaTable([])
        self.processes: ProcessTable = ProcessTable([])
        self.registers: inspector.Registers | None = None
        self.code: inspector.Disassembly | None = None
        self.stdout = b""
        self.stderr = b""
        # Raw records, appended by the callbacks: (seq, event, pid, tid, fields, count).
        self._raw: deque[list[Any]] = deque(maxlen=max_events)
        self._undo: list[Callable[[], None]] = []
        self.attach()
        self.refresh()

    # --- recording (callbacks: maybe inside a CPU hook; they only record) --------------------

    def attach(self) -> None:
        """Subscribe to every event (done at creation)."""
        if not self._undo:
            self._undo = [events.subscribe(event, self._record) for _, event in COUNTERS]

    def detach(self) -> None:
        for undo in self._undo:
            undo()
        self._undo = []

    @property
    def attached(self) -> bool:
        return bool(self._undo)

    def _record(self, kind: Event, fields: dict[str, Any]) -> None:
        session = self.session
        if session.result is not None or session.abandoned or session._machine_gone():
            self.detach()  # the session's machine is gone: these events are another's
            return
        self.counters[_NAME_OF[kind]] += 1
        if kind in QUIET:
            return
        self.events_seen += 1
        if kind is Event.SYSCALL_EXIT or kind is Event.SIGNAL:
            pid, tid = fields["pid"], fields["tid"]
        elif kind is Event.PROCESS_CREATE or kind is Event.EXEC or kind is Event.EXIT:
            pid, tid = fields["pid"], fields.get("tid")
        elif kind is Event.CONTEXT_SWITCH:
            thread = getattr(fields["task"], "data", None)
            pid, tid = _ids(thread)
            fields = {"name": getattr(fields["task"], "name", "?")}
        else:
            task = Task.current()
            pid, tid = _ids(getattr(task, "data", None))
        raw = self._raw
        if kind is Event.MAP and raw:
            last = raw[-1]
            # A run of pages mapped one after the other by one thread: one record.
            if last[1] is Event.MAP and last[3] == tid and last[4]["end"] == fields["vaddr"]:
                last[4]["end"] += 4096
                last[5] += 1
                self.events_seen -= 1
                return
        if kind is Event.MAP:
            fields = {"vaddr": fields["vaddr"], "end": fields["vaddr"] + 4096, "paddr": fields["paddr"],
                      "flags": fields["flags"]}  # fmt: skip
        elif kind is Event.UNMAP or kind is Event.PROTECT:
            fields = {k: v for k, v in fields.items() if k != "space"}  # do not keep address spaces alive
        raw.append([self.events_seen, kind, pid, tid, fields, 1])

    # --- reading ---------------------------------------------------------------------------------

    @property
    def events(self) -> list[EventRecord]:
        """The most recent events, oldest first."""
        return [EventRecord(seq, KIND_LABELS[kind], pid, tid, _describe(kind, fields, count), count)
                for seq, kind, pid, tid, fields, count in list(self._raw)]  # fmt: skip

    def refresh(self) -> None:
        """Take the current state from the session (never call it from an event callback)."""
        s = self.session
        self.refreshes += 1
        self.status = s.status()
        self.stdout, self.stderr = s.stdout, s.stderr
        self.processes = s.processes()
        self.registers = self.code = None
        self.areas = AreaTable([])
        if s.paused:
            try:
                self.registers = s.registers()
                self.code = s.disassemble(8)
                self.areas = s.areas()
            except Exception as error:  # noqa: BLE001 - show, do not fail
                self.error = f"{type(error).__name__}: {error}"
        if s.finished or s.abandoned:
            self.detach()

    def page_tables_html(self) -> str:
        """The paused process's page tables, drawn by ``viz.pagetable`` (if present)."""
        s = self.session
        if not s.paused:
            return "<i>not paused in a process</i>"
        try:
            from .pagetable import snapshot
        except ImportError:
            return "<i>page-table pictures are not available</i>"
        try:
            return snapshot(s.process).to_html()
        except Exception as error:  # noqa: BLE001
            return f"<i>cannot draw the page tables: {html.escape(str(error))}</i>"

    # --- rendering ---------------------------------------------------------------------------------

    def counters_text(self) -> str:
        return ", ".join(f"{name} {value}" for name, value in self.counters.items())

    def text(self, events: int = 20) -> str:
        lines = [self.status, self.counters_text()]
        if self.error:
            lines.append(f"error: {self.error}")
        recent = self.events[-events:]
        if recent:
            lines.append("recent events (seq pid/tid kind what):")
            lines += [f"  {record}" for record in recent]
        if self.areas.rows:
            lines.append(self.areas.text())
        return "\n".join(lines)

    def counters_html(self) -> str:
        cells = "".join(f"<td style='{MONO};padding:0 8px'><div style='font-size:1.3em'><b>{value}</b></div>"
                        f"<div style='color:#666'>{html.escape(name)}</div></td>"
                        for name, value in self.counters.items())  # fmt: skip
        return f"<table class='asterinas-counters'><tr>{cells}</tr></table>"

    def events_html(self, events: int | None = None) -> str:
        records = self.events if events is None else self.events[-events:]
        rows = []
        for r in reversed(records):  # newest first
            colour = KIND_COLOURS.get(r.kind, "#333")
            who = f"{r.pid}/{r.tid}" if r.pid is not None else ""
            rows.append(f"<tr><td style='{MONO};color:#888'>{r.seq}</td><td style='{MONO}'>{who}</td>"
                        f"<td style='{MONO};color:{colour}'>{html.escape(r.kind)}</td>"
                        f"<td style='{MONO}'>{html.escape(r.text)}</td></tr>")  # fmt: skip
        if not rows:
            return "<i>no events yet</i>"
        return inspector.html_table(["#", "pid/tid", "event", "what"], rows, "asterinas-events")

    def where_html(self) -> str:
        if self.code is None or self.registers is None:
            return f"<div style='{MONO}'>{html.escape(self.status)}</div>"
        code, regs = self.code.to_html(), self.registers.to_html(columns=2)
        return f"<div style='display:flex;gap:2em;align-items:flex-start'><div>{code}</div><div>{regs}</div></div>"

    def output_html(self) -> str:
        out = self.stdout.decode(errors="replace")
        err = self.stderr.decode(errors="replace")
        parts = [f"<pre style='margin:0'>{html.escape(out) or '<i>(no output yet)</i>'}</pre>"]
        if err:
            parts.append(f"<pre style='margin:0;color:#c62828'>{html.escape(err)}</pre>")
        return "".join(parts)

    def to_html(self, events: int = 30) -> str:
        error = f"<div style='color:#c62828'>{html.escape(self.error)}</div>" if self.error else ""
        return (f"<div class='asterinas-live'><div style='{MONO}'><b>{html.escape(self.status)}</b></div>"
                f"{error}{self.counters_html()}"
                f"<h4>Recent events</h4>{self.events_html(events)}"
                f"<h4>Where</h4>{self.where_html()}"
                f"<h4>Processes</h4>{self.processes.to_html()}"
                f"<h4>Address space</h4>{self.areas.to_html()}"
                f"<h4>Output</h4>{self.output_html()}</div>")  # fmt: skip

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self.to_html()}


def _ids(thread: Any) -> tuple[int | None, int | None]:
    if thread is None or not hasattr(thread, "tid"):
        return None, None
    process = getattr(thread, "process", None)
    return getattr(process, "pid", None), thread.tid


def _describe(kind: Event, f: dict[str, Any], count: int) -> str:
    if kind is Event.SYSCALL_EXIT:
        return f["text"]
    if kind is Event.PAGE_FAULT:
        return f"at {f['address']:#x} (rip {f['rip']:#x})"
    if kind is Event.MAP:
        if count > 1:
            return f"{f['vaddr']:#x}-{f['end']:#x} ({count} pages)"
        return f"{f['vaddr']:#x} -> frame {f['paddr']:#x} {_flags(f['flags'])}"
    if kind is Event.UNMAP:
        return f"{f['start']:#x}-{f['end']:#x} ({f['pages']} pages)"
    if kind is Event.PROTECT:
        return f"{f['start']:#x}-{f['end']:#x}"
    if kind is Event.CONTEXT_SWITCH:
        return f"to {f['name']}"
    if kind is Event.SIGNAL:
        return f"signal {f['signal']}: {f['action']}"
    if kind is Event.PROCESS_CREATE:
        what = "thread" if f.get("thread") else "process"
        return f"new {what}: pid {f['pid']} tid {f['tid']} (parent {f['parent']}, flags {f['flags']:#x})"
    if kind is Event.EXEC:
        path = f["path"].decode(errors="replace") if isinstance(f["path"], bytes) else str(f["path"])
        argv = " ".join(a.decode(errors="replace") if isinstance(a, bytes) else str(a) for a in f["argv"])
        return f"{path}: {argv}"
    if kind is Event.EXIT:
        return f"pid {f['pid']} status {f['status']:#x}"
    return str(f)


def _flags(flags: Any) -> str:
    value = int(flags)
    return "".join(c if value & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))


def _in_kernel() -> bool:
    """Is this an IPython kernel (a frontend may show widgets)?"""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveView:
    """An ipywidgets view of a Session that the buttons drive (see the module docstring).

    ``LiveView(argv, **run_options)`` starts a Session; ``LiveView(session)`` watches one.
    The handlers (``on_step``, ``on_step_syscall``, ``on_run_n``, ``on_run``) are what
    the buttons call; they can be called directly (a script, a test).
    """

    def __init__(self, target: Session | list[str | bytes] | str, *, max_events: int = 200, run_n: int = 100,
                 pagetable: bool = False, **run_options: Any) -> None:  # fmt: skip
        self.session = target if isinstance(target, Session) else Session(target, **run_options)
        self.model = LiveModel(self.session, max_events)
        self.run_n = run_n
        self.run_unit = "instructions"  # or "syscalls"
        self.pagetable = pagetable
        self._widget: Any = None
        self._parts: dict[str, Any] = {}

    # --- the handlers the buttons call -------------------------------------------------------------

    def on_step(self, _button: Any = None) -> None:
        self._drive(self.session.step)

    def on_step_syscall(self, _button: Any = None) -> None:
        self._drive(self.session.step_syscall)

    def on_run_n(self, _button: Any = None) -> None:
        self._read_controls()
        n = max(1, int(self.run_n))
        if self.run_unit == "syscalls":
            self._drive(lambda: self.session.step_syscall(n))
        else:
            self._drive(lambda: self.session.step(n))

    def on_run(self, _button: Any = None) -> None:
        self._drive(self.session.run)

    def _drive(self, action: Callable[[], object]) -> None:
        self.model.error = None
        if self.session.finished:
            self.model.error = "the program has finished"
        else:
            try:
                action()
            except Exception as error:  # noqa: BLE001 - shown in the view, not raised into the frontend
                self.model.error = f"{type(error).__name__}: {error}"
        self.refresh()

    def refresh(self) -> None:
        """Re-read the session into the model and, if it exists, the widget."""
        self.model.refresh()
        if self._widget is not None:
            self._update_widget()

    # --- the widget -----------------------------------------------------------------------------------

    @property
    def widget(self) -> Any:
        """The ipywidgets box (built on first use)."""
        if self._widget is None:
            self._build_widget()
        return self._widget

    def _read_controls(self) -> None:
        parts = self._parts
        if "n" in parts:
            self.run_n = parts["n"].value
            self.run_unit = parts["unit"].value

    def _build_widget(self) -> None:
        import ipywidgets as w

        def button(description: str, handler: Callable[[Any], None], tooltip: str, style: str = "") -> Any:
            b = w.Button(description=description, tooltip=tooltip, button_style=style,
                         layout=w.Layout(width="auto"))  # fmt: skip
            b.on_click(handler)
            return b

        parts = self._parts
        parts["status"] = w.HTML()
        parts["step"] = button("Step", self.on_step, "execute one instruction", "primary")
        parts["step_syscall"] = button("Step syscall", self.on_step_syscall, "run to just after the next syscall")
        parts["n"] = w.BoundedIntText(value=self.run_n, min=1, max=10**9, layout=w.Layout(width="8em"))
        parts["unit"] = w.Dropdown(options=["instructions", "syscalls"], value=self.run_unit,
                                   layout=w.Layout(width="9em"))  # fmt: skip
        parts["run_n"] = button("Run N", self.on_run_n, "run N instructions or N syscalls")
        parts["run"] = button("Run", self.on_run, "run to the end", "warning")
        parts["counters"] = w.HTML()
        parts["events"] = w.HTML()
        parts["where"] = w.HTML()
        parts["processes"] = w.HTML()
        parts["areas"] = w.HTML()
        parts["output"] = w.HTML()
        tabs = [("Events", parts["events"]), ("Registers & code", parts["where"]),
                ("Processes", parts["processes"]), ("Address space", parts["areas"]),
                ("Output", parts["output"])]  # fmt: skip
        if self.pagetable:
            parts["pagetable"] = w.HTML()
            tabs.append(("Page tables", parts["pagetable"]))
        scroll = w.Layout(max_height="420px", overflow="auto")
        boxes = [w.Box([widget], layout=scroll) for _, widget in tabs]
        parts["tabs"] = w.Tab(children=boxes, titles=[title for title, _ in tabs])
        controls = w.HBox([parts["step"], parts["step_syscall"], parts["n"], parts["unit"], parts["run_n"],
                           parts["run"]])  # fmt: skip
        self._widget = w.VBox([parts["status"], controls, parts["counters"], parts["tabs"]])
        self._update_widget()

    def _update_widget(self) -> None:
        m, parts = self.model, self._parts
        error = f"<div style='color:#c62828'>{html.escape(m.error)}</div>" if m.error else ""
        parts["status"].value = f"<div style='{MONO}'><b>{html.escape(m.status)}</b></div>{error}"
        parts["counters"].value = m.counters_html()
        parts["events"].value = m.events_html()
        parts["where"].value = m.where_html()
        parts["processes"].value = m.processes.to_html()
        parts["areas"].value = m.areas.to_html()
        parts["output"].value = m.output_html()
        if "pagetable" in parts:
            parts["pagetable"].value = m.page_tables_html()
        done = not self.session.paused
        for name in ("step", "step_syscall", "run_n", "run"):
            parts[name].disabled = done

    # --- display ------------------------------------------------------------------------------------

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": self.model.text(), "text/html": self.model.to_html()}
        if _in_kernel():
            # A frontend with the widget manager shows the widget; others the static HTML.
            view = self.widget._repr_mimebundle_()
            if WIDGET_MIME in view:
                bundle[WIDGET_MIME] = view[WIDGET_MIME]
        return bundle

    def __repr__(self) -> str:
        return f"<LiveView of {self.session!r}>"
