"""The framekernel boundary, checked: Python's stand-in for ``#![deny(unsafe_code)]``.

Safe kernel code (everything under ``asterinas_lab/kernel/``) may use only OSTD's
public API. This checker parses each kernel module and reports:

* an import of the machine, unicorn, ctypes, mmap or gc (raw access to memory),
* an import from OSTD other than the public names of ``asterinas_lab.ostd``
  (its submodules, or any ``_private`` name),
* an access to a ``_private`` attribute of an object (``x._ram``); a class touching
  its own ``self._x`` is fine.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
KERNEL_DIR = PACKAGE_DIR / "kernel"
FORBIDDEN_MODULES = ("unicorn", "ctypes", "mmap", "gc", "asterinas_lab.machine")


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _public_ostd_names() -> set[str]:
    from . import ostd

    return set(ostd.__all__)


def _absolute(module: str | None, level: int, package: str) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")
    base = parts[: len(parts) - level + 1]
    return ".".join(base + ([module] if module else []))


def check_source(source: str, path: str = "<kernel>", package: str = "asterinas_lab.kernel") -> list[Violation]:
    """Check one module's source; ``package`` is the package it lives in."""
    public = _public_ostd_names()
    found: list[Violation] = []
    tree = ast.parse(source, filename=path)

    def forbidden(module: str) -> bool:
        return any(module == m or module.startswith(m + ".") for m in FORBIDDEN_MODULES)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if forbidden(alias.name):
                    found.append(Violation(path, node.lineno, f"imports {alias.name}"))
                elif alias.name.startswith("asterinas_lab.ostd."):
                    found.append(Violation(path, node.lineno, f"imports OSTD internals ({alias.name})"))
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node.module, node.level, package)
            if forbidden(module):
                found.append(Violation(path, node.lineno, f"imports from {module}"))
            elif module == "asterinas_lab":
                for alias in node.names:
                    if alias.name in ("machine", "unsafe"):
                        found.append(Violation(path, node.lineno, f"imports asterinas_lab.{alias.name}"))
            elif module == "asterinas_lab.ostd":
                for alias in node.names:
                    if alias.name not in public:
                        found.append(Violation(path, node.lineno, f"imports non-public OSTD name {alias.name}"))
            elif module.startswith("asterinas_lab.ostd."):
                found.append(Violation(path, node.lineno, f"imports OSTD internals ({module})"))
        elif isinstance(node, ast.Attribute):
            name = node.attr
            if name.startswith("_") and not name.startswith("__"):
                owner = node.value
                if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                    found.append(Violation(path, node.lineno, f"touches private attribute .{name}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("__import__", "getattr", "setattr") and node.args[1:2]:
                arg = node.args[1] if node.func.id != "__import__" else node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("_"):
                    found.append(Violation(path, node.lineno, f"{node.func.id} of private name {arg.value}"))
    return found


def check_kernel(kernel_dir: Path = KERNEL_DIR) -> list[Violation]:
    violations: list[Violation] = []
    for path in sorted(kernel_dir.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR.parent)
        package = ".".join(relative.with_suffix("").parts[:-1])
        if path.name == "__init__.py":
            package = ".".join(relative.parent.parts)
        violations += check_source(path.read_text(), str(relative), package)
    return violations
