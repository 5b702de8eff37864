"""Benchmark: training throughput of a seed-003-style PNG/PIL/DataLoader pipeline vs studylib.train.

Prints figures; not a test. For each case, the same model (same initial weights), batch size and
number of steps run through:

  (a) baseline, seed-003 style: FER images written once as PNG files, each sample opened with
      PIL.Image.open and transformed with torchvision.transforms (v1) in a torch Dataset,
      DataLoader(num_workers=0, shuffle=True), a plain training loop: the issue's baseline, against
      which the targets are judged. By default the same loop also runs on seed 003's own
      FERPlusDataset (pandas .iloc, skimage imread, dict samples), which costs several times more
      per sample, for scale (--baselines pil to skip it);
  (b) the project: `studylib.train.fit` on the in-memory uint8 dataset (batched augmentation, one
      composed warp for seed 003's; frozen-prefix cache; channels_last where it helps), timed as a
      whole, including its validation on a small val set (--val-images) after every epoch.

A bound is printed too: the bare training step of the same model (batch already in memory), the
most any data pipeline could reach.

Cases: small_cnn (seed 003's CNN with its augmentation), lite0_full (EfficientNet-Lite0, ImageNet
weights, 48x48 gray repeated to RGB, full fine-tuning, no augmentation), lite0_last_block (the same,
only the last block + head train). Then the small CNN's validation accuracy after a short run
through both pipelines, to show the speed-ups leave accuracy alone.

    python bench/bench_train.py [--data-dir ../shared/data] [--steps 96] [--batch-size 32]
                                [--cases small_cnn,lite0_full,lite0_last_block] [--no-accuracy]
                                [--images 1024] [--repeats 2] [--baselines pil,seed003]

The machine may be shared: figures are wall-clock and move with other load.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import io
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # fit's progress bars would clutter the figures

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402
from torchvision import transforms as T  # noqa: E402

from studylib.data import ferplus, synthetic  # noqa: E402
from studylib.data.base import DataError, ImageDataset  # noqa: E402
from studylib.train.augment import make_augment  # noqa: E402
from studylib.models import build_model  # noqa: E402
from studylib.train import TrainConfig, evaluate, fit  # noqa: E402

CASES = {
    # name: model kwargs, project augmentation preset, optimizer settings
    "small_cnn": dict(model=dict(backbone="small_cnn", pretrained=False), augment="seed003",
                      optim=dict(optimizer="sgd", lr=0.01, momentum=0.9)),
    "lite0_full": dict(model=dict(backbone="efficientnet_lite0", pretrained=True, scope="all"), augment="none",
                       optim=dict(optimizer="adam", lr=1e-3)),
    # issue 3: ResNet18 at 48x48 with a new 1-channel conv1 as seed 003 (random init: same cost as ImageNet weights)
    "resnet18_full": dict(model=dict(backbone="resnet18", pretrained=False, scope="all", gray_mode="new"), augment="none",
                          optim=dict(optimizer="adam", lr=1e-3)),
    "lite0_last_block": dict(model=dict(backbone="efficientnet_lite0", pretrained=True, scope="last_block"),
                             augment="none", optim=dict(optimizer="adam", lr=1e-3)),
}


# --- data ------------------------------------------------------------------------------------------

def load_ferplus(data_dir: str, tmp: Path) -> tuple[ImageDataset, ImageDataset, str]:
    """FERPlus train and val (plurality labels, 10 classes); generated stand-ins when absent."""
    try:
        return ferplus.load(data_dir, "Training"), ferplus.load(data_dir, "PublicTest"), f"FERPlus from {data_dir}"
    except DataError:
        synthetic.make_fer(tmp / "generated", n_per_class=(400, 150, 10), seed=0)
        load = lambda split: ferplus.load(tmp / "generated", split, cache_dir=tmp / "cache")  # noqa: E731
        return load("Training"), load("PublicTest"), "generated FER stand-ins (no FERPlus under --data-dir)"


def write_pngs(ds: ImageDataset, folder: Path) -> list[Path]:
    """Each image as a grayscale PNG, as the FERPlus image folders ship."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(ds.images):
        p = folder / f"{i:06d}.png"
        Image.fromarray(img[:, :, 0], mode="L").save(p)
        paths.append(p)
    return paths


# --- (a) the baseline ------------------------------------------------------------------------------

class PngDataset(Dataset):
    """Seed-003 style: one PIL open + torchvision transforms per sample."""

    def __init__(self, paths, labels, transform):
        self.paths, self.labels, self.transform = list(paths), torch.as_tensor(labels), transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as im:
            img = im.convert("L")
        return self.transform(img), self.labels[i]


class Seed003Dataset(Dataset):
    """Seed 003's own FERPlusDataset (--baseline-dataset seed003): a pandas frame of image names and vote
    columns, `.iloc` per sample, skimage `io.imread` + `Image.fromarray`, a dict per sample with float votes
    (here one-hot of the label, so the loss equals the hard-label one)."""

    def __init__(self, paths, labels, transform, num_classes: int):
        import pandas as pd
        votes = np.eye(num_classes, dtype=np.float32)[np.asarray(labels)] * 10
        self.img_frame = pd.DataFrame({"Image name": [p.name for p in paths], "Usage": "Training",
                                       **{f"v{k}": votes[:, k] for k in range(num_classes)}})
        self.root_dir, self.transform = str(Path(paths[0]).parent), transform

    def __len__(self):
        return len(self.img_frame)

    def __getitem__(self, idx):
        from skimage import io
        if torch.is_tensor(idx):
            idx = idx.tolist()
        img_name = os.path.join(self.root_dir, self.img_frame.iloc[idx, 0])
        image = Image.fromarray(io.imread(img_name))
        emotions = np.asarray(self.img_frame.iloc[idx, 2:]).astype("float32")
        if self.transform:
            image = self.transform(image)
        return {"image": image, "emotions": emotions}


def baseline_transform(model, augment: bool):
    """torchvision v1 transforms equivalent to the project's: seed 003's augmentation, ToTensor, Normalize
    with the model's own input statistics (the baseline model then skips its built-in normalisation)."""
    mean, std = model.info["input_mean"], model.info["input_std"]
    assert len(set(mean)) == 1 and len(set(std)) == 1, "1-channel normalisation needs equal channel stats"
    aug = [T.RandomApply([T.RandomAffine(0, translate=(0.2, 0.2))], p=0.5), T.RandomHorizontalFlip(),
           T.RandomApply([T.RandomRotation(10)], p=0.5)] if augment else []
    return T.Compose(aug + [T.ToTensor(), T.Normalize(mean[:1], std[:1])])


class PreNormalised(nn.Module):
    """The StudyModel, fed inputs already normalised by the transforms (as seed 003's pipeline does)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        if self.model.repeat_gray:
            x = x.expand(-1, 3, -1, -1)
        return self.model.head(self.model.body(x))


def model_only(model, optim: dict, batch_size: int, steps: int) -> float:
    """img/s of the bare training step (random batch already in memory, NCHW): no data pipeline at all."""
    net = PreNormalised(model).train()
    opt = make_optimizer(model, optim)
    x, y = torch.randn(batch_size, 1, 48, 48), torch.randint(0, model.info["num_classes"], (batch_size,))
    best = 0.0
    for window in range(3):  # a warm-up window, then the best of two
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if window:
            best = max(best, steps * batch_size / (time.perf_counter() - t0))
    return best


def make_optimizer(model, optim: dict):
    params = [p for p in model.parameters() if p.requires_grad]
    if optim["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=optim["lr"], momentum=optim["momentum"])
    return torch.optim.Adam(params, lr=optim["lr"])


def train_baseline(model, loader, epochs: int, steps_per_epoch: int, optim: dict, scheduler: bool = False) -> int:
    """A plain loop over the DataLoader; returns the number of images trained on."""
    net = PreNormalised(model)
    opt = make_optimizer(model, optim)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9) if scheduler else None
    seen = 0
    for _ in range(epochs):
        net.train()  # StudyModel.train keeps frozen BatchNorm in eval, as the project does
        for step, batch in enumerate(loader):
            if step >= steps_per_epoch:
                break
            x, y = (batch["image"], batch["emotions"]) if isinstance(batch, dict) else batch
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(y)
        if sched is not None:
            sched.step()
    return seen


@torch.no_grad()
def baseline_accuracy(model, loader) -> float:
    net = PreNormalised(model).eval()
    correct = n = 0
    for x, y in loader:
        correct += (net(x).argmax(1) == y).sum().item()
        n += len(y)
    return correct / max(n, 1)


# --- (b) the project -------------------------------------------------------------------------------

def train_project(model, train: ImageDataset, val: ImageDataset, case: dict, epochs: int, steps_per_epoch: int,
                  batch_size: int, **extra):
    extra = {"seed": 0, **extra}
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, augment=case["augment"], device="cpu",
                      max_steps_per_epoch=steps_per_epoch, **case["optim"], **extra)
    with contextlib.redirect_stdout(io.StringIO()):
        return fit(model, train, val, cfg)


# --- driver ----------------------------------------------------------------------------------------

def build(case: dict, num_classes: int, seed: int = 0):
    torch.manual_seed(seed)
    with contextlib.redirect_stdout(io.StringIO()):
        return build_model(num_classes=num_classes, in_channels=1, **case["model"])


def warm_up(case: dict, train: ImageDataset, val: ImageDataset, loader_fn, batch_size: int) -> None:
    """A few steps of each pipeline on a throwaway copy, so neither timing pays one-off kernel setup."""
    small = train.subset(np.arange(2 * batch_size))
    train_baseline(build(case, train.num_classes), loader_fn("pil", 2 * batch_size), 1, 2, case["optim"])
    train_project(build(case, train.num_classes), small, val.subset(np.arange(8)), case, 1, 2, batch_size)


BASELINES = {
    # name: what (a) is, for the printout
    "pil": "PIL.Image.open + transforms per sample",
    "seed003": "seed 003's own FERPlusDataset (pandas, skimage)",
}


def bench_case(name: str, train: ImageDataset, val_small: ImageDataset, paths, args) -> dict:
    case = CASES[name]
    model = build(case, train.num_classes)
    steps_per_epoch = min(args.steps, len(train) // args.batch_size)
    epochs = math.ceil(args.steps / steps_per_epoch)
    transform = baseline_transform(model, augment=case["augment"] != "none")

    def loader(kind="pil", n=len(train)):
        if kind == "seed003":
            ds = Seed003Dataset(paths[:n], train.targets[:n], transform, train.num_classes)
        else:
            ds = PngDataset(paths[:n], train.targets[:n], transform)
        return DataLoader(ds, batch_size=args.batch_size, shuffle=True, num_workers=0)

    warm_up(case, train, val_small, loader, args.batch_size)
    best = dict.fromkeys([*args.baselines, "project"], 0.0)
    for _ in range(max(1, args.repeats)):  # alternate the pipelines, keep each one's best: other load only slows
        for kind in args.baselines:
            torch.manual_seed(0)
            t0 = time.perf_counter()
            seen = train_baseline(copy.deepcopy(model), loader(kind), epochs, steps_per_epoch, case["optim"])
            best[kind] = max(best[kind], seen / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        res = train_project(copy.deepcopy(model), train, val_small, case, epochs, steps_per_epoch, args.batch_size)
        best["project"] = max(best["project"], epochs * steps_per_epoch * args.batch_size / (time.perf_counter() - t0))
    a, b = best[args.baselines[0]], best["project"]
    bare = model_only(copy.deepcopy(model), case["optim"], args.batch_size, max(4, args.steps // 8))
    info = model.info
    speed = res.speed
    how = speed["frozen_prefix"] + (f" ({speed['cached_steps']} steps cached)" if speed.get("cached_steps") else "")
    print(f"\n[{name}] {info['backbone']} ({'ImageNet' if info['pretrained'] else 'random init'}), scope "
          f"{info['scope']}, augment {case['augment']}, {info['trainable_params']:,}/{info['total_params']:,} "
          f"trainable; {epochs} epochs x {steps_per_epoch} steps x batch {args.batch_size} "
          f"= {epochs * steps_per_epoch * args.batch_size:,} images, best of {max(1, args.repeats)}")
    for kind in args.baselines:
        print(f"  (a) baseline, {BASELINES[kind] + ', DataLoader:':58s} {best[kind]:7.0f} img/s")
    print(f"  (b) studylib.train.fit: {'':44s} {b:7.0f} img/s  (incl. {len(val_small)}-image val each "
          f"epoch; frozen prefix {how}, channels_last {speed['channels_last']}, {speed['num_threads']} threads)")
    print("  ratio (b)/(a): " + ", ".join(f"{b / best[kind]:5.2f}x vs {kind}" for kind in args.baselines))
    beyond = ("; (b) passes it by also changing how the model runs (channels_last, fused optimizer, cached prefix)"
              if b > bare else "")
    print(f"  bound: the bare training step as the baseline runs it (batch already in memory, NCHW, no data "
          f"pipeline): {bare:7.0f} img/s = {bare / a:4.2f}x (a, {args.baselines[0]}), the most a data pipeline alone "
          f"could give this model; (b) is at {b / bare:4.0%} of it{beyond}")
    return dict(case=name, baseline=a, project=b, ratio=b / a, bare=bare,
                others={kind: best[kind] for kind in args.baselines[1:]})


def augment_cost(batch_size: int, reps: int = 200) -> None:
    """ms per batch of seed 003's augmentation: three kornia modules in a row (how the project first did
    it) vs the composed warp it uses now (augment.RandomAffineChain)."""
    import kornia.augmentation as K
    chain = nn.Sequential(K.RandomAffine(degrees=0.0, translate=(0.2, 0.2), p=0.5, padding_mode="zeros"),
                          K.RandomHorizontalFlip(p=0.5), K.RandomRotation(degrees=10.0, p=0.5))
    x = torch.rand(batch_size, 1, 48, 48)
    ms = {}
    for name, aug in (("three kornia modules", chain), ("one composed warp", make_augment("seed003"))):
        for _ in range(20):
            aug(x)
        t0 = time.perf_counter()
        for _ in range(reps):
            aug(x)
        ms[name] = (time.perf_counter() - t0) / reps * 1e3
    print("\naugmentation, seed 003's, per batch of " + f"{batch_size}x1x48x48: "
          + ", ".join(f"{k} {v:.2f} ms" for k, v in ms.items()))


def accuracy_check(train: ImageDataset, val: ImageDataset, tmp: Path, args) -> None:
    """Small CNN, seed 003's recipe for a few epochs on a subset: val accuracy through both pipelines."""
    case = CASES["small_cnn"]
    rng = np.random.default_rng(0)
    sub = train.subset(np.sort(rng.choice(len(train), min(args.acc_train, len(train)), replace=False)))
    t0 = time.perf_counter()
    tr_paths, va_paths = write_pngs(sub, tmp / "acc-train"), write_pngs(val, tmp / "acc-val")
    print(f"\n[accuracy] small CNN, seed003 augmentation, SGD 0.01 momentum 0.9, ExponentialLR 0.9, "
          f"{args.acc_epochs} epochs on {len(sub):,} training images, scored on {len(val):,} val images "
          f"(PNGs written in {time.perf_counter() - t0:.1f} s)")
    transform = baseline_transform(build(case, train.num_classes), augment=True)
    plain = baseline_transform(build(case, train.num_classes), augment=False)
    steps = len(sub) // args.batch_size
    accs = []
    for seed in range(args.acc_seeds):
        torch.manual_seed(seed)
        t0 = time.perf_counter()
        model = build(case, train.num_classes, seed)
        loader = DataLoader(PngDataset(tr_paths, sub.targets, transform), batch_size=args.batch_size, shuffle=True)
        train_baseline(model, loader, args.acc_epochs, steps, case["optim"], scheduler=True)
        acc_a = baseline_accuracy(model, DataLoader(PngDataset(va_paths, val.targets, plain), batch_size=256))
        secs_a = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = train_project(build(case, train.num_classes, seed), sub, val, case, args.acc_epochs, None,
                            args.batch_size, scheduler="exponential", gamma=0.9, seed=seed)
        acc_b = evaluate(res.model, val, TrainConfig(device="cpu"))["acc"]
        secs_b = time.perf_counter() - t0
        print(f"  seed {seed}: val accuracy (a) baseline {100 * acc_a:5.2f}% ({secs_a:5.1f} s) | "
              f"(b) studylib {100 * acc_b:5.2f}% ({secs_b:5.1f} s, best epoch {res.best_epoch}) | "
              f"difference {100 * (acc_b - acc_a):+5.2f} points")
        accs.append((acc_a, acc_b))
    if len(accs) > 1:
        a, b = np.array(accs).T * 100
        d = b - a
        print(f"  mean over {len(accs)} seeds: (a) {a.mean():5.2f}% (range {a.min():.2f}-{a.max():.2f}) | "
              f"(b) {b.mean():5.2f}% (range {b.min():.2f}-{b.max():.2f}) | difference {d.mean():+5.2f} points "
              f"(standard error {d.std(ddof=1) / np.sqrt(len(d)):.2f})")
        # The two pipelines draw different shuffles and augmentations even under one seed, so a
        # per-seed difference is two independent runs apart: compare it with the seed-to-seed spread.
        print(f"  noise scale: seed-to-seed SD (a) {a.std(ddof=1):.2f}, (b) {b.std(ddof=1):.2f} points; per-seed "
              f"differences SD {d.std(ddof=1):.2f}, largest {np.abs(d).max():.2f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"),
                    help="folder with FERPlus (default ../shared/data; generated images if absent)")
    ap.add_argument("--steps", type=int, default=96, help="training steps per pipeline and case")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--images", type=int, default=1024, help="training images (written as PNGs for the baseline)")
    ap.add_argument("--repeats", type=int, default=2, help="alternating timed runs per pipeline (best is kept)")
    ap.add_argument("--baselines", default="pil,seed003",
                    help="baseline datasets, the first one sets the ratio judged against the targets: pil "
                         "(PIL.Image.open + transforms, the issue's baseline), seed003 (seed 003's own FERPlusDataset: "
                         "pandas .iloc, skimage imread, dict samples)")
    ap.add_argument("--val-images", type=int, default=64, help="val images (b) scores after each epoch")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from {', '.join(CASES)}")
    ap.add_argument("--no-accuracy", dest="accuracy", action="store_false", help="skip the accuracy check")
    ap.add_argument("--acc-train", type=int, default=8000, help="training images for the accuracy check")
    ap.add_argument("--acc-epochs", type=int, default=2)
    ap.add_argument("--acc-seeds", type=int, default=5, help="seeds for the accuracy check (shows the spread)")
    args = ap.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    args.baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    if not args.baselines or set(args.baselines) - set(BASELINES):
        ap.error(f"--baselines {','.join(args.baselines)!r}: choose from {', '.join(BASELINES)}")
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        ap.error(f"unknown case(s) {unknown}; valid: {', '.join(CASES)}")

    t_start = time.perf_counter()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs "
          f"(wall-clock figures: other load on the machine moves them)")
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp_name:
        tmp = Path(tmp_name)
        train_all, val_all, what = load_ferplus(args.data_dir, tmp)
        n = min(args.images, len(train_all)) // args.batch_size * args.batch_size
        train = train_all.subset(np.arange(n))
        val_small = val_all.subset(np.arange(min(args.val_images, len(val_all))))
        t0 = time.perf_counter()
        paths = write_pngs(train, tmp / "png")
        print(f"data: {what}; {n:,} training images (48x48 gray, {train.num_classes} classes) written as PNG "
              f"in {time.perf_counter() - t0:.1f} s")
        if "small_cnn" in cases:
            augment_cost(args.batch_size)
        results = [bench_case(name, train, val_small, paths, args) for name in cases]
        if args.accuracy:
            accuracy_check(train_all, val_all, tmp, args)

    print(f"\nsummary (img/s; ratios against the {args.baselines[0]} baseline):")
    targets = {"small_cnn": 3.0, "lite0_full": 1.0, "lite0_last_block": 1.5}  # issue 6; resnet18: no target
    for r in results:
        target = f"target >= {targets[r['case']]:.1f}x" if r["case"] in targets else "no target"
        others = "".join(f"; {r['project'] / v:5.2f}x vs {k}" for k, v in r["others"].items())
        print(f"  {r['case']:17s} baseline {r['baseline']:7.0f}  studylib {r['project']:7.0f}  ratio {r['ratio']:5.2f}x "
              f"({target}; bound {r['bare'] / r['baseline']:4.2f}x{others})")
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
