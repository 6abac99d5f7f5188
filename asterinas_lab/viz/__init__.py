"""Visualisations for notebooks: page tables, address spaces, physical memory.

Every object here is plain data captured from a live machine, renderable later (after
the machine is gone): in a notebook a bare object draws itself (``_repr_mimebundle_``),
and each has ``text()``/``to_html()`` (and ``to_svg()`` for drawings) for scripts.

* :func:`snapshot` -> :class:`PageTableSnapshot`: one address space's page tables
  (``.tree()``, ``.walk(vaddr)``, ``.to_svg()``, ``.maps()``);
* :func:`diff` -> :class:`PageTableDiff`: what changed between two snapshots;
* :func:`address_space_map` -> :class:`AddressSpaceMap`: VM areas and resident pages;
* :func:`frame_census` -> :class:`FrameCensus` and :func:`frame_map` -> a matplotlib
  Figure: who owns each physical frame.

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

__all__ = [
    "AddressSpaceMap",
    "AddressWalk",
    "AreaInfo",
    "Entry",
    "EntryChange",
    "FrameCensus",
    "FrameInfo",
    "PageTableDiff",
    "PageTableSnapshot",
    "WalkStep",
    "address_space_map",
    "diff",
    "frame_census",
    "frame_map",
    "snapshot",
    "walk",
]
