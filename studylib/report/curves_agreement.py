"""Notebook 08 beside the reference profile: where a curve point is a run of the cpu profile too (the same
data files, input size, training-set size and scope, the same test images), both intervals and whether
they overlap. The intervals are the scorecard's (`study.stats.crossed_bootstrap`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from .. import paths
from ..study import budget
from ..study.arm_spec import arm_scope
from ..study.claims import record_arms, run_arms
from ..study.stats import crossed_bootstrap
from . import records
from .curves import METRICS, N_BOOT, _groups, _n, _pairs, role

__all__ = ["agreement", "agreement_sentence", "show_agreement"]


def _reference_points(reference_dir: Path, sources: dict) -> list[dict]:
    """The reference profile's runs as curve points: each trained arm of a run on the same data files (every
    sha256 the curves read), with one linear head and validation of its own, by seed."""
    out = []
    mine = set(sources.values())
    for path, rec in records.iter_records(reference_dir, "*.json"):
        params = rec.get("params") or {}
        if not params.get("arms") or not rec.get("predictions") or not mine or not mine <= set((rec.get("data_sources") or {}).values()):
            continue
        if (params.get("head") or "linear") != "linear" or params.get("val_from_train"):
            continue
        preds = record_arms(rec, records.read_predictions(path, rec).get("best") or {})
        entries = record_arms(rec, rec.get("metrics") or {})
        for aid, arm in run_arms(params).items():
            if aid not in preds:
                continue
            scope, freeze_to = arm_scope(arm, params)
            pretrained = params.get("pretrained", True) if arm.get("pretrained") is None else arm["pretrained"]
            out.append({"run": rec.get("run_name"), "seed": rec.get("seed"), "dataset": params.get("dataset"),
                        "input": budget.input_size(params),
                        "max_train": params.get("max_train"), "scope": scope, "freeze_to": freeze_to,
                        "pretrained": pretrained, "name": arm.get("name", aid), "predictions": {"best": preds[aid]},
                        "entry": entries.get(aid) or {}})
    return out


def agreement(points: list[dict], sources: dict, reference: str = "cpu", reference_dir=None,
              metrics=tuple(METRICS), n_boot: int = N_BOOT) -> pd.DataFrame | str:
    """Where a curve point coincides with a run of the reference profile (the same data files, input size,
    training-set size and scope, the same test images), both points' 95% intervals and whether they
    overlap ('agree within their intervals'). A sentence instead when the reference has no records or no run
    coincides. `sources`: the data files this run read ({path: sha256}, `Run.sources`)."""
    if not reference and not reference_dir:
        return "No reference profile named (parameter `reference`): no comparison."
    folder = Path(reference_dir) if reference_dir else paths.REPORTS / reference / "results"
    if not folder.is_dir() or not any(folder.glob("*.json")):
        return f"No records of the {reference} profile at {paths.shown(folder)}: no comparison."
    theirs = _reference_points(folder, sources)
    rows = []
    for (ds, n, r), group in _groups(points).items():
        of = group[0].get("of") or n
        match = [t for t in theirs if role(t) == r and t["dataset"] == group[0]["dataset"]
                 and t["input"] == group[0]["input"] and (t["max_train"] or of) == n]
        for run in dict.fromkeys(t["run"] for t in match):
            ref = sorted((t for t in match if t["run"] == run), key=lambda t: t["seed"])
            y_true = group[0]["predictions"]["best"][0]
            if any(not np.array_equal(t["predictions"]["best"][0], y_true) for t in ref):
                continue  # other test images (or another order): not the same point
            rates = sorted({(t["entry"].get("config") or {}).get("lr") for t in ref} - {None})
            for metric in metrics:
                ours = crossed_bootstrap(_pairs(group, "best"), metric, n_boot=n_boot, seed=0)
                other = crossed_bootstrap([tuple(t["predictions"]["best"][:2]) for t in ref], metric, n_boot=n_boot, seed=0)
                overlap = ours["ci"][0] <= other["ci"][1] and other["ci"][0] <= ours["ci"][1]
                rows.append({"dataset": ds, "scope": r, "training images": _n(n), "metric": METRICS.get(metric, metric),
                             "curve": f"{ours['estimate']:.3f} [{ours['ci'][0]:.3f}, {ours['ci'][1]:.3f}] ({ours['n_given']} seeds)",
                             f"{reference} run": f"{run}: {ref[0]['name']}",
                             reference: f"{other['estimate']:.3f} [{other['ci'][0]:.3f}, {other['ci'][1]:.3f}] ({other['n_given']} seeds"
                                        + (f", rate {', '.join(f'{x:g}' for x in rates)})" if rates else ")"),
                             "within their intervals": "agree" if overlap else "disagree"})
    if not rows:
        return (f"No run of the {reference} profile coincides with a curve point (the same data, input size, "
                "training-set size and scope, scored on the same test images).")
    return pd.DataFrame(rows)


def agreement_sentence(result, reference: str = "cpu") -> str:
    """One line: which coinciding points agree with the reference profile within their intervals."""
    if isinstance(result, str):
        return result
    parts = []
    for verdict, words in (("agree", "agree within their intervals for"),
                           ("disagree", "disagree (their intervals do not overlap) for")):
        rows = result[result["within their intervals"] == verdict]
        if len(rows):
            what = sorted({f"{r['scope']} at {r['training images']} ({r['metric']})" for _, r in rows.iterrows()})
            parts.append(f"{words} {', '.join(what)}")
    return (f"Where a curve point coincides with a run of the {reference} profile (its own rate grid, epoch cap "
            "and validation), the two " + "; they ".join(parts) + ".")



def show_agreement(result, reference: str = "cpu") -> None:
    """The agreement table (where a point coincides with a reference run) and its sentence."""
    if not isinstance(result, str):
        display(result.set_index(["dataset", "scope", "training images", "metric"]))
    display(Markdown(agreement_sentence(result, reference)))
