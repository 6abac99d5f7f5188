"""The labs themselves (labs/): every instructor notebook runs, and the grader agrees with it.

For each ``labs/instructor/labN_*.ipynb``:

* it runs top to bottom in a fresh kernel (cwd ``labs/instructor``, as in JupyterLab) with no
  error, and each ``check("labN")`` in it shows full marks on the public tests;
* graded as a submission (hidden tests included) it scores full marks;
* the student version ``labs/student/labN_*.ipynb`` scores below full marks;
* the student version is what ``asterinas-lab labs release`` makes of it today.

The labs are written separately from this file: it only knows the contract
(docs/course/authoring.md), so a new lab is tested by adding its notebook.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from asterinas_lab.grading import grade
from asterinas_lab.grading.release import NOTEBOOK_NAME, student_notebook

LABS = Path(__file__).resolve().parents[1] / "labs"
INSTRUCTOR = LABS / "instructor"
STUDENT = LABS / "student"
TESTS = LABS / "tests"
CELL_TIMEOUT = 300
NOTEBOOKS = sorted(path for path in INSTRUCTOR.glob("lab*.ipynb") if NOTEBOOK_NAME.fullmatch(path.name))
CHECK_LINE = re.compile(r"^(lab[0-9]): (\S+) / (\S+) points \(public tests")

pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no lab notebooks in labs/instructor")


def lab_of(notebook: Path) -> str:
    return notebook.name.split("_")[0].removesuffix(".ipynb")


def by_lab(test):  # type: ignore[no-untyped-def]
    return pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])(test)


@by_lab
def test_instructor_notebook_runs(notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    # The kernel imports this checkout, whatever is installed.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(LABS.parent), os.environ.get("PYTHONPATH")]))
    )
    executed = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        executed, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(INSTRUCTOR)}}
    )
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{notebook.name}: a cell raised:\n{error}", pytrace=False)
    checks = []
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain", "") or output.get("text", "")
            checks += [match.groups() for line in text.splitlines() if (match := CHECK_LINE.match(line))]
    assert checks, f'{notebook.name} never shows a check() summary (each exercise ends with check("labN"))'
    for lab, score, max_score in checks:
        assert lab == lab_of(notebook), f"{notebook.name} calls check({lab!r})"
        assert score == max_score, f"{notebook.name}: check({lab!r}) gave {score} / {max_score} public points"


@by_lab
def test_instructor_notebook_scores_full_marks(notebook: Path) -> None:
    report = grade(lab_of(notebook), notebook, tests_dir=TESTS)
    assert report.max_score > 0, report.summary()
    assert report.full_marks, report.summary()


@by_lab
def test_student_notebook_scores_below_full_marks(notebook: Path) -> None:
    student = STUDENT / notebook.name
    if not student.is_file():
        pytest.fail(f"{student} is missing: run `asterinas-lab labs release`", pytrace=False)
    report = grade(lab_of(notebook), student, tests_dir=TESTS)
    assert report.message is None, report.summary()  # it loads: only the exercises are missing
    assert report.score < report.max_score, report.summary()


@by_lab
def test_student_notebook_is_up_to_date(notebook: Path) -> None:
    student = STUDENT / notebook.name
    if not student.is_file():
        pytest.fail(f"{student} is missing: run `asterinas-lab labs release`", pytrace=False)
    expected = student_notebook(nbformat.read(notebook, as_version=4), notebook.name)
    actual = nbformat.read(student, as_version=4)
    want = [(cell.cell_type, cell.source) for cell in expected.cells]
    have = [(cell.cell_type, cell.source) for cell in actual.cells]
    assert have == want, f"{student} is out of date: run `asterinas-lab labs release`"
    for cell in actual.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{student}: outputs not cleared"
