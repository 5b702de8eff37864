"""Checkpoints for `train.fit`: saving atomically, resuming (refusing other settings), every RNG's state."""
from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import torch

from ..io import atomic_write

__all__ = ["load_checkpoint", "resumable", "resume", "rng_state", "save", "set_rng_state"]


def resumable(cfg, folder):
    """`cfg` (a TrainConfig) checkpointing to `folder` and continuing from what is there; `cfg` itself when
    folder is None. The one way a task or a search trial asks `fit` to be resumable."""
    return cfg if folder is None else dataclasses.replace(cfg, checkpoint_dir=str(folder), resume=True)


def rng_state(gen: torch.Generator) -> dict:
    """Every RNG the loop draws from, in a form torch.load(weights_only=True) accepts."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = dict(torch=torch.get_rng_state(), shuffle=gen.get_state(), python=random.getstate(),
                 numpy=(kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss))
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, gen: torch.Generator) -> None:
    """Restore what `rng_state` saved."""
    torch.set_rng_state(state["torch"])
    gen.set_state(state["shuffle"])
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_checkpoint(path: Path, config: dict, may_change=frozenset()) -> dict:
    """Load a checkpoint (weights_only: a file can never run code) and refuse one written under other
    settings than `config`, except for the keys in `may_change`."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    diff = sorted(k for k, v in ck["config"].items() if k not in may_change and config.get(k) != v)
    if diff:
        raise ValueError(f"{path}: checkpoint was written with different settings for {', '.join(diff)}; "
                         "use the same config, or another checkpoint_dir")
    return ck


def save(ckdir: Path, improved: bool, **state) -> None:
    """Write `state` to ckdir/last.pt, and to best.pt when this epoch improved; atomically, so an
    interrupted write never leaves a half checkpoint for resume to trip on."""
    atomic_write(ckdir / "last.pt", lambda tmp: torch.save(state, tmp))
    if improved:
        atomic_write(ckdir / "best.pt", lambda tmp: torch.save(state, tmp))


def resume(ckdir: Path, config: dict, may_change, model, optimizer, scheduler, scaler, gen: torch.Generator):
    """Load ckdir/last.pt into model, optimizer, scheduler, scaler and the RNGs.

    Returns (history, best_val, best_epoch, best_state or None, first epoch to run), or None when there is
    no checkpoint yet. Raises ValueError for a checkpoint written under other settings.
    """
    if not (ckdir / "last.pt").exists():  # a first attempt: nothing to say (reports never show machine paths)
        return None
    ck = load_checkpoint(ckdir / "last.pt", config, may_change)
    model.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(ck["scheduler"])
    if ck["scaler"]:  # empty when saved with fp16 scaling off (CPU, bf16)
        scaler.load_state_dict(ck["scaler"])
    set_rng_state(ck["rng"], gen)
    best_state = None
    if (ckdir / "best.pt").exists():
        best_state = torch.load(ckdir / "best.pt", map_location="cpu", weights_only=True)["model"]
    print(f"resumed from the checkpoint of epoch {ck['epoch']} ({ckdir.name}/last.pt): epoch {ck['epoch'] + 1} next")
    return ck["history"], ck["best_val"], ck["best_epoch"], best_state, ck["epoch"] + 1
