"""Training loop and augmentation: learning, resume, soft targets, class weights, presets."""
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from studylib.train.augment import PRESETS, RandomAffineChain, make_augment
from studylib.train.batches import to_batch
from studylib.data.base import ImageDataset
from studylib.train import TrainConfig, evaluate, fit
from studylib.train.optim import balanced_class_weights, build_loss, build_optimizer

CLASSES = ["top-left", "top-right", "bottom-left", "bottom-right"]


def quadrant_data(n, seed, size=16, split="train", soft=False):
    """Noisy grey images whose class is the one bright quadrant: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    img = rng.normal(60, 25, (n, size, size, 1))
    h = size // 2
    for i, c in enumerate(y):
        r, col = divmod(int(c), 2)
        img[i, r * h:(r + 1) * h, col * h:(col + 1) * h] += 120
    targets = y.astype(np.int64)
    if soft:  # FERPlus-like vote distributions whose argmax is the class
        targets = np.full((n, 4), 0.1, np.float32)
        targets[np.arange(n), y] = 0.7
    return ImageDataset(np.clip(img, 0, 255).astype(np.uint8), targets, CLASSES, split, "quadrants")


class TinyNet(nn.Module):
    def __init__(self, channels=1, classes=4):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(0.1))
        self.head = nn.Linear(32, classes)
        self.info = {"arch": "tiny"}

    def forward(self, x):
        return self.head(self.body(x))


def make_model(seed=0):
    torch.manual_seed(seed)
    return TinyNet()


@pytest.fixture(scope="module")
def data():
    return quadrant_data(320, 0), quadrant_data(160, 1, split="val")


def test_tiny_cnn_learns_quadrants(data):
    train, val = data
    cfg = TrainConfig(epochs=5, batch_size=32, optimizer="adam", lr=1e-2, seed=0, device="cpu")
    res = fit(make_model(), train, val, cfg)
    assert list(res.history.columns) == ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc",
                                         "val_macro_f1", "seconds"]
    assert len(res.history) == 5 and res.device == "cpu"
    assert res.history["val_acc"].max() >= 0.9
    # the returned model holds the best epoch's weights, not the last epoch's
    ev = evaluate(res.model, val, cfg)
    assert ev["acc"] >= 0.9 and ev["acc"] == pytest.approx(res.history.loc[res.best_epoch - 1, "val_acc"])
    assert res.best_val == res.history["val_acc"].max()
    assert ev["probs"].shape == (len(val), 4) and np.allclose(ev["probs"].sum(1), 1, atol=1e-5)
    assert (ev["y_pred"] == ev["probs"].argmax(1)).all()


def test_fit_returns_the_best_epoch_weights(data, monkeypatch, tmp_path):
    import studylib.train.loop as train_mod
    train, val = data
    real_evaluate, snapshots, scripted = train_mod.evaluate, [], iter([0.5, 0.9, 0.7])

    def scripted_evaluate(model, dataset, cfg, device=None):
        """Real evaluation, but val_acc follows a script whose best is epoch 2."""
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return {**real_evaluate(model, dataset, cfg, device), "acc": next(scripted)}

    monkeypatch.setattr(train_mod, "evaluate", scripted_evaluate)
    res = fit(make_model(), train, val, TrainConfig(epochs=3, lr=1e-2, seed=0, device="cpu",
                                                    checkpoint_dir=str(tmp_path)))
    assert res.best_epoch == 2 and res.best_val == 0.9
    final = res.model.state_dict()
    assert all(torch.equal(final[k], v) for k, v in snapshots[1].items())
    assert not all(torch.equal(final[k], v) for k, v in snapshots[2].items())
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["epoch"] == 2 and torch.equal(best["model"]["head.weight"], final["head.weight"])


def test_resume_matches_uninterrupted_run(data, tmp_path, capsys):
    train, val = data
    # augmentation, dropout, shuffling, momentum and the LR schedule all carry state across the break
    base = dict(batch_size=32, optimizer="sgd", lr=0.05, momentum=0.9, scheduler="exponential", gamma=0.8,
                augment="seed003", seed=3, device="cpu", max_steps_per_epoch=6)
    full = fit(make_model(), train, val, TrainConfig(epochs=4, **base))

    ckdir = str(tmp_path / "ck")
    fit(make_model(), train, val, TrainConfig(epochs=2, checkpoint_dir=ckdir, **base))
    assert (tmp_path / "ck" / "last.pt").exists() and (tmp_path / "ck" / "best.pt").exists()
    capsys.readouterr()
    resumed = fit(make_model(seed=99), train, val, TrainConfig(epochs=4, checkpoint_dir=ckdir, resume=True, **base))
    out = capsys.readouterr().out
    assert "resumed from" in out and "epoch 3/4" in out and "epoch 1/4" not in out  # really continued

    cols = ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1"]
    np.testing.assert_allclose(resumed.history[cols].to_numpy(), full.history[cols].to_numpy(), rtol=1e-6)
    assert resumed.best_epoch == full.best_epoch
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)


def test_resume_refuses_other_settings(data, tmp_path):
    train, val = data
    cfg = TrainConfig(epochs=1, seed=0, device="cpu", checkpoint_dir=str(tmp_path), max_steps_per_epoch=2)
    fit(make_model(), train, val, cfg)
    other = TrainConfig(epochs=2, lr=0.5, seed=0, device="cpu", checkpoint_dir=str(tmp_path), resume=True)
    with pytest.raises(ValueError, match="lr"):
        fit(make_model(), train, val, other)


def test_soft_targets_train_and_score_argmax(tmp_path):
    train, val = quadrant_data(128, 0, soft=True), quadrant_data(64, 1, split="val", soft=True)
    cfg = TrainConfig(epochs=2, batch_size=32, lr=1e-2, seed=0, device="cpu")
    res = fit(make_model(), train, val, cfg)
    assert np.isfinite(res.history[["train_loss", "val_loss"]].to_numpy()).all()
    ev = evaluate(res.model, val, cfg)
    assert (ev["y_true"] == val.targets.argmax(1)).all()
    # soft cross-entropy is bounded below by the targets' entropy, not by 0
    entropy = -(val.targets * np.log(val.targets)).sum(1).mean()
    assert ev["loss"] >= entropy - 1e-4


def test_balanced_class_weights_change_the_loss():
    labels = np.array([0] * 30 + [1] * 6 + [2] * 3 + [3] * 1)
    ds = ImageDataset(np.zeros((40, 4, 4, 1), np.uint8), labels, CLASSES, "train", "imbalanced")
    from sklearn.utils.class_weight import compute_class_weight
    np.testing.assert_allclose(balanced_class_weights(labels, 4).numpy(),
                               compute_class_weight("balanced", classes=np.arange(4), y=labels), rtol=1e-6)
    torch.manual_seed(0)
    logits, y = torch.randn(40, 4), torch.from_numpy(labels)
    plain = build_loss(TrainConfig(), ds)(logits, y)
    weighted = build_loss(TrainConfig(class_weights="balanced"), ds)(logits, y)
    assert not torch.isclose(plain, weighted)
    assert torch.isclose(plain, nn.functional.cross_entropy(logits, y))


def test_head_gets_its_learning_rate_factor():
    opt = build_optimizer(TinyNet(), TrainConfig(lr=1e-4, head_lr_factor=20, optimizer="adam"))
    lrs = sorted(g["lr"] for g in opt.param_groups)
    assert lrs == pytest.approx([1e-4, 2e-3])
    model = TinyNet()
    for p in model.body.parameters():
        p.requires_grad_(False)
    opt = build_optimizer(model, TrainConfig(lr=1e-4))
    assert sum(len(g["params"]) for g in opt.param_groups) == 2  # head weight + bias only


def test_frozen_batchnorm_keeps_its_statistics(data):
    from studylib.models import build_model
    train, val = data
    torch.manual_seed(0)
    model = build_model("resnet18", 4, in_channels=1, gray_mode="new", scope="new_layers")
    frozen_bn = model.body.layer1[0].bn1
    before = frozen_bn.running_mean.clone()
    model.train()
    assert not frozen_bn.training and model.head.training
    fit(model, train, val, TrainConfig(epochs=1, seed=0, device="cpu", max_steps_per_epoch=3))
    torch.testing.assert_close(frozen_bn.running_mean, before)


def test_a_tiny_fit_predicts_as_it_did_before_the_loop_was_split():
    """Numerics pinned: a StudyModel trained one epoch on synthetic data at seed 0 (values from `fit` and
    `build_model` before they were split into steps)."""
    from studylib.models import build_model
    train, val = quadrant_data(96, 0), quadrant_data(48, 1, split="val")
    torch.manual_seed(0)
    model = build_model("small_cnn", 4, in_channels=1, image_size=16, dropout=0.2)
    res = fit(model, train, val, TrainConfig(epochs=1, batch_size=16, optimizer="sgd", lr=0.05, seed=0, device="cpu",
                                             num_threads=1))
    ev = evaluate(res.model, val, TrainConfig(device="cpu"))
    assert "".join(map(str, ev["y_pred"])) == "122222222121121122222222211221212211222122211122"
    np.testing.assert_allclose(ev["probs"].sum(0), [10.327446, 12.527262, 14.614940, 10.530354], rtol=1e-5)
    np.testing.assert_allclose(res.history[["train_loss", "val_loss"]].iloc[0], [1.2503999, 1.2236311], rtol=1e-6)

def test_early_stopping_stops_when_monitor_stalls(data, monkeypatch):
    from studylib.train import loop
    train, val = data
    # an optimizer at lr 0 (a config refuses lr <= 0) and BN momentum 0: the model never changes, so
    # val_loss never improves after epoch 1
    monkeypatch.setattr(loop, "build_optimizer", lambda model, cfg: torch.optim.SGD(model.parameters(), lr=0.0))
    model = make_model()
    model.body[1].momentum = 0.0
    cfg = TrainConfig(epochs=10, monitor="val_loss", early_stopping_patience=2, seed=0, device="cpu",
                      max_steps_per_epoch=2)
    res = fit(model, train, val, cfg)
    assert res.stopped_early and len(res.history) == 3 and res.best_epoch == 1
    # with a warm-up of 5 epochs the same stalled fit runs those 5 whatever its patience, then stops
    still = make_model()
    still.body[1].momentum = 0.0
    warm = fit(still, train, val, dataclasses.replace(cfg, early_stopping_start=5))
    assert warm.stopped_early and len(warm.history) == 5 and warm.best_epoch == 1


@pytest.mark.parametrize("field,value", [("optimizer", "rmsprop"), ("scheduler", "step"),
                                         ("monitor", "test_acc"), ("augment", "heavy"), ("class_weights", "inverse")])
def test_bad_names_list_the_valid_ones(field, value):
    with pytest.raises(ValueError, match=f"{field}.*valid"):
        TrainConfig(**{field: value})


# --- augmentation -----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("channels", [1, 3])
def test_presets_keep_shape_and_change_the_batch(name, channels):
    torch.manual_seed(0)
    x = torch.rand(1, channels, 24, 24).repeat(16, 1, 1, 1)  # 16 copies of one image
    y = make_augment(name, 24, channels)(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    if name == "none":
        assert torch.equal(y, x)
    else:
        assert not torch.allclose(y, x)
        # per-sample parameters: identical inputs come out different
        assert len({tuple(img.flatten().tolist()) for img in y}) > 1
        assert 0 <= y.min() and y.max() <= 1 + 1e-6


def _smooth(n=3, side=48):
    yy, xx = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side), indexing="ij")
    return (0.5 + 0.3 * torch.sin(6 * xx) * torch.cos(4 * yy) + 0.2 * xx)[None, None].repeat(n, 1, 1, 1)


def test_affine_chain_equals_translate_flip_rotate_in_sequence():
    # The fused warp must be seed 003's three steps composed: compare with kornia applying
    # them one after another (integer shifts; the interior, where no step padded)
    import kornia.geometry.transform as KG
    img = _smooth()
    params = dict(shift=torch.tensor([[5.0, -3.0], [0.0, 0.0], [-7.0, 2.0]]),
                  flip=torch.tensor([True, False, True]), angle=torch.tensor([8.0, -10.0, 0.0]))
    grid = F.affine_grid(RandomAffineChain.theta(params, 48, 48), list(img.shape), align_corners=True)
    fused = F.grid_sample(img, grid, align_corners=True)
    seq = KG.translate(img, params["shift"], align_corners=True)
    seq = torch.where(params["flip"][:, None, None, None], seq.flip(-1), seq)
    seq = KG.rotate(seq, params["angle"], align_corners=True)
    torch.testing.assert_close(fused[..., 12:36, 12:36], seq[..., 12:36, 12:36], atol=1e-5, rtol=0)
    # and the forward pass's own grid (einsum) is F.affine_grid's
    chain = RandomAffineChain(mode="bilinear")
    torch.manual_seed(1)
    ours = chain(img)
    torch.manual_seed(1)
    theta = chain.theta(chain.draw(3, 48, 48), 48, 48)
    torch.testing.assert_close(ours, F.grid_sample(img, F.affine_grid(theta, list(img.shape), align_corners=True),
                                                   align_corners=True))


def test_affine_chain_edge_cases_are_exact():
    img = torch.rand(4, 1, 48, 40)
    assert torch.equal(RandomAffineChain(p_translate=0, p_flip=0, p_rotate=0, mode="nearest")(img), img)
    torch.testing.assert_close(RandomAffineChain(p_translate=0, p_flip=0, p_rotate=0)(img), img)  # bilinear: rounding
    assert torch.equal(RandomAffineChain(p_translate=0, p_flip=1, p_rotate=0, mode="nearest")(img), img.flip(-1))
    torch.testing.assert_close(RandomAffineChain(p_translate=0, p_flip=1, p_rotate=0)(img), img.flip(-1))


def test_affine_chain_draws_seed003s_distribution():
    torch.manual_seed(0)
    p = RandomAffineChain().draw(20000, 48, 40)
    moved, rotated = (p["shift"] != 0).any(1).float(), (p["angle"] != 0).float()
    for share in (moved.mean(), p["flip"].float().mean(), rotated.mean()):
        assert abs(share - 0.5) < 0.02  # each step applied with p = 0.5, independently
    assert abs((moved * rotated).mean() - 0.25) < 0.02
    assert p["shift"][:, 0].abs().max() <= 0.2 * 40 and p["shift"][:, 1].abs().max() <= 0.2 * 48
    assert p["shift"][:, 1].abs().max() > 0.19 * 48  # the whole range is used
    assert p["angle"].abs().max() <= 10 and p["angle"].abs().max() > 9.9
    torch.manual_seed(0)
    again = RandomAffineChain().draw(20000, 48, 40)
    assert all(torch.equal(p[k], again[k]) for k in p)  # the global RNG, which fit seeds and checkpoints


def test_unknown_preset_lists_valid_names():
    with pytest.raises(ValueError, match="seed003"):
        make_augment("heavy")


def test_to_batch_gives_plain_nchw_so_convolutions_stay_nchw():
    # a permuted 1-channel batch has strides torch reads as channels_last; convolutions then run (and
    # return) channels_last, which made ResNet18 training 1.5x slower on CPU
    x = to_batch(np.zeros((4, 48, 40, 1), np.uint8))
    assert x.stride() == (48 * 40, 48 * 40, 40, 1)
    out = F.conv2d(x, torch.randn(8, 1, 3, 3))
    assert out.stride() == torch.empty(out.shape).stride()


def test_optimizers_use_fused_kernels_on_cpu():
    model = nn.Linear(4, 2)
    for name in ("sgd", "adam", "adamw"):
        opt = build_optimizer(model, TrainConfig(optimizer=name))
        assert opt.defaults["fused"] is True, name


def test_to_batch_converts_and_resizes_only_when_needed():
    imgs = np.random.default_rng(0).integers(0, 256, (3, 20, 20, 3), dtype=np.uint8)
    x = to_batch(imgs, 20)
    assert x.shape == (3, 3, 20, 20) and x.dtype == torch.float32
    torch.testing.assert_close(x, torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255)
    y = to_batch(torch.from_numpy(imgs), (16, 12))
    assert y.shape == (3, 3, 16, 12) and 0 <= y.min() and y.max() <= 1
    with pytest.raises(TypeError):
        to_batch(imgs.astype(np.float32), 20)
