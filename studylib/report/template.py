"""The reader's page template: nbconvert's lab template, extended (code hidden behind a button, no CDN
scripts). `render` exports every report through it; `lighten` reads the stylesheet it puts in a page's head
to write the folder's one `report.css`."""
from __future__ import annotations

__all__ = ["READER_TEMPLATE", "export_html"]

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
details.studylib-log { margin: 4px 0; }
details.studylib-log > summary { cursor: pointer; color: #555; font-size: 13px; }
details.studylib-log > pre { max-height: 32em; overflow: auto; font-size: 12px; background: #f7f7f7;
  padding: 6px; border-radius: 3px; }
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


def export_html(nb) -> str:
    """A notebook through the reader's template (nbconvert's lab template, extended): the full page, with
    nbconvert's CSS inline in its head (`render_html` links the folder's stylesheet instead)."""
    import jinja2
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name="lab", template_file="studylib-reader.html.j2",
                            extra_loaders=[jinja2.DictLoader({"studylib-reader.html.j2": READER_TEMPLATE})])
    body, _ = exporter.from_notebook_node(nb)
    return body
