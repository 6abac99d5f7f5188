"""matplotlib figures that display themselves in a notebook."""

from __future__ import annotations

import functools
import io


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
