"""Differential tests for poll, select, epoll and eventfd: Linux is the oracle.

Each program (images/src/poll_select.c, epoll_eventfd.c) prints one deterministic
line per check and exits 0; its musl and glibc builds run natively under
``chroot ROOT`` and inside the lab, and stdout and exit status must be identical.
See test_process_differential.py for the machinery.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from oracle import native
from test_process_differential import LIBCS, NATIVE_TIMEOUT, _empty_tmp, _lab, _text, needs_root

PROGRAMS = ["poll_select", "epoll_eventfd"]


@needs_root
@pytest.mark.parametrize("libc", LIBCS)
@pytest.mark.parametrize("name", PROGRAMS)
def test_program(request: pytest.FixtureRequest, root: Path, name: str, libc: str) -> None:
    if libc == "glibc":
        request.getfixturevalue("glibc_root")
    argv = [f"/bin/{name}" if libc == "musl" else f"/glibc/{name}"]

    _empty_tmp(root)
    want = native(root, argv, timeout=NATIVE_TIMEOUT)
    assert want.status == 0, f"{argv} natively: status {want.status}\n{want.stdout.decode(errors='replace')}"
    assert want.stdout.endswith(b"done\n"), f"{argv} natively did not finish: {want.stdout[-500:]!r}"

    _empty_tmp(root)
    got = _lab(root, argv)
    assert _text(got.stdout) == _text(want.stdout), f"{argv}: stdout differs (stderr in lab: {got.stderr!r})"
    assert got.stdout == want.stdout
    assert got.status == want.status, f"{argv}: status {got.status} in lab, {want.status} natively"
