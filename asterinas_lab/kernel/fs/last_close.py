"""Knowing when the last descriptor of an open file goes away (Linux's ``fput`` of the
last reference), for the locks that belong to an open file rather than to a process:
flock(2) locks and fcntl's open-file-description (OFD) locks.

Counting every descriptor of every file all the time would cost every ``dup`` and
``close``; instead a file is counted only from the moment something asks to be told
(:func:`on_last_close`), starting from a census of the descriptor tables. The file
table calls :func:`fd_acquired` and :func:`fd_released`, which cost one test of an
empty dict while nobody watches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Watched open files: how many descriptors refer to each, and who to tell at zero.
_descriptors: dict[Any, int] = {}
_callbacks: dict[Any, dict[str, Callable[[Any], None]]] = {}


def on_last_close(kernel: Any, file: Any, key: str, callback: Callable[[Any], None]) -> None:
    """Call ``callback(file)`` when the last descriptor of ``file`` is closed. One
    callback per ``key`` ("flock", "ofd"): asking again replaces it."""
    if file not in _descriptors:
        tables = {id(process.files): process.files for process in kernel.processes.values()}
        _descriptors[file] = sum(
            1 for table in tables.values() for _fd, open_file in table.items() if open_file is file
        )
    _callbacks.setdefault(file, {})[key] = callback


def forget(file: Any, key: str) -> None:
    """``key`` no longer needs to hear about ``file`` (its lock was released)."""
    callbacks = _callbacks.get(file)
    if callbacks is not None:
        callbacks.pop(key, None)
        if not callbacks:
            del _callbacks[file]
            _descriptors.pop(file, None)


def fd_acquired(file: Any) -> None:
    """A descriptor now refers to ``file`` (dup, fork, ...)."""
    if _descriptors and file in _descriptors:
        _descriptors[file] += 1


def fd_released(file: Any) -> None:
    """A descriptor of ``file`` was closed; the last one runs the callbacks."""
    count = _descriptors.get(file) if _descriptors else None
    if count is None:
        return
    if count > 1:
        _descriptors[file] = count - 1
        return
    del _descriptors[file]
    for callback in _callbacks.pop(file, {}).values():
        callback(file)
