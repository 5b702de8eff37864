"""Notebook 08 in words: where partial fine-tuning beats full fine-tuning and where pretraining pays, read
from 95% intervals (`report.curves`' tables); the budget flags said; the README's 'Beyond the papers'
section and the index's headline."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from .. import paths
from .curves import (FULL, METRICS, N_BOOT, PARTIAL, RANDOM, _dataset, _groups, _n, difference_table, flags_of,
                     points_from_records)

__all__ = ["beyond_the_papers", "flags_sentence", "headline", "summary", "summary_sentences"]


def _list(sizes) -> str:
    sizes = [_n(n) for n in sizes]
    return sizes[0] if len(sizes) == 1 else ", ".join(sizes[:-1]) + " and " + sizes[-1]


def _order_sentence(diff: pd.DataFrame, a: str, b: str) -> str:
    """Where a beats b (interval above zero) and where it loses (below), from one dataset's difference rows."""
    beats = diff.loc[diff["low"] > 0, "training images"].tolist()
    loses = diff.loc[diff["high"] < 0, "training images"].tolist()
    sizes = diff["training images"].tolist()
    if not beats and not loses:
        return f"training only the {a} and training {b} cannot be told apart at any size measured ({_list(sizes)} images)"
    out = []
    if beats:
        after = [n for n in sizes if n > max(beats)]
        out.append(f"training only the {a} beats training {b} at {_list(beats)} training images"
                   + (f" (not from {_n(after[0])} on)" if after and all(n not in beats for n in after) else ""))
    if loses:
        out.append(f"{'it loses' if beats else f'training only the {a} loses to training {b}'} at {_list(loses)} images")
    return "; ".join(out)


def _pretraining_sentence(diff: pd.DataFrame) -> str:
    """Where pretraining pays (the interval of everything minus everything-from-random-init above zero) and,
    past the largest such size, what the intervals show. An interval that includes zero is not evidence that
    pretraining stops paying (docs/METHOD.md, Equivalence: that needs the interval inside a margin stated
    beforehand), so it is said as "cannot be told from zero", with the seeds it rests on."""
    sizes = diff["training images"].tolist()
    pays = diff.loc[diff["low"] > 0, "training images"].tolist()
    seeds = int(diff["seeds"].max()) if "seeds" in diff and len(diff) else 0
    with_seeds = f" with {seeds} seeds" if seeds else ""
    if not pays:
        return f"pretraining pays at no size measured ({_list(sizes)} images: no interval above zero)"
    if pays[-1] == sizes[-1]:
        return f"pretraining pays at every size up to the largest measured, {_n(sizes[-1])} images" if pays == sizes \
            else f"pretraining pays at {_list(pays)} images, the largest measured among them"
    after = diff[diff["training images"] > pays[-1]]
    costs = after.loc[after["high"] < 0, "training images"].tolist()
    unclear = after.loc[after["high"] >= 0, "training images"].tolist()
    said = [f"pretraining pays up to {_n(pays[-1])} training images"]
    if unclear:
        said.append(f"at {_list(unclear)} its gain cannot be told from zero{with_seeds} (the interval includes "
                    "zero: not evidence that it stops paying)")
    if costs:
        said.append(f"at {_list(costs)} it costs (the interval lies below zero)")
    return "; ".join(said)


def summary_sentences(points: list[dict], metric: str = "f1_macro", n_boot: int = N_BOOT) -> dict:
    """{dataset label: sentence}: where partial fine-tuning beats full fine-tuning (paper 004's order), if
    anywhere, and where pretraining pays, by `metric` (macro F1: paper 004 stresses macro
    metrics), each from its 95% intervals."""
    out = {}
    partial = {a: difference_table(points, a, FULL, (metric,), n_boot=n_boot) for a in PARTIAL}
    gain = difference_table(points, FULL, RANDOM, (metric,), n_boot=n_boot)
    datasets = dict.fromkeys(_dataset(q) for q in sorted(points, key=lambda q: (q["dataset"], q["input"])))
    for ds in datasets:
        parts = []
        for a in PARTIAL:
            d = partial[a]
            d = d[d["dataset"] == ds] if len(d) else d
            if len(d):
                parts.append(_order_sentence(d, a, FULL))
        g = gain[gain["dataset"] == ds] if len(gain) else gain
        if len(g):
            parts.append(_pretraining_sentence(g))
        if parts:
            budgeted = _budget_clause([q for q in points if _dataset(q) == ds])
            out[ds] = ("; ".join(parts) + f" (test {METRICS.get(metric, metric)}, 95% intervals over seeds and test images)"
                       + (f". {budgeted}" if budgeted else "") + ".")
    return out


def _budget_clause(points: list[dict], protocol: str = "best") -> str:
    """Which of these curve points (one dataset's) carry a budget flag (`flags_of`; docs/METHOD.md, Budget flags: an order our
    budget could have decided says so), by how many seeds; '' when none does."""
    flagged = []
    for (_, n, r), group in _groups(points).items():
        k = sum(bool(flags_of([q], protocol)) for q in group)
        if k:
            flagged.append(f"{r} at {_n(n)} images ({k} of {len(group)} seeds)")
    if not flagged:
        return ""
    return (f"Budget-limited points (a fit that chose its last epoch, or a rate at an edge of its grid): "
            f"{', '.join(flagged)}; what is said at those sizes could change with a longer budget")


def beyond_the_papers(results_dir, heading: str = "## Beyond the papers", n_boot: int = N_BOOT) -> str:
    """The README's 'Beyond the papers' section, generated from a curves results folder (its notebook-08
    records): per dataset, where partial fine-tuning beats full fine-tuning, if anywhere, and
    where pretraining pays. '' when the folder holds no points."""
    points = points_from_records(results_dir)
    sentences = summary_sentences(points, n_boot=n_boot)
    if not sentences:
        return ""
    seeds = sorted({q["seed"] for q in points})
    each = f"{len(seeds)} seeds each" if len(seeds) > 1 else f"seed {seeds[0]} only"
    lines = [heading, "",
             f"Notebook 08 trains each scope at every rung of a ladder of training-set sizes (nested, stratified "
             f"subsets), {each}; its own notebooks judge no claim (papers 005 and 006 are judged on its records "
             f"by `studylib judge`, below). From `{paths.shown(results_dir)}`"
             f"{_under_way(Path(results_dir).parent / 'index.json')}:", ""]
    lines += [f"- **{ds}**: {s[0].upper() + s[1:]}" for ds, s in sentences.items()]
    return "\n".join(lines) + "\n"


def _under_way(index) -> str:
    """' (a render under way: k of n tasks finished; ...)' when the render's index lists tasks not run yet, so
    that a reader of a partial render does not take its sentences for the finished study; '' otherwise."""
    if not Path(index).exists():
        return ""
    data = json.loads(Path(index).read_text())
    left = len(data.get("not_run_yet", []))
    runs = data.get("runs", [])
    if not left:
        return ""
    done = sum(r.get("status") == "ok" for r in runs)
    return (f" (a render under way: {done} of {len(runs) + left} tasks finished, so these sentences may change as "
            f"the rest arrive)")


def headline(table: pd.DataFrame, points: list[dict]) -> str:
    """One line for the index: the dataset, the ladder, the seeds, and each scope's macro F1 at the largest size."""
    if table is None or not len(table):
        return "no points"
    top = table[(table["metric"] == METRICS["f1_macro"]) & (table["training images"] == table["training images"].max())]
    seeds = sorted({q["seed"] for q in points})
    scores = " · ".join(f"{r['scope']} {r['estimate']:.3f}" for _, r in top.iterrows())
    return (f"{', '.join(dict.fromkeys(table['dataset']))}: {table['training images'].nunique()} sizes to "
            f"{_n(table['training images'].max())} images, seed{'s' if len(seeds) > 1 else ''} "
            f"{', '.join(map(str, seeds))}; macro F1 at the largest: {scores}")


def summary(points: list[dict]) -> Markdown:
    """The sentences of `summary_sentences`, one paragraph per dataset (what the README's section says)."""
    sentences = summary_sentences(points)
    if not sentences:
        return Markdown("These points hold no pair of scopes to compare (a task of one scope: the curves task compares them).")
    return Markdown("\n\n".join(f"**{ds}**: {s[0].upper() + s[1:]}" for ds, s in sentences.items()))


def flags_sentence(table: pd.DataFrame) -> str:
    """Which curve points carry a budget flag (cap-bound, grid-edge), or that none does."""
    if table is None or not len(table):
        return ""
    flagged = table[table["flags"] != ""].drop_duplicates(["dataset", "scope", "training images"])
    if not len(flagged):
        return "No curve point carries a budget flag (none cap-bound, no rate at an edge of its grid)."
    return "Budget flags: " + "; ".join(f"{r['scope']} at {_n(r['training images'])}: {r['flags']}"
                                        for _, r in flagged.iterrows()) + "."
