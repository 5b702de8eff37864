"""The scorecard page laid out answer first (notebook 06): the plain sentence with the verdict legend
beside it, a contents list, then a section per paper (what its claims share said once, one row per
claim, the long explanations folded), each technical term linked to its paragraph of docs/METHOD.md.
`report.scorecard` computes the rows; `scorecard_view` draws the tables; this module places them."""
from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

import pandas as pd
from IPython.display import HTML

from . import scorecard_view as view
from .landing import method_link, short_legend
from .tables import plain_summary, verdict_badge, verdict_word

__all__ = ["SECTIONS", "answer", "contents", "glossary", "paper_sections", "term_links"]

e = html.escape

# The page's sections after the papers' (notebook 06's "## " headings: nbconvert gives each heading an id
# of its words joined by "-"), listed in the contents.
SECTIONS = {"Per-class": "Per class", "Evidence-about-the-papers'-own-numbers": "Evidence about the papers' own numbers",
            "Data-checks": "Data checks", "Every-run-of-this-profile": "Every run of this profile",
            "The-words-this-page-uses": "The words this page uses"}
# What every claim row of a paper may share, said once above its table when it does (the row's "how it
# was tested" then leaves it out).
SHARED = {"stand-in": "Stand-in", "tested": "Tested at the", "paper's protocol": "The paper's protocol",
          "regime": "Regime"}
# Words the rows use, each linked to its paragraph of docs/METHOD.md (GitHub's heading anchors).
TERMS = {"crossed bootstrap": "crossed-bootstrap", "variance components": "variance-components",
         "80% power": "power-and-seeds-needed", "cannot resolve": "resolvability", "Holm": "holm",
         "budget-limited": "budget-flags", "indicative": "direct-and-indicative-verdicts",
         "stand-in": "direct-and-indicative-verdicts", "cap-bound": "budget-flags", "grid-edge": "budget-flags",
         "sensitivity rung": "several-regimes", "best on validation": "test-protocol",
         "final epoch": "test-protocol"}
TERM = re.compile("|".join(re.escape(t) for t in sorted(TERMS, key=len, reverse=True)))


def term_links(text_html: str, method: str) -> str:
    """`text_html` with each term of `TERMS` linked to its paragraph of the method document (outside tags
    and existing links only); as it is when there is no link to give."""
    if not method:
        return text_html
    # tags, links, verdict badges and style blocks are left as they are; the text between them is linked
    parts = re.split(r"(<a\b.*?</a>|<span class='verdict'.*?</span>|<style\b.*?</style>|<[^>]+>)", text_html, flags=re.S)
    link = lambda m: f"<a class='term' href='{e(method)}#{TERMS[m.group(0)]}'>{m.group(0)}</a>"  # noqa: E731
    return "".join(p if p.startswith("<") else TERM.sub(link, p) for p in parts)


def _method(results_dir) -> str:
    """The link from the page (beside `results_dir`) to docs/METHOD.md; '' without a results folder."""
    return method_link(Path(results_dir).parent) if results_dir else ""


def glossary(results_dir) -> HTML:
    """Every verdict word and the other words the tables use (`scorecard_view.legend`), terms linked."""
    return HTML(term_links(view.legend().data, _method(results_dir)))


def _paper_id(t: pd.DataFrame) -> pd.Series:
    return t["claim"].str.split(".").str[0]


def answer(card: pd.DataFrame, headline: str, judged: str, results_dir) -> HTML:
    """The page's answer: the plain sentence (`tables.plain_summary`) and the counts, with the verdict
    legend beside it, and where the rules are written."""
    method = _method(results_dir)
    rules = f" How a claim is judged: <a href='{e(method)}'>docs/METHOD.md</a>." if method else ""
    text = (f"<div style='flex:3 1 560px'><p style='font-size:125%;line-height:1.45;margin:.2em 0 .6em'>"
            f"{e(plain_summary(card.to_dict('records')))}</p><p style='color:#444'>{e(headline)} ({e(judged)}).{rules}</p></div>")
    legend = (f"<aside style='flex:2 1 360px;font-size:90%;background:#fafafa;border:1px solid #e3e3e3;"
              f"padding:.4em .8em'><b>How to read the verdicts</b>{short_legend()}</aside>")
    return HTML(f"<section id='answer' style='display:flex;gap:1.5em;flex-wrap:wrap;align-items:flex-start'>"
                f"{text}{legend}</section>")


def contents(card: pd.DataFrame) -> HTML:
    """A contents list: each paper's section with its verdicts counted in their colours, then the page's
    other sections."""
    items = []
    for paper, rows in card.groupby(card["paper"].astype(str), sort=True):
        counts = Counter(verdict_word(v) for v in rows["verdict"])
        badges = " ".join(f"{n} × {verdict_badge(w)}" for w, n in counts.most_common())
        items.append(f"<li><a href='#paper-{e(paper)}'>{e(view_title(paper))}</a> · {badges}</li>")
    items += [f"<li><a href='#{e(anchor)}'>{e(words)}</a></li>" for anchor, words in SECTIONS.items()]
    return HTML(f"<nav id='contents'><b>Contents</b><ol style='margin:.3em 0'>{''.join(items)}</ol></nav>")


def view_title(paper: str) -> str:
    from .scorecard import paper_title   # the one rule for a paper's label
    return paper_title(paper)


def _shared(rows: pd.DataFrame) -> dict[str, str]:
    """The `SHARED` fields every row of a paper has alike (and non-empty): said once above its table."""
    out = {}
    for col, label in SHARED.items():
        values = set(rows[col].astype(str))
        if len(values) == 1 and (value := values.pop()):
            out[col] = f"<b>{e(label)}</b> {e(value)}"
    return out


def paper_sections(t: pd.DataFrame, results_dir) -> HTML:
    """A section per paper (`<section id='paper-NNN'>`, its reference as the heading): what its claims share,
    said once, then its claims table (`scorecard_view.claims_gt`, the long explanations folded), terms linked
    to the method document."""
    method = _method(results_dir)
    parts = []
    for paper, rows in t.groupby(_paper_id(t), sort=True):
        said = _shared(rows)
        table = view.claims_gt(rows, grouped=False, said=set(said)).as_raw_html()
        shared = (f"<p class='sc-shared' style='color:#333'>{term_links(' · '.join(said.values()), method)}</p>"
                  if said else "")
        parts.append(f"<section id='paper-{e(paper)}'><h2>{e(rows['paper'].iloc[0])}</h2>{shared}"
                     f"{term_links(table, method)}</section>")
    return HTML("".join(parts))
