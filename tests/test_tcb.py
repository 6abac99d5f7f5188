"""The TCB report (asterinas_lab/tcb.py) and ``asterinas-lab tcb [--check]``.

The line counter must count code only; the report's totals must add up; OSTD must stay
at or below 15 % of the code and be the only place with unsafe markers; and the CLI's
check must pass on the real kernel and fail, naming file and line, on a broken copy."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asterinas_lab.tcb import (
    KERNEL_DIR,
    PAPER_TCB_PERCENT,
    TCB_CEILING_PERCENT,
    TcbReport,
    count_source,
    plot_tcb,
    tcb_report,
)

REPO = Path(__file__).resolve().parent.parent

SAMPLE = textwrap.dedent(
    '''\
    """Module docstring,
    over two lines."""

    # a comment
    import os  # a trailing comment does not make a line


    class A:
        """Class docstring."""

        x = """not a docstring:
    a multi-line string assigned to x"""

        @unsafe
        def f(self):
            """Function docstring."""
            # SAFETY: a justified raw access.
            return os.getpid()

        @unsafe
        async def g(self):
            "single-quoted docstring"
            return (1,
                    2)


    def h(): """docstring on the def's line"""; return 1
    '''
)
# Code lines: import os; class A:; x = """ + its second line; @unsafe; def f; return;
# @unsafe; async def g; return (1,; 2); def h.
SAMPLE_LINES = 12


@pytest.fixture(scope="module")
def report() -> TcbReport:
    return tcb_report()


def test_counter_ignores_docstrings_comments_and_blanks():
    counts = count_source(SAMPLE)
    assert counts.lines == SAMPLE_LINES
    assert counts.unsafe_function_lines == (15, 21)  # the def lines
    assert counts.unsafe_block_lines == (17,)


def test_counter_edge_cases():
    assert count_source("").lines == 0
    assert count_source('"""only a docstring"""\n\n# and a comment\n').lines == 0
    assert count_source("x = 1\n\n\n\ny = 2\n").lines == 2
    # A string statement that is not first in its body is code, not a docstring.
    assert count_source('x = 1\n"not a docstring"\n').lines == 2
    # "SAFETY:" inside a docstring or a string is not an unsafe block.
    assert count_source('"""# SAFETY: no"""\ns = "# SAFETY: no"\n').unsafe_block_lines == ()


def test_totals_are_the_sum_of_the_rows(report: TcbReport):
    assert report.modules, "no modules counted"
    ostd = [row for row in report.modules if row.layer == "ostd"]
    kernel = [row for row in report.modules if row.layer == "kernel"]
    assert len(ostd) + len(kernel) == len(report.modules)
    assert report.ostd_lines == sum(row.lines for row in ostd) > 0
    assert report.kernel_lines == sum(row.lines for row in kernel) > 0
    assert report.total_lines == sum(row.lines for row in report.modules)
    packages = report.packages()
    assert sum(p.lines for p in packages) == report.total_lines
    assert sum(p.modules for p in packages) == len(report.modules)
    for layer in ("ostd", "kernel"):
        assert sum(p.unsafe_functions for p in packages if p.layer == layer) == report.unsafe_functions(layer)
        assert sum(p.unsafe_blocks for p in packages if p.layer == layer) == report.unsafe_blocks(layer)
    assert report.tcb_percent == pytest.approx(100 * report.ostd_lines / report.total_lines)


def test_packages_and_modules_are_named(report: TcbReport):
    packages = {p.package for p in report.packages()}
    assert {"ostd", "ostd/mm", "ostd/task", "kernel/syscall", "kernel/process", "kernel/fs"} <= packages
    modules = {row.module for row in report.modules}
    assert {"ostd/mm/frame.py", "ostd/user.py", "kernel/main.py"} <= modules
    assert not any("machine" in m for m in modules), "machine/ is hardware and not counted"


def test_tcb_within_the_ceiling(report: TcbReport):
    assert report.tcb_percent <= TCB_CEILING_PERCENT, report.format(modules=False)
    assert report.within_ceiling
    assert (PAPER_TCB_PERCENT, TCB_CEILING_PERCENT) == (14.0, 15.0)


def test_unsafe_lives_only_in_ostd(report: TcbReport):
    assert report.unsafe_functions("ostd") > 0
    assert report.unsafe_blocks("ostd") > 0
    assert report.unsafe_functions("kernel") == 0
    assert report.unsafe_blocks("kernel") == 0
    assert report.unsafe_markers("kernel") == []
    frame = next(row for row in report.modules if row.module == "ostd/mm/frame.py")
    assert frame.unsafe_functions > 0 and frame.unsafe_blocks > 0


def test_format_is_a_table(report: TcbReport):
    text = report.format()
    assert "ostd/mm/frame.py" in text and "kernel/syscall" in text
    assert f"{report.tcb_percent:.1f} %" in text and "14.0 %" in text and "15 %" in text
    assert "ostd/mm/frame.py" not in report.format(modules=False)


def test_plot_tcb(report: TcbReport):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plot_tcb(report)
    try:
        assert ax.figure is not None
        assert len(ax.patches) == sum(1 for p in report.packages() if p.lines)
        assert sum(patch.get_width() for patch in ax.patches) == pytest.approx(100.0)
        labels = " ".join(text.get_text() for text in ax.texts)
        assert f"TCB {report.tcb_percent:.1f} %" in labels and "paper 14.0 %" in labels
        fig, given = plt.subplots()
        assert plot_tcb(report, ax=given) is given
        plt.close(fig)
    finally:
        plt.close(ax.figure)


# --- the CLI ---------------------------------------------------------------------------


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "asterinas_lab.cli", *argv], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def kernel_copy(tmp_path: Path) -> Path:
    kernel = tmp_path / "kernel"
    shutil.copytree(KERNEL_DIR, kernel, ignore=shutil.ignore_patterns("__pycache__"))
    return kernel


def inject(path: Path, line: str) -> int:
    """Append ``line`` to the module at ``path``; return its line number."""
    lines = path.read_text().splitlines() + [line]
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def test_cli_tcb_prints_the_report(report: TcbReport):
    proc = cli("tcb")
    assert proc.returncode == 0, proc.stderr
    assert "ostd/mm" in proc.stdout and "kernel/syscall" in proc.stdout and "ostd/mm/frame.py" in proc.stdout
    assert f"TCB = {report.ostd_lines} / {report.total_lines} = {report.tcb_percent:.1f} %" in proc.stdout
    assert "paper: 14.0 %" in proc.stdout and "ceiling: 15 %" in proc.stdout
    assert proc.stderr == ""


def test_cli_tcb_check_clean():
    proc = cli("tcb", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ": ok" in proc.stdout and proc.stderr == ""


def test_cli_tcb_check_clean_copy(kernel_copy: Path):
    proc = cli("tcb", "--check", "--path", str(kernel_copy))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "module, line, message",
    [
        ("vm/page_fault.py", "from ...machine.ram import Ram", "imports from asterinas_lab.machine.ram"),
        ("main.py", "from ..ostd.mm.frame import _allocator", "imports OSTD internals"),
        ("syscall/mm.py", "import ctypes", "imports ctypes"),
        ("fs/pipe.py", "leak = lambda ctx: ctx._blob", "touches private attribute ._blob"),
        ("process/fork.py", "# SAFETY: trust me", "SAFETY: block in safe kernel code"),
    ],
    ids=["machine", "ostd-internals", "ctypes", "private-attribute", "safety-comment"],
)
def test_cli_tcb_check_names_file_and_line(kernel_copy: Path, module: str, line: str, message: str):
    target = kernel_copy / module
    number = inject(target, line)
    proc = cli("tcb", "--check", "--path", str(kernel_copy))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{target}:{number}: " in proc.stdout
    assert any(out.startswith(f"{target}:{number}: ") and message in out for out in proc.stdout.splitlines())
    assert proc.stderr.startswith("asterinas-lab: tcb --check:") and len(proc.stderr.splitlines()) == 1


def test_cli_tcb_check_over_the_ceiling(kernel_copy: Path):
    for sub in ("syscall", "fs", "process", "loader"):
        shutil.rmtree(kernel_copy / sub)
    proc = cli("tcb", "--check", "--path", str(kernel_copy))
    assert proc.returncode == 1
    assert "over the ceiling" in proc.stdout and "TCB over the ceiling" in proc.stderr


def test_cli_tcb_bad_path(tmp_path: Path):
    proc = cli("tcb", "--check", "--path", str(tmp_path / "missing"))
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1


def test_cli_tcb_needs_no_matplotlib():
    code = "import sys; from asterinas_lab import cli; cli.main(['tcb']); assert 'matplotlib' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
