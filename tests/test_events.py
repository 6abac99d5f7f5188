"""Events published by OSTD and the kernel (asterinas_lab/ostd/events.py)."""

from __future__ import annotations

from collections import Counter

from asterinas_lab import runner
from asterinas_lab.ostd import events
from asterinas_lab.ostd.events import Event
from asterinas_lab.ostd.mm import frame as frame_mod


def _record(kinds, argv, **kwargs):
    seen: list[tuple[Event, dict]] = []
    unsubscribe = [events.subscribe(kind, lambda kind, fields: seen.append((kind, fields))) for kind in kinds]
    try:
        result = runner.run(argv, **kwargs)
    finally:
        for undo in unsubscribe:
            undo()
    return result, seen


def test_every_event_kind_is_published():
    result, seen = _record(list(Event), ["/bin/signal_handlers"], deterministic=True)
    assert result.status == 0
    counts = Counter(kind for kind, _ in seen)
    assert set(counts) == set(Event), f"never seen: {set(Event) - set(counts)}"
    assert not any(events.active), "unsubscribing switches every event off again"


def test_syscall_events_carry_the_strace_line():
    lines: list[str] = []
    result, seen = _record([Event.SYSCALL_ENTER, Event.SYSCALL_EXIT], ["/bin/hello"], strace=lines.append)
    exits = [fields for kind, fields in seen if kind is Event.SYSCALL_EXIT]
    assert [fields["text"] for fields in exits] == lines[: len(exits)]
    write = next(fields for fields in exits if fields["name"] == "writev")
    assert write["ret"] == len(b"hello, world\n") and write["pid"] == 1
    enters = [fields for kind, fields in seen if kind is Event.SYSCALL_ENTER]
    assert enters[0]["text"].startswith(enters[0]["name"] + "(")


def test_process_events_follow_a_fork_tree():
    result, seen = _record([Event.PROCESS_CREATE, Event.EXIT, Event.EXEC], ["/bin/fork_tree"])
    creates = [f for k, f in seen if k is Event.PROCESS_CREATE]
    exits = [f for k, f in seen if k is Event.EXIT]
    assert len(creates) >= 10
    assert {f["pid"] for f in creates} <= {f["pid"] for f in exits}  # every child ended
    assert [f["path"] for k, f in seen if k is Event.EXEC] == [b"/bin/fork_tree"]


def test_frame_events_replay_to_the_final_frame_metadata():
    kinds = [Event.FRAME_ALLOC, Event.FRAME_FREE, Event.MAP, Event.PAGE_FAULT]
    result, seen = _record(kinds, ["/bin/cow_isolation"])
    assert result.status == 0
    state: dict[int, str] = {}
    for kind, fields in seen:
        if kind is Event.FRAME_ALLOC:
            state[fields["paddr"]] = "in use"
        elif kind is Event.FRAME_FREE:
            state[fields["paddr"]] = "free"
    allocator = frame_mod.allocator()  # the machine of the run that just ended
    for paddr, expected in state.items():
        is_free = allocator.kind[paddr // 4096] == frame_mod.FREE
        assert is_free == (expected == "free"), f"frame {paddr:#x}: events say {expected}"
    faults = [f for k, f in seen if k is Event.PAGE_FAULT]
    assert len(faults) > 2048  # 8 MiB touched by parent and child
    assert all(f["address"] < 1 << 47 for f in faults)
