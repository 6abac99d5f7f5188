"""Readiness of open files for poll, select and epoll (Asterinas' ``Pollee``).

A file that can become ready or unready (a pipe end, an eventfd, an epoll instance)
owns a :class:`Pollee` and calls :meth:`Pollee.notify` whenever its readiness may have
changed. A thread waiting in poll/select/epoll_wait registers one WaitQueue of its own
on the pollee of every file it watches, for the duration of the wait only, and sleeps
on it; ``notify`` wakes every registered queue. Spurious wake-ups are harmless: the
waiter re-checks all its files.

A file reports its readiness with ``poll() -> mask`` (the POLL* bits below). Files with
no ``poll`` method (regular files, directories, devices) are always ready for reading
and writing (Linux's DEFAULT_POLLMASK).
"""

from __future__ import annotations

from typing import Any

from ...ostd import WaitQueue

POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND = 0x40, 0x80, 0x100, 0x200
POLLRDHUP = 0x2000
DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM


class Pollee:
    """The observers of one file's readiness. ``generation`` counts notifications
    (edge-triggered epoll reports a ready file again only after it changed)."""

    def __init__(self) -> None:
        self.observers: list[WaitQueue] = []
        self.generation = 0

    def register(self, queue: WaitQueue) -> None:
        self.observers.append(queue)

    def unregister(self, queue: WaitQueue) -> None:
        for i, observer in enumerate(self.observers):
            if observer is queue:
                del self.observers[i]
                return

    def notify(self) -> None:
        self.generation += 1
        for queue in list(self.observers):
            queue.wake_all()


def poll_file(file: Any) -> int:
    """The file's current readiness mask."""
    poll = getattr(file, "poll", None)
    return poll() if poll is not None else DEFAULT_POLLMASK


def pollees_of(file: Any) -> list[Pollee]:
    """The pollees to observe to learn that ``file``'s readiness changed."""
    hook = getattr(file, "pollees", None)
    if hook is not None:
        return hook()
    pollee = getattr(file, "pollee", None)
    return [pollee] if pollee is not None else []
