"""Grading tests for lab 9 (the trusted computing base, measured).

The student's ``count_code_lines(source)``, ``package_lines(ostd_dir, kernel_dir)``,
``tcb_percent(ostd_dir, kernel_dir)`` and ``unsafe_census(directory, layer)`` are
compared with ``asterinas_lab.tcb`` (the measurement behind ``asterinas-lab tcb``):
on every module of the real tree, and (hidden) on trees generated here from a seed,
full of the corner cases of Python's syntax (docstrings that are not docstrings,
strings over several lines, continuation lines, comments inside brackets, ...).
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from asterinas_lab import tcb
from asterinas_lab.grading import lab_test

REQUIRED = ("count_code_lines",)


# --- generated trees -------------------------------------------------------------------------

SNIPPETS = [
    '"""A module docstring,\n\nover three lines."""\n',
    "import os\nimport sys  # a comment after code\n",
    "\n\n   \n# a comment line\n    # an indented comment\n",
    'class Thing:\n    """A class docstring."""\n\n    def method(self):\n'
    '        """A method docstring.\n\n        With a blank line inside."""\n        return 1\n',
    'def f(a,\n      b):  # a two-line signature\n    """doc"""\n    return (a +\n            b)\n',
    'TEXT = """not a docstring:\n\nit is assigned, so every line of it counts\n"""\n',
    'def g():\n    x = 1\n    "a string statement after code: not a docstring"\n    return x\n',
    "total = 1 + \\\n    2\n",
    "values = [\n    1,  # one\n    # a comment line inside the brackets\n    2,\n]\n",
    'async def h():\n    """An async docstring."""\n    await other()\n',
    "def outer():\n    def inner():\n        '''A nested docstring.'''\n        pass\n    return inner\n",
    "@unsafe\ndef raw(buffer):\n    # SAFETY: the buffer is ours, and stays in range.\n    return buffer[0]\n",
    "@ostd.unsafe\ndef raw2():\n"
    "    pass  # see the SAFETY: note above (not a SAFETY block: the comment starts otherwise)\n",
    '@unsafe()\nasync def raw3():\n    """Unsafe, async, documented."""\n'
    "    #SAFETY: a block without a space\n    return 3\n",
    'def fdoc():\n    f"""An f-string first: not a docstring {1}."""\n    return 0\n',
    "def bdoc():\n    b'bytes first: not a docstring'\n",
    '"""Docstring and code on one line."""; VALUE = 3\n',
    "def empty():\n    '''Only a docstring.'''\n",
    'URL = "http://example.org/#not-a-comment"\n',
    'D = {"key": """multi\n# not a comment\nline"""}\n',
    "class Empty:\n    pass\n",
    "def h2(x):\n    if x:\n        return 'a' \\\n            'b'\n"
    "    # SAFETY: justify nothing\n    return None\n",
]
PACKAGES = {"ostd": ["", "mm", "task"], "kernel": ["", "fs", "syscall", "process", "process/signal"]}


def make_tree(root: Path, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    for layer, packages in PACKAGES.items():
        for package in packages:
            directory = root / layer / package
            directory.mkdir(parents=True, exist_ok=True)
            for n in range(rng.randint(1, 3)):
                parts = rng.sample(SNIPPETS, rng.randint(0, 7))
                if rng.random() < 0.5 and SNIPPETS[0] not in parts:
                    parts.insert(0, SNIPPETS[0])
                name = "__init__.py" if n == 0 and rng.random() < 0.6 else f"mod{n}_{rng.randint(0, 99)}.py"
                (directory / name).write_text("\n".join(parts))
    return root / "ostd", root / "kernel"


def real_dirs() -> tuple[Path, Path]:
    return tcb.OSTD_DIR, tcb.KERNEL_DIR


def expected_packages(report: tcb.TcbReport) -> dict[str, int]:
    return {p.package: p.lines for p in report.packages()}


def expected_census(report: tcb.TcbReport, layer: str) -> dict[str, tuple[int, int]]:
    return {row.module: (row.unsafe_functions, row.unsafe_blocks) for row in report.modules
            if row.layer == layer and (row.unsafe_functions or row.unsafe_blocks)}  # fmt: skip


def check_counts(submission, paths) -> None:
    for path in paths:
        source = Path(path).read_text(encoding="utf-8")
        got = submission.count_code_lines(source)
        want = tcb.count_source(source).lines
        assert got == want, f"count_code_lines({path}): got {got}, want {want}"


# --- tests -----------------------------------------------------------------------------------


@lab_test(points=1)
def test_count_small(submission):
    """Blank lines, comments and a docstring."""
    source = '"""Doc."""\n\nimport os  # os\n\n# comment\ndef f():\n    """doc"""\n    return os.sep\n'
    got = submission.count_code_lines(source)
    assert got == 3, f"count_code_lines: got {got}, want 3 (import, def, return)"


@lab_test(points=2, depends=("test_count_small",))
def test_count_real_tree(submission):
    """Every module of OSTD and the kernel, as they are now."""
    ostd, kernel = real_dirs()
    check_counts(submission, sorted(ostd.rglob("*.py")) + sorted(kernel.rglob("*.py")))


@lab_test(points=3, depends=("test_count_small",), visibility="hidden")
def test_count_corner_cases(submission):
    """Each corner case alone, then generated files mixing them."""
    for snippet in SNIPPETS:
        got = submission.count_code_lines(snippet)
        want = tcb.count_source(snippet).lines
        assert got == want, f"count_code_lines of\n{snippet}\ngot {got}, want {want}"
    with tempfile.TemporaryDirectory() as tmp:
        ostd, kernel = make_tree(Path(tmp), seed=901)
        check_counts(submission, sorted(Path(tmp).rglob("*.py")))


@lab_test(points=2, depends=("test_count_real_tree",))
def test_packages_real_tree(submission):
    """Lines per package and the TCB percentage of the real tree."""
    ostd, kernel = real_dirs()
    report = tcb.tcb_report(ostd, kernel)
    got = submission.package_lines(ostd, kernel)
    assert dict(got) == expected_packages(report), (
        f"package_lines: got {dict(got)}, want {expected_packages(report)}"
    )
    percent = submission.tcb_percent(ostd, kernel)
    assert abs(percent - report.tcb_percent) < 0.01, f"tcb_percent: got {percent}, want {report.tcb_percent:.3f}"


@lab_test(points=2, depends=("test_packages_real_tree", "test_count_corner_cases"), visibility="hidden")
def test_packages_generated_trees(submission):
    """Three generated trees (subpackages are packages of their own)."""
    for seed in (11, 12, 13):
        with tempfile.TemporaryDirectory() as tmp:
            ostd, kernel = make_tree(Path(tmp), seed)
            report = tcb.tcb_report(ostd, kernel)
            got = submission.package_lines(ostd, kernel)
            assert dict(got) == expected_packages(report), f"package_lines (tree {seed}): got {dict(got)}"
            percent = submission.tcb_percent(ostd, kernel)
            assert abs(percent - report.tcb_percent) < 0.01, f"tcb_percent (tree {seed}): got {percent}"


@lab_test(points=2, depends=("test_count_small",))
def test_unsafe_census_real_tree(submission):
    """@unsafe functions and SAFETY blocks per OSTD module (and none in the kernel)."""
    ostd, kernel = real_dirs()
    report = tcb.tcb_report(ostd, kernel)
    for directory, layer in ((ostd, "ostd"), (kernel, "kernel")):
        got = submission.unsafe_census(directory, layer)
        want = expected_census(report, layer)
        assert dict(got) == want, f"unsafe_census({layer}): got {dict(got)}, want {want}"


@lab_test(points=1, depends=("test_unsafe_census_real_tree",), visibility="hidden")
def test_unsafe_census_generated(submission):
    """Decorators written three ways, SAFETY comments with and without a space, and a
    SAFETY that is not at the start of its comment."""
    with tempfile.TemporaryDirectory() as tmp:
        ostd, kernel = make_tree(Path(tmp), seed=77)
        report = tcb.tcb_report(ostd, kernel)
        for directory, layer in ((ostd, "ostd"), (kernel, "kernel")):
            got = submission.unsafe_census(directory, layer)
            want = expected_census(report, layer)
            assert dict(got) == want, f"unsafe_census({layer}, generated tree): got {dict(got)}, want {want}"
