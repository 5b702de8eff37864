"""The scorecard (notebook 06): every claim of this profile's run records beside the paper's figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..study.verdicts import VERDICTS
from . import records

__all__ = ["card", "headlines", "numeric_plot", "summary", "verdict_plot"]

COLUMNS = ["paper", "experiment", "claim", "paper_value", "our_value", "ours 95% CI", "verdict", "note"]


def card(results_dir, not_run: list[dict]) -> pd.DataFrame:
    """One row per claim from the records, plus the claims this profile could not run."""
    rows = records.load_records(results_dir) if results_dir else pd.DataFrame()
    extra = pd.DataFrame([{"experiment": "—", "paper": r["paper"], "claim": r["claim"],
                           "paper_value": r.get("paper_value", ""), "our_value": None,
                           "verdict": "not testable here", "note": r["reason"]} for r in not_run])
    out = pd.concat([rows, extra], ignore_index=True) if len(extra) else rows
    out["ours 95% CI"] = [f"[{lo:.3f}, {hi:.3f}]" if pd.notna(lo) else ""
                          for lo, hi in zip(out.get("ci_low", []), out.get("ci_high", []))]
    return out


def table(card_df: pd.DataFrame):
    """The scorecard as shown: sorted by paper and run."""
    return card_df.reindex(columns=COLUMNS).sort_values(["paper", "experiment"]).style.hide(axis="index")


def verdict_plot(card_df: pd.DataFrame) -> Figure:
    """How many claims got each verdict."""
    counts = card_df["verdict"].value_counts()
    fig, ax = plt.subplots(figsize=(6, 2.5))
    sns.countplot(y=card_df["verdict"], order=[v for v in VERDICTS if v in counts.index], ax=ax)
    ax.set_title("verdicts")
    return fig


def numeric_plot(card_df: pd.DataFrame) -> Figure | None:
    """Numeric claims: the paper's figure beside ours (None when there is none)."""
    num = card_df[pd.to_numeric(card_df["paper_value"], errors="coerce").notna()
                  & pd.to_numeric(card_df["our_value"], errors="coerce").notna()].copy()
    if not len(num):
        return None
    num["paper_value"], num["our_value"] = num["paper_value"].astype(float), num["our_value"].astype(float)
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(num)))
    long = num.melt(id_vars="claim", value_vars=["paper_value", "our_value"], var_name="who", value_name="value")
    sns.barplot(data=long, y="claim", x="value", hue="who", ax=ax)
    ax.set_title("numeric claims: paper vs ours")
    return fig


def summary(card_df: pd.DataFrame) -> str:
    """'N claims: k reproduced, ...' from the card."""
    counts = card_df["verdict"].value_counts()
    return f"{len(card_df)} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items())


def headlines(results_dir) -> pd.DataFrame | None:
    """Every run record's headline, weights and wall time (claim-less runs included)."""
    if not results_dir:
        return None
    rows = []
    for _, rec in records.iter_records(results_dir, "*.json"):
        w = rec.get("weights") or {}
        rows.append({"run": rec.get("run_name") or rec["experiment"], "paper": rec["paper"],
                     "weights": ", ".join(f"{k}: {'random init' if v == 'random init' else 'ImageNet'}"
                                          for k, v in w.items()) or "—",
                     "headline": rec.get("headline", ""), "wall time s": round(rec["wall_time_s"])})
    return pd.DataFrame(rows)
