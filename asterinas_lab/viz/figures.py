"""Views that display themselves in a notebook: text-and-HTML tables, and matplotlib
figures."""

from __future__ import annotations

import functools
import io
from typing import Any


class TextAndHtml:
    """A view with a plain-text form (``text()``) and an HTML one (``to_html()``):
    ``print`` shows the text, and a notebook draws the HTML, with the text as the
    fallback of front ends that cannot."""

    def text(self) -> str:
        raise NotImplementedError

    def to_html(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self.to_html()}


@functools.cache
def notebook_figure_class() -> type:
    """A Figure subclass that draws itself in a notebook as a PNG, whether or not
    pyplot's inline backend is active (a Figure made without pyplot otherwise shows as
    text). matplotlib is imported on the first call only."""
    from matplotlib.figure import Figure

    class NotebookFigure(Figure):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100)
            return buffer.getvalue()

    return NotebookFigure
