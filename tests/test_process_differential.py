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
from oracle import HAS_DETERMINISTIC, IMAGES_BIN, Outcome, check_result, load_build, native, run_isolated

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
LIBCS = ["musl", "glibc"]
#: Native runs take at most ~1.2 s (alarm_timer); anything near this limit is a hang.
NATIVE_TIMEOUT = 20
#: Wall-clock limit for one lab run (boot, run, shutdown); they take about a second.
LAB_TIMEOUT = 60
LAB_OPTIONS: dict[str, object] = {"memcheck": True, **({"deterministic": True} if HAS_DETERMINISTIC else {})}
#: The fork bomb's machine: small, so that fork() runs out of memory or tasks early.
FORK_BOMB_RAM = 32 << 20

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")


def _empty_tmp(root: Path) -> None:
    tmp = root / "tmp"
    for entry in tmp.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _lab(root: Path, argv: list[str], **options: object) -> Outcome:
    return check_result(run_isolated(argv, timeout=LAB_TIMEOUT, root=root, **LAB_OPTIONS, **options))


def _text(data: bytes) -> list[str]:
    return data.decode(errors="replace").splitlines()


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
    # Lines first, for a readable diff; then the exact bytes.
    assert _text(got.stdout) == _text(want.stdout), f"{argv}: stdout differs (stderr in lab: {got.stderr!r})"
    assert got.stdout == want.stdout
    assert got.status == want.status, f"{argv}: status {got.status} in lab, {want.status} natively"


@pytest.mark.parametrize("libc", LIBCS)
def test_fork_bomb_in_the_lab(tmp_path: Path, libc: str) -> None:
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

    got = _lab(tree, ["/bin/fork_bomb"], ram_size=FORK_BOMB_RAM)
    lines = _text(got.stdout)
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
