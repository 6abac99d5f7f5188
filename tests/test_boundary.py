"""deny(unsafe_code): the kernel uses only OSTD's public API, and the check bites.

Every rule of asterinas_lab/boundary.py has at least one snippet here that breaks it,
so that weakening a rule fails a test."""

import shutil
from pathlib import Path

import pytest

from asterinas_lab.boundary import KERNEL_DIR, check_kernel, check_source

VM = "asterinas_lab.kernel.vm"  # the package of a module such as kernel/vm/vmar.py
TOP = "asterinas_lab.kernel"  # the package of kernel/main.py


def test_kernel_respects_the_boundary():
    violations = check_kernel()
    assert violations == [], "\n".join(map(str, violations))


@pytest.mark.parametrize(
    "snippet, package, expected",
    [
        # Raw memory: the hardware, the emulator, FFI, memory maps, the garbage collector.
        ("import unicorn", VM, "imports unicorn"),
        ("import unicorn as uc", VM, "imports unicorn"),
        ("from unicorn.x86_const import UC_X86_REG_RAX", VM, "imports from unicorn"),
        ("import ctypes", VM, "imports ctypes"),
        ("import ctypes.util", VM, "imports ctypes.util"),
        ("from ctypes import c_char, memmove", VM, "imports from ctypes"),
        ("import mmap", VM, "imports mmap"),
        ("from mmap import mmap", VM, "imports from mmap"),
        ("import gc", VM, "imports gc"),
        ("from gc import get_referents", VM, "imports from gc"),
        ("from ...machine import Machine", VM, "imports from asterinas_lab.machine"),
        ("from ..machine.ram import Ram", TOP, "imports from asterinas_lab.machine"),
        ("from asterinas_lab.machine import Machine", VM, "imports from asterinas_lab.machine"),
        ("from asterinas_lab.machine.cpu import Cpu", VM, "imports from asterinas_lab.machine"),
        ("import asterinas_lab.machine.cpu", VM, "imports asterinas_lab.machine.cpu"),
        ("from ... import machine", VM, "imports asterinas_lab.machine"),
        ("from asterinas_lab import machine", VM, "imports asterinas_lab.machine"),
        # ... or reached through an attribute of an imported package.
        ("import asterinas_lab.kernel.error\nasterinas_lab.machine.ram", VM, "uses asterinas_lab.machine"),
        # OSTD's internals: submodules, private names, the unsafe marker.
        ("from ...ostd.mm.frame import allocator", VM, "imports OSTD internals"),
        ("from ..ostd.mm.frame import _allocator", TOP, "imports OSTD internals (asterinas_lab.ostd.mm.frame)"),
        ("import asterinas_lab.ostd.mm.frame", VM, "imports OSTD internals"),
        ("from asterinas_lab.ostd import _something", VM, "non-public OSTD name _something"),
        ("from ...ostd import platform", VM, "non-public OSTD name platform"),
        ("from ...ostd import unsafe", VM, "non-public OSTD name unsafe"),
        ("from asterinas_lab.ostd.unsafe import unsafe", VM, "imports OSTD internals (asterinas_lab.ostd.unsafe)"),
        ("from ... import unsafe", VM, "imports asterinas_lab.unsafe"),
        ("from .. import ostd\nostd.platform.get()", TOP, "non-public OSTD name platform"),
        ("from .. import ostd as o\no.mm.frame.allocator()", TOP, "non-public OSTD name mm"),
        ("import asterinas_lab.ostd\nasterinas_lab.ostd.user.UserContext", VM, "non-public OSTD name user"),
        # Private attributes of OSTD objects, spelled directly or by a constant name.
        ("def f(frame):\n    return frame._ram", VM, "private attribute ._ram"),
        ("def f(ctx):\n    return ctx._blob", VM, "private attribute ._blob"),
        ("def f(x):\n    return x.space._platform.ram", VM, "private attribute ._platform"),
        ("def f(x):\n    return x.__mangled", VM, "private attribute .__mangled"),
        ("def f(space):\n    return getattr(space, '_pt')", VM, "getattr of private name _pt"),
        ("def f(space):\n    return getattr(space, '_pt', None)", VM, "getattr of private name _pt"),
        ("def f(space):\n    setattr(space, '_pt', 0)", VM, "setattr of private name _pt"),
        ("def f(space):\n    delattr(space, '_pt')", VM, "delattr of private name _pt"),
        ("def f(space):\n    return hasattr(space, '_pt')", VM, "hasattr of private name _pt"),
        ("def f(ctx):\n    return object.__getattribute__(ctx, '_blob')", VM, "__getattribute__ of private name"),
        ("import operator\nget = operator.attrgetter('_pt')", VM, "attrgetter of private name _pt"),
        # Introspection: an object's insides without a private name in the source.
        ("def f(ctx):\n    return ctx.__dict__['_blob']", VM, "introspects .__dict__ of another object"),
        ("def f(ctx):\n    return vars(ctx)", VM, "introspects vars() of another object"),
        ("def f(frame):\n    return frame.__reduce_ex__(4)[2]", VM, "introspects .__reduce_ex__"),
        ("def f(e):\n    return e.__traceback__.tb_next.tb_frame.f_locals['ram']", VM, "introspects .f_locals"),
        ("def f(e):\n    return e.__traceback__", VM, "introspects .__traceback__"),
        ("def f(g):\n    return g.gi_frame.f_back", VM, "introspects .gi_frame"),
        ("def f(fn):\n    return fn.__globals__", VM, "introspects .__globals__"),
        ("import inspect", VM, "imports inspect"),
        # Copies of OSTD handles that bypass reference counting.
        ("import copy\ntwin = copy.copy(frame)", VM, "imports copy"),
        ("from copy import deepcopy", VM, "imports from copy"),
        ("import pickle", VM, "imports pickle"),
        ("import copyreg", VM, "imports copyreg"),
        # Dynamic imports and dynamic code: ways round every rule above.
        ("__import__('ctypes')", VM, "dynamic code: calls __import__()"),
        ("import builtins\nbuiltins.__import__('ctypes')", VM, "dynamic code: calls __import__()"),
        ("import importlib", VM, "imports importlib"),
        ("import importlib\nm = importlib.import_module('ctypes')", VM, "uses importlib.import_module"),
        ("from importlib import import_module", VM, "imports from importlib"),
        ("exec('import ctypes')", VM, "dynamic code: calls exec()"),
        ("eval('1')", VM, "dynamic code: calls eval()"),
        ("compile('1', 'x', 'eval')", VM, "dynamic code: calls compile()"),
        ("import sys\nm = sys.modules['ctypes']", VM, "uses sys.modules"),
        ("from sys import modules", VM, "imports sys.modules"),
    ],
)
def test_check_bites(snippet, package, expected):
    violations = check_source(snippet, "snippet.py", package)
    assert any(expected in v.message for v in violations), violations
    last = snippet.count("\n") + 1
    assert all(str(v).startswith("snippet.py:") and 1 <= v.line <= last for v in violations)


def test_violation_names_file_and_line():
    source = "import struct\n\n\ndef f(frame):\n    return frame._ram\n"
    [violation] = check_source(source, "kernel/vm/x.py", VM)
    assert str(violation) == "kernel/vm/x.py:5: touches private attribute ._ram"


@pytest.mark.parametrize(
    "source",
    [
        "from ...ostd import VmSpace, PageFlags\n\nclass A:\n    def f(self):\n        return self._x\n",
        "class A:\n    @classmethod\n    def f(cls):\n        return cls._registry\n",
        "from .. import ostd\nostd.memory_stats()\nostd.timer.now()\n",
        "from ...ostd import VmSpace\nVmSpace.new().cursor_mut(0)\n",
        "import re\nre.compile('x')\n",
        "import os, struct, sys\nos.path.join('a')\nsys.stderr.write('x')\n",
        "class A:\n    def f(self, x, name):\n        return getattr(x, name), x.__class__, vars(self)\n",
    ],
    ids=["self-private", "cls-private", "ostd-public", "public-class", "re-compile", "stdlib", "computed"],
)
def test_clean_snippet_passes(source):
    package = TOP if "from .. import" in source else VM
    assert check_source(source, "ok.py", package) == []


def test_check_kernel_on_a_copied_tree(tmp_path: Path):
    kernel = tmp_path / "kernel"
    shutil.copytree(KERNEL_DIR, kernel, ignore=shutil.ignore_patterns("__pycache__"))
    assert check_kernel(kernel) == []
    target = kernel / "vm" / "page_fault.py"
    lines = target.read_text().splitlines()
    lines.append("from ...machine.ram import Ram  # injected")
    target.write_text("\n".join(lines) + "\n")
    [violation] = check_kernel(kernel)
    assert str(violation) == f"{target}:{len(lines)}: imports from asterinas_lab.machine.ram"
