"""What the experiment notebooks share: dataset selection by name, cut-down subsets, train-then-test once."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from . import metrics
from .data import DataError, ImageDataset, deepweeds, fer2013, ferplus, imagefolder
from .train import TrainConfig, evaluate, fit

DATASETS = ("fer2013", "ferplus", "deepweeds", "faces", "plants")
FOLDERS = {"faces": ("faces", "lfw-8x30"), "plants": ("plant-seedlings",)}


def subsample(ds: ImageDataset, n: int | None, seed: int = 0) -> ImageDataset:
    """A stratified, seeded subset of n images (the whole set when n is None or larger)."""
    if not n or n >= len(ds):
        return ds
    labels = ds.labels
    keep_all = np.bincount(labels)[labels] < 2  # classes too small to stratify are kept whole
    idx = np.flatnonzero(~keep_all)
    chosen, _ = train_test_split(idx, train_size=max(1, n - int(keep_all.sum())), stratify=labels[idx],
                                 random_state=seed)
    return ds.subset(np.sort(np.concatenate([chosen, np.flatnonzero(keep_all)])))


def load_splits(dataset: str, data_dir, *, label_mode: str = "plurality", num_classes: int = 10, fold: int = 0,
                image_size: int | None = None, seed: int = 0, max_train: int | None = None,
                max_eval: int | None = None, split_fractions=(0.6, 0.2, 0.2)) -> dict[str, ImageDataset]:
    """train / val / test of a dataset named in DATASETS (val = FER PublicTest; test = PrivateTest).

    max_train / max_eval cut the splits down (stratified, seeded) for CPU profiles.
    """
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    names = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
    if dataset == "fer2013":
        out = {k: fer2013.load(data_dir, v) for k, v in names.items()}
    elif dataset == "ferplus":
        out = {k: ferplus.load(data_dir, v, mode=label_mode, num_classes=num_classes) for k, v in names.items()}
    elif dataset == "deepweeds":
        out = {k: deepweeds.load(data_dir, k, fold=fold, image_size=image_size) for k in names}
    else:
        root = Path(data_dir).joinpath(*FOLDERS[dataset])
        out = {k: imagefolder.load(root, k, image_size=image_size, seed=seed, fractions=tuple(split_fractions))
               for k in names}
    out["train"] = subsample(out["train"], max_train, seed)
    out["val"] = subsample(out["val"], max_eval, seed)
    out["test"] = subsample(out["test"], max_eval, seed)
    return out


def data_sources(*datasets: ImageDataset) -> dict[str, str]:
    """{file: sha256} over the given datasets, for the report header and the run record."""
    out = {}
    for ds in datasets:
        out.update(ds.sources)
    return out


def train_config(**kw) -> TrainConfig:
    """A TrainConfig from notebook parameters; an unknown key is an error naming it."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(kw) - fields)
    if unknown:
        raise TypeError(f"unknown training setting(s) {unknown}; valid: {', '.join(sorted(fields))}")
    return TrainConfig(**kw)


@dataclasses.dataclass
class Outcome:
    """A trained model, its history, and the one test evaluation (selection was on val)."""

    name: str
    fit: object
    val: dict
    test: dict
    metrics: dict
    ci: dict
    seconds: float
    model_info: dict

    def row(self) -> dict:
        m = self.metrics
        return {"setting": self.name, "best epoch": self.fit.best_epoch, "val acc": self.val["acc"],
                "test acc": m["accuracy"], "acc 95% CI": fmt_ci(self.ci["accuracy"]),
                "test macro F1": m["f1_macro"], "macro F1 95% CI": fmt_ci(self.ci["macro_f1"]),
                "macro P": m["precision_macro"], "macro R": m["recall_macro"],
                "weighted F1": m["f1_weighted"], "trainable params": self.model_info.get("trainable_params"),
                "train s": round(self.seconds)}


def fmt_ci(ci) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def train_and_test(name: str, model, splits: dict[str, ImageDataset], cfg: TrainConfig,
                   n_boot: int = 1000) -> Outcome:
    """fit on train (best epoch chosen on val), then evaluate the chosen model once on test."""
    t0 = time.perf_counter()
    result = fit(model, splits["train"], splits["val"], cfg)
    seconds = time.perf_counter() - t0
    # fit scored validation at every epoch: the best epoch's row is the chosen model's validation score
    best = result.history.loc[result.history["epoch"] == result.best_epoch]
    val = ({"acc": float(best["val_acc"].iloc[0]), "macro_f1": float(best["val_macro_f1"].iloc[0]),
            "loss": float(best["val_loss"].iloc[0])} if len(best) else evaluate(result.model, splits["val"], cfg))
    test = evaluate(result.model, splits["test"], cfg)
    m = metrics.classification_metrics(test["y_true"], test["y_pred"], splits["test"].classes)
    ci = {k: metrics.bootstrap_ci(test["y_true"], test["y_pred"], k, n_boot=n_boot, seed=cfg.seed)
          for k in ("accuracy", "macro_f1")}
    info = dict(getattr(result.model, "info", {}))
    return Outcome(name, result, val, test, m, ci, seconds, info)


def split_off_val(splits: dict[str, ImageDataset], fraction: float, seed: int = 0) -> dict[str, ImageDataset]:
    """Seed 001's protocol: validation is a stratified `fraction` of the training split (test unchanged)."""
    if not 0 < fraction < 1:
        return splits
    train = splits["train"]
    tr, va = train_test_split(np.arange(len(train)), test_size=fraction, stratify=train.labels, random_state=seed)
    return {"train": train.subset(np.sort(tr)), "val": train.subset(np.sort(va), split="val (from train)"),
            "test": splits["test"]}


def results_table(outcomes: list[Outcome]):
    """One row per trained setting: val and test figures with their 95% CIs."""
    import pandas as pd
    return pd.DataFrame([o.row() for o in outcomes]).set_index("setting").round(4)
