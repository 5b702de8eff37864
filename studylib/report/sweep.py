"""Notebook 07: a sweep's points read back from their records, as one table (the best configuration first,
by its mean validation accuracy over seeds; points whose training collapsed flagged; the paper's own
configuration marked) and validation accuracy plotted against each hyperparameter. The choice is made on
validation; sweep records hold no test figure.

A point **collapsed** when its network ended up answering one class: at its chosen epoch it predicted the
same class for every validation image, or it scored within `COLLAPSE_MARGIN` of always answering the
majority class. Records hold no predictions, but a constant prediction shows in the figures they hold: it
scores the accuracy a of the class it answers (its share) and a macro F1 of 2a / (1 + a) / k over the k
classes averaged, exactly; the majority class's share is the highest accuracy of such an epoch anywhere in
the sweep (unknown, and only constant predictions flagged, when no epoch of any point answered one class).

The paper's own configuration is a point whose settings are the notebook's defaults (the paper's) in every
hyperparameter but the epochs (a profile's budget, shown beside the paper's above the table).
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown
from matplotlib.figure import Figure

from .. import paths
from ..study.experiments import as_dict, resolve
from . import records

__all__ = ["best", "by_config", "constants", "headline", "paper_settings", "plot", "read", "record_metrics",
           "styled", "summary", "table", "varying"]

# Where a sweep's hyperparameters live in a point's record: its resolved params (train settings nested)
HYPERPARAMETERS = ("lr", "optimizer", "scheduler", "gamma", "momentum", "batch_size", "epochs", "dropout",
                   "weight_decay", "augment")
COLLAPSE_MARGIN = 0.01  # within one point of always answering the majority class: collapsed
# The paper's own configuration: a point whose settings are the notebook's defaults (the paper's) in every
# hyperparameter but these, a profile's budget (its cut, shown beside the paper's above the table)
BUDGET = ("epochs",)
PAPER_COLOUR, COLLAPSED_COLOUR = "#fff1b8", "#8c8c8c"
LABELS = {"val acc": "val accuracy", "mean val acc": "mean over seeds"}
LEGEND = {"collapsed": "collapsed", "paper's": "the paper's configuration"}


def _settings(params: dict) -> dict:
    train = params.get("train", {})
    return {k: train.get(k, params.get(k)) for k in HYPERPARAMETERS if k in train or k in params}


def _plain(value):
    """A value as a reader writes it: numpy scalars as Python numbers (np.float64(0.9) -> 0.9)."""
    return value.item() if hasattr(value, "item") else value


def _same(a, b) -> bool:
    """Two settings equal (numbers compared as numbers: 0.01 == 1e-2, 32 == 32.0)."""
    a, b = _plain(a), _plain(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    return str(a) == str(b)


def constant_prediction(acc, macro_f1, num_classes: int) -> bool:
    """Whether validation figures are those of one class answered for every image: macro F1 exactly
    2a / (1 + a) / k for the accuracy a and some k classes averaged, 1 <= k <= num_classes."""
    if acc is None or macro_f1 is None or not acc > 0 or not macro_f1 > 0:
        return False
    k = round(2 * acc / (1 + acc) / macro_f1)
    return 1 <= k <= num_classes and abs(macro_f1 - 2 * acc / (1 + acc) / k) < 1e-9


def paper_settings(notebook: str) -> dict:
    """The hyperparameters of the notebook's defaults: the paper's own configuration."""
    return _settings(as_dict(resolve(notebook, {})))


def table(results_dir, notebook: str) -> pd.DataFrame:
    """One row per sweep point (task): its settings, seed, chosen epoch and validation figures, its
    configuration's mean validation accuracy over seeds, whether it collapsed and whether it is the paper's
    own configuration; the best configuration first. Only the settings that vary across the points are
    kept as columns (the rest, the sweep's constants, in `attrs`)."""
    rows, majority = [], None
    for path, rec in records.iter_records(results_dir, "*.json"):
        if rec.get("notebook") != notebook:
            continue
        k = int(rec["params"].get("num_classes") or 1000)
        for arm, m in rec["metrics"].items():
            constant = [h["val_acc"] for h in m.get("history", []) if constant_prediction(h.get("val_acc"),
                                                                                          h.get("val_macro_f1"), k)]
            majority = max([majority or 0.0, *constant]) if constant else majority
            rows.append({"task": rec.get("task", path.stem), "seed": rec.get("seed"), **_settings(rec["params"]),
                         "best epoch": m["best_epoch"], "epochs run": m["epochs_run"],
                         "val acc": m["val"].get("val_acc"), "val macro F1": m["val"].get("val_macro_f1"),
                         "constant": constant_prediction(m["val"].get("val_acc"), m["val"].get("val_macro_f1"), k)})
    if not rows:
        raise ValueError(f"{results_dir}: no records of notebook {notebook}; run the sweep's points first")
    df = pd.DataFrame(rows)
    constant = [k for k in HYPERPARAMETERS if k in df and df[k].astype(str).nunique() == 1]
    keys = [k for k in HYPERPARAMETERS if k in df and k not in constant]
    paper = paper_settings(notebook)
    same = [k for k in HYPERPARAMETERS if k in df and k not in BUDGET]
    df["collapsed"] = df.pop("constant") | (df["val acc"] <= majority + COLLAPSE_MARGIN if majority is not None
                                            else False)
    df["paper's"] = [bool(same) and all(k in paper and _same(r[k], paper[k]) for k in same) for _, r in df.iterrows()]
    config = df[keys].astype(str).agg(" ".join, axis=1) if keys else df["task"]
    df["mean val acc"] = df.groupby(config)["val acc"].transform("mean")
    order = ["mean val acc", "_config", "val acc"]  # the best configuration first, its seeds together
    df = (df.assign(_config=config).sort_values(order, ascending=[False, True, False], kind="stable")
          .drop(columns=["_config", *constant]).reset_index(drop=True))
    df.attrs.update(constants={k: _plain(rows[0][k]) for k in constant}, paper=paper, majority_share=majority,
                    notebook=notebook, results_dir=str(results_dir))
    return df


def read(results_dir, notebook: str) -> pd.DataFrame:
    """`table` of the task's results folder; in an interactive session (no results folder) of the demo
    profile's records (`make study` writes them to reports/demo/results), and there, when it holds no
    point yet, an empty table whose `attrs["missing"]` says so (every function below shows it or nothing)."""
    if results_dir:
        return table(results_dir, notebook)
    folder = paths.REPORTS / "demo" / "results"
    try:
        return table(folder, notebook)
    except ValueError:
        df = pd.DataFrame(columns=["task", "seed", "val acc", "val macro F1", "collapsed", "paper's", "mean val acc"])
        df.attrs["missing"] = (f"No records of notebook {notebook} in {paths.shown(folder)}: this session reads the "
                               "demo profile's sweep points, which `make study` runs (the committed sweep's report is "
                               "reports/sweep-003/07_sweep.html).")
        return df


def varying(df: pd.DataFrame) -> list[str]:
    return [k for k in HYPERPARAMETERS if k in df.columns]


def constants(df: pd.DataFrame):
    """The settings every point shares beside the paper's (the notebook's defaults), plain values, as a
    small table (great_tables, id "sweep-constants"; the profile's cuts in bold); the line saying no point
    was read when there is none."""
    if df.attrs.get("missing"):
        return Markdown(df.attrs["missing"])
    from great_tables import GT, loc, style
    paper, shared = df.attrs.get("paper", {}), df.attrs.get("constants", {})
    frame = pd.DataFrame({"setting shared by every point": list(shared), "value": [str(v) for v in shared.values()],
                          "the paper's": [str(paper.get(k, "—")) for k in shared]})
    cut = [i for i, k in enumerate(shared) if k in paper and not _same(shared[k], paper[k])]
    gt = GT(frame, id="sweep-constants").tab_options(table_font_size="13px", data_row_padding="2px",
                                                      table_margin_left="0px")
    return gt.tab_style(style.text(weight="bold"), loc.body(rows=cut)) if cut else gt


def styled(df: pd.DataFrame):
    """The table as a report shows it (great_tables, id "sweep"): the best configuration first, the paper's
    own configuration highlighted, collapsed points greyed and flagged (None when there is no point)."""
    if df.empty:
        return None
    from great_tables import GT, loc, style
    several = by_config(df)["n"].gt(1).any()  # several seeds of a configuration: each seed, and their mean
    cols = varying(df) + (["seed", "val acc", "mean val acc"] if several else ["val acc"])
    cols += ["val macro F1", "best epoch", "epochs run"]
    show = df[cols].copy()
    for k in varying(df):
        show[k] = show[k].map(lambda v: str(_plain(v)))
    show.insert(0, "rank", range(1, len(show) + 1))
    show["note"] = [", ".join(w for w, on in (("the paper's configuration", p), ("collapsed", c)) if on)
                    for p, c in zip(df["paper's"], df["collapsed"])]
    paper_rows = [i for i, on in enumerate(df["paper's"]) if on]
    collapsed_rows = [i for i, on in enumerate(df["collapsed"]) if on]
    gt = (GT(show, id="sweep")
          .fmt_percent(columns=[c for c in ("val acc", "mean val acc") if c in show], decimals=1)
          .fmt_number(columns="val macro F1", decimals=3)
          .cols_label(**{k: v for k, v in LABELS.items() if k in show})
          .tab_options(table_font_size="13px", data_row_padding="2px", table_margin_left="0px"))
    if paper_rows:
        gt = gt.tab_style([style.fill(PAPER_COLOUR), style.text(weight="bold")], loc.body(rows=paper_rows))
    if collapsed_rows:
        gt = gt.tab_style(style.text(color=COLLAPSED_COLOUR, style="italic"), loc.body(rows=collapsed_rows))
    return gt.tab_source_note(_collapse_rule(df))


def _collapse_rule(df: pd.DataFrame) -> str:
    share = df.attrs.get("majority_share")
    rule = "Collapsed: at its chosen epoch the network answered one class for every validation image"
    rule += (f", or it scored within {100 * COLLAPSE_MARGIN:g} point of always answering the majority class "
             f"({share:.1%})." if share is not None else " (no epoch of any point did).")
    return rule + " Highlighted: the paper's own configuration (the notebook's defaults)."


def by_config(df: pd.DataFrame) -> pd.DataFrame:
    """Each configuration's validation accuracy over its seeds (mean, sd, n), best first."""
    keys = varying(df)
    g = df.groupby([df[k].astype(str) for k in keys] if keys else [df["task"]])["val acc"]
    return g.agg(["mean", "std", "count"]).rename(columns={"count": "n"}).sort_values("mean", ascending=False)


def best(df: pd.DataFrame) -> dict:
    """The configuration with the best mean validation accuracy (test is never read); {} without points."""
    if df.empty:
        return {}
    cfg = by_config(df)
    keys = varying(df) or ["task"]
    values = cfg.index[0] if isinstance(cfg.index[0], tuple) else (cfg.index[0],)
    return {**dict(zip(keys, values)), "val acc": float(cfg["mean"].iloc[0]), "n": int(cfg["n"].iloc[0])}


def _paper_rank(df: pd.DataFrame) -> tuple[int, float] | None:
    """(rank among the configurations, mean val acc) of the paper's own configuration, when swept."""
    if df.empty or not df["paper's"].any():  # flagged only when some setting varies
        return None
    # one row per configuration, best first
    ranks = (df.drop_duplicates(varying(df)) if varying(df) else df.iloc[:1]).reset_index(drop=True)
    i = int(ranks.index[ranks["paper's"]][0])
    return i + 1, float(ranks["mean val acc"].iloc[i])


def _setting_text(chosen: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in chosen.items() if k not in ("val acc", "n"))


def summary(df: pd.DataFrame, chosen: dict) -> str:
    """What validation chose, where the paper's configuration ranks and which points collapsed, in words."""
    if df.empty:
        return ""
    n_cfg = len(by_config(df))
    text = (f"**Chosen on validation**: {_setting_text(chosen)} (mean validation accuracy {chosen['val acc']:.1%}, "
            f"{chosen['n']} seed{'s' if chosen['n'] > 1 else ''}), best of {n_cfg} configurations.")
    rank = _paper_rank(df)
    paper = {k: df.attrs["paper"][k] for k in varying(df) if k in df.attrs.get("paper", {})}
    if rank:
        text += (f" The paper's own configuration ({_setting_text(paper)}) ranks {rank[0]} of {n_cfg} "
                 f"({rank[1]:.1%}).")
    collapsed = int(df["collapsed"].sum())
    if collapsed:
        text += f" {collapsed} of {len(df)} points collapsed (greyed in the table; the rule is under it)."
    if df["seed"].nunique() == 1:
        text += (" With one seed the order of the leading configurations is inside seed noise: it chooses, "
                 "it does not rank.")
    return text


def plot(df: pd.DataFrame) -> Figure | None:
    """Validation accuracy against each varying hyperparameter: every point, the mean per value, collapsed
    points as red crosses and the paper's configuration as a star (None when there is no point)."""
    if df.empty:
        return None
    keys = varying(df) or ["task"]
    fig, axes = plt.subplots(1, len(keys), figsize=(max(6.0, 3.2 * len(keys)), 3.4), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, key in zip(axes[0], keys):
        x = df[key].map(lambda v: str(_plain(v)))
        order = sorted(x.unique(), key=lambda v: (not _is_number(v), float(v) if _is_number(v) else 0, v))
        sns.stripplot(x=x, y=df["val acc"], order=order, ax=ax, color="0.5", alpha=0.6, size=4)
        sns.pointplot(x=x, y=df["val acc"], order=order, ax=ax, color="C0", errorbar=None, markers="D", linestyles="")
        where = x.map(order.index)
        for flag, how in (("collapsed", dict(marker="x", color="C3")),
                          ("paper's", dict(marker="*", s=140, color="gold", edgecolor="k"))):
            if df[flag].any():
                ax.scatter(where[df[flag]], df.loc[df[flag], "val acc"], zorder=4, label=LEGEND[flag], **how)
        ax.set_xlabel(key)
        ax.set_ylabel("validation accuracy (chosen epoch)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle("sweep: validation accuracy by hyperparameter")
    return fig


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def record_metrics(df: pd.DataFrame, chosen: dict) -> dict:
    """What 07's record keeps: every point (plain values), the choice, the paper's configuration's rank and
    the collapsed points."""
    rank = _paper_rank(df)
    return {"points": [{k: _plain(v) for k, v in r.items()} for r in df.to_dict("records")], "best": chosen,
            "paper": {"settings": df.attrs.get("paper", {}), "rank": rank[0] if rank else None,
                      "val acc": rank[1] if rank else None},
            "collapsed": [str(t) for t in df.loc[df["collapsed"].astype(bool), "task"]],
            "majority_share": df.attrs.get("majority_share")}


def headline(df: pd.DataFrame, chosen: dict) -> str:
    if df.empty:
        return "no sweep points read"
    rank = _paper_rank(df)
    paper = f"; the paper's configuration ranks {rank[0]} of {len(by_config(df))}" if rank else ""
    collapsed = f"; {int(df['collapsed'].sum())} collapsed" if df["collapsed"].any() else ""
    settings = ", ".join(f"{k}={v}" for k, v in chosen.items() if k not in ("val acc", "n"))
    return (f"{len(df)} points; best on validation: {settings} (val acc {chosen['val acc']:.2%}, n={chosen['n']})"
            f"{paper}{collapsed}")
