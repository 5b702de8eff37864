"""Budget flags, the budget rule on verdicts, the registry's load checks, evidence about the papers' own
figures, and the probabilities records keep (docs/METHOD.md: Claims are data, Replicates, Budget flags, Checks and evidence)."""
import math

import numpy as np
import pytest

from studylib.report import records, scorecard
from studylib.study import budget, claims, verdicts
from studylib.study.experiments import EXPERIMENTS, resolve


def _arm(curve, cap, best=None, final=None, stopped=False, grid=None, lr=None, monitor="val_acc"):
    """One arm's entry of a record's metrics: its validation curve, cap, chosen epochs, lr search."""
    return {"config": {"epochs": cap, "monitor": monitor}, "history": [{"epoch": i + 1, monitor: v}
                                                                       for i, v in enumerate(curve)],
            "best_epoch": best or int(np.argmax(curve)) + 1, "final_epoch": final or len(curve),
            "stopped_early": stopped, "selection": {"grid": grid, "lr": lr} if grid else None}


def test_cap_bound_needs_our_cap_and_a_still_rising_or_last_chosen_epoch():
    rising = _arm([0.3, 0.4, 0.5], cap=3)
    assert "still rising" in budget.cap_bound(rising, paper_epochs=10, protocol="final")
    assert "last of our 3" in budget.cap_bound(rising, paper_epochs=10, protocol="best")
    assert budget.cap_bound(rising, paper_epochs=3, protocol="best") == ""  # the paper's own budget
    assert "names none" in budget.cap_bound(rising, paper_epochs=None, protocol="best")
    plateau = _arm([0.3, 0.5, 0.5, 0.49], cap=4)
    assert budget.cap_bound(plateau, paper_epochs=10, protocol="best") == ""
    assert budget.cap_bound(plateau, paper_epochs=10, protocol="final") == ""
    assert budget.cap_bound(_arm([0.3, 0.4, 0.5], cap=10, stopped=True), 30, "best") == ""


def test_grid_edge_names_the_edge_the_chosen_rate_sits_on():
    assert "top" in budget.grid_edge(_arm([0.5], 1, grid=[1e-4, 3e-4, 1e-3], lr=1e-3))
    assert "bottom" in budget.grid_edge(_arm([0.5], 1, grid=[1e-4, 3e-4, 1e-3], lr=1e-4))
    assert budget.grid_edge(_arm([0.5], 1, grid=[1e-4, 3e-4, 1e-3], lr=3e-4)) == ""
    assert budget.grid_edge(_arm([0.5], 1)) == ""
    flags = budget.arm_flags([_arm([0.3, 0.4, 0.5], 3), _arm([0.5, 0.4, 0.3], 3)], 10, "best")
    assert flags == ["cap-bound on seed 0 of 2: chose epoch 3, the last of our 3 (the paper's 10)"]


def _order_preds(d_acc, n=2000, seeds=5):
    """Arms A and B on one test set: A right on (0.6 + d) of the images, B on 0.6, seeds jittered."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, n)
    a, b = [], []
    for s in range(seeds):
        r = np.random.default_rng(s + 1).random(n)
        a.append((y, np.where(r < 0.6 + d_acc, y, (y + 1) % 4)))
        b.append((y, np.where(r < 0.6, y, (y + 2) % 4)))
    return a, b


@pytest.mark.parametrize("d, loser", [(0.1, "new_layers"), (-0.1, "all")])
def test_a_flag_on_the_losing_arm_makes_an_order_budget_limited_and_one_on_the_winner_does_not(d, loser):
    a, b = _order_preds(d)
    claim = claims.CLAIMS["003.resnet18.full_beats_frozen"]
    p = resolve("04_frozen_vs_full", {"backbone": "resnet18"})
    clean = verdicts.judge(claim, {"all": a, "new_layers": b}, p, "cpu")
    assert clean["verdict"] == ("holds" if d > 0 else "contradicted") and not clean["budget_limited"]
    winner = "all" if loser == "new_layers" else "new_layers"
    on_winner = verdicts.judge(claim, {"all": a, "new_layers": b}, p, "cpu", flags={winner: ["cap-bound on seed 0"]})
    assert on_winner["verdict"] == clean["verdict"]
    on_loser = verdicts.judge(claim, {"all": a, "new_layers": b}, p, "cpu", flags={loser: ["cap-bound on seed 0"]})
    assert on_loser["verdict"] == "inconclusive" and on_loser["raw_verdict"] == clean["verdict"]
    assert "cap-bound" in on_loser["budget_limited"] and "Budget-limited" in on_loser["sentence"]
    # Holm across the profile keeps the rule
    assert verdicts.adjust([on_loser])[0]["verdict"] == "inconclusive"


def test_a_value_below_the_band_is_budget_limited_only_when_its_arm_is_cap_bound():
    y = np.arange(3000) % 10
    low = [(y, np.where(np.random.default_rng(s).random(3000) < 0.6, y, (y + 1) % 10)) for s in range(5)]
    claim = claims.CLAIMS["003.cnn.accuracy"]
    p = resolve("03_cnn_from_scratch", {})
    assert verdicts.judge(claim, {"cnn": low}, p, "cpu")["verdict"] == "differs"
    capped = verdicts.judge(claim, {"cnn": low}, p, "cpu", flags={"cnn": ["cap-bound on seeds 0-4"]})
    assert capped["verdict"] == "inconclusive" and capped["budget_limited"]
    edge = verdicts.judge(claim, {"cnn": low}, p, "cpu", flags={"cnn": ["grid-edge: rate 0.01 is the top"]})
    assert edge["verdict"] == "differs"  # only a cap a longer budget could lift


def _with(**changes):
    base = dict(id="x.y", paper="x", text="t", kind="value", metric="accuracy", notebook="03_cnn_from_scratch",
                arms=("cnn",), value=0.5, margin=0.02)
    return claims.Claim(**{**base, **changes})


@pytest.mark.parametrize("bad, key", [
    ([_with(arms=("small CNN (seed 003)",))], "arms"),       # a display label, or a renamed arm
    ([_with(), _with()], "id"),                                # duplicated id
    ([_with(margin=None)], "margin"),                          # no margin declared
    ([_with(metric="balanced_acc")], "metric"),
    ([_with(kind="order", arms=("cnn", "gone"))], "arms"),
])
def test_the_registry_refuses_bad_claims_at_load_naming_the_claim_and_key(bad, key):
    with pytest.raises(claims.RegistryError, match=rf"claim 'x\.y', key '{key}'"):
        claims.load(bad, where="papers/x.py")
    claims.load([_with()])  # the good one loads


def test_every_arm_a_claim_cites_is_one_its_notebook_defines_by_id():
    for nb, arms in claims.ARMS.items():
        defaults = {a.id: a.name for a in EXPERIMENTS[nb]().arms}
        assert all(arms[i] == label for i, label in defaults.items()), nb  # ids and labels agree with the notebooks
    assert claims.by_id("05_partial_vs_full", None, {"A: last block + head": 1}) == {"A": 1}  # a label read as its id
    renamed = {"arms": [{"id": "A", "name": "A, renamed"}]}
    assert claims.by_id("05_partial_vs_full", renamed, {"A, renamed": 1}) == {"A": 1}   # a run's own label


def test_evidence_is_computed_from_the_papers_figures():
    rows = {r["id"]: r for r in scorecard.evidence().to_dict("records")}
    six = rows["001.accuracies_at_six_sevenths"]
    assert six["found"] and "6/7 = 0.857143" in six["computed"]
    moved = claims.EVIDENCE["001.accuracies_at_six_sevenths"]
    import dataclasses
    assert not verdicts.evidence_row(dataclasses.replace(moved, figures={"test": 0.80}))["found"]
    assert "91% of chance" in rows["001.losses_near_chance"]["computed"]  # 1.78 / ln 7
    assert math.isclose(claims.EVIDENCE["001.losses_near_chance"].reference, math.log(7))
    assert "0.97 points" in rows["003.three_test_figures"]["computed"]


def test_a_validation_claim_is_judged_from_per_seed_scores_with_a_conservative_image_variance():
    claim = claims.CLAIMS["001.mlp.val_accuracy"]
    p = resolve("05_partial_vs_full", {"paper": "001", "head": "mlp", "val_from_train": 0.2})
    row = verdicts.judge_scores(claim, [0.42, 0.43, 0.425, 0.41, 0.44], 2000, p, "cpu")
    assert row["verdict"] == "differs" and row["n"] == 5
    half = row["image_half_width"]
    assert half == pytest.approx(1.96 * math.sqrt(0.425 * 0.575 / 2000), rel=1e-3)
    near = verdicts.judge_scores(claim, [0.858] * 5, 50, p, "cpu")  # 50 images cannot resolve ±0.02
    assert near["resolvable"] is False and near["verdict"] == "inconclusive"


def test_records_keep_class_probabilities_as_float16_and_older_records_read_without(tmp_path):
    y = np.arange(12) % 3
    probs = np.random.default_rng(0).dirichlet(np.ones(3), 12).astype(np.float32)
    info = records.write_predictions(tmp_path / "p.npz", {"final": {"a": (y, probs.argmax(1), probs), "svm": (y, y)}})
    rec = {"predictions": info}
    got = records.read_probabilities(tmp_path / "r.json", rec)
    assert got["final"]["svm"] is None
    np.testing.assert_allclose(got["final"]["a"], probs, atol=1e-3)
    assert np.load(tmp_path / "p.npz")["final_a0_prob"].dtype == np.float16
    assert (records.read_predictions(tmp_path / "r.json", rec)["final"]["a"][1] == probs.argmax(1)).all()
    old = records.write_predictions(tmp_path / "o.npz", {"best": {"a": (y, y)}})
    assert records.read_probabilities(tmp_path / "r.json", {"predictions": old}) == {"best": {"a": None}}


def _record04(folder, seed, preds, metrics):
    params = {**resolve("04_frozen_vs_full", {"seed": seed, "backbone": "resnet18"}).__dict__}
    params["arms"] = [dict(a.__dict__) for a in params["arms"]]
    rec = records.make_record("04", "003", params, metrics, records.Provenance({}, {}, 1.0, "cpu"), [])
    rec = {**rec.__dict__, "git_commit": "abc", "run_name": "04", "task": f"04--seed{seed}", "seed": seed,
           "notebook": "04_frozen_vs_full", "profile": "cpu",
           "predictions": records.write_predictions(folder / f"04--seed{seed}.npz", {"final": preds, "best": preds})}
    records.write_record(rec, folder / f"04--seed{seed}.json")


def test_the_scorecard_reads_flags_from_the_records_and_limits_the_verdict(tmp_path):
    a, b = _order_preds(0.1)
    for s in range(5):
        metrics = {"all": _arm([0.5, 0.6, 0.62], cap=3), "new_layers": _arm([0.3, 0.35, 0.4], cap=3)}  # loser rising
        _record04(tmp_path, s, {"all": a[s], "new_layers": b[s]}, metrics)
    card, _ = scorecard.evaluate(scorecard.read(tmp_path), "cpu")
    row = card.set_index("id").loc["003.resnet18.full_beats_frozen"]
    assert row["raw_verdict"] == "holds" and row["verdict"] == "inconclusive"
    assert "new_layers, the losing arm: cap-bound on seeds 0, 1, 2, 3, 4 of 5" in row["budget_limited"]
    assert "epochs 3 (paper: 10)" in row["regime"] and "budget-limited" in scorecard.table(card).set_index(
        "claim").loc["003.resnet18.full_beats_frozen", "verdict"]


def _paper_file(tmp_path, claim: dict, extra: dict | None = None):
    import shutil
    import yaml
    from studylib import paths
    folder = tmp_path / "papers"
    shutil.copytree(paths.ROOT / "papers", folder)
    base = {"id": "009.x", "text": "t", "kind": "value", "metric": "accuracy", "notebook": "03_cnn_from_scratch",
            "arms": ["cnn"], "value": 0.5, "margin": 0.02}
    doc = {"paper": "009", "claims": [{k: v for k, v in {**base, **claim}.items() if v is not None}], **(extra or {})}
    (folder / "009.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


@pytest.mark.parametrize("claim, extra, message", [
    ({"arms": ["gone"]}, None, r"papers/009.yaml: claim '009.x', key 'arms': arm id\(s\) 'gone' are not defined"),
    ({"id": "003.cnn.accuracy"}, None, r"009.yaml: claim '003.cnn.accuracy', key 'id': duplicated"),
    ({"margin": None}, None, r"009.yaml: claim '009.x', key 'margin': missing"),
    ({"marign": 0.02}, None, r"009.yaml: claims\[0\] \(009.x\): unknown key 'marign'"),
    ({}, {"refrence": {}}, r"009.yaml: unknown key 'refrence'"),
])
def test_a_bad_paper_file_fails_at_load_naming_the_file_and_key(tmp_path, claim, extra, message):
    folder = _paper_file(tmp_path, claim, extra)
    with pytest.raises(claims.RegistryError, match=message):
        claims.load_papers(folder)


def test_a_good_paper_file_adds_its_claims():
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        got, _, arms, papers = claims.load_papers(_paper_file(Path(d), {}))
    assert "009.x" in got and papers["009"]["file"].endswith("009.yaml") and set(got) > set(claims.CLAIMS)


def _record04_run(folder, run, seed, preds, metrics, **extra):
    """A record of notebook 04 under run name `run`, its parameters changed by `extra`."""
    params = {**resolve("04_frozen_vs_full", {"seed": seed, "backbone": "resnet18"}).__dict__, **extra}
    params["arms"] = [dict(a.__dict__) for a in params["arms"]]
    rec = records.make_record(run, "003", params, metrics, records.Provenance({}, {}, 1.0, "cpu"), [])
    rec = {**rec.__dict__, "git_commit": "abc", "run_name": run, "task": f"{run}--seed{seed}", "seed": seed,
           "notebook": "04_frozen_vs_full", "profile": "cpu",
           "predictions": records.write_predictions(folder / f"{run}--seed{seed}.npz", {"final": preds, "best": preds})}
    records.write_record(rec, folder / f"{run}--seed{seed}.json")


@pytest.mark.parametrize("rung_d, agree", [(0.1, True), (-0.1, False)])
def test_a_sensitivity_rung_is_judged_beside_its_claim_and_not_counted(tmp_path, rung_d, agree):
    """docs/METHOD.md, Direct and indicative verdicts: the same comparison at a second input size is shown beside the claim-bearing
    run's row, which says whether the two verdicts agree; the headline counts the claim-bearing run only."""
    flat = {"all": _arm([0.5, 0.6, 0.6], cap=10), "new_layers": _arm([0.3, 0.4, 0.4], cap=10)}
    a, b = _order_preds(0.1)
    for s in range(5):
        _record04_run(tmp_path, "04", s, {"all": a[s], "new_layers": b[s]}, flat)
    a, b = _order_preds(rung_d, seeds=3)
    for s in range(3):
        _record04_run(tmp_path, "04-96", s, {"all": a[s], "new_layers": b[s]}, flat, image_size=96, sensitivity=True)
    card, _ = scorecard.evaluate(scorecard.read(tmp_path), "cpu")
    rows = card[card["id"] == "003.resnet18.full_beats_frozen"].set_index("run")
    assert rows.loc["04", "verdict"] == "holds" and bool(rows.loc["04-96", "sensitivity"])
    assert rows.loc["04-96", "verdict"] == ("holds" if agree else "contradicted")
    note = rows.loc["04", "note"]
    assert ("the same verdict" if agree else "the verdict differs") in note
    assert "48 px (claim-bearing, n = 5)" in note and "96 px (sensitivity rung, n = 3)" in note
    head = scorecard.headline(card)
    n_rows = int((~card["sensitivity"].fillna(False).astype(bool)).sum())
    assert f"in {n_rows} rows" in head and "1 sensitivity rung" in head
    assert ("1 with the claim-bearing run's verdict" if agree else "0 with the claim-bearing run's verdict") in head
