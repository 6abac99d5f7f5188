"""The autograder (asterinas_lab.grading) on a small fake lab written into tmp_path.

The fake lab has two exercise cells (``double`` and ``spin``) and a test file with a
dependency, a time budget, a test that crashes its process on request, and a hidden test.
Variants of the submission (as .py files) make each failure mode happen alone.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from asterinas_lab import cli
from asterinas_lab.grading import GradeReport, GradingError, check, grade, lab_test
from asterinas_lab.grading.release import PLACEHOLDER, public_tests, release, strip_solutions

LAB_TESTS = '''\
"""Tests of the fake lab."""

import os
import signal

from asterinas_lab.grading import lab_test

REQUIRED = ("double", "spin")


@lab_test(points=2)
def test_double(submission):
    print("checking double")
    assert submission.double(2) == 4, "double(2) should be 4"


@lab_test(points=1, depends=("test_double",))
def test_double_negative(submission):
    assert submission.double(-3) == -6


@lab_test(points=1, timeout=1)
def test_spin(submission):
    assert submission.spin(3) == 3


@lab_test(points=1)
def test_no_crash(submission):
    crash = getattr(submission, "CRASH", None)
    if crash == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if crash == "exit":
        os._exit(3)


# The secret case.
@lab_test(points=3, visibility="hidden", depends="test_double")
def test_double_big(submission):
    assert submission.double(10**20) == 2 * 10**20
'''

DOUBLE_CELL = '''\
def double(x: int) -> int:
    """Twice x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
'''

SPIN_CELL = """\
def spin(n: int) -> int:
    count = 0
    ### BEGIN SOLUTION
    for _ in range(n):
        count += 1
    ### END SOLUTION
    return count
"""

SOLUTION_PY = "def double(x):\n    return 2 * x\n\n\ndef spin(n):\n    return n\n"
POINTS = 2 + 1 + 1 + 1 + 3
PUBLIC_POINTS = POINTS - 3


def exercise(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["exercise"]})


def make_notebook(path: Path, double: str = DOUBLE_CELL, spin: str = SPIN_CELL) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Lab 1: doubling"),
        nbformat.v4.new_code_cell("print('not an exercise: never graded')"),
        exercise(double),
        exercise(spin),
        nbformat.v4.new_code_cell('from asterinas_lab.grading import check\ncheck("lab1")'),
    ]
    cell = notebook.cells[2]
    cell.execution_count = 3
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="secret solution output\n")]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A lab tree: instructor/lab1_double.ipynb and tests/lab1.py."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "lab1.py").write_text(LAB_TESTS)
    make_notebook(tmp_path / "instructor" / "lab1_double.ipynb")
    return tmp_path


def submit(lab: Path, source: str, name: str = "answer.py") -> Path:
    path = lab / name
    path.write_text(source)
    return path


def outcomes(report: GradeReport) -> dict[str, str]:
    return {test.name: test.outcome for test in report.tests}


# --- grading ---------------------------------------------------------------------------------


def test_solution_scores_full_marks(lab: Path) -> None:
    report = grade("lab1", lab / "instructor" / "lab1_double.ipynb", tests_dir=lab / "tests")
    assert report.message is None, report.message
    assert (report.score, report.max_score) == (POINTS, POINTS), report.summary()
    assert report.full_marks
    # Parents first, in file order otherwise; the output of a test is captured.
    assert [t.name for t in report.tests][:2] == ["test_double", "test_double_negative"]
    assert "checking double" in report.test("test_double").output
    assert report.test("test_double_big").visibility == "hidden"


def test_student_version_is_below_full_marks_and_skips_dependents(lab: Path) -> None:
    release(lab / "instructor", lab / "student")
    report = grade("lab1", lab / "student" / "lab1_double.ipynb", tests_dir=lab / "tests")
    assert report.message is None, report.message
    assert report.score < report.max_score == POINTS
    double = report.test("test_double")
    assert double.outcome == "failed"
    assert double.output.startswith("test_double: NotImplementedError: exercise: write this")
    assert "exercise cell 1" in double.output  # the traceback names the student's cell
    for dependent in ("test_double_negative", "test_double_big"):
        result = report.test(dependent)
        assert (result.score, result.outcome) == (0, "not_run")
        assert result.output == f"{dependent}: not run: depends on test_double, which failed"
    # spin's loop was removed: it returns 0, an ordinary assertion failure.
    assert report.test("test_spin").outcome == "failed"
    assert report.test("test_no_crash").passed


def test_a_hang_times_out_that_test_alone(lab: Path) -> None:
    hang = submit(lab, "def double(x):\n    return 2 * x\n\n\ndef spin(n):\n    while True:\n        pass\n")
    report = grade("lab1", hang, tests_dir=lab / "tests")
    spin = report.test("test_spin")
    assert spin.outcome == "timeout"
    assert spin.output.startswith("test_spin: timed out after 1 s")
    assert "answer.py" in spin.output  # where it hung
    assert 1 <= spin.duration < 10
    assert report.score == POINTS - 1
    assert all(test.passed for test in report.tests if test.name != "test_spin")


def test_a_crash_fails_that_test_alone(lab: Path) -> None:
    report = grade("lab1", submit(lab, SOLUTION_PY + "\nCRASH = 'segv'\n"), tests_dir=lab / "tests")
    crash = report.test("test_no_crash")
    assert crash.outcome == "crashed"
    assert crash.output.startswith("test_no_crash: crashed (signal SIGSEGV)")
    assert report.score == POINTS - 1


def test_os_exit_in_a_test_is_a_crash(lab: Path) -> None:
    report = grade("lab1", submit(lab, SOLUTION_PY + "\nCRASH = 'exit'\n"), tests_dir=lab / "tests")
    crash = report.test("test_no_crash")
    assert crash.outcome == "crashed"
    assert "exited with status 3 before the test finished" in crash.output
    assert report.score == POINTS - 1


def test_os_exit_is_outside_the_boundary(lab: Path) -> None:
    source = "import os\n\n\ndef double(x):\n    os._exit(3)\n\n\ndef spin(n):\n    return n\n"
    report = grade("lab1", submit(lab, source), tests_dir=lab / "tests")
    assert report.score == 0
    assert "answer.py, line 5: touches private attribute ._exit (`os._exit(3)`)" in (report.message or "")


def test_hidden_tests_only_in_the_full_run(lab: Path) -> None:
    path = submit(lab, SOLUTION_PY)
    public = grade("lab1", path, include_hidden=False, tests_dir=lab / "tests")
    assert "test_double_big" not in outcomes(public)
    assert (public.score, public.max_score) == (PUBLIC_POINTS, PUBLIC_POINTS)
    assert "public tests: hidden tests run when you submit" in public.summary()
    assert "test_double_big" in outcomes(grade("lab1", path, tests_dir=lab / "tests"))


def test_check_grades_the_callers_namespace_with_public_tests(
    lab: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASTERINAS_LAB_TESTS", str(lab / "tests"))
    namespace: dict[str, object] = {"check": check}
    exec(compile(DOUBLE_CELL + SPIN_CELL, "<cells>", "exec"), namespace)
    exec("report = check('lab1')", namespace)  # as a notebook cell would call it
    report = namespace["report"]
    assert isinstance(report, GradeReport)
    assert report.public_only and report.full_marks
    assert "test_double_big" not in outcomes(report)
    shown = capsys.readouterr().out
    assert (
        f"lab1: {PUBLIC_POINTS} / {PUBLIC_POINTS} points (public tests: hidden tests run when you submit)" in shown
    )
    assert "test_double_big" not in shown
    assert "public tests" in report._repr_html_()


def test_check_of_a_live_namespace_checks_the_boundary(lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook cell, as IPython runs it: compiled under a name that is only in linecache."""
    import linecache

    monkeypatch.setenv("ASTERINAS_LAB_TESTS", str(lab / "tests"))
    source = (
        "from asterinas_lab import machine\n\n\ndef double(x):\n    return 2 * x\n\n\ndef spin(n):\n    return n\n"
    )
    cell = str(lab / "ipykernel_0" / "4242.py")  # not a file
    linecache.cache[cell] = (len(source), None, source.splitlines(keepends=True), cell)
    namespace: dict[str, object] = {}
    exec(compile(source, cell, "exec"), namespace)
    report = check("lab1", namespace)
    assert report is not None and report.score == 0
    assert "breaks the safe-code boundary" in (report.message or "")
    assert "the cell defining double, line 1: imports asterinas_lab.machine" in (report.message or "")


def test_check_of_a_namespace_without_the_required_names(lab: Path) -> None:
    report = grade("lab1", {"double": lambda x: 2 * x}, include_hidden=False, tests_dir=lab / "tests")
    assert report.score == 0
    assert "does not define spin" in (report.message or "")


def test_boundary_violation_scores_zero_naming_the_line(lab: Path) -> None:
    evil = make_notebook(lab / "evil.ipynb", spin="import unicorn\n\n\ndef spin(n):\n    return n\n")
    report = grade("lab1", evil, tests_dir=lab / "tests")
    assert report.score == 0 and report.max_score == POINTS
    assert report.message is not None
    assert "exercise cell 2, line 1: imports unicorn (`import unicorn`)" in report.message
    assert all(test.outcome == "not_run" and "safe-code boundary" in test.output for test in report.tests)
    assert "Traceback" not in report.summary()


def test_private_attribute_in_a_py_submission(lab: Path) -> None:
    report = grade(
        "lab1", submit(lab, SOLUTION_PY + "\n\ndef peek(frame):\n    return frame._ram\n"), tests_dir=lab / "tests"
    )
    assert report.score == 0
    assert "answer.py, line 10: touches private attribute ._ram" in (report.message or "")


def test_a_submission_that_fails_to_load(lab: Path) -> None:
    broken = make_notebook(lab / "broken.ipynb", spin="def spin(n):\n    return n\n\nspin(1) / 0\n")
    report = grade("lab1", broken, tests_dir=lab / "tests")
    assert report.score == 0
    assert "ZeroDivisionError" in (report.message or "")
    assert "exercise cell 2, line 4" in (report.message or "")
    syntax = make_notebook(lab / "syntax.ipynb", double="def double(x)\n    return x\n")
    message = grade("lab1", syntax, tests_dir=lab / "tests").message or ""
    assert "exercise cell 1, line 1: syntax error" in message


def test_a_notebook_without_exercise_cells_scores_zero(lab: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SOLUTION_PY)]  # the tag was lost
    nbformat.write(notebook, lab / "untagged.ipynb")
    report = grade("lab1", lab / "untagged.ipynb", tests_dir=lab / "tests")
    assert report.score == 0 and report.max_score == POINTS
    assert (report.message or "").startswith("untagged.ipynb: no code cell is tagged 'exercise'")
    (lab / "garbage.ipynb").write_text("not json")
    with pytest.raises(GradingError, match="garbage.ipynb: not a readable notebook"):
        grade("lab1", lab / "garbage.ipynb", tests_dir=lab / "tests")


def test_missing_required_name(lab: Path) -> None:
    report = grade("lab1", submit(lab, "def double(x):\n    return 2 * x\n"), tests_dir=lab / "tests")
    assert report.score == 0
    assert "does not define spin" in (report.message or "")


def test_a_check_call_in_an_exercise_cell_does_nothing_while_grading(lab: Path) -> None:
    notebook = make_notebook(
        lab / "chatty.ipynb", spin=SPIN_CELL + '\nfrom asterinas_lab.grading import check\ncheck("lab1")\n'
    )
    assert grade("lab1", notebook, tests_dir=lab / "tests").full_marks


def test_parents_run_first_whatever_the_file_order(lab: Path) -> None:
    (lab / "tests" / "lab2.py").write_text(
        "from asterinas_lab.grading import lab_test\n\n\n"
        '@lab_test(points=1, depends=("test_parent",))\n'
        "def test_child(submission):\n    pass\n\n\n"
        "@lab_test(points=1)\n"
        "def test_parent(submission):\n    assert submission.double(1) == 2\n\n\n"
        "@lab_test(points=1)\n"
        "def test_other(submission):\n    pass\n"
    )
    good = grade("lab2", submit(lab, SOLUTION_PY), tests_dir=lab / "tests")
    assert [t.name for t in good.tests] == ["test_parent", "test_child", "test_other"]
    assert good.full_marks
    bad = grade("lab2", submit(lab, "def double(x):\n    return x\n"), tests_dir=lab / "tests")
    assert outcomes(bad) == {"test_parent": "failed", "test_child": "not_run", "test_other": "passed"}


def test_check_in_a_notebook_kernel(lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The instructor notebook, run headless: check() finds ../tests and shows its summary once."""
    from nbclient import NotebookClient

    repo = str(Path(__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])))
    notebook = nbformat.read(lab / "instructor" / "lab1_double.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(lab / "instructor")}}).execute()  # fmt: skip
    outputs = notebook.cells[-1].outputs
    assert len(outputs) == 1, outputs  # displayed by check(), not a second time as the cell's value
    shown = outputs[0]["data"]
    assert shown["text/plain"].startswith(
        f"lab1: {PUBLIC_POINTS} / {PUBLIC_POINTS} points (public tests: hidden tests run when you submit)"
    )
    assert "test_double_big" not in shown["text/plain"] and "<table>" in shown["text/html"]


def test_unknown_lab_or_missing_file(lab: Path) -> None:
    with pytest.raises(GradingError, match="not a lab name"):
        grade("lab12", lab / "answer.py", tests_dir=lab / "tests")
    with pytest.raises(GradingError, match="no tests for lab2"):
        grade("lab2", submit(lab, SOLUTION_PY), tests_dir=lab / "tests")
    with pytest.raises(GradingError, match="no such file"):
        grade("lab1", lab / "nothing.ipynb", tests_dir=lab / "tests")


def test_broken_test_file_is_reported_not_raised(lab: Path) -> None:
    (lab / "tests" / "lab3.py").write_text("import no_such_module_here\n")
    report = grade("lab3", submit(lab, SOLUTION_PY), tests_dir=lab / "tests")
    assert report.tests == [] and "could not load the tests for lab3" in (report.message or "")
    assert "no_such_module_here" in (report.message or "")


def test_lab_test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="visibility"):
        lab_test(points=1, visibility="secret")
    with pytest.raises(ValueError, match="points"):
        lab_test(points=-1)
    with pytest.raises(ValueError, match="timeout"):
        lab_test(points=1, timeout=0)


# --- results.json ----------------------------------------------------------------------------


def assert_gradescope_shape(results: dict) -> None:
    """Gradescope's results.json: the keys it reads, with their types and allowed values."""
    visibilities = {"hidden", "after_due_date", "after_published", "visible"}
    allowed = {
        "score",
        "max_score",
        "execution_time",
        "output",
        "output_format",
        "test_output_format",
        "test_name_format",
        "visibility",
        "stdout_visibility",
        "extra_data",
        "tests",
        "leaderboard",
    }
    assert set(results) <= allowed, set(results) - allowed
    assert isinstance(results["score"], int | float)
    assert isinstance(results.get("max_score", 0), int | float)
    assert results["visibility"] in visibilities and results["stdout_visibility"] in visibilities
    assert isinstance(results.get("output", ""), str)
    for test in results["tests"]:
        assert set(test) <= {
            "score",
            "max_score",
            "status",
            "name",
            "name_format",
            "number",
            "output",
            "output_format",
            "tags",
            "visibility",
            "extra_data",
        }
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], int | float) and isinstance(test["max_score"], int | float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in {"passed", "failed"}
        assert test["visibility"] in visibilities
    assert results["score"] == sum(test["score"] for test in results["tests"])
    json.dumps(results)


def test_results_json_has_gradescopes_shape(lab: Path) -> None:
    release(lab / "instructor", lab / "student")
    for submission in (
        lab / "instructor" / "lab1_double.ipynb",
        lab / "student" / "lab1_double.ipynb",
        make_notebook(lab / "evil.ipynb", double="import ctypes\n"),
    ):
        results = grade("lab1", submission, tests_dir=lab / "tests").to_gradescope()
        assert_gradescope_shape(results)
        assert results["max_score"] == POINTS
    assert {t["name"]: t["visibility"] for t in results["tests"]}["test_double_big"] == "hidden"
    assert "imports ctypes" in results["output"]


# --- release ---------------------------------------------------------------------------------


def test_release_replaces_solution_regions_and_clears_outputs(lab: Path) -> None:
    done = release(lab / "instructor", lab / "student", tests_out=lab / "public")
    assert [p.name for p in done.notebooks] == ["lab1_double.ipynb"]
    student = nbformat.read(lab / "student" / "lab1_double.ipynb", as_version=4)
    sources = [cell.source for cell in student.cells]
    assert sources[2] == f'def double(x: int) -> int:\n    """Twice x."""\n    {PLACEHOLDER}\n'
    assert sources[3] == f"def spin(n: int) -> int:\n    count = 0\n    {PLACEHOLDER}\n    return count\n"
    assert "SOLUTION" not in "".join(sources)
    assert all(
        not cell.outputs and cell.execution_count is None for cell in student.cells if cell.cell_type == "code"
    )
    assert student.cells[2].metadata["tags"] == ["exercise"]
    # Public tests: the hidden test and its comment are gone, the rest is untouched.
    public = (lab / "public" / "lab1.py").read_text()
    assert "test_double_big" not in public and "secret" not in public
    assert "def test_no_crash" in public and 'REQUIRED = ("double", "spin")' in public
    ast.parse(public)
    # Releasing again gives the same files (the committed student notebooks stay stable).
    first = (lab / "student" / "lab1_double.ipynb").read_bytes()
    release(lab / "instructor", lab / "student")
    assert (lab / "student" / "lab1_double.ipynb").read_bytes() == first


def test_public_tests_are_gradeable_and_strip_only_hidden_tests(lab: Path) -> None:
    release(lab / "instructor", lab / "student", tests_out=lab / "public")
    report = grade("lab1", submit(lab, SOLUTION_PY), tests_dir=lab / "public")
    assert (report.score, report.max_score) == (PUBLIC_POINTS, PUBLIC_POINTS)
    assert public_tests("x = 1\n") == "x = 1\n"


def test_unbalanced_solution_markers_are_an_error() -> None:
    from asterinas_lab.grading.release import ReleaseError

    with pytest.raises(ReleaseError, match="never closed"):
        strip_solutions("def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    with pytest.raises(ReleaseError, match="without"):
        strip_solutions("def f():\n    ### END SOLUTION\n")


# --- the command line ------------------------------------------------------------------------


def test_cli_grade_exit_codes(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    release(lab / "instructor", lab / "student")
    results = lab / "out" / "results.json"
    student = str(lab / "student" / "lab1_double.ipynb")
    assert cli.main(["grade", "lab1", student, "--json", str(results), "--tests", str(lab / "tests")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"lab1: 1 / {POINTS} points")
    assert_gradescope_shape(json.loads(results.read_text()))
    assert cli.main(["grade", "lab1", student, "--public-only", "--tests", str(lab / "tests")]) == 0
    assert "public tests" in capsys.readouterr().out
    assert cli.main(["grade", "lab1", str(lab / "missing.ipynb"), "--tests", str(lab / "tests")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"asterinas-lab: {lab / 'missing.ipynb'}: no such file"
    assert cli.main(["grade", "lab9", student, "--tests", str(lab / "tests")]) == 2
    assert "no tests for lab9" in capsys.readouterr().err
    assert cli.main(["grade", "lab1", str(lab / "tests" / "lab1.py").replace(".py", ".txt")]) == 2
    (lab / "notes.txt").write_text("hello")
    assert cli.main(["grade", "lab1", str(lab / "notes.txt"), "--tests", str(lab / "tests")]) == 2
    assert "not a notebook (.ipynb) or a Python file (.py)" in capsys.readouterr().err


def test_cli_labs_release(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "labs",
        "release",
        "--source",
        str(lab / "instructor"),
        "--out",
        str(lab / "student"),
        "--tests-out",
        str(lab / "public"),
    ]
    assert cli.main(argv) == 0
    assert (lab / "student" / "lab1_double.ipynb").is_file() and (lab / "public" / "lab1.py").is_file()
    assert cli.main(["labs", "release", "--source", str(lab / "nowhere")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_cli_runs_as_a_command(lab: Path) -> None:
    """The real command: a one-line error and status 2, never a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "asterinas_lab.cli", "grade", "lab1", str(lab / "none.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"asterinas-lab: {lab / 'none.py'}: no such file"


# --- the Gradescope autograder ---------------------------------------------------------------


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once for the module: the project wheel and the dependency wheels (a few seconds)."""
    from asterinas_lab.grading.autograder import AutograderError, build

    lab = tmp_path_factory.mktemp("lab")
    (lab / "tests").mkdir()
    (lab / "tests" / "lab1.py").write_text(LAB_TESTS)
    try:
        return build("lab1", lab / "lab1-autograder.zip", tests_dir=lab / "tests").path
    except AutograderError as error:
        if "pip download" in str(error) and os.environ.get("CI") != "true":
            pytest.skip(f"no package index reachable to download the dependency wheels: {error}")
        raise


def test_autograder_zip_contents(autograder_zip: Path) -> None:
    with zipfile.ZipFile(autograder_zip) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
        requirements = archive.read("requirements.txt").decode().split()
        assert archive.read("tests/lab1.py").decode() == LAB_TESTS  # the full file, hidden tests included
        wheel = next(name for name in names if name.startswith("wheels/asterinas_lab-"))
        with zipfile.ZipFile(archive.open(wheel)) as project:
            assert "asterinas_lab/grading/plugin.py" in project.namelist()
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert "busybox-static" in setup and "--no-index" in setup
    assert 'asterinas-lab" grade lab1' in run and "${AUTOGRADER_ROOT:-/autograder}" in run
    assert any(name.startswith("images/bin/") for name in names)
    # Every pinned requirement has its wheel in the zip.
    wheels = {
        name.split("/")[1].split("-")[0].lower().replace("_", "-") for name in names if name.endswith(".whl")
    }
    for requirement in requirements:
        assert requirement.split("==")[0].lower().replace("_", "-") in wheels, requirement
    assert {"pytest", "unicorn", "nbformat"} <= {r.split("==")[0].lower() for r in requirements}
    for script in ("setup.sh", "run_autograder"):
        path = autograder_zip.parent / script
        path.write_text(setup if script == "setup.sh" else run)
        assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0


def test_autograder_installs_offline_and_grades(autograder_zip: Path, tmp_path: Path) -> None:
    """setup.sh (less apt) into a tree laid out as Gradescope's /autograder, with no package
    index and no find-links but the zip's wheels; then run_autograder on submissions."""
    root = tmp_path / "autograder"
    source = root / "source"
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_NO_APT="1", PIP_CONFIG_FILE=os.devnull)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # this python3.x
    done = subprocess.run(["bash", str(source / "setup.sh")], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    site_images = list((root / "venv" / "lib").glob("python3*/site-packages/images/bin/hello"))
    assert site_images and os.access(site_images[0], os.X_OK)
    submission = root / "submission"
    make_notebook(submission / "lab1_double.ipynb")
    results = root / "results" / "results.json"

    def run_autograder() -> dict:
        done = subprocess.run(["bash", str(source / "run_autograder")], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(results.read_text())

    graded = run_autograder()
    assert_gradescope_shape(graded)
    assert graded["score"] == graded["max_score"] == POINTS
    (submission / "other.ipynb").write_text("{}")
    (submission / "lab1_double.ipynb").rename(submission / "mine.ipynb")
    refused = run_autograder()
    assert_gradescope_shape(refused)
    assert refused["score"] == 0 and "Several files could be the submission" in refused["output"]
    (submission / "other.ipynb").rename(submission / "lab1_double.ipynb")  # the only candidate now
    unreadable = run_autograder()
    assert_gradescope_shape(unreadable)
    assert unreadable["output"].startswith("The autograder could not grade lab1_double.ipynb: lab1_double.ipynb: ")
    assert "not a readable notebook" in unreadable["output"]


def test_autograder_without_an_index_fails_clearly(tmp_path: Path) -> None:
    """Offline with an empty wheelhouse: one clear error naming pip download, no zip."""
    from asterinas_lab.grading.autograder import AutograderError, build

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "lab1.py").write_text(LAB_TESTS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AutograderError, match="pip download"):
        build("lab1", tmp_path / "x.zip", tests_dir=tmp_path / "tests", wheelhouse=tmp_path / "empty")
    assert not (tmp_path / "x.zip").exists()


def test_assert_same_output_names_the_first_differing_line() -> None:
    from asterinas_lab.grading import assert_same_output

    assert_same_output("same", b"a\nb\n", b"a\nb\n")
    message = r"prog: stdout differs from Linux's at line 2:\n  lab:   'x'\n  Linux: 'b'"
    with pytest.raises(AssertionError, match=message):
        assert_same_output("prog", b"a\nx\n", b"a\nb\n")
    with pytest.raises(AssertionError, match=r"line 3:\n  lab:   '\(end of output\)'\n  ref: 'c'"):
        assert_same_output("short", b"a\nb\n", b"a\nb\nc\n", "ref")
