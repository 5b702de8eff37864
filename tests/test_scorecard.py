"""The claim registry, per-claim verdicts from per-seed predictions, Holm across orders, and the scorecard
built from run records (seeds paired on the same test images; mixed commits refused)."""
import json

import numpy as np

import pytest

from studylib.report import records, scorecard
from studylib.study import claims, verdicts
from studylib.study.experiments import resolve

PAPERS = {"000", "001", "003", "004"}


def test_registry_covers_every_paper_once_with_declared_margins():
    reg = claims.CLAIMS
    assert {c.paper for c in reg.values()} >= PAPERS
    for c in reg.values():
        assert c.kind in ("value", "order", "check") and c.margin >= 0, c.id
        if c.kind == "value":
            assert c.value is not None, c.id
        if c.kind == "order":
            assert len(c.arms) == 2 and c.margin == 0, c.id
    # one row per claim: weighted recall equals accuracy and is shown beside it, not counted again
    assert not any(c.metric == "recall_weighted" for c in reg.values())
    assert reg["003.cnn.accuracy"].also["recall_weighted"] == 0.73
    # every number a paper reports is tested or listed as not testable, with why
    for cid in ("001.traditional_cnn.accuracy", "000.finetune.train_val_acc"):
        assert reg[cid].untestable, cid
    # our validation set is also a random stratified 20% of Training: judged, on validation
    assert not reg["001.mlp.val_accuracy"].untestable and reg["001.mlp.val_accuracy"].split == "val"
    # paper 000 (MATLAB trainNetwork returns the last iteration's network) is judged on its final epoch
    assert {c.test_protocol for c in reg.values() if c.paper == "000"} == {"final"}
    assert all(c.protocol_reason for c in reg.values() if c.kind != "check")
    # data facts are checks, never paper claims
    assert {c.paper for c in reg.values() if c.kind == "check"} == {"all"}


def test_claims_a_run_tests_follow_its_params():
    p04 = resolve("05_partial_vs_full", {"dataset": "plants"})
    ids = [c.id for c in claims.for_run("05_partial_vs_full", p04)]
    assert ids == ["004.deepweeds.a_beats_b"]  # plants stand in for DeepWeeds
    assert "Plant Seedlings stands in" in claims.stand_in(claims.CLAIMS[ids[0]], p04)
    random_init = resolve("04_frozen_vs_full", {"pretrained": False})
    assert claims.for_run("04_frozen_vs_full", random_init) == []  # a transfer claim needs pretrained weights


def _preds(acc, n=400, seed=0, k=5, base=None):
    """(y_true, y_pred) with about `acc` accuracy on one test set of n images (every seed scores the same
    images); `base` shares its images."""
    rng = np.random.default_rng(seed)
    y = base[0] if base is not None else np.random.default_rng(12345).integers(0, k, n)
    wrong = rng.random(len(y)) > acc
    return y, np.where(wrong, (y + 1) % k, y)


def _judge(cid, per_seed, profile="cpu"):
    p = resolve(claims.CLAIMS[cid].notebook, {"backbone": "resnet18"} if cid.startswith("003.resnet18") else {})
    return verdicts.judge(claims.CLAIMS[cid], per_seed, p, profile, "run")


def test_order_clear_win_on_every_seed_holds_and_a_clear_loss_is_contradicted():
    a = [_preds(0.80, seed=s) for s in range(5)]
    b = [_preds(0.60, seed=s + 10, base=a[s]) for s in range(5)]
    win = _judge("003.resnet18.full_beats_frozen", {"all": a, "new_layers": b})
    assert win["verdict"] == "holds" and win["wins"] == "5 of 5" and win["n"] == 5 and win["ci"][0] > 0
    loss = _judge("003.resnet18.full_beats_frozen", {"all": b, "new_layers": a})
    assert loss["verdict"] == "contradicted" and loss["ci"][1] < 0


def test_order_with_one_seed_flipping_and_a_straddling_interval_is_inconclusive():
    a, b = [], []
    for s, acc_b in enumerate([0.68, 0.69, 0.68, 0.69, 0.76]):  # A (0.70) wins four small, loses one big
        a.append(_preds(0.70, seed=s))
        b.append(_preds(acc_b, seed=s + 10, base=a[-1]))
    row = _judge("003.resnet18.full_beats_frozen", {"all": a, "new_layers": b})
    assert row["ci"][0] < 0 < row["ci"][1] and row["verdict"] == "inconclusive"


def test_value_verdicts_match_differ_and_a_huge_interval_is_inconclusive():
    near = [_preds(0.7257, n=3000, seed=s) for s in range(5)]
    assert _judge("003.cnn.accuracy", {"cnn": near})["verdict"] == "matches"
    low = [_preds(0.60, n=3000, seed=s) for s in range(5)]
    assert _judge("003.cnn.accuracy", {"cnn": low})["verdict"] == "differs"
    tiny = [_preds(0.7257, n=20, seed=s) for s in range(2)]  # 20 test images: the interval dwarfs the band
    row = _judge("003.cnn.accuracy", {"cnn": tiny})
    assert row["ci"][1] - row["ci"][0] > 0.04 and row["verdict"] == "inconclusive"
    assert _judge("003.cnn.accuracy", {"cnn": near}, "demo")["verdict"] == "not testable here"


def test_stand_in_runs_are_indicative_and_holm_adjusts_order_p_values():
    a = [_preds(0.80, seed=s) for s in range(3)]
    b = [_preds(0.75, seed=s + 10, base=a[s]) for s in range(3)]
    rows = [_judge("003.resnet18.full_beats_frozen", {"all": a, "new_layers": b}),
            _judge("003.resnet18.augmentation_hurts", {"all": a, "all_aug": a})]
    assert not rows[0]["indicative"]
    p_raw = [r["p"] for r in rows]
    verdicts.adjust(rows)
    assert all(r["p_adjusted"] >= p for r, p in zip(rows, p_raw))
    p = resolve("04_frozen_vs_full", {"backbone": "efficientnet_lite0"})
    row = verdicts.judge(claims.CLAIMS["003.resnet18.full_beats_frozen"], {"all": a, "new_layers": b}, p, "cpu")
    assert row["indicative"] and "efficientnet_lite0 stands in for resnet18" in row["stand_in"]


def _write(folder, task, run, seed, preds, commit="abc", profile="cpu", final=None):
    """A run record of notebook 03 with per-image predictions: `preds` of the epoch chosen on validation,
    `final` of the final epoch (default: the same model)."""
    preds = {"best": preds, "final": final or preds}
    params = {**resolve("03_cnn_from_scratch", {"seed": seed}).__dict__}
    rec = records.make_record(run, "003", params, {}, {}, {}, 1.0, "cpu", [])
    rec = {**rec.__dict__, "git_commit": commit, "run_name": run, "task": task, "seed": seed,
           "notebook": "03_cnn_from_scratch", "profile": profile,
           "predictions": records.write_predictions(folder / f"{task}.npz", preds)}
    records.write_record(rec, folder / f"{task}.json")


def test_scorecard_pairs_seeds_from_records_and_refuses_mixed_commits(tmp_path):
    for s in (0, 1):
        _write(tmp_path, f"03--seed{s}", "03", s, {"small CNN (seed 003)": _preds(0.72, n=500, seed=s)})
    card, _ = scorecard.evaluate(scorecard.read(tmp_path), "cpu")
    row = card[card["id"] == "003.cnn.accuracy"].iloc[0]
    assert row["n"] == 2 and len(row["seeds"]) == 2 and row["run"] == "03"
    assert set(card[card["id"] == "001.traditional_cnn.accuracy"]["verdict"]) == {"not testable here"}
    assert "n" in scorecard.table(card).columns and "paper claims" in scorecard.headline(card)
    _write(tmp_path, "03--seed2", "03", 2, {"small CNN (seed 003)": _preds(0.72, seed=2)}, commit="def")
    with pytest.raises(ValueError, match="2 different git_commits"):
        scorecard.read(tmp_path)
    assert len(scorecard.read(tmp_path, allow_mixed=True)) == 3


def test_predictions_are_checked_against_the_record(tmp_path):
    _write(tmp_path, "t", "03", 0, {"small CNN (seed 003)": _preds(0.7, seed=0)})
    (tmp_path / "t.npz").write_bytes(b"not the predictions")
    path = tmp_path / "t.json"
    with pytest.raises(ValueError, match="sha256 differs"):
        records.read_predictions(path, dict(records.iter_records(tmp_path))[path])


def test_runner_refuses_a_dirty_tree_unless_allowed_and_records_store_the_diff(monkeypatch, tmp_path):
    from studylib import runner
    monkeypatch.setattr(records, "git_commit", lambda cwd=None: "abc123-dirty")
    with pytest.raises(runner.DirtyTreeError, match="uncommitted changes.*--allow-dirty"):
        runner.check_clean("cpu", allow_dirty=False)
    runner.check_clean("cpu", allow_dirty=True)   # allowed: goes on
    runner.check_clean("demo", allow_dirty=False)  # the demo proves the pipeline, it carries no verdict
    monkeypatch.setattr(records, "git_diff", lambda cwd=None: "diff --git a/x b/x\n+changed\n")
    rec = records.make_record("r", "003", {}, {}, {}, {}, 1.0, "cpu", [])
    assert rec.git_commit.endswith("-dirty") and "+changed" in rec.git_diff
    monkeypatch.setattr(records, "git_commit", lambda cwd=None: "abc123")
    assert records.make_record("r", "003", {}, {}, {}, {}, 1.0, "cpu", []).git_diff == ""


def test_readme_results_block_is_generated_from_the_committed_records(tmp_path):
    from studylib import paths
    from studylib.report import summary
    readme = (paths.ROOT / "README.md").read_text()
    block = readme.split(summary.BEGIN)[1].split(summary.END)[0].strip()
    assert block == summary.markdown(paths.REPORTS / "cpu" / "results", "cpu")  # typed by no one
    doc = tmp_path / "doc.md"
    doc.write_text(f"before\n{summary.BEGIN}\nold\n{summary.END}\nafter\n")
    summary.write_between_markers(doc, "new")
    assert doc.read_text() == f"before\n{summary.BEGIN}\nnew\n{summary.END}\nafter\n"
    (tmp_path / "none.md").write_text("no markers")
    with pytest.raises(ValueError, match="needs the markers"):
        summary.write_between_markers(tmp_path / "none.md", "x")


def _record(folder, task, notebook, seed, timestamp, claims, **extra):
    rec = {"experiment": task.split("--")[0], "paper": "003", "device": "cpu", "git_commit": "a" * 40,
           "timestamp": timestamp, "wall_time_s": 1.0, "notebook": notebook, "run_name": task.split("--")[0],
           "task": task, "seed": seed, "claims": claims, "headline": "", **extra}
    (folder / f"{task}.json").write_text(json.dumps(rec))


def test_readme_block_shows_the_scorecard_once_it_is_newer_than_every_record(tmp_path):
    """Until the scorecard has judged every record, the block says the render is in progress and shows each
    seed's own figure (never a one-seed verdict); then one row per claim, over the seeds, from the card."""
    from studylib.report import summary
    one = {"claim": "test accuracy 72.57%", "paper_value": 0.7257, "verdict": "matches", "n": 1}
    for seed, acc in ((0, 0.71), (1, 0.72)):
        _record(tmp_path, f"cnn--seed{seed}", "03_cnn_from_scratch", seed, f"2026-01-0{seed + 2}T00:00:00",
                [{**one, "estimate": acc}])
    card = {"id": "003.cnn.accuracy", "paper": "003", "claim": one["claim"], "paper_value": 0.7257,
            "estimate": 0.715, "sd": 0.007, "n": 2, "ci": [0.70, 0.73], "verdict": "inconclusive",
            "indicative": False, "kind": "value", "margin": 0.02, "regime": "48 px", "budget_limited": "",
            "flags": {"cnn": ["cap-bound on seed 0 of 2"]}, "arm_labels": {"cnn": "small CNN"}}
    _record(tmp_path, "06_scorecard", "06_scorecard", 0, "2026-01-02T12:00:00", [],
            metrics={"claims": [card]}, headline="1 paper claim")  # older than seed 1's record
    block = summary.markdown(tmp_path, "p")
    assert block.startswith("A render in progress: 2 run records") and "| cnn | 0, 1 | test accuracy 72.57% " \
        "| 0.7257 | 0.7100, 0.7200 |" in block and "inconclusive" not in block
    _record(tmp_path, "06_scorecard", "06_scorecard", 0, "2026-01-04T00:00:00", [],
            metrics={"claims": [card]}, headline="1 paper claim")
    block = summary.markdown(tmp_path, "p")
    assert "judged the 2 run records" in block and "| 003.cnn.accuracy | test accuracy 72.57% | 0.7257 ± 0.02 | " \
        "0.7150 ± 0.0070 | 2 | [0.700, 0.730] | inconclusive | — | 48 px | small CNN: cap-bound on seed 0 of 2 |" in block


def test_an_image_folder_is_hashed_over_its_file_list_and_bytes(tmp_path):
    import os
    from studylib.io import sha256_folder
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.jpg").write_bytes(b"one")
    (tmp_path / "a" / "2.jpg").write_bytes(b"two")
    first = sha256_folder(tmp_path, ["a/2.jpg", "a/1.jpg"])
    assert first == sha256_folder(tmp_path, ["a/1.jpg", "a/2.jpg"])  # order-free
    (tmp_path / "a" / "2.jpg").write_bytes(b"tw0")
    os.utime(tmp_path / "a" / "2.jpg", ns=(1, 1))
    assert sha256_folder(tmp_path, ["a/1.jpg", "a/2.jpg"]) != first  # a changed byte
    assert sha256_folder(tmp_path, ["a/1.jpg"]) != first             # a file fewer


def test_reports_show_paths_relative_to_the_data_folder_or_the_repository(tmp_path):
    from studylib import paths
    (tmp_path / "fer2013").mkdir()
    assert paths.shown(tmp_path / "fer2013" / "fer2013.csv", tmp_path) == "fer2013/fer2013.csv"
    assert paths.shown(paths.ROOT / "splits" / "x.csv", tmp_path) == "splits/x.csv"
    assert paths.shown("/somewhere/else/file.csv", tmp_path) == "file.csv"


def test_each_claim_is_judged_on_its_papers_test_protocol_and_the_other_is_shown(tmp_path):
    # paper 003 tests its final epoch: a perfect best-on-validation model must not rescue a poor final one
    for s in range(5):
        _write(tmp_path, f"03--seed{s}", "03", s, {"small CNN (seed 003)": _preds(0.99, n=500, seed=s)},
               final={"small CNN (seed 003)": _preds(0.40, n=500, seed=s)})
    card, _ = scorecard.evaluate(scorecard.read(tmp_path), "cpu")
    row = card[card["id"] == "003.cnn.accuracy"].iloc[0]
    assert row["test_protocol"] == "final" and row["estimate"] < 0.5 and row["verdict"] == "differs"
    assert row["other_protocol"]["test_protocol"] == "best" and row["other_protocol"]["estimate"] > 0.95
    shown = scorecard.table(card).set_index("claim").loc["003.cnn.accuracy"]
    assert shown["tested"].startswith("final epoch") and shown["other protocol (shown, not counted)"].startswith("best on validation")
    # a claim of a paper that selects on validation is judged on the best epoch
    assert claims.CLAIMS["004.fer2013.a_beats_b"].test_protocol == "best"
    assert {c.test_protocol for c in claims.CLAIMS.values() if c.paper in ("001", "003")} == {"final"}


def test_records_store_both_protocols_and_old_records_read_as_best(tmp_path):
    y = np.arange(10) % 3
    info = records.write_predictions(tmp_path / "p.npz", {"best": {"a": (y, y)}, "final": {"a": (y, (y + 1) % 3)}})
    got = records.read_predictions(tmp_path / "r.json", {"predictions": info})
    assert (got["best"]["a"][1] == y).all() and (got["final"]["a"][1] != y).all()
    old = {**info, "arms": info["protocols"]["best"]}
    del old["protocols"]
    assert set(records.read_predictions(tmp_path / "r.json", {"predictions": old})) == {"best"}


def test_the_committed_cpu_scorecard_read_one_commits_records_and_names_its_own():
    """reports/cpu/results holds the training records of one commit and the scorecard that judged them,
    rerun by later code (VERDICTS section 9: it names both commits). What the scorecard reads is the
    training records alone, all of one commit; a second commit among them would be refused."""
    from studylib import paths
    results = paths.REPORTS / "cpu" / "results"
    read = scorecard.read(results)
    commits = {r["git_commit"] for _, r in read}
    assert len(commits) == 1 and len(read) == 31
    card = json.loads((results / "06_scorecard.json").read_text())
    (theirs,) = commits
    assert card["git_commit"] != theirs
    assert card["metrics"]["judged"] == (f"scorecard code at commit {card['git_commit'][:12]} judging records of "
                                         f"commit {theirs[:12]}")
