"""Shared fixtures: run a check inside a freshly booted OSTD machine; the root tree
(and its glibc builds) of the differential tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import oracle
import pytest

from asterinas_lab import ostd

SMALL_RAM = 16 << 20


def run_in_kernel(check: Callable[[], Any], ram_size: int = SMALL_RAM) -> Any:
    """Boot a machine whose kernel entry point runs ``check``; return its result.

    ``check`` runs after OSTD's init, as the kernel's ``kernel_main`` (no task), so an
    assertion failing inside it propagates out of ``ostd.boot`` to pytest.
    """
    result: list[Any] = []

    def kernel_main(boot_info: ostd.BootInfo) -> None:
        result.append(check())

    ostd.boot(kernel_main, ram_size=ram_size)
    assert len(result) == 1
    return result[0]


@pytest.fixture
def in_kernel() -> Callable[[Callable[[], Any]], Any]:
    yield run_in_kernel
    ostd.shutdown()


# --- differential tests (tests/oracle.py): one root tree per session ----------------


@pytest.fixture(scope="session")
def root(tmp_path_factory: pytest.TempPathFactory):
    """The native/lab root tree (tests/oracle.py's ``populate``), on a tmpfs if possible."""
    if not oracle.BUSYBOX.is_file():
        pytest.skip(f"{oracle.BUSYBOX} not installed")
    base = tmp_path_factory.mktemp("diffroot")
    cleanup = None
    if not oracle.is_tmpfs(base) and Path("/dev/shm").is_dir() and oracle.is_tmpfs(Path("/dev/shm")):
        base = Path(tempfile.mkdtemp(prefix="asterinas-lab-diff-", dir="/dev/shm"))
        cleanup = base
    tree = base / "root"
    tree.mkdir()
    oracle.populate(tree)
    probe = subprocess.run(
        ["chroot", str(tree), "/bin/busybox", "true"], env=oracle.NATIVE_ENV, capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip(f"chroot does not work here: {probe.stderr.decode(errors='replace').strip()}")
    yield tree
    if cleanup is not None:
        shutil.rmtree(cleanup, ignore_errors=True)


@pytest.fixture(scope="session")
def glibc_root(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROOT/glibc: every images/src program built with ``gcc -static``."""
    if shutil.which(os.environ.get("CC", "gcc")) is None:
        pytest.skip("gcc not installed")
    out = tmp_path_factory.mktemp("glibc")
    try:
        oracle.build_glibc(out)
    except RuntimeError as error:
        pytest.skip(f"cannot build static glibc programs: {error}")
    dest = root / "glibc"
    dest.mkdir(exist_ok=True)
    for prog in out.iterdir():
        shutil.copy2(prog, dest / prog.name)
    return dest
