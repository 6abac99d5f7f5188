"""``labs release``: student notebooks from the instructor's, public test files from the full ones.

A solution region is the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
(markers included); the student gets ``raise NotImplementedError("exercise: write this")`` at
the indentation of the ``BEGIN`` marker. Outputs and execution counts are cleared so that the
committed student notebooks carry no solution output and diff cleanly.

Hidden tests are found with :mod:`ast` (a function decorated ``@lab_test(...,
visibility="hidden")``) and cut from the source text, so everything else in the file keeps its
formatting and comments.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
PLACEHOLDER = 'raise NotImplementedError("exercise: write this")'
NOTEBOOK_NAME = re.compile(r"lab[0-9](_.*)?\.ipynb")
_RUN_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


class ReleaseError(Exception):
    """An instructor notebook or test file that cannot be released (unbalanced markers...)."""


def strip_solutions(source: str, where: str = "cell") -> str:
    """``source`` with each solution region replaced by the placeholder."""
    out: list[str] = []
    inside: int | None = None  # line number of the open BEGIN marker
    for number, line in enumerate(source.split("\n"), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside is not None:
                raise ReleaseError(f"{where}, line {number}: {BEGIN} inside the region opened at line {inside}")
            inside = number
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{PLACEHOLDER}")
        elif marker == END:
            if inside is None:
                raise ReleaseError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise ReleaseError(f"{where}, line {inside}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def student_notebook(notebook: Any, name: str = "notebook") -> Any:
    """A copy of an nbformat notebook as students get it."""
    import copy

    student = copy.deepcopy(notebook)
    for index, cell in enumerate(student.cells):
        if cell.cell_type != "code":
            continue
        cell.source = strip_solutions(cell.source, f"{name}, cell {index}")
        cell.outputs = []
        cell.execution_count = None
        for key in _RUN_METADATA:
            cell.metadata.pop(key, None)
    return student


@dataclass
class Released:
    notebooks: list[Path]
    tests: list[Path]


def release(
    source: str | Path,
    out: str | Path,
    tests_out: str | Path | None = None,
    tests_source: str | Path | None = None,
) -> Released:
    """Write ``out/labN_x.ipynb`` for each ``source/labN_x.ipynb``; with ``tests_out``, also
    the public test files (``tests_source``, default ``source/../tests``) there."""
    import nbformat

    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise ReleaseError(f"{source}: not a directory")
    notebooks = sorted(path for path in source.glob("lab*.ipynb") if NOTEBOOK_NAME.fullmatch(path.name))
    if not notebooks:
        raise ReleaseError(f"{source}: no lab notebooks (labN_name.ipynb)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        target = out / path.name
        nbformat.write(student_notebook(notebook, path.name), target)
        written.append(target)
    tests: list[Path] = []
    if tests_out is not None:
        tests_dir = Path(tests_source) if tests_source is not None else source.parent / "tests"
        if not tests_dir.is_dir():
            raise ReleaseError(f"{tests_dir}: not a directory (the lab test files)")
        Path(tests_out).mkdir(parents=True, exist_ok=True)
        for path in sorted(tests_dir.glob("lab[0-9].py")):
            target = Path(tests_out) / path.name
            target.write_text(public_tests(path.read_text(encoding="utf-8"), path.name), encoding="utf-8")
            tests.append(target)
    return Released(written, tests)


def _is_hidden(decorator: ast.expr) -> bool:
    if not isinstance(decorator, ast.Call):
        return False
    func = decorator.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name != "lab_test":
        return False
    return any(
        keyword.arg == "visibility" and isinstance(keyword.value, ast.Constant) and keyword.value.value == "hidden"
        for keyword in decorator.keywords
    )


def hidden_tests(source: str) -> list[str]:
    """Names of the functions decorated ``@lab_test(..., visibility="hidden")``."""
    tree = ast.parse(source)
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(map(_is_hidden, node.decorator_list))
    ]


def public_tests(source: str, name: str = "tests") -> str:
    """The test file without its hidden tests (and the comment lines just above each)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ReleaseError(f"{name}, line {error.lineno}: cannot parse: {error.msg}") from None
    lines = source.split("\n")
    drop: set[int] = set()  # 0-based line indexes
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(map(_is_hidden, node.decorator_list)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            while first > 0 and lines[first - 1].lstrip().startswith("#"):
                first -= 1
            drop.update(range(first, node.end_lineno or node.lineno))
    kept = [line for index, line in enumerate(lines) if index not in drop]
    text = re.sub(r"\n{4,}", "\n\n\n", "\n".join(kept))
    return text.rstrip("\n") + "\n"
