"""The claim registry: every paper figure the study tests, written once (VERDICTS.md, sections 1 and 8).

Notebooks and the scorecard read the figures from here; nothing else types them. Claims name the arms
that test them by a stable id (`ARMS`: the arms each notebook defines, id -> display label), never by a
display label, and the registry is checked when it loads (`load`): a claim citing an arm no notebook
defines, a duplicated id or a missing margin fails here, naming the claim and the key, not silently on
the scorecard. `EVIDENCE` holds the computed checks of a paper's own numbers (section 8), shown beside
its claims and never counted as verdicts. `study.verdicts` judges the claims (sections 3-6).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..train.experiment import PROTOCOLS

__all__ = ["ARMS", "CLAIMS", "EVIDENCE", "Claim", "Evidence", "RegistryError", "arm_id", "arm_label", "for_run",
           "load", "stand_in", "tests"]


class RegistryError(ValueError):
    """A claim or evidence entry the registry refuses (the message names the entry and the key)."""


# The arms each notebook defines: stable id -> the label its reports and records show. Claims cite ids.
# Records written before ids existed are matched by label (`arm_id`).
ARMS = {
    "02_features_svm_vs_finetune": {"finetune": "fine-tuned", "svm": "features + SVM"},
    "03_cnn_from_scratch": {"cnn": "small CNN (seed 003)"},
    "04_frozen_vs_full": {"new_layers": "new_layers", "head": "head", "all": "all",
                          "all_aug": "all + seed003 augmentation", "new_layers_bn_eval": "new_layers, frozen BN in eval",
                          "all_random": "all, random init"},
    "05_partial_vs_full": {"A": "A: last block + head", "B": "B: everything, smaller lr",
                           "B_random": "B from random init", "mlp": "001: last layers + MLP head"},
}


@dataclass(frozen=True)
class Claim:
    """One claim of a paper (or, kind 'check', a documented fact about the data)."""

    id: str
    paper: str
    text: str                        # the claim, as the paper puts it
    kind: str                        # "value": the paper reports `value`; "order": arms[0] beats arms[1]; "check"
    metric: str                      # scikit-learn name of what is compared
    notebook: str                    # the notebook that tests it
    arms: tuple[str, ...]            # arm ids (ARMS) of that notebook: the arm (value) or arms A, B (order)
    value: float | None = None       # the paper's figure (value claims and checks)
    margin: float | None = None      # value: the band [value - margin, value + margin]; order: smallest d that matters
    when: dict = field(default_factory=dict)       # the run's params this claim needs (e.g. dataset)
    backbone: str = ""               # what the paper used; another backbone is a stand-in
    data_note: dict = field(default_factory=dict)  # dataset param -> note when our data stands in for theirs
    also: dict = field(default_factory=dict)       # the paper's other figures, shown beside (metric -> value)
    untestable: str = ""             # why this study cannot test it ("" when it can)
    protocol: str = ""               # the paper's protocol where ours differs
    test_protocol: str = "best"      # which model the paper tests (train.PROTOCOLS): "best" on validation, or "final" epoch
    protocol_reason: str = ""        # why we read the paper's test protocol so
    paper_epochs: int | None = None  # the epochs the paper trained (None: it names none, so any cap is ours)
    split: str = "test"              # "test", or "val": judged on validation (records keep per-seed scores only)


@dataclass(frozen=True)
class Evidence:
    """A computed check of a paper's own reported figures (VERDICTS.md section 8): shown beside `about`."""

    id: str
    paper: str
    text: str                        # what is checked, in words
    figures: dict                    # the paper's figures (name -> value), as printed
    rule: str                        # "near": every figure within `tolerance` of `reference`; "ratio": each
                                     # figure / reference; "spread": max - min; "statement": the paper's words
    reference: float | None = None
    reference_name: str = ""
    tolerance: float | None = None
    quote: str = ""                  # the paper's words the check rests on
    about: tuple[str, ...] = ()      # the claim ids it bears on


_000 = dict(paper="000", notebook="02_features_svm_vs_finetune", backbone="resnet50", paper_epochs=30,
            data_note={"faces": "LFW faces stand in for the paper's photos"}, test_protocol="final",
            protocol_reason="the paper's settings are MATLAB trainingOptions; trainNetwork returns the last "
                            "iteration's network unless OutputNetwork is set, so the paper most likely tested "
                            "its final epoch")
_001 = dict(paper="001", notebook="05_partial_vs_full", arms=("mlp",), when={"paper": "001"},
            backbone="resnet50", test_protocol="final", paper_epochs=50, margin=0.02,
            protocol_reason="\"the model is tested on the testing set after 50 training epochs\"",
            protocol="its \"pixel normalization\" (Keras: most likely x/255) is ImageNet mean/std normalisation "
                     "here, what our weights expect")
_003_cnn = dict(paper="003", notebook="03_cnn_from_scratch", kind="value", arms=("cnn",), test_protocol="final",
                paper_epochs=100, margin=0.02,
                protocol_reason="the paper's code tests the network after its last (100th) epoch")
_003_r18 = dict(paper="003", notebook="04_frozen_vs_full", kind="order", metric="accuracy", backbone="resnet18",
                margin=0.0, test_protocol="final", paper_epochs=10,
                protocol_reason="the paper's code tests the network after its last (10th) epoch",
                protocol="frozen arm as the paper's code: weights fixed, BatchNorm statistics adapting")
_004 = dict(paper="004", kind="order", metric="f1_macro", notebook="05_partial_vs_full", arms=("A", "B"), margin=0.0,
            test_protocol="best", protocol_reason="the paper names no epochs; we test the epoch chosen on validation")

# Margins are declared here, before any run (VERDICTS.md section 1): 2 points for FER-sized test sets;
# 0 for orders (any difference beyond noise counts).
_CLAIMS = [
    # 01: facts of the data (PROVENANCE.md), shown as checks, never counted as claims
    Claim("data.fer2013.blank_images", "all", "FER2013 has 12 completely blank images", "check", "count",
          "01_data_audit", (), value=12, margin=0),
    Claim("data.ferplus.agreement", "all", "FERPlus plurality agrees with FER2013 labels on 62.9% of named rows",
          "check", "agreement", "01_data_audit", (), value=0.629, margin=0.0005),
    # 000 (Gonzales): 8 people x 30 faces, ResNet50; the headline metric is F1 (P and R shown beside)
    Claim("000.svm.f1_macro", text="features + SVM: macro F1 63.99%", kind="value", metric="f1_macro",
          arms=("svm",), value=0.6399, margin=0.02, also={"precision_macro": 0.6250, "recall_macro": 0.6555}, **_000),
    Claim("000.finetune.f1_macro", text="fine-tuning: macro F1 94.05%", kind="value", metric="f1_macro",
          arms=("finetune",), value=0.9405, margin=0.02, also={"precision_macro": 0.9375, "recall_macro": 0.9436},
          **_000),
    Claim("000.finetune_beats_svm", text="fine-tuning beats features + SVM (F1)", kind="order", metric="f1_macro",
          arms=("finetune", "svm"), margin=0.0, **_000),
    Claim("000.finetune.train_val_acc", text="fine-tuning: training and validation accuracy 100%", kind="value",
          metric="accuracy", arms=("finetune",), value=1.0, margin=0.02,
          untestable="a property of the paper's own split of its private photos, not of the method; LFW stands "
                     "in and our report shows our training and validation curves", **_000),
    # 001 (Chen): ResNet50 + MLP head on FER2013
    Claim("001.mlp.accuracy", text="ResNet50 + MLP head: FER2013 test accuracy 85.71%", kind="value",
          metric="accuracy", value=0.8571, **_001),
    Claim("001.mlp.val_accuracy", text="ResNet50 + MLP head: validation accuracy 85.81%", kind="value",
          metric="accuracy", value=0.8581, split="val", **_001),
    Claim("001.traditional_cnn.accuracy", text="a traditional CNN: FER2013 test accuracy 64.20%", kind="value",
          metric="accuracy", value=0.6420, untestable="the paper does not describe its traditional CNN", **_001),
    # 003 (Moustafa & Smaluch): CNN from scratch on FERPlus; ResNet18 frozen vs full. Weighted recall
    # equals accuracy, so it is shown beside accuracy, not counted again.
    Claim("003.cnn.accuracy", text="test accuracy 72.57%", metric="accuracy", value=0.7257,
          also={"recall_weighted": 0.73}, **_003_cnn),
    Claim("003.cnn.f1_weighted", text="weighted F1 0.72", metric="f1_weighted", value=0.72, **_003_cnn),
    Claim("003.cnn.precision_weighted", text="weighted precision 0.73", metric="precision_weighted", value=0.73,
          **_003_cnn),
    Claim("003.resnet18.full_beats_frozen", text="full fine-tuning beats freezing (test accuracy)",
          arms=("all", "new_layers"), **_003_r18),
    Claim("003.resnet18.augmentation_hurts", text="augmentation hurts full fine-tuning (test accuracy)",
          arms=("all", "all_aug"), **_003_r18),
    # 004: strategy A (last block + head) beats B (everything, smaller lr), "especially on macro metrics":
    # judged on macro F1, accuracy shown beside
    Claim("004.fer2013.a_beats_b", text="A beats B on FER2013 (macro F1)", when={"paper": "004", "dataset": "fer2013"},
          backbone="resnet50", **_004),
    Claim("004.deepweeds.a_beats_b", text="A beats B on DeepWeeds (macro F1)",
          when={"paper": "004", "dataset": "deepweeds"}, backbone="efficientnet_b0",
          data_note={"plants": "Plant Seedlings stands in for DeepWeeds"}, **_004),
]

_EVIDENCE = [
    Evidence("001.accuracies_at_six_sevenths", "001",
             "its training, validation and test accuracies all lie within 0.002 of 6/7, the binary accuracy of a "
             "7-class one-hot model that predicts no class (a Keras 'accuracy' read as binary accuracy)",
             {"training": 0.8580, "validation": 0.8581, "test": 0.8571}, "near", reference=6 / 7,
             reference_name="6/7", tolerance=0.002, quote="Table 2: accuracy 0.8580, 0.8581, 0.8571",
             about=("001.mlp.accuracy", "001.mlp.val_accuracy")),
    Evidence("001.losses_near_chance", "001",
             "its cross-entropy losses are close to chance, ln 7 (a model right 86% of the time has a far lower loss)",
             {"training": 1.71, "validation": 1.68, "test": 1.78}, "ratio", reference=math.log(7),
             reference_name="ln 7", quote="Table 2: loss 1.71, 1.68, 1.78",
             about=("001.mlp.accuracy", "001.mlp.val_accuracy")),
    Evidence("003.three_test_figures", "003", "it gives three different test accuracies for its CNN",
             {"results section": 0.7257, "conclusion": 0.7252, "future work": 0.716}, "spread",
             quote="\"72.57%\"; \"maximum test accuracy of 72.52% after only 100 epochs\"; \"a high accuracy of 71.6%\"",
             about=("003.cnn.accuracy",)),
    Evidence("003.selection_on_test", "003", "it chose its CNN among networks compared on test accuracy, so its "
             "test figure is not an untouched estimate", {"reported": 0.7257, "others, approaching": 0.74}, "statement",
             quote="\"Even though we obtained test accuracy of other networks approaching 74%, we chose this one as it "
                   "gave the best accuracy/confusion-matrix balance\"", about=("003.cnn.accuracy",)),
]

_RULES = ("near", "ratio", "spread", "statement")


def load(claims, evidence=(), arms=None, where: str = "studylib/study/claims.py") -> tuple[dict, dict]:
    """({id: Claim}, {id: Evidence}) after checking every entry; RegistryError naming `where`, the entry and
    the key otherwise: a duplicated id, an unknown kind, metric or test protocol, a claim without a margin, a
    value claim without a value, or an arm id the claim's notebook does not define (ARMS)."""
    from .stats import METRICS
    arms = ARMS if arms is None else arms
    out: dict[str, Claim] = {}
    for c in claims:
        bad = lambda key, why: RegistryError(f"{where}: claim {c.id!r}, key {key!r}: {why}")  # noqa: E731
        if c.id in out:
            raise bad("id", "duplicated; every claim id must be unique")
        if c.kind not in ("value", "order", "check"):
            raise bad("kind", f"{c.kind!r} is not one of value, order, check")
        if c.margin is None:
            raise bad("margin", "missing; declare the band (value) or the smallest difference that matters (order)")
        if c.test_protocol not in PROTOCOLS:
            raise bad("test_protocol", f"unknown {c.test_protocol!r}; valid: {', '.join(PROTOCOLS)}")
        if c.kind != "check":
            if c.metric not in METRICS:
                raise bad("metric", f"unknown {c.metric!r}; valid: {', '.join(METRICS)}")
            if c.kind == "value" and c.value is None:
                raise bad("value", "a value claim needs the paper's figure")
            if len(c.arms) != (1 if c.kind == "value" else 2):
                raise bad("arms", f"a {c.kind} claim names {1 if c.kind == 'value' else 2} arm id(s), got {c.arms}")
            defined = arms.get(c.notebook)
            if defined is None:
                raise bad("notebook", f"{c.notebook!r} defines no arms; notebooks: {', '.join(arms)}")
            unknown = [a for a in c.arms if a not in defined]
            if unknown:
                raise bad("arms", f"arm id(s) {', '.join(map(repr, unknown))} are not defined by {c.notebook} "
                                  f"(its arms: {', '.join(defined)})")
        out[c.id] = c
    ev: dict[str, Evidence] = {}
    for e in evidence:
        if e.id in ev or e.id in out:
            raise RegistryError(f"{where}: evidence {e.id!r}, key 'id': duplicated")
        if e.rule not in _RULES:
            raise RegistryError(f"{where}: evidence {e.id!r}, key 'rule': {e.rule!r} is not one of {', '.join(_RULES)}")
        missing = [a for a in e.about if a not in out]
        if missing:
            raise RegistryError(f"{where}: evidence {e.id!r}, key 'about': no claim {', '.join(missing)}")
        ev[e.id] = e
    return out, ev


CLAIMS, EVIDENCE = load(_CLAIMS, _EVIDENCE)


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def arm_label(notebook: str, arm: str) -> str:
    """The display label of an arm id (the id itself when the notebook does not list it)."""
    return ARMS.get(notebook, {}).get(arm, arm)


def arm_id(notebook: str, label: str, params=None) -> str:
    """The stable id of the arm a record or a notebook shows as `label`: the run's own arms first (their
    `id`), then the registry's labels (records written before ids), else a slug of the label."""
    for arm in (_get(params, "arms") or []) if params is not None else []:
        name, aid = (arm.get("name"), arm.get("id")) if isinstance(arm, dict) else (arm.name, arm.id)
        if name == label and aid:
            return aid
    by_label = {v: k for k, v in ARMS.get(notebook, {}).items()}
    return by_label.get(label, _slug(label))


def _get(params, key):
    return params.get(key) if isinstance(params, dict) else getattr(params, key, None)


def tests(claim: Claim, params) -> bool:
    """Whether a run with these params (a dataclass or a record's dict) tests the claim: its `when` holds
    (our stand-in dataset counts) and, for a claim about pretrained weights, the run is pretrained."""
    if claim.backbone and _get(params, "pretrained") is False:
        return False
    for key, want in claim.when.items():
        have = _get(params, key)
        if have != want and not (key == "dataset" and have in claim.data_note):
            return False
    return True


def for_run(notebook: str, params, kind: str | None = None) -> list[Claim]:
    """The registry's claims a run of `notebook` with `params` tests, in registry order."""
    return [c for c in CLAIMS.values() if c.notebook == notebook and tests(c, params)
            and (kind is None or c.kind == kind)]


def stand_in(claim: Claim, params) -> str:
    """What in this run stands in for the paper's setting ('' when nothing does)."""
    backbone = _get(params, "backbone") or ""
    notes = [f"{backbone} stands in for {claim.backbone}" if claim.backbone and backbone != claim.backbone else "",
             claim.data_note.get(_get(params, "dataset") or "", "")]
    return "; ".join(n for n in notes if n)
