"""Light report pages: one small stylesheet beside the pages, figures compressed, no link to a page that is
not committed.

nbconvert's lab template inlines JupyterLab's whole theme in every page (some 256 KB of CSS, most of it
for a running JupyterLab: toolbars, file browser, icons); our pages use a few dozen of its rules. Each
reports folder gets one stylesheet, `report.css`, written beside the pages (the same bytes for every page
and every render with this nbconvert: the template's CSS pruned by `css.prune_css` to the rules whose
selectors can match what the template and our outputs write, and the custom properties those rules use), and each page links
it instead (still offline: a file beside the page).

Figures: matplotlib's PNGs are full-colour RGBA; a plot needs a palette (256 colours read back within
45 dB PSNR, mostly exactly) and a photograph (the galleries of faces and plants) compresses as WebP
(quality 75) to a fraction of any PNG. `compress_image` picks: the palette PNG when it is close enough,
WebP when that is under half the best PNG, never anything larger than the figure it was given.

`lighten_html` does all of it to one page: a new render (`render.render_html`) and the pass over
committed renders (`relight.lighten_folder`, `python -m studylib.report.relight reports/cpu ...`) are one
code path.
"""
from __future__ import annotations

import base64
import functools
import html as html_lib
import io
import re
from pathlib import Path
from urllib.parse import unquote

from ..io import write_text
from . import publish
from .css import prune_css, pygments_classes

__all__ = ["LINK", "STYLESHEET", "compress_data_uris", "compress_image", "lighten_html",
           "link_stylesheet", "plain_code", "prune_body_styles", "prune_css", "stylesheet", "unlink",
           "write_stylesheet"]

STYLESHEET = "report.css"
LINK = f'<link rel="stylesheet" href="{STYLESHEET}">'

# Figures
PALETTE_PSNR = 45.0   # dB: a 256-colour palette that reads back this close is kept (a plot's antialiasing)
PHOTO_QUALITY = 75    # WebP quality for photographs
PHOTO_RATIO = 0.5     # WebP is taken when under this fraction of the best PNG: a photograph, not a plot
DATA_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\s]+)")


HEAD_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style>\s*", re.S | re.I)


@functools.lru_cache(maxsize=1)
def stylesheet() -> str:
    """The reports' stylesheet: the reader template's own CSS (the CSS nbconvert's lab template and ours
    put in a page's head, in their order), pruned (`prune_css`)."""
    from .template import export_html
    import nbformat
    head = _head(export_html(nbformat.v4.new_notebook()))[1]
    css = "\n".join(m.group(1) for m in HEAD_STYLE.finditer(head))
    return ("/* The styles of every report page in this folder: nbconvert's lab template (JupyterLab Light) and "
            "studylib's,\n   pruned to the rules a report uses (studylib/report/lighten.py). Written by each "
            "render; the same for all. */\n" + prune_css(css))


def write_stylesheet(folder) -> Path:
    """`folder/report.css`, written (atomically) only when it is missing or differs."""
    path, text = Path(folder) / STYLESHEET, stylesheet()
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        write_text(path, text)
    return path


# ---- a page's head ----------------------------------------------------------------------------------------

def _head(page: str) -> tuple[int, str, int]:
    """(start, text, end) of the page's <head> contents ('' when it has none)."""
    m = re.search(r"<head\b[^>]*>(.*?)</head>", page, re.S | re.I)
    return (m.start(1), m.group(1), m.end(1)) if m else (0, "", 0)


CDN_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>\s*"       # require.js, MathJax
                        r"|<script\b[^>]*>(?:(?!</script>).)*?https?://(?:(?!</script>).)*</script>\s*"  # loaders
                        r"|<script\b[^>]*text/x-mathjax-config[^>]*>.*?</script>\s*"
                        r"|<!--\s*(?:Load mathjax|MathJax configuration|End of mathjax configuration)\s*-->\s*",
                        re.S | re.I)


STYLESHEET_LINK = re.compile(r"<link\b[^>]*\bhref=[\"']%s[\"'][^>]*>\s*" % re.escape(STYLESHEET), re.I)


def link_stylesheet(page: str) -> str:
    """The page with its head's <style> blocks replaced by one link to `report.css`, and the scripts
    nbconvert's stock template loads from CDNs (older renders) removed. Styles inside the body (a table's
    own) stay."""
    start, head, end = _head(page)
    if not head:
        return page
    # any link to the stylesheet, however a parser wrote its attributes, gives way to the one LINK
    light = STYLESHEET_LINK.sub("", CDN_SCRIPT.sub("", HEAD_STYLE.sub("", head)))
    light = light.rstrip() + "\n" + LINK + "\n"
    return page[:start] + light + page[end:]


# ---- a page's body: its tables' own styles, its code's highlighting ----------------------------------------

BODY_STYLE = re.compile(r"(<style\b[^>]*>)(.*?)(</style>)", re.S | re.I)
CLASS_ATTR = re.compile(r"\bclass\s*=\s*([\"'])(.*?)\1", re.S | re.I)
ID_ATTR = re.compile(r"\bid\s*=\s*([\"'])(.*?)\1", re.S | re.I)


def prune_body_styles(page: str) -> str:
    """The <style> blocks in a page's body (great_tables writes some 9 KB for each table, scoped by the
    table's id, most of it for parts the table does not have) less the rules that need a class or an id the
    page does not carry, squeezed (`prune_css`). The head is left to `link_stylesheet`."""
    start, head, end = _head(page)
    body_at = end if head else 0
    markup = BODY_STYLE.sub("", page[body_at:])
    classes = {c for m in CLASS_ATTR.finditer(markup) for c in m.group(2).split()}
    ids = {m.group(2) for m in ID_ATTR.finditer(markup)}

    def one(m):
        return m.group(1) + "\n" + prune_css(m.group(2), classes.__contains__, ids.__contains__) + m.group(3)
    return page[:body_at] + BODY_STYLE.sub(one, page[body_at:])


@functools.lru_cache(maxsize=1)
def _plain_tokens() -> frozenset:
    """The code-highlighting classes whose span changes nothing drawn: the token classes the stylesheet
    gives no rule under `.highlight` (a name, say), and whitespace (`w`: a colour on blanks)."""
    styled = set(re.findall(r"\.highlight \.([\w-]+)\{", stylesheet()))
    return frozenset((pygments_classes() - styled) | {"w"})


CODE_SPAN = re.compile(r'<span class="([\w-]+)">([^<]*)</span>')


def plain_code(page: str) -> str:
    """The page's highlighted code without the spans that draw nothing (`_plain_tokens`): their text
    stays, in the same colour; about a quarter of a page's code markup. Other spans are left alone."""
    plain = _plain_tokens()
    return CODE_SPAN.sub(lambda m: m.group(2) if m.group(1) in plain else m.group(0), page)


# ---- figures ----------------------------------------------------------------------------------------------

def _encode(im, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, **kw)
    return buf.getvalue()


def _psnr(a, b) -> float:
    import numpy as np
    mse = float(np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def compress_image(png: bytes) -> tuple[str, bytes]:
    """(mime type, bytes) of a PNG figure made small. A plot: its pixels, to a 256-colour palette when that
    reads them back within PALETTE_PSNR (exactly, for most plots), as the smaller of an optimised PNG and a
    lossless WebP. A photograph (the faces and plants galleries): lossy WebP at PHOTO_QUALITY, taken when
    under PHOTO_RATIO of that. Never larger than `png` (returned as given when nothing is smaller); the
    pixels' size is kept."""
    from PIL import Image
    try:
        im = Image.open(io.BytesIO(png))
        im.load()
    except Exception:  # not an image Pillow reads: left as it is
        return "image/png", png
    if im.mode == "P" or im.mode not in ("RGB", "RGBA", "L", "LA"):
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema()[0] == 255:
        im = im.convert("RGB" if im.mode == "RGBA" else "L")  # opaque: the alpha channel says nothing
    exact, best = im, ("image/png", _encode(im, format="PNG", optimize=True))
    if im.mode in ("RGB", "L"):
        pal = im.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        if _psnr(pal.convert(im.mode), im) >= PALETTE_PSNR:
            exact = pal.convert(im.mode)
            best = min(best, ("image/png", _encode(pal, format="PNG", optimize=True)), key=lambda c: len(c[1]))
    # lossless WebP of the same pixels: most plots a fifth smaller again. Effort 80 at method 4 is within 5%
    # of the encoder's best (quality 100, method 6) at a thirtieth of its time (0.1 s for a 900x370 gallery,
    # not 3.8 s): every new page of every render pays it
    best = min(best, ("image/webp", _encode(exact, format="WEBP", lossless=True, quality=80, method=4)),
               key=lambda c: len(c[1]))
    photo = _encode(im, format="WEBP", quality=PHOTO_QUALITY, method=4)
    if len(photo) < PHOTO_RATIO * len(best[1]):
        best = ("image/webp", photo)
    return best if len(best[1]) < len(png) else ("image/png", png)


def compress_data_uris(page: str) -> str:
    """Every PNG data URI of a page through `compress_image` (WebP and JPEG ones are left as they are)."""
    def one(m):
        mime, data = compress_image(base64.b64decode(re.sub(r"\s+", "", m.group(1))))
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return DATA_PNG.sub(one, page)


# ---- links to what is not committed ------------------------------------------------------------------------

ANCHOR = re.compile(r"<a\b([^>]*?)\bhref\s*=\s*([\"'])(.*?)\2([^>]*)>(.*?)</a>", re.S | re.I)


def unlink(page: str, pages=(), dirs=()) -> str:
    """The page with its links to `pages` (file names beside it) and into `dirs` (folder prefixes) made plain
    text, saying where the file is: those files are kept where the run ran, not committed."""
    pages, dirs = set(pages), tuple(dirs)
    if not pages and not dirs:
        return page

    def one(m):
        target = unquote(html_lib.unescape(m.group(3)).split("#")[0])
        if target in pages or (dirs and target.startswith(dirs)):
            return f"<span class=\"studylib-kept\" title=\"{publish.KEPT}\">{m.group(5)}</span>"
        return m.group(0)
    return ANCHOR.sub(one, page)


# The widgets' saved state: read only by the widget manager, which a report never loads (each widget shows
# its static fallback); `render.reader_notebook` drops it from new pages, older pages carry up to 90 KB of it
WIDGET_STATE = re.compile(r"<script\b[^>]*application/vnd\.jupyter\.widget-state\+json[^>]*>.*?</script>\s*",
                          re.S | re.I)


def lighten_html(page: str, pages=(), dirs=()) -> str:
    """One page made light, looking the same: the stylesheet linked, its tables' styles pruned, code spans
    that draw nothing dropped, the widgets' unread state dropped, figures compressed; links to `pages` and
    `dirs` (what its folder does not commit) made text. Applying it again changes nothing."""
    page = plain_code(prune_body_styles(link_stylesheet(WIDGET_STATE.sub("", page))))
    return unlink(compress_data_uris(page), pages, dirs)
