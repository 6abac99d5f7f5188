"""The 100-line example kernel runs the tiny user program on OSTD's public API."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "kernel_in_100_lines.py"
TINY = ROOT / "images" / "bin" / "tiny"


def load_example():
    spec = importlib.util.spec_from_file_location("kernel_in_100_lines", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_kernel_runs_tiny(capfdbinary):
    example = load_example()
    assert example.TINY == TINY

    output = example.run(TINY.read_bytes())

    assert output == b"Hello from user mode!\n"
    assert capfdbinary.readouterr().out == b"Hello from user mode!\n"  # its console


def test_example_kernel_uses_only_the_public_api():
    source = EXAMPLE.read_text()
    assert "from asterinas_lab import ostd" in source
    assert "asterinas_lab.ostd." not in source  # no reaching into OSTD internals
    assert "asterinas_lab.machine" not in source
