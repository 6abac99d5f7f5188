"""Grading results: one :class:`TestResult` per test, gathered in a :class:`GradeReport`.

The report renders three ways: Gradescope's ``results.json`` (:meth:`GradeReport.to_gradescope`),
a text summary for terminals and the CLI, and an HTML table for notebooks.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

PASSED = "passed"
FAILED = "failed"
PUBLIC_LABEL = "public tests: hidden tests run when you submit"
_SUMMARY_LINES = 12  # lines of a failing test's output shown in the summary


def _number(value: float) -> int | float:
    """2.0 -> 2, so JSON and summaries read like the points the author wrote."""
    return int(value) if float(value).is_integer() else round(value, 4)


@dataclass
class TestResult:
    """One test's outcome. ``status`` is Gradescope's (passed/failed); ``outcome`` says why.

    ``outcome`` is one of passed, failed, error (setup failed), skipped, timeout, crashed,
    not_run (a dependency failed, or the submission could not be loaded).
    """

    __test__ = False  # not a pytest test class, despite the name

    name: str
    score: float
    max_score: float
    status: str
    output: str = ""
    visibility: str = "visible"
    outcome: str = PASSED
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def message(self) -> str:
        """The first line of the output: what a summary shows."""
        return self.output.strip().splitlines()[0] if self.output.strip() else ""

    def to_gradescope(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "score": _number(self.score),
            "max_score": _number(self.max_score),
            "output": self.output,
            "visibility": self.visibility,
            "status": self.status,
        }


@dataclass
class GradeReport:
    """All the tests of one grading run.

    ``message`` is set when the submission (or the tests) could not be run at all: every test
    then scores 0 and the message says why. ``public_only`` marks a ``check()`` run.
    """

    lab: str
    submission: str
    tests: list[TestResult] = field(default_factory=list)
    message: str | None = None
    public_only: bool = False
    #: The notebook cell (execution count) whose ``check()`` already displayed this report.
    shown_in_cell: int | None = field(default=None, repr=False, compare=False)

    @property
    def score(self) -> float:
        return sum(test.score for test in self.tests)

    @property
    def max_score(self) -> float:
        return sum(test.max_score for test in self.tests)

    @property
    def full_marks(self) -> bool:
        return self.message is None and bool(self.tests) and all(test.passed for test in self.tests)

    def test(self, name: str) -> TestResult:
        for test in self.tests:
            if test.name == name:
                return test
        raise KeyError(name)

    @property
    def title(self) -> str:
        label = f" ({PUBLIC_LABEL})" if self.public_only else ""
        return f"{self.lab}: {_number(self.score)} / {_number(self.max_score)} points{label}"

    # --- renderings ----------------------------------------------------------------------

    def to_gradescope(self) -> dict[str, Any]:
        """Gradescope's autograder ``results.json``.

        The run's stdout may show hidden tests' names and output, so it is hidden from
        students; each test's own visibility is the one its author chose.
        """
        result: dict[str, Any] = {
            "score": _number(self.score),
            "max_score": _number(self.max_score),
            "tests": [test.to_gradescope() for test in self.tests],
            "visibility": "visible",
            "stdout_visibility": "hidden",
        }
        if self.message:
            result["output"] = self.message
        return result

    def summary(self) -> str:
        lines = [self.title]
        if self.message:
            lines += ["", *self.message.splitlines(), ""]
        width = max((len(test.name) for test in self.tests), default=0)
        for test in self.tests:
            mark = "PASS" if test.passed else "FAIL"
            hidden = " (hidden)" if test.visibility == "hidden" else ""
            points = f"{_number(test.score)}/{_number(test.max_score)}"
            lines.append(f"  {mark}  {test.name:<{width}}  {points:>7}{hidden}")
            if not test.passed and test.output.strip() and not self.message:
                shown = test.output.strip().splitlines()
                more = len(shown) - _SUMMARY_LINES
                lines += [f"        {line}".rstrip() for line in shown[:_SUMMARY_LINES]]
                if more > 0:
                    lines.append(f"        ... ({more} more lines)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def mimebundle(self) -> dict[str, str]:
        return {"text/html": self._repr_html_(), "text/plain": self.summary()}

    def _ipython_display_(self) -> None:
        """Show the report, unless ``check()`` already showed it in this same cell."""
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
        if shell is not None and self.shown_in_cell == shell.execution_count:
            return
        display(self.mimebundle(), raw=True)

    def _repr_html_(self) -> str:
        escape = html.escape
        rows = []
        for test in self.tests:
            colour = "#1a7f37" if test.passed else "#cf222e"
            result = "pass" if test.passed else test.outcome.replace("_", " ")
            output = escape(test.output.strip()) if not test.passed else ""
            if len(output) > 4000:
                output = output[:4000] + "\n..."
            rows.append(
                f"<tr><td><code>{escape(test.name)}</code></td>"
                f"<td style='color:{colour};font-weight:bold'>{escape(result)}</td>"
                f"<td>{_number(test.score)} / {_number(test.max_score)}</td>"
                f"<td style='text-align:left'><pre style='margin:0;white-space:pre-wrap'>{output}</pre></td></tr>"
            )
        message = (
            f"<pre style='color:#cf222e;white-space:pre-wrap'>{escape(self.message)}</pre>" if self.message else ""
        )
        return (
            f"<div><b>{escape(self.title)}</b>{message}"
            "<table><thead><tr><th>test</th><th>result</th><th>points</th><th>message</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )
