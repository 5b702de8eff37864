"""What every report shows: the title, the header block, claims beside our figures, verdict sentences."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from ..study.task import SMOKE_SUFFIX
from ..train.experiment import PROTOCOLS
from . import records
from .tables import fmt_ci

__all__ = ["claims_table", "header_markdown", "say", "title", "verdict_label", "verdict_sentence", "weights_of"]


def title(text: str, profile: str) -> str:
    """The report title; every demo report says DEMO (generated data), every smoke report SMOKE."""
    if profile == "demo":
        return f"DEMO (generated data) — {text}"
    if profile.endswith(SMOKE_SUFFIX):
        return f"SMOKE (tiny settings, generated data, random init where weights are absent) — {text} [{profile}]"
    return f"{text} [{profile} profile]"


def header_markdown(text: str, profile: str, params: dict, sources: dict, weights: dict, device: str,
                    cuts: list | None = None, settings: list | None = None) -> str:
    """The title and header block: parameters, data files + sha256, weights, versions, device, commit."""
    lines = [f"## {title(text, profile)}", "",  # a heading below the notebook's own title (one H1 a report)
             f"**Profile** `{profile}` · **device** `{device}` · **git commit** `{records.git_commit()[:12]}` · "
             "**versions** " + ", ".join(f"{k} {v}" for k, v in records.library_versions().items()), ""]
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
    if sources:
        lines += ["| data file | sha256 |", "|---|---|"] + [f"| `{p}` | `{h[:16]}…` |" for p, h in sources.items()]
    if weights:
        lines += ["", "| weights | file | sha256 |", "|---|---|---|"]
    for name, w in weights.items():
        lines.append(f"| {name} | {w} | — |" if isinstance(w, str) else
                     f"| {name} | `{Path(w['file']).name}` | `{str(w['sha256'])[:16]}…` |")
    lines += ["", "<details><summary>All parameters</summary>", "",
              "| parameter | value |", "|---|---|"] + [f"| `{k}` | `{v!r}` |" for k, v in params.items()]
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
    """A verdict as every table shows it: stand-in verdicts marked indicative (VERDICTS §5)."""
    return verdict + (" (indicative)" if indicative else "")


def _other(c: dict) -> str:
    """The claim under the test protocol it is not judged on: shown, never counted."""
    o = c.get("other_protocol")
    if not o or o.get("estimate") is None:
        return ""
    return f"{PROTOCOLS[o['test_protocol']]}: {o['estimate']:.4f} {fmt_ci(o.get('ci'))}, {o['verdict']}"


def claims_table(claims: list[dict]) -> pd.DataFrame | None:
    """The paper's claim beside our figure, as a table for display (None when there is none)."""
    if not claims:
        return None
    seed = next((c["this_seed"] for c in claims if c.get("this_seed") is not None), None)
    verdict = "verdict" if seed is None else f"verdict (seed {seed} alone)"
    return pd.DataFrame([{"claim": c["claim"], "paper": c["paper_value"],
                          "ours": None if c.get("estimate") is None else round(c["estimate"], 4),
                          "95% CI": fmt_ci(c.get("ci")), "n seeds": c.get("n"), "p (unadj.)": c.get("p"),
                          verdict: verdict_label(c["verdict"], c.get("indicative")),
                          "tested": PROTOCOLS.get(c.get("test_protocol"), ""),
                          "other protocol (not counted)": _other(c),
                          "note": "; ".join(x for x in (c.get("stand_in"), c.get("protocol"), c.get("note")) if x)}
                         for c in claims])


def verdict_sentence(claims: list[dict]) -> str:
    """One plain-language paragraph, computed from the claim rows of this run."""
    if not claims:
        return "**Verdict.** This run tests no claim of the registry."
    parts = []
    for c in claims:
        ours = "" if c.get("estimate") is None else f"ours {c['estimate']:.4f} {fmt_ci(c.get('ci'))}, n = {c.get('n')}"
        tested = f"tested at the {PROTOCOLS[c['test_protocol']]}" if c.get("test_protocol") and ours else ""
        other = f"{_other(c)} (shown, not counted)" if _other(c) else ""
        extra = "; ".join(x for x in (ours, tested, other, f"indicative: {c['stand_in']}" if c.get("indicative") else "",
                                      c.get("note", "")) if x)
        parts.append(f"{c['claim']}: **{c['verdict']}**" + (f" ({extra})" if extra else ""))
    seed = next((c["this_seed"] for c in claims if c.get("this_seed") is not None), None)
    if seed is None:
        return "**Verdict.** " + "; ".join(parts) + "."
    return (f"**This seed alone (seed {seed}).** " + "; ".join(parts) + ". **Pooled over every seed** of this run, "
            "each claim is judged on the [scorecard](06_scorecard.html) (VERDICTS.md: one seed is never a verdict).")


def say(text: str) -> None:
    """Display a computed, plain-language paragraph."""
    display(Markdown(text))


def paper_beside(results: dict, notebook: str, metric_names) -> pd.DataFrame:
    """Our figures per arm beside the paper's (from the registry's value claims and their `also` figures)."""
    from ..study.claims import CLAIMS, arm_id
    rows = {}
    for arm, res in results.items():
        row = {k: res["metrics"][k] for k in metric_names}
        paper = {}
        for c in CLAIMS.values():
            if c.notebook == notebook and c.kind == "value" and c.arms == (arm_id(notebook, arm),) and not c.untestable:
                paper = {**c.also, c.metric: c.value}
        row["paper P / R / F1"] = " / ".join(f"{100 * paper[k]:.2f}" for k in ("precision_macro", "recall_macro",
                                                                               "f1_macro") if k in paper)
        rows[arm] = row
    return pd.DataFrame(rows).T.round(4)
