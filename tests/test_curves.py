"""Notebook 08 (beyond the papers): the nested size ladder, the rates at the nearer searched rung, the curves'
intervals (the shared crossed bootstrap), the README's sentences, the plots, the profile and its projection."""
import dataclasses
import json
import math
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from studylib.data.base import ImageDataset  # noqa: E402
from studylib.data.splits import subsample  # noqa: E402
from studylib.report import curves as view  # noqa: E402
from studylib.report import curves_agreement as beside  # noqa: E402
from studylib.report import curves_words as words  # noqa: E402
from studylib.report import records  # noqa: E402
from studylib.study import curves, experiments, profile, stats  # noqa: E402
from studylib.study.schema import ParamsError  # noqa: E402

FER_SHARES = np.array([3995, 436, 4097, 7215, 4830, 3171, 4965]) / 28709  # FER2013 Training's classes


def _dataset(n: int, shares=FER_SHARES, seed: int = 0) -> ImageDataset:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(len(shares)), np.round(np.asarray(shares) * n).astype(int)))
    return ImageDataset(np.zeros((len(labels), 2, 2, 1), np.uint8), labels.astype(np.int64),
                        [f"c{i}" for i in range(len(shares))], "train", "toy")


# --- the ladder -------------------------------------------------------------------------------------------------

def test_ladder_sizes_read_fractions_and_counts():
    assert curves.ladder_sizes([0.01, 0.03, 0.1, 0.3, 1.0], 28709) == [287, 861, 2871, 8613, 28709]
    assert curves.ladder_sizes([300, 1000, 3000, 10000], 28709) == [300, 1000, 3000, 10000]
    assert curves.ladder_sizes([300, 1.0], 2000) == [300, 2000]  # 1 is the whole split
    assert curves.ladder_sizes([0.5, 300], 400) == [200, 300]
    with pytest.raises(ValueError, match="must increase"):
        curves.ladder_sizes([0.9, 300], 400)  # 360, then 300
    with pytest.raises(ValueError, match="fewer than the 7 classes"):
        curves.ladder_sizes([5, 100], 400, num_classes=7)


def test_the_ladder_is_nested_and_stratified():
    train = _dataset(6000)
    sizes = curves.ladder_sizes([0.01, 0.03, 0.1, 0.3, 1.0], len(train), train.num_classes)
    rungs = curves.nested_rungs(train, sizes)
    assert sorted(rungs) == sizes and [len(rungs[n]) for n in sizes] == sizes
    share = np.bincount(train.labels) / len(train)
    for small, large in zip(sizes, sizes[1:]):  # nested: the smaller set lies inside the larger
        assert set(rungs[small].ids) <= set(rungs[large].ids)
    for n in sizes:  # stratified: each class keeps its share of the split, to within a rounding per step
        counts = np.bincount(rungs[n].labels, minlength=train.num_classes)
        assert np.all(np.abs(counts - n * share) <= len(sizes)), (n, counts, n * share)
        assert len(set(rungs[n].ids)) == n  # no image twice
    # the largest rung below the whole split is the subset a max_train of the same size draws (the cpu
    # profile's 10,000 FER2013 images), so a curve point there coincides with that run
    rungs = curves.nested_rungs(train, [100, 1000])
    assert np.array_equal(rungs[1000].ids, subsample(train, 1000).ids)
    assert set(rungs[100].ids) <= set(rungs[1000].ids)


def test_a_small_rung_repeats_its_images_to_epoch_images():
    rung = _dataset(70).subset(np.arange(70))
    assert len(curves.epoch_set(rung, 250)) == 280 and set(curves.epoch_set(rung, 250).ids) == set(rung.ids)
    assert np.array_equal(np.bincount(curves.epoch_set(rung, 250).labels), 4 * np.bincount(rung.labels))
    assert curves.epoch_set(rung, 50) is rung and curves.epoch_set(rung, 0) is rung
    assert len(curves.epoch_set_indices(70, 250)) == 280


# --- the rates ----------------------------------------------------------------------------------------------------

def test_each_rung_uses_the_rate_of_the_nearer_searched_rung():
    sizes = [300, 1000, 3000, 10000]
    assert [curves.rate_rung(n, sizes) for n in sizes] == [300, 300, 10000, 10000]
    assert curves.rate_rung(1732, [300, 10000]) == 300 and curves.rate_rung(1733, [300, 10000]) == 10000
    assert [curves.rate_rung(n, [85, 285, 854, 2847]) for n in (85, 285, 854, 2847)] == [85, 85, 2847, 2847]


def test_train_points_searches_at_the_ends_and_trains_each_rung_at_the_nearer_rate(monkeypatch):
    p = experiments.resolve("08_curves", {"ladder": [100, 300, 1000, 3000], "pool": [0, 1], "scope": "everything"})
    splits = {"train": _dataset(4000), "val": _dataset(70), "test": _dataset(70)}
    searched, trained = [], []

    def choose_rate(p_, arm, n, splits_n, memo_dir=None):
        searched.append((arm.id, n, len(splits_n["train"])))
        return {"lr": {100: 0.1, 3000: 0.3}[n]}, f"fit of seed 0 at {n}"

    def train_point(p_, arm, n, seed, splits_n, memo_dir=None, selection=None, fitted=None, rate_from=None, of=None):
        trained.append((n, seed, selection["lr"], fitted, rate_from))
        return {"arm": arm.id, "seed": seed, "n": n}

    monkeypatch.setattr(curves, "choose_rate", choose_rate)
    monkeypatch.setattr(curves, "train_point", train_point)
    points = curves.train_points(p, splits)
    # one search per end of the ladder (at that rung's images; a rung under epoch_images repeats them)
    assert searched == [("everything", 100, 300), ("everything", 3000, 3000)]
    rate = {(n, s): (lr, fit, frm) for n, s, lr, fit, frm in trained}
    assert {n: rate[(n, 1)][0] for n in (100, 300, 1000, 3000)} == {100: 0.1, 300: 0.1, 1000: 0.3, 3000: 0.3}
    assert {n: rate[(n, 1)][2] for n in (100, 300, 1000, 3000)} == {100: 100, 300: 100, 1000: 3000, 3000: 3000}
    # seed 0's point at a searched rung is the search's own fit; no other point is
    assert {k: v[1] for k, v in rate.items() if v[1]} == {(100, 0): "fit of seed 0 at 100", (3000, 0): "fit of seed 0 at 3000"}
    assert len(points) == 8 and [(q["seed"], q["n"]) for q in points][:4] == [(0, 100), (0, 300), (0, 1000), (0, 3000)]


def test_a_point_depends_on_what_it_trains_not_on_the_task_that_trains_it():
    splits = {"train": _dataset(300), "val": _dataset(70), "test": _dataset(70)}
    base = experiments.resolve("08_curves", {"ladder": [100, 300]})
    arm = base.arms[3]
    key = curves.point_key(base, arm, 300, 1, 3e-4, splits)
    for other in ({"scope": "everything"}, {"pool": [0, 1, 2]}, {"seed": 2}, {"reference": ""}):
        assert curves.point_key(dataclasses.replace(base, **other), arm, 300, 1, 3e-4, splits) == key, other
    assert curves.point_key(base, arm, 100, 1, 3e-4, splits) != key  # another rung
    assert curves.point_key(base, arm, 300, 2, 3e-4, splits) != key  # another seed
    assert curves.point_key(dataclasses.replace(base, ladder=[50, 300]), arm, 300, 1, 3e-4, splits) != key


# --- simulated points ------------------------------------------------------------------------------------------

ARMS = {"last block": dict(arm="last_block", name="last block + head", scope="freeze_to", freeze_to=-1, pretrained=True),
        "last two blocks": dict(arm="last_two", name="last two blocks + head", scope="freeze_to", freeze_to=-2, pretrained=True),
        "everything": dict(arm="everything", name="everything", scope="all", freeze_to=None, pretrained=True),
        "random": dict(arm="random_init", name="everything, random init", scope="all", freeze_to=None, pretrained=False),
        "probe": dict(arm="probe", name="linear probe", scope="head", freeze_to=None, pretrained=True)}


def _predict(y_true, acc: float, rng, k: int = 7):
    """Predictions right on a share `acc` of the images, a uniformly drawn wrong class elsewhere."""
    right = rng.random(len(y_true)) < acc
    wrong = (y_true + rng.integers(1, k, len(y_true))) % k
    return np.where(right, y_true, wrong)


def _point(scope: str, n: int, seed: int, y_true, y_pred, dataset="fer2013", of=None):
    entry = {"test": {}, "config": {"epochs": 20, "monitor": "val_macro_f1"}, "history": [], "best_epoch": 3,
             "final_epoch": 6, "stopped_early": True, "selection": None}
    return {"dataset": dataset, "input": 48, "n": n, "of": of or 4 * n, **ARMS[scope], "seed": seed, "lr": 1e-3,
            "rate_from": None, "entry": entry, "predictions": {"best": (y_true, y_pred, None)}}


def _crossing(seeds=(0, 1, 2), n_test=1500):
    """Last block beats everything below 1,000 images and loses from there; pretraining pays up to 300 images
    and not from 1,000 (everything from random init as good as pretrained there)."""
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 7, n_test)
    acc = {"last block": lambda n: 0.65 if n < 1000 else 0.45, "everything": lambda n: 0.5 if n < 1000 else 0.65,
           "random": lambda n: 0.3 if n < 1000 else 0.65, "probe": lambda n: 0.4}
    return [_point(scope, n, s, y_true, _predict(y_true, acc[scope](n), rng))
            for scope in acc for n in (100, 300, 1000, 3000) for s in seeds]


def test_the_curves_intervals_are_the_shared_crossed_bootstrap():
    points = _crossing()
    table = view.curve_table(points, n_boot=500)
    row = table[(table["scope"] == "last block") & (table["training images"] == 300) & (table["metric"] == "macro F1")].iloc[0]
    group = sorted((q for q in points if q["arm"] == "last_block" and q["n"] == 300), key=lambda q: q["seed"])
    b = stats.crossed_bootstrap([q["predictions"]["best"][:2] for q in group], "f1_macro", n_boot=500, seed=0)
    assert (row["low"], row["high"]) == b["ci"] and row["estimate"] == b["estimate"] and row["seeds"] == 3
    diff = view.difference_table(points, "last block", "everything", n_boot=500)
    d = diff[(diff["training images"] == 300) & (diff["metric"] == "accuracy")].iloc[0]
    other = sorted((q for q in points if q["arm"] == "everything" and q["n"] == 300), key=lambda q: q["seed"])
    b = stats.crossed_bootstrap([q["predictions"]["best"][:2] for q in group], "accuracy", n_boot=500, seed=0,
                                paired_with=[q["predictions"]["best"][:2] for q in other])
    assert (d["low"], d["high"]) == b["ci"] and d["order"] == "last block > everything" and d["wins"] == "3/3"


def test_every_seed_scores_the_same_images_so_their_noise_is_not_averaged_away():
    """Seeds that differ on 3% of the test images share its sampling error: the curve's interval must be
    about as wide as one seed's test-image interval, not sqrt(seeds) narrower (drawing images per seed)."""
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 7, 400)
    base = _predict(y_true, 0.7, rng)
    points = []
    for s in range(5):
        y_pred = base.copy()
        flip = rng.random(400) < 0.03
        y_pred[flip] = (y_true[flip] + 1) % 7
        points.append(_point("everything", 500, s, y_true, y_pred))
    row = view.curve_table(points, ("accuracy",), n_boot=2000).iloc[0]
    images_only = 1.96 * np.sqrt(0.7 * 0.3 / 400)  # one seed's test set, binomial
    assert (row["high"] - row["low"]) / 2 > 0.9 * images_only, (row["low"], row["high"], images_only)
    # a difference of two scopes on the same images: the images' noise is paired away, not inflated
    twin = [dict(q, **ARMS["last block"]) for q in points]
    d = view.difference_table(points + twin, "last block", "everything", ("accuracy",), n_boot=500).iloc[0]
    assert d["estimate"] == 0 and d["high"] - d["low"] < 1e-9


# --- the sentences ---------------------------------------------------------------------------------------------------

def _write_records(folder, points, per_record: int = 12, params=None, stem: str = "08_curves-toy"):
    """Notebook-08 records as `Run.save` writes them (`study.curves.record`): their points and predictions."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(0, len(points), per_record):
        part = [dict(q, predictions={"best": q["predictions"]["best"], "final": q["predictions"]["best"]})
                for q in points[i:i + per_record]]
        metrics, preds = curves.record(part)
        name = f"{stem}--part{i // per_record}"
        info = records.write_predictions(folder / f"{name}.npz", preds)
        rec = {"experiment": "08_curves-toy", "paper": "003, 004", "params": params or {"dataset": "fer2013"},
               "metrics": metrics, "data_sources": {}, "weights": {}, "wall_time_s": 1.0, "device": "cpu",
               "claims": [], "git_commit": "abc", "timestamp": "now", "notebook": "08_curves", "task": name,
               "run_name": "08_curves-toy", "seed": 0, "predictions": info}
        records.write_record(rec, folder / f"{name}.json")


def test_the_readme_section_names_where_partial_fine_tuning_wins_and_where_pretraining_pays(tmp_path):
    points = _crossing()
    _write_records(tmp_path / "results", points + points[:5])  # a point recorded twice counts once
    text = words.beyond_the_papers(tmp_path / "results", n_boot=500)
    assert text.startswith("## Beyond the papers") and "**FER2013 (48 px)**" in text
    assert "beats training everything at 100 and 300 training images (not from 1,000 on)" in text, text
    assert "loses at 1,000 and 3,000 images" in text, text
    # past 300 images the gain's interval includes zero: said as such, never as "stops paying" (METHOD.md, Equivalence)
    assert ("pretraining pays up to 300 training images; at 1,000 and 3,000 its gain cannot be told from zero "
            "with 3 seeds") in text, text
    assert "stops paying from" not in text
    assert "under way" not in text  # no index: nothing says the render is partial
    # a render under way says so, with its count of tasks, beside sentences that may still change
    (tmp_path / "index.json").write_text(json.dumps({"runs": [{"name": "a", "status": "ok"},
                                                              {"name": "b", "status": "error"}],
                                                     "not_run_yet": ["c", "d"]}))
    assert "(a render under way: 1 of 4 tasks finished" in words.beyond_the_papers(tmp_path / "results", n_boot=200)
    (tmp_path / "index.json").write_text(json.dumps({"runs": [{"name": "a", "status": "ok"}], "not_run_yet": []}))
    assert "under way" not in words.beyond_the_papers(tmp_path / "results", n_boot=200)
    read = view.points_from_records(tmp_path / "results")
    assert len(read) == len(points) and {q["n"] for q in read} == {100, 300, 1000, 3000}
    assert words.beyond_the_papers(tmp_path / "nothing") == ""


def test_studylib_results_writes_the_readme_section_from_the_curves_records(tmp_path, monkeypatch):
    """`studylib results --write` fills the 'Beyond the papers' markers from reports/curves/results, and says
    how to render it while that folder is absent; the committed README holds what the command writes."""
    from studylib import cli, paths
    from studylib.report import summary
    markers = summary.sweep_markers("beyond-the-papers")
    readme = (paths.ROOT / "README.md").read_text()
    committed = readme.split(markers[0])[1].split(markers[1])[0].strip()
    here = paths.REPORTS / "curves" / "results"
    assert committed == ((words.beyond_the_papers(here, heading="").strip() if here.is_dir() else "")
                         or cli.BEYOND_PENDING)
    reports = tmp_path / "reports"
    (reports / "cpu").mkdir(parents=True)
    doc = tmp_path / "doc.md"
    doc.write_text(f"{summary.BEGIN}\n{summary.END}\n{markers[0]}\nold\n{markers[1]}\n")
    monkeypatch.setattr(paths, "REPORTS", reports)
    assert cli.main(["results", "--profile", "cpu", "--write", str(doc)]) == 0
    assert cli.BEYOND_PENDING in doc.read_text() and "old" not in doc.read_text()
    _write_records(reports / "curves" / "results", _crossing())
    assert cli.main(["results", "--profile", "cpu", "--write", str(doc)]) == 0
    section = doc.read_text().split(markers[0])[1].split(markers[1])[0]
    assert "**FER2013 (48 px)**" in section and "pretraining pays up to 300 training images" in section
    assert cli.BEYOND_PENDING not in section and "## Beyond" not in section  # the README holds the heading


def _tied_points():
    # last block and everything equal, random init far below, at 100 and 1,000 images, 3 seeds
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 7, 800)
    acc = {"last block": 0.6, "everything": 0.6, "random": 0.2}
    return [_point(scope, n, s, y_true, _predict(y_true, acc[scope], rng))
            for scope in acc for n in (100, 1000) for s in range(3)]


def test_sentences_when_no_order_shows_and_when_pretraining_always_pays():
    points = _tied_points()
    text = words.summary_sentences(points, n_boot=500)["FER2013 (48 px)"]
    assert "cannot be told apart at any size measured (100 and 1,000 images)" in text
    assert "pretraining pays at every size up to the largest measured, 1,000 images" in text


# --- the figures ------------------------------------------------------------------------------------------------

def test_the_plots_draw_one_line_per_scope_with_its_band_on_a_log_axis():
    points = _crossing(seeds=(0, 1))
    table = view.curve_table(points, n_boot=200)
    fig = view.size_curves(table)
    scopes = ["linear probe", "last block", "everything", "everything, random init"]
    assert len(fig.axes) == 2 * len(scopes)   # small multiples: a row per metric, a panel per scope
    for k, ax in enumerate(fig.axes):
        scope = scopes[k % len(scopes)]
        assert ax.get_xscale() == "log" and ax.get_title() == scope
        # its own band (one), its line with error bars in its colour, the other scopes thin and grey behind
        assert len([c for c in ax.collections if c.__class__.__name__ == "FillBetweenPolyCollection"
                    or c.__class__.__name__ == "PolyCollection"]) == 1
        grey = [line for line in ax.get_lines() if line.get_color() == "#bbbbbb"]
        assert len(grey) == len(scopes) - 1
        assert [t for t in ax.get_xticks()] == [100, 300, 1000, 3000]
    plt.close(fig)
    diffs = [view.difference_table(points, "last block", "everything", n_boot=200),
             view.difference_table(points, "everything", "everything, random init", n_boot=200)]
    fig = view.difference_plot(diffs)
    for ax in fig.axes:
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels[:2] == ["last block − everything", "everything − everything, random init"]
        zero = [line for line in ax.get_lines() if list(line.get_ydata()) == [0, 0]]
        assert zero and zero[0].get_linestyle() == "--"  # zero marked
        assert len(ax.collections) == 2
    plt.close(fig)
    assert view.size_curves(view.curve_table([], n_boot=200)) is None
    assert view.difference_plot([view.difference_table(points[:2], "last block", "everything")]) is None


# --- beside the cpu profile ---------------------------------------------------------------------------------------

def test_a_curve_point_is_compared_with_a_coinciding_run_of_the_reference_profile(tmp_path):
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 7, 1000)
    points = [_point("last block", 100, s, y_true, _predict(y_true, 0.6, rng), of=400) for s in range(3)]
    points += [_point("everything", 100, s, y_true, _predict(y_true, 0.6, rng), of=400) for s in range(3)]
    points += [_point("everything", 400, s, y_true, _predict(y_true, 0.6, rng), of=400) for s in range(3)]
    folder = tmp_path / "cpu" / "results"
    folder.mkdir(parents=True)
    arms = [{"name": "A: last block + head", "scope": "freeze_to", "freeze_to": -1},
            {"name": "B: everything", "scope": "all"}]
    for s in range(2):
        preds = {"best": {"A: last block + head": (y_true, _predict(y_true, 0.6, rng)),
                          "B: everything": (y_true, _predict(y_true, 0.3, rng))}}
        info = records.write_predictions(folder / f"05--seed{s}.npz", preds)
        rec = {"experiment": "05", "paper": "004", "claims": [], "git_commit": "abc", "timestamp": "t",
               "wall_time_s": 1, "device": "cpu", "notebook": "05_partial_vs_full", "run_name": "05_partial_vs_full-fer2013",
               "seed": s, "predictions": info, "data_sources": {"fer2013/fer2013.csv.gz": "feed"},
               "params": {"dataset": "fer2013", "max_train": 100, "arms": arms, "freeze_to": -1, "pretrained": True},
               "metrics": {"A: last block + head": {"config": {"lr": 0.001}}}}
        records.write_record(rec, folder / f"05--seed{s}.json")
    got = beside.agreement(points, {"fer2013/fer2013.csv.gz": "feed"}, reference_dir=folder, n_boot=300)
    verdicts = {(r["scope"], r["metric"]): r["within their intervals"] for _, r in got.iterrows()}
    assert verdicts == {("last block", "accuracy"): "agree", ("last block", "macro F1"): "agree",
                        ("everything", "accuracy"): "disagree", ("everything", "macro F1"): "disagree"}
    assert set(got["training images"]) == {"100"}  # the 400-image point has no run beside it
    sentence = beside.agreement_sentence(got)
    assert "agree within their intervals for last block at 100 (accuracy)" in sentence and "disagree" in sentence
    other_data = beside.agreement(points, {"fer2013/fer2013.csv.gz": "beef"}, reference_dir=folder)
    assert isinstance(other_data, str) and other_data.startswith("No run of the cpu profile coincides")
    assert beside.agreement(points, {}, reference_dir=tmp_path / "absent").startswith("No records of the cpu profile")
    assert beside.agreement(points, {}, reference="").startswith("No reference profile named")


# --- the profile ------------------------------------------------------------------------------------------------

COUNTS = {"fer2013": {"train": 28709, "val": 3589, "test": 3589}, "plants": {"train": 2847, "val": 950, "test": 950}}


def test_the_curves_profile_validates_and_its_projection_fits_12_task_hours(tmp_path, capsys):
    from studylib.study import projection
    prof = profile.load_profile("curves", data_dir=tmp_path)
    points = [t for t in prof.tasks if not t.params.get("pool")]
    pooled = [t for t in prof.tasks if t.params.get("pool")]
    assert len(points) == 2 * 5 * 3 and len(pooled) == 2
    assert {t.seed for t in points} == {0, 1, 2} and all(t.seed > 0 and t.params["pool"] == [0, 1, 2] for t in pooled)
    assert [t.name for t in prof.tasks[-2:]] == [t.name for t in pooled]  # listed last: started last
    for t in pooled:  # the curves task pools the very points its dataset's tasks train (one YAML anchor)
        same = next(u for u in points if u.params["dataset"] == t.params["dataset"])
        strip = lambda d: {k: v for k, v in d.items() if k not in ("scope", "pool", "seed")}  # noqa: E731
        assert strip(t.params) == strip(same.params)
    fer = experiments.resolve("08_curves", points[0].params)
    assert curves.ladder_sizes(fer.ladder, 28709) == [100, 300, 1000, 3000]  # 10,000 and all 28,709 cut
    table = projection.curves_table(str(profile.profile_path("curves")), data_dir=tmp_path, counts=COUNTS)
    assert len(table) == 32 and table["expected h"].sum() <= 12.0
    # no task projected beyond 2 hours (a seed-0 task runs its scope's two rate searches): each fits well
    # within a 3-hour sitting, and its points are memoised, so an interruption costs at most one point
    assert table["expected h"].max() <= 2.0
    _project_curves().report(table, budget=12.0, workers=2)
    assert "within the budget of 12" in capsys.readouterr().out


def _project_curves():
    """bench/project_curves.py as a module (bench/ is scripts, not a package)."""
    import importlib.util

    from studylib import paths
    spec = importlib.util.spec_from_file_location("project_curves", paths.ROOT / "bench" / "project_curves.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_the_projection_set_against_a_render_under_way_scales_what_is_left_by_the_measured_ratio(tmp_path, capsys):
    import pandas as pd
    bench = _project_curves()
    table = pd.DataFrame({"task": ["a", "b", "c", "d"], "expected h": [1.0, 1.0, 2.0, 4.0]})
    runs = [{"name": "a", "status": "ok", "wall_s": 7200}, {"name": "b", "status": "ok", "wall_s": 3600},
            {"name": "c", "status": "error", "wall_s": 60}]  # a failed task is not finished: still to run
    (tmp_path / "index.json").write_text(json.dumps({"runs": runs, "not_run_yet": ["d"]}))
    bench.against(table, tmp_path, workers=2)
    out = capsys.readouterr().out
    assert "2 of 4 tasks finished: 3.0 task-hours spent against 2.0 projected (x1.50)" in out, out
    assert "The 2 left, at that ratio: 9.0 task-hours, about 4.5 h of wall time" in out, out
    with pytest.raises(SystemExit, match="index.json: no such file"):
        bench.against(table, tmp_path / "none", workers=2)


def test_the_profile_refuses_an_unknown_scope_and_a_shrinking_ladder():
    with pytest.raises(ParamsError, match="not an arm id"):
        experiments.resolve("08_curves", {"scope": "last_blok"})
    with pytest.raises(ParamsError, match="ladder must list increasing sizes"):
        experiments.resolve("08_curves", {"ladder": [0.3, 0.1]})
    with pytest.raises(ParamsError, match="pool lists a seed twice"):
        experiments.resolve("08_curves", {"pool": [0, 0]})


# --- training (tiny, generated data) ------------------------------------------------------------------------------

@pytest.mark.slow
def test_points_are_memoised_shared_between_tasks_and_the_probe_reads_cached_features(tmp_path, demo_data, monkeypatch):
    settings = {"dataset": "fer2013", "ladder": [14, 28], "epoch_images": 0, "reference": "", "extend_grid": 0,
                "train": {"epochs": 1, "device": "cpu", "early_stopping_patience": None},
                "arms": [{"id": "probe", "name": "linear probe", "scope": "head", "lr_grid": [0.003, 0.01],
                          "train": {"augment": "none"}},
                         {"id": "everything", "name": "everything", "scope": "all", "train": {"lr": 0.001}}]}
    memo = tmp_path / "memo"
    task = experiments.resolve("08_curves", {**settings, "scope": "probe", "seed": 1})
    splits = curves.curve_splits(task, demo_data)
    mine = curves.train_points(task, splits, memo)
    assert [(q["arm"], q["n"], q["seed"]) for q in mine] == [("probe", 14, 1), ("probe", 28, 1)]
    assert all(q["rate_from"] == q["n"] and q["lr"] in (0.003, 0.01) for q in mine)
    assert mine[0]["entry"]["numerics"]["frozen_prefix"] == "cached"  # the probe's features: stored once per rung
    assert mine[0]["entry"]["selection"]["grid"] == [0.003, 0.01]

    import studylib.study.build as build
    pooled = experiments.resolve("08_curves", {**settings, "pool": [0, 1], "seed": 2})
    fits = []
    monkeypatch.setattr(curves, "fit_arm", lambda *a, **k: fits.append(a[1].id) or build.fit_arm(*a, **k))
    every = curves.train_points(pooled, splits, memo)
    assert [(q["arm"], q["n"], q["seed"]) for q in every] == [
        ("probe", 14, 0), ("probe", 28, 0), ("probe", 14, 1), ("probe", 28, 1),
        ("everything", 14, 0), ("everything", 28, 0), ("everything", 14, 1), ("everything", 28, 1)]
    # seed 1's probe points came from the memo, seed 0's from the search (memoised: the probe's seed-0 points
    # are refitted once, since the search ran in the other task); only the missing points were trained
    assert fits.count("probe") == 2 and fits.count("everything") == 4
    for a, b in zip(mine, every[2:4]):
        assert a["entry"] == b["entry"] and np.array_equal(a["predictions"]["best"][1], b["predictions"]["best"][1])
    fits.clear()
    again = curves.train_points(pooled, splits, memo)  # a rerun (a resumed render) trains nothing
    assert fits == [] and [q["entry"] for q in again] == [q["entry"] for q in every]
    metrics, preds = curves.record(every)
    assert len(metrics["points"]) == 8 and set(preds) == {"best", "final"}
    assert all(json.dumps(e) for e in metrics["points"].values())


# --- a rate at the edge of its grid: the grid grows ---------------------------------------------------------

def _fake_search(monkeypatch, peak: float):
    """search._trial stubbed: validation peaks at rate `peak` (a parabola in log10 rate), so the best rate of
    any grid is known; the rates tried are returned in order."""
    import pandas as pd

    from studylib.study import search
    tried = []

    def trial(params, arm, lr, splits, build, checkpoint_dir=None):
        tried.append(lr)
        score = 0.5 - (math.log10(lr) - math.log10(peak)) ** 2
        return types.SimpleNamespace(best_val=score, best_epoch=3, final_epoch=6, stopped_early=True,
                                     monitor="val_macro_f1",
                                     history=pd.DataFrame({"seconds": [1.0], "val_macro_f1": [score]}))
    monkeypatch.setattr(search, "_trial", trial)
    monkeypatch.setattr(search, "train_config", lambda *a, **k: types.SimpleNamespace(monitor="val_macro_f1"))
    return search, tried


def test_next_rate_steps_beyond_an_end_on_the_1_3_sequence():
    from studylib.study.search import next_rate
    assert next_rate([0.0003, 0.001, 0.003], downward=True) == 0.0001
    assert next_rate([0.0003, 0.001, 0.003], downward=False) == 0.01
    assert next_rate([0.0001, 0.0003, 0.001], downward=True) == 3e-05
    assert next_rate([0.0001, 0.0003, 0.001, 0.003], downward=True) == 3e-05
    assert next_rate([0.002, 0.004], downward=False) == 0.008  # off the sequence: the grid's own step


@pytest.mark.parametrize("peak, extend, tried, chosen, edge", [
    (1e-4, 2, [3e-4, 1e-3, 3e-3, 1e-4, 3e-5], 1e-4, ""),      # below the grid: two steps down, then interior
    (1e-2, 2, [3e-4, 1e-3, 3e-3, 1e-2, 3e-2], 1e-2, ""),      # above it: up
    (1e-3, 2, [3e-4, 1e-3, 3e-3], 1e-3, ""),                  # interior already: nothing added
    (1e-4, 0, [3e-4, 1e-3, 3e-3], 3e-4, "bottom"),            # not extended: the edge stays, and is flagged
    (1e-6, 2, [3e-4, 1e-3, 3e-3, 1e-4, 3e-5], 3e-5, "bottom"),  # out of steps: flagged against the grown grid
])
def test_a_rate_at_an_end_of_its_grid_gets_the_next_rate_tried(monkeypatch, peak, extend, tried, chosen, edge):
    """Fails if the search stops at the grid's edge while steps remain, steps the wrong way, adds a rate to an
    interior choice, or flags (or not) against the grid as given instead of as grown."""
    from studylib.study import budget
    from studylib.study.experiments import Arm
    search, seen = _fake_search(monkeypatch, peak)
    selection, _ = search.choose_lr(None, Arm("a", lr_grid=[3e-4, 1e-3, 3e-3]), {}, build=None, extend=extend)
    assert seen == pytest.approx(tried) and selection["lr"] == pytest.approx(chosen)
    assert selection["grid"] == sorted(selection["grid"]) and len(selection["grid"]) == len(tried)
    flag = budget.grid_edge({"selection": selection})
    assert (edge in flag and flag) if edge else flag == ""


def test_a_shown_table_keeps_each_cell_whole(monkeypatch):
    # a report's session (`Run.start`) lifts pandas' 50-character cut: the order words ("last two blocks < everything") sit past pandas' 50-character cut; a cut cell hides them
    import html

    import pandas as pd
    seen = []
    monkeypatch.setattr(view, "display", lambda obj: seen.append(obj._repr_html_()))
    from studylib import report
    cell = "-0.058 [-0.086, -0.030] · last two blocks < everything · wins 0/3"
    with pd.option_context("display.max_colwidth", 50):  # pandas' default, and restored after
        report.Run.start("08_curves")  # what every notebook does first (the demo profile's run here)
        view.show(pd.DataFrame({"accuracy": [cell]}))
    assert html.escape(cell) in seen[0]


def test_a_budget_flagged_point_is_named_beside_the_sentences():
    # docs/METHOD.md, Budget flags: an order our budget could have decided says so; a cap-bound seed (best epoch = cap) is named
    points = _tied_points()
    clean = words.summary_sentences(points, n_boot=200)["FER2013 (48 px)"]
    assert "Budget-limited" not in clean
    capped = next(q for q in points if q["n"] == 1000 and q["seed"] == 1 and view.role(q) == "last block")
    history = [{"epoch": e, "val_macro_f1": 0.3 + 0.01 * e} for e in range(1, 21)]  # still rising at the cap
    capped["entry"] = {**capped["entry"], "best_epoch": 20, "final_epoch": 20, "stopped_early": False,
                       "history": history}
    text = words.summary_sentences(points, n_boot=200)["FER2013 (48 px)"]
    assert text.startswith(clean[:-1])
    assert "Budget-limited points" in text and "last block at 1,000 images (1 of 3 seeds)" in text


def test_a_render_s_training_hours_count_a_search_s_chosen_fit_once(tmp_path):
    # seed 0's point at a searched rung is the search's chosen trial, tested instead of trained again: its
    # epochs are among the search's trials and in the point's history, and count once
    bench = _project_curves()
    rng = np.random.default_rng(2)
    y_true = rng.integers(0, 7, 200)
    trials = {100: [1800.0, 3600.0], 1000: [1800.0]}  # seed 0's fits among these
    points = []
    for seed in (0, 1):
        for n in (100, 1000):  # both rungs searched: each uses its own rate
            q = _point("everything", n, seed, y_true, _predict(y_true, 0.5, rng))
            history = [{"epoch": e, "val_macro_f1": 0.1 * e, "seconds": 900.0} for e in (1, 2)]  # 0.5 h a point
            selection = {"lr": 1e-3, "trials": [{"lr": 1e-3, "seconds": t} for t in trials[n]]}
            points.append({**q, "rate_from": n, "entry": {**q["entry"], "history": history, "selection": selection}})
    _write_records(tmp_path / "results", points, params={"dataset": "fer2013", "scope": "everything"})
    # the curves task's record pools the same points (no scope of its own): not counted again
    _write_records(tmp_path / "results", points, params={"dataset": "fer2013", "pool": [0, 1]}, stem="08_curves-pool")
    assert bench.fit_hours(tmp_path) == (2.0, 1.0, 3)  # the points: seed 1's two only
    assert bench.task_fit_hours(tmp_path) == {"08_curves-toy--part0": (2.0, 1.0, 3)}
