"""The curves render's answers, first: two pictures and their sentences for the landing page.

A reader of `reports/curves/index.html` asks two things before any table: how much to fine-tune (training
only the last block, or the last two, minus training everything) and when pretraining pays (everything
pretrained minus everything from random init). Each is drawn as the difference in test macro F1 against
training-set size, one small panel per dataset (small multiples: the datasets' ladders differ), each point
with its 95% interval as an error bar and zero marked.

Everything comes from the curves tasks' summary records (`metrics.partial_vs_full`, `metrics.pretraining`:
`report.curves.difference_table`'s rows, intervals `crossed_bootstrap`'s); nothing is trained or resampled.
`report.curves_words.summary_sentences` needs the points' per-image predictions (it bootstraps again), so
the sentences here are a thin function of the record's rows (`difference_sentence`): an order only where the interval excludes zero.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import matplotlib.pyplot as plt

from .curves import FULL, METRICS, NOTEBOOK, PARTIAL, RANDOM, _colours, _n, _size_axis
from .lighten import compress_image
from .widgets import figure_png

__all__ = ["ANSWERS", "answer_figures", "answer_section", "answer_sentences", "difference_sentence", "summary_records"]

METRIC = METRICS["f1_macro"]  # paper 004 stresses macro metrics; the curves' summary sentences use it too
# Each answer: its title, the summary record's table, the differences drawn (as `difference_table` names
# them), the words for an interval above zero, below it, and the difference's name ({a}, {b}: its scopes),
# and the y axis's name (which side of zero is which: above, the first scope wins)
ANSWERS = (
    ("How much to fine-tune: training only the last block(s) minus training everything", "partial_vs_full",
     tuple(f"{a} − {FULL}" for a in PARTIAL),
     ("training only the {a} scores above training {b}", "training only the {a} scores below training {b}",
      "training only the {a} minus training {b}"), "fewer blocks trained − everything"),
    ("When pretraining pays: everything pretrained minus everything from random init", "pretraining",
     (f"{FULL} − {RANDOM}",), (f"pretraining raises {METRIC}", f"pretraining lowers {METRIC}", "pretrained minus random init"),
     "pretrained − random init"),
)
FONT = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 11,
        "ytick.labelsize": 11, "legend.fontsize": 11}
DPI = 100  # 12 inches: 1,200 px, shown 1:1 on the index's 1,300 px page, so 11 pt stays 11 pt


def summary_records(results_dir) -> list[tuple[Path, dict]]:
    """(path, record) of each curves summary record in the folder, by name. A seed's task of one scope
    ('<run>--scope=...--seedN') holds points only, and its records are not read at all."""
    folder = Path(results_dir)
    out = []
    for path in sorted(folder.glob(f"{NOTEBOOK}-*.json")) if folder.is_dir() else []:
        if "--" in path.stem:
            continue
        rec = json.loads(path.read_text(encoding="utf-8"))
        metrics = rec.get("metrics") or {}
        if rec.get("notebook") == NOTEBOOK and any(metrics.get(a[1]) for a in ANSWERS):
            out.append((path, rec))
    return out


def _rows(rec: dict, table: str, difference: str) -> list[dict]:
    """The macro-F1 rows of one difference in a record's table (a list of `difference_table`s), by size."""
    rows = [r for t in (rec.get("metrics") or {}).get(table) or [] for r in t
            if r.get("difference") == difference and r.get("metric") in (METRIC, "f1_macro")]
    return sorted(rows, key=lambda r: r["training images"])


def _dataset(rec: dict) -> str:
    """The record's dataset as its rows name it ('FER2013 (48 px)')."""
    for _, table, *_ in ANSWERS:
        for rows in (rec.get("metrics") or {}).get(table) or []:
            for r in rows:
                return r["dataset"]
    return rec.get("run_name", "?")


def _said(r: dict) -> str:
    return f"{r['estimate']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]".replace("-", "−")


def _each(rows: list[dict]) -> str:
    said = [f"{_n(r['training images'])} images ({_said(r)})" for r in rows]
    return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]


def difference_sentence(rows: list[dict], above: str, below: str, name: str) -> str:
    """One difference (`name`) at each size, from its rows: where the 95% interval lies above zero (`above`'s
    words) or below (`below`'s), each size with its estimate [interval]; any other size only as 'cannot be
    told from zero' with its seeds. Never more: an interval that includes zero shows no order, not 'no gain'."""
    up = [r for r in rows if r["low"] > 0]
    down = [r for r in rows if r["high"] < 0]
    unclear = [r for r in rows if r not in up and r not in down]
    parts = [f"{words} {'at every size measured: ' if len(got) == len(rows) else 'at '}{_each(got)}"
             for words, got in ((above, up), (below, down)) if got]
    if unclear:
        seeds = sorted({int(r.get("seeds") or 0) for r in unclear})
        k = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]} to {seeds[-1]}"
        parts.append(f"at {_each(unclear)} the difference cannot be told from zero with {k} seeds" if parts else
                     f"{name} cannot be told from zero at any size measured with {k} seeds: {_each(unclear)}")
    return "; ".join(parts)


def answer_sentences(results_dir) -> list[tuple[str, dict[str, str]]]:
    """[(answer title, {dataset: its sentences})], from the summary records; [] when there are none."""
    recs, out = summary_records(results_dir), []
    for title, table, diffs, words, _ in ANSWERS:
        per = {}
        for _, rec in recs:
            said = []
            for d in diffs:
                a, b = d.split(" − ")
                if rows := _rows(rec, table, d):
                    said.append(difference_sentence(rows, *(w.format(a=a, b=b) for w in words)))
            if said:
                per[_dataset(rec)] = " ".join(s[0].upper() + s[1:] + "." for s in said)
        if per:
            out.append((title, per))
    return out


def _panel(ax, rec: dict, table: str, diffs: tuple, colours: dict) -> None:
    """One dataset's differences: estimate and 95% interval as an error bar at each size, the series nudged
    apart on the log axis so that their bars do not overlap, zero dashed (above it the first scope wins)."""
    sizes = set()
    for i, d in enumerate(diffs):
        rows = _rows(rec, table, d)
        nudge = 1.07 ** (i - (len(diffs) - 1) / 2)
        est = [r["estimate"] for r in rows]
        ax.errorbar([r["training images"] * nudge for r in rows], est, capsize=4, marker="o", markersize=6,
                    yerr=[[e - r["low"] for e, r in zip(est, rows)], [r["high"] - e for e, r in zip(est, rows)]],
                    color=colours[d.split(" − ")[0]], linewidth=1.5, label=d)
        sizes |= {r["training images"] for r in rows}
    ax.axhline(0, color="black", linewidth=1, linestyle="--")
    _size_axis(ax, sizes)
    ax.set_title(_dataset(rec))


def _figure_png(recs: list[dict], table: str, diffs: tuple, axis: str) -> bytes:
    """The answer's picture as PNG bytes; saved inside the fonts' context: ticks made at draw time read it."""
    with plt.rc_context(FONT):
        fig, axes = plt.subplots(1, len(recs), figsize=(12, 3.9), dpi=DPI, sharey=True, layout="constrained",
                                 squeeze=False)
        colours = _colours([d.split(" − ")[0] for d in diffs])
        for ax, rec in zip(axes[0], recs):
            _panel(ax, rec, table, diffs, colours)
        axes[0][0].set_ylabel(f"{axis}\n(test {METRIC})")
        if len(diffs) > 1:
            fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside upper center", ncol=len(diffs))
        return figure_png(fig, dpi=DPI)


def answer_figures(results_dir) -> list[tuple[str, str]]:
    """[(answer title, data URI of its picture)], one panel per dataset with a summary record, compressed as
    every report figure is (`lighten.compress_image`: PNG or lossless WebP); [] when there are no records."""
    recs, out = [rec for _, rec in summary_records(results_dir)], []
    for title, table, diffs, _, axis in ANSWERS:
        having = [rec for rec in recs if any(_rows(rec, table, d) for d in diffs)]
        if having:
            mime, data = compress_image(_figure_png(having, table, diffs, axis))
            out.append((title, f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"))
    return out


def _links(results_dir, page_links: dict[str, str] | None) -> dict[str, str]:
    """{text: href}: those given, else each summary record's page present beside the results folder."""
    if page_links is not None:
        return page_links
    out = {}
    for path, rec in summary_records(results_dir):
        if (path.parent.parent / f"{path.stem}.html").is_file():
            out[f"{_dataset(rec)}: every curve, difference and table"] = f"{path.stem}.html"
    return out


def answer_section(results_dir, page_links: dict[str, str] | None = None) -> str:
    """The landing page's answers: per answer a heading, its picture and each dataset's sentences, then links
    to the summary pages (`page_links` {text: href}, else those in the folder). '' without summary records
    (a partial render: the seeds' tasks have not all ended)."""
    figures, sentences = dict(answer_figures(results_dir)), dict(answer_sentences(results_dir))
    if not figures:
        return ""
    e, parts = html.escape, ["<section id='answer' class='curves-answer'>"]
    for title, uri in figures.items():
        names = ", ".join(sentences.get(title, {}))
        alt = (f"{title}: the difference in test {METRIC} against training-set size (log scale), one panel per "
               f"dataset ({names}), each point with its 95% interval as an error bar; zero dashed")
        parts += [f"<h2>{e(title)}</h2>", f"<figure><img src='{uri}' alt='{e(alt)}' "
                  "style='max-width:100%;height:auto;display:block'></figure>"]
        parts += [f"<p><b>{e(ds)}</b>: {e(s)}</p>" for ds, s in sentences.get(title, {}).items()]
    parts.append(f"<p class='source'>Test {METRIC}, 95% intervals over seeds and test images, from the curves "
                 "tasks' summary records.</p>")
    if links := _links(results_dir, page_links):
        parts.append("<ul class='answer-pages'>" + "".join(f"<li><a href='{e(h)}'>{e(t)}</a></li>"
                                                            for t, h in links.items()) + "</ul>")
    return "\n".join(parts + ["</section>"])
