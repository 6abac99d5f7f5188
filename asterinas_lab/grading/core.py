"""``grade()`` and ``check()``: the grader's entry points.

Both run the lab's test file (``labs/tests/labN.py``) with pytest, in-process, with the
:class:`~asterinas_lab.grading.plugin.GradingPlugin`; student code runs only in the forked
children the plugin starts. pytest's own terminal output is kept out of the caller's (a
notebook, the CLI): the report is the output.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .plugin import GradingPlugin
from .report import GradeReport
from .submission import Submission, SubmissionError, from_namespace, from_path

TESTS_ENV = "ASTERINAS_LAB_TESTS"
_LAB_NAME = re.compile(r"lab[0-9]")
_grading = False  # True while a grading run is in progress (so an exercise cell's check() is a no-op)


class GradingError(Exception):
    """The grader cannot start: an unknown lab, no test file, an unreadable submission."""


def lab_name(lab: str | int) -> str:
    """``"lab3"`` (also accepts ``3`` and ``"3"``)."""
    name = f"lab{lab}" if isinstance(lab, int) or str(lab).isdigit() else str(lab)
    if not _LAB_NAME.fullmatch(name):
        raise GradingError(f"{lab!r} is not a lab name (lab0 ... lab9)")
    return name


def find_tests(lab: str | int, tests_dir: str | Path | None = None) -> Path:
    """The lab's test file.

    In order: ``tests_dir``; the directory in ``$ASTERINAS_LAB_TESTS``; ``tests/labN.py`` or
    ``labs/tests/labN.py`` in the current directory or one above it (a notebook runs in
    ``labs/instructor`` or ``labs/student``; the autograder has ``tests/``); the repository's
    ``labs/tests`` beside the installed package.
    """
    name = lab_name(lab)
    filename = f"{name}.py"
    if tests_dir is not None:
        path = Path(tests_dir) / filename
        if not path.is_file():
            raise GradingError(f"no tests for {name}: {path} does not exist")
        return path
    if os.environ.get(TESTS_ENV):
        path = Path(os.environ[TESTS_ENV]) / filename
        if not path.is_file():
            raise GradingError(f"no tests for {name}: {path} does not exist (from ${TESTS_ENV})")
        return path
    cwd = Path.cwd()
    for directory in (cwd, *cwd.parents):
        for candidate in (directory / "tests" / filename, directory / "labs" / "tests" / filename):
            if candidate.is_file():
                return candidate
    import asterinas_lab

    path = Path(asterinas_lab.__file__).resolve().parents[1] / "labs" / "tests" / filename
    if path.is_file():
        return path
    raise GradingError(
        f"no tests for {name}: no tests/{filename} or labs/tests/{filename} here or above, "
        f"and none beside the package (set ${TESTS_ENV})"
    )


def _submission(submission: Any) -> Submission:
    if isinstance(submission, Submission):
        return submission
    if isinstance(submission, str | Path):
        try:
            return from_path(submission)
        except SubmissionError as error:
            raise GradingError(str(error)) from None
    if isinstance(submission, types.ModuleType):
        return from_namespace(vars(submission), submission.__name__)
    if isinstance(submission, Mapping):
        return from_namespace(submission)
    raise GradingError(f"cannot grade a {type(submission).__name__}: give a .ipynb or .py path, or a namespace")


@contextlib.contextmanager
def _quiet_pytest() -> Iterator[io.StringIO]:
    """pytest's terminal output goes to a buffer; third-party plugins are not loaded."""
    buffer = io.StringIO()
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved


def grade(
    lab: str | int, submission: Any, *, include_hidden: bool = True, tests_dir: str | Path | None = None
) -> GradeReport:
    """Grade ``submission`` (a ``.ipynb``/``.py`` path or a namespace) on the lab's tests.

    Raises :class:`GradingError` only when grading cannot start (no such lab, no such file).
    Anything wrong with the submission itself is in the report: every test at 0 and
    ``report.message`` saying why.
    """
    global _grading
    import pytest

    name = lab_name(lab)
    tests = find_tests(name, tests_dir).resolve()
    student = _submission(submission)
    plugin = GradingPlugin(student, include_hidden=include_hidden)
    args = [
        str(tests),
        "-c", os.devnull,  # not the repository's pytest settings (addopts, testpaths)
        "--rootdir", str(tests.parent),
        "--import-mode=importlib",  # no sys.path change; two labs' lab1.py do not clash
        "-p", "no:cacheprovider",  # writes nothing next to the tests
        "-p", "no:faulthandler",  # each child sets its own, on its captured output
        "--capture=no",  # the children capture their own output
        "--tb=short",
        "-q",
    ]  # fmt: skip
    was_grading, _grading = _grading, True
    try:
        with _quiet_pytest() as log:
            status = pytest.main(args, plugins=[plugin])
    finally:
        _grading = was_grading
        _forget_test_module(tests)
    report = GradeReport(name, student.name, plugin.results, public_only=not include_hidden)
    if plugin.collect_errors or (not plugin.results and int(status) not in (0, 5)):
        details = "\n".join(plugin.collect_errors) or log.getvalue()
        report.message = f"could not load the tests for {name} ({tests}):\n{details.strip()}"
        report.tests = []
    elif plugin.load_error is not None:
        report.message = f"{student.name}: {plugin.load_error}"
    return report


def _forget_test_module(tests: Path) -> None:
    """Drop the imported test module, so a later run (an edited test file) imports it again."""
    for key, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) and Path(module.__file__).resolve() == tests:
            del sys.modules[key]


def check(lab: str | int, namespace: Mapping[str, Any] | None = None) -> GradeReport | None:
    """Run the lab's public tests on the notebook's definitions and show the summary.

    Call it as the last line of an exercise: ``check("lab1")``. ``namespace`` defaults to
    the caller's globals (in a notebook: everything the cells so far defined). Hidden tests
    are not run: they run when the notebook is submitted. Inside a grading run (an exercise
    cell calling ``check()`` while being graded) it does nothing.
    """
    if _grading:
        return None
    if namespace is None:
        frame = sys._getframe(1)
        namespace = frame.f_globals
    try:
        report = grade(lab, from_namespace(namespace), include_hidden=False)
    except GradingError as error:
        report = GradeReport(str(lab), "notebook", message=str(error), public_only=True)
    _show(report)
    return report


def _show(report: GradeReport) -> None:
    """Display the report once: as HTML in a notebook, as text elsewhere.

    When ``check()`` is the last line of a cell IPython would display the returned report a
    second time; the report remembers the cell it was shown in and stays quiet there.
    """
    shell = _ipython()
    if shell is None or not hasattr(shell, "kernel"):
        print(report.summary())
        return
    from IPython.display import display

    display(report.mimebundle(), raw=True)
    report.shown_in_cell = shell.execution_count


def _ipython() -> Any:
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()
