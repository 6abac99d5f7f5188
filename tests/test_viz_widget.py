"""The live view of a Session (asterinas_lab/viz/widget.py), without a browser: its
model, its button handlers, its static fallback."""

from __future__ import annotations

import pytest
from test_viz_session import bundle_of, parse_html

from asterinas_lab import runner
from asterinas_lab.ostd import events
from asterinas_lab.ostd.events import Event
from asterinas_lab.viz import session as session_mod
from asterinas_lab.viz.session import Session
from asterinas_lab.viz.widget import WIDGET_MIME, LiveModel, LiveView


@pytest.fixture(autouse=True)
def _close_sessions():
    yield
    if session_mod._active is not None:
        session_mod._active.close()


def test_model_starts_empty_and_follows_steps():
    view = LiveView(["/bin/hello"])
    model = view.model
    assert model.attached and all(v == 0 for v in model.counters.values())
    assert model.events == [] and "at the entry point" in model.status
    assert model.registers is not None and model.code.current is not None
    assert model.areas.rows and any(r.name == "[stack]" for r in model.areas)
    refreshes = model.refreshes

    view.on_step_syscall()
    s = view.session
    assert model.refreshes == refreshes + 1
    assert model.counters["syscalls"] == 1 == s.syscall_count
    syscalls = [e for e in model.events if e.kind == "syscall"]
    assert [e.text for e in syscalls] == [s.last_syscall.text]
    assert (syscalls[0].pid, syscalls[0].tid) == (1, 1)
    assert model.status == s.status() and s.last_syscall.text in model.status

    rip = model.registers["rip"]
    view.on_step()
    assert s.steps == 1 and model.registers["rip"] != rip
    assert model.code.current.address == model.registers["rip"]

    before = s.steps
    view.run_n, view.run_unit = 25, "instructions"
    view.on_run_n()
    assert s.steps == before + 25
    view.run_n, view.run_unit = 2, "syscalls"
    calls = model.counters["syscalls"]
    view.on_run_n()
    assert model.counters["syscalls"] == calls + 2 or s.finished


def test_events_are_recorded_as_they_happen_and_counted():
    view = LiveView(["/bin/fork_tree"])
    view.session.step_syscall(40)  # drive the session directly: events still arrive
    model = view.model
    counters = dict(model.counters)
    assert counters["syscalls"] == 40 and counters["processes created"] >= 1
    assert counters["page faults"] > 0 and counters["frames allocated"] > 0
    assert counters["context switches"] > 0
    kinds = {e.kind for e in model.events}
    assert {"syscall", "create", "switch", "page fault", "map"} <= kinds
    assert "frame alloc" not in kinds  # counted, not logged
    seqs = [e.seq for e in model.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert model.status != view.session.status()  # not refreshed yet: the model is plain data
    view.refresh()
    assert model.status == view.session.status()


def test_recent_events_are_bounded():
    view = LiveView(["/bin/getppid_loop", "300"], max_events=50)
    view.on_step_syscall(None)
    view.session.step_syscall(200)
    assert len(view.model.events) == 50
    assert view.model.events_seen > 200
    assert view.model.events[-1].text == view.session.last_syscall.text


def test_maps_of_adjacent_pages_fold_into_one_record():
    session = Session(["/bin/hello"])
    model = LiveModel(session)
    before = len(model.events)
    for i in range(3):
        model._record(Event.MAP, {"space": None, "vaddr": 0x400000 + i * 4096, "paddr": 0x9000 + i * 4096,
                                  "flags": 3})  # fmt: skip
    model._record(Event.MAP, {"space": None, "vaddr": 0x800000, "paddr": 0x1000, "flags": 1})
    new = model.events[before:]
    assert [(e.kind, e.count) for e in new] == [("map", 3), ("map", 1)]
    assert new[0].text == "0x400000-0x403000 (3 pages)"
    assert new[1].text == "0x800000 -> frame 0x1000 r--"
    assert model.counters["maps"] == 4
    model.detach()
    assert not model.attached


def test_run_to_the_end_then_the_view_is_static():
    expected = runner.run(["/bin/fork_tree"]).stdout
    view = LiveView(["/bin/fork_tree"])
    widget = view.widget
    assert not view._parts["run"].disabled
    view._parts["run"].click()  # the button's own handler
    assert view.session.finished and view.model.stdout == expected
    assert not view.model.attached  # unsubscribed: nothing listens any more
    assert events.active[Event.MAP] == 0 and events.active[Event.CONTEXT_SWITCH] == 0
    assert all(view._parts[b].disabled for b in ("step", "step_syscall", "run_n", "run"))
    assert "finished, exit status 0" in view._parts["status"].value
    assert view.model.counters["exits"] >= 40
    view.on_step()  # harmless: says so
    assert "finished" in view.model.error
    assert widget is view.widget


def test_widget_parts_show_the_model():
    view = LiveView(["/bin/fork_tree"], pagetable=True)
    assert view.widget is not None  # build it
    view._parts["n"].value = 30
    view._parts["unit"].value = "syscalls"
    view._parts["run_n"].click()
    s = view.session
    assert s.syscall_count == 30
    parts = view._parts
    assert parts["tabs"].titles == ("Events", "Registers & code", "Processes", "Address space", "Output",
                                    "Page tables")  # fmt: skip
    events_html = parse_html(parts["events"].value)
    assert events_html.rows[0] == ["#", "pid/tid", "event", "what"]
    assert events_html.rows[1][3] == view.model.events[-1].text  # newest first
    assert s.last_syscall.text in events_html.text
    assert f"{s.registers()['rip']:#x}" in parse_html(parts["where"].value).text
    processes = parse_html(parts["processes"].value)
    assert len(processes.rows) - 1 == len(s.kernel.processes)
    parse_html(parts["areas"].value)
    assert "<svg" in parts["pagetable"].value
    parse_html(parts["counters"].value)


def test_static_fallback_without_a_frontend():
    view = LiveView(["/bin/hello"])
    view.on_step_syscall()
    bundle = bundle_of(view)
    assert WIDGET_MIME not in bundle  # no IPython kernel here
    html = parse_html(bundle["text/html"])
    assert view.session.last_syscall.text in html.text
    assert "Recent events" in html.text and "Address space" in html.text
    text = bundle["text/plain"]
    assert text.splitlines()[0] == view.session.status()
    assert "syscalls 1," in text
    assert bundle_of(view.model) == bundle


def test_errors_show_in_the_view():
    view = LiveView(["/bin/hello"])
    runner.run(["/bin/tiny"])  # powers the session's machine off
    assert all(v == 0 for v in view.model.counters.values())  # tiny's events are not counted
    assert not view.model.attached
    view.on_step()
    assert "powered off" in view.model.error
    assert "abandoned" in view.model.status
    parse_html(view.model.to_html())
