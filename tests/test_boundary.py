"""deny(unsafe_code): the kernel uses only OSTD's public API, and the check bites."""

import pytest

from asterinas_lab.boundary import check_kernel, check_source


def test_kernel_respects_the_boundary():
    violations = check_kernel()
    assert violations == [], "\n".join(map(str, violations))


@pytest.mark.parametrize(
    "snippet, expected",
    [
        ("import unicorn", "imports unicorn"),
        ("from unicorn.x86_const import UC_X86_REG_RAX", "imports from unicorn"),
        ("import ctypes", "imports ctypes"),
        ("import mmap", "imports mmap"),
        ("import gc", "imports gc"),
        ("from ...machine import Machine", "imports from asterinas_lab.machine"),
        ("from asterinas_lab.machine.cpu import Cpu", "imports from asterinas_lab.machine"),
        ("from ...ostd.mm.frame import allocator", "imports OSTD internals"),
        ("from ...ostd import platform", "non-public OSTD name platform"),
        ("from ... import unsafe", "imports asterinas_lab.unsafe"),
        ("def f(frame):\n    return frame._ram", "private attribute ._ram"),
        ("def f(space):\n    return getattr(space, '_pt')", "getattr of private name _pt"),
    ],
)
def test_check_bites(snippet, expected):
    violations = check_source(snippet, "snippet.py", "asterinas_lab.kernel.vm")
    assert any(expected in v.message for v in violations), violations


def test_clean_snippet_passes():
    source = "from ...ostd import VmSpace, PageFlags\n\nclass A:\n    def f(self):\n        return self._x\n"
    assert check_source(source, "ok.py", "asterinas_lab.kernel.vm") == []
