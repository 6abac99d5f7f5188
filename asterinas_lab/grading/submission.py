"""Turning what a student hands in into a module the tests can call.

A submission is a lab notebook (the ``exercise``-tagged code cells, in order), a ``.py`` file,
or a live namespace (a notebook's globals, for ``check()``). Before anything of it runs, its
source goes through :mod:`asterinas_lab.boundary`: the same checker that keeps the safe kernel
on OSTD's public API, so student code is held to the rule the kernel is held to.

Problems are reported as :class:`SubmissionError` with a message a student can act on
("exercise cell 2, line 3: imports unicorn"), never as a traceback: line numbers are given
relative to the exercise cell the student sees, not to the concatenated module.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import re
import sys
import textwrap
import traceback
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import boundary

EXERCISE_TAG = "exercise"
MODULE_NAME = "submission"
_MAGIC = re.compile(r"^(\s*)([%!].*)$")


class SubmissionError(Exception):
    """The submission cannot be graded (unreadable, breaks the boundary, fails to load)."""


@dataclass(frozen=True)
class Chunk:
    """One piece of student source: an exercise cell, a whole ``.py`` file, or a function."""

    label: str  # how the student knows it: "exercise cell 2", "answer.py", "translate"
    source: str
    filename: str  # the name the code is compiled under, so tracebacks name the cell
    first_line: int = 1  # line of ``source``'s first line within what the student sees

    def where(self, line: int) -> str:
        return f"{self.label}, line {line + self.first_line - 1}"

    def line_text(self, line: int) -> str:
        lines = self.source.splitlines()
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""


@dataclass
class Submission:
    """Student code, not yet run. ``load()`` runs it in a fresh module (in a forked child)."""

    name: str
    chunks: list[Chunk] = field(default_factory=list)
    namespace: Mapping[str, Any] | None = None
    #: Why a readable notebook cannot be graded (no exercise cells): the student's problem, so
    #: it scores 0 with this message. An unreadable file is a SubmissionError instead.
    problem: str | None = None

    @property
    def live(self) -> bool:
        return self.namespace is not None

    # --- the boundary --------------------------------------------------------------------

    def boundary_problems(self, required: Iterable[str] = ()) -> list[str]:
        """Every way the source breaks the safe-code boundary, as "where: what (`line`)".

        For files and notebooks all the chunks are checked together (as the one module they
        become), so an import in one cell is known when another cell uses it. For a live
        namespace the chunks are the sources behind the required names (see ``_sources_of``).
        """
        chunks = self.chunks if not self.live else self._live_chunks(required)
        if not chunks:
            return []
        groups = [chunks] if not self.live else [[chunk] for chunk in chunks]
        problems: list[str] = []
        for group in groups:
            # A live object's source always compiled; if a piece of it does not parse alone
            # (a lambda cut out of a line), there is nothing to check in it.
            problems += _check_chunks(group, report_syntax=not self.live)
        return problems

    def _live_chunks(self, required: Iterable[str]) -> list[Chunk]:
        assert self.namespace is not None
        chunks: dict[str, Chunk] = {}
        for name in required:
            if name in self.namespace:
                for chunk in _sources_of(name, self.namespace[name]):
                    chunks.setdefault(chunk.filename, chunk)
        return list(chunks.values())

    # --- loading -------------------------------------------------------------------------

    def load(self) -> types.ModuleType:
        """The submission as a module. Runs student code: call it in a throwaway process."""
        module = types.ModuleType(MODULE_NAME)
        if self.live:
            assert self.namespace is not None
            module.__dict__.update(self.namespace)
            return module
        module.__file__ = self.name
        sys.modules[MODULE_NAME] = module  # dataclasses and pickle look classes up here
        for chunk in self.chunks:
            source = _runnable(chunk.source)
            lines = source.splitlines(keepends=True)
            linecache.cache[chunk.filename] = (len(source), None, lines, chunk.filename)
            code = compile(source, chunk.filename, "exec", dont_inherit=True)
            exec(code, module.__dict__)  # noqa: S102 - running the student's code is the point
        return module

    def load_problem(self, error: BaseException) -> str:
        """A one-paragraph account of an exception raised by ``load()``."""
        where = ""
        by_file = {chunk.filename: chunk for chunk in self.chunks}
        if isinstance(error, SyntaxError) and error.filename in by_file:
            chunk = by_file[error.filename]
            return f"{chunk.where(error.lineno or 0)}: syntax error: {error.msg}"
        for frame in reversed(traceback.extract_tb(error.__traceback__)):
            if frame.filename in by_file:
                chunk = by_file[frame.filename]
                text = chunk.line_text(frame.lineno or 0)
                where = f" at {chunk.where(frame.lineno or 0)}" + (f" (`{text}`)" if text else "")
                break
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return f"running the submission raised {detail}{where}"

    def missing(self, module: types.ModuleType | Mapping[str, Any], required: Iterable[str]) -> list[str]:
        names = module if isinstance(module, Mapping) else vars(module)
        return [name for name in required if name not in names]


def _check_chunks(chunks: list[Chunk], report_syntax: bool = True) -> list[str]:
    """Run the boundary checker over chunks joined into one module; map lines back."""
    source = ""
    starts: list[tuple[int, Chunk]] = []  # (first line of the chunk in ``source``, chunk)
    line = 1
    for chunk in chunks:
        text = _runnable(chunk.source)
        if not text.endswith("\n"):
            text += "\n"
        starts.append((line, chunk))
        source += text
        line += text.count("\n")

    def locate(at: int) -> tuple[Chunk, int]:
        for start, chunk in reversed(starts):
            if at >= start:
                return chunk, at - start + 1
        return starts[0][1], at

    try:
        violations = boundary.check_source(source, "<submission>")
    except SyntaxError as error:
        chunk, at = locate(error.lineno or 1)
        return [f"{chunk.where(at)}: syntax error: {error.msg}"] if report_syntax else []
    problems = []
    for violation in violations:
        chunk, at = locate(violation.line)
        text = chunk.line_text(at)
        problems.append(f"{chunk.where(at)}: {violation.message}" + (f" (`{text}`)" if text else ""))
    return problems


def _runnable(source: str) -> str:
    """Notebook source as Python: IPython magics and shell escapes become ``pass``.

    Only when the cell does not parse as it is, so a ``%`` inside a string is never touched;
    lines keep their numbers.
    """
    try:
        ast.parse(source)
        return source
    except SyntaxError:
        pass
    return "\n".join(
        _MAGIC.sub(lambda m: f"{m.group(1)}pass  # {m.group(2)}", line) for line in source.split("\n")
    )


# --- building submissions ------------------------------------------------------------------


def from_path(path: str | Path) -> Submission:
    """A notebook (``.ipynb``) or a Python file (``.py``)."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file")
    if path.suffix == ".ipynb":
        return from_notebook(path)
    if path.suffix == ".py":
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SubmissionError(f"{path}: cannot read: {error}") from None
        return Submission(path.name, [Chunk(path.name, source, str(path))])
    raise SubmissionError(f"{path}: not a notebook (.ipynb) or a Python file (.py)")


def exercise_sources(notebook: Any) -> list[str]:
    """The source of each ``exercise``-tagged code cell of an nbformat notebook, in order."""
    return [
        cell.source
        for cell in notebook.cells
        if cell.cell_type == "code" and EXERCISE_TAG in cell.get("metadata", {}).get("tags", [])
    ]


def from_notebook(path: str | Path) -> Submission:
    import nbformat

    path = Path(path)
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable notebook gets one clear line
        raise SubmissionError(f"{path}: not a readable notebook ({type(error).__name__}: {error})") from None
    sources = exercise_sources(notebook)
    if not sources:
        return Submission(path.name, problem=f"no code cell is tagged '{EXERCISE_TAG}' (nothing to grade)")
    chunks = [
        Chunk(f"exercise cell {number}", source, f"<exercise cell {number}>")
        for number, source in enumerate(sources, start=1)
    ]
    return Submission(path.name, chunks)


def from_namespace(namespace: Mapping[str, Any], name: str = "notebook") -> Submission:
    return Submission(name, namespace=namespace)


def _sources_of(name: str, obj: Any) -> list[Chunk]:
    """The source behind a required name, for the boundary check of a live namespace.

    Where the object's code came from a notebook cell (IPython puts each cell's source in
    :mod:`linecache` under a name that is not a file) the whole cell is checked, so an import
    at the top of the cell counts. Otherwise (a function imported from a file) the source of
    the object itself. Nothing is returned when no source is available (a builtin, a C
    function): there is nothing to check.
    """
    codes: list[types.CodeType] = []
    if isinstance(obj, types.FunctionType):
        codes.append(obj.__code__)
    elif isinstance(obj, type):
        for value in vars(obj).values():
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                value = value.fget
            if isinstance(value, types.FunctionType):
                codes.append(value.__code__)
    chunks: list[Chunk] = []
    for code in codes:
        filename = code.co_filename
        lines = linecache.getlines(filename)
        if lines and not Path(filename).is_file():
            chunks.append(Chunk(f"the cell defining {name}", "".join(lines), filename))
    if chunks:
        return chunks
    try:
        source, first = inspect.getsourcelines(obj)
    except (OSError, TypeError):
        return []
    text = textwrap.dedent("".join(source))
    label = Path(inspect.getsourcefile(obj) or name).name
    return [Chunk(label, text, f"<{name}>", first_line=max(first, 1))]
