"""Comparing a run's output with a reference, for lab tests: the message a student
reads names the first line that differs and shows both sides, instead of two blobs.
"""

from __future__ import annotations

END = "(end of output)"


def first_difference(want: list, got: list) -> int:
    """The index of the first line that differs; if one is a prefix of the other, the
    length of the shorter."""
    return next((i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got)))


def assert_same_output(name: str, got: bytes, want: bytes, reference: str = "Linux") -> None:
    """Fail with the first differing line if ``got`` (the lab's stdout) is not ``want``
    (what ``reference`` printed)."""
    if got == want:
        return
    got_lines = got.decode(errors="replace").splitlines()
    want_lines = want.decode(errors="replace").splitlines()
    first = first_difference(want_lines, got_lines)
    raise AssertionError(
        f"{name}: stdout differs from {reference}'s at line {first + 1}:\n"
        f"  lab:   {got_lines[first] if first < len(got_lines) else END!r}\n"
        f"  {reference}: {want_lines[first] if first < len(want_lines) else END!r}"
    )
