"""Training: the config (`config`, a leaf), batches, the loop (`fit`), speed settings, checkpoints,
optimizers, augmentation, features + SVM, and `train_and_test` (fit, select on val, test each protocol's model once)."""
from .config import TrainConfig
from .experiment import PROTOCOLS, Outcome, test_once, train_and_test
from .loop import FitResult, evaluate, fit, resolve_device, seed_everything, train_one_epoch

__all__ = ["PROTOCOLS", "FitResult", "Outcome", "TrainConfig", "evaluate", "fit", "resolve_device",
           "seed_everything", "test_once", "train_and_test", "train_one_epoch"]
