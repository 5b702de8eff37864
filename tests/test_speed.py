"""Speed paths of train.fit: frozen-prefix cache / no_grad, threads, channels_last; same results as the plain path."""
import numpy as np
import pytest
import torch

import studylib.train.prefix as prefix_mod
import studylib.train.speed as speed_mod
import studylib.train.threads as threads_mod
from studylib.data.base import ImageDataset
from studylib.models import build_model, split_frozen_prefix
from studylib.train import TrainConfig, evaluate, fit


def tiny_data(n, seed, channels=1, size=32, classes=4, split="train"):
    """Random images whose class brightens one quadrant: something to learn in two epochs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    img = rng.normal(80, 30, (n, size, size, channels))
    h = size // 2
    for i, c in enumerate(y):
        r, col = divmod(int(c), 2)
        img[i, r * h:(r + 1) * h, col * h:(col + 1) * h] += 100
    return ImageDataset(np.clip(img, 0, 255).astype(np.uint8), y.astype(np.int64),
                        [f"c{k}" for k in range(classes)], split, "tiny")


@pytest.fixture(scope="module")
def data():
    return tiny_data(48, 0), tiny_data(24, 1, split="val")


def make(backbone="resnet18", scope="last_block", seed=0, channels=1):
    torch.manual_seed(seed)
    return build_model(backbone, 4, in_channels=channels, pretrained=False, scope=scope, image_size=32)


def cfg(**kw):
    base = dict(epochs=2, batch_size=16, optimizer="adam", lr=1e-3, seed=0, device="cpu", eval_batch_size=32)
    return TrainConfig(**{**base, **kw})


def assert_same_run(a, b):
    cols = ["train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1"]
    np.testing.assert_allclose(a.history[cols].to_numpy(), b.history[cols].to_numpy(), rtol=1e-4, atol=1e-5)
    assert a.best_epoch == b.best_epoch
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=1e-4, atol=1e-5, msg=k)


@pytest.mark.parametrize("backbone", ["resnet18", "resnet50", "efficientnet_b0", "efficientnet_lite0"])
@pytest.mark.parametrize("scope", ["head", "last_block"])
def test_split_reproduces_the_model(backbone, scope):
    model = make(backbone, scope).eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        ref = model(x)
        for cacheable in (False, True):
            prefix, suffix = split_frozen_prefix(model, cacheable=cacheable)
            torch.testing.assert_close(suffix(prefix(x)), ref, rtol=0, atol=0)
            assert prefix[0] is model.input  # the model's own input step, not a copy of it
            assert not any(p.requires_grad for p in prefix.parameters())
    frozen, _ = split_frozen_prefix(model)
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable and not trainable & {id(p) for p in frozen.parameters()}


def test_split_not_applicable():
    assert split_frozen_prefix(make(scope="all")) is None
    assert split_frozen_prefix(torch.nn.Linear(3, 2)) is None
    torch.manual_seed(0)  # seed 003's ResNet18: a new 1-channel conv1 learns, so nothing in front is frozen
    new_conv = build_model("resnet18", 4, in_channels=1, gray_mode="new", scope="new_layers")
    assert split_frozen_prefix(new_conv) is None


@pytest.mark.parametrize("backbone,scope", [("resnet18", "last_block"), ("efficientnet_lite0", "last_block"),
                                             ("efficientnet_b0", "head")])
def test_cached_prefix_trains_the_same_model(data, backbone, scope):
    train, val = data
    plain = fit(make(backbone, scope), train, val, cfg(frozen_prefix="off"))
    cached = fit(make(backbone, scope), train, val, cfg())
    assert plain.speed["frozen_prefix"] == "off" and cached.speed["frozen_prefix"] == "cached"
    assert cached.speed["cached_steps"] >= 1
    assert_same_run(plain, cached)
    assert type(cached.model).__name__ == "StudyModel"
    # the returned full model scores val as fit reported it (evaluate runs the whole model, no cache)
    ev = evaluate(cached.model, val, cfg())
    assert ev["acc"] == pytest.approx(cached.history.loc[cached.best_epoch - 1, "val_acc"])
    assert ev["loss"] == pytest.approx(cached.history.loc[cached.best_epoch - 1, "val_loss"], rel=1e-4)


def test_frozen_prefix_gets_no_grad_and_no_backward(data):
    train, val = data
    for augment, mode in (("none", "cached"), ("seed003", "no_grad")):
        model = make()
        frozen = {k: v.detach().clone() for k, v in model.named_parameters() if not v.requires_grad}
        seen = []
        hook = model.body.layer3.register_forward_hook(
            lambda m, i, o: seen.append((m.training, torch.is_grad_enabled(), o.requires_grad)))
        res = fit(model, train, val, cfg(augment=augment, epochs=1))
        hook.remove()
        assert res.speed["frozen_prefix"] == mode
        for name, p in model.named_parameters():
            if p.requires_grad:
                assert p.grad is not None, name
            else:
                assert p.grad is None, name
                torch.testing.assert_close(p.detach(), frozen[name], rtol=0, atol=0)
        # the last frozen stage only ever ran without autograd
        assert seen and not any(grad or req for _, grad, req in seen)


def test_prefix_runs_once_per_sample_when_cached(data):
    train, val = data
    model = make()
    seen = []
    hook = model.body.layer3.register_forward_hook(lambda m, i, o: seen.append(len(o)))
    res = fit(model, train, val, cfg(epochs=3))
    hook.remove()
    assert res.speed["frozen_prefix"] == "cached" and res.speed["cached_steps"] == 7  # up to layer3
    assert sum(seen) == len(train) + len(val) + 1  # + the one-image probe that sizes the cache
    assert res.speed["feature_shape"] == (256, 2, 2)  # layer3's output at 32x32


def test_no_cache_with_augmentation_but_training_works(data):
    train, val = data
    plain = fit(make(), train, val, cfg(augment="seed003", frozen_prefix="off"))
    res = fit(make(), train, val, cfg(augment="seed003"))
    assert res.speed["frozen_prefix"] == "no_grad" and res.speed["cached_steps"] == 0
    assert np.isfinite(res.history[["train_loss", "val_loss"]].to_numpy()).all()
    before = make().state_dict()
    assert not torch.equal(res.model.state_dict()["body.layer4.0.conv1.weight"], before["body.layer4.0.conv1.weight"])
    torch.testing.assert_close(res.model.state_dict()["body.layer3.0.conv1.weight"], before["body.layer3.0.conv1.weight"])
    assert_same_run(plain, res)  # no_grad on the frozen part changes nothing, augmentation included


def test_too_big_a_cache_falls_back_to_no_grad(data, monkeypatch):
    train, val = data
    monkeypatch.setattr(prefix_mod, "FEATURE_CACHE_MAX_BYTES", 1)
    res = fit(make(), train, val, cfg(epochs=1))
    assert res.speed["frozen_prefix"] == "no_grad"


def test_threads_and_memory_format_are_restored(data):
    train, val = data
    before = torch.get_num_threads()
    res = fit(make("efficientnet_lite0", "last_block"), train, val, cfg(epochs=1, num_threads=1))
    assert res.speed["channels_last"] and res.speed["num_threads"] == 1
    assert torch.get_num_threads() == before
    assert all(p.is_contiguous() for p in res.model.parameters())
    res = fit(make("resnet18", "last_block"), train, val, cfg(epochs=1))
    assert not res.speed["channels_last"] and 1 <= res.speed["num_threads"] <= max(before, 1)
    assert speed_mod.cpu_threads(3) == 3 and 1 <= threads_mod.usable_cpus()


def test_thread_plan_gives_each_core_one_single_thread_task():
    many = threads_mod.thread_plan(2, 10)
    assert (many.concurrent, many.threads) == (2, 1)
    assert many.env == {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    lone = threads_mod.thread_plan(2, 1)  # a last task alone gets both cores
    assert (lone.concurrent, lone.threads, lone.env["OMP_NUM_THREADS"]) == (1, 2, "2")
    assert (threads_mod.thread_plan(8, 3).concurrent, threads_mod.thread_plan(8, 3).threads) == (3, 2)
    assert threads_mod.thread_plan(1, 4).threads == 1 and threads_mod.thread_plan(4, 0).concurrent == 1
    assert threads_mod.thread_plan(None, 64).concurrent == threads_mod.usable_cpus()
