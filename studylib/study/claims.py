"""The claim registry: every paper figure the study tests, written once (see VERDICTS.md, section 1).

Notebooks and the scorecard read the figures from here; nothing else types them. `judge` applies
today's verdict rules (`study.verdicts`) to a run's per-arm results.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import verdicts

__all__ = ["CLAIMS", "Claim", "for_run", "judge"]

RANDOM_INIT = "random init: shows what ImageNet pretraining buys, not the paper's setting"


@dataclass(frozen=True)
class Claim:
    """One claim of a paper (or, kind 'check', a documented fact about the data)."""

    id: str
    paper: str
    text: str                        # the claim, as the paper puts it
    kind: str                        # "value": the paper reports `value`; "order": arms[0] beats arms[1]; "check"
    metric: str                      # scikit-learn name of what is compared
    notebook: str                    # the notebook that tests it
    arms: tuple[str, ...]            # the arm (value) or arms A, B (order) of that notebook's results
    value: float | None = None       # the paper's figure (value claims and checks)
    margin: float = 0.02             # value: |paper - ours| within this counts (today's rule); order: unused
    when: dict = field(default_factory=dict)       # the run's params this claim needs (e.g. dataset)
    backbone: str = ""               # what the paper used; another backbone is a stand-in
    data_note: dict = field(default_factory=dict)  # dataset param -> note when our data stands in for theirs
    also: dict = field(default_factory=dict)       # the paper's other figures, shown beside (metric -> value)


_000 = dict(paper="000", notebook="02_features_svm_vs_finetune", backbone="resnet50",
            data_note={"faces": "LFW faces, not the paper's photos"})
_003_cnn = dict(paper="003", notebook="03_cnn_from_scratch", kind="value", arms=("small CNN (seed 003)",),
                margin=0.015)
_003_r18 = dict(paper="003", notebook="04_frozen_vs_full", kind="order", metric="accuracy", backbone="resnet18")

CLAIMS = {c.id: c for c in [
    # 01: facts of the data (PROVENANCE.md), shown as checks
    Claim("data.fer2013.blank_images", "all", "FER2013 has 12 completely blank images", "check", "count",
          "01_data_audit", (), value=12, margin=0),
    Claim("data.ferplus.agreement", "all", "FERPlus plurality agrees with FER2013 labels on 62.9% of named rows",
          "check", "agreement", "01_data_audit", (), value=0.629, margin=0.0005),
    # 000 (Gonzales): 8 people x 30 faces, ResNet50
    Claim("000.svm.f1_macro", text="features + SVM: macro F1 63.99%", kind="value", metric="f1_macro",
          arms=("features + SVM",), value=0.6399, also={"precision_macro": 0.6250, "recall_macro": 0.6555}, **_000),
    Claim("000.finetune.f1_macro", text="fine-tuning: macro F1 94.05%", kind="value", metric="f1_macro",
          arms=("fine-tuned",), value=0.9405, also={"precision_macro": 0.9375, "recall_macro": 0.9436}, **_000),
    Claim("000.finetune_beats_svm", text="fine-tuning beats features + SVM (F1)", kind="order", metric="f1_macro",
          arms=("fine-tuned", "features + SVM"), **_000),
    # 003 (Moustafa & Smaluch): CNN from scratch on FERPlus; ResNet18 frozen vs full
    Claim("003.cnn.accuracy", text="test accuracy 72.57%", metric="accuracy", value=0.7257,
          **{**_003_cnn, "margin": 0.01}),
    Claim("003.cnn.f1_weighted", text="weighted F1 0.72", metric="f1_weighted", value=0.72, **_003_cnn),
    Claim("003.cnn.precision_weighted", text="weighted precision 0.73", metric="precision_weighted", value=0.73,
          **_003_cnn),
    Claim("003.cnn.recall_weighted", text="weighted recall 0.73", metric="recall_weighted", value=0.73, **_003_cnn),
    Claim("003.resnet18.full_beats_frozen", text="full fine-tuning beats freezing (test accuracy)",
          arms=("all", "new_layers"), **_003_r18),
    Claim("003.resnet18.augmentation_hurts", text="augmentation hurts full fine-tuning (test accuracy)",
          arms=("all", "all + seed003 augmentation"), **_003_r18),
    # 004: strategy A (last block + head) beats B (everything, smaller lr), especially on macro metrics
    *[Claim(f"004.{ds}.a_beats_b.{metric}", "004", f"A beats B on {ds} ({label})", "order", metric,
            "05_partial_vs_full", ("A: last block + head", "B: everything, smaller lr"),
            when={"paper": "004", "dataset": ds}, backbone=net, data_note=note)
      for ds, net, note in (("fer2013", "resnet50", {}),
                            ("deepweeds", "efficientnet_b0", {"plants": "Plant Seedlings stands in for DeepWeeds"}))
      for metric, label in (("f1_macro", "macro F1"), ("accuracy", "accuracy"))],
    # 001 (Chen): ResNet50 + MLP head on FER2013
    Claim("001.mlp.accuracy", "001", "ResNet50 + MLP head: FER2013 test accuracy 85.71%", "value", "accuracy",
          "05_partial_vs_full", ("001: last layers + MLP head",), value=0.8571, margin=0.01,
          when={"paper": "001"}, backbone="resnet50"),
]}


def _matches(claim: Claim, params) -> bool:
    """Whether a run with these params tests the claim (plants stand in for deepweeds)."""
    for key, want in claim.when.items():
        have = getattr(params, key, None)
        if have != want and not (key == "dataset" and have in claim.data_note):
            return False
    return True


def for_run(notebook: str, params, kind: str | None = None) -> list[Claim]:
    """The registry's claims a run of `notebook` with `params` tests, in registry order."""
    return [c for c in CLAIMS.values() if c.notebook == notebook and _matches(c, params)
            and (kind is None or c.kind == kind)]


def stand_in(claim: Claim, params) -> str:
    """What in this run stands in for the paper's setting ('' when nothing does)."""
    backbone = getattr(params, "backbone", "")
    notes = [f"{backbone} stands in for {claim.backbone}" if claim.backbone and backbone != claim.backbone else "",
             claim.data_note.get(getattr(params, "dataset", ""), "")]
    return "; ".join(n for n in notes if n)


def _ci_key(metric: str) -> str:
    return {"f1_macro": "macro_f1"}.get(metric, metric)


def judge(claim: Claim, results: dict, params, profile: str) -> dict:
    """One claim row from a run's results ({arm: {"metrics": {...}, "ci": {...}}}) under today's rules."""
    untestable = "" if getattr(params, "pretrained", True) else RANDOM_INIT
    sub = stand_in(claim, params)
    if claim.kind == "order":
        a, b = (results[arm] for arm in claim.arms)
        d = a["metrics"][claim.metric] - b["metrics"][claim.metric]
        ca, cb = a["ci"].get(_ci_key(claim.metric)), b["ci"].get(_ci_key(claim.metric))
        overlap = ca is not None and cb is not None and ca[0] <= cb[1] and cb[0] <= ca[1]
        verdict = verdicts.verdict_order(d > 0, d, profile, sub, overlap, untestable)
        return verdicts.claim_row(claim, f"{claim.arms[0]} > {claim.arms[1]}", round(d, 4), verdict)
    res = results[claim.arms[0]]
    ours, ci = res["metrics"][claim.metric], res["ci"].get(_ci_key(claim.metric))
    verdict = verdicts.verdict_value(claim.value, ours, ci, claim.margin, profile, sub, untestable)
    return verdicts.claim_row(claim, claim.value, round(ours, 4), verdict, ci)


def judge_run(notebook: str, results: dict, params, profile: str) -> list[dict]:
    """Rows for every registry claim this run tests whose arms it has results for."""
    return [judge(c, results, params, profile) for c in for_run(notebook, params)
            if c.kind != "check" and all(arm in results for arm in c.arms)]


def check_row(claim_id: str, ours, profile: str) -> dict:
    """A data check's row (kind 'check'): our count or rate against the documented figure."""
    claim = CLAIMS[claim_id]
    verdict = verdicts.verdict_value(claim.value, ours, None, claim.margin, profile)
    return verdicts.claim_row(claim, claim.value, round(ours, 4), verdict)
