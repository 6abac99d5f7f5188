"""Events: what OSTD and the kernel publish, for tracers and visualisations.

An emitting site tests one byte before doing anything (``if active[MAP]: emit(...)``),
so with nothing subscribed an event costs an index into a bytearray. Subscribers are
called synchronously, at the moment of the event, in kernel context (often inside a
CPU hook): they must be quick and must not switch tasks.

The events and their fields:

* ``SYSCALL_ENTER``, ``SYSCALL_EXIT`` (kernel): tid, pid, number, name, args, text
  (strace-style), and for the exit ret;
* ``PAGE_FAULT`` (OSTD): address, rip -- a fault user code raised, resolved or not;
* ``MAP`` (OSTD): space, vaddr, paddr, flags; ``UNMAP``: space, start, end, pages;
  ``PROTECT``: space, start, end;
* ``FRAME_ALLOC`` (OSTD): paddr, kind; ``FRAME_FREE``: paddr;
* ``CONTEXT_SWITCH`` (OSTD): task, the task switched to;
* ``SIGNAL`` (kernel): pid, tid, signal, action;
* ``PROCESS_CREATE`` (kernel): pid, tid, parent, flags, thread; ``EXEC``: pid, path,
  argv; ``EXIT``: pid, status.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any

Event = IntEnum(
    "Event",
    "SYSCALL_ENTER SYSCALL_EXIT PAGE_FAULT MAP UNMAP PROTECT FRAME_ALLOC FRAME_FREE CONTEXT_SWITCH SIGNAL "
    "PROCESS_CREATE EXEC EXIT",
    start=0,
)

Callback = Callable[[Event, dict[str, Any]], object]
active = bytearray(len(Event))  # active[kind] == 1 while kind has subscribers
_subscribers: list[list[Callback]] = [[] for _ in Event]


def subscribe(kind: Event, callback: Callback) -> Callable[[], None]:
    """Call ``callback(kind, fields)`` at each event of ``kind``; returns the
    function that unsubscribes."""
    _subscribers[kind].append(callback)
    _update(kind)

    def unsubscribe() -> None:
        if callback in _subscribers[kind]:
            _subscribers[kind].remove(callback)
        _update(kind)

    return unsubscribe


def _update(kind: Event) -> None:
    active[kind] = 1 if _subscribers[kind] else 0
    # Syscall entry and exit share one switch: the syscall path tests a single byte.
    either = _subscribers[Event.SYSCALL_ENTER] or _subscribers[Event.SYSCALL_EXIT]
    active[Event.SYSCALL_ENTER] = active[Event.SYSCALL_EXIT] = 1 if either else 0


def emit(event: Event, /, **fields: Any) -> None:
    for callback in tuple(_subscribers[event]):
        callback(event, fields)
