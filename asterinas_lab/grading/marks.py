"""The ``lab_test`` decorator: a grading test's points, visibility, dependencies and time budget.

The settings are stored as an ordinary pytest mark (``@pytest.mark.lab_test(...)``) so that a
lab's test file stays a plain pytest module: ``pytest labs/tests/lab1.py`` still runs it (with
the ``submission`` fixture supplied by the grader's plugin), and the grader reads the settings
back from the collected items. ``labs release`` finds hidden tests by reading the decorator
in the source with :mod:`ast`, so ``visibility`` must be a literal string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

MARK = "lab_test"
VISIBILITIES = ("visible", "hidden")
DEFAULT_TIMEOUT = 60.0

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class LabTestSpec:
    """What the grader needs to know about one test."""

    points: float = 1.0
    visibility: str = "visible"
    depends: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT

    @property
    def hidden(self) -> bool:
        return self.visibility == "hidden"


def _normalise(points: float, visibility: str, depends: str | Iterable[str], timeout: float) -> LabTestSpec:
    """Validate the arguments at decoration time, so an authoring mistake fails on import."""
    if isinstance(points, bool) or not isinstance(points, int | float) or points < 0:
        raise ValueError(f"lab_test: points must be a number >= 0, not {points!r}")
    if visibility not in VISIBILITIES:
        raise ValueError(f"lab_test: visibility must be one of {VISIBILITIES}, not {visibility!r}")
    depends = (depends,) if isinstance(depends, str) else tuple(depends)
    if not all(isinstance(name, str) for name in depends):
        raise ValueError(f"lab_test: depends must name tests, not {depends!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"lab_test: timeout must be a number of seconds > 0, not {timeout!r}")
    return LabTestSpec(float(points), visibility, depends, float(timeout))


def lab_test(
    *,
    points: float,
    visibility: str = "visible",
    depends: str | Iterable[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> Callable[[F], F]:
    """Declare a grading test: ``@lab_test(points=2, depends=("test_a",), visibility="hidden")``.

    ``points`` is all-or-nothing (a pass scores them all). ``visibility="hidden"`` tests run
    only in the autograder and are stripped from the student release. ``depends`` names tests
    (function names) that must pass first. ``timeout`` is the test's budget in seconds; the
    test runs in its own forked process that is killed when the budget runs out.
    """
    spec = _normalise(points, visibility, depends, timeout)
    mark = pytest.mark.lab_test(
        points=spec.points, visibility=spec.visibility, depends=spec.depends, timeout=spec.timeout
    )

    def decorate(func: F) -> F:
        return mark(func)

    return decorate


def spec_of(item: pytest.Item) -> LabTestSpec:
    """The settings of a collected test; a test without ``@lab_test`` gets the defaults."""
    marker = item.get_closest_marker(MARK)
    if marker is None:
        return LabTestSpec()
    return LabTestSpec(**marker.kwargs)
