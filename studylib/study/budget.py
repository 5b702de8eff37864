"""Budget flags and the regime of a verdict (docs/METHOD.md, Budget flags), computed from the run records.

A verdict should measure the paper's method, not our cuts. Two flags, per arm and seed, from what the
record holds (its training history, its epoch cap, the learning-rate search's trials):
- cap-bound: the epoch chosen on validation is the last one allowed, or validation still improved over
  the last two epochs, and the cap is ours (below the paper's epochs, or the paper names none);
- grid-edge: the rate chosen on validation is at an edge of its grid (the chosen rate beat its one
  neighbour, so the direction off the grid was still improving).
`regime` describes the setting a row was judged in: input size, training images, epochs against the
paper's, the share of parameters trained (and, for a stand-in, what the paper's architecture trains in the
same scope).
"""
from __future__ import annotations

from .build import architecture_info

__all__ = ["arm_flags", "cap_bound", "describe", "grid_edge", "input_size", "paper_share", "regime", "training_images"]

_NATIVE_SIZE = {"fer2013": 48, "ferplus": 48}
_FOLDER_DATASETS = ("plants", "deepweeds", "faces")


def _monitor_curve(arm: dict) -> list[float]:
    cfg = arm.get("config") or {}
    key = cfg.get("monitor") or "val_acc"
    return [float(h[key]) for h in (arm.get("history") or []) if h.get(key) is not None]


def cap_bound(arm: dict, paper_epochs: int | None, protocol: str) -> str:
    """Why this arm's training was cut by our epoch cap ('' when it was not; see the module docstring).
    `arm`: one arm's entry of a record's metrics; protocol: 'best' or 'final'."""
    cfg = arm.get("config") or {}
    cap = cfg.get("epochs")
    curve = _monitor_curve(arm)
    if not cap or not curve or arm.get("stopped_early"):
        return ""
    if paper_epochs is not None and cap >= paper_epochs:
        return ""  # the paper's own budget: not our cut
    theirs = f"the paper's {paper_epochs}" if paper_epochs else "the paper names none"
    chosen = arm.get("best_epoch") if protocol == "best" else arm.get("final_epoch")
    if protocol == "best" and chosen == cap:
        return f"chose epoch {chosen}, the last of our {cap} ({theirs})"
    if len(curve) >= 3 and curve[-1] > curve[-2] > curve[-3]:
        return f"validation still rising over its last two epochs of our {cap} ({theirs})"
    return ""


def grid_edge(arm: dict) -> str:
    """Why this arm's learning rate sits at an edge of its grid ('' when it does not)."""
    sel = arm.get("selection") or {}
    grid, lr = sorted(sel.get("grid") or []), sel.get("lr")
    if len(grid) < 2 or lr is None or lr not in grid:
        return ""
    if lr == grid[-1]:
        return f"rate {lr:g} is the top of its grid {', '.join(f'{g:g}' for g in grid)}"
    if lr == grid[0]:
        return f"rate {lr:g} is the bottom of its grid {', '.join(f'{g:g}' for g in grid)}"
    return ""


def arm_flags(per_seed_arms: list[dict], paper_epochs: int | None, protocol: str) -> list[str]:
    """The flags of one arm over its seeds: 'cap-bound (...)' naming the seeds it holds on, 'grid-edge (...)'."""
    flags = []
    caps = [(s, why) for s, arm in enumerate(per_seed_arms) if arm and (why := cap_bound(arm, paper_epochs, protocol))]
    if caps:
        seeds = ", ".join(str(s) for s, _ in caps)
        flags.append(f"cap-bound on seed{'s' if len(caps) > 1 else ''} {seeds} of {len(per_seed_arms)}: {caps[0][1]}")
    edges = {why for arm in per_seed_arms if arm and (why := grid_edge(arm))}
    flags += [f"grid-edge: {why}" for why in sorted(edges)]
    return flags


def input_size(params: dict) -> int | None:
    """The side of the images the network saw."""
    if params.get("image_size"):
        return int(params["image_size"])
    dataset = params.get("dataset") or "ferplus"
    if dataset in _FOLDER_DATASETS:
        return params.get("load_size")
    return _NATIVE_SIZE.get(dataset)


def training_images(params: dict) -> str:
    """How many training images the run had, from its parameters."""
    n = params.get("max_train")
    frac = params.get("val_from_train") or 0.0
    if n:
        return f"{round(n * (1 - frac)):,}"
    return "all" + (f" (less {frac:.0%} for validation)" if frac else "")


def paper_share(backbone: str, scope: str, freeze_to: int | None, head: str, in_channels: int, gray_mode: str,
                image_size: int, num_classes: int) -> float | None:
    """The share of parameters the paper's architecture trains in `scope` (built from random init: only
    the architecture counts). None when it cannot be built here."""
    try:
        info = architecture_info(backbone, num_classes, in_channels=in_channels, head=head, scope=scope,
                                 gray_mode=gray_mode, freeze_to=freeze_to, image_size=image_size)
    except Exception:  # noqa: BLE001 - an architecture this install lacks: the row says so
        return None
    return info["trainable_params"] / info["total_params"]


def _share(arm: dict) -> float | None:
    t, f = arm.get("trainable_params"), arm.get("frozen_params")
    return t / (t + f) if t is not None and f is not None and t + f else None


def regime(params: dict, arms: dict, arm_specs: dict, paper_epochs: int | None, paper_backbone: str = "") -> dict:
    """The setting a claim was judged in. params: the run's (a record's) parameters; arms: {arm id: that
    arm's metrics in the record (seed 0)}; arm_specs: {arm id: (scope, freeze_to)} from the run's arms."""
    epochs = {aid: (a.get("config") or {}).get("epochs") for aid, a in arms.items()}
    caps = sorted({e for e in epochs.values() if e})
    out = {"input": input_size(params), "training images": training_images(params),
           "epochs": (", ".join(map(str, caps)) + f" (paper: {paper_epochs or 'names none'})") if caps else "",
           "trained": {aid: _share(a) for aid, a in arms.items()}, "paper architecture trains": {}}
    backbone = params.get("backbone")
    if paper_backbone and backbone and backbone != paper_backbone:
        gray = params.get("gray_mode") or "repeat"
        size = out["input"] or 48
        for aid, (scope, freeze_to) in arm_specs.items():
            if aid in arms:
                out["paper architecture trains"][aid] = paper_share(
                    paper_backbone, scope, freeze_to, params.get("head") or "linear",
                    3 if params.get("dataset") in _FOLDER_DATASETS else 1, gray, int(size),
                    int(params.get("num_classes") or 7))
    return out


def _pct(share: float) -> str:
    """A share of parameters: whole percents, two decimals below 1% (a new first conv and head)."""
    return f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.2%}"


def describe(reg: dict, labels: dict | None = None) -> str:
    """The regime in one line: "48 px · 15,000 training images · epochs 3 (paper: 10) · trains A 30%
    (resnet50: 64%), B 100%"."""
    labels = labels or {}
    parts = [f"{reg['input']} px" if reg.get("input") else "", f"{reg['training images']} training images",
             f"epochs {reg['epochs']}" if reg.get("epochs") else "no epochs (features + a classifier)"]
    shares = []
    for aid, s in reg.get("trained", {}).items():
        if s is None:
            continue
        paper = reg.get("paper architecture trains", {}).get(aid)
        shares.append(f"{labels.get(aid, aid)} {_pct(s)}" + (f" (paper's net: {_pct(paper)})" if paper is not None else ""))
    if shares:
        parts.append("trains " + ", ".join(shares))
    return " · ".join(p for p in parts if p)
