"""Paper 000's first method: deep features from a pretrained CNN's pooling layer, then an SVM."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from torch import nn
from tqdm import tqdm  # text bars: a finished widget bar (tqdm.auto) reads "model not found" once saved

from .batches import to_batch
from .numerics import interpolation_of


def extract_features(model: nn.Module, dataset, layer: str = "avgpool", image_size: int = 224,
                     batch_size: int = 64, device: str = "cpu") -> np.ndarray:
    """Output of `layer` for every image, flattened to (N, D) float32.

    Args:
        model: a StudyModel (the layer is looked up in its body; its forward normalises the input)
            or any nn.Module taking [0, 1] images.
        dataset: an ImageDataset (uint8 images (N, H, W, C)).
        layer: dotted module name, e.g. 'avgpool' (ResNet50 avg_pool as seed 000; Lite0's global pool).
        image_size: images are resized to image_size x image_size (bilinear).
    Example:
        >>> feats = extract_features(build_model("resnet50", 8, pretrained=True), faces)  # (N, 2048)
    """
    body = getattr(model, "body", model)
    names = dict(body.named_modules())
    if layer not in names:
        pools = [n for n in names if "pool" in n.lower()]
        raise ValueError(f"no layer {layer!r} in {type(body).__name__}; pooling layers: {', '.join(pools) or 'none'}")
    channels = model.info["in_channels"] if hasattr(model, "info") else None
    mode = interpolation_of(model)  # what the weights were trained with
    captured: list[torch.Tensor] = []
    hook = names[layer].register_forward_hook(lambda m, i, out: captured.append(out.detach().flatten(1).cpu()))
    was_training = model.training
    model.to(device).eval()  # BN running stats and no dropout: features must not depend on the batch
    try:
        with torch.no_grad():
            for start in tqdm(range(0, len(dataset), batch_size), desc=f"features {layer}", leave=False):
                x = to_batch(dataset.images[start:start + batch_size], image_size, interpolation=mode)
                if channels is not None and channels != x.shape[1]:  # a gray image for an RGB net
                    x = x.expand(-1, channels, -1, -1)
                model(x.to(device))
    finally:
        hook.remove()
        model.train(was_training)
    if not captured:
        return np.zeros((0, 0), np.float32)
    return torch.cat(captured).numpy().astype(np.float32, copy=False)


def svm_classifier(features: np.ndarray, labels: np.ndarray, grid: dict, seed: int = 0, cv: int = 3) -> GridSearchCV:
    """StandardScaler + SVC, its settings chosen from `grid` ({"C": [...], "kernel": [...]}) by stratified
    cv on the training features only.

    Macro F1 picks the setting because paper 000 reports precision/recall/F1. Folds are capped at the
    smallest class count so tiny demo sets still run. Returns the fitted GridSearchCV (refit on all).
    """
    labels = np.asarray(labels)
    smallest = np.unique(labels, return_counts=True)[1].min()
    folds = min(cv, int(smallest))
    if folds < 2:
        raise ValueError(f"svm_classifier needs at least 2 training samples per class, smallest class has {smallest}")
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC(random_state=seed))])
    search = GridSearchCV(pipe, {f"svc__{k}": v for k, v in grid.items()}, scoring="f1_macro",
                          cv=StratifiedKFold(folds, shuffle=True, random_state=seed), n_jobs=1)
    return search.fit(features, labels)
