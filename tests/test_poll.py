"""Differential tests for poll, select, epoll and eventfd: Linux is the oracle.

Each program (images/src/poll_select.c, epoll_eventfd.c) prints one deterministic
line per check and exits 0; its musl and glibc builds run natively under
``chroot ROOT`` and inside the lab, and stdout and exit status must be identical.
See test_process_differential.py for the machinery.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from oracle import LIBCS, assert_program_same
from test_process_differential import needs_root

PROGRAMS = ["poll_select", "epoll_eventfd"]


@needs_root
@pytest.mark.parametrize("libc", LIBCS)
@pytest.mark.parametrize("name", PROGRAMS)
def test_program(request: pytest.FixtureRequest, root: Path, name: str, libc: str) -> None:
    assert_program_same(request, root, name, libc)
