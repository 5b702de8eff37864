"""What every report shows: the title, the header block, claims beside our figures, verdict sentences."""
from __future__ import annotations

import dataclasses

import re
from pathlib import Path
from urllib.parse import quote

import pandas as pd
from IPython.display import Markdown, display

from ..study.task import SMOKE_SUFFIX
from ..train.experiment import PROTOCOLS
from . import records
from .tables import fmt_ci

__all__ = ["Header", "claims_table", "header_markdown", "lr_search", "nav_markdown", "say", "settings_text",
           "verdict_label", "verdict_sentence", "weights_of"]


SCORECARD = "06_scorecard.html"  # the scorecard's report, beside every report of a profile (its run's name)


def seed_of(task_name: str) -> str:
    """The seed a task's name ends with ("04_frozen_vs_full--seed3" -> "3"), else the name."""
    m = re.search(r"--seed(\d+)$", task_name)
    return m.group(1) if m else task_name


def nav_markdown(task_name: str, siblings: list | None = None, kept=(), scorecard: bool = True) -> str:
    """The links a runner's report carries (relative: reports lie side by side): the profile's index, the
    scorecard, and its run's seeds, itself unlinked in bold ("seeds: **0** · [1](run--seed1.html) · …").
    `kept`: the sibling pages its folder does not commit (`publish.hidden_links`: a committed page links no
    page that is not), named without a link. `scorecard`: whether the render has one to link."""
    parts = ["[index](index.html)"] + ([f"[scorecard]({SCORECARD})"] if scorecard else [])
    if siblings and len(siblings) > 1:
        kept = set(kept)
        parts.append("seeds: " + " · ".join(f"**{seed_of(n)}**" if n == task_name else seed_of(n) if n in kept else
                                             f"[{seed_of(n)}]({quote(n, safe='=,')}.html)" for n in siblings)
                     + (" (the other seeds' pages are kept where the run ran; the scorecard pools every seed)"
                        if kept & set(siblings) else ""))
    return " · ".join(parts)


def _weights_line(weights: dict) -> str:
    """The weights in a few words: "efficientnet_lite0 ImageNet (`file`)", "small_cnn random init"."""
    return "; ".join(f"{name} {w}" if isinstance(w, str) else f"{name} ImageNet (`{Path(str(w['file'])).name}`)"
                     for name, w in weights.items())


@dataclasses.dataclass(frozen=True)
class Header:
    """What a run's header block says (`header_markdown`): what this run is (`text`, one bold line; "" for
    none), its profile, parameters, data files read ({path: sha256}), weights, device, what it changes from
    the papers (`cuts`), the numbers behind named settings, its links (`nav`) and split sizes."""
    text: str
    profile: str
    params: dict
    sources: dict
    weights: dict
    device: str
    cuts: list | None = None
    settings: list | None = None
    nav: str = ""
    sizes: dict | None = None


def header_markdown(header: Header | str, *args, **kw) -> str:
    """The header block under the notebook's title (its one H1; the header adds no heading): what this run
    is, the links, profile, seed, device, weights and split sizes, the DEMO/SMOKE warning, what the run
    changes from the papers; the provenance (data files + sha256, weights files, commit, versions, every
    parameter) folded. `header`: a `Header` (the positional form `header_markdown(text, profile, ...)`
    builds one)."""
    h = header if isinstance(header, Header) else Header(header, *args, **kw)
    text, profile, params, sources, weights, device = h.text, h.profile, h.params, h.sources, h.weights, h.device
    cuts, settings, nav, sizes = h.cuts, h.settings, h.nav, h.sizes
    seed = params.get("seed")
    trains = seed is not None and "train" in params  # the audit and the scorecard have a seed that seeds nothing
    facts = [f"**profile** `{profile}`"] + ([f"**seed** {seed}"] if trains else []) + [f"**device** `{device}`"]
    if weights:
        facts.append(f"**weights** {_weights_line(weights)}")
    if sizes:
        facts.append("**images** " + ", ".join(f"{k} {n:,}" for k, n in sizes.items()))
    lines = ([f"**{text}**", ""] if text else []) + ([nav, ""] if nav else []) + [" · ".join(facts), ""]
    if profile == "demo":
        lines += ["> **DEMO**: generated data, tiny settings. Figures below show that the pipeline runs; "
                  "they say nothing about the papers.", ""]
    if profile.endswith(SMOKE_SUFFIX):
        lines += [f"> **SMOKE** run of profile `{profile.removesuffix(SMOKE_SUFFIX)}`: every task at a tiny scale "
                  "(one epoch of two steps, one rate per grid) on generated data; pretrained weights that are "
                  "absent are random initialisation, said beside each model. It proves the code path, nothing "
                  "about the papers.", ""]
    if cuts:
        lines += ["**What this run changes from the papers:**", ""] + [f"- {c}" for c in cuts] + [""]
    if settings:
        lines += [f"- {s}" for s in settings] + [""]
    lines += ["<details><summary>Provenance: data files, weights, code, versions, all parameters</summary>", "",
              f"**git commit** `{records.git_commit()[:12]}` · **versions** "
              + ", ".join(f"{k} {v}" for k, v in records.library_versions().items()), ""]
    if sources:
        lines += ["| data file | sha256 |", "|---|---|"] + [f"| `{p}` | `{h[:16]}…` |" for p, h in sources.items()] + [""]
    if weights:
        lines += ["| weights | file | sha256 |", "|---|---|---|"]
        lines += [f"| {name} | {w} | — |" if isinstance(w, str) else
                  f"| {name} | `{Path(str(w['file'])).name}` | `{str(w['sha256'])[:16]}…` |" for name, w in weights.items()]
        lines += [""]
    lines += ["| parameter | value |", "|---|---|"] + [f"| `{k}` | `{v!r}` |" for k, v in params.items()]
    lines += ["", "</details>"]
    return "\n".join(lines)


def weights_of(model) -> dict:
    """{backbone: {file, sha256}} or {backbone: 'random init'} from a StudyModel's info."""
    info = getattr(model, "info", {})
    name = info.get("backbone", "model")
    if not info.get("pretrained"):
        return {name: "random init"}
    if info.get("weights_source") == "SMOKE":
        return {name: info["weights"]}  # "random init in place of <file> (SMOKE)"
    return {name: {"file": info.get("weights_file"), "sha256": info.get("weights_sha256")}}


def verdict_label(verdict: str, indicative) -> str:
    """A verdict as every table shows it: stand-in verdicts marked indicative (docs/METHOD.md, Direct and indicative verdicts)."""
    return verdict + (" (indicative)" if indicative else "")


def _p(p) -> str:
    """A p-value: 3 decimals, "< 0.001" below."""
    return "" if p is None else "< 0.001" if p < 0.001 else f"{p:.3f}"


def _other(c: dict) -> str:
    """The claim under the test protocol it is not judged on: shown, never counted."""
    o = c.get("other_protocol")
    if not o or o.get("estimate") is None:
        return ""
    return f"{PROTOCOLS[o['test_protocol']]}: {o['estimate']:.3f} {fmt_ci(o.get('ci'))}, {o['verdict']}"


def claims_table(claims: list[dict]) -> pd.DataFrame | None:
    """The paper's claim beside our figure, as a table for display (None when there is none): figures to 3
    decimals, the paper's to 4 (as its percentages state them). The other protocol's figure and the notes
    are in the verdict's paragraph below it (`verdict_sentence`), not cut short in a table cell."""
    if not claims:
        return None
    seed = next((c["this_seed"] for c in claims if c.get("this_seed") is not None), None)
    verdict = "verdict" if seed is None else f"verdict (seed {seed} alone)"
    rows = []
    for c in claims:
        paper = c["paper_value"]
        row = {"claim": c["claim"], "paper": f"{paper:.4f}" if isinstance(paper, float) else paper,
               "ours [95% CI]": "" if c.get("estimate") is None else f"{c['estimate']:.3f} {fmt_ci(c.get('ci'))}"}
        if seed is None:  # a seed's report: one seed, said in the verdict's column
            row["n seeds"] = c.get("n")
        row.update({"p (unadj.)": _p(c.get("p")), verdict: verdict_label(c["verdict"], c.get("indicative")),
                    "tested at": PROTOCOLS.get(c.get("test_protocol"), "")})
        rows.append(row)
    return pd.DataFrame(rows).set_index("claim")


def verdict_sentence(claims: list[dict], seeds: int | None = None) -> str:
    """One plain-language paragraph, computed from the claim rows of this run. In a seed's report (rows
    with `this_seed`): "this seed alone: …", then where the pooled verdict over the run's `seeds` is (the
    scorecard, linked), which is not known when the seed's report is made."""
    if not claims:
        return "**Verdict.** This run tests no claim of the registry."
    seed = next((c["this_seed"] for c in claims if c.get("this_seed") is not None), None)
    parts = []
    for c in claims:
        n = "" if seed is not None else f", n = {c.get('n')}"
        ours = "" if c.get("estimate") is None else f"ours {c['estimate']:.3f} {fmt_ci(c.get('ci'))}{n}"
        tested = f"tested at the {PROTOCOLS[c['test_protocol']]}" if c.get("test_protocol") and ours else ""
        other = f"{_other(c)} (shown, not counted)" if _other(c) else ""
        extra = "; ".join(x for x in (ours, tested, other, f"indicative: {c['stand_in']}" if c.get("indicative") else "",
                                      c.get("protocol", ""), c.get("note", "")) if x)
        parts.append(f"{c['claim']}: **{c['verdict']}**" + (f" ({extra})" if extra else ""))
    said = "; ".join(parts) + "." if len(parts) == 1 else "\n\n" + "\n".join(f"- {x}" for x in parts) + "\n\n"
    if seed is None:
        return "**Verdict.** " + said
    pooled = f"the run's {seeds} seeds" if seeds and seeds > 1 else "every seed of the run"
    return (f"**This seed alone (seed {seed}).** " + said + f" **Pooled over {pooled}:** see the "
            f"[scorecard]({SCORECARD}), which judges each claim on all of them (order claims' p-values Holm-adjusted "
            "across the profile); that verdict is not known when a seed's report is made, and may differ from this seed's "
            "(docs/METHOD.md, Replicates: one seed is never a verdict).")


def settings_text(params: dict) -> str:
    """Chosen settings in words: {"svc__C": 0.1, "svc__kernel": "linear"} -> "C 0.1, kernel linear"."""
    return ", ".join(f"{k.split('__')[-1]} {v:g}" if isinstance(v, float) else f"{k.split('__')[-1]} {v}"
                     for k, v in params.items())


def say(text: str) -> None:
    """Display a computed, plain-language paragraph."""
    display(Markdown(text))


def paper_beside(results: dict, notebook: str, metric_names) -> pd.DataFrame:
    """Our figures per arm beside the paper's (from the registry's value claims and their `also` figures),
    both as fractions to 3 decimals."""
    from ..study.claims import CLAIMS, by_id
    ids = {arm: aid for aid, arm in by_id(notebook, None, {arm: arm for arm in results}).items()}  # results: by label
    rows = {}
    for arm, res in results.items():
        row = {k.replace("_", " "): f"{res['metrics'][k]:.3f}" for k in metric_names}
        paper = {}
        for c in CLAIMS.values():
            if c.notebook == notebook and c.kind == "value" and c.arms == (ids.get(arm),) and not c.untestable:
                paper = {**c.also, c.metric: c.value}
        row["paper P / R / F1"] = " / ".join(f"{paper[k]:.3f}" for k in ("precision_macro", "recall_macro",
                                                                         "f1_macro") if k in paper)
        rows[arm] = row
    return pd.DataFrame(rows).T


def lr_search(outcomes: dict) -> None:
    """The learning-rate search, when an arm searched: a line saying how, and its table (one row per arm and
    rate: best epoch, stopping epoch, best validation score, the choice). Nothing when no arm searched."""
    from ..study.arms import selection_table
    table = selection_table(outcomes)
    if table is None:
        return
    say("**Learning rates chosen on validation** (seed 0, each rate trained until validation stopped improving, "
        "within the epoch cap): every seed then trains at the chosen rate. Test is never read for the choice.")
    display(table.rename(index=lambda v: f"{v:g}" if isinstance(v, float) else v))  # rates as written: 0.001, 3e-05
