"""The one small in-memory dataset type every loader returns, and the data error."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd


class DataError(ValueError):
    """Bad or missing input data; the message names the file (and row) and how to fix it."""


@dataclass
class ImageDataset:
    """Images and targets of one split, held in memory.

    images:  uint8 array (N, H, W, C); C is 1 (grayscale) or 3 (RGB).
    targets: int64 class indices (N,), or float32 soft targets (N, K) summing to 1.
    ids:     where each sample came from (csv row index or file name), for tracing.
    sources: data files read, as {path: sha256} (filled where known), for run records.
    """

    images: np.ndarray
    targets: np.ndarray
    classes: list[str]
    split: str
    name: str
    ids: np.ndarray | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise TypeError(f"{self.name}: images must be uint8 (N,H,W,C), got {self.images.dtype} {self.images.shape}")
        if len(self.targets) != len(self.images):
            raise ValueError(f"{self.name}: {len(self.images)} images but {len(self.targets)} targets")
        if self.ids is None:
            self.ids = np.arange(len(self.images))
        # pandas (copy-on-write) hands out read-only arrays; torch.from_numpy warns on them, so every
        # dataset holds writable arrays (copied only when they are not)
        if not self.targets.flags.writeable:
            self.targets = self.targets.copy()
        if not self.images.flags.writeable:
            self.images = self.images.copy()

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        kind = "soft" if self.is_soft else "hard"
        return (f"ImageDataset({self.name}/{self.split}: {len(self)} images {tuple(self.images.shape[1:])}, "
                f"{len(self.classes)} classes, {kind} targets)")

    @property
    def is_soft(self) -> bool:
        return self.targets.ndim == 2

    @property
    def labels(self) -> np.ndarray:
        """Hard labels: the targets, or argmax of soft targets (first class on ties)."""
        return self.targets.argmax(1) if self.is_soft else self.targets

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def channels(self) -> int:
        return self.images.shape[-1]

    def subset(self, index, split: str | None = None) -> "ImageDataset":
        """A new dataset of the selected rows (index: int array or boolean mask)."""
        return replace(self, images=self.images[index], targets=self.targets[index],
                       ids=self.ids[index], split=split or self.split)

    def class_counts(self) -> pd.Series:
        counts = np.bincount(self.labels, minlength=self.num_classes)
        return pd.Series(counts, index=self.classes, name=self.split)
