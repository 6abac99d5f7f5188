"""The trusted computing base, measured: how much of the kernel is OSTD.

A framekernel's claim is that only a small core has to be trusted: in the Asterinas
paper, OSTD is 14.0 % of the code. This module counts the same figure for the lab.

* Code lines: lines that carry a code token. Blank lines, comments and docstrings
  (module, class and function docstrings) do not count.
* Unsafe functions: functions decorated with ``@unsafe`` (``asterinas_lab/ostd/unsafe.py``).
* Unsafe blocks: ``# SAFETY:`` comments, each justifying one raw access.
* TCB % = OSTD lines / (OSTD + kernel lines). ``machine/`` is the hardware and, like
  QEMU in the paper, is not counted.

:func:`tcb_report` returns the figures; ``asterinas-lab tcb`` prints them and
:func:`plot_tcb` draws them in a notebook.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
OSTD_DIR = PACKAGE_DIR / "ostd"
KERNEL_DIR = PACKAGE_DIR / "kernel"

PAPER_TCB_PERCENT = 14.0
"""OSTD's share of the code in the Asterinas paper (USENIX ATC '25)."""
TCB_CEILING_PERCENT = 15.0
"""The most this project allows OSTD to be (``asterinas-lab tcb --check`` enforces it)."""

_SAFETY = re.compile(r"#\s*SAFETY:")
_NOT_CODE = frozenset(
    {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
     tokenize.ENCODING, tokenize.ENDMARKER}
)  # fmt: skip


# --- counting one source ------------------------------------------------------------


@dataclass(frozen=True)
class SourceCount:
    """What one source file contains: code lines and unsafe markers (with their lines)."""

    lines: int
    unsafe_function_lines: tuple[int, ...] = ()
    unsafe_block_lines: tuple[int, ...] = ()


def _docstring_spans(tree: ast.AST) -> list[tuple[int, int]]:
    """(first line, last line) of every module, class and function docstring."""
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):  # fmt: skip
                spans.append((first.lineno, first.end_lineno or first.lineno))
    return spans


def _is_unsafe_decorator(node: ast.expr) -> bool:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id == "unsafe"
    return isinstance(node, ast.Attribute) and node.attr == "unsafe"


def count_source(source: str, filename: str = "<source>") -> SourceCount:
    """Count the code lines and unsafe markers of one Python source."""
    tree = ast.parse(source, filename=filename)
    docstrings = _docstring_spans(tree)
    code_lines: set[int] = set()
    safety: list[int] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            if _SAFETY.match(token.string):
                safety.append(token.start[0])
            continue
        if token.type in _NOT_CODE:
            continue
        first, last = token.start[0], token.end[0]
        if token.type == tokenize.STRING and any(a <= first and last <= b for a, b in docstrings):
            continue
        code_lines.update(range(first, last + 1))
    unsafe_functions = sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(_is_unsafe_decorator(d) for d in node.decorator_list)
    )
    return SourceCount(len(code_lines), tuple(unsafe_functions), tuple(safety))


# --- the report -----------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleRow:
    """One module: its layer ("ostd" or "kernel"), package ("ostd/mm") and counts."""

    layer: str
    package: str
    module: str
    path: Path
    lines: int
    unsafe_function_lines: tuple[int, ...] = ()
    unsafe_block_lines: tuple[int, ...] = ()

    @property
    def unsafe_functions(self) -> int:
        return len(self.unsafe_function_lines)

    @property
    def unsafe_blocks(self) -> int:
        return len(self.unsafe_block_lines)


@dataclass(frozen=True)
class PackageRow:
    """The sum of a package's modules (subpackages are rows of their own)."""

    layer: str
    package: str
    modules: int
    lines: int
    unsafe_functions: int
    unsafe_blocks: int


@dataclass
class TcbReport:
    """Code lines and unsafe markers of OSTD and the kernel, per module."""

    modules: list[ModuleRow] = field(default_factory=list)
    paper_percent: float = PAPER_TCB_PERCENT
    ceiling_percent: float = TCB_CEILING_PERCENT

    def _rows(self, layer: str) -> list[ModuleRow]:
        return [row for row in self.modules if row.layer == layer]

    @property
    def ostd_lines(self) -> int:
        return sum(row.lines for row in self._rows("ostd"))

    @property
    def kernel_lines(self) -> int:
        return sum(row.lines for row in self._rows("kernel"))

    @property
    def total_lines(self) -> int:
        return self.ostd_lines + self.kernel_lines

    @property
    def tcb_percent(self) -> float:
        """OSTD lines as a percentage of OSTD + kernel lines."""
        return 100.0 * self.ostd_lines / self.total_lines if self.total_lines else 0.0

    @property
    def within_ceiling(self) -> bool:
        return self.tcb_percent <= self.ceiling_percent

    def unsafe_functions(self, layer: str = "ostd") -> int:
        return sum(row.unsafe_functions for row in self._rows(layer))

    def unsafe_blocks(self, layer: str = "ostd") -> int:
        return sum(row.unsafe_blocks for row in self._rows(layer))

    def unsafe_markers(self, layer: str = "kernel") -> list[tuple[Path, int, str]]:
        """(path, line, what) of every ``@unsafe`` and ``# SAFETY:`` in ``layer``; the
        kernel must have none (safe code cannot declare anything unsafe)."""
        markers = []
        for row in self._rows(layer):
            markers += [(row.path, line, "@unsafe function") for line in row.unsafe_function_lines]
            markers += [(row.path, line, "SAFETY: block") for line in row.unsafe_block_lines]
        return sorted(markers)

    def packages(self) -> list[PackageRow]:
        """Per-package sums, OSTD first, each layer in package-name order."""
        sums: dict[tuple[str, str], list[int]] = {}
        for row in self.modules:
            entry = sums.setdefault((row.layer, row.package), [0, 0, 0, 0])
            entry[0] += 1
            entry[1] += row.lines
            entry[2] += row.unsafe_functions
            entry[3] += row.unsafe_blocks
        order = {"ostd": 0, "kernel": 1}
        keys = sorted(sums, key=lambda key: (order.get(key[0], 2), key[1]))
        return [PackageRow(layer, package, *sums[layer, package]) for layer, package in keys]

    def format(self, modules: bool = True) -> str:
        """The report as a plain-text table (what ``asterinas-lab tcb`` prints)."""
        return "\n".join(_format(self, modules))


def _scan(layer: str, directory: Path) -> Iterable[ModuleRow]:
    for path in sorted(directory.rglob("*.py")):
        relative = path.relative_to(directory)
        package = "/".join((layer, *relative.parts[:-1]))
        counts = count_source(path.read_text(encoding="utf-8"), str(path))
        yield ModuleRow(layer, package, f"{package}/{path.name}", path, counts.lines,
                        counts.unsafe_function_lines, counts.unsafe_block_lines)  # fmt: skip


def tcb_report(ostd_dir: Path | str = OSTD_DIR, kernel_dir: Path | str = KERNEL_DIR) -> TcbReport:
    """Measure OSTD (the TCB) against the kernel; ``machine/`` is not counted."""
    rows = [*_scan("ostd", Path(ostd_dir)), *_scan("kernel", Path(kernel_dir))]
    return TcbReport(rows)


# --- text -----------------------------------------------------------------------------


def _table(header: tuple[str, ...], rows: list[tuple], total: tuple) -> list[str]:
    cells = [header, *[tuple(str(c) for c in row) for row in rows], tuple(str(c) for c in total)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        first = row[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return [line(cells[0]), rule, *map(line, cells[1:-1]), rule, line(cells[-1])]


def _format(report: TcbReport, modules: bool) -> list[str]:
    out = ["Trusted computing base: OSTD (the trusted core) vs the safe kernel",
           "code lines exclude blank lines, comments and docstrings; machine/ (the hardware) is not counted",
           ""]  # fmt: skip
    header = ("package", "modules", "lines", "unsafe fns", "SAFETY blocks")
    for layer, title in (("ostd", "OSTD (trusted)"), ("kernel", "kernel (safe)")):
        rows = [(p.package, p.modules, p.lines, p.unsafe_functions, p.unsafe_blocks)
                for p in report.packages() if p.layer == layer]  # fmt: skip
        count = sum(1 for row in report.modules if row.layer == layer)
        lines = report.ostd_lines if layer == "ostd" else report.kernel_lines
        total = (f"{title} total", count, lines, report.unsafe_functions(layer), report.unsafe_blocks(layer))
        out += _table(header, rows, total) + [""]
    if modules:
        header = ("module", "lines", "unsafe fns", "SAFETY blocks")
        rows = [(row.module, row.lines, row.unsafe_functions, row.unsafe_blocks) for row in report.modules]
        total = (
            "all modules",
            report.total_lines,
            report.unsafe_functions("ostd") + report.unsafe_functions("kernel"),
            report.unsafe_blocks("ostd") + report.unsafe_blocks("kernel"),
        )
        out += _table(header, rows, total) + [""]
    verdict = "within" if report.within_ceiling else "OVER"
    out += [
        f"OSTD   {report.ostd_lines:6d} lines  {report.unsafe_functions('ostd')} unsafe functions, "
        f"{report.unsafe_blocks('ostd')} SAFETY blocks",
        f"kernel {report.kernel_lines:6d} lines  {report.unsafe_functions('kernel')} unsafe functions, "
        f"{report.unsafe_blocks('kernel')} SAFETY blocks",
        f"TCB = {report.ostd_lines} / {report.total_lines} = {report.tcb_percent:.1f} % "
        f"(paper: {report.paper_percent:.1f} %; ceiling: {report.ceiling_percent:.0f} %, {verdict})",
    ]
    return out


# --- the picture ----------------------------------------------------------------------


def plot_tcb(report: TcbReport | None = None, ax=None):
    """Draw the report as one 100 % bar: OSTD packages (warm) then kernel packages
    (cool), with the measured TCB %, the paper's 14.0 % and the ceiling marked.
    Returns the matplotlib Axes (its ``.figure`` is the figure)."""
    import matplotlib.pyplot as plt  # only notebooks need matplotlib

    report = report or tcb_report()
    if ax is None:
        _fig, ax = plt.subplots(figsize=(11, 3.2))
    total = report.total_lines or 1
    packages = [p for p in report.packages() if p.lines]
    warm = plt.get_cmap("autumn")
    cool = plt.get_cmap("winter")
    n_ostd = sum(1 for p in packages if p.layer == "ostd")
    n_kernel = len(packages) - n_ostd
    left = 0.0
    i_ostd = i_kernel = 0
    for package in packages:
        width = 100.0 * package.lines / total
        if package.layer == "ostd":
            color = warm(0.15 + 0.7 * i_ostd / max(n_ostd - 1, 1))
            i_ostd += 1
        else:
            color = cool(0.1 + 0.8 * i_kernel / max(n_kernel - 1, 1))
            i_kernel += 1
        ax.barh(0, width, left=left, color=color, edgecolor="white", linewidth=0.8,
                label=f"{package.package} ({package.lines})")  # fmt: skip
        if width >= 4.0:
            name = package.package.split("/", 1)[-1]
            rotation = 0 if width >= 3 * len(name) / 2 else 90
            ax.text(left + width / 2, 0, name, ha="center", va="center", fontsize=7, rotation=rotation)
        left += width
    tcb = report.tcb_percent
    ax.axvline(tcb, color="black", linewidth=2)
    ax.axvline(report.paper_percent, color="tab:green", linestyle="--", linewidth=1.5)
    ax.axvline(report.ceiling_percent, color="tab:red", linestyle=":", linewidth=1.5)
    ax.text(tcb, 0.55, f" TCB {tcb:.1f} %", ha="left", va="bottom", fontsize=9, fontweight="bold")
    ax.text(report.paper_percent, -0.55, f"paper {report.paper_percent:.1f} % ", ha="right", va="top",
            fontsize=8, color="tab:green")  # fmt: skip
    ax.text(report.ceiling_percent, -0.55, f" ceiling {report.ceiling_percent:.0f} %", ha="left", va="top",
            fontsize=8, color="tab:red")  # fmt: skip
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.9, 0.9)
    ax.set_yticks([])
    ax.set_xlabel(f"share of {report.total_lines} code lines (%): OSTD {report.ostd_lines}, "
                  f"kernel {report.kernel_lines}")  # fmt: skip
    ax.set_title("The trusted computing base: OSTD vs the safe kernel, per package")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, ncol=1 + len(packages) // 14,
              frameon=False)  # fmt: skip
    ax.figure.tight_layout()
    return ax
