"""The numerics settings that travel together from `fit` to every step that turns images into a model's
input: the device, the input size and its interpolation, channels_last and the autocast dtype. One small
value object instead of five loose arguments (BatchSource, the frozen prefix's plan and cache, the cache's
key all take it)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Numerics", "interpolation_of"]


@dataclass(frozen=True)
class Numerics:
    device: torch.device
    image_size: int | tuple[int, int] | None = None   # None: the images' own size
    interpolation: str = "bilinear"                    # the resize the weights were trained with
    channels_last: bool = False                        # memory format of 4-d inputs
    amp_dtype: torch.dtype | None = None               # autocast dtype (None: float32)

    def key(self) -> dict:
        """What of these settings changes a computed output, as plain data (a cache key's part)."""
        size = self.image_size
        return dict(image_size=list(size) if isinstance(size, (tuple, list)) else size,
                    interpolation=self.interpolation, channels_last=bool(self.channels_last),
                    amp_dtype=str(self.amp_dtype) if self.amp_dtype is not None else None,
                    device=torch.device(self.device).type)


def interpolation_of(model) -> str:
    """How inputs are resized for this model: what its weights were trained with (a StudyModel's
    resolved preprocessing), else bilinear."""
    return getattr(model, "info", {}).get("interpolation") or "bilinear"
