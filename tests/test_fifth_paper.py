"""A paper is data: a made-up paper (099), added only as a file under a temporary papers folder plus a run
in a temporary profile (reusing notebook 05), is judged on the demo scorecard. No Python is edited."""
import json
import shutil

import pytest
import yaml

from studylib import paths, runner

PAPER = {
    "paper": "099",
    "reference": {"authors": "Doe & Roe", "title": "Pretraining beats random initialisation on FER2013"},
    "arms": {},
    "claims": [{"id": "099.pretrained_beats_random", "text": "ImageNet weights beat random initialisation (macro F1)",
                "kind": "order", "metric": "f1_macro", "notebook": "05_partial_vs_full", "arms": ["B", "B_random"],
                "margin": 0.0, "when": {"paper": "099"}, "test_protocol": "best",
                "protocol_reason": "the paper selects its model on validation", "paper_epochs": 20}],
}
PROFILE = {
    "profile": "fifth", "data_dir": "generated", "seeds": [0],
    "defaults": {"train": {"device": "cpu"}},
    "runs": [{"name": "05-fifth", "notebook": "05_partial_vs_full",
              "params": {"paper": "099", "dataset": "fer2013", "backbone": "efficientnet_lite0", "max_train": 300,
                         "max_eval": 200, "train": {"epochs": 1, "batch_size": 32},
                         "arms": [{"id": "B", "name": "B: everything, smaller lr", "scope": "all", "train": {"lr": 1.0e-4}},
                                  {"id": "B_random", "name": "B from random init", "scope": "all", "pretrained": False,
                                   "train": {"lr": 1.0e-3}}]}},
             {"name": "06_scorecard", "notebook": "06_scorecard"}],
}


@pytest.mark.slow
def test_a_fifth_paper_added_as_a_file_is_judged_on_the_scorecard(tmp_path, monkeypatch):
    papers = tmp_path / "papers"
    shutil.copytree(paths.ROOT / "papers", papers)
    (papers / "099.yaml").write_text(yaml.safe_dump(PAPER, sort_keys=False))
    monkeypatch.setenv("STUDYLIB_PAPERS", str(papers))  # the notebooks' kernels inherit it through Ray
    profile = tmp_path / "fifth.yaml"
    profile.write_text(yaml.safe_dump(PROFILE, sort_keys=False))
    out = tmp_path / "out"
    assert runner.run_profile(str(profile), out_dir=out, workers=1, allow_dirty=True) == 0
    card = json.loads((out / "results" / "06_scorecard.json").read_text())
    rows = {c["id"]: c for c in card["metrics"]["claims"]}
    row = rows["099.pretrained_beats_random"]
    assert row["run"] == "05-fifth" and row["n"] == 1 and row["estimate"] is not None
    assert row["verdict"] in ("holds", "contradicted", "inconclusive") and row["sentence"]
    assert row["paper"] == "099" and row["regime"]
    assert rows["004.fer2013.a_beats_b"]["note"] == "no run of this profile tests it"
