"""The claim registry: every paper figure the study tests, written once (see VERDICTS.md, section 1).

Notebooks and the scorecard read the figures from here; nothing else types them. `study.verdicts`
judges them (VERDICTS.md sections 3-5).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..train.experiment import PROTOCOLS

__all__ = ["CLAIMS", "Claim", "for_run", "stand_in", "tests"]


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
    margin: float = 0.02             # value: the band [value - margin, value + margin]; order: smallest d that matters
    when: dict = field(default_factory=dict)       # the run's params this claim needs (e.g. dataset)
    backbone: str = ""               # what the paper used; another backbone is a stand-in
    data_note: dict = field(default_factory=dict)  # dataset param -> note when our data stands in for theirs
    also: dict = field(default_factory=dict)       # the paper's other figures, shown beside (metric -> value)
    untestable: str = ""             # why this study cannot test it ("" when it can)
    protocol: str = ""               # the paper's protocol where ours differs
    test_protocol: str = "best"      # which model the paper tests (train.PROTOCOLS): "best" on validation, or "final" epoch

    def __post_init__(self):
        if self.test_protocol not in PROTOCOLS:
            raise ValueError(f"claim {self.id}: unknown test_protocol {self.test_protocol!r}; valid: {', '.join(PROTOCOLS)}")


# Margins are declared here, before any run (VERDICTS.md section 1): 2 points for FER-sized test sets;
# 0 for orders (any difference beyond noise counts).
_000 = dict(paper="000", notebook="02_features_svm_vs_finetune", backbone="resnet50",
            data_note={"faces": "LFW faces stand in for the paper's photos"})
_001 = dict(paper="001", notebook="05_partial_vs_full", arms=("001: last layers + MLP head",), when={"paper": "001"},
            backbone="resnet50", test_protocol="final",
            protocol="the paper tests its final (50th) epoch, as we do; its \"pixel normalization\" (Keras: "
                     "most likely x/255) is ImageNet mean/std normalisation here, what our weights expect")
_003_cnn = dict(paper="003", notebook="03_cnn_from_scratch", kind="value", arms=("small CNN (seed 003)",),
                test_protocol="final")
_003_r18 = dict(paper="003", notebook="04_frozen_vs_full", kind="order", metric="accuracy", backbone="resnet18",
                margin=0.0, test_protocol="final",
                protocol="frozen arm as the paper's code: weights fixed, BatchNorm statistics adapting")

CLAIMS = {c.id: c for c in [
    # 01: facts of the data (PROVENANCE.md), shown as checks, never counted as claims
    Claim("data.fer2013.blank_images", "all", "FER2013 has 12 completely blank images", "check", "count",
          "01_data_audit", (), value=12, margin=0),
    Claim("data.ferplus.agreement", "all", "FERPlus plurality agrees with FER2013 labels on 62.9% of named rows",
          "check", "agreement", "01_data_audit", (), value=0.629, margin=0.0005),
    # 000 (Gonzales): 8 people x 30 faces, ResNet50; the headline metric is F1 (P and R shown beside)
    Claim("000.svm.f1_macro", text="features + SVM: macro F1 63.99%", kind="value", metric="f1_macro",
          arms=("features + SVM",), value=0.6399, also={"precision_macro": 0.6250, "recall_macro": 0.6555}, **_000),
    Claim("000.finetune.f1_macro", text="fine-tuning: macro F1 94.05%", kind="value", metric="f1_macro",
          arms=("fine-tuned",), value=0.9405, also={"precision_macro": 0.9375, "recall_macro": 0.9436}, **_000),
    Claim("000.finetune_beats_svm", text="fine-tuning beats features + SVM (F1)", kind="order", metric="f1_macro",
          arms=("fine-tuned", "features + SVM"), margin=0.0, **_000),
    Claim("000.finetune.train_val_acc", text="fine-tuning: training and validation accuracy 100%", kind="value",
          metric="accuracy", arms=("fine-tuned",), value=1.0,
          untestable="a property of the paper's own split of its private photos, not of the method; LFW stands "
                     "in and our report shows our training and validation curves", **_000),
    # 001 (Chen): ResNet50 + MLP head on FER2013
    Claim("001.mlp.accuracy", text="ResNet50 + MLP head: FER2013 test accuracy 85.71%", kind="value",
          metric="accuracy", value=0.8571, **_001),
    Claim("001.mlp.val_accuracy", text="ResNet50 + MLP head: validation accuracy 85.81%", kind="value",
          metric="accuracy", value=0.8581, untestable="measured on the paper's own random 20% of Training, which "
          "it does not publish; the test figure is the claim we test", **_001),
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
          arms=("all", "all + seed003 augmentation"), **_003_r18),
    # 004: strategy A (last block + head) beats B (everything, smaller lr), "especially on macro metrics":
    # judged on macro F1, accuracy shown beside
    *[Claim(f"004.{ds}.a_beats_b", "004", f"A beats B on {name} (macro F1)", "order", "f1_macro",
            "05_partial_vs_full", ("A: last block + head", "B: everything, smaller lr"), margin=0.0,
            when={"paper": "004", "dataset": ds}, backbone=net, data_note=note)
      for ds, name, net, note in (("fer2013", "FER2013", "resnet50", {}),
                                  ("deepweeds", "DeepWeeds", "efficientnet_b0",
                                   {"plants": "Plant Seedlings stands in for DeepWeeds"}))],
]}


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
