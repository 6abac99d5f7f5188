"""Visualisations for notebooks: page tables, address spaces, physical memory.

Every object here is plain data captured from a live machine, renderable later (after
the machine is gone): in a notebook a bare object draws itself (``_repr_mimebundle_``),
and each has ``text()``/``to_html()`` (and ``to_svg()`` for drawings) for scripts.

* :func:`snapshot` -> :class:`PageTableSnapshot`: one address space's page tables
  (``.tree()``, ``.walk(vaddr)``, ``.to_svg()``, ``.maps()``);
* :func:`diff` -> :class:`PageTableDiff`: what changed between two snapshots;
* :func:`address_space_map` -> :class:`AddressSpaceMap`: VM areas and resident pages;
* :func:`frame_census` -> :class:`FrameCensus` and :func:`frame_map` -> a matplotlib
  Figure: who owns each physical frame;
* :func:`trace` -> :class:`Trace`: a program's syscalls, strace-style, with filters and
  a ``strace -c`` summary (trace.py);
* :class:`Session`: a machine the notebook steps by instruction or syscall, with
  registers, disassembly and hexdumps (session.py, inspector.py); :class:`LiveView`: an
  ipywidgets view of it that updates as it runs (widget.py);
* :func:`timeline` and :func:`latency_histogram`: which thread ran when, and how long
  syscalls took (sched.py).

These are tools outside the trusted core: they read OSTD's internals and change nothing.
"""

from .memory import AddressSpaceMap, FrameCensus, address_space_map, frame_census, frame_map
from .pagetable import (
    AddressWalk,
    AreaInfo,
    Entry,
    EntryChange,
    FrameInfo,
    PageTableDiff,
    PageTableSnapshot,
    WalkStep,
    diff,
    snapshot,
    walk,
)
from .sched import latency_histogram, record_schedule, timeline
from .session import Session
from .trace import Trace, Tracer, trace
from .widget import LiveView

__all__ = [
    "AddressSpaceMap",
    "AddressWalk",
    "AreaInfo",
    "Entry",
    "EntryChange",
    "FrameCensus",
    "FrameInfo",
    "LiveView",
    "PageTableDiff",
    "PageTableSnapshot",
    "Session",
    "Trace",
    "Tracer",
    "WalkStep",
    "address_space_map",
    "diff",
    "frame_census",
    "frame_map",
    "latency_histogram",
    "record_schedule",
    "snapshot",
    "timeline",
    "trace",
    "walk",
]
