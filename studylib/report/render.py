"""Executed notebooks to HTML reports (nbconvert), written atomically."""
from __future__ import annotations

from pathlib import Path

from ..io import write_text

__all__ = ["has_error_output", "render_html"]


def render_html(ipynb: Path, out: Path, title: str = "") -> None:
    """nbconvert's HTML export of an executed notebook (page title set), written atomically."""
    import nbformat
    from nbconvert import HTMLExporter
    nb = nbformat.read(ipynb, as_version=4)
    if title:
        nb.metadata["title"] = title
    body, _ = HTMLExporter().from_notebook_node(nb)
    write_text(out, body)


def has_error_output(ipynb: Path) -> bool:
    """Whether any cell of an executed notebook shows an error."""
    import nbformat
    nb = nbformat.read(ipynb, as_version=4)
    return any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
