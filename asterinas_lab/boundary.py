"""The framekernel boundary, checked: Python's stand-in for ``#![deny(unsafe_code)]``.

Safe kernel code (everything under ``asterinas_lab/kernel/``) may use only OSTD's
public API. This checker parses each kernel module and reports, as ``file:line: message``:

* an import of the machine, unicorn, ctypes, mmap or gc (raw access to memory); of
  importlib (a way round the import rules); of copy, copyreg or pickle (they duplicate
  an OSTD handle without taking a reference: a frame freed while still mapped, a CPU
  context freed twice); of inspect (frame introspection). Also ``import X`` followed by
  ``X.machine`` and the like, which reaches the same modules through attributes,
* an import from OSTD other than the public names of ``asterinas_lab.ostd``
  (its submodules, the ``unsafe`` marker, or any ``_private`` name), or an attribute of
  the ``ostd`` package that is not one of those names (``ostd.platform``),
* an access to a ``_private`` attribute of an object (``x._ram``); a class touching
  its own ``self._x`` is fine. ``getattr``/``setattr``/``delattr``/``hasattr``,
  ``operator.attrgetter``/``methodcaller`` and ``__getattribute__`` with a constant
  private name count too,
* introspection that reaches an object's insides without a private name: ``x.__dict__``
  and ``vars(x)`` of another object, ``__reduce_ex__`` and friends (which hand out an
  object's slots), and the frames of tracebacks and generators (``tb_frame``,
  ``f_locals``: an exception raised inside OSTD carries OSTD's local variables),
* dynamic code: a call of ``__import__``, ``exec``, ``eval`` or ``compile``, and any use
  of ``sys.modules``.

The check is syntactic. A computed name (``getattr(x, "_" + "ram")``) passes it; the
docs (docs/framekernel.md) list what Python cannot enforce.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
KERNEL_DIR = PACKAGE_DIR / "kernel"
KERNEL_PACKAGE = "asterinas_lab.kernel"
OSTD_PACKAGE = "asterinas_lab.ostd"
FORBIDDEN_MODULES = ("unicorn", "ctypes", "mmap", "gc", "importlib", "copy", "copyreg", "pickle", "inspect",
                     "asterinas_lab.machine")  # fmt: skip
FORBIDDEN_NAMES = ("sys.modules",)
DYNAMIC_CALLS = ("__import__", "exec", "eval", "compile")
ATTRIBUTE_CALLS = ("getattr", "setattr", "delattr", "hasattr", "attrgetter", "methodcaller",
                   "__getattribute__", "__getattr__", "__setattr__", "__delattr__")  # fmt: skip
INTROSPECTION = frozenset(
    {"__reduce__", "__reduce_ex__", "__getstate__", "__setstate__", "__globals__", "__closure__", "__code__",
     "__builtins__", "__subclasses__", "__traceback__", "tb_frame", "tb_next", "f_locals", "f_globals",
     "f_back", "f_builtins", "gi_frame", "cr_frame", "ag_frame"}
)  # fmt: skip


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


def _private(name: str) -> bool:
    """``_x`` and ``__x`` are private; dunders (``__dict__``) are Python's own."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _forbidden(module: str) -> str | None:
    for name in FORBIDDEN_MODULES + FORBIDDEN_NAMES:
        if module == name or module.startswith(name + "."):
            return name
    return None


def _dotted(node: ast.expr) -> tuple[str, list[str]] | None:
    """``a.b.c`` -> ("a", ["b", "c"]); None unless the chain ends in a plain name."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return node.id, attrs[::-1]


def check_source(source: str, path: str = "<kernel>", package: str = KERNEL_PACKAGE) -> list[Violation]:
    """Check one module's source; ``package`` is the package it lives in."""
    public = _public_ostd_names()
    found: list[Violation] = []
    tree = ast.parse(source, filename=path)
    # Names the module binds to modules (or to names inside them): "ostd" -> asterinas_lab.ostd.
    bound: dict[str, str] = {}

    def report(node: ast.AST, message: str) -> None:
        found.append(Violation(path, getattr(node, "lineno", 0), message))

    def ostd_name(dotted: str) -> str | None:
        """The first component after ``asterinas_lab.ostd.`` if it is not public."""
        if not dotted.startswith(OSTD_PACKAGE + "."):
            return None
        name = dotted[len(OSTD_PACKAGE) + 1 :].split(".")[0]
        return None if name in public else name

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _forbidden(alias.name):
                    report(node, f"imports {alias.name}")
                elif alias.name.startswith(OSTD_PACKAGE + "."):
                    report(node, f"imports OSTD internals ({alias.name})")
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    first = alias.name.split(".")[0]
                    bound[first] = first
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node.module, node.level, package)
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{module}.{alias.name}"
            if _forbidden(module):
                report(node, f"imports from {module}")
            elif module == "asterinas_lab":
                for alias in node.names:
                    if _forbidden(f"asterinas_lab.{alias.name}") or alias.name == "unsafe":
                        report(node, f"imports asterinas_lab.{alias.name}")
            elif module == OSTD_PACKAGE:
                for alias in node.names:
                    if alias.name not in public:
                        report(node, f"imports non-public OSTD name {alias.name}")
            elif module.startswith(OSTD_PACKAGE + "."):
                report(node, f"imports OSTD internals ({module})")
            else:
                for alias in node.names:
                    if _forbidden(f"{module}.{alias.name}"):
                        report(node, f"imports {module}.{alias.name}")

    inner: set[int] = set()  # attribute nodes inside a chain already checked
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if id(node) in inner:
                continue
            chain = _dotted(node)
            value = node.value
            while isinstance(value, ast.Attribute):
                inner.add(id(value))
                value = value.value
            if chain is not None and chain[0] in bound:
                # Resolve the chain through the import that bound its first name.
                name, attrs = chain
                prefix = bound[name]
                for attr in attrs:
                    prefix = f"{prefix}.{attr}"
                    if _forbidden(prefix):
                        report(node, f"uses {prefix}")
                        break
                    hidden = ostd_name(prefix)
                    if hidden is not None:
                        report(node, f"uses non-public OSTD name {hidden} ({prefix})")
                        break
            # Private attributes anywhere in the chain (self._x and cls._x are a class's own).
            current: ast.expr = node
            while isinstance(current, ast.Attribute):
                owner = current.value
                own = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
                if _private(current.attr) and not own:
                    report(current, f"touches private attribute .{current.attr}")
                elif current.attr == "__dict__" and not own:
                    report(current, "introspects .__dict__ of another object")
                elif current.attr in INTROSPECTION:
                    report(current, f"introspects .{current.attr}")
                current = owner
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called == "__import__" or (isinstance(func, ast.Name) and called in DYNAMIC_CALLS):
                report(node, f"dynamic code: calls {called}()")
            if isinstance(func, ast.Name) and called == "vars":
                if node.args and not (isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls")):
                    report(node, "introspects vars() of another object")
            if called in ATTRIBUTE_CALLS:
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _private(arg.value):
                        report(node, f"{called} of private name {arg.value}")
    found.sort(key=lambda v: v.line)
    return found


def check_kernel(kernel_dir: Path | str = KERNEL_DIR) -> list[Violation]:
    """Check every module of a kernel tree (by default ``asterinas_lab/kernel/``).

    Paths are reported relative to the repository for the real kernel, and under
    ``kernel_dir`` as given for any other tree (a copy with a bug injected)."""
    kernel_dir = Path(kernel_dir)
    default = kernel_dir.resolve() == KERNEL_DIR
    violations: list[Violation] = []
    for path in sorted(kernel_dir.rglob("*.py")):
        relative = path.relative_to(kernel_dir)
        parts = relative.with_suffix("").parts
        package = ".".join((KERNEL_PACKAGE, *parts[:-1]))
        if path.name == "__init__.py":
            package = ".".join((KERNEL_PACKAGE, *relative.parent.parts))
        shown = str(path.resolve().relative_to(PACKAGE_DIR.parent)) if default else str(path)
        try:
            violations += check_source(path.read_text(encoding="utf-8"), shown, package)
        except SyntaxError as error:
            violations.append(Violation(shown, error.lineno or 0, f"cannot parse: {error.msg}"))
    return violations
