"""Executed notebooks to HTML reports for readers (nbconvert), written atomically.

The executed `.ipynb` keeps everything; the HTML is for reading: code hidden behind a "show code" button,
and self-contained, so a report opened offline fetches nothing (nbconvert's lab template would load
require.js, MathJax and the widget manager from CDNs; our notebooks use none of them: no math, and each
widget carries a static figure or text as its fallback, which the HTML shows instead).
"""
from __future__ import annotations

import copy
from pathlib import Path

from ..io import write_text

__all__ = ["WIDGET_VIEW", "has_error_output", "reader_notebook", "render_html"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# Extends nbconvert's lab template. Empty blocks drop the CDN scripts (require.js, MathJax, mermaid and the
# widget manager). The page starts with code hidden (a class on <body>, so it holds without JavaScript);
# the button toggles that class. Code cells without outputs (the parameters cells, imports) then vanish,
# so the notebook's title and the report header come first.
READER_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
#studylib-code-toggle { position: fixed; top: 8px; right: 12px; z-index: 100; padding: 4px 12px;
  font: 13px sans-serif; background: #fff; border: 1px solid #888; border-radius: 4px; cursor: pointer; }
body.studylib-hide-code .jp-CodeCell .jp-Cell-inputWrapper,
body.studylib-hide-code .jp-CodeCell.jp-mod-noOutputs,
body.studylib-hide-code .jp-InputPrompt,
body.studylib-hide-code .jp-OutputPrompt { display: none; }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
<body class="jp-Notebook studylib-hide-code" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<button id="studylib-code-toggle" type="button" aria-pressed="false">show code</button>
<script>
document.getElementById("studylib-code-toggle").addEventListener("click", function () {
  var hidden = document.body.classList.toggle("studylib-hide-code");
  this.textContent = hidden ? "show code" : "hide code";
  this.setAttribute("aria-pressed", hidden ? "false" : "true");
});
</script>
<main>
{%- endblock body_header -%}
"""


def reader_notebook(nb):
    """A copy of an executed notebook as the HTML shows it: widget views replaced by their fallback, and
    text progress bars gone.

    A widget needs a live kernel (or the widget manager's JavaScript from a CDN); its output also carries
    a static `image/png` or `text/plain` (our widgets put their current figure there), which is kept.
    The stored widget state goes too, so the template has nothing to load it with. Progress bars are
    `\\r`-overwritten stderr chunks; merged and resolved like a terminal (nbconvert's
    CoalesceStreamsPreprocessor), a finished `leave=False` bar is blank, and blank streams are dropped.
    """
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    for cell in nb.cells:
        if "outputs" not in cell:
            continue
        cell.outputs = [o for o in cell.outputs if o.output_type != "stream" or o.text.strip()]
        for out in cell.outputs:
            if WIDGET_VIEW in out.get("data", {}):
                del out["data"][WIDGET_VIEW]
                if not out["data"]:
                    out["data"]["text/plain"] = "(an interactive widget: open the notebook in JupyterLab)"
    return nb


def render_html(ipynb: Path, out: Path, title: str = "") -> None:
    """The reader's HTML of an executed notebook (page title set, code hidden), written atomically."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter
    nb = nbformat.read(ipynb, as_version=4)
    if title:
        nb.metadata["title"] = title
    exporter = HTMLExporter(template_name="lab", template_file="studylib-reader.html.j2",
                            extra_loaders=[jinja2.DictLoader({"studylib-reader.html.j2": READER_TEMPLATE})])
    body, _ = exporter.from_notebook_node(reader_notebook(nb))
    write_text(out, body)


def has_error_output(ipynb: Path) -> bool:
    """Whether any cell of an executed notebook shows an error."""
    import nbformat
    nb = nbformat.read(ipynb, as_version=4)
    return any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
