"""The training loop in torchvision's shape: `train_one_epoch` only trains, `evaluate` only measures,
`fit` owns the order (train, evaluate, scheduler step, checkpoint) and the history.

Batches arrive ready (`batches.BatchSource`: conversion, augmentation and a cached or no_grad
frozen prefix live behind it); speed settings are in `speed` and `prefix`, checkpoints in `checkpoint`,
optimizers, schedulers and losses in `optim`.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from torch import nn

from ..data.base import ImageDataset
from .augment import make_augment
from .batches import BatchSource, iter_batches, to_batch, use_resident
from .checkpoint import resume, rng_state, save
from .config import MONITORS, TrainConfig, resume_may_change
from .numerics import Numerics
from .optim import build_loss, build_optimizer, build_scheduler
from .prefix import plan_prefix
from .speed import apply_determinism, autocast, cpu_threads, pick_amp_dtype, use_channels_last


__all__ = ["HEADLESS_ENV", "FitResult", "evaluate", "fit", "fit_label", "progress_bar", "resolve_device", "seed_everything",
           "train_one_epoch"]

# Set (to "1") by the runner for the kernels of its tasks: nobody watches them, their output is read after
# (the report, the log file). Progress is then a plain text bar that updates rarely, never a widget.
HEADLESS_ENV = "STUDYLIB_TASK"


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


def interpolation_of(model: nn.Module) -> str:
    """How inputs are resized for this model: what its weights were trained with (a StudyModel's
    resolved preprocessing), else bilinear."""
    return getattr(model, "info", {}).get("interpolation") or "bilinear"


_LABEL = contextvars.ContextVar("fit_label", default="fit")


@contextlib.contextmanager
def fit_label(text: str):
    """Label the progress bar of the fits inside (an arm's name, a search trial's rate)."""
    token = _LABEL.set(text)
    try:
        yield
    finally:
        _LABEL.reset(token)


def progress_bar(total: int | None, initial: int = 0, desc: str = "fit"):
    """One progress bar (with its ETA) for a whole fit, over the batches of all its epochs.

    Interactively `tqdm.auto`: a widget in JupyterLab, a text bar in a terminal. In a runner's task
    (`HEADLESS_ENV` set) a text bar redrawn at most every 10 s, on stdout with the epoch lines (a kernel
    buffers stdout and stderr apart, so a bar on stderr would land in the middle of the lines printed
    between its frames): the report folds it into the cell's log, where its `\\r` frames resolve to the
    final bar (a saved widget would show only its first frame, "0%", as text), and the task's log file
    keeps none of the frames."""
    if os.environ.get(HEADLESS_ENV):
        from tqdm import tqdm
        return tqdm(total=total, initial=initial, desc=desc, unit="batch", file=sys.stdout, mininterval=10)
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit="batch")


def _is_widget(bar) -> bool:
    """Whether a bar is JupyterLab's widget (it shows the epoch's figures; nothing is printed per epoch)."""
    notebook = sys.modules.get("tqdm.notebook")  # imported by tqdm.auto only inside a Jupyter kernel
    return notebook is not None and isinstance(bar, notebook.tqdm)


def _finished_early(bar, widget: bool) -> None:
    """End a bar at the batch where early stopping ended its fit: full, not an interrupted (red) one."""
    bar.total = bar.n
    if widget:  # the widget's own scale (tqdm.notebook sets it once, from the first total)
        bar.container.children[1].max = bar.n


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
    # what ran, for the record's numerics: frozen_prefix (cached/no_grad/off), num_threads, channels_last, amp_dtype,
    # resident, deterministic (+ cudnn_benchmark, cublas_workspace_config on CUDA), ...
    speed: dict = field(default_factory=dict)
    final_epoch: int = 0    # the last epoch trained (where early stopping stopped, else cfg.epochs)
    # the final epoch's weights (CPU) when they differ from the best epoch's, else None (the model is both):
    # papers 001 and 003 test their final epoch, so both models are kept
    final_state: dict | None = None


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
    """`fit`'s body, with threads, memory format and determinism (recorded) already decided."""
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
    images, targets = torch.from_numpy(train.images), torch.from_numpy(train.targets)

    ckdir = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else None
    history, best_val, best_epoch, best_state, start = [], None, 0, None, 1
    if cfg.resume:
        if ckdir is None:
            raise ValueError("resume=True needs checkpoint_dir")
        state = resume(ckdir, asdict(cfg), resume_may_change(), model, optimizer, scheduler, scaler, gen)
        if state is not None:
            history, best_val, best_epoch, best_state, start = state

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    said = [f"fit on {device}: {trainable:,} of {total:,} parameters trainable, {len(train):,} train, {len(val):,} val images"]
    numerics = Numerics(device, cfg.image_size, interpolation_of(model), channels_last, amp_dtype)
    plan = plan_prefix(model, cfg.frozen_prefix, cfg.augment != "none", cfg.eval_batch_size, train, val, numerics)
    # the cache's sample indices select outputs already on the device, through bookkeeping on the CPU
    resident = plan["mode"] != "cached" and use_resident(cfg.resident, device, images.nbytes + targets.nbytes)
    speed = dict(plan["speed"], num_threads=torch.get_num_threads() if device.type == "cpu" else None,
                 channels_last=channels_last, amp_dtype=str(amp_dtype).removeprefix("torch.") if amp_dtype else None,
                 resident=resident, **determinism)
    if plan["mode"] == "cached":
        said.append(f"frozen prefix: {speed['cached_steps']} of {speed['frozen_steps']} frozen steps computed once "
                    f"per sample and cached ({speed['cache_mb']:,} MB); only the rest trains each epoch")
        images = torch.arange(len(train))  # batches carry sample indices; the cache maps them to features
        eval_model = nn.Sequential(plan["frozen"], plan["suffix"]) if plan["frozen"] is not None else plan["suffix"]
    elif plan["mode"] == "no_grad":
        said.append(f"frozen prefix: {speed['frozen_steps']} frozen steps run under no_grad")
    print("; ".join(said))
    # one source for the whole fit, so resident data moves to the device once; each pass draws a new order
    batches = BatchSource(images, targets, cfg.batch_size, gen, numerics, max_steps=cfg.max_steps_per_epoch,
                          augment=augment, frozen=plan["frozen"], features=plan["caches"][0] if plan["caches"] else None,
                          resident=resident)
    steps = len(batches)
    bar = progress_bar(steps * cfg.epochs, steps * (start - 1),
                       _LABEL.get() + ("" if start == 1 else f" (resumed at epoch {start})"))
    widget = _is_widget(bar)
    say = (lambda line: None) if widget else bar.write  # the widget shows the epoch's figures as its postfix
    stopped = False
    try:
        for epoch in range(start, cfg.epochs + 1):
            if (cfg.early_stopping_patience is not None and history and epoch - 1 >= cfg.early_stopping_start
                    and epoch - 1 - best_epoch >= cfg.early_stopping_patience):
                stopped = True
                say(f"early stopping: no {cfg.monitor} improvement since epoch {best_epoch}")
                _finished_early(bar, widget)
                bar.set_postfix_str(f"stopped early at epoch {epoch - 1}, best epoch {best_epoch}", refresh=False)
                break
            t0 = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]  # the first group's: the body's, or the head's when only it trains
            model.train()  # a StudyModel keeps its frozen BatchNorm in eval mode
            tr = train_one_epoch(plan["suffix"], batches, optimizer, loss_fn, device=device, scaler=scaler,
                                 amp_dtype=amp_dtype, progress=bar)
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
            bar.set_postfix_str(f"epoch {epoch}/{cfg.epochs} val acc {ev['acc']:.3f}, best epoch {best_epoch}")
            say(f"epoch {epoch}/{cfg.epochs} lr {lr:.2e} | train loss {tr['loss']:.4f} acc {tr['acc']:.4f} | "
                f"val loss {ev['loss']:.4f} acc {ev['acc']:.4f} macro-F1 {ev['macro_f1']:.4f} | "
                f"{row['seconds']:.1f}s{' *' if improved else ''}")
            if ckdir is not None:
                save(ckdir, improved, model=model.state_dict(), optimizer=optimizer.state_dict(),
                     scheduler=scheduler.state_dict() if scheduler is not None else None, scaler=scaler.state_dict(),
                     epoch=epoch, config=asdict(cfg), best_val=best_val, best_epoch=best_epoch, history=history,
                     rng=rng_state(gen))
    finally:
        bar.close()

    final_epoch = history[-1]["epoch"] if history else 0
    final_state = None
    if best_state is not None and best_epoch != final_epoch:
        final_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(best_state)
    cols = ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1", "seconds"]
    return FitResult(model=model, history=pd.DataFrame(history, columns=cols), best_epoch=best_epoch,
                     best_val=best_val, monitor=cfg.monitor, device=str(device), stopped_early=stopped,
                     speed=speed, final_epoch=final_epoch, final_state=final_state)
