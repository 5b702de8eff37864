"""Backbones, heads, grayscale adapters, input preprocessing and training scopes for the study's models.

Modules, one job each:
- ``nets``: the study's own nets (SmallCNN, EfficientNetLite0) and seed 001's MLP head;
- ``weights``: which pretrained file each backbone needs, where it is looked for, its hash;
- ``fetch``: `studylib weights fetch` (the one download, on request), torchvision's, verified;
- ``archs``: the architecture table (how to build each net, its parts, stages and forward steps);
- ``preprocess``: the input contract (size, interpolation, mean/std) and the input step;
- ``spec``: ModelSpec (what a model is built from, checked once) and the names each choice may take;
- ``study``: StudyModel, build_model (the one entry point), param_groups;
- ``prefix``: the frozen prefix / trainable suffix split used by train.fit's speed paths.
"""
from .archs import ARCHS, BACKBONES, Arch, get_arch
from .nets import EfficientNetLite0, SmallCNN, mlp_head
from .prefix import split_frozen_prefix
from .preprocess import ModelInput, resolve_preprocessing
from .spec import FROZEN_BN, GRAY_MODES, HEADS, SCOPE_ALIASES, SCOPES, ModelSpec, canonical_scope
from .study import StudyModel, build_model, param_groups
from .weights import (IMAGENET_MEAN, IMAGENET_STD, LITE_MEAN, LITE_STD, WEIGHTS, WeightsError, WeightsHashError,
                      WeightsSpec, find_weights, get_spec, load_state_dict, search_dirs)

__all__ = ["ARCHS", "BACKBONES", "FROZEN_BN", "GRAY_MODES", "HEADS", "IMAGENET_MEAN", "IMAGENET_STD", "LITE_MEAN", "LITE_STD",
           "SCOPE_ALIASES", "SCOPES", "WEIGHTS", "canonical_scope", "Arch", "EfficientNetLite0", "ModelInput", "ModelSpec", "SmallCNN", "StudyModel", "WeightsError",
           "WeightsHashError", "WeightsSpec", "build_model", "find_weights", "get_arch", "get_spec",
           "load_state_dict", "mlp_head", "param_groups", "resolve_preprocessing", "search_dirs",
           "split_frozen_prefix"]
