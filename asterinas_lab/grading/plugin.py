"""The pytest plugin that runs a lab's tests as a grader.

Each test runs in its own forked child (as pytest-forked does), so a hang, a crash of the
emulator or an ``os._exit`` in student code costs that test alone, and no test sees state
another left behind. The parent never runs student code: it only forks, waits with the test's
time budget, and reads back a small JSON result and the child's captured stdout/stderr.

Before any test runs, the plugin checks the submission (boundary, then loading it once in a
child with ``REQUIRED`` names present); a failure there scores every test 0 with one message.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import pytest

from .marks import MARK, LabTestSpec, spec_of
from .report import FAILED, PASSED, TestResult
from .submission import Submission, SubmissionError

LOAD_TIMEOUT = 60.0
KILL_GRACE = 1.0  # seconds past the budget before the hard kill (the traceback dump goes first)
MAX_OUTPUT = 20_000  # characters of a test's captured output kept


@dataclass
class ChildResult:
    """What a forked child reports: its exit, and what it wrote to the result file."""

    data: dict[str, Any] | None
    output: str
    timed_out: bool
    signal: int | None
    exit_status: int | None
    duration: float


def run_forked(work: Any, timeout: float, label: str) -> ChildResult:
    """Run ``work()`` (returning a JSON-able dict) in a forked child with a time budget.

    The child's fds 1 and 2 go to a temporary file, which is the test's captured output. It
    is its own process group, so a hang is killed with everything it started.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as result:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _child(work, timeout, out.fileno(), result.fileno(), label)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child already did it, or has already exited
        deadline = start + timeout + KILL_GRACE
        timed_out = False
        try:
            status = _wait(pid, deadline)
        except BaseException:  # an interrupted check() (Ctrl-C, kernel interrupt): no orphan left running
            _kill(pid)
            os.waitpid(pid, 0)
            raise
        if status is None:
            timed_out = True
            _kill(pid)
            _, status = os.waitpid(pid, 0)
        duration = time.monotonic() - start
        _kill(pid, group_only=True)  # grandchildren left in the group (a test that started processes)
        out.seek(0)
        output = _without_grader_frames(out.read().decode("utf-8", "replace"))
        if len(output) > MAX_OUTPUT:
            output = output[: MAX_OUTPUT // 2] + "\n... (output cut) ...\n" + output[-MAX_OUTPUT // 2 :]
        result.seek(0)
        raw_result = result.read()
    data = None
    if raw_result:
        try:
            data = json.loads(raw_result)
        except ValueError:
            data = None
    killed = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    exited = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    return ChildResult(data, output, timed_out, None if timed_out else killed, exited, duration)


def _wait(pid: int, deadline: float) -> int | None:
    """The child's wait status, or None when the deadline passes first."""
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _kill(pid: int, group_only: bool = False) -> None:
    """SIGKILL the child's process group, and the child itself if it had not made the group yet.

    Once the child is reaped its pid may be reused, so then only the group is killed (a group
    outlives its leader while members remain, and its id is not reused meanwhile).
    """
    for kill in (os.killpg,) if group_only else (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


_GRADER_FRAMES = ("/_pytest/", "/pluggy/", "/asterinas_lab/grading/")


def _without_grader_frames(output: str) -> str:
    """Drop pytest's, pluggy's and the grader's frames from faulthandler dumps (hang, crash).

    What is left is the student's code and the test: where it hung or crashed.
    """
    lines = output.split("\n")
    kept = [
        line
        for line in lines
        if not (line.startswith('  File "') and any(part in line for part in _GRADER_FRAMES))
    ]
    return "\n".join(kept)


def _child(work: Any, timeout: float, out_fd: int, result_fd: int, label: str) -> None:
    code = 1
    try:
        os.setpgid(0, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        # Fresh text streams on the captured fds: a notebook's sys.stdout talks to the kernel.
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        faulthandler.enable(file=sys.stderr)
        # Where a hang was, shown just before the parent kills the child.
        faulthandler.dump_traceback_later(timeout, exit=False, file=sys.stderr)
        data = work()
        faulthandler.cancel_dump_traceback_later()
        payload = json.dumps(data).encode()
        os.lseek(result_fd, 0, os.SEEK_SET)
        os.write(result_fd, payload)
        code = 0
    except BaseException as error:  # noqa: BLE001 - the child must reach os._exit whatever happens
        try:
            payload = json.dumps({"internal_error": f"{label}: {type(error).__name__}: {error}"}).encode()
            os.lseek(result_fd, 0, os.SEEK_SET)
            os.write(result_fd, payload)
        except BaseException:  # noqa: BLE001
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        os._exit(code)


def describe_exit(name: str, child: ChildResult, timeout: float) -> str | None:
    """The one-line account of a child that did not finish normally, or None."""
    if child.timed_out:
        return f"{name}: timed out after {timeout:g} s"
    if child.signal is not None:
        try:
            signame = signal.Signals(child.signal).name
        except ValueError:
            signame = str(child.signal)
        return f"{name}: crashed (signal {signame})"
    if child.data is None:
        return f"{name}: crashed (the process exited with status {child.exit_status} before the test finished)"
    if "internal_error" in child.data:
        return f"{name}: grader error in the test process: {child.data['internal_error']}"
    return None


class GradingPlugin:
    """Registered with ``pytest.main(plugins=[...])`` for one grading run."""

    def __init__(self, submission: Submission, include_hidden: bool = True) -> None:
        self.student = submission
        self.include_hidden = include_hidden
        self.results: list[TestResult] = []
        self.by_function: dict[str, list[TestResult]] = {}
        self.selected: set[str] = set()
        self.load_error: str | None = None
        self.collect_errors: list[str] = []
        self.specs: dict[str, LabTestSpec] = {}
        self.required: tuple[str, ...] = ()

    # --- pytest hooks ----------------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line(
            "markers", f"{MARK}(points, visibility, depends, timeout): a graded lab test (asterinas_lab.grading)"
        )

    @pytest.fixture
    def submission(self) -> Any:
        """The student's module (in ``check()``: the notebook's namespace, as a module)."""
        return self.student.load()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(report.longreprtext)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        kept, dropped = [], []
        for item in items:
            spec = spec_of(item)
            (dropped if spec.hidden and not self.include_hidden else kept).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = _ordered(kept)
        for item in items:
            self.specs[item.nodeid] = spec_of(item)
            self.selected.add(_function(item))
        required: list[str] = []
        for item in items:
            module = getattr(item, "module", None)
            for name in getattr(module, "REQUIRED", ()) or ():
                if name not in required:
                    required.append(name)
        self.required = tuple(required)
        if items:
            self.load_error = self._check_submission()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool:
        spec = self.specs.get(item.nodeid) or spec_of(item)
        name = item.name
        result = TestResult(name, 0.0, spec.points, FAILED, visibility=spec.visibility, outcome="not_run")
        failed_parent = self._failed_dependency(item, spec)
        if self.load_error is not None:
            result.output = f"{name}: not run: {self.load_error}"
        elif failed_parent is not None:
            result.output = f"{name}: not run: depends on {failed_parent}, which failed"
        else:
            self._run(item, spec, result)
        self.results.append(result)
        self.by_function.setdefault(_function(item), []).append(result)
        return True

    # --- the work --------------------------------------------------------------------------

    def _check_submission(self) -> str | None:
        """Why the submission cannot be graded at all, or None."""
        if self.student.problem is not None:
            return self.student.problem
        problems = self.student.boundary_problems(self.required)
        if problems:
            listed = "\n".join(f"  {problem}" for problem in problems)
            return (
                "the submission breaks the safe-code boundary (student code may use only OSTD's public "
                f"API and the kernel's public modules; no machine/, unicorn, ctypes or _private names):\n{listed}"
            )
        if self.student.live:
            assert self.student.namespace is not None
            missing = self.student.missing(self.student.namespace, self.required)
            return _missing_message(missing)
        submission, required = self.student, self.required

        def probe() -> dict[str, Any]:
            try:
                module = submission.load()
            except SubmissionError as error:
                return {"error": str(error)}
            except BaseException as error:  # noqa: BLE001 - any failure of student code
                return {"error": submission.load_problem(error)}
            return {"error": _missing_message(submission.missing(module, required))}

        child = run_forked(probe, LOAD_TIMEOUT, "loading the submission")
        exit_problem = describe_exit("loading the submission", child, LOAD_TIMEOUT)
        if exit_problem is not None:
            return exit_problem
        assert child.data is not None
        return child.data.get("error")

    def _failed_dependency(self, item: pytest.Item, spec: LabTestSpec) -> str | None:
        for parent in spec.depends:
            if parent not in self.selected:
                continue  # not part of this run (a hidden test in check()): nothing to wait for
            runs = self.by_function.get(parent)
            if not runs or not all(run.passed for run in runs):
                return parent
        return None

    def _run(self, item: pytest.Item, spec: LabTestSpec, result: TestResult) -> None:
        from _pytest.runner import runtestprotocol

        def work() -> dict[str, Any]:
            reports = runtestprotocol(item, log=False, nextitem=None)
            return _summarise(reports)

        child = run_forked(work, spec.timeout, item.name)
        result.duration = child.duration
        problem = describe_exit(item.name, child, spec.timeout)
        if problem is not None:
            result.outcome = "timeout" if child.timed_out else "crashed"
            result.output = _join(problem, child.output)
            return
        assert child.data is not None
        outcome = child.data["outcome"]
        result.outcome = outcome
        if outcome == PASSED:
            result.status, result.score = PASSED, spec.points
            result.output = child.output
            return
        headline = f"{item.name}: {child.data['message']}"
        result.output = _join(headline, child.data.get("details", ""), child.output)


def _join(*parts: str) -> str:
    kept = [part.rstrip() for part in parts if part and part.strip()]
    if len(kept) > 2:
        kept[2] = "--- output ---\n" + kept[2]
    return "\n\n".join(kept)


def _summarise(reports: list[Any]) -> dict[str, Any]:
    """The outcome of setup/call/teardown, as the JSON the child sends back."""
    for report in reports:
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            message = crash.message if crash is not None else report.longreprtext.strip().splitlines()[-1:]
            if isinstance(message, list):
                message = message[0] if message else "failed"
            if report.when != "call":
                message = f"error in test {report.when}: {message}"
            return {
                "outcome": "failed" if report.when == "call" else "error",
                "message": message,
                "details": report.longreprtext,
            }
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            return {"outcome": "skipped", "message": f"skipped: {reason}", "details": ""}
    return {"outcome": PASSED}


def _missing_message(missing: list[str]) -> str | None:
    if not missing:
        return None
    names = ", ".join(missing)
    return f"the submission does not define {names} (the lab's tests need {'it' if len(missing) == 1 else 'them'})"


def _function(item: pytest.Item) -> str:
    return getattr(item, "originalname", None) or item.name


def _ordered(items: list[pytest.Item]) -> list[pytest.Item]:
    """The items in file order, except that a test comes after the tests it depends on.

    A dependency on a test that is not in the run is ignored here (and by the runner); a cycle
    keeps the file order for the tests in it (each then waits on a test that has not run, and
    is reported as depending on a failed test).
    """
    by_function: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_function.setdefault(_function(item), []).append(item)
    placed: list[pytest.Item] = []
    done: set[int] = set()
    visiting: set[str] = set()

    def place(item: pytest.Item) -> None:
        if id(item) in done:
            return
        name = _function(item)
        visiting.add(name)
        for parent in spec_of(item).depends:
            if parent in visiting:
                continue
            for dependency in by_function.get(parent, []):
                place(dependency)
        visiting.discard(name)
        if id(item) not in done:
            done.add(id(item))
            placed.append(item)

    for item in items:
        place(item)
    return placed
