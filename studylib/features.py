"""Paper 000's first method: deep features from a pretrained CNN's pooling layer, then an SVM."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from torch import nn
from tqdm.auto import tqdm

SVM_GRID = {"svc__C": [0.1, 1, 10], "svc__kernel": ["linear", "rbf"]}


def images_to_tensor(images: np.ndarray, image_size: int | None = None, channels: int | None = None) -> torch.Tensor:
    """uint8 (N, H, W, C) -> float (N, C, S, S) in [0, 1], bilinear resize, gray repeated to 3 if asked."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)
    if channels is not None and channels != x.shape[1]:
        if x.shape[1] != 1 or channels != 3:
            raise ValueError(f"cannot feed {x.shape[1]}-channel images to a {channels}-channel model")
        x = x.expand(-1, 3, -1, -1)
    if image_size is not None and tuple(x.shape[-2:]) != (image_size, image_size):
        # antialias as torchvision's Resize does, so shrinking 250 px faces to 224 does not alias
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
    return x.clamp_(0, 1)


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
    captured: list[torch.Tensor] = []
    hook = names[layer].register_forward_hook(lambda m, i, out: captured.append(out.detach().flatten(1).cpu()))
    was_training = model.training
    model.to(device).eval()  # BN running stats and no dropout: features must not depend on the batch
    try:
        with torch.no_grad():
            for start in tqdm(range(0, len(dataset), batch_size), desc=f"features {layer}", leave=False):
                x = images_to_tensor(dataset.images[start:start + batch_size], image_size, channels)
                model(x.to(device))
    finally:
        hook.remove()
        model.train(was_training)
    if not captured:
        return np.zeros((0, 0), np.float32)
    return torch.cat(captured).numpy().astype(np.float32, copy=False)


def svm_classifier(features: np.ndarray, labels: np.ndarray, seed: int = 0, cv: int = 3) -> GridSearchCV:
    """StandardScaler + SVC, C and kernel chosen by stratified cv on the training features only.

    Macro F1 picks the setting because paper 000 reports precision/recall/F1. Folds are capped at the
    smallest class count so tiny demo sets still run. Returns the fitted GridSearchCV (refit on all).
    """
    labels = np.asarray(labels)
    smallest = np.unique(labels, return_counts=True)[1].min()
    folds = min(cv, int(smallest))
    if folds < 2:
        raise ValueError(f"svm_classifier needs at least 2 training samples per class, smallest class has {smallest}")
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC(random_state=seed))])
    search = GridSearchCV(pipe, SVM_GRID, scoring="f1_macro",
                          cv=StratifiedKFold(folds, shuffle=True, random_state=seed), n_jobs=1)
    return search.fit(features, labels)
