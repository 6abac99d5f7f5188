"""Shared fixtures: run a check inside a freshly booted OSTD machine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
