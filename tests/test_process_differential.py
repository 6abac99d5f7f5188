"""Differential tests for processes, memory, signals and threads: Linux is the oracle.

Each program of images/src listed in PROGRAMS (fork trees, copy-on-write, exec,
wait statuses, signal handlers, fault recovery, pthreads, raw futexes, mmap, timers,
clone, rlimits/sessions/credentials) prints one deterministic line per check and
exits 0. Its musl build (images/bin) and its glibc build (``gcc -static``, made at
test time by the ``glibc_root`` fixture) run natively under ``chroot ROOT`` and inside
the lab with ``runner.run([path], root=ROOT)``; stdout and the exit status (128 + N
when killed by signal N) must be identical.

The lab side runs in a separate Python process with a time limit (see
``oracle.run_isolated``), so a program that hangs the kernel fails its own test only.
It uses the runner's deterministic (virtual clock) mode when the runner has one.

fork_bomb is not run natively (as anything but pid 1 it only prints a refusal): it
runs in the lab alone, on a small machine, and must see fork() fail with EAGAIN or
ENOMEM and then reap every child.

The programs use /tmp of the root tree for scratch files; it is emptied before every
run so that nothing a native run left behind ends up in the lab's initramfs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from oracle import (
    IMAGES_BIN,
    LIBCS,
    assert_program_same,
    lab_isolated,
    load_build,
)

#: Programs compared natively and in the lab (all exit 0 natively).
PROGRAMS = [
    "fork_tree",
    "cow_isolation",
    "exec_chain",
    "wait_status",
    "signal_handlers",
    "segv_recover",
    "pthread_counter",
    "futex_wake",
    "mmap_semantics",
    "alarm_timer",
    "clone_threads",
    "rlimits_misc",
]
#: The fork bomb's machine: small, so that fork() runs out of memory or tasks early.
FORK_BOMB_RAM = 32 << 20

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")


@needs_root
@pytest.mark.parametrize("libc", LIBCS)
@pytest.mark.parametrize("name", PROGRAMS)
def test_program(request: pytest.FixtureRequest, root: Path, name: str, libc: str) -> None:
    assert_program_same(request, root, name, libc)


@pytest.mark.parametrize("libc", LIBCS)
def test_fork_bomb_in_thelab_isolated(tmp_path: Path, libc: str) -> None:
    tree = tmp_path / "root"
    (tree / "bin").mkdir(parents=True)
    if libc == "musl":
        shutil.copy2(IMAGES_BIN / "fork_bomb", tree / "bin" / "fork_bomb")
    else:
        if shutil.which(os.environ.get("CC", "gcc")) is None:
            pytest.skip("gcc not installed")
        try:
            load_build().build_one("fork_bomb", tree / "bin", libc="glibc")
        except RuntimeError as error:
            pytest.skip(f"cannot build static glibc programs: {error}")

    got = lab_isolated(tree, ["/bin/fork_bomb"], ram_size=FORK_BOMB_RAM)
    lines = got.stdout.decode(errors="replace").splitlines()
    assert got.status == 0, lines
    for line in [
        "fork eventually failed: EAGAIN or ENOMEM: yes",
        "forked at least 10 children first: yes",
        "kill(-pgid, SIGKILL): 0",
        "reaped all: yes",
        "all killed by SIGKILL: yes",
        "then waitpid: ECHILD",
        "fork works again afterwards: yes",
    ]:
        assert line in lines, f"missing {line!r} in:\n" + "\n".join(lines)
