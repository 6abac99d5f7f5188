"""Syscall tracing for notebooks (asterinas_lab/viz/trace.py)."""

from __future__ import annotations

from html.parser import HTMLParser

from asterinas_lab import runner
from asterinas_lab.viz.trace import Tracer, trace


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        self._in_cell = tag in ("td", "th")
        if self._in_cell:
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data


def test_trace_matches_strace_output_line_for_line():
    lines: list[str] = []
    result = runner.run(["/bin/fork_tree"], strace=lines.append, deterministic=True)
    traced, again = trace(["/bin/fork_tree"], deterministic=True)
    assert traced.lines() == lines  # the same formatter, the same strace -f prefixes
    assert result.stdout == again.stdout


def test_filters_by_syscall_process_and_failure():
    traced, _ = trace(["/bin/fork_tree"], deterministic=True)
    forks = traced.filter(syscalls={"fork"})
    assert len(forks) >= 10 and {r.name for r in forks} == {"fork"}
    children = {r.ret for r in forks}
    only_init = traced.filter(pids={1})
    assert only_init.records and {r.pid for r in only_init} == {1}
    assert not children & {r.pid for r in only_init}
    failed = traced.filter(failed=True)
    assert failed.records and all(r.ret < 0 for r in failed)
    assert any(r.text.endswith("= -1 ECHILD (No child processes)") for r in failed.filter(syscalls={"wait4"}))
    assert all(" = -1 E" in r.text for r in failed)


def test_trace_renders_as_an_html_table():
    traced, _ = trace(["/bin/hello"])
    bundle = traced._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    parser = _Cells()
    parser.feed(bundle["text/html"])
    header, *rows = parser.rows
    assert header == ["pid", "tid", "syscall", "call", "result", "us"]
    assert len(rows) == len(traced)
    assert any(row[2] == "writev" and row[3].startswith('writev(1, [{iov_base="hello, world"') for row in rows)


def test_summary_counts_like_strace_c():
    traced, _ = trace(["/bin/fork_tree"], deterministic=True)
    summary = traced.summary()
    calls = {row.name: row.calls for row in summary.rows}
    assert calls["fork"] == len(traced.filter(syscalls={"fork"}))
    assert summary.total.calls == len(traced)
    assert summary.total.errors == len(traced.filter(failed=True))
    text = str(summary).splitlines()
    assert text[0].split() == ["%", "time", "seconds", "usecs/call", "calls", "errors", "syscall"]
    assert text[-1].endswith(" total")
    parser = _Cells()
    parser.feed(summary._repr_html_())
    assert parser.rows[-1][-1] == "total"


def test_tracer_filters_while_recording():
    with Tracer(syscalls={"writev"}) as tracer:
        runner.run(["/bin/hello"])
    assert [r.name for r in tracer.trace] == ["writev"]
