"""A notebook exported to HTML still shows the page-table drawing: executed with
nbclient, exported with nbconvert, opened in headless Chromium (Debian's chromium)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
nbconvert = pytest.importorskip("nbconvert")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REPO = Path(__file__).resolve().parent.parent

CELL = """\
from asterinas_lab import runner, viz
snapshots = []
observe = lambda kernel: kernel.exit_observers.append(lambda p: snapshots.append(viz.snapshot(p)))
runner.run(["/bin/hello"], with_kernel=observe)
snapshots[0]
"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_exported_notebook_shows_the_page_table_drawing(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO)}}).execute()  # fmt: skip
    outputs = notebook.cells[0].outputs
    assert any("image/svg+xml" in out.get("data", {}) for out in outputs), outputs
    body, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    page = tmp_path / "pagetable.html"
    page.write_text(body)
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    drawings = re.findall(r"<svg\b.*?</svg>", dom, re.S)
    assert any("PML4" in svg for svg in drawings), "no page-table drawing (an SVG showing the PML4) in the page"
