"""Faithful arms: frozen BatchNorm as each paper's code has it, random-init arms, learning rates chosen on
validation at seed 0 (memoised, never reading test), both test protocols, and the profiles that use them."""
import dataclasses

import numpy as np
import pytest
import torch
import yaml

from studylib import paths
from studylib.models import build_model, split_frozen_prefix
from studylib.study import arms, experiments, search
from studylib.study.experiments import Arm, resolve
from studylib.train import TrainConfig, fit, train_and_test
import studylib.train.experiment as experiment_mod
import studylib.train.loop as loop_mod

from test_train import make_model, quadrant_data

TRAIN_ONE_EPOCH = loop_mod.train_one_epoch  # the real one, before any test patches it


def _step(model, x):
    """One optimizer step of the model's trainable parameters in train mode."""
    model.train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model(x).sum().backward()
    opt.step()


@pytest.mark.parametrize("frozen_bn,changes", [("adapt", True), ("eval", False)])
def test_frozen_batchnorm_adapts_only_when_asked(frozen_bn, changes):
    torch.manual_seed(0)
    model = build_model("resnet18", 4, in_channels=1, gray_mode="new", scope="new_layers", frozen_bn=frozen_bn)
    bn = model.body.bn1  # frozen, right after the new conv1 (paper 003)
    mean, weight = bn.running_mean.clone(), bn.weight.clone()
    _step(model, torch.rand(8, 1, 48, 48))
    assert torch.equal(bn.weight, weight)  # its parameters are frozen either way
    assert (not torch.equal(bn.running_mean, mean)) == changes
    assert bn.training == changes and model.info["frozen_bn"] == frozen_bn
    with pytest.raises(ValueError, match="frozen_bn 'train'; valid: eval, adapt"):
        build_model("resnet18", 4, frozen_bn="train")


def test_a_prefix_whose_batchnorm_adapts_is_never_cacheable():
    torch.manual_seed(0)
    eval_bn = build_model("resnet18", 4, scope="head", frozen_bn="eval")
    adapt = build_model("resnet18", 4, scope="head", frozen_bn="adapt")
    bns = lambda seq: [m for m in seq.modules() if isinstance(m, torch.nn.BatchNorm2d)]  # noqa: E731
    assert bns(split_frozen_prefix(eval_bn, cacheable=True)[0])  # pretrained statistics: cacheable
    cached, _ = split_frozen_prefix(adapt, cacheable=True)
    assert not bns(cached) and len(cached) == 2  # the input step and conv1; bn1 adapts
    frozen, _ = split_frozen_prefix(adapt)  # still frozen (no gradient needed): runs under no_grad
    assert len(bns(frozen)) == len(bns(split_frozen_prefix(eval_bn)[0])) > 0


def test_experiment_and_arm_choose_frozen_bn_and_weights(demo_data):
    p = resolve("04_frozen_vs_full", {"backbone": "efficientnet_lite0"})
    assert p.frozen_bn == "adapt"  # paper 003's code
    names = [a.name for a in p.arms]
    assert {"new_layers", "new_layers, frozen BN in eval", "all, random init"} <= set(names)
    splits = arms.experiment_splits(dataclasses.replace(p, max_train=50), demo_data)
    by_name = {a.name: a for a in p.arms}
    models = {n: arms.build_arm_model(p, by_name[n], splits) for n in ("new_layers", "new_layers, frozen BN in eval",
                                                                      "all, random init")}
    assert models["new_layers"].info["frozen_bn"] == "adapt" and models["new_layers"].info["pretrained"]
    assert models["new_layers, frozen BN in eval"].info["frozen_bn"] == "eval"
    assert not models["all, random init"].info["pretrained"]
    assert resolve("05_partial_vs_full", {}).frozen_bn == "eval"  # paper 001 is Keras: frozen BN in inference
    with pytest.raises(experiments.ParamsError, match="frozen_bn"):
        resolve("04_frozen_vs_full", {"arms": [{"name": "x", "frozen_bn": "train"}]})


def test_fit_keeps_the_final_epoch_and_each_protocol_is_tested_once(monkeypatch):
    train, val = quadrant_data(160, 0), quadrant_data(80, 1, split="val")
    test = quadrant_data(80, 2, split="test")
    calls = []
    real = experiment_mod.evaluate
    monkeypatch.setattr(experiment_mod, "evaluate", lambda m, ds, cfg, device=None: calls.append(ds.split) or real(
        m, ds, cfg, device))
    import studylib.train.loop as loop
    scripted, real_loop_eval = iter([0.5, 0.9, 0.7]), loop.evaluate
    monkeypatch.setattr(loop, "evaluate", lambda m, ds, cfg, device=None: {**real_loop_eval(m, ds, cfg, device),
                                                                           "acc": next(scripted)})
    cfg = TrainConfig(epochs=3, lr=1e-2, seed=0, device="cpu")
    o = train_and_test("x", make_model(), {"train": train, "val": val, "test": test}, cfg)
    assert o.fit.best_epoch == 2 and o.fit.final_epoch == 3 and o.fit.final_state is not None
    assert calls.count("test") == 2  # two models, one look each
    assert o.protocol("final")["epoch"] == 3 and o.protocol("best")["epoch"] == 2
    final_model = make_model()
    final_model.load_state_dict(o.fit.final_state)
    assert (real(final_model, test, cfg)["y_pred"] == o.final["test"]["y_pred"]).all()
    assert o.protocol("final")["val"]["acc"] == 0.7  # the final epoch's own validation row
    # best == final: the same model, tested once, shared by both protocols
    calls.clear()
    scripted = iter([0.5, 0.7, 0.9])
    o = train_and_test("x", make_model(), {"train": train, "val": val, "test": test}, cfg)
    assert o.fit.final_state is None and calls.count("test") == 1 and o.protocol("final")["epoch"] == 3


@dataclasses.dataclass(frozen=True)
class TinyParams:
    seed: int = 0
    image_size: int | None = None
    train: dict = dataclasses.field(default_factory=lambda: {"epochs": 4, "early_stopping_patience": 1,
                                                             "device": "cpu", "monitor": "val_acc"})
    arms: list = dataclasses.field(default_factory=lambda: [Arm("tiny", lr_grid=[1e-5, 3e-2])])


def _build(params, arm, splits):
    return make_model(params.seed)


def test_lr_search_chooses_on_validation_memoises_and_never_reads_test(tmp_path, monkeypatch):
    splits = {"train": quadrant_data(160, 0), "val": quadrant_data(80, 1, split="val")}  # no test at all
    p = TinyParams(seed=3)
    selection, fitted = search.choose_lr(p, p.arms[0], splits, _build, tmp_path)
    assert selection["lr"] == 3e-2 and selection["seed"] == 0 and [t["lr"] for t in selection["trials"]] == [1e-5, 3e-2]
    best = {t["lr"]: t["best_val"] for t in selection["trials"]}
    assert best[3e-2] > best[1e-5] and fitted is not None
    assert all(t["final_epoch"] <= 4 for t in selection["trials"])
    # every task finds the trials memoised (another seed, another process): nothing trains again
    monkeypatch.setattr(search, "fit_arm", lambda *a, **k: pytest.fail("a memoised trial was trained again"))
    again, fitted_again = search.choose_lr(TinyParams(seed=1), p.arms[0], splits, _build, tmp_path)
    assert again == selection and fitted_again is None
    # the key follows what the trial depends on: not the seed, but the arm's settings and the data
    other = dataclasses.replace(p.arms[0], train={"batch_size": 8})
    assert search.trial_key(p, p.arms[0], 3e-2, splits) == search.trial_key(TinyParams(seed=4), p.arms[0], 3e-2, splits)
    assert search.trial_key(p, p.arms[0], 3e-2, splits) != search.trial_key(p, other, 3e-2, splits)


def test_every_seed_trains_at_the_rate_seed_0_chose(tmp_path, monkeypatch):
    splits = {"train": quadrant_data(160, 0), "val": quadrant_data(80, 1, split="val"),
              "test": quadrant_data(80, 2, split="test")}
    monkeypatch.setattr(arms, "build_arm_model", _build)
    seen = []
    monkeypatch.setattr(arms, "experiment_splits", lambda params, data_dir: seen.append(params.seed) or splits)
    out0 = arms.train_arms(TinyParams(seed=0), splits, memo_dir=tmp_path)["tiny"]
    out2 = arms.train_arms(TinyParams(seed=2), splits, memo_dir=tmp_path)["tiny"]
    assert seen == [0]  # seed 2's task loads seed 0's splits for the search (found memoised)
    assert out0.selection["lr"] == out2.selection["lr"] == out0.config.lr == out2.config.lr == 3e-2
    assert out2.config.seed == 2 and out0.config.seed == 0
    chosen = next(t for t in out0.selection["trials"] if t["lr"] == 3e-2)
    assert out0.fit.best_epoch == chosen["best_epoch"]  # seed 0's model is the chosen trial itself
    table = arms.selection_table({"tiny": out0})
    assert table.loc[("tiny", 3e-2), "chosen"] == "✔" and "stopped at epoch" in table.columns
    rec = arms.record_metrics({"tiny": out2})["tiny"]
    assert rec["selection"]["lr"] == 3e-2 and rec["final"]["epoch"] == rec["final_epoch"] and "frozen_bn" in rec


def _profile(name):
    return yaml.safe_load((paths.PARAMS / f"{name}.yaml").read_text())


def _run(profile, run):
    return next(r for r in _profile(profile)["runs"] if r["name"] == run)


def test_profiles_read_paper_001_and_003_alike():
    cpu, gpu = (_run(p, "05_partial_vs_full-fer2013-mlp")["params"] for p in ("cpu", "gpu"))
    assert cpu["arms"][0]["freeze_to"] == gpu["arms"][0]["freeze_to"] == -1  # one reading of "the last layers"
    for params in (cpu, gpu):
        assert params["train"]["epochs"] == 50 and params["train"]["early_stopping_patience"] is None
    for profile in ("cpu", "gpu", "demo"):
        runs = [r for r in _profile(profile)["runs"] if r["notebook"] == "04_frozen_vs_full"]
        assert runs and all(resolve("04_frozen_vs_full", r.get("params", {})).frozen_bn == "adapt" for r in runs)
        for r in _profile(profile)["runs"]:
            p = resolve(r["notebook"], r.get("params", {}))
            if r["notebook"] in ("04_frozen_vs_full", "05_partial_vs_full") and getattr(p, "paper", "") != "001":
                # what pretraining buys: the same architecture from random init, beside the pretrained arms,
                # unless the run's cuts say it was cut (and why)
                assert any(a.pretrained is False for a in p.arms) or any(
                    "random init" in c and "cut" in c for c in r.get("cuts", [])), (profile, r["name"])
            if getattr(p, "paper", "") == "004" and r["notebook"] == "05_partial_vs_full":
                assert p.train.get("early_stopping_patience"), (profile, r["name"])
                assert all(a.lr_grid for a in p.arms if a.pretrained is not False), (profile, r["name"])


def test_each_run_lists_its_own_cuts(tmp_path):
    from studylib.study.profile import ParamsError, load_profile
    nb = sorted(paths.NOTEBOOKS.glob("*.ipynb"))[0].stem
    doc = {"profile": "t", "data_dir": str(tmp_path), "cuts": ["everywhere"],
           "runs": [{"name": "a", "notebook": nb, "cuts": ["only a"]}, {"name": "b", "notebook": nb}]}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(doc))
    prof = load_profile(str(tmp_path / "t.yaml"))
    assert [r.cuts for r in prof.tasks] == [["everywhere", "only a"], ["everywhere"]] and prof.cuts == ["everywhere"]
    doc["runs"][0]["cuts"] = "only a"
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ParamsError, match="run a: key 'cuts' must be a list of strings"):
        load_profile(str(tmp_path / "t.yaml"))
    for name in ("cpu", "gpu"):  # every claim-bearing run of the real profiles says what it changes
        assert all(r.get("cuts") for r in _profile(name)["runs"] if r["notebook"] not in ("01_data_audit", "06_scorecard"))
    assert not any("none intended" in c for c in _profile("gpu")["cuts"])
    assert any("Mixed precision" in c for c in _profile("gpu")["cuts"])


@pytest.mark.parametrize("notebook,params", [
    ("04_frozen_vs_full", {"max_train": 40}),
    ("05_partial_vs_full", {"dataset": "plants", "max_train": 40}),
    ("05_partial_vs_full", {"dataset": "fer2013", "max_train": 60, "val_from_train": 0.25}),
])
def test_every_seed_of_a_run_trains_and_tests_on_the_same_images(demo_data, notebook, params):
    """docs/METHOD.md, Replicates: a seed sets initialisation, order, augmentation and dropout; the split (subsets, the
    recorded image-folder split, validation taken from Training) is the same for every seed."""
    a, b = (arms.experiment_splits(resolve(notebook, {**params, "seed": s}), demo_data) for s in (0, 3))
    for k in ("train", "val", "test"):
        assert np.array_equal(a[k].images, b[k].images) and np.array_equal(a[k].labels, b[k].labels), k


def _count_epochs(monkeypatch, kill_at: int | None = None) -> list:
    """Count the epochs trained (calls of train_one_epoch); with kill_at, that epoch raises KeyboardInterrupt
    instead, as a killed sitting would."""
    calls = []

    def counted(*a, **k):
        if kill_at is not None and len(calls) + 1 == kill_at:
            raise KeyboardInterrupt
        calls.append(1)
        return TRAIN_ONE_EPOCH(*a, **k)
    monkeypatch.setattr(loop_mod, "train_one_epoch", counted)
    return calls


def test_an_interrupted_task_resumes_each_arm_where_it_stopped(tmp_path, monkeypatch):
    """A task killed in its second arm reruns: the first arm trains no epoch again, the second continues from
    its last checkpoint, and every number equals the uninterrupted run's."""
    splits = {"train": quadrant_data(160, 0), "val": quadrant_data(80, 1, split="val"),
              "test": quadrant_data(80, 2, split="test")}
    monkeypatch.setattr(arms, "build_arm_model", _build)
    p = TinyParams(train={"epochs": 4, "device": "cpu", "lr": 3e-2}, arms=[Arm("one"), Arm("two: b, c")])
    calls = _count_epochs(monkeypatch)
    full = arms.train_arms(p, splits)
    assert len(calls) == 8
    _count_epochs(monkeypatch, kill_at=6)  # arm one's 4 epochs, arm two's first, then the kill
    with pytest.raises(KeyboardInterrupt):
        arms.train_arms(p, splits, checkpoints=tmp_path / "ck")
    calls = _count_epochs(monkeypatch)
    resumed = arms.train_arms(p, splits, checkpoints=tmp_path / "ck")
    assert len(calls) == 3  # arm two's epochs 2-4 only
    cols = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1"]
    for name in ("one", "two: b, c"):
        a, b = full[name], resumed[name]
        np.testing.assert_allclose(a.fit.history[cols].to_numpy(), b.fit.history[cols].to_numpy(), rtol=1e-6)
        assert a.fit.best_epoch == b.fit.best_epoch and a.metrics["accuracy"] == b.metrics["accuracy"]
        for proto in ("best", "final"):
            assert (a.protocol(proto)["test"]["y_pred"] == b.protocol(proto)["test"]["y_pred"]).all()
        assert b.config.checkpoint_dir is None and not b.config.resume  # the record's config: what it learnt


def test_a_tasks_checkpoints_are_keyed_by_its_inputs_and_go_once_it_is_recorded(tmp_path):
    from studylib.report import Run
    from studylib.study.task import Task
    task = {"name": "r--seed0", "notebook": "03_cnn_from_scratch", "run": "r", "results_dir": str(tmp_path / "results")}
    run = Run.from_task("03_cnn_from_scratch", Task.from_dict(task, "03_cnn_from_scratch"))
    first = run.checkpoints()
    assert first.parent == tmp_path / "checkpoints" / "r--seed0"
    first.mkdir(parents=True)
    assert run.checkpoints() == first and first.is_dir()  # the same inputs resume
    other = Run.from_task("03_cnn_from_scratch",
                          Task.from_dict({**task, "params": {"train": {"epochs": 3}}}, "03_cnn_from_scratch"))
    assert other.checkpoints() != first and not first.exists()  # other settings start afresh
    run.sources["x.csv"] = "0" * 64
    assert run.checkpoints() != first  # so does other data
    other.checkpoints().mkdir(parents=True)
    (tmp_path / "results").mkdir()
    other.save({}, "headline", "003")
    assert (tmp_path / "results" / "r--seed0.json").is_file() and not (tmp_path / "checkpoints" / "r--seed0").exists()
    assert Run.start("03_cnn_from_scratch").checkpoints() is None  # an interactive session resumes nothing


def test_an_interrupted_lr_search_trial_continues_from_its_last_epoch(tmp_path, monkeypatch):
    splits = {"train": quadrant_data(160, 0), "val": quadrant_data(80, 1, split="val")}
    p = TinyParams(train={"epochs": 3, "device": "cpu", "monitor": "val_acc"})
    calls = _count_epochs(monkeypatch)
    whole, _ = search.choose_lr(p, p.arms[0], splits, _build, tmp_path / "uninterrupted")
    assert len(calls) == 6
    _count_epochs(monkeypatch, kill_at=5)  # the first trial's 3 epochs, the second's first, then the kill
    with pytest.raises(KeyboardInterrupt):
        search.choose_lr(p, p.arms[0], splits, _build, tmp_path / "memo")
    assert len(list((tmp_path / "memo").glob("*.ck"))) == 1  # the interrupted trial's checkpoint, not the finished one's
    calls = _count_epochs(monkeypatch)
    again, _ = search.choose_lr(p, p.arms[0], splits, _build, tmp_path / "memo")
    assert len(calls) == 2 and not list((tmp_path / "memo").glob("*.ck"))  # epochs 2-3 of the second trial only
    strip = lambda sel: [{k: v for k, v in t.items() if k != "seconds"} for t in sel["trials"]]
    assert strip(again) == strip(whole) and again["lr"] == whole["lr"]
