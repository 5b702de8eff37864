"""The claim registry, per-claim verdicts from per-seed predictions, Holm across orders, and the scorecard
built from run records (seeds paired on the same test images; mixed commits refused)."""
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

import pytest

from studylib.report import records, scorecard, tables
from studylib.study import claims, verdicts
from studylib.study.experiments import resolve

PAPERS = {"000", "001", "003", "004"}


def test_registry_covers_every_paper_once_with_declared_margins():
    reg = claims.CLAIMS
    assert {c.paper for c in reg.values()} >= PAPERS
    for c in reg.values():
        assert c.kind in claims.KINDS and c.margin >= 0, c.id
        # the kinds over a ladder of sizes are judged by `studylib judge`, never on a scorecard
        assert (c.kind in ("value", "order", "check")) or c.at, c.id
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
    adjusted = verdicts.adjust(rows)  # new rows: the ones given stay as judged
    assert all(r["p_adjusted"] >= p for r, p in zip(adjusted, p_raw))
    assert any(r["p_adjusted"] > p for r, p in zip(adjusted, p_raw)) and [r["p_adjusted"] for r in rows] == p_raw
    p = resolve("04_frozen_vs_full", {"backbone": "efficientnet_lite0"})
    row = verdicts.judge(claims.CLAIMS["003.resnet18.full_beats_frozen"], {"all": a, "new_layers": b}, p, "cpu")
    assert row["indicative"] and "efficientnet_lite0 stands in for resnet18" in row["stand_in"]


def _write(folder, task, run, seed, preds, commit="abc", profile="cpu", final=None):
    """A run record of notebook 03 with per-image predictions: `preds` of the epoch chosen on validation,
    `final` of the final epoch (default: the same model)."""
    preds = {"best": preds, "final": final or preds}
    params = {**resolve("03_cnn_from_scratch", {"seed": seed}).__dict__}
    rec = records.make_record(run, "003", params, {}, records.Provenance({}, {}, 1.0, "cpu"), [])
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


def test_the_card_names_which_code_judged_which_records(monkeypatch):
    """docs/METHOD.md, Provenance: a card whose records came from its own commit says so; a card of later code names
    both commits, so a reader can tell a re-judging from a render."""
    recs = [(None, {"git_commit": "a" * 40}), (None, {"git_commit": "a" * 40})]
    monkeypatch.setattr(records, "git_commit", lambda: "a" * 40)
    assert scorecard.commits(recs) == f"records and scorecard from commit {'a' * 12}"
    monkeypatch.setattr(records, "git_commit", lambda: "b" * 40)
    assert scorecard.commits(recs) == f"scorecard code at commit {'b' * 12} judging records of commit {'a' * 12}"


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
    rec = records.make_record("r", "003", {}, {}, records.Provenance({}, {}, 1.0, "cpu"), [])
    assert rec.git_commit.endswith("-dirty") and "+changed" in rec.git_diff
    monkeypatch.setattr(records, "git_commit", lambda cwd=None: "abc123")
    assert records.make_record("r", "003", {}, {}, records.Provenance({}, {}, 1.0, "cpu"), []).git_diff == ""


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


def test_the_committed_cpu_scorecard_read_one_commits_records_and_names_its_own(monkeypatch):
    """reports/cpu/results holds the training records of one commit and the scorecard that judged them.
    What the scorecard reads is the training records alone, all of one commit; a second commit among them
    would be refused. Its own commit is theirs when it ran at the end of their render, or a later one when
    later code re-judged them (docs/METHOD.md, Provenance): either way it names both, in the form that case takes."""
    from studylib import paths
    results = paths.REPORTS / "cpu" / "results"
    read = scorecard.read(results)
    commits = {r["git_commit"] for _, r in read}
    assert len(commits) == 1 and len(read) == len(_trained_tasks())
    card = json.loads((results / "06_scorecard.json").read_text())
    (theirs,) = commits
    # the line the card's own code writes for these records (both of its forms are pinned above)
    monkeypatch.setattr(records, "git_commit", lambda: card["git_commit"])
    assert card["metrics"]["judged"] == scorecard.commits(read)
    assert theirs[:12] in card["metrics"]["judged"] and card["git_commit"][:12] in card["metrics"]["judged"]


# ---- the page: the claims table (great_tables), the legend, the forest plot, the folded records ------------

def _trained_tasks() -> list[str]:
    """The committed cpu render's tasks but the scorecard (its index): the records its scorecard read (the
    training runs, and the data audit for its checks)."""
    from studylib import paths
    index = json.loads((paths.REPORTS / "cpu" / "index.json").read_text())
    return [r["name"] for r in index["runs"] if r["notebook"] != "06_scorecard"]


def _committed_card():
    """The committed cpu scorecard's claim rows (one per registry claim, and one per sensitivity rung) and the
    records it read."""
    from studylib import paths
    results = paths.REPORTS / "cpu" / "results"
    rows = json.loads((results / "06_scorecard.json").read_text())["metrics"]["claims"]
    return pd.DataFrame(rows), scorecard.read(results)


def _tested(cid, run, estimate, verdict, **extra):
    """A synthetic claim row of the registry's claim `cid`, judged on `run` (the keys `verdicts` writes)."""
    claim = claims.CLAIMS[cid]
    row = verdicts.untestable_row(claim, run=run)
    labels = {a: claims.arm_label(claim.notebook, a) for a in claim.arms}
    row.update(estimate=estimate, sd=0.0123, n=2, ci=[estimate - 0.02, estimate + 0.02], seeds=[estimate] * 2,
               verdict=verdict, raw_verdict=verdict, interval="variance components", arm_labels=labels,
               image_half_width=0.0111, regime="48 px · epochs 3 (paper: 10)", sentence=f"Ours: {verdict}.", **extra)
    return row


def _recs(run, seeds, commit="abc"):
    return [(Path(f"/x/results/{run}--seed{s}.json"), {"run_name": run, "task": f"{run}--seed{s}", "seed": s,
                                                       "git_commit": commit}) for s in seeds]


def test_the_claims_table_is_one_row_per_claim_row_grouped_by_paper_without_an_index():
    card, recs = _committed_card()
    page = scorecard.claims_table(card, recs).as_raw_html()
    body = page.split("<tbody", 1)[1]
    sensitivity = int(card["sensitivity"].fillna(False).sum()) if "sensitivity" in card else 0
    # the audit's checks are not rows; claims over a ladder are judged by `studylib judge`, not here
    paper_claims = [c for c in claims.scorecard_claims() if c.kind != "check"]
    assert body.count("<tr>") == len(card) == len(paper_claims) + sensitivity  # one row per claim row (group headings are other rows)
    groups = re.findall(r'<th class="gt_group_heading"[^>]*>(.*?)</th>', body)
    papers = list(dict.fromkeys(card["paper"]))
    assert len(groups) == len(papers) and all(g.startswith(f"Paper {p} · ") for g, p in zip(groups, papers))
    assert "Moustafa &amp; Smaluch" in groups[papers.index("003")] and claims.PAPERS["001"]["title"] in groups[1]
    headings = re.findall(r'<th class="gt_col_heading[^"]*"', page)
    assert len(headings) == 5 and "gt_stub" not in body  # five wide columns, no index column
    rows = body.split('<tr class="gt_group_heading_row">')
    for group, paper in zip(rows[1:], papers):  # each claim row under its paper's heading
        assert set(re.findall(r"<code>(\d{3})\.", group)) == {paper}


def test_an_order_row_says_a_minus_b_with_its_arms_and_a_value_row_does_not():
    card, recs = _committed_card()
    shown = scorecard.table(card, recs).set_index("claim")
    order, value = shown.loc["000.finetune_beats_svm"], shown.loc["000.finetune.f1_macro"]
    rows = card.set_index("id")  # the figures are the card's (which render's, the test does not care)
    o, v = rows.loc["000.finetune_beats_svm"], rows.loc["000.finetune.f1_macro"]
    assert order["ours"] == f"A − B = {o['estimate']:+.3f} ± {o['sd']:.3f}" and order["paper's figure"] == "A − B > 0.000"
    assert order["arms"] == "A: fine-tuned · B: features + SVM"
    # the claim and its sensitivity rung (another input size) name the same arms
    assert set(shown.loc[["004.fer2013.a_beats_b"], "arms"]) == {"A: last block + head · B: everything, smaller lr"}
    assert "A − B" not in value["ours"] + value["paper's figure"] + value["arms"]
    assert value["ours"] == f"{v['estimate']:.3f} ± {v['sd']:.3f}" and value["paper's figure"] == "0.941 ± 0.020"


def test_every_number_of_the_table_has_three_decimals_and_an_untested_row_shows_none():
    card, recs = _committed_card()
    shown = scorecard.table(card, recs)
    cols = ["paper's figure", "ours", "95% interval", "resolution", "other protocol (shown, not counted)"]
    numbers = re.findall(r"\d+\.\d+", " ".join(shown[cols].to_numpy().ravel()))
    assert len(numbers) > 60 and all(len(n.split(".")[1]) == 3 for n in numbers), numbers
    untested = shown.set_index("claim").loc["001.traditional_cnn.accuracy"]
    assert untested[["ours", "95% interval", "n", "seeds", "resolution"]].tolist() == ["", "", "", "", ""]
    assert "nan" not in " ".join(shown.astype(str).to_numpy().ravel()).lower().replace("nanoplot", "")


def test_the_verdict_is_a_badge_in_its_colour_and_a_budget_limited_one_says_so():
    rows = [_tested("003.resnet18.full_beats_frozen", "04", 0.2, "inconclusive", indicative=True,
                    budget_limited="new_layers, the losing arm: cap-bound on seeds 0, 1 of 2"),
            _tested("003.cnn.accuracy", "03", 0.72, "matches")]
    shown = scorecard.table(pd.DataFrame(rows), _recs("04", [0, 1]) + _recs("03", [0, 1])).set_index("claim")
    limited, match = shown.loc["003.resnet18.full_beats_frozen", "verdict"], shown.loc["003.cnn.accuracy", "verdict"]
    assert "inconclusive (indicative) · budget-limited" in limited
    assert tables.VERDICT_COLOURS["inconclusive"][0] in limited and "budget-limited" not in match
    assert tables.VERDICT_COLOURS["matches"][0] in match
    legend = scorecard.legend().data  # every verdict word and the margin defined, each word in its colour
    assert all(v in legend and tables.VERDICT_COLOURS[v][0] in legend for v in tables.VERDICT_MEANINGS)
    assert all(w in legend for w in ("margin", "indicative", "budget-limited", "95% interval"))


def test_each_claim_row_has_a_unique_anchor_and_its_seeds_link_to_their_reports():
    rows = [_tested("003.cnn.accuracy", "cnn-48", 0.72, "inconclusive"),
            _tested("003.cnn.accuracy", "cnn-96", 0.73, "matches"),  # one claim judged on two runs
            _tested("003.cnn.f1_weighted", "cnn-48", 0.70, "inconclusive"),
            verdicts.untestable_row(claims.CLAIMS["001.traditional_cnn.accuracy"])]
    card = pd.DataFrame(rows)
    page = scorecard.claims_table(card, _recs("cnn-48", [0, 1]) + _recs("cnn-96", [3])).as_raw_html()
    ids = re.findall(r"<a id='([^']+)'></a>", page)  # papers in order: 001's row first
    assert ids == ["claim-001-traditional-cnn-accuracy", "claim-003-cnn-accuracy--cnn-48",
                   "claim-003-cnn-accuracy--cnn-96", "claim-003-cnn-f1-weighted"]  # the run named only when needed
    assert ids[0] == tables.claim_anchor("001.traditional_cnn.accuracy") and len(set(ids)) == len(card)
    assert sorted(scorecard.anchors(card)) == sorted(ids)
    assert "href='cnn-48--seed0.html'" in page and "href='cnn-48--seed1.html'" in page
    assert "href='cnn-96--seed3.html'" in page


def test_the_committed_scorecards_links_lead_to_reports_and_records_that_exist():
    from studylib import paths
    card, recs = _committed_card()
    html = scorecard.claims_table(card, recs).as_raw_html() + scorecard.records_section(recs).data
    links = set(re.findall(r"href='([^'#]+)'", html))
    assert len(links) == 2 * len(recs) == 2 * len(_trained_tasks())  # each record read and its report
    # the pages the render keeps where it ran (not committed) are made text in the committed page
    from studylib.report import publish
    kept = publish.ignored_pages(paths.REPORTS / "cpu")
    assert kept and all((paths.REPORTS / "cpu" / link).is_file() for link in links - kept), links - kept
    page = (paths.REPORTS / "cpu" / "06_scorecard.html").read_text(encoding="utf-8")
    assert not [k for k in kept if f"href='{k}'" in page or f'href="{k}"' in page]


def test_the_records_read_are_folded_inside_details(tmp_path):
    for s in (0, 1):
        _record(tmp_path / "", f"cnn--seed{s}", "03_cnn_from_scratch", s, "2026-01-01T00:00:00", [])
    recs = scorecard.read(tmp_path)
    page = scorecard.records_section(recs).data
    assert page.startswith("<details id='records'><summary>The 2 records this scorecard read (one commit)")
    assert page.rstrip().endswith("</details>") and page.index("<table") > page.index("</summary>")
    assert "href='results/cnn--seed1.json'" in page and "href='cnn--seed1.html'" in page
    assert scorecard.view.seed_links([(None, "01_data_audit")]).endswith(">01_data_audit</a>")
    assert scorecard.records_section([]) is None


def test_data_checks_show_counts_as_integers_and_no_missing_p():
    checks = pd.DataFrame([verdicts.check_row("data.fer2013.blank_images", 12, "cpu"),
                           verdicts.check_row("data.ferplus.agreement", 0.629277, "cpu")])
    page = scorecard.checks_table(checks).as_raw_html()
    cells = re.findall(r'<td [^>]*class="gt_row[^"]*">(.*?)</td>', page)
    assert "12" in cells and "0.629" in cells and "0" in cells and "0.0005" in cells
    assert not any(re.fullmatch(r"12\.0+|None|nan", c) for c in cells) and ">p<" not in page
    assert scorecard.checks_table(pd.DataFrame()) is None


def test_the_forest_plot_is_wide_and_absent_without_a_measured_claim():
    card, _ = _committed_card()
    fig = scorecard.forest_plot(card)
    assert fig.get_size_inches()[0] >= 14 and len(fig.axes) == 2  # values above, orders below, full width
    labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert len(labels) == card["estimate"].notna().sum() and "000: fine-tuning beats features + SVM (F1)" in labels
    # each row's id in small type under its claim's words, so the tables' rows can still be found
    small = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_fontsize() < 9]
    assert "000.finetune_beats_svm" in small and len(small) == len(labels)
    import matplotlib.pyplot as plt
    plt.close(fig)
    untested = pd.DataFrame([verdicts.untestable_row(claims.CLAIMS["001.traditional_cnn.accuracy"])])
    assert scorecard.forest_plot(untested) is None and scorecard.per_class(untested) is None


def test_per_class_results_are_one_table_a_run_with_every_class():
    card, recs = _committed_card()
    page = scorecard.per_class(card).data
    assert page.count("<table") == card[card["per_class"].map(bool)]["run"].nunique()
    assert "Ariel_Sharon" in page and "features + SVM · F1" in page and "small CNN (seed 003) · precision" in page
    # fine-tuned, Ariel_Sharon (class 0), mean ± sd over the seeds, recomputed here from each seed's predictions
    # (the claim's test protocol) with scikit-learn: a dropped seed or another protocol changes it
    from sklearn.metrics import f1_score
    row = card.set_index("id").loc["000.finetune.f1_macro"]
    f1 = [f1_score(*records.read_predictions(p, r)[row["test_protocol"]]["fine-tuned"][:2], average=None)[0]
          for p, r in recs if r["run_name"] == row["run"]]  # the records the scorecard read, not read again
    assert len(f1) == len(row["seeds"]) and f"{np.mean(f1):.3f} ± {np.std(f1, ddof=1):.3f}" in page
