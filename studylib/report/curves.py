"""Notebook 08's tables and plots (claim-free): test scores against training-set size, one curve per scope.

Every interval here is `study.stats.crossed_bootstrap`'s (the scorecard's): seeds and test images crossed,
one vector of test images per resample shared by every seed and, for a difference, by both scopes (each
seed scores the same test images); the wider of the bootstrap and variance-components intervals. Curves
are drawn as rliable draws them: the point estimate as a line, its 95% interval as a band, the training
images on a log axis, one colour per scope, zero marked on the differences.

The points come from `study.curves.train_points` (a task) or from a results folder's records
(`points_from_records`: every notebook-08 record's points and per-image predictions, each point once).
Their words (and the README's section) are `report.curves_words`; the cpu profile beside them is
`report.curves_agreement`.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from ..study import budget
from ..study.curves import CURVE_KEYS
from ..study.experiments import EXPERIMENTS
from ..study.stats import crossed_bootstrap
from . import records

__all__ = ["METRICS", "ROLES", "curve_table", "difference_plot", "difference_table", "difference_view",
           "flags_of", "ladder_table", "points_from_records", "role", "show", "size_curves", "table_view"]

NOTEBOOK = "08_curves"
METRICS = {"accuracy": "accuracy", "f1_macro": "macro F1"}
# The scopes' roles, in the order curves list them: what each trains, whatever a profile names its arms; the
# probe's, everything's and random init's are the notebook's own arm labels (study.experiments, by id)
_LABELS = {a.id: a.name for a in EXPERIMENTS[NOTEBOOK]().arms}
ROLES = (_LABELS["probe"], "last block", "last two blocks", _LABELS["everything"], _LABELS["random_init"])
PARTIAL, FULL, RANDOM = ROLES[1:3], ROLES[3], ROLES[4]
DATASET_NAMES = {"fer2013": "FER2013", "plants": "Plant Seedlings", "deepweeds": "DeepWeeds"}
N_BOOT = 2000


def role(point: dict) -> str:
    """What a point's scope trains, as the curves name it (`ROLES`); else its arm's name."""
    if point.get("scope") == "head":
        return ROLES[0]
    if point.get("scope") == "freeze_to" and point.get("freeze_to") in (-1, -2):
        return ROLES[1] if point["freeze_to"] == -1 else ROLES[2]
    if point.get("scope") == "all":
        return FULL if point.get("pretrained", True) else RANDOM
    return point.get("name") or point.get("arm", "?")


def _colours(roles) -> dict:
    """One colour per scope, the same in every figure (seaborn's colour-blind palette: probe blue, last block
    green, last two blocks brown, everything vermillion, random init grey; others the rest)."""
    palette = sns.color_palette("colorblind", 10)
    known = dict(zip(ROLES, (palette[0], palette[2], palette[5], palette[3], palette[7])))
    extra = iter([palette[i] for i in (1, 4, 6, 8, 9)])
    return {r: known.get(r) or next(extra, "black") for r in roles}


def _dataset(point: dict) -> str:
    return f"{DATASET_NAMES.get(point['dataset'], point['dataset'])} ({point['input']} px)"


def _n(n) -> str:
    return f"{int(n):,}"


# --- the points -------------------------------------------------------------------------------------------------

def points_from_records(results_dir, notebook: str = NOTEBOOK) -> list[dict]:
    """Every point of the notebook's records under results_dir (each point once: a seed's task and the curves
    task record the same point), with its per-image test predictions (the record's .npz, sha256 checked)."""
    out = {}
    folder = Path(results_dir)
    if not folder.is_dir():
        return []
    for path, rec in records.iter_records(folder, "*.json"):
        if rec.get("notebook") != notebook:
            continue
        entries = (rec.get("metrics") or {}).get("points") or {}
        preds = records.read_predictions(path, rec) if rec.get("predictions") else {}
        for label, entry in entries.items():
            curve = entry.get("curve") or {}
            key = tuple(curve.get(k) for k in ("dataset", "input", "n", "arm", "seed"))
            if key in out or not curve:
                continue
            got = {proto: per[label] for proto, per in preds.items() if label in per}
            if got:
                out[key] = {**{k: curve.get(k) for k in CURVE_KEYS}, "entry": entry,
                            "predictions": {proto: (t, p, None) for proto, (t, p) in got.items()}}
    return list(out.values())


def _groups(points: list[dict]) -> dict:
    """{(dataset label, n, role): [points by seed]}."""
    out = {}
    for q in sorted(points, key=lambda q: q["seed"]):
        out.setdefault((_dataset(q), q["n"], role(q)), []).append(q)
    return out


def _pairs(group: list[dict], protocol: str) -> list[tuple]:
    return [tuple(q["predictions"][protocol][:2]) for q in group]


def flags_of(group: list[dict], protocol: str = "best") -> str:
    """The budget flags of a curve point over its seeds (`study.budget`: cap-bound, grid-edge); '' when none."""
    return "; ".join(budget.arm_flags([q["entry"] for q in group], None, protocol))


def curve_table(points: list[dict], metrics=tuple(METRICS), protocol: str = "best", n_boot: int = N_BOOT) -> pd.DataFrame:
    """One row per (dataset, training images, scope, metric): the mean over seeds and its 95% interval
    (`crossed_bootstrap`), the seeds, the rate and the budget flags. Sorted by dataset, scope (ROLES order), size."""
    rows = []
    for (ds, n, r), group in _groups(points).items():
        pairs = _pairs(group, protocol)
        for metric in metrics:
            b = crossed_bootstrap(pairs, metric, n_boot=n_boot, seed=0)
            rows.append({"dataset": ds, "scope": r, "training images": n, "share of split": n / (group[0].get("of") or n),
                         "metric": METRICS.get(metric, metric), "estimate": b["estimate"], "low": b["ci"][0],
                         "high": b["ci"][1], "interval": b["interval"], "seeds": len(group),
                         "rate": ", ".join(sorted({f"{q['lr']:g}" for q in group if q.get("lr") is not None})),
                         "rate chosen at": group[0].get("rate_from"), "flags": flags_of(group, protocol)})
    df = pd.DataFrame(rows)
    if len(df):
        order = {r: i for i, r in enumerate(ROLES)}
        df = df.sort_values(["dataset", "metric", "scope", "training images"],
                            key=lambda c: c.map(order).fillna(99) if c.name == "scope" else c).reset_index(drop=True)
    return df


def difference_table(points: list[dict], a: str, b: str, metrics=tuple(METRICS), protocol: str = "best",
                     n_boot: int = N_BOOT) -> pd.DataFrame:
    """One row per (dataset, training images, metric) where both scopes ran on the same seeds: the mean
    paired difference a - b over seeds and its 95% interval (`crossed_bootstrap(..., paired_with=...)`), on
    how many seeds a won, and the order the interval shows ('a > b', 'a < b' or 'no order')."""
    groups, rows = _groups(points), []
    for (ds, n, r), group_a in groups.items():
        group_b = groups.get((ds, n, b))
        if r != a or not group_b:
            continue
        seeds = sorted({q["seed"] for q in group_a} & {q["seed"] for q in group_b})
        if not seeds:
            continue
        pa = _pairs([q for q in group_a if q["seed"] in seeds], protocol)
        pb = _pairs([q for q in group_b if q["seed"] in seeds], protocol)
        for metric in metrics:
            d = crossed_bootstrap(pa, metric, n_boot=n_boot, seed=0, paired_with=pb)
            lo, hi = d["ci"]
            rows.append({"dataset": ds, "difference": f"{a} − {b}", "training images": n,
                         "metric": METRICS.get(metric, metric), "estimate": d["estimate"], "low": lo, "high": hi,
                         "interval": d["interval"], "seeds": d["n_given"],
                         "wins": f"{int((np.asarray(d['per_seed']) > 0).sum())}/{d['n']}",
                         "order": f"{a} > {b}" if lo > 0 else f"{a} < {b}" if hi < 0 else "no order"})
    df = pd.DataFrame(rows)
    return df.sort_values(["dataset", "metric", "training images"]).reset_index(drop=True) if len(df) else df


# --- the figures ------------------------------------------------------------------------------------------------

def _size_axis(ax, sizes) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(sorted(sizes)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([_n(n) for n in sorted(sizes)])
    ax.set_xlabel("training images (log scale)")
    ax.grid(True, alpha=0.3)


def size_curves(table: pd.DataFrame, title: str = "") -> Figure | None:
    """Accuracy and macro F1 against training-set size as small multiples: a row per metric, a panel per
    scope with its mean over seeds, its 95% band and error bars, the other scopes thin and grey behind it
    (five bands in one panel hid each other). None when the table is empty."""
    if table is None or not len(table):
        return None
    metrics, scopes = list(dict.fromkeys(table["metric"])), list(dict.fromkeys(table["scope"]))
    fig, axes = plt.subplots(len(metrics), len(scopes), figsize=(2.9 * len(scopes), 2.9 * len(metrics)),
                             layout="constrained", squeeze=False, sharey="row", sharex=True)
    colours = _colours(scopes)
    for row, metric in zip(axes, metrics):
        part = table[table["metric"] == metric]
        for ax, scope in zip(row, scopes):
            for other, rows in part.groupby("scope", sort=False):
                rows = rows.sort_values("training images")
                if other != scope:
                    ax.plot(rows["training images"], rows["estimate"], color="#bbbbbb", linewidth=1)
            rows = part[part["scope"] == scope].sort_values("training images")
            lo, hi = rows["low"].clip(0, 1), rows["high"].clip(0, 1)  # the band within the metric's range
            ax.fill_between(rows["training images"], lo, hi, color=colours[scope], alpha=0.25, linewidth=0)
            ax.errorbar(rows["training images"], rows["estimate"], yerr=[rows["estimate"] - lo, hi - rows["estimate"]],
                        color=colours[scope], marker="o", markersize=5, capsize=3, linewidth=2)
            _size_axis(ax, part["training images"].unique())
            ax.set_title(scope, fontsize=12, color=colours[scope])
            ax.tick_params(labelsize=10)
            ax.set_xlabel("training images (log scale)" if row is axes[-1] and ax is row[len(scopes) // 2] else "",
                          fontsize=11)
        row[0].set_ylabel(f"test {metric}", fontsize=12)
    fig.suptitle((title or ", ".join(dict.fromkeys(table["dataset"])))
                 + ": mean over seeds, 95% band; the other scopes in grey", fontsize=13)
    return fig


def difference_plot(tables: list[pd.DataFrame], title: str = "") -> Figure | None:
    """Paired differences against training-set size, one line per difference (its band the 95% interval),
    one panel per metric, zero marked: above zero the first scope wins. None when every table is empty."""
    tables = [t for t in tables if t is not None and len(t)]
    if not tables:
        return None
    both = pd.concat(tables)
    metrics = list(dict.fromkeys(both["metric"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.6), layout="constrained", squeeze=False)
    colours = _colours([d.split(" − ")[0] for d in dict.fromkeys(both["difference"])])
    for ax, metric in zip(axes[0], metrics):
        part = both[both["metric"] == metric]
        for diff, rows in part.groupby("difference", sort=False):
            rows = rows.sort_values("training images")
            c = colours[diff.split(" − ")[0]]
            ax.plot(rows["training images"], rows["estimate"], marker="o", markersize=4, color=c, label=diff)
            ax.fill_between(rows["training images"], rows["low"].clip(-1, 1), rows["high"].clip(-1, 1), color=c,
                            alpha=0.2, linewidth=0)
        ax.axhline(0, color="black", linewidth=1, linestyle="--")
        _size_axis(ax, part["training images"].unique())
        ax.set_ylabel(f"difference in test {metric}")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title)
    return fig


def show(obj, empty: str = "") -> None:
    """Display a figure (closed after: it is shown once) or a table; `empty` (a sentence) when there is none."""
    if obj is None or (isinstance(obj, pd.DataFrame) and not len(obj)):
        if empty:
            display(Markdown(empty))
        return
    display(obj)  # cells whole: `Run.start` lifts pandas' 50-character cut for every report
    if isinstance(obj, Figure):
        plt.close(obj)


# --- what the task shows --------------------------------------------------------------------------------------------

def ladder_table(rungs: dict, train) -> pd.DataFrame:
    """The ladder: each rung's images, its share of the training split, each class's count (the split's on the
    last row: stratified, each class keeps its share), and whether the rung lies inside the next larger one."""
    sizes = sorted(rungs)
    rows = []
    for i, n in enumerate(sizes):
        ids = set(np.asarray(rungs[n].ids).tolist())
        inside = "✔" if i + 1 == len(sizes) or ids <= set(np.asarray(rungs[sizes[i + 1]].ids).tolist()) else "✘"
        counts = np.bincount(rungs[n].labels, minlength=train.num_classes)
        rows.append({"training images": _n(len(rungs[n])), "share of split": f"{len(rungs[n]) / len(train):.1%}",
                     "inside the next rung": inside if i + 1 < len(sizes) else "—",
                     **{c: int(k) for c, k in zip(train.classes, counts)}})
    split = np.bincount(train.labels, minlength=train.num_classes)
    rows.append({"training images": f"{len(train):,} (the split)", "share of split": "100%", "inside the next rung": "",
                 **{c: int(k) for c, k in zip(train.classes, split)}})
    return pd.DataFrame(rows).set_index("training images")


def _fmt(row) -> str:
    return f"{row['estimate']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"


def table_view(table: pd.DataFrame) -> pd.DataFrame | None:
    """The curves as a reader reads them: one row per scope and size, each metric's estimate [95% interval]."""
    if table is None or not len(table):
        return None
    t = table.assign(value=table.apply(_fmt, axis=1))
    wide = t.pivot_table(index=["dataset", "scope", "training images"], columns="metric", values="value",
                         aggfunc="first", sort=False)
    extra = t.groupby(["dataset", "scope", "training images"], sort=False)[["seeds", "rate", "flags"]].first()
    out = wide.join(extra)
    out.index = out.index.set_levels([_n(v) for v in out.index.levels[2]], level=2)
    return out


def difference_view(tables: list[pd.DataFrame]) -> pd.DataFrame | None:
    """The differences, one row per difference and size: each metric's estimate [95% interval], the order."""
    tables = [t for t in tables if t is not None and len(t)]
    if not tables:
        return None
    t = pd.concat(tables)
    t = t.assign(value=t.apply(lambda r: f"{_fmt(r)} · {r['order']} · wins {r['wins']}", axis=1))
    out = t.pivot_table(index=["dataset", "difference", "training images"], columns="metric", values="value",
                        aggfunc="first", sort=False)
    out.index = out.index.set_levels([_n(v) for v in out.index.levels[2]], level=2)
    return out
