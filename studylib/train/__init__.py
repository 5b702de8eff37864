"""Training: the config (`config`, a leaf), batches, the loop (`fit`), speed settings, checkpoints,
optimizers, augmentation, features + SVM, and `train_and_test` (fit, select on val, test each protocol's model once)."""
from .. import lazy

# imported on first use (`studylib.lazy`): `config` and `progress` are read without torch
__getattr__, __dir__, __all__ = lazy.attach(__name__, attrs={
    "TrainConfig": "config",
    **dict.fromkeys(("PROTOCOLS", "Outcome", "test_once", "train_and_test"), "experiment"),
    **dict.fromkeys(("FitResult", "evaluate", "fit", "resolve_device", "seed_everything", "train_one_epoch"), "loop")})
