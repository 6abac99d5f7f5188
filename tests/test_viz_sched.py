"""Scheduling pictures (asterinas_lab/viz/sched.py): the scheduler timeline and the
syscall latency histogram, drawn with matplotlib's Agg backend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from test_viz_session import bundle_of  # noqa: E402

from asterinas_lab import runner  # noqa: E402
from asterinas_lab.ostd import events  # noqa: E402
from asterinas_lab.ostd.events import Event  # noqa: E402
from asterinas_lab.viz import session as session_mod  # noqa: E402
from asterinas_lab.viz.sched import (  # noqa: E402
    Schedule,
    ScheduleRecorder,
    Slice,
    ThreadInfo,
    latency_histogram,
    record_schedule,
    timeline,
)
from asterinas_lab.viz.session import Session  # noqa: E402
from asterinas_lab.viz.trace import trace  # noqa: E402


@pytest.fixture(autouse=True)
def _close_sessions():
    yield
    if session_mod._active is not None:
        session_mod._active.close()


@pytest.fixture(scope="module")
def fork_tree_schedule():
    created = []
    undo = events.subscribe(Event.PROCESS_CREATE, lambda _k, f: created.append(f["tid"]))
    try:
        schedule, result = record_schedule(["/bin/fork_tree"])
    finally:
        undo()
    return schedule, result, created


def test_every_thread_of_fork_tree_is_in_the_schedule(fork_tree_schedule):
    schedule, result, created = fork_tree_schedule
    assert result.exit_code == 0 and result.stdout == runner.run(["/bin/fork_tree"]).stdout
    assert len(created) >= 30
    # pid 1 and every process it and its children forked ran at least once
    assert len(schedule.threads) == len(created) + 1
    assert {info.tid for info in schedule.threads.values()} == {1, *created}
    assert list(schedule.threads)[0] == "tid 1"
    assert all(info.comm == "fork_tree" and info.pid == info.tid for info in schedule.threads.values())
    assert schedule.threads["tid 1"].label == "pid 1 (fork_tree)"


def test_slices_take_turns_on_one_cpu(fork_tree_schedule):
    schedule, _, _ = fork_tree_schedule
    spans = sorted([(s.start, s.end) for s in schedule.slices] + schedule.idle)
    assert spans[0][0] == 0
    for (s0, e0), (s1, _e1) in zip(spans, spans[1:], strict=False):
        assert s0 <= e0 == s1  # back to back: a single CPU, never two at once
    assert spans[-1][1] == schedule.duration
    per = schedule.by_thread()
    assert all(per[key] for key in schedule.threads)
    assert sum(schedule.busy_ns(k) for k in schedule.threads) + sum(e - s for s, e in schedule.idle) \
        == schedule.duration  # fmt: skip
    bundle = bundle_of(schedule)
    assert bundle["text/plain"].startswith(f"{len(schedule.threads)} threads, {len(schedule.slices)} slices")


def test_timeline_has_a_row_per_thread(fork_tree_schedule):
    schedule, _, _ = fork_tree_schedule
    fig = timeline(schedule)
    ax = fig.axes[0]
    rows = len(schedule.threads) + (1 if schedule.idle else 0)
    assert len(ax.collections) == rows
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[: len(schedule.threads)] == [info.label for info in schedule.threads.values()]
    per = schedule.by_thread()
    for collection, key in zip(ax.collections, schedule.threads, strict=False):
        assert len(collection.get_paths()) == len(per[key])  # one bar per slice
    if schedule.idle:
        assert labels[-1] == "(idle)" and len(ax.collections[-1].get_paths()) == len(schedule.idle)
    assert len(timeline(schedule, show_idle=False).axes[0].collections) == len(schedule.threads)
    fig.canvas.draw()  # it renders
    assert fig._repr_png_().startswith(b"\x89PNG")  # and shows in a notebook without pyplot


def test_timeline_of_threads_from_argv():
    fig = timeline(["/bin/pthread_counter"], show_idle=False)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "pid 1 (pthread_counter)"
    assert any(label.startswith("pid 1 tid ") for label in labels)  # threads of pid 1


def test_latency_histogram_bars():
    traced, _ = trace(["/bin/fork_tree"])
    fig = latency_histogram(traced, bins=20, by_syscall=False)
    bars = fig.axes[0].patches
    assert len(bars) == 20
    assert sum(b.get_height() for b in bars) == len(traced)
    assert fig.axes[0].get_xscale() == "log"

    fig = latency_histogram(traced, bins=15, top=4)
    ax = fig.axes[0]
    names = {r.name for r in traced}
    groups = min(4, len(names)) + (1 if len(names) > 4 else 0)
    assert len(ax.patches) == 15 * groups
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == groups and legend[-1] == "other"
    by_count = sorted(names, key=lambda n: (-sum(r.name == n for r in traced), n))
    assert legend[:4] == by_count[:4]
    fig.canvas.draw()


def test_latency_histogram_from_argv_and_records():
    fig = latency_histogram(["/bin/hello"], bins=5, by_syscall=False)
    assert len(fig.axes[0].patches) == 5
    traced, _ = trace(["/bin/getppid_loop", "100"])
    fig = latency_histogram(traced.records, bins=8, by_syscall=False)
    assert sum(b.get_height() for b in fig.axes[0].patches) == len(traced)
    empty = latency_histogram([], bins=5)
    assert empty.axes[0].get_title() == "no syscalls"


def test_recording_a_session():
    recorder = ScheduleRecorder()
    s = Session(["/bin/fork_tree"], with_kernel=recorder.watch_kernel)
    s.step_syscall(5)
    with recorder:
        s.run()
    schedule = recorder.schedule
    assert len(schedule.threads) > 30 and schedule.slices
    assert len(timeline(schedule).axes[0].collections) == len(schedule.threads) + (1 if schedule.idle else 0)


def test_schedule_is_plain_data():
    schedule = Schedule(slices=[Slice("tid 1", 0, 10), Slice("kthread", 10, 15), Slice("tid 1", 20, 30)],
                        threads={"tid 1": ThreadInfo("tid 1", 1, 1, "init"),
                                 "kthread": ThreadInfo("kthread", None, None)},
                        idle=[(15, 20)], duration=30)  # fmt: skip
    assert schedule.busy_ns("tid 1") == 20
    assert [info.label for info in schedule.threads.values()] == ["pid 1 (init)", "kthread"]
    fig = timeline(schedule)
    assert [len(c.get_paths()) for c in fig.axes[0].collections] == [2, 1, 1]
