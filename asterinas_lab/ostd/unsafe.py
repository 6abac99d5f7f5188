"""Marking raw accesses as unsafe.

Python has no ``unsafe`` keyword, so OSTD marks every function that touches the raw RAM
buffer, the unicorn handle or CPU registers with :func:`unsafe`. The marker does nothing
at run time; it is what the TCB report counts and what a reviewer looks for. Each use
carries a ``# SAFETY:`` comment saying why the raw access cannot break an invariant.
Code under ``asterinas_lab/kernel/`` may not import this module (the safety lint
enforces that): safe code cannot declare anything unsafe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])


def unsafe(function: F) -> F:
    """Mark ``function`` as performing raw (unchecked) accesses to the machine."""
    function.__unsafe__ = True  # type: ignore[attr-defined]
    return function
