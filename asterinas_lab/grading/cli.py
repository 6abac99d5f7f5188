"""The grading subcommands of ``asterinas-lab``.

``asterinas-lab grade LAB SUBMISSION [--json FILE] [--public-only]`` grades a notebook or a
``.py`` file, prints the summary and (with ``--json``) writes Gradescope's results.json. It
exits 0 whenever the submission was graded, whatever the score: a low score is the answer,
not an error. It exits 2 with one line when grading cannot start (no such file, no such lab).

``asterinas-lab labs release`` writes the student notebooks (and, with ``--tests-out``, the
public test files); ``asterinas-lab labs autograder LAB`` builds a Gradescope autograder zip.

``asterinas_lab/cli.py`` only registers these (``add_parsers``) and hands them over (``main``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COMMANDS = ("grade", "labs")
EXIT_USAGE = 2


def _fail(message: str) -> int:
    print(f"asterinas-lab: {message}", file=sys.stderr)
    return EXIT_USAGE


def add_parsers(sub: argparse._SubParsersAction) -> None:
    grade = sub.add_parser("grade", help="grade a lab submission (.ipynb or .py) with the lab's tests")
    grade.add_argument("lab", metavar="LAB", help="the lab: lab0 ... lab9")
    grade.add_argument("submission", metavar="SUBMISSION", help="the student's notebook (.ipynb) or .py file")
    grade.add_argument("--json", metavar="FILE", help="write Gradescope's results.json here")
    grade.add_argument("--public-only", action="store_true", help="run only the public tests (as check() does)")
    grade.add_argument(
        "--tests", metavar="DIR", help="the directory holding labN.py (default: found as check() does)"
    )
    labs = sub.add_parser("labs", help="release the labs to students; build Gradescope autograders")
    labs_sub = labs.add_subparsers(dest="labs_command", required=True)
    release = labs_sub.add_parser("release", help="student notebooks from the instructor's (solutions removed)")
    release.add_argument(
        "--source",
        default="labs/instructor",
        metavar="DIR",
        help="the instructor notebooks (default labs/instructor)",
    )
    release.add_argument(
        "--out",
        default="labs/student",
        metavar="DIR",
        help="where the student notebooks go (default labs/student)",
    )
    release.add_argument(
        "--tests-out", metavar="DIR", help="also write the public test files (hidden tests removed) here"
    )
    release.add_argument("--tests", metavar="DIR", help="the full test files (default: SOURCE/../tests)")
    autograder = labs_sub.add_parser("autograder", help="build a Gradescope autograder zip for one lab")
    autograder.add_argument("lab", metavar="LAB", help="the lab: lab0 ... lab9")
    autograder.add_argument("--out", metavar="FILE.zip", help="the zip to write (default LAB-autograder.zip)")
    autograder.add_argument("--tests", metavar="DIR", help="the directory holding labN.py")
    autograder.add_argument(
        "--wheelhouse",
        metavar="DIR",
        help="take the dependency wheels from DIR instead of the package index (offline)",
    )


def main(args: argparse.Namespace) -> int:
    if args.command == "grade":
        return _grade(args)
    if args.labs_command == "release":
        return _release(args)
    return _autograder(args)


def _grade(args: argparse.Namespace) -> int:
    from .core import GradingError, grade

    path = Path(args.submission)
    if not path.is_file():
        return _fail(f"{path}: no such file")
    try:
        report = grade(args.lab, path, include_hidden=not args.public_only, tests_dir=args.tests)
    except GradingError as error:
        return _fail(str(error))
    print(report.summary())
    if args.json:
        target = Path(args.json)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(report.to_gradescope(), indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            return _fail(f"--json {target}: {error.strerror or error}")
    return 0


def _release(args: argparse.Namespace) -> int:
    from .release import ReleaseError, release

    try:
        done = release(args.source, args.out, args.tests_out, args.tests)
    except ReleaseError as error:
        return _fail(f"labs release: {error}")
    for path in done.notebooks + done.tests:
        print(f"wrote {path}")
    return 0


def _autograder(args: argparse.Namespace) -> int:
    from .autograder import AutograderError, build
    from .core import GradingError

    try:
        built = build(args.lab, args.out, tests_dir=args.tests, wheelhouse=args.wheelhouse)
    except (AutograderError, GradingError) as error:
        return _fail(f"labs autograder: {error}")
    print(f"wrote {built.path} ({len(built.wheels)} wheels): upload it as the Gradescope autograder")
    return 0
