"""Training loop: config, registries, train_one_epoch / evaluate / fit, checkpoints and resume.

Shape follows torchvision's classification reference: `train_one_epoch` only
trains, `evaluate` only measures, `fit` owns the order (train, evaluate,
scheduler step, checkpoint) and the history. Data stays a uint8 tensor; each
batch is indexed, moved, converted and augmented on the model's device.

Speed settings (threads, channels_last, AMP, frozen-prefix cache) live in `speed`,
checkpoint helpers in `checkpoint`.
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from torch import nn
from tqdm.auto import tqdm

from .augment import PRESETS, make_augment, to_batch
from .checkpoint import resume, rng_state, save
from .data.base import ImageDataset
from .models import param_groups
from .speed import autocast, cpu_threads, pick_amp_dtype, plan_prefix, use_channels_last


@dataclass(frozen=True)
class TrainConfig:
    """Every training setting; defaults are neutral, each paper's values come from params."""

    epochs: int = 10                      # 003 CNN: 100, 003 ResNet18: 10, 001: 50, 000: 30
    batch_size: int = 32                  # 003: 32, 001: 64, 000: 5
    optimizer: str = "adam"               # 003 CNN: sgd; 003 ResNet18, 001, 000: adam
    lr: float = 1e-3                      # 003 CNN: 0.01, 003 ResNet18: 1e-3, 000: 1e-4
    momentum: float = 0.9                 # SGD only; 003 does not state it, so params must
    weight_decay: float = 0.0             # none of the papers report weight decay
    scheduler: str = "none"               # 003: exponential (per epoch); 004 B may use cosine/plateau
    gamma: float = 0.9                    # 003: ExponentialLR(gamma 0.9); plateau: LR factor
    plateau_patience: int = 2             # epochs without improvement before plateau cuts the LR
    head_lr_factor: float = 1.0           # 000: new head learns 20x faster (MATLAB learn-rate factor)
    class_weights: str | None = None      # "balanced": counter FER2013/DeepWeeds imbalance (004 macro metrics)
    loss: str = "cross_entropy"           # hard labels or FERPlus vote probabilities
    augment: str = "none"                 # augment.PRESETS; validation is never augmented (004)
    image_size: int | None = None         # None = dataset's own size; 000/004 resize to 224
    monitor: str = "val_acc"              # metric for best checkpoint + early stopping (never test data)
    early_stopping_patience: int | None = None  # None = run all epochs, as every paper does
    seed: int = 0                         # seeds torch, numpy, random and the shuffle generator
    device: str = "auto"                  # auto: cuda, then mps, then cpu
    amp: bool = True                      # mixed precision for GPU speed; ignored off CUDA
    eval_batch_size: int = 256            # evaluation has no gradients, so bigger batches fit
    max_steps_per_epoch: int | None = None  # cut-down CPU profiles train on part of each epoch
    checkpoint_dir: str | None = None     # None = keep best weights in memory only
    resume: bool = False                  # continue from checkpoint_dir/last.pt at epoch+1
    # speed only (same results up to float rounding):
    frozen_prefix: str = "auto"           # auto: cache a frozen prefix's outputs when possible, else no_grad;
                                          # no_grad: never cache; off: plain forward of the whole model
    num_threads: int | None = None        # CPU threads; None: torch's default capped at the usable cores
    channels_last: bool | None = None     # None: on CPU for nets with depthwise convs (EfficientNets)

    def __post_init__(self):
        for name, valid in [("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS), ("loss", LOSSES),
                             ("monitor", MONITORS), ("class_weights", (None, "balanced")),
                             ("device", ("auto", "cpu", "cuda", "mps")),
                             ("frozen_prefix", FROZEN_PREFIX)]:
            if getattr(self, name) not in valid:
                raise ValueError(f"TrainConfig.{name}={getattr(self, name)!r}; valid: {', '.join(map(str, valid))}")
        if self.augment not in PRESETS:  # fail at config time, not after loading data
            raise ValueError(f"TrainConfig.augment={self.augment!r}; valid: {', '.join(PRESETS)}")


def _fused(groups: list[dict]) -> dict:
    """fused=True where torch has fused kernels for every parameter (CPU, CUDA; float): one kernel per
    step instead of one loop per tensor. On CPU, torch's default is the per-tensor loop, which took 27 ms
    of a ResNet18 Adam step (fused: 3.4 ms) on 2 cores; same update up to float rounding."""
    params = [p for g in groups for p in g["params"]]
    return {"fused": True} if all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params) else {}


# Registries: name -> builder. Keys are what params files may name.
OPTIMIZERS = {
    "sgd": lambda groups, c: torch.optim.SGD(groups, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay,
                                             **_fused(groups)),
    "adam": lambda groups, c: torch.optim.Adam(groups, lr=c.lr, weight_decay=c.weight_decay, **_fused(groups)),
    "adamw": lambda groups, c: torch.optim.AdamW(groups, lr=c.lr, weight_decay=c.weight_decay, **_fused(groups)),
}
SCHEDULERS = {
    "none": lambda opt, c: None,
    "exponential": lambda opt, c: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=c.gamma),
    "plateau": lambda opt, c: torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode=MONITORS[c.monitor], factor=c.gamma, patience=c.plateau_patience),
    "cosine": lambda opt, c: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=c.epochs),
}
# F.cross_entropy takes class indices or class probabilities (FERPlus soft targets).
LOSSES = {"cross_entropy": lambda weight: nn.CrossEntropyLoss(weight=weight)}
MONITORS = {"val_acc": "max", "val_macro_f1": "max", "val_loss": "min"}
FROZEN_PREFIX = ("auto", "no_grad", "off")


def resolve_device(name: str = "auto") -> torch.device:
    """Pick the device: auto prefers cuda, then mps, then cpu; a missing one is an error."""
    has = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    if name == "auto":
        name = next(d for d in ("cuda", "mps", "cpu") if has[d])
    if not has.get(name, False):
        raise RuntimeError(f"device {name!r} is not available here; use device='auto' or 'cpu'")
    return torch.device(name)


def balanced_class_weights(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """sklearn's 'balanced' weights n / (K * count); absent classes get weight 0."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    w = np.where(counts > 0, len(labels) / (num_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(w, dtype=torch.float32)


def build_loss(cfg: TrainConfig, train: ImageDataset) -> nn.Module:
    """The training loss, with class weights from the training labels when asked."""
    weight = balanced_class_weights(train.labels, train.num_classes) if cfg.class_weights else None
    return LOSSES[cfg.loss](weight)


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Optimizer over trainable params; `model.head` params get lr * head_lr_factor."""
    groups = param_groups(model, cfg.lr, cfg.head_lr_factor)
    if not groups:
        raise ValueError("model has no trainable parameters (all requires_grad=False)")
    return OPTIMIZERS[cfg.optimizer](groups, cfg)


def freeze_bn_stats(model: nn.Module) -> None:
    """Put BatchNorm layers whose parameters are all frozen back in eval mode (keep ImageNet stats)."""
    for m in model.modules():
        params = list(m.parameters(recurse=False))
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and params and not any(p.requires_grad for p in params):
            m.eval()


def iter_batches(images: torch.Tensor, targets: torch.Tensor, batch_size: int,
                 generator: torch.Generator | None = None, max_steps: int | None = None):
    """Yield (uint8 images, targets) batches; shuffled with `generator` when given."""
    n = len(images)
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for step, i in enumerate(range(0, n, batch_size)):
        idx = order[i:i + batch_size]
        # stop at max_steps; when training, drop a trailing batch of one (BatchNorm cannot train on it)
        if (max_steps is not None and step >= max_steps) or (generator is not None and len(idx) == 1):
            return
        yield images[idx], targets[idx]


def train_one_epoch(model: nn.Module, batches, optimizer: torch.optim.Optimizer, loss_fn: nn.Module, *,
                    device: torch.device, augment: nn.Module | None = None, image_size=None,
                    scaler: torch.amp.GradScaler | None = None, amp_dtype: torch.dtype | None = None,
                    total: int | None = None, desc: str = "train", frozen: nn.Module | None = None,
                    features=None, channels_last: bool = False) -> dict:
    """Train one pass over `batches`; the model must already be in train mode.

    Args:
        model, optimizer, loss_fn: model on `device`; `build_optimizer` / `build_loss` outputs.
        batches: iterable of (uint8 (B, H, W, C) tensor, targets (B,) int64 or (B, K) float);
            with `features`, (sample indices (B,), targets) instead.
        device: where model and batches run.
        augment: batched augmentation (augment.make_augment) or None; image_size: `to_batch` resize.
        scaler, amp_dtype: GradScaler for fp16 and the autocast dtype (CUDA only), or None.
        total, desc: progress bar length and label.
        frozen: a frozen module run under torch.no_grad() on each batch before `model`, which is then
            the trainable rest (see models.split_frozen_prefix); None: `model` gets the images.
        features: a callable mapping sample indices to precomputed inputs of `frozen`/`model`
            (fit's cache of a frozen prefix's outputs); replaces conversion and augmentation.
        channels_last: give 4-d inputs the channels_last memory format.

    Returns:
        dict(loss, acc, n): sample-weighted mean loss and accuracy over n samples.
    """
    # Sums stay on the device: calling .item() per batch would force a CPU-GPU sync.
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    n = 0
    for images, targets in tqdm(batches, total=total, leave=False, desc=desc):
        if features is not None:
            x = features(images)
        else:
            x = to_batch(images, image_size, device)
            if augment is not None:
                x = augment(x)
        if channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        y = targets.to(device, non_blocking=True)
        if frozen is not None:
            with torch.no_grad(), autocast(device, amp_dtype):
                x = frozen(x)
        with autocast(device, amp_dtype):
            logits = model(x)
        loss = loss_fn(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None and scaler.is_enabled():
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        labels = y.argmax(1) if y.ndim == 2 else y
        loss_sum += loss.detach() * len(y)
        correct += (logits.argmax(1) == labels).sum()
        n += len(y)
    return dict(loss=loss_sum.item() / max(n, 1), acc=correct.item() / max(n, 1), n=n)


@torch.no_grad()
def evaluate(model: nn.Module, dataset: ImageDataset, cfg: TrainConfig, device: torch.device | None = None) -> dict:
    """Evaluate without augmentation.

    Args:
        model: the network; switched to eval mode.
        dataset: split to score (hard or soft targets).
        cfg: supplies eval_batch_size, image_size and amp; device: default the model's.

    Returns:
        dict(loss, acc, macro_f1, n, y_true, y_pred, probs). loss is the unweighted
        cross-entropy (sample mean), comparable between runs with and without class
        weights; y_true is argmax of soft targets; probs is float32 (N, K).
    """
    device = device or next(model.parameters()).device
    model.eval()
    images = torch.from_numpy(dataset.images)
    return _score(model, lambda xb: to_batch(xb, cfg.image_size, device), images, dataset, cfg, device)


@torch.no_grad()
def _score(model: nn.Module, inputs, data: torch.Tensor, dataset: ImageDataset, cfg: TrainConfig,
           device: torch.device) -> dict:
    """`evaluate`'s work: model(inputs(batch of `data`)) over the dataset, in eval_batch_size batches."""
    amp_dtype = pick_amp_dtype(device) if cfg.amp else None
    targets = torch.from_numpy(dataset.targets)
    loss_sum, probs = 0.0, []
    for xb, yb in iter_batches(data, targets, cfg.eval_batch_size):
        with autocast(device, amp_dtype):
            logits = model(inputs(xb)).float()
        loss_sum += F.cross_entropy(logits, yb.to(device), reduction="sum").item()
        probs.append(logits.softmax(1).cpu())
    probs = torch.cat(probs).numpy() if probs else np.zeros((0, dataset.num_classes), np.float32)
    y_true, y_pred = dataset.labels, probs.argmax(1)
    n = len(dataset)
    return dict(loss=loss_sum / max(n, 1), acc=float((y_true == y_pred).mean()) if n else 0.0,
                macro_f1=float(f1_score(y_true, y_pred, average="macro", zero_division=0)) if n else 0.0,
                n=n, y_true=y_true, y_pred=y_pred, probs=probs)


@dataclass
class FitResult:
    """What `fit` returns: the model (best weights loaded) and how it got there."""

    model: nn.Module
    history: pd.DataFrame   # one row per epoch: epoch, lr, train_loss, train_acc, val_loss, val_acc, val_macro_f1, seconds
    best_epoch: int         # epoch whose weights are loaded (0 if no epoch ran)
    best_val: float | None  # its monitored value
    monitor: str
    device: str
    stopped_early: bool
    speed: dict = field(default_factory=dict)  # frozen_prefix (cached/no_grad/off), num_threads, channels_last, ...


def _is_better(value: float, best: float | None, monitor: str) -> bool:
    """Strict improvement in the monitor's direction (ties keep the earlier epoch)."""
    return best is None or (value > best if MONITORS[monitor] == "max" else value < best)


def fit(model: nn.Module, train: ImageDataset, val: ImageDataset, cfg: TrainConfig) -> FitResult:
    """Train `model` on `train`, select the best epoch on `val`, checkpoint and optionally resume.

    Args:
        model: nn.Module taking float (N, C, H, W) in [0, 1]; an optional `.head`
            gets lr * head_lr_factor. Parameters with requires_grad=False stay frozen.
        train: training split (hard or soft targets).
        val: validation split; picks the best epoch, drives early stopping/plateau.
        cfg: TrainConfig.

    Returns:
        FitResult with the best weights loaded into `model`.
    """
    device = resolve_device(cfg.device)
    threads_before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads(cfg.num_threads))
    channels_last = use_channels_last(model, cfg, device)
    try:
        return _fit(model, train, val, cfg, device, channels_last)
    finally:
        torch.set_num_threads(threads_before)
        if channels_last:  # hand the model back in the usual layout
            model.to(memory_format=torch.contiguous_format)


def _fit(model: nn.Module, train: ImageDataset, val: ImageDataset, cfg: TrainConfig, device: torch.device,
         channels_last: bool) -> FitResult:
    """`fit`'s body, with threads and memory format already decided."""
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)  # the shuffle order depends on nothing else
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, cfg)
    scheduler = SCHEDULERS[cfg.scheduler](optimizer, cfg)
    amp_dtype = pick_amp_dtype(device) if cfg.amp else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    loss_fn = build_loss(cfg, train).to(device)
    augment = make_augment(cfg.augment, cfg.image_size or train.images.shape[1:3], train.channels).to(device)
    images, targets = torch.from_numpy(train.images), torch.from_numpy(train.targets)

    ckdir = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else None
    history, best_val, best_epoch, best_state, start = [], None, 0, None, 1
    if cfg.resume:
        if ckdir is None:
            raise ValueError("resume=True needs checkpoint_dir")
        state = resume(ckdir, cfg, model, optimizer, scheduler, scaler, gen)
        if state is not None:
            history, best_val, best_epoch, best_state, start = state

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    print(f"device {device} | params trainable {trainable:,} / total {total:,} | {len(train)} train, {len(val)} val")
    plan = plan_prefix(model, cfg, train, val, device, amp_dtype, channels_last)
    speed = dict(plan["speed"], num_threads=torch.get_num_threads() if device.type == "cpu" else None,
                 channels_last=channels_last)
    if plan["mode"] == "cached":
        print(f"frozen prefix: {speed['cached_steps']} of {speed['frozen_steps']} frozen steps computed once per "
              f"sample and cached ({speed['cache_mb']:,} MB); only the rest trains each epoch")
        images = torch.arange(len(train))  # batches carry sample indices; the cache maps them to features
        eval_model = nn.Sequential(plan["frozen"], plan["suffix"]) if plan["frozen"] is not None else plan["suffix"]
    elif plan["mode"] == "no_grad":
        print(f"frozen prefix: {speed['frozen_steps']} frozen steps run under no_grad")
    steps = -(-len(train) // cfg.batch_size)
    steps = min(steps, cfg.max_steps_per_epoch) if cfg.max_steps_per_epoch else steps
    stopped = False
    for epoch in range(start, cfg.epochs + 1):
        if cfg.early_stopping_patience is not None and history and epoch - 1 - best_epoch >= cfg.early_stopping_patience:
            stopped = True
            print(f"early stopping: no {cfg.monitor} improvement since epoch {best_epoch}")
            break
        t0 = time.perf_counter()
        first = optimizer.param_groups[0]  # the base lr: "body" runs at it, "head" at lr * head_lr_factor
        lr = first["lr"] / (cfg.head_lr_factor if first.get("name") == "head" else 1.0)
        model.train()
        freeze_bn_stats(model)
        batches = iter_batches(images, targets, cfg.batch_size, gen, cfg.max_steps_per_epoch)
        tr = train_one_epoch(plan["suffix"], batches, optimizer, loss_fn, device=device, augment=augment,
                             image_size=cfg.image_size, scaler=scaler, amp_dtype=amp_dtype, total=steps,
                             desc=f"epoch {epoch}", frozen=plan["frozen"],
                             features=plan["caches"][0] if plan["caches"] else None, channels_last=channels_last)
        if plan["caches"]:
            model.eval()
            ev = _score(eval_model, plan["caches"][1], torch.arange(len(val)), val, cfg, device)
        else:
            ev = evaluate(model, val, cfg, device)
        row = dict(epoch=epoch, lr=lr, train_loss=tr["loss"], train_acc=tr["acc"], val_loss=ev["loss"],
                   val_acc=ev["acc"], val_macro_f1=ev["macro_f1"])
        value = row[cfg.monitor]
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(value)
        elif scheduler is not None:
            scheduler.step()
        improved = _is_better(value, best_val, cfg.monitor)
        if improved:
            best_val, best_epoch = value, epoch
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        row["seconds"] = time.perf_counter() - t0
        history.append(row)
        print(f"epoch {epoch}/{cfg.epochs} lr {lr:.2e} | train loss {tr['loss']:.4f} acc {tr['acc']:.4f} | "
              f"val loss {ev['loss']:.4f} acc {ev['acc']:.4f} macro-F1 {ev['macro_f1']:.4f} | "
              f"{row['seconds']:.1f}s{' *' if improved else ''}")
        if ckdir is not None:
            save(ckdir, improved, model=model.state_dict(), optimizer=optimizer.state_dict(),
                 scheduler=scheduler.state_dict() if scheduler is not None else None, scaler=scaler.state_dict(),
                 epoch=epoch, config=asdict(cfg), best_val=best_val, best_epoch=best_epoch, history=history,
                 rng=rng_state(gen))

    if best_state is not None:
        model.load_state_dict(best_state)
    cols = ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1", "seconds"]
    return FitResult(model=model, history=pd.DataFrame(history, columns=cols), best_epoch=best_epoch,
                     best_val=best_val, monitor=cfg.monitor, device=str(device), stopped_early=stopped,
                     speed=speed)
