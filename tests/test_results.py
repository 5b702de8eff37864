"""Run records: build, atomic write, load back into the scorecard table, clear errors."""
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from studylib.report import records as results
from studylib.metrics import classification_metrics


@dataclass(frozen=True)
class Params:
    epochs: int = 2
    lr: float = 1e-3


def record(experiment="03-cnn-scratch", claims=None):
    m = classification_metrics([0, 1, 1, 2], [0, 1, 2, 2], ["a", "b", "c"])
    return results.make_record(
        experiment=experiment, paper="003", params=Params(),
        metrics={"accuracy": np.float32(0.75), "n_test": np.int64(4), "report": m["report"],
                 "confusion": m["confusion"], "ci": (0.5, 1.0), "missing": float("nan")},
        provenance=results.Provenance(data_sources={"/data/fer2013.csv": "ab" * 32},
                                      weights={"backbone": "random init"}, wall_time_s=12.5, device="cpu"),
        claims=claims if claims is not None else [
            dict(id="003.cnn.accuracy", claim="CNN test accuracy", paper_value=0.7257, estimate=np.float64(0.61),
                 ci=(np.float64(0.59), 0.63), verdict="does not hold", note="demo data"),
            dict(id="003.cnn.f1_weighted", claim="weighted F1", paper_value=0.72, estimate=0.6, verdict="differs")])


def test_make_record_adds_provenance():
    rec = record()
    assert rec.params == {"epochs": 2, "lr": 1e-3}
    assert {"python", "torch", "torchvision", "sklearn", "numpy"} <= set(rec.versions)
    assert rec.versions["torch"].startswith("2.")
    assert rec.git_commit == "unknown" or len(rec.git_commit.split("-")[0]) == 40
    assert rec.timestamp.endswith("+00:00")
    assert rec.claims[1]["ci"] is None and rec.claims[1]["note"] == ""


def test_git_commit_outside_a_repo_is_unknown(tmp_path):
    assert results.git_commit(tmp_path) == "unknown"


def test_make_record_rejects_malformed_claims():
    with pytest.raises(ValueError, match="verdict"):
        record(claims=[dict(id="x", claim="x", paper_value=1, estimate=2)])
    with pytest.raises(ValueError, match="ci"):
        record(claims=[dict(id="x", claim="x", paper_value=1, estimate=2, verdict="holds", ci=(1, 2, 3))])


def test_write_load_round_trip(tmp_path):
    path = results.write_record(record(), tmp_path / "03" / "cnn.json")
    results.write_record(record("04-resnet18", claims=[dict(id="o", claim="full > frozen", paper_value="yes",
                                                             estimate=-0.1, verdict="inconclusive")]),
                         tmp_path / "04.json")
    raw = json.loads(path.read_text())  # strict JSON: NaN became null, numpy became plain numbers
    assert raw["metrics"]["accuracy"] == pytest.approx(0.75) and raw["metrics"]["missing"] is None
    assert raw["metrics"]["confusion"] == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    assert raw["metrics"]["report"][0]["class"] == "a"

    df = results.load_records(tmp_path)
    assert isinstance(df, pd.DataFrame) and len(df) == 3  # one row per claim
    assert list(df.columns[:10]) == ["experiment", "paper", "id", "claim", "paper_value", "estimate", "ci_low",
                                    "ci_high", "verdict", "note"]
    row = df[df["claim"] == "CNN test accuracy"].iloc[0]
    assert (row["ci_low"], row["ci_high"], row["estimate"]) == (0.59, 0.63, 0.61)
    assert row["experiment"] == "03-cnn-scratch" and row["device"] == "cpu" and row["file"] == str(path)
    assert math.isnan(df[df["claim"] == "weighted F1"].iloc[0]["ci_low"])


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch):
    path = results.write_record(record(), tmp_path / "r.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    before = path.read_text()
    # a record that cannot be serialised, or a failing disk, leaves the old file intact and no temp file
    bad = record()
    bad.metrics["model"] = object()
    with pytest.raises(TypeError, match="object"):
        results.write_record(bad, path)
    monkeypatch.setattr(results.Path, "write_text", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        results.write_record(record(), path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_malformed_json_error_names_the_file(tmp_path):
    results.write_record(record(), tmp_path / "good.json")
    (tmp_path / "broken.json").write_text('{"experiment": "x", ')
    with pytest.raises(ValueError, match="broken.json"):
        results.load_records(tmp_path)
    (tmp_path / "broken.json").write_text('{"experiment": "x"}')
    with pytest.raises(ValueError, match=r"broken.json.*not a run record"):
        results.load_records(tmp_path)


def test_empty_folder_gives_empty_table(tmp_path):
    df = results.load_records(tmp_path)
    assert df.empty and "verdict" in df.columns
