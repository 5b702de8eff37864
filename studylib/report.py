"""What every report shows: the header block, claims beside our figures, verdicts, the run record."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from . import results

VERDICTS = ("reproduced", "not reproduced", "not testable here")
_START = {"t": time.perf_counter()}


def start_clock() -> None:
    """Mark the start of the run (wall time in the record counts from here)."""
    _START["t"] = time.perf_counter()


def wall_time() -> float:
    return time.perf_counter() - _START["t"]


def title(text: str, profile: str) -> str:
    """The report title; every demo report says DEMO (generated data)."""
    return f"DEMO (generated data) — {text}" if profile == "demo" else f"{text} [{profile} profile]"


def header(text: str, profile: str, params: dict, sources: dict, weights: dict, device: str,
           cuts: list | None = None) -> None:
    """Display the title and header block: parameters, data files + sha256, weights, versions, device, commit."""
    start_clock()
    lines = [f"# {title(text, profile)}", "",
             f"**Profile** `{profile}` · **device** `{device}` · **git commit** `{results.git_commit()[:12]}` · "
             "**versions** " + ", ".join(f"{k} {v}" for k, v in results.library_versions().items()), ""]
    if profile == "demo":
        lines += ["> **DEMO**: generated data, tiny settings. Figures below show that the pipeline runs; "
                  "they say nothing about the papers.", ""]
    if cuts:
        lines += ["**What this profile changes from the papers:**", ""] + [f"- {c}" for c in cuts] + [""]
    if sources:
        lines += ["| data file | sha256 |", "|---|---|"] + [f"| `{p}` | `{h[:16]}…` |" for p, h in sources.items()]
    if weights:
        lines += ["", "| weights | file | sha256 |", "|---|---|---|"]
    for name, w in weights.items():
        lines.append(f"| {name} | random init | — |" if w == "random init" else
                     f"| {name} | `{Path(w['file']).name}` | `{str(w['sha256'])[:16]}…` |")
    lines += ["", "<details><summary>All parameters</summary>", "",
              "| parameter | value |", "|---|---|"] + [f"| `{k}` | `{v!r}` |" for k, v in params.items()]
    lines += ["", "</details>"]
    display(Markdown("\n".join(lines)))


def weights_of(model) -> dict:
    """{backbone: {file, sha256}} or {backbone: 'random init'} from a StudyModel's info."""
    info = getattr(model, "info", {})
    name = info.get("backbone", "model")
    if not info.get("pretrained"):
        return {name: "random init"}
    return {name: {"file": info.get("weights_file"), "sha256": info.get("weights_sha256")}}


def verdict_value(paper_value: float, ours: float, ci=None, tolerance: float = 0.02, profile: str = "cpu",
                  substitute: str = "", untestable: str = "") -> tuple[str, str]:
    """Does our figure reproduce a numeric claim? Within the CI (or `tolerance`) of ours counts as reproduced.

    untestable: a reason the setting cannot test the claim (e.g. random init instead of ImageNet weights).
    """
    if profile == "demo":
        return "not testable here", "DEMO run on generated data"
    if untestable:
        return "not testable here", f"{untestable}; ours {ours:.4f}"
    inside = ci is not None and ci[0] <= paper_value <= ci[1]
    near = abs(paper_value - ours) <= tolerance
    note = f"paper {paper_value:.4f} vs ours {ours:.4f}" + (f"; {substitute}" if substitute else "")
    return ("reproduced" if inside or near else "not reproduced"), note


def verdict_order(claim_holds: bool, margin: float, profile: str = "cpu", substitute: str = "",
                  overlap: bool | None = None, untestable: str = "") -> tuple[str, str]:
    """Does a comparative claim (X beats Y) hold in our run? margin = our X minus our Y."""
    if profile == "demo":
        return "not testable here", "DEMO run on generated data"
    if untestable:
        return "not testable here", f"{untestable}; our difference {margin:+.4f}"
    note = f"difference {margin:+.4f}"
    if overlap:
        note += " (the 95% CIs overlap: the order is within test-set noise)"
    if substitute:
        note += f"; {substitute}"
    return ("reproduced" if claim_holds else "not reproduced"), note


def claim(text: str, paper_value, our_value, verdict: tuple[str, str], ci=None) -> dict:
    """One claim row for the record and the tables."""
    return {"claim": text, "paper_value": paper_value, "our_value": our_value,
            "ci": list(ci) if ci is not None else None, "verdict": verdict[0], "note": verdict[1]}


def claims_table(claims: list[dict]) -> pd.DataFrame:
    """The paper's claim beside our figure, as a table for display."""
    df = pd.DataFrame(claims)
    df["ci"] = df["ci"].map(lambda c: "" if c is None else f"[{c[0]:.3f}, {c[1]:.3f}]")
    return df.rename(columns={"paper_value": "paper", "our_value": "ours", "ci": "ours 95% CI"})


def save(experiment: str, paper: str, run_name: str, results_dir: str, params: dict, metrics: dict,
         sources: dict, weights: dict, device: str, claims: list[dict], headline: str,
         profile: str = "") -> Path | None:
    """Write the run's JSON record (atomically) to results_dir/<run_name>.json; returns its path."""
    if not results_dir:
        print("results_dir is empty: no record written (interactive session)")
        return None
    # the record's experiment is the run's name: one notebook may render several runs (05 on each dataset)
    rec = dataclasses.asdict(results.make_record(run_name or experiment, paper, params, metrics, sources,
                                                 weights, wall_time(), device, claims))
    rec.update(headline=headline, run_name=run_name, notebook=experiment, profile=profile)
    path = results.write_record(rec, Path(results_dir) / f"{run_name or experiment}.json")
    print(f"record: {path} · wall time {wall_time():.0f}s · {headline}")
    return path


def headlines(results_dir) -> pd.DataFrame:
    """Every run record's headline, weights and wall time (claim-less runs included)."""
    rows = []
    for _, rec in results.iter_records(results_dir, "*.json"):
        w = rec.get("weights") or {}
        rows.append({"run": rec.get("run_name") or rec["experiment"], "paper": rec["paper"],
                     "weights": ", ".join(f"{k}: {'random init' if v == 'random init' else 'ImageNet'}"
                                          for k, v in w.items()) or "—",
                     "headline": rec.get("headline", ""), "wall time s": round(rec["wall_time_s"])})
    return pd.DataFrame(rows)


def params_of(notebook: str, namespace: dict) -> dict:
    """The current values of a notebook's parameters (the names in its `parameters` cell)."""
    from .params import INJECTED, notebook_parameters
    return {k: namespace[k] for k in notebook_parameters(notebook) if k in namespace and k not in INJECTED}


def say(text: str) -> None:
    """Display a computed, plain-language verdict paragraph."""
    display(Markdown(text))
