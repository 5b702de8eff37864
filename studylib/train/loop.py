"""The training loop in torchvision's shape: `train_one_epoch` only trains, `evaluate` only measures,
`fit` owns the order (train, evaluate, scheduler step, checkpoint) and the history.

Batches arrive ready (`batches.BatchSource`: conversion, augmentation and a cached or no_grad
frozen prefix live behind it); speed settings are in `speed` and `prefix`, checkpoints in `checkpoint`,
optimizers, schedulers and losses in `optim`, a fit's state, best epoch and result in `fitstate`, its
progress bar in `progress`.
"""
from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from torch import nn

from ..data.base import ImageDataset
from .augment import make_augment
from .batches import iter_batches, to_batch
from .config import TrainConfig
from .fitstate import FitResult, FitState, checkpoint, keep_if_best, plan_batches, result, resume_into
from .numerics import interpolation_of
from .optim import build_loss, build_optimizer, build_scheduler
from .progress import HEADLESS_ENV, current_label, finished_early, fit_label, is_widget, progress_bar
from .speed import apply_determinism, autocast, cpu_threads, pick_amp_dtype, use_channels_last


__all__ = ["HEADLESS_ENV", "FitResult", "evaluate", "fit", "fit_label", "progress_bar", "resolve_device", "seed_everything",
           "train_one_epoch"]


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and random: what is built or drawn next depends on `seed` alone (torch's own
    default seed differs in every process, so an unseeded model differs between two runs)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def resolve_device(name: str = "auto") -> torch.device:
    """Pick the device: auto prefers cuda, then mps, then cpu; a missing one is an error."""
    has = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    if name == "auto":
        name = next(d for d in ("cuda", "mps", "cpu") if has[d])
    if not has.get(name, False):
        raise RuntimeError(f"device {name!r} is not available here; use device='auto' or 'cpu'")
    return torch.device(name)


def train_one_epoch(model: nn.Module, batches, optimizer: torch.optim.Optimizer, loss_fn: nn.Module, *,
                    device: torch.device, scaler: torch.amp.GradScaler | None = None,
                    amp_dtype: torch.dtype | None = None, progress=None) -> dict:
    """Train one pass over `batches`; the model must already be in train mode.

    Args:
        model, optimizer, loss_fn: model on `device`; `optim.build_optimizer` / `optim.build_loss` outputs.
        batches: iterable of ready (inputs, targets) on `device` (a `BatchSource`); targets (B,) int64
            or (B, K) float.
        scaler, amp_dtype: GradScaler for fp16 and the autocast dtype (CUDA only), or None.
        progress: a progress bar advanced by one per batch (`fit`'s, over all its epochs), or None.

    Returns:
        dict(loss, acc, n): sample-weighted mean loss and accuracy over n samples.
    """
    # Sums stay on the device: calling .item() per batch would force a CPU-GPU sync.
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    n = 0
    for x, y in batches:
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
        if progress is not None:
            progress.update()
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
    mode = interpolation_of(model)
    return _score(model, lambda xb: to_batch(xb, cfg.image_size, device, mode), images, dataset, cfg, device)


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


def fit(model: nn.Module, train: ImageDataset, val: ImageDataset, cfg: TrainConfig) -> FitResult:
    """Train `model` on `train`, select the best epoch on `val`, checkpoint and optionally resume.

    Args:
        model: nn.Module taking float (N, C, H, W) in [0, 1]; an optional `.head`
            gets lr * head_lr_factor. Parameters with requires_grad=False stay frozen.
        train: training split (hard or soft targets).
        val: validation split; picks the best epoch, drives early stopping/plateau.
        cfg: TrainConfig.

    Returns:
        FitResult with the best weights loaded into `model` (the final epoch's in `final_state` when
        they differ; with checkpoint_dir, last.pt and best.pt hold both).
    """
    device = resolve_device(cfg.device)
    determinism = apply_determinism(device, cfg.deterministic)  # before the model moves: cuBLAS reads its setting once
    threads_before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads(cfg.num_threads))
    channels_last = use_channels_last(model, cfg.channels_last, device)
    try:
        return _fit(model, train, val, cfg, device, channels_last, determinism)
    finally:
        torch.set_num_threads(threads_before)
        if channels_last:  # hand the model back in the usual layout
            model.to(memory_format=torch.contiguous_format)


def _fit(model: nn.Module, train: ImageDataset, val: ImageDataset, cfg: TrainConfig, device: torch.device,
         channels_last: bool, determinism: dict) -> FitResult:
    """`fit`'s body, with threads, memory format and determinism (recorded) already decided: set up, resume,
    plan the batches, run the epochs, hand back the best epoch's weights."""
    run = _start(model, train, cfg, device, channels_last)
    if cfg.resume:
        resume_into(run)
    speed = plan_batches(run, train, val, channels_last, determinism)
    stopped = _run_epochs(run, val)
    return result(run, stopped, speed)


def _start(model: nn.Module, train: ImageDataset, cfg: TrainConfig, device: torch.device,
           channels_last: bool) -> FitState:
    """Seed, move the model and build what trains it (optimizer, scheduler, scaler, loss, augmentation)."""
    seed_everything(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)  # the shuffle order depends on nothing else
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg)
    amp_dtype = pick_amp_dtype(device) if cfg.amp else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    loss_fn = build_loss(cfg, train).to(device)
    augment = make_augment(cfg.augment, cfg.image_size or train.images.shape[1:3], train.channels).to(device)
    return FitState(model, cfg, device, gen, optimizer, scheduler, scaler, loss_fn, amp_dtype, augment,
                    Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else None)


def _run_epochs(run: FitState, val: ImageDataset) -> bool:
    """Train epoch after epoch under one progress bar until cfg.epochs or early stopping; whether it stopped early."""
    cfg, steps = run.cfg, len(run.batches)
    bar = progress_bar(steps * cfg.epochs, steps * (run.start - 1),
                       current_label() + ("" if run.start == 1 else f" (resumed at epoch {run.start})"))
    widget = is_widget(bar)
    say = (lambda line: None) if widget else bar.write  # the widget shows the epoch's figures as its postfix
    try:
        for epoch in range(run.start, cfg.epochs + 1):
            if _patience_spent(run, epoch):
                say(f"early stopping: no {cfg.monitor} improvement since epoch {run.best_epoch}")
                finished_early(bar, widget)
                bar.set_postfix_str(f"stopped early at epoch {epoch - 1}, best epoch {run.best_epoch}", refresh=False)
                return True
            row, improved = _epoch(run, val, epoch, bar)
            bar.set_postfix_str(f"epoch {epoch}/{cfg.epochs} val acc {row['val_acc']:.3f}, best epoch {run.best_epoch}")
            say(f"epoch {epoch}/{cfg.epochs} lr {row['lr']:.2e} | train loss {row['train_loss']:.4f} acc "
                f"{row['train_acc']:.4f} | val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f} macro-F1 "
                f"{row['val_macro_f1']:.4f} | {row['seconds']:.1f}s{' *' if improved else ''}")
            if run.ckdir is not None:
                checkpoint(run, epoch, improved)
    finally:
        bar.close()
    return False


def _patience_spent(run: FitState, epoch: int) -> bool:
    """Whether early stopping ends the fit before `epoch`: past early_stopping_start, `patience` epochs
    without improvement."""
    cfg = run.cfg
    return (cfg.early_stopping_patience is not None and bool(run.history) and epoch - 1 >= cfg.early_stopping_start
            and epoch - 1 - run.best_epoch >= cfg.early_stopping_patience)


def _epoch(run: FitState, val: ImageDataset, epoch: int, bar) -> tuple[dict, bool]:
    """One epoch: train, validate, step the scheduler, keep the weights if they are the best yet; its
    history row (appended) and whether it improved."""
    t0 = time.perf_counter()
    lr = run.optimizer.param_groups[0]["lr"]  # the first group's: the body's, or the head's when only it trains
    run.model.train()  # a StudyModel keeps its frozen BatchNorm in eval mode
    tr = train_one_epoch(run.plan["suffix"], run.batches, run.optimizer, run.loss_fn, device=run.device,
                         scaler=run.scaler, amp_dtype=run.amp_dtype, progress=bar)
    ev = _validate(run, val)
    row = dict(epoch=epoch, lr=lr, train_loss=tr["loss"], train_acc=tr["acc"], val_loss=ev["loss"],
               val_acc=ev["acc"], val_macro_f1=ev["macro_f1"])
    value = row[run.cfg.monitor]
    if isinstance(run.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        run.scheduler.step(value)
    elif run.scheduler is not None:
        run.scheduler.step()
    improved = keep_if_best(run, value, epoch)
    row["seconds"] = time.perf_counter() - t0
    run.history.append(row)
    return row, improved


def _validate(run: FitState, val: ImageDataset) -> dict:
    """Score val: on the cached prefix features when there are some, else through the whole model."""
    if run.plan["caches"]:
        run.model.eval()
        return _score(run.eval_model, run.plan["caches"][1], torch.arange(len(val)), val, run.cfg, run.device)
    return evaluate(run.model, val, run.cfg, run.device)
