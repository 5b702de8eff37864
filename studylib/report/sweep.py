"""Notebook 07: a sweep's points read back from their records, the table and validation accuracy plotted
against each hyperparameter. The choice is made on validation; sweep records hold no test figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from . import records

__all__ = ["best", "by_config", "headline", "plot", "table"]

# Where a sweep's hyperparameters live in a point's record: its resolved params (train settings nested)
HYPERPARAMETERS = ("lr", "optimizer", "scheduler", "gamma", "momentum", "batch_size", "epochs", "dropout",
                   "weight_decay", "augment")


def _settings(params: dict) -> dict:
    train = params.get("train", {})
    return {k: train.get(k, params.get(k)) for k in HYPERPARAMETERS if k in train or k in params}


def table(results_dir, notebook: str) -> pd.DataFrame:
    """One row per sweep point (task): its settings, seed, chosen epoch and validation figures. Only the
    settings that vary across the points are kept as columns (the rest are the sweep's constants)."""
    rows = []
    for path, rec in records.iter_records(results_dir, "*.json"):
        if rec.get("notebook") != notebook:
            continue
        for arm, m in rec["metrics"].items():
            rows.append({"task": rec.get("task", path.stem), "seed": rec.get("seed"), **_settings(rec["params"]),
                         "best epoch": m["best_epoch"], "epochs run": m["epochs_run"],
                         "val acc": m["val"].get("val_acc"), "val macro F1": m["val"].get("val_macro_f1")})
    if not rows:
        raise ValueError(f"{results_dir}: no records of notebook {notebook}; run the sweep's points first")
    df = pd.DataFrame(rows)
    constant = [k for k in HYPERPARAMETERS if k in df and df[k].astype(str).nunique() == 1]
    df.attrs["constants"] = {k: df[k].iloc[0] for k in constant}
    return df.drop(columns=constant).sort_values("val acc", ascending=False).reset_index(drop=True)


def varying(df: pd.DataFrame) -> list[str]:
    return [k for k in HYPERPARAMETERS if k in df.columns]


def by_config(df: pd.DataFrame) -> pd.DataFrame:
    """Each configuration's validation accuracy over its seeds (mean, sd, n), best first."""
    keys = varying(df)
    g = df.groupby([df[k].astype(str) for k in keys] if keys else [df["task"]])["val acc"]
    return g.agg(["mean", "std", "count"]).rename(columns={"count": "n"}).sort_values("mean", ascending=False)


def best(df: pd.DataFrame) -> dict:
    """The configuration with the best mean validation accuracy (test is never read)."""
    cfg = by_config(df)
    keys = varying(df) or ["task"]
    values = cfg.index[0] if isinstance(cfg.index[0], tuple) else (cfg.index[0],)
    return {**dict(zip(keys, values)), "val acc": float(cfg["mean"].iloc[0]), "n": int(cfg["n"].iloc[0])}


def plot(df: pd.DataFrame) -> Figure:
    """Validation accuracy against each varying hyperparameter: every point, and the mean per value."""
    keys = varying(df) or ["task"]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3.2), sharey=True, squeeze=False)
    for ax, key in zip(axes[0], keys):
        x = df[key].astype(str)
        sns.stripplot(x=x, y=df["val acc"], ax=ax, color="0.5", alpha=0.6, size=4)
        sns.pointplot(x=x, y=df["val acc"], ax=ax, color="C0", errorbar=None, markers="D", linestyles="")
        ax.set_xlabel(key)
        ax.set_ylabel("validation accuracy (chosen epoch)")
    fig.suptitle("sweep: validation accuracy by hyperparameter")
    fig.tight_layout()
    return fig


def headline(df: pd.DataFrame, chosen: dict) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in chosen.items() if k not in ("val acc", "n"))
    return f"{len(df)} points; best on validation: {settings} (val acc {chosen['val acc']:.2%}, n={chosen['n']})"
