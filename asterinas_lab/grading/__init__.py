"""Autograding for the labs: ``check()`` in notebooks, ``grade()`` for the autograder.

A lab's tests are a pytest module, ``labs/tests/labN.py``, whose tests are declared with
:func:`lab_test` and take the student's module as the ``submission`` fixture. The contract
between notebooks, tests and this package is docs/course/authoring.md.

This package is a tool (like ``viz/``), not kernel code: it forks, reads notebooks and runs
pytest. Student code runs only in forked children, one per test.

Names are imported on first use, so that the ``asterinas-lab`` command (which registers the
grading subcommands) does not pay for importing pytest when it runs a program.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compare import assert_same_output
    from .core import GradingError, check, find_tests, grade, lab_name
    from .marks import LabTestSpec, lab_test
    from .report import GradeReport, TestResult
    from .submission import Submission, SubmissionError

_WHERE = {
    "assert_same_output": "compare",
    "GradingError": "core",
    "check": "core",
    "find_tests": "core",
    "grade": "core",
    "lab_name": "core",
    "LabTestSpec": "marks",
    "lab_test": "marks",
    "GradeReport": "report",
    "TestResult": "report",
    "Submission": "submission",
    "SubmissionError": "submission",
}

__all__ = [
    "GradeReport",
    "GradingError",
    "LabTestSpec",
    "Submission",
    "SubmissionError",
    "TestResult",
    "assert_same_output",
    "check",
    "find_tests",
    "grade",
    "lab_name",
    "lab_test",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
