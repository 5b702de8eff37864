"""The shared store of frozen-prefix outputs: hit, built, rebuilt; keyed by everything that sets the outputs;
one build when two processes ask at once; training from it equals training without it."""
import multiprocessing as mp
import time

import numpy as np
import pytest
import torch

import studylib.train.prefix_cache as store
from studylib.data.base import ImageDataset
from studylib.models import build_model, split_frozen_prefix
from studylib.train import TrainConfig, fit


def tiny_data(n, seed, size=32, classes=4, split="train"):
    """Random gray images whose class brightens one quadrant."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    img = rng.normal(80, 30, (n, size, size, 1))
    for i, c in enumerate(y):
        r, col = divmod(int(c), 2)
        img[i, r * 16:(r + 1) * 16, col * 16:(col + 1) * 16] += 100
    return ImageDataset(np.clip(img, 0, 255).astype(np.uint8), y.astype(np.int64),
                        [f"c{k}" for k in range(classes)], split, "tiny")


@pytest.fixture(scope="module")
def data():
    return tiny_data(40, 0), tiny_data(20, 1, split="val")


def make(seed=0, backbone="resnet18", scope="last_block"):
    torch.manual_seed(seed)
    return build_model(backbone, 4, in_channels=1, pretrained=False, scope=scope, image_size=32)


def cfg(**kw):
    return TrainConfig(**{**dict(epochs=2, batch_size=16, lr=1e-3, seed=0, device="cpu", eval_batch_size=32), **kw})


def counted_fit(model, train, val, config):
    """fit, and how many images went through the last cached step (layer3 of ResNet18's last_block prefix)."""
    seen = []
    hook = model.body.layer3.register_forward_hook(lambda m, i, o: seen.append(len(o)))
    try:
        return fit(model, train, val, config), sum(seen)
    finally:
        hook.remove()


def entries():
    return sorted(store.cache_folder().glob("*.npy"))


def test_second_use_is_a_hit_and_never_runs_the_prefix(data):
    train, val = data
    first, n1 = counted_fit(make(), train, val, cfg())
    assert first.speed["prefix_cache"] == "built" and first.speed["prefix_cache_splits"] == {"train": "built",
                                                                                             "val": "built"}
    assert n1 == len(train) + len(val) + 1  # every sample once, plus the one-image probe that sizes it
    assert len(entries()) == 2
    # another seed (and another arm's settings) on the same frozen weights and images reads the files
    second, n2 = counted_fit(make(), train, val, cfg(seed=3, lr=1e-2))
    assert second.speed["prefix_cache"] == "hit" and n2 == 0
    assert len(entries()) == 2


def test_disk_cache_trains_the_same_model_as_no_cache(data):
    train, val = data
    plain = fit(make(), train, val, cfg(frozen_prefix="off"))
    built = fit(make(), train, val, cfg())
    hit = fit(make(), train, val, cfg())
    memory = fit(make(), train, val, cfg(frozen_prefix="memory"))
    assert (built.speed["prefix_cache"], hit.speed["prefix_cache"]) == ("built", "hit")
    assert "prefix_cache" not in memory.speed and memory.speed["frozen_prefix"] == "cached"
    cols = ["train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1"]
    for other in (built, hit, memory):
        np.testing.assert_allclose(other.history[cols].to_numpy(), plain.history[cols].to_numpy(), rtol=1e-4, atol=1e-5)
        assert other.best_epoch == plain.best_epoch
        for k, v in plain.model.state_dict().items():
            torch.testing.assert_close(other.model.state_dict()[k], v, rtol=1e-4, atol=1e-5, msg=k)


def test_changed_weights_or_data_build_again(data):
    train, val = data
    fit(make(), train, val, cfg(epochs=1))
    model = make()
    with torch.no_grad():
        model.body.conv1.weight.add_(0.01)  # a frozen weight of the prefix
    res, n = counted_fit(model, train, val, cfg(epochs=1))
    assert res.speed["prefix_cache_splits"] == {"train": "built", "val": "built"} and n > 0
    other = make(seed=1)  # a random-init backbone of another seed: other weights, other entry
    assert counted_fit(other, train, val, cfg(epochs=1))[0].speed["prefix_cache"] == "built"
    images = train.images.copy()
    images[0, 0, 0, 0] ^= 1  # one pixel of one training image
    changed = ImageDataset(images, train.targets, train.classes, "train", "tiny")
    res, n = counted_fit(make(), changed, val, cfg(epochs=1))
    assert res.speed["prefix_cache_splits"] == {"train": "built", "val": "hit"} and n == len(train) + 1
    assert counted_fit(make(), train.subset(np.arange(1, len(train))), val, cfg(epochs=1))[0].speed[
        "prefix_cache_splits"]["train"] == "built"  # another set of samples


@pytest.mark.parametrize("damage", ["flip", "truncate", "meta", "data"])
def test_damaged_entry_is_detected_and_rebuilt(data, damage):
    train, val = data
    first = fit(make(), train, val, cfg(epochs=1))
    key = first.speed["prefix_cache_keys"]["train"]
    data_file = next(p for p in entries() if p.stem.startswith(key))
    good = data_file.read_bytes()
    if damage == "flip":  # same size, one byte of the outputs changed: only the sha256 tells
        data_file.write_bytes(good[:-5] + bytes([good[-5] ^ 0xFF]) + good[-4:])
    elif damage == "truncate":
        data_file.write_bytes(good[: len(good) // 2])
    elif damage == "meta":
        data_file.with_suffix(".json").write_text("{not json")
    else:
        data_file.unlink()
    res, n = counted_fit(make(), train, val, cfg(epochs=1))
    assert res.speed["prefix_cache_splits"] == {"train": "rebuilt", "val": "hit"}
    assert n == len(train) + 1 and data_file.read_bytes() == good
    assert counted_fit(make(), train, val, cfg(epochs=1))[0].speed["prefix_cache"] == "hit"


def test_key_covers_what_sets_the_outputs(data):
    train, _ = data
    prefix = split_frozen_prefix(make(), cacheable=True)[0]
    args = dict(image_size=32, interpolation="bilinear", channels_last=False, amp_dtype=None, device=torch.device("cpu"))
    from studylib.train.numerics import Numerics
    key = lambda p, images, **a: store.prefix_key(p, images, Numerics(**a))[0]  # noqa: E731
    base = key(prefix, train.images, **args)
    assert key(prefix, train.images.copy(), **args) == base  # same bytes, same key
    for change in (dict(image_size=40), dict(interpolation="bicubic"), dict(channels_last=True),
                   dict(amp_dtype=torch.bfloat16), dict(device=torch.device("meta"))):
        assert key(prefix, train.images, **{**args, **change}) != base, change
    shorter = split_frozen_prefix(make(scope="all").set_scope("last_n", 2), cacheable=True)[0]  # another cut point
    assert len(shorter) < len(prefix) and key(shorter, train.images, **args) != base
    with torch.no_grad():
        next(m for m in prefix.modules() if isinstance(m, torch.nn.BatchNorm2d)).running_mean.add_(1)
    assert key(prefix, train.images, **args) != base  # BatchNorm statistics are part of the state


def _ask(folder, barrier, log, out):
    """A process asking the store for one entry at the same moment as another (build takes a while)."""
    def build():
        with open(log, "a") as f:
            f.write("built\n")
        time.sleep(0.5)  # long enough that the other process asks while this one builds
        return torch.arange(12, dtype=torch.float32).reshape(3, 4) * 1.5

    barrier.wait()
    feats, status = store.load_or_build("k" * 32, {"what": "test"}, build, cache_dir=folder)
    torch.save((feats, status), out)


def test_two_processes_build_once_and_read_the_same(tmp_path):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    outs = [tmp_path / f"out{i}.pt" for i in range(2)]
    procs = [ctx.Process(target=_ask, args=(tmp_path, barrier, tmp_path / "log", out)) for out in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert (tmp_path / "log").read_text() == "built\n"
    (a, sa), (b, sb) = (torch.load(o) for o in outs)
    assert sorted([sa, sb]) == ["built", "hit"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert sorted(p.name for p in (tmp_path / "prefix").iterdir()) == [f"{'k' * 32}.{e}" for e in ("json", "lock", "npy")]


def test_oldest_entries_are_pruned_beyond_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "PREFIX_CACHE_MAX_BYTES", 1100)
    for i, key in enumerate(("a" * 32, "b" * 32, "c" * 32)):
        store.load_or_build(key, {}, lambda: torch.zeros(100), cache_dir=tmp_path)  # 400 bytes + header each
        time.sleep(0.05)
    assert sorted(p.stem[0] for p in (tmp_path / "prefix").glob("*.npy")) == ["b", "c"]
