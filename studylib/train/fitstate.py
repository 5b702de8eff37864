"""What `loop.fit` carries from epoch to epoch and hands back: its state (`FitState`), the batches it plans
(the frozen prefix cached, under no_grad or off), its best epoch, its checkpoints and its `FitResult`.

The loop (`loop._fit`) owns the order; these are its bookkeeping steps.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from ..data.base import ImageDataset
from .batches import BatchConfig, BatchSource, use_resident
from .checkpoint import resume, rng_state, save
from .config import MONITORS, TrainConfig, resume_may_change
from .numerics import Numerics, interpolation_of
from .prefix import plan_prefix

__all__ = ["FitResult", "FitState", "checkpoint", "keep_if_best", "plan_batches", "resume_into", "result"]

HISTORY_COLUMNS = ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1", "seconds"]


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


@dataclass
class FitState:
    """One fit's state: its training objects, its batches and the best epoch so far."""

    model: nn.Module
    cfg: TrainConfig
    device: torch.device
    gen: torch.Generator  # the shuffle order's
    optimizer: torch.optim.Optimizer
    scheduler: object     # an optim.build_scheduler output, or None
    scaler: torch.amp.GradScaler
    loss_fn: nn.Module
    amp_dtype: torch.dtype | None
    augment: nn.Module
    ckdir: Path | None
    history: list = field(default_factory=list)
    best_val: float | None = None
    best_epoch: int = 0
    best_state: dict | None = None
    start: int = 1        # the first epoch to run (after a resume, the one after the checkpoint's)
    plan: dict = field(default_factory=dict)  # prefix.plan_prefix's: mode, frozen, suffix, caches, speed
    batches: BatchSource | None = None
    eval_model: nn.Module | None = None       # frozen + suffix, scored on cached features (mode cached)


def resume_into(run: FitState) -> None:
    """Continue from the checkpoint in checkpoint_dir, if there is one (model, optimizer, RNGs, history)."""
    if run.ckdir is None:
        raise ValueError("resume=True needs checkpoint_dir")
    state = resume(run.ckdir, asdict(run.cfg), resume_may_change(), run.model, run.optimizer, run.scheduler,
                   run.scaler, run.gen)
    if state is not None:
        run.history, run.best_val, run.best_epoch, run.best_state, run.start = state


def plan_batches(run: FitState, train: ImageDataset, val: ImageDataset, channels_last: bool, determinism: dict) -> dict:
    """Plan the frozen prefix (cached, no_grad or off), build the fit's one BatchSource and say what trains;
    the speed settings that ran (FitResult.speed)."""
    model, cfg, device = run.model, run.cfg, run.device
    images, targets = torch.from_numpy(train.images), torch.from_numpy(train.targets)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    said = [f"fit on {device}: {trainable:,} of {total:,} parameters trainable, {len(train):,} train, {len(val):,} val images"]
    numerics = Numerics(device, cfg.image_size, interpolation_of(model), channels_last, run.amp_dtype)
    plan = plan_prefix(model, cfg.frozen_prefix, cfg.augment != "none", cfg.eval_batch_size, train, val, numerics)
    # the cache's sample indices select outputs already on the device, through bookkeeping on the CPU
    resident = plan["mode"] != "cached" and use_resident(cfg.resident, device, images.nbytes + targets.nbytes)
    amp = str(run.amp_dtype).removeprefix("torch.") if run.amp_dtype else None
    speed = dict(plan["speed"], num_threads=torch.get_num_threads() if device.type == "cpu" else None,
                 channels_last=channels_last, amp_dtype=amp, resident=resident, **determinism)
    if plan["mode"] == "cached":
        said.append(f"frozen prefix: {speed['cached_steps']} of {speed['frozen_steps']} frozen steps computed once "
                    f"per sample and cached ({speed['cache_mb']:,} MB); only the rest trains each epoch")
        images = torch.arange(len(train))  # batches carry sample indices; the cache maps them to features
        run.eval_model = nn.Sequential(plan["frozen"], plan["suffix"]) if plan["frozen"] is not None else plan["suffix"]
    elif plan["mode"] == "no_grad":
        said.append(f"frozen prefix: {speed['frozen_steps']} frozen steps run under no_grad")
    print("; ".join(said))
    # one source for the whole fit, so resident data moves to the device once; each pass draws a new order
    run.batches = BatchSource(images, targets, BatchConfig(cfg.batch_size, cfg.max_steps_per_epoch, resident), run.gen,
                              numerics, augment=run.augment, frozen=plan["frozen"],
                              features=plan["caches"][0] if plan["caches"] else None)
    run.plan = plan
    return speed


def keep_if_best(run: FitState, value: float, epoch: int) -> bool:
    """Keep the model's weights (a CPU copy) when `value` strictly improves on the best yet in the
    monitor's direction (ties keep the earlier epoch); whether it did."""
    best, monitor = run.best_val, run.cfg.monitor
    improved = best is None or (value > best if MONITORS[monitor] == "max" else value < best)
    if improved:
        run.best_val, run.best_epoch = value, epoch
        run.best_state = _cpu_copy(run.model.state_dict())
    return improved


def checkpoint(run: FitState, epoch: int, improved: bool) -> None:
    """Save last.pt (and best.pt when the epoch improved): everything a resume needs."""
    scheduler = run.scheduler.state_dict() if run.scheduler is not None else None
    save(run.ckdir, improved, model=run.model.state_dict(), optimizer=run.optimizer.state_dict(), scheduler=scheduler,
         scaler=run.scaler.state_dict(), epoch=epoch, config=asdict(run.cfg), best_val=run.best_val,
         best_epoch=run.best_epoch, history=run.history, rng=rng_state(run.gen))


def _cpu_copy(state: dict) -> dict:
    """A state dict's tensors, detached and copied to the CPU."""
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def result(run: FitState, stopped: bool, speed: dict) -> FitResult:
    """The FitResult, with the best epoch's weights loaded (the final epoch's kept aside when they differ)."""
    final_epoch = run.history[-1]["epoch"] if run.history else 0
    final_state = None
    if run.best_state is not None and run.best_epoch != final_epoch:
        final_state = _cpu_copy(run.model.state_dict())
        run.model.load_state_dict(run.best_state)
    return FitResult(model=run.model, history=pd.DataFrame(run.history, columns=HISTORY_COLUMNS),
                     best_epoch=run.best_epoch, best_val=run.best_val, monitor=run.cfg.monitor, device=str(run.device),
                     stopped_early=stopped, speed=speed, final_epoch=final_epoch, final_state=final_state)
