"""How the scorecard (notebook 06) looks: the legend, the forest plot, and great_tables renderings of the
tables `report.scorecard` builds (claims grouped by paper, per class, evidence, data checks, runs), and
the folded list of the records it read. Every function here takes what the scorecard computed and
returns something a notebook displays; nothing here judges.

great_tables is imported where a table is built, not with the module: every notebook imports `report`,
and a notebook that shows no scorecard table (05 on the GPU check's machine, whose kit leaves great_tables
and its 10 MB of locale data out: bench/gpu_kit.py) then runs without it."""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .tables import VERDICT_COLOURS, VERDICT_MEANINGS, verdict_badge, verdict_word

if TYPE_CHECKING:
    from great_tables import GT

__all__ = ["TERMS", "checks_gt", "claims_gt", "evidence_gt", "forest_plot", "is_missing", "legend", "number",
           "per_class", "records_html", "runs_gt", "seed_links"]

e = html.escape

# The words the page uses beside the verdicts (docs/METHOD.md), defined once, in the legend.
TERMS = {
    "margin": "declared in the paper's file before any run. A value claim matches when our interval lies inside "
              "the paper's figure ± margin (the band); an order claim needs A − B above its margin.",
    "ours (mean ± sd)": "the mean over seeds and the sd between seeds; for an order claim the difference A − B, "
                        "arm A minus arm B, seed by seed on the same test images.",
    "95% interval": "seeds and test images crossed (every seed scores the same images): a crossed bootstrap and "
                    "a variance-components t interval; the verdict uses the wider, named in the row.",
    "n": "the seeds pooled (a pipeline that gives the same predictions on every seed counts once); each seed "
         "links to its own report.",
    "indicative": "the verdict rests on a stand-in (another network or dataset), named in the row.",
    "budget-limited": "an inconclusive verdict that our budget, not the method, could decide: the losing arm is "
                      "cap-bound or at a grid edge.",
    "cap-bound, grid-edge": "flags on an arm: it chose the last epoch our cap allows (or was still improving), "
                            "or a learning rate at the edge of its grid.",
    "regime": "what we trained: input size, training images, epochs (the paper's), share of the network trained.",
    "resolution": "for a value claim, the interval from image noise alone (wider than the margin: no number of "
                  "seeds can give 'matches'); for an order claim, the smallest difference the design detects "
                  "with 80% power.",
    "Holm p": "the two-sided bootstrap p of A − B = 0, Holm-Bonferroni adjusted across the profile's order claims.",
}

_CSS = """
#{id} .gt_table {{ table-layout: fixed; }}
#{id} .gt_row {{ vertical-align: top; overflow-wrap: anywhere; line-height: 1.35; }}
#{id} .gt_col_heading {{ vertical-align: bottom; }}
#{id} .sc-sub {{ color: #555; font-size: 92%; margin-top: 3px; }}
#{id} .sc-sub code {{ font-size: 95%; }}
#{id} a.seed {{ padding: 0 2px; }}
#{id} tr:has(a:target) td {{ background: #fff6d5; }}
"""


def _gt(df: pd.DataFrame, table_id: str, widths: dict, html_cols=(), groupname_col: str | None = None,
        font: str = "13px") -> GT:
    """A great_tables table as every scorecard table looks: full width, fixed column widths, long text
    wrapping, cells aligned at the top; `html_cols` hold HTML this module built (shown as is)."""
    from great_tables import GT
    gt = GT(df, groupname_col=groupname_col, id=table_id, auto_align=False)
    if html_cols:
        gt = gt.fmt(lambda v: v, columns=list(html_cols))
    return (gt.cols_width(widths).cols_align("left").sub_missing(missing_text="")
            .tab_options(table_width="100%", table_font_size=font, data_row_padding="5px",
                         row_group_font_weight="bold", column_labels_font_weight="bold",
                         row_group_background_color="#f2f2f2")
            .opt_css(_CSS.format(id=table_id)))


def _sub(*parts: str) -> str:
    """Lines of small grey text under a cell's main figure (empty parts dropped)."""
    return "".join(f"<div class='sc-sub'>{p}</div>" for p in parts if p)


def _labelled(label: str, text: str) -> str:
    return f"<div class='sc-sub'><b>{e(label)}</b> {e(text)}</div>" if text else ""


def claims_gt(t: pd.DataFrame, grouped: bool = True, said=frozenset()) -> GT:
    """The claims table: one row per claim row of `report.scorecard.table`, grouped by paper (or, `grouped`
    false, one paper's rows under its own heading), in five wide columns (the claim, the paper's figure,
    ours, the verdict and its sentence, how it was tested: its flags in view, the rest folded). `said`: the
    fields the page said once above the table (`scorecard_page.SHARED`), left out of each row."""
    rows = []
    for _, r in t.sort_values("paper", kind="stable").iterrows():  # papers in order, claims as the registry has them
        where = f"<code>{e(r['claim'])}</code>" + (f" · run <code>{e(r['run'])}</code>" if r["run"] else "")
        stand_in = f"<i>stand-in:</i> {e(r['stand-in'])}" if r["stand-in"] and "stand-in" not in said else ""
        claim = f"<a id='{e(r['anchor'])}'></a><b>{e(r['what the paper says'])}</b>" + _sub(where, stand_in)
        same = " (the seeds' predictions are identical)" if r["deterministic"] and r["n"] == 1 else ""
        n = f"n = {r['n']}{same}" + (f" · seeds {r['seeds']}" if r["seeds"] else "") if r["n"] else ""
        interval = f"95% {e(r['95% interval'])}" + (f" ({e(r['interval method'])})" if r["interval method"] else "")
        ours = (f"<b>{e(r['ours'])}</b>" + _sub(e(r["arms"]), interval if r["95% interval"] else "", n,
                                                e(r["resolution"]))) if r["ours"] else _sub(e(r["arms"]))
        verdict = r["verdict"] + f"<div style='margin-top:4px'>{e(r['sentence'])}</div>"
        folded = "".join(_labelled(k, r[c]) for k, c in (
            ("Regime:", "regime"), ("Tested at the", "tested"),
            ("Other protocol (shown, not counted):", "other protocol (shown, not counted)"),
            ("The paper's protocol:", "paper's protocol"), ("Note:", "note"))
            if c not in said and (c != "note" or r["note"] not in r["sentence"]))  # a not-testable row's sentence says its note
        how = _labelled("Flags:", r["flags"]) + (
            f"<details><summary>how it was tested</summary>{folded}</details>" if folded else "")
        rows.append({"group": r["paper"], "claim": claim, "paper": e(r["paper's figure"]), "ours": ours,
                     "verdict": verdict, "how": how})
    df = pd.DataFrame(rows, columns=["group", "claim", "paper", "ours", "verdict", "how"])
    if not grouped:
        df = df.drop(columns="group")
    table_id = "scorecard" if grouped else f"scorecard-{t['claim'].iloc[0].split('.')[0]}"
    return (_gt(df, table_id, {"claim": "21%", "paper": "10%", "ours": "18%", "verdict": "31%", "how": "20%"},
                ["claim", "paper", "ours", "verdict", "how"], groupname_col="group" if grouped else None)
            .cols_label(claim="Claim (the paper's words)", paper="Paper's figure ± margin",
                        ours="Ours: mean ± sd over seeds", verdict="Verdict, and why", how="How it was tested"))


def legend() -> HTML:
    """Every verdict word in its badge colour with what it means (tables.VERDICT_MEANINGS), then the other
    words the page uses (TERMS): two columns of definitions, near the top of the page."""
    def grid(title, items):
        rows = "".join(f"<div style='white-space:nowrap'>{k}</div><div>{e(m)}</div>" for k, m in items)
        return (f"<div style='flex:1 1 420px'><div style='font-weight:bold;margin-bottom:4px'>{title}</div>"
                f"<div style='display:grid;grid-template-columns:max-content 1fr;gap:3px 10px'>{rows}</div></div>")
    words = grid("The verdict words", [(verdict_badge(v), m) for v, m in VERDICT_MEANINGS.items()])
    terms = grid("The other words", [(f"<b>{e(k)}</b>", m) for k, m in TERMS.items()])
    return HTML("<div class='sc-legend' style='display:flex;flex-wrap:wrap;gap:8px 28px;font-size:13px;"
                f"line-height:1.35;text-align:left'>{words}{terms}</div>")


def _short(claim: str, limit: int = 58) -> str:
    """A claim's words cut to fit a forest plot's row label."""
    return claim if len(claim) <= limit else claim[:limit - 1].rsplit(" ", 1)[0] + "…"


def forest_plot(card: pd.DataFrame) -> Figure | None:
    """Each measured claim's estimate and 95% interval, the seeds as dots, coloured by its verdict: values
    against the paper's figure ± margin (the band, above), orders as A − B against zero (below); the
    verdict written at the right. A wide figure, shown at the page's full width."""
    if "estimate" not in card or not card["estimate"].notna().any():
        return None
    tested = card[card["estimate"].notna()]
    kinds = [k for k in ("value", "order") if (tested["kind"] == k).any()]
    parts = {k: tested[tested["kind"] == k].reset_index(drop=True) for k in kinds}
    runs_of = tested.groupby("id")["run"].nunique()
    fig, axes = plt.subplots(len(kinds), 1, figsize=(15, 1.4 * len(kinds) + 0.5 * len(tested)), squeeze=False,
                             height_ratios=[len(parts[k]) + 1.5 for k in kinds], layout="constrained")
    for ax, kind in zip(axes.flat, kinds):
        part = parts[kind]
        for i, r in part.iterrows():
            colour = VERDICT_COLOURS[verdict_word(r.get("verdict"))][0]
            if kind == "value":
                ax.add_patch(plt.Rectangle((r["paper_value"] - r["margin"], i - 0.32), 2 * r["margin"], 0.64,
                                           color="#4daf4a", alpha=0.22, lw=0, label="paper's figure ± margin"))
                ax.plot(r["paper_value"], i, "|", color="#2e7d32", ms=16, mew=2, label="paper's figure")
            if isinstance(r.get("ci"), (list, tuple)) and len(r["ci"]) == 2:
                ax.plot(r["ci"], [i, i], color="#333333", lw=2, label="95% interval")
            seeds = list(r.get("seeds") or [])
            ax.plot(seeds, [i] * len(seeds), "o", ms=4, color="#7f7f7f", alpha=0.8, label="seeds")
            ax.plot(r["estimate"], i, "D", ms=9, color=colour, mec="#333333", label="ours (mean over seeds)")
            word = str(r.get("verdict") or "") + ("" if is_missing(r.get("budget_limited")) else " · budget-limited")
            ax.annotate(word, (1.005, i), xycoords=("axes fraction", "data"), va="center", fontsize=10,
                        color="#222222", bbox=dict(boxstyle="round,pad=0.2", fc=colour, alpha=0.35, lw=0))
        if kind == "order":
            ax.axvline(0, color="#555555", lw=1, ls="--", label="zero (no difference)")
        # each row says its claim in short words; its id (and run, for a claim judged on several) in small type
        # under it, so a reader reads claims and can still find the row in the tables
        rung = part["sensitivity"].fillna(False).astype(bool) if "sensitivity" in part else [False] * len(part)
        labels = [_short(f"{p}: {c}") + (" · sensitivity rung" if r else "")
                  for p, c, r in zip(part["paper"], part["claim"], rung)]
        ax.set_yticks(range(len(part)), labels, fontsize=10.5)
        for i, (cid, run) in enumerate(zip(part["id"], part["run"])):
            small = f"{cid} · {run}" if runs_of.get(cid, 1) > 1 and run else cid
            ax.annotate(small, (0, i + 0.38), xycoords=("axes fraction", "data"), xytext=(-7, 0),
                        textcoords="offset points", ha="right", va="center", fontsize=7.5, color="#777777",
                        annotation_clip=False)
        ax.set_ylim(len(part) - 0.5, -0.5)
        ax.grid(axis="x", alpha=0.3)
        ax.set_title("Value claims: ours against the paper's figure ± margin" if kind == "value" else
                     "Order claims: A − B per seed, against zero", loc="left", fontsize=12)
        ax.set_xlabel("the claim's metric (accuracy, F1 or precision, as the claim says)" if kind == "value"
                      else "A − B in the claim's metric", fontsize=10)
    handles = {lab: h for ax in axes.flat for h, lab in zip(*ax.get_legend_handles_labels())}
    handles["ours (mean over seeds)"] = Line2D([], [], marker="D", ms=9, ls="", color="white", mec="#333333")
    fig.legend(handles.values(), handles.keys(), loc="outside upper center", ncol=len(handles), fontsize=10,
               frameon=False)
    return fig


def per_class(card: pd.DataFrame) -> HTML | None:
    """Per-class results over seeds of the macro and weighted claims (docs/METHOD.md, What a scorecard row shows): one small table
    a run (the claims it serves named above it), a row a class, a column an arm and metric ("mean ± sd"),
    side by side; None when no claim has them."""
    groups: dict[str, dict] = {}
    for _, r in card.iterrows():
        if not isinstance(r.get("per_class"), dict) or not r["per_class"]:
            continue
        g = groups.setdefault(r["run"], {"claims": [], "columns": {}})
        g["claims"].append(r["id"])
        metric = r["metric"].split("_")[0].replace("f1", "F1")
        for a, classes in r["per_class"].items():
            column = f"{(r.get('arm_labels') or {}).get(a, a)} · {metric}"
            g["columns"].setdefault(column, {c: f"{m:.3f} ± {sd:.3f}" for c, (m, sd) in classes.items()})
    if not groups:
        return None
    tables = []
    for k, (run, g) in enumerate(groups.items()):
        df = pd.DataFrame(g["columns"]).rename_axis("class").reset_index()
        gt = (_gt(df, f"per-class-{k}", {c: f"{100 // len(df.columns)}%" for c in df.columns}, font="12px")
              .tab_header(title=run, subtitle="mean ± sd over seeds · " + ", ".join(g["claims"])))
        tables.append(f"<div style='flex:1 1 400px;min-width:0'>{gt.as_raw_html()}</div>")
    return HTML(f"<div style='display:flex;flex-wrap:wrap;gap:0 16px'>{''.join(tables)}</div>")


def evidence_gt(evidence: pd.DataFrame, anchors: dict) -> GT:
    """The computed checks of the papers' own figures (`scorecard.evidence`), each linked to the claims it
    bears on (`anchors`: {claim id: its row's HTML id})."""
    df = evidence[["paper", "about", "check", "computed", "found", "quote"]].copy()
    df["about"] = [", ".join(f"<a href='#{e(anchors[c])}'>{e(c)}</a>" if c in anchors else e(c)
                             for c in str(about).split(", ")) for about in df["about"]]
    df["found"] = df["found"].map({True: "yes", False: "no"})
    return (_gt(df, "evidence", {"paper": "6%", "about": "16%", "check": "22%", "computed": "26%", "found": "6%",
                                 "quote": "24%"}, ["about"], font="12px")
            .cols_label(paper="Paper", about="Bears on", check="Whether the paper's own figures…",
                        computed="Computed", found="Found", quote="The paper's words"))


def is_missing(x) -> bool:
    """None, NaN, or an empty string: nothing to show (a DataFrame turns a row's None into NaN)."""
    return x is None or (isinstance(x, str) and x == "") or (isinstance(x, float) and x != x)


def number(x) -> str:
    """A data check's figure: a count as an integer, a rate with 3 decimals ('' when there is none)."""
    if is_missing(x):
        return ""
    x = float(x)
    return f"{int(x):,}" if x.is_integer() else f"{x:.3f}" if abs(x) >= 0.001 else f"{x:g}"


def checks_gt(checks: pd.DataFrame) -> GT:
    """The data checks (`scorecard.evaluate`'s second frame): the documented figure, ours, the margin, the
    verdict; counts as integers, p only where a check has one."""
    df = pd.DataFrame({"check": checks["claim"], "documented": checks["paper_value"].map(number),
                       "ours": checks["estimate"].map(number), "margin": checks["margin"].map(number),
                       "verdict": [verdict_badge(v) for v in checks["verdict"]],
                       "note": checks["note"].fillna("") if "note" in checks else ""})
    df = df.drop(columns=[] if df["note"].astype(bool).any() else ["note"])
    if "p" in checks and checks["p"].notna().any():
        df.insert(5, "p", checks["p"].map(lambda p: "" if is_missing(p) else f"{p:.3f}"))
    widths = {"check": "40%", "documented": "11%", "ours": "11%", "margin": "9%", "verdict": "11%", "p": "6%",
              "note": "18%"}
    return _gt(df, "data-checks", {c: widths[c] for c in df.columns}, ["verdict"])


def seed_links(tasks: list[tuple]) -> str:
    """Seeds as links to their reports (`<task>.html`, beside the scorecard's); tasks: [(seed, task)]."""
    return " ".join(f"<a class='seed' href='{e(t)}.html' title='the report of {e(t)}'>"
                    f"{e(str(t if is_missing(s) else int(s)))}</a>" for s, t in tasks)


def runs_gt(runs: pd.DataFrame) -> GT:
    """Every run record's headline (`scorecard.headlines`), grouped by run, each seed linked to its report."""
    df = pd.DataFrame({"run": [f"{n} (paper {p})" for n, p in zip(runs["run name"], runs["paper"])],
                       "seed": [seed_links([(s, t)]) for s, t in zip(runs["seed"], runs["run"])],
                       "headline": runs["headline"], "weights": runs["weights"],
                       "wall time": [f"{s:,} s" for s in runs["wall time s"]]})
    return _gt(df, "runs", {"seed": "8%", "headline": "56%", "weights": "24%", "wall time": "12%"}, ["seed"],
               groupname_col="run", font="12px")


def records_html(read: pd.DataFrame, judged: str) -> HTML:
    """The records the scorecard read (`scorecard.records_read`), folded: each record (results/<file>) and
    its report linked, with its run, seed, commit and sha256; `judged` says which code judged them."""
    df = pd.DataFrame({"record": [f"<a href='results/{e(f)}'>results/{e(f)}</a>" for f in read["file"]],
                       "report": [f"<a href='{e(t)}.html'>report</a>" for t in read["task"]],
                       "run": read["run"], "seed": read["seed"].map(lambda s: "" if is_missing(s) else str(int(s))),
                       "commit": read["commit"], "sha256": [f"<code>{e(h)}…</code>" for h in read["record sha256"]]})
    n = read["commit"].nunique()
    summary = (f"The {len(read)} records this scorecard read ({'one commit' if n == 1 else f'{n} commits'}): "
               f"{judged}")
    table = _gt(df, "records", {"record": "36%", "report": "9%", "run": "25%", "seed": "6%", "commit": "11%",
                                "sha256": "13%"}, ["record", "report", "sha256"], font="12px").as_raw_html()
    return HTML(f"<details id='records'><summary>{e(summary)}</summary>{table}</details>")
