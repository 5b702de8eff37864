"""Pins of today's behaviour, so that a refactor cannot silently change it.

Seeding in fit, freezing with a new first conv, the ImageFolder split, the git commit of the
record, weights_only loading, experiments.py (splits, subsets, configs) and profile validation.
"""
import copy
import pickle
import re
import subprocess
from collections import OrderedDict
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

# --- 2. fit seeds every RNG itself -------------------------------------------------------------------


def _quadrants48(n, seed, split="train"):
    """Noisy 48x48 grey images whose class is the bright quadrant (as tests/test_train.py)."""
    from studylib.data.base import ImageDataset
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    img = rng.normal(60, 25, (n, 48, 48, 1))
    for i, c in enumerate(y):
        r, col = divmod(int(c), 2)
        img[i, r * 24:(r + 1) * 24, col * 24:(col + 1) * 24] += 120
    return ImageDataset(np.clip(img, 0, 255).astype(np.uint8), y.astype(np.int64),
                        ["tl", "tr", "bl", "br"], split, "quadrants48")


def test_fit_result_does_not_depend_on_the_callers_random_state():
    from studylib.models import build_model
    from studylib.train import TrainConfig, fit
    train, val = _quadrants48(64, 0), _quadrants48(32, 1, "val")
    torch.manual_seed(0)
    model = build_model("small_cnn", 4, in_channels=1)  # dropout 0.1: draws from torch's RNG
    start = {k: v.clone() for k, v in model.state_dict().items()}
    copy_ = copy.deepcopy(model)
    cfg = TrainConfig(seed=0, epochs=1, batch_size=16, lr=1e-2, device="cpu", augment="seed003")
    torch.manual_seed(123)
    np.random.seed(123)
    a = fit(model, train, val, cfg)
    torch.manual_seed(98765)
    np.random.seed(98765)
    b = fit(copy_, train, val, cfg)
    cols = ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1"]
    pd.testing.assert_frame_equal(a.history[cols], b.history[cols])
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    assert any(not torch.equal(sa[k], start[k]) for k in sa)  # training moved the weights
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_fit_same_seed_same_result_with_augmentation_and_dropout():
    """Two fits from identical models and different caller RNG states give identical weights."""
    from studylib.models import build_model
    from studylib.train import TrainConfig, fit
    train, val = _quadrants48(48, 2), _quadrants48(16, 3, "val")
    torch.manual_seed(1)
    model = build_model("small_cnn", 4, in_channels=1)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    twin = copy.deepcopy(model)
    cfg = TrainConfig(seed=0, epochs=1, batch_size=16, lr=1e-2, device="cpu", augment="seed003")
    torch.manual_seed(7)
    a = fit(model, train, val, cfg).model.state_dict()
    torch.manual_seed(8)
    torch.rand(1000)  # advance the global generator further
    b = fit(twin, train, val, cfg).model.state_dict()
    assert any(not torch.equal(a[k], start[k]) for k in a)  # training moved the weights
    for k in a:
        assert torch.equal(a[k], b[k]), k


# --- 3. freezing with a new 1-channel first conv ------------------------------------------------------


def _trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def _gray_resnet(scope):
    from studylib.models import build_model
    torch.manual_seed(0)
    return build_model("resnet18", 10, in_channels=1, pretrained=False, gray_mode="new", scope=scope)


def _one_fit_step(model):
    """One training step of fit on 16 random 32x32 gray images; returns the state before and after."""
    from studylib.data.base import ImageDataset
    from studylib.train import TrainConfig, fit
    rng = np.random.default_rng(0)
    ds = ImageDataset(rng.integers(0, 256, (16, 32, 32, 1), dtype=np.uint8), rng.integers(0, 10, 16),
                      [str(i) for i in range(10)], "train", "noise")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit(model, ds, ds.subset(np.arange(8), split="val"),
        TrainConfig(epochs=1, batch_size=16, lr=0.1, optimizer="sgd", seed=0, device="cpu", max_steps_per_epoch=1))
    return before, model.state_dict()


def test_scope_head_does_not_train_the_new_first_conv():
    model = _gray_resnet("head")
    assert model.body.conv1.in_channels == 1
    assert _trainable(model) == {"head.weight", "head.bias"}
    assert not model.body.conv1.weight.requires_grad
    before, after = _one_fit_step(model)
    assert torch.equal(before["body.conv1.weight"], after["body.conv1.weight"])
    assert not torch.equal(before["head.weight"], after["head.weight"])


def test_scope_last_block_trains_the_new_first_conv_layer4_and_head():
    model = _gray_resnet("last_block")
    names = _trainable(model)
    assert "body.conv1.weight" in names
    assert {n.split(".")[1] if n.startswith("body.") else n.split(".")[0] for n in names} == \
        {"conv1", "layer4", "head"}
    assert "body.bn1.weight" not in names and not any(n.startswith("body.layer3") for n in names)
    before, after = _one_fit_step(model)
    assert not torch.equal(before["body.conv1.weight"], after["body.conv1.weight"])
    assert not torch.equal(before["body.layer4.1.conv2.weight"], after["body.layer4.1.conv2.weight"])
    assert torch.equal(before["body.layer3.0.conv1.weight"], after["body.layer3.0.conv1.weight"])


# --- 4. ImageFolder split: stratified and seeded ------------------------------------------------------

SPLIT_COUNTS = {"a": 23, "b": 14, "c": 9, "d": 31, "e": 17, "f": 26}
FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


@pytest.fixture(scope="module")
def uneven_folder(tmp_path_factory):
    from studylib.data import synthetic
    root = tmp_path_factory.mktemp("folder") / "ids"
    for i, (c, n) in enumerate(SPLIT_COUNTS.items()):
        synthetic.make_imagefolder(root, [c], n_per_class=n, size=8, seed=i)
    return root


def _split(root, tmp_path, seed, tag):
    from studylib.data import imagefolder
    table, path = imagefolder.split_table(root, "ids", seed=seed, splits_dir=tmp_path / f"splits-{tag}")
    assert path.is_file() and path.name == f"ids-{imagefolder.content_key(table['path'])}-seed{seed}.csv"
    return table


def test_imagefolder_split_is_stratified(uneven_folder, tmp_path):
    for seed in (0, 1):
        table = _split(uneven_folder, tmp_path, seed, f"s{seed}")
        assert len(table) == sum(SPLIT_COUNTS.values()) and table["path"].is_unique
        counts = table.groupby(["class", "split"]).size().unstack(fill_value=0)
        for c, n in SPLIT_COUNTS.items():
            for split, frac in FRACTIONS.items():
                assert abs(counts.loc[c, split] - frac * n) <= 1, (seed, c, split, counts.loc[c, split])


def test_imagefolder_split_is_seeded(uneven_folder, tmp_path):
    first = _split(uneven_folder, tmp_path, 0, "a")
    again = _split(uneven_folder, tmp_path, 0, "b")  # drawn afresh in another folder: the same split
    pd.testing.assert_frame_equal(first, again)
    other = _split(uneven_folder, tmp_path, 1, "c")
    assert (first.set_index("path")["split"] != other.set_index("path").loc[first["path"], "split"]).any()


def test_imagefolder_load_reads_the_recorded_split(uneven_folder, tmp_path):
    from studylib.data import imagefolder
    table = _split(uneven_folder, tmp_path, 0, "r")
    ds = imagefolder.load(uneven_folder, "val", splits_dir=tmp_path / "splits-r", cache_dir=tmp_path / "cache")
    assert sorted(ds.ids) == sorted(table.loc[table["split"] == "val", "path"])
    assert ds.classes == sorted(SPLIT_COUNTS) and ds.split == "val"


# --- 5. the record's git commit ------------------------------------------------------------------------


def test_git_commit_in_this_repository():
    from studylib.report import records as results
    commit = results.git_commit()
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit), commit
    pkg = Path(results.__file__).resolve().parent
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=pkg, capture_output=True, text=True,
                          check=True).stdout.strip()
    assert commit.split("-")[0] == head


def test_git_commit_outside_a_repository_is_unknown(tmp_path, monkeypatch):
    from studylib.report import records as results
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert results.git_commit(cwd=tmp_path) == "unknown"


# --- 6. weights and checkpoints load with weights_only=True --------------------------------------------

RAN = []


def _record_call(tag):
    RAN.append(tag)
    return tag


class Payload:
    """Unpickling this runs _record_call: what weights_only=True must refuse."""

    def __reduce__(self):
        return (_record_call, ("code ran",))


class SneakyDict(OrderedDict):
    pass


def _expect_refused(load):
    RAN.clear()
    with pytest.raises((pickle.UnpicklingError, RuntimeError, AttributeError, TypeError)):
        load()
    assert RAN == []


def test_weights_file_with_a_pickled_object_is_refused(tmp_path):
    from studylib.models import weights as W
    path = tmp_path / "evil.pth"
    torch.save({"conv.weight": torch.zeros(2, 2), "extra": Payload()}, path)
    _expect_refused(lambda: W.load_state_dict(path))
    sneaky = tmp_path / "sneaky.pth"
    torch.save(SneakyDict({"w": torch.zeros(2)}), sneaky)
    _expect_refused(lambda: W.load_state_dict(sneaky))
    # a plain state dict still loads
    ok = tmp_path / "ok.pth"
    torch.save({"w": torch.ones(3)}, ok)
    assert torch.equal(W.load_state_dict(ok)["w"], torch.ones(3))


def test_checkpoint_with_a_pickled_object_is_refused(tmp_path):
    from studylib.train.checkpoint import load_checkpoint
    from studylib.train import TrainConfig
    cfg = TrainConfig(device="cpu")
    path = tmp_path / "last.pt"
    # a checkpoint that would pass the settings check if it were unpickled
    torch.save({"config": asdict(cfg), "epoch": 1, "model": {"w": torch.zeros(2)}, "extra": Payload()}, path)
    _expect_refused(lambda: load_checkpoint(path, asdict(cfg)))
    ok = tmp_path / "ok.pt"
    torch.save({"config": asdict(cfg), "epoch": 1, "model": {"w": torch.zeros(2)}}, ok)
    assert load_checkpoint(ok, asdict(cfg))["epoch"] == 1


# --- 7. experiments.py ------------------------------------------------------------------------------------


@pytest.fixture()
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYLIB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("dataset", ["fer2013", "ferplus"])
def test_load_splits_val_is_public_test_and_test_is_private_test(dataset, demo_data, tmp_cache):
    from studylib.data import fer2013, ferplus
    from studylib.data import splits as experiments
    out = experiments.load_splits(dataset, demo_data)
    assert set(out) == {"train", "val", "test"}
    load = fer2013.load if dataset == "fer2013" else ferplus.load
    for key, usage in (("train", "Training"), ("val", "PublicTest"), ("test", "PrivateTest")):
        direct = load(demo_data, usage)
        assert out[key].split == usage and direct.split == usage
        assert len(out[key]) == len(direct)
        np.testing.assert_array_equal(out[key].ids, direct.ids)
        np.testing.assert_array_equal(out[key].images, direct.images)
        np.testing.assert_array_equal(out[key].targets, direct.targets)
    assert not set(out["val"].ids) & set(out["test"].ids)


def _labelled(counts, seed=0):
    from studylib.data.base import ImageDataset
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(len(counts)), counts)).astype(np.int64)
    imgs = rng.integers(0, 256, (len(labels), 4, 4, 1), dtype=np.uint8)
    return ImageDataset(imgs, labels, [f"c{i}" for i in range(len(counts))], "Training", "toy")


def test_subsample_is_stratified_and_seeded():
    from studylib.data.splits import subsample
    counts = [90, 45, 30, 20, 15]
    ds = _labelled(counts)
    sub = subsample(ds, 40, seed=0)
    assert len(sub) == 40 and sub.split == ds.split
    got = np.bincount(sub.labels, minlength=len(counts))
    assert (np.abs(got - np.array(counts) * 40 / len(ds)) <= 1).all(), got
    np.testing.assert_array_equal(ds.images[np.searchsorted(ds.ids, sub.ids)], sub.images)
    assert (np.diff(sub.ids) > 0).all()  # kept in the original order
    np.testing.assert_array_equal(subsample(ds, 40, seed=0).ids, sub.ids)
    assert not np.array_equal(subsample(ds, 40, seed=1).ids, sub.ids)
    assert subsample(ds, None) is ds and subsample(ds, len(ds) + 5) is ds


def test_load_splits_max_train_and_max_eval_subsample(demo_data, tmp_cache):
    from studylib.data import splits as experiments
    out = experiments.load_splits("fer2013", demo_data, experiments.LoadOptions(seed=0), max_train=70, max_eval=35)
    assert len(out["train"]) == 70 and len(out["val"]) == 35 and len(out["test"]) == 35
    assert out["val"].split == "PublicTest" and out["test"].split == "PrivateTest"
    again = experiments.load_splits("fer2013", demo_data, experiments.LoadOptions(seed=0), max_train=70, max_eval=35)
    np.testing.assert_array_equal(again["train"].ids, out["train"].ids)
    # the default options draw with the split's seed; a profile's list of fractions is the same split
    assert experiments.LoadOptions().seed == experiments.SPLIT_SEED
    assert experiments.LoadOptions(fractions=[0.6, 0.2, 0.2]) == experiments.LoadOptions()


def test_split_off_val_takes_a_stratified_fraction_of_train_and_keeps_test():
    from studylib.data.splits import split_off_val
    counts = [50, 30, 20, 10]
    train, test = _labelled(counts), _labelled([5, 5, 5, 5], seed=1)
    out = split_off_val({"train": train, "val": _labelled([3, 3, 3, 3], seed=2), "test": test}, 0.2, seed=0)
    assert out["test"] is test
    assert len(out["val"]) == 22 and len(out["train"]) == 88  # ceil(0.2 * 110) to val
    assert out["val"].split == "val (from train)"
    got = np.bincount(out["val"].labels, minlength=4)
    assert (np.abs(got - 0.2 * np.array(counts)) <= 1).all(), got
    assert sorted(np.concatenate([out["train"].ids, out["val"].ids]).tolist()) == sorted(train.ids.tolist())
    again = split_off_val({"train": train, "test": test}, 0.2, seed=0)
    np.testing.assert_array_equal(again["val"].ids, out["val"].ids)
    assert not np.array_equal(split_off_val({"train": train, "test": test}, 0.2, seed=1)["val"].ids,
                              out["val"].ids)
    same = {"train": train, "test": test}
    assert split_off_val(same, 0.0) is same


def test_train_config_comes_from_one_mapping_and_rejects_an_unknown_key():
    from studylib.study.experiments import Arm, resolve, train_config
    from studylib.study.schema import ParamsError
    from studylib.train import TrainConfig
    p = resolve("04_frozen_vs_full", {"seed": 3, "train": {"epochs": 2, "device": "cpu"}})
    arm = Arm("x", "all", train={"lr": 0.5})
    assert train_config(p, arm) == TrainConfig(epochs=2, batch_size=32, lr=0.5, optimizer="adam",
                                               scheduler="exponential", gamma=0.9, monitor="val_acc", device="cpu",
                                               seed=3, image_size=48)
    with pytest.raises(ParamsError, match="lerning_rate") as err:
        resolve("04_frozen_vs_full", {"train": {"epochs": 2, "lerning_rate": 0.1}})
    assert re.search(r"\blr\b", str(err.value)) and "max_steps_per_epoch" in str(err.value)  # lists the valid ones


# --- 8. profile validation of nested and None-default values ----------------------------------------------
# validation of nested values: fails until params validation is implemented


def _profile(tmp_path, notebook, run_name, params):
    import yaml
    path = tmp_path / "pinned.yaml"
    path.write_text(yaml.safe_dump({"title": "pins", "data_dir": "generated",
                                    "runs": [{"name": run_name, "notebook": notebook, "params": params}]}))
    return path


def _raises_naming(tmp_path, notebook, run_name, params, key_pattern):
    from studylib.study.profile import ParamsError, load_profile
    _profile(tmp_path, notebook, run_name, params)
    # the message names the profile (file), the run and the key, in whatever wording
    pattern = rf"(?s)^(?=.*pinned)(?=.*{re.escape(run_name)})(?=.*\b(?:{key_pattern})\b)"
    with pytest.raises(ParamsError, match=pattern):
        load_profile("pinned", params_dir=tmp_path, data_dir="generated")


def test_profile_rejects_unknown_keys_inside_arms(tmp_path):
    _raises_naming(tmp_path, "05_partial_vs_full", "run-arms",
                   {"arms": [{"nam": "x", "scop": "last_blok", "train": {"lr": "fast"}}]}, "nam|scop")


def test_profile_rejects_a_wrongly_typed_value_inside_arms(tmp_path):
    _raises_naming(tmp_path, "05_partial_vs_full", "run-arm-lr",
                   {"arms": [{"name": "x", "scope": "freeze_to", "train": {"lr": "fast"}}]}, "lr")


def test_profile_rejects_an_unknown_scope_inside_arms(tmp_path):
    _raises_naming(tmp_path, "05_partial_vs_full", "run-arm-scope",
                   {"arms": [{"name": "x", "scope": "last_blok"}]}, "scope")


def test_profile_rejects_a_string_for_max_train(tmp_path):
    _raises_naming(tmp_path, "05_partial_vs_full", "run-max-train", {"max_train": "lots"}, "max_train")


def test_profile_rejects_a_number_for_class_weights(tmp_path):
    _raises_naming(tmp_path, "05_partial_vs_full", "run-class-weights", {"train": {"class_weights": 3}},
                   "class_weights")


def test_profile_rejects_a_list_for_image_size(tmp_path):
    _raises_naming(tmp_path, "04_frozen_vs_full", "run-image-size", {"image_size": [1, 2]}, "image_size")


def test_a_valid_profile_still_loads(tmp_path):
    from studylib.study.profile import load_profile
    _profile(tmp_path, "05_partial_vs_full", "run-ok",
             {"arms": [{"name": "A", "scope": "freeze_to", "freeze_to": -1, "train": {"lr": 0.001}}], "max_train": 100,
              "train": {"class_weights": "balanced"}})
    prof = load_profile("pinned", params_dir=tmp_path, data_dir="generated")
    assert [r.name for r in prof.tasks] == ["run-ok"] and prof.tasks[0].params["max_train"] == 100
