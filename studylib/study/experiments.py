"""Each notebook's parameters as one frozen dataclass: typed fields with the paper's value and why.

A profile run (`params/<profile>.yaml`) holds only overrides of these defaults; the runner checks them
here before anything runs (`resolve`), and the notebook's `Run` resolves the same mapping again.
`train` mappings hold `TrainConfig` fields (every one reachable from a profile); an arm's `train`
overrides its experiment's (`arm_spec`: the arm and its one TrainConfig, re-exported here).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

from ..data.imagefolder import FRACTIONS
from .arm_spec import Arm, arm_scope, arm_slug, train_config, train_settings
from .schema import ParamsError, build

__all__ = ["EXPERIMENTS", "Arm", "arm_scope", "arm_slug", "resolve", "train_config"]


@dataclass(frozen=True)
class AuditParams:
    """01 · data audit."""

    seed: int = 0
    datasets: list[str] = field(default_factory=lambda: ["fer2013", "ferplus", "deepweeds", "faces", "plants"])
    n_samples: int = 16            # images per sample grid
    find_duplicates: bool = True   # hash every FER2013 image (about a second)
    image_size: int = 64           # image folders are decoded at this size for the audit (counts only)


@dataclass(frozen=True)
class FeaturesSvmParams:
    """02 · paper 000: ResNet50 features + SVM vs fine-tuning, 8 people x 30 faces."""

    seed: int = 0
    dataset: str = "faces"
    backbone: str = "resnet50"     # paper 000; the cpu profile uses efficientnet_lite0 (real ImageNet weights here)
    pretrained: bool = True
    weights_dir: str = ""          # empty: $STUDYLIB_WEIGHTS, else $TORCH_HOME/hub/checkpoints
    image_size: int = 224          # paper 000 crops to 224x224
    feature_layer: str = "avgpool" # ResNet50 avg_pool, as the paper
    split_fractions: list[float] = field(default_factory=lambda: list(FRACTIONS))
    # a stratified subset of train, and of validation and test (None: whole): a smoke run's 32 images
    max_train: int | None = None
    max_eval: int | None = None
    # The paper does not say how its SVM was tuned: C and kernel by stratified cv on train only.
    svm_grid: dict = field(default_factory=lambda: {"C": [0.1, 1, 10], "kernel": ["linear", "rbf"]})
    svm_cv: int = 3
    # MATLAB WeightLearnRateFactor/BiasLearnRateFactor 20 on the new layer; "augmented", no details given
    train: dict = train_settings(epochs=30, batch_size=5, lr=0.0001, optimizer="adam", head_lr_factor=20.0,
                         augment="mild", monitor="val_acc")
    arms: list[Arm] = field(default_factory=lambda: [Arm("fine-tuned", "all", id="finetune")])


@dataclass(frozen=True)
class CnnParams:
    """03 · paper 003: a small CNN from scratch on FERPlus."""

    seed: int = 0
    label_mode: str = "votes"      # raw vote counts as soft targets, scored by their argmax: the code of paper 003
    num_classes: int = 10
    image_size: int = 48           # FER images are 48x48
    dropout: float = 0.1           # paper 003's nn.Dropout(0.1)
    max_train: int | None = None   # cut-down profiles: a stratified subset of Training
    # momentum 0: the printed SGD settings of the paper show it
    train: dict = train_settings(epochs=100, batch_size=32, lr=0.01, optimizer="sgd", momentum=0.0, scheduler="exponential",
                         gamma=0.9, augment="seed003", monitor="val_acc")
    arms: list[Arm] = field(default_factory=lambda: [Arm("small CNN (seed 003)", "all", id="cnn")])


@dataclass(frozen=True)
class FrozenVsFullParams:
    """04 · paper 003: ResNet18 frozen vs full fine-tuning on FERPlus."""

    seed: int = 0
    backbone: str = "resnet18"     # paper 003; the cpu profile uses efficientnet_lite0 (real ImageNet weights)
    pretrained: bool = True
    weights_dir: str = ""
    gray_mode: str = "new"         # the paper: a freshly initialised 1-channel conv1
    image_size: int = 48
    label_mode: str = "votes"      # raw vote counts as soft targets, as the code of paper 003
    num_classes: int = 10
    max_train: int | None = None
    # The paper's code freezes with `requires_grad = False` and trains in `model.train()`: the frozen
    # BatchNorms (the one right after the new conv1 included) keep updating their statistics
    frozen_bn: str = "adapt"
    train: dict = train_settings(epochs=10, batch_size=32, lr=0.001, optimizer="adam", scheduler="exponential", gamma=0.9,
                         monitor="val_acc")
    # "freeze" in the paper's code: every pretrained weight fixed, the new conv1 and FC learn. Beside the
    # paper's arms: the frozen arm with BatchNorm kept in eval (the fastai/timm freeze), and full fine-tuning
    # of the same net from random init (what pretraining buys, on one architecture)
    arms: list[Arm] = field(default_factory=lambda: [
        Arm("new_layers", "new_layers", id="new_layers"), Arm("head", "head", id="head"), Arm("all", "all", id="all"),
        Arm("all + seed003 augmentation", "all", train={"augment": "seed003"}, id="all_aug"),
        Arm("new_layers, frozen BN in eval", "new_layers", frozen_bn="eval", id="new_layers_bn_eval"),
        Arm("all, random init", "all", pretrained=False, id="all_random")])


@dataclass(frozen=True)
class PartialVsFullParams:
    """05 · paper 004 (A vs B) and paper 001 (ResNet50 + MLP head) on FER2013, DeepWeeds or plants."""

    seed: int = 0
    paper: str = "004"             # "004": A vs B; "001": the MLP-head claim of 85.71%
    dataset: str = "fer2013"       # fer2013 | deepweeds | plants
    fold: int = 0                  # DeepWeeds official fold
    backbone: str = "resnet50"     # 004 faces: resnet50; 004 weeds: efficientnet_b0; cpu profile: efficientnet_lite0
    pretrained: bool = True
    weights_dir: str = ""
    gray_mode: str = "repeat"      # FER2013 is grayscale: repeat to 3 channels (paper 001: 48x48x3)
    head: str = "linear"           # "mlp": the head of paper 001
    mlp_width: int = 32            # paper 001's FC 32 layers
    dropout: float | None = None   # the mlp head's dropout (None: models' default 0.5, paper 001's)
    # scope freeze_to: how much trains (-1: the last stage). Paper 001's "last four layers" of a Keras
    # ResNet50 all sit in its final stage (conv5_block3): one stage is the smallest unit of ours that holds them
    freeze_to: int = -1
    frozen_bn: str = "eval"        # 001 is Keras: a frozen (trainable=False) BatchNorm runs in inference mode
    image_size: int | None = None  # None: the size the images have (48 for FER2013)
    load_size: int = 224           # DeepWeeds/plants are decoded at this size
    val_from_train: float = 0.0    # 001: 0.2 (Training split 8:2); else PublicTest / the recorded val split
    max_train: int | None = None
    max_eval: int | None = None
    # validation alone cut (stratified, the data's seed, as notebook 08's `max_val`): it is scored every epoch
    # of every fit, test stays whole (None: validation as max_eval leaves it)
    max_val: int | None = field(default=None, metadata={"ge": 1})
    # A rate chosen at an end of an arm's lr_grid: the next rate beyond that end is tried, at most this many
    # times (`study.search.choose_lr`, as notebook 08's `extend_grid`; 0: the grid as given)
    extend_grid: int = field(default=0, metadata={"ge": 0})
    # A sensitivity rung (docs/METHOD.md, Direct and indicative verdicts: several regimes): the same
    # comparison at another regime (a larger input size), judged and shown beside the claim-bearing run, never
    # counted in the scorecard's headline
    sensitivity: bool = False
    # 004: mild augmentation for faces, strong for weeds; macro metrics stressed, so selection on macro F1.
    # The paper gives no epochs or rates: each arm trains until validation stops improving (patience 3)
    # within 30 epochs, at the rate of its grid that validation prefers (B's grid is the smaller rates)
    train: dict = train_settings(epochs=30, batch_size=32, optimizer="adam", scheduler="none", augment="mild",
                         monitor="val_macro_f1", early_stopping_patience=3)
    arms: list[Arm] = field(default_factory=lambda: [
        Arm("A: last block + head", "freeze_to", freeze_to=-1, lr_grid=[0.0003, 0.001, 0.003], train={"lr": 0.001},
            id="A"),
        Arm("B: everything, smaller lr", "all", lr_grid=[0.00003, 0.0001, 0.0003], train={"lr": 0.0001}, id="B"),
        Arm("B from random init", "all", pretrained=False, lr_grid=[0.0003, 0.001, 0.003], train={"lr": 0.001},
            id="B_random")])


@dataclass(frozen=True)
class ScorecardParams:
    """06 · the scorecard."""

    READS: ClassVar[str] = "records"  # its upstream: every task that does not read records itself
    seed: int = 0
    allow_mixed: bool = False      # read records of several commits or profiles (refused by default)


@dataclass(frozen=True)
class SweepParams:
    """07 · a sweep's table and plots, read from its points' records."""

    READS: ClassVar[str] = "points"   # its upstream: the tasks of its `notebook` (the sweep's points)
    seed: int = 0
    notebook: str = "03_cnn_sweep"  # whose records are the sweep's points


EXPERIMENTS = {
    "01_data_audit": AuditParams,
    "02_features_svm_vs_finetune": FeaturesSvmParams,
    "03_cnn_from_scratch": CnnParams,
    "03_cnn_sweep": CnnParams,  # one configuration of 03's CNN scored on validation only (a sweep point)
    "04_frozen_vs_full": FrozenVsFullParams,
    "05_partial_vs_full": PartialVsFullParams,
    "06_scorecard": ScorecardParams,
    "07_sweep": SweepParams,
}


def params_class(notebook: str):
    """The parameters dataclass of a notebook; an unknown notebook lists the known ones."""
    if notebook not in EXPERIMENTS:
        raise ParamsError(f"unknown notebook {notebook!r}; notebooks: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[notebook]


def resolve(notebook: str, overrides: dict, where: str = ""):
    """The notebook's parameters: its defaults with `overrides` applied and checked."""
    return build(params_class(notebook), overrides or {}, where or f"notebook {notebook}")


def as_dict(params) -> dict:
    """Every resolved parameter, for the record."""
    return dataclasses.asdict(params)


@dataclass(frozen=True)
class CurvesParams:
    """08 · beyond the papers (claim-free): test scores against training-set size, one curve per training
    scope, on one dataset (`study.curves`). A task trains its seed's points of one scope (`scope`) or, with
    `pool`, draws the curves over those seeds (training any point no other task has)."""

    seed: int = 0
    dataset: str = "fer2013"       # fer2013 | plants | deepweeds
    fold: int = 0                  # DeepWeeds official fold
    backbone: str = "efficientnet_lite0"  # the pretrained backbone with real ImageNet weights here
    pretrained: bool = True
    weights_dir: str = ""
    gray_mode: str = "repeat"      # FER2013 is grayscale: repeated to 3 channels
    frozen_bn: str = "eval"        # BatchNorm of the frozen stages keeps its ImageNet statistics (the probe's
                                   # features are then fixed: computed once per rung, `train.prefix_cache`)
    freeze_to: int = -1            # scope freeze_to without its own freeze_to: the last stage
    image_size: int | None = None  # None: the images' own size (48 for FER2013)
    load_size: int = 96            # image folders (plants) are decoded at this size
    max_eval: int | None = None    # validation and test cut (None: whole; the curves' intervals need all of test)
    max_val: int | None = field(default=None, metadata={"ge": 1})  # validation alone cut (stratified): it
                                   # is scored every epoch of every fit (None: whole)
    # Training-set sizes, smallest first: a fraction of the training split (at most 1; 1 is all of it) or a
    # number of images (above 1). Nested and stratified: each rung a stratified subset of the next larger one
    # (the largest of the whole split), drawn with the data's seed, the same for every seed and scope
    ladder: list[float] = field(default_factory=lambda: [0.01, 0.03, 0.1, 0.3, 1.0], metadata={"gt": 0})
    # A rung smaller than this repeats its images (whole copies) within an epoch, so that an epoch shows at
    # least this many: the epoch cap, the patience and how often validation is scored then mean about the
    # same amount of training at every rung (0: never repeat)
    epoch_images: int = field(default=250, metadata={"ge": 0})
    # A scope's rate chosen at an end of its lr_grid: the next rate beyond that end is tried, at most this
    # many times, so that the chosen rate ends interior (`study.search.choose_lr`; 0: the grid as given)
    extend_grid: int = field(default=2, metadata={"ge": 0})
    scope: str = ""                # the arm (by id) this task trains at every rung; "": every arm
    pool: list[int] = field(default_factory=list, metadata={"ge": 0, "lt": 2**32})
                                   # non-empty: the curves over these seeds (this task's own seed aside)
    reference: str = "cpu"         # the profile whose records a coinciding curve point is compared with ("": none)
    rung: int = 0                  # set by study.curves for each point it trains (its training images); 0 here
    # Each scope trains until validation macro F1 stops improving (patience 3) within the epoch cap, at the
    # rate of its grid that seed 0's validation prefers at the smallest and at the largest rung (the other
    # rungs use the nearer one); the probe reads fixed features, so it is not augmented
    train: dict = train_settings(epochs=20, batch_size=32, optimizer="adam", scheduler="none", augment="mild",
                         monitor="val_macro_f1", early_stopping_patience=3)
    arms: list[Arm] = field(default_factory=lambda: [
        Arm("linear probe", "head", lr_grid=[0.001, 0.003, 0.01], train={"augment": "none"}, id="probe"),
        Arm("last block + head", "freeze_to", freeze_to=-1, lr_grid=[0.0003, 0.001, 0.003], id="last_block"),
        Arm("last two blocks + head", "freeze_to", freeze_to=-2, lr_grid=[0.0001, 0.0003, 0.001], id="last_two"),
        Arm("everything", "all", lr_grid=[0.0001, 0.0003, 0.001], id="everything"),
        Arm("everything, random init", "all", pretrained=False, lr_grid=[0.0003, 0.001, 0.003], id="random_init")])

    def __post_init__(self):
        ids = [a.id for a in self.arms]
        if len(set(ids)) != len(ids):
            raise ValueError(f"arm ids must be distinct, got {ids}")
        if self.scope and self.scope not in ids:
            raise ValueError(f"scope {self.scope!r} is not an arm id; arms: {', '.join(ids)}")
        fractions, counts = [v for v in self.ladder if v <= 1], [v for v in self.ladder if v > 1]
        if not self.ladder or any(b <= a for part in (fractions, counts) for a, b in zip(part, part[1:])):
            # a count beside a fraction is ordered once the split's size is known (study.curves.ladder_sizes)
            raise ValueError(f"ladder must list increasing sizes, smallest first, got {self.ladder}")
        if len(set(self.pool)) != len(self.pool):
            raise ValueError(f"pool lists a seed twice: {self.pool}")


EXPERIMENTS["08_curves"] = CurvesParams  # appended here with its class; `resolve` finds it like the others
