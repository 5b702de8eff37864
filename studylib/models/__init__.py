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
from .. import lazy

_FROM = {"archs": "ARCHS BACKBONES Arch get_arch", "nets": "EfficientNetLite0 SmallCNN mlp_head",
         "prefix": "split_frozen_prefix", "preprocess": "ModelInput resolve_preprocessing",
         "spec": "FROZEN_BN GRAY_MODES HEADS SCOPE_ALIASES SCOPES ModelSpec canonical_scope",
         "study": "StudyModel build_model param_groups",
         "weights": "IMAGENET_MEAN IMAGENET_STD LITE_MEAN LITE_STD WEIGHTS WeightsError WeightsHashError WeightsSpec "
                    "find_weights get_spec load_state_dict search_dirs"}
# imported on first use (`studylib.lazy`): which weights a profile needs is read without building a net
__getattr__, __dir__, __all__ = lazy.attach(
    __name__, [*_FROM, "fetch"], {name: module for module, names in _FROM.items() for name in names.split()})
