"""TrainConfig: every training setting, in one frozen dataclass (a leaf: imports nothing of studylib).

Each field's default is neutral; each paper's values come from the experiment's parameters
(`studylib.study.experiments`) and the profile. Fields whose `metadata` has `resume=True` may
differ when a run resumes from a checkpoint: they change how fast or how long it runs, or
float rounding, never what it learns. A field's `metadata` may also bound it (`ge`, `gt`, `lt`): the
dataclass refuses a value outside (so `TrainConfig(...)` in a notebook and a profile refuse the same values),
and `study.schema` reads the same bounds to name the profile key that breaks one.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

# Names the registries of `train.optim` and `train.augment` define (a test checks they agree).
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "exponential", "plateau", "cosine")
MONITORS = {"val_acc": "max", "val_macro_f1": "max", "val_loss": "min"}
AUGMENTS = ("none", "seed003", "seed001", "mild", "strong")
FROZEN_PREFIX = ("auto", "memory", "no_grad", "off")
DEVICES = ("auto", "cpu", "cuda", "mps")


SEED_BOUNDS = {"ge": 0, "lt": 2**32}  # numpy's and torch's seeds: 0 <= seed < 2**32


def _f(default, resume: bool = False, **bounds):
    """A field with its bounds (`ge`, `gt`, `lt`); `resume`: a resumed run may change it (module docstring)."""
    return field(default=default, metadata={"resume": resume, **bounds} if resume or bounds else {})


def _resume(default, **bounds):
    return _f(default, resume=True, **bounds)


def bounds_of(f) -> dict:
    """The bounds a field's metadata sets ({} when none)."""
    return {k: f.metadata[k] for k in ("ge", "gt", "lt") if k in f.metadata}


def describe(bounds: dict) -> str:
    """`>= 0 and < 4294967296`: what the bounds allow, for error messages."""
    ops = {"ge": ">=", "gt": ">", "lt": "<"}
    return " and ".join(f"{ops[k]} {v}" for k, v in bounds.items())


def out_of_bounds(bounds: dict, value) -> bool:
    """Whether a number breaks its bounds (None, "unset", never does; a non-number is the type check's job)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    # `not (value >= x)` so that NaN, which compares false with everything, is refused too
    return (("ge" in bounds and not value >= bounds["ge"]) or ("gt" in bounds and not value > bounds["gt"])
            or ("lt" in bounds and not value < bounds["lt"]))


@dataclass(frozen=True)
class TrainConfig:
    """Every training setting; defaults are neutral, each paper's values come from params."""

    epochs: int = _resume(10, ge=1)       # 003 CNN: 100, 003 ResNet18: 10, 001: 50, 000: 30
    batch_size: int = _f(32, ge=1)        # 003: 32, 001: 64, 000: 5
    optimizer: str = "adam"               # 003 CNN: sgd; 003 ResNet18, 001, 000: adam
    lr: float = _f(1e-3, gt=0)            # 003 CNN: 0.01, 003 ResNet18: 1e-3, 000: 1e-4
    momentum: float = _f(0.9, ge=0)       # SGD only; 003 does not state it, so params must
    weight_decay: float = _f(0.0, ge=0)   # none of the papers report weight decay
    scheduler: str = "none"               # 003: exponential (per epoch); 004 B may use cosine/plateau
    gamma: float = _f(0.9, gt=0)          # 003: ExponentialLR(gamma 0.9); plateau: LR factor
    plateau_patience: int = _f(2, ge=0)   # epochs without improvement before plateau cuts the LR
    head_lr_factor: float = _f(1.0, gt=0)  # 000: new head learns 20x faster (MATLAB learn-rate factor)
    class_weights: str | None = None      # "balanced": counter FER2013/DeepWeeds imbalance (004 macro metrics)
    augment: str = "none"                 # train.augment presets; validation is never augmented (004)
    image_size: int | None = _f(None, ge=1)  # None = dataset's own size; 000/004 resize to 224
    monitor: str = "val_acc"              # metric for best checkpoint + early stopping (never test data)
    early_stopping_patience: int | None = _resume(None, ge=1)  # None = run all epochs, as every paper does
    # epochs that always run before early stopping may stop a fit (Keras's start_from_epoch): a net from
    # random init on a few hundred images sits at the constant prediction for its first epochs, and without
    # a warm-up its patience runs out before it has learnt anything
    early_stopping_start: int = _resume(0, ge=0)
    seed: int = _f(0, **SEED_BOUNDS)      # seeds torch, numpy, random and the shuffle generator
    device: str = _resume("auto")         # auto: cuda, then mps, then cpu
    amp: bool = True                      # mixed precision for GPU speed; ignored off CUDA
    deterministic: bool = _resume(True)   # CUDA: deterministic kernels, cuDNN benchmark off (speed.apply_determinism);
                                          # False trades them for speed: float rounding then differs run to run
    eval_batch_size: int = _resume(256, ge=1)  # evaluation has no gradients, so bigger batches fit
    max_steps_per_epoch: int | None = _f(None, ge=1)  # cut-down CPU profiles train on part of each epoch
    checkpoint_dir: str | None = _resume(None)  # None = keep best weights in memory only
    resume: bool = _resume(False)         # continue from checkpoint_dir/last.pt at epoch+1
    # speed only (same results up to float rounding):
    frozen_prefix: str = _resume("auto")  # auto: cache a frozen prefix's outputs when possible (in memory and in
                                          # the cache folder, shared by seeds, arms and runs), else no_grad;
                                          # memory: cache in this process only; no_grad: never cache;
                                          # off: plain forward of the whole model
    num_threads: int | None = _resume(None, ge=1)  # CPU threads; None: torch's default capped at the usable cores
    channels_last: bool | None = _resume(None)  # None: on CPU for nets with depthwise convs (EfficientNets)
    resident: bool | None = _resume(None)  # training images on the device, moved once per fit (no copy per step);
                                           # None: on CUDA when they fit (batches.use_resident)

    def __post_init__(self):
        for name, valid in [("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS),
                            ("monitor", MONITORS), ("class_weights", (None, "balanced")), ("device", DEVICES),
                            ("frozen_prefix", FROZEN_PREFIX), ("augment", AUGMENTS)]:
            if getattr(self, name) not in valid:  # fail at config time, not after loading data
                raise ValueError(f"TrainConfig.{name}={getattr(self, name)!r}; valid: {', '.join(map(str, valid))}")
        for f in fields(self):
            if out_of_bounds(bounds_of(f), getattr(self, f.name)):
                raise ValueError(f"TrainConfig.{f.name}={getattr(self, f.name)!r}; valid: {describe(bounds_of(f))}")


def resume_may_change() -> frozenset[str]:
    """Fields a resumed run may change without changing what it learns."""
    return frozenset(f.name for f in fields(TrainConfig) if f.metadata.get("resume"))
