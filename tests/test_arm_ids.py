"""Arms by id end to end: a record keys its per-arm metrics and predictions by arm id and keeps each arm's
display label in `arms`; a record written before ids (keyed by label) is read through the one reader of
label keys (`study.claims.by_id`, via `record_arms`); an arm's scope is resolved in one place (`Arm.resolve`)."""
import json
from pathlib import Path

import numpy as np
import pytest

from studylib import paths
from studylib.io import to_jsonable
from studylib.report import records, scorecard
from studylib.study import claims
from studylib.study.experiments import Arm, arm_scope, resolve

CPU = paths.ROOT / "reports" / "cpu" / "results"


def _committed(name):
    path = CPU / f"{name}.json"
    return path, json.loads(path.read_text())


def test_a_committed_record_keyed_by_label_reads_by_arm_id():
    path, rec = _committed("05_partial_vs_full-fer2013--seed0")
    assert "arms" not in rec and "A: last block + head" in rec["metrics"]  # written before ids
    metrics = claims.record_arms(rec, rec["metrics"])
    assert set(metrics) == {"A", "A2", "B", "B_random"}
    assert metrics["A"] is rec["metrics"]["A: last block + head"]
    preds = {proto: claims.record_arms(rec, per) for proto, per in records.read_predictions(path, rec).items()}
    assert set(preds) == {"best", "final"} and all(set(per) == set(metrics) for per in preds.values())
    # features + SVM is no Arm of notebook 02: its id comes from the registry's labels (papers/000.yaml)
    path, rec = _committed("02_features_svm_vs_finetune--seed0")
    assert set(claims.record_arms(rec, rec["metrics"])) == {"finetune", "svm"}
    assert set(claims.record_arms(rec, records.read_predictions(path, rec)["final"])) == {"finetune", "svm"}


def test_a_record_keys_by_id_and_keeps_the_labels_once(tmp_path):
    p = resolve("02_features_svm_vs_finetune", {})
    y = np.array([0, 1, 2, 1])
    label = p.arms[0].name
    metrics, preds, arms = records.by_arm_id(
        "02_features_svm_vs_finetune", p, {label: {"test": {"accuracy": 1.0}}, "features + SVM": {}, "other": 1},
        {"best": {label: (y, y), "features + SVM": (y, y)}, "final": {label: (y, y), "features + SVM": (y, y)}})
    assert set(metrics) == {"finetune", "svm", "other"}  # an entry that is no arm's stays as it is
    assert arms == {"finetune": label, "svm": claims.arm_label("02_features_svm_vs_finetune", "svm")}
    info = records.write_predictions(tmp_path / "r.npz", preds)
    assert set(info["protocols"]["best"]) == {"finetune", "svm"}
    rec = records.make_record("02", "000", {"arms": [{"id": "finetune", "name": label}]}, metrics,
                              records.Provenance({}, {}, 1.0, "cpu"), [], arms)
    rec = {**rec.__dict__, "notebook": "02_features_svm_vs_finetune", "predictions": info}
    records.write_record(rec, tmp_path / "r.json")
    back = json.loads((tmp_path / "r.json").read_text())
    assert back["arms"] == arms and set(claims.record_arms(back, back["metrics"])) == {"finetune", "svm"}
    assert set(claims.record_arms(back, records.read_predictions(tmp_path / "r.json", back)["best"])) == set(arms)
    # a renamed arm: its id keys the record whatever its label, and the label is shown from the record
    renamed = resolve("05_partial_vs_full", {"arms": [{"id": "A", "name": "A, renamed", "scope": "freeze_to"}]})
    metrics, _, arms = records.by_arm_id("05_partial_vs_full", renamed, {"A, renamed": {}}, None)
    assert set(metrics) == {"A"} and arms == {"A": "A, renamed"}


def test_the_recomputed_cpu_scorecard_equals_the_committed_one():
    recs = scorecard.read(CPU)
    card, _ = scorecard.evaluate(recs, "cpu")
    got = json.loads(json.dumps(to_jsonable(card.to_dict("records"))))
    want = json.loads((CPU / "06_scorecard.json").read_text())["metrics"]["claims"]
    keys = ("id", "run", "verdict", "estimate", "ci", "flags", "sentence", "p_adjusted", "regime", "arm_labels")
    assert [{k: r.get(k) for k in keys} for r in got] == [{k: r.get(k) for k in keys} for r in want]


def test_an_arm_scope_is_resolved_in_one_place():
    p = resolve("05_partial_vs_full", {"freeze_to": -2})
    a, b = p.arms[0], Arm("x", "freeze_to")
    assert a.resolve(p) == ("freeze_to", -1) and b.resolve(p) == ("freeze_to", -2)  # its own, else the experiment's
    assert Arm("x", "all", freeze_to=-3).resolve(p) == ("all", None)
    assert arm_scope({"name": "x", "scope": "freeze_to"}, {}) == ("freeze_to", -1)  # a record's arm, no default
    assert arm_scope({"name": "x", "scope": "freeze_to", "freeze_to": None}, {"freeze_to": -2}) == ("freeze_to", -2)
    with pytest.raises(ValueError, match="unknown scope 'last_n'"):
        Arm("x", "last_n")


def test_no_arm_display_label_is_typed_in_two_modules():
    labels = {label for arms in claims.ARMS.values() for label in arms.values() if " " in label or ":" in label}
    modules = sorted(Path(paths.ROOT / "studylib").rglob("*.py"))
    for label in labels:
        where = [m.name for m in modules if f'"{label}"' in m.read_text(encoding="utf-8")]
        assert len(where) <= 1, (label, where)
